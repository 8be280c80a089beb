"""Every number in its domain (issue 18, part B): each case ends in a clear message or a correct number.

Each test here is a row of docs/errors.md; the CLI errors are one or two lines and no traceback.
"""

import csv
import json

import pytest
import torch
from typer.testing import CliRunner

import rnnmem
from rnnmem.cli import app
from rnnmem.pipeline.config import RunConfig
from test_errors import cli_error  # the one check that the CLI failed the CLI way

try:  # Click 8.2 keeps stderr apart by default; older Clicks need to be asked
    runner = CliRunner(mix_stderr=False)
except TypeError:
    runner = CliRunner()

TINY = ["--max-len", "16", "--epochs", "1", "--hidden", "8", "--embedding-dim", "4", "--max-distance", "6",
        "--max-sequences", "12", "--seed", "3", "--quiet", "--estimators", "occlusion", "--n-resamples", "50"]


def write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


# ------------------------------------------------------------------------------- vocabulary

def test_a_corpus_of_words_that_occur_once_is_refused_with_the_unknown_share(tmp_path):
    # every token occurs once: the vocabulary would be <pad>, <unk> and every word <unk>
    rows = [(f"a{i} b{i} c{i} d{i}", "pos" if i % 2 else "neg") for i in range(60)]
    path = write_csv(tmp_path / "hapax.csv", rows)
    err = cli_error(["assess", "--corpus", str(path), "--out", str(tmp_path / "out"), *TINY])
    assert "to <unk>" in err and "(100%)" in err and "min_freq=1" in err and "more text" in err
    assert not (tmp_path / "out" / "report.json").exists()
    corpus = rnnmem.load_corpus(str(path))
    assert len(corpus.build_vocabulary(min_freq=1)) == 2 + 4 * len(corpus.train_texts)  # the fix works


def test_the_unknown_share_limit_is_a_half_of_the_training_tokens(tmp_path):
    # 6 texts of 4 tokens in training; words 'x' and 'y' repeat, the others occur once
    def corpus_with(repeated_per_text):
        texts = [" ".join(["x", "y"][:repeated_per_text] + [f"u{i}{j}" for j in range(4 - repeated_per_text)])
                 for i in range(6)]
        return rnnmem.data.Corpus("share", ("a", "b"), texts, [0, 1] * 3, ["x"], [0])

    assert "x" in corpus_with(2).build_vocabulary()  # exactly half unknown: kept
    with pytest.raises(rnnmem.DataError, match=r"map 18 of its 24 training tokens \(75%\) to <unk>"):
        corpus_with(1).build_vocabulary()


# ------------------------------------------------------------------------------- labels and JSON values

def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_integer_labels_past_two_to_the_53_stay_apart(tmp_path):
    # as floats both are 1e19: they were merged as "spellings of one number"
    big = ["10000000000000000001", "10000000000000000000"]
    path = write_csv(tmp_path / "big.csv", [(f"good day {i % 7}", big[i % 2]) for i in range(40)])
    corpus = rnnmem.read_corpus(path)
    assert corpus.label_names == tuple(big[::-1]) and "label_spellings_merged" not in corpus.notes
    spelt = write_csv(tmp_path / "spelt.csv", [(f"good day {i % 7}", ["1", "1.0", "2", "2e0"][i % 4]) for i in range(40)])
    assert rnnmem.read_corpus(spelt).notes["label_spellings_merged"] == {"1": ["1", "1.0"], "2": ["2", "2e0"]}
    jsonl = write_jsonl(tmp_path / "big.jsonl", [{"text": f"good day {i % 7}", "label": int(big[i % 2])} for i in range(40)])
    assert rnnmem.read_corpus(jsonl).label_names == tuple(big[::-1])


