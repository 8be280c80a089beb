"""Property-based tests (hypothesis) of the files rnnmem reads back: model.json fields and results-store rows.

Whatever a tampered or damaged file holds, rnnmem either uses it or raises its own error
(ModelProtocolError, DataError) naming the file; never another exception.
"""

import json
import sqlite3
import string

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import rnnmem
from rnnmem.errors import DataError, ModelProtocolError
from rnnmem.sweep import ResultsStore
from rnnmem.pipeline.config import RunConfig

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# small sizes and a few extremes: the models that can be built stay tiny, the absurd ones must be refused
sizes = st.integers(-3, 24) | st.sampled_from([0, 2**31, 10**12, -(2**63)])
json_values = st.recursive(st.none() | st.booleans() | sizes | st.floats(allow_nan=False) | st.text(max_size=12),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=6)
config_fields = ["unit", "vocab_size", "num_classes", "hidden_size", "embedding_dim", "pad_id"]
field_value = st.one_of(sizes, st.sampled_from(["srn", "gru", "lstm", "nope", ""]), json_values)


@FAST
@given(changes=st.dictionaries(st.sampled_from(config_fields + ["extra"]), field_value | st.just("<delete>"), max_size=4),
       top=st.dictionaries(st.sampled_from(["config", "vocabulary", "label_names"]), json_values, max_size=2))
def test_load_model_on_any_model_json_gives_a_model_or_a_protocol_error(tmp_path, changes, top):
    folder = rnnmem.save_model(rnnmem.build_model("srn", 10, 2, hidden_size=4), tmp_path / "m",
                               {"tokens": ["<pad>", "<unk>", *string.ascii_lowercase[:8]]}, ["a", "b"])
    meta = json.loads((folder / "model.json").read_text())
    for name, value in changes.items():
        if value == "<delete>":
            meta["config"].pop(name, None)
        else:
            meta["config"][name] = value
    meta.update(top)
    (folder / "model.json").write_text(json.dumps(meta))
    try:
        model, loaded = rnnmem.load_model(folder)
    except ModelProtocolError as exc:
        assert str(folder / "model") in str(exc)
        return
    assert loaded == meta and sum(p.numel() for p in model.parameters()) > 0


row_values = st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=30),
                       st.binary(max_size=20), json_values.map(json.dumps),
                       st.sampled_from(["pending", "running", "done", "failed", "host:1", "nohost:x"]),
                       st.just(RunConfig(unit="srn").to_json()), st.just(json.dumps({"metrics": {}})))


@FAST
@given(row=st.fixed_dictionaries({}, optional={column: row_values for column in
                                               ("config", "status", "attempts", "owner", "error", "result",
                                                "started_at", "finished_at")}))
@example(row={"status": "running", "owner": b"\xff:1", "attempts": "abc"})  # found by this test: a bytes owner
@example(row={"status": "done", "result": "[1, 2"})
def test_store_methods_on_any_row_give_results_or_a_data_error(tmp_path, row):
    path = tmp_path / "fuzz.sqlite"
    path.unlink(missing_ok=True)
    store = ResultsStore(path)
    config = RunConfig(unit="srn")
    store.add([config, RunConfig(unit="gru")])
    with sqlite3.connect(path) as db:
        for column, value in row.items():
            try:
                db.execute(f"UPDATE cells SET {column}=? WHERE key=?", (value, config.key))
            except sqlite3.IntegrityError:  # NOT NULL columns refuse None: such a row cannot exist
                pass
    db.close()
    for method in (store.counts, store.cells, store.results, store.release_orphans, lambda: store.result(config.key),
                   store.claim, lambda: store.finish(config.key, {"metrics": {}}), lambda: store.fail(config.key, "x")):
        try:
            method()
        except DataError as exc:
            assert str(path) in str(exc)