@pytest.mark.parametrize("bad, message", [
    ({"text": {"a": "good day"}, "label": 1}, "bad.jsonl line 3: the text in 'text' is a JSON object, not a string "
                                              '({"a": "good day"})'),
    ({"text": ["good", "day"], "label": 1}, "bad.jsonl line 3: the text in 'text' is a JSON array"),
    ({"text": True, "label": 1}, "bad.jsonl line 3: the text in 'text' is a JSON boolean"),
    ({"text": "good day", "label": {"class": 1}}, "bad.jsonl line 3: the label in 'label' is a JSON object"),
    ({"text": "good day", "label": [1]}, "bad.jsonl line 3: the label in 'label' is a JSON array ([1])"),
    ({"text": "good day", "label": True}, "bad.jsonl mixes boolean labels (line 3: true) with others (line 1: 0)"),
])
def test_json_values_of_the_wrong_type_are_refused_by_line(tmp_path, bad, message):
    rows = [{"text": f"good day {i % 5}", "label": i % 2} for i in range(30)]
    rows.insert(2, bad)
    err = cli_error(["assess", "--corpus", str(write_jsonl(tmp_path / "bad.jsonl", rows)),
                     "--out", str(tmp_path / "out"), *TINY])
    assert message in " ".join(err.split())


def test_boolean_labels_alone_are_two_classes_spelt_as_in_the_file(tmp_path):
    rows = [{"text": f"good day {i % 5}", "label": bool(i % 2)} for i in range(30)]
    rows.append({"text": "no label here"})  # a missing key is a dropped row, as before
    corpus = rnnmem.read_corpus(write_jsonl(tmp_path / "flags.jsonl", rows))
    assert corpus.label_names == ("false", "true") and corpus.notes["empty_label_rows_dropped"] == 1


# ------------------------------------------------------------------------------- checkpoint dtypes

@pytest.mark.parametrize("dtype", [torch.int8, torch.bool, torch.complex64])
def test_checkpoint_tensors_of_another_kind_of_number_are_refused_not_cast(tmp_path, dtype):
    model = rnnmem.build_model("gru", 10, 2, hidden_size=4, embedding_dim=3, seed=0)
    rnnmem.save_model(model, tmp_path / "m")
    state = model.state_dict()
    name = next(iter(state))
    torch.save({**state, name: state[name].to(dtype)}, tmp_path / "m" / "model.pt")
    short = str(dtype).removeprefix("torch.")
    with pytest.raises(rnnmem.ModelProtocolError, match=rf"holds {name} as {short} but the model model\.json "
                                                         r"describes keeps it as float32"):
        rnnmem.load_model(tmp_path / "m")


def test_float64_checkpoint_weights_load_into_the_float32_model(tmp_path):
    model = rnnmem.build_model("gru", 10, 2, hidden_size=4, embedding_dim=3, seed=0)
    rnnmem.save_model(model, tmp_path / "m")
    torch.save({k: v.double() for k, v in model.state_dict().items()}, tmp_path / "m" / "model.pt")
    loaded, _ = rnnmem.load_model(tmp_path / "m")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)  # float32 -> float64 -> float32 is exact


# ------------------------------------------------------------------------------- bounded reads and work

def test_a_store_row_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from rnnmem.sweep import store as store_module

    store = store_module.ResultsStore(tmp_path / "s.sqlite")
    small, big = RunConfig(unit="srn", seed=0), RunConfig(unit="srn", seed=1)
    store.add([small, big])
    parts = {part: {} for part in store_module.RESULT_PARTS}
    store.finish(small.key, parts)
    store.finish(big.key, {**parts, "padding": "x" * 5000})
    monkeypatch.setattr(store_module, "MAX_VALUE_CHARACTERS", 4000)  # as a 400 MB row against 64 Mi characters

    def never(*args):
        raise AssertionError("a value over the limit reached json.loads")

    monkeypatch.setattr(store_module.ResultsStore, "_decode", never)
    err = cli_error(["report", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "r"), "--quiet"])
    message = " ".join(err.split())
    assert f"the result of row 2 (cell {big.key}) in" in message and "holds 5,070 characters" in message
    assert "over the limit of 4,000 no sweep writes; it was not read" in message
    assert "DELETE FROM cells WHERE rowid=2" in message
    with pytest.raises(rnnmem.DataError, match="the result of row 2"):
        store.result(big.key)
    monkeypatch.undo()
    assert store.result(small.key) == parts  # rows within the limit read as before


def test_a_grid_over_the_cell_limit_is_refused_before_it_is_expanded(tmp_path):
    from rnnmem.sweep import grid

    seeds = ",".join(str(s) for s in range(3000))
    lengths = ",".join(str(n) for n in range(8, 3008))
    err = cli_error(["sweep", "--store", str(tmp_path / "s.sqlite"), "--units", "srn", "--seeds", seeds,
                     "--lengths", lengths, "--corpus", "planted", "--quiet"])
    message = " ".join(err.split())
    assert "1 unit x 3,000 max_len x 3,000 seed = 9,000,000 cells; a sweep takes at most 10,000" in message
    assert "split the study into several sweeps" in message and not (tmp_path / "s.sqlite").exists()
    at_limit = grid.expand_grid({"corpus": "planted"}, {"seeds": list(range(100)), "lengths": list(range(8, 108))})
    assert len(at_limit) == grid.MAX_GRID_CELLS == 10_000  # the limit itself expands
    with pytest.raises(rnnmem.ConfigError, match="= 10,100 cells"):
        grid.expand_grid({"corpus": "planted"}, {"seeds": list(range(101)), "lengths": list(range(8, 108))})


def test_resamples_whose_arrays_would_exceed_the_bound_are_refused_before_training(tmp_path, monkeypatch):
    from rnnmem.pipeline import classify

    rows = [(" ".join(["good" if i % 2 else "bad"] + [f"w{j % 9}" for j in range(39)]), "pos" if i % 2 else "neg")
            for i in range(40)]
    path = write_csv(tmp_path / "forty.csv", rows)  # every text has 40 tokens

    def never(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(classify, "train", never)
    args = ["assess", "--corpus", str(path), "--out", str(tmp_path / "out"), *TINY[:-2], "--max-len", "64"]
    message = " ".join(cli_error([*args, "--n-resamples", "1000000"]).split())
    assert ("n_resamples=1,000,000 resamples of curves over the 40 positions of the longest sequence would hold "
            "40,000,000 numbers (305 MiB) per estimate") in message
    largest = 2**25 // 40
    assert f"Use at most {largest:,} resamples" in message
    with pytest.raises(AssertionError, match="training started"):  # the largest allowed count passes the check
        runner.invoke(app, [*args, "--n-resamples", str(largest)], catch_exceptions=False)


def test_assess_refuses_the_resample_count_before_measuring():
    model = rnnmem.build_model("gru", 12, 2, hidden_size=4, embedding_dim=3, seed=0)
    tokens = torch.randint(1, 12, (6, 40), generator=torch.Generator().manual_seed(0))
    with pytest.raises(rnnmem.ConfigError, match="over the 40 positions .* Use at most 838,860 resamples"):
        rnnmem.assess(model, tokens, max_distance=39, n_resamples=1_000_000, progress=False)


# ------------------------------------------------------------------------------- TOML with a byte-order mark

def test_a_toml_file_with_a_utf8_byte_order_mark_is_read(tmp_path):
    from rnnmem.sweep import load_grid_file

    text = '[grid]\nunits = ["srn", "gru"]\nepochs = 2\n'
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_grid_file(tmp_path / "bom.toml") == ({"epochs": 2}, {"unit": ["srn", "gru"]})
    (tmp_path / "utf16.toml").write_bytes(text.encode("utf-16"))  # with its byte-order mark FF FE
    err = cli_error(["sweep", "--store", str(tmp_path / "s.sqlite"), "--grid", str(tmp_path / "utf16.toml"), "--quiet"])
    assert "utf16.toml is UTF-16 (it starts with the byte-order mark FF FE); TOML files are UTF-8" in " ".join(err.split())
