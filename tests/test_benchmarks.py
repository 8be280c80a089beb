"""The benchmark and the reproduction study run end to end in their quick modes (CI exercises them here)."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

from rnnmem.baselines import COMPETENT
from rnnmem.sweep.study import load_study, verdicts

ROOT = Path(__file__).resolve().parent.parent


def test_speed_benchmark_quick_writes_finite_ratios(tmp_path):
    out = tmp_path / "speed.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--quick", "--repeats", "1", "--out", str(out)],
                   check=True, capture_output=True)
    figures = json.loads(out.read_text())
    for route in ("from_start", "prefix_cached"):
        ratio = figures["occlusion"][route]["ratio_to_lstm_forward"]
        assert math.isfinite(ratio) and ratio > 0
    assert figures["units"]["gru"]["ratio_to_gru"] > 0 and "mgu" in figures["units"]
    assert 0 < figures["training"]["padded_share"] < 1 and figures["training"]["ratio_rnnmem_to_bare"] > 0
    # the peer comparison asserts equal numbers itself; here, that it compared something
    for key in ("occlusion D=31", "occlusion D=7"):
        assert figures["peer"][key]["ratio_captum_best_to_rnnmem"] > 0
    assert figures["peer"]["gradient"]["max_abs_difference"] < 1e-4


def test_reproduction_study_quick_writes_the_document(tmp_path):
    docs = tmp_path / "docs"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "reproduce.py"), "--quick", "--workers", "1",
                    "--docs", str(docs), "--store", str(tmp_path / "study.sqlite")], check=True, capture_output=True)
    text = (docs / "study-quick.md").read_text()
    for unit in ("srn", "lstm", "gru"):
        assert f"| {unit} |" in text
    assert "The paper's claim" in text and (docs / "study-quick" / "retention_by_unit.png").stat().st_size > 10_000
    # one competence rule: the document counts what the library's verdict calls competent and names every other
    # model with that verdict (the quick models sit within 10 points of bag-of-words, which a rule of its own allowed)
    found = verdicts(load_study(tmp_path / "study.sqlite"))
    competent = sum(v["verdict"] == COMPETENT for v in found)
    assert f"**Competence**: {competent} of {len(found)} trained models are competent." in text
    for v in found:
        assert (v["verdict"] == COMPETENT) != (f"{v['unit']}@{v['max_len']} seed {v['seed']}: {v['verdict']}" in text)
    assert "| unit | occlusion ML(0.5) | occlusion ML(0.1) | occlusion capacity | replacement ML(0.5) |" in text


def test_lm_context_quick_writes_the_table_and_the_numbers(tmp_path):
    doc, raw = tmp_path / "lm_context.md", tmp_path / "lm_context.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "lm_context.py"), "--quick", "--corpus", "tweets-docs",
                    "--out", str(doc), "--json", str(raw)], check=True, capture_output=True)
    numbers = json.loads(raw.read_text())
    for unit in numbers["units"]:
        assert unit["test_perplexity"] > 1 and unit["unigram_perplexity"] > 1
        assert set(unit["effective_context"]) == {"cut", "shuffle", "replace"}
        assert f"| {unit['unit']} |" in doc.read_text()
        # the interpolated k_eff lies in the grid step that ends at the grid k_eff
        grid = unit["effective_context"]["cut"]
        if grid is not None and grid > unit["ks"][0]:
            assert unit["ks"][unit["ks"].index(grid) - 1] < unit["k_eff"] <= grid
    assert 0 <= numbers["sketch"]["max_curve_error"] < 1
    # the study imports the section by path and renders it from the same JSON: the doc holds it verbatim
    spec = importlib.util.spec_from_file_location("lm_context", ROOT / "benchmarks" / "lm_context.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    section = module.lm_section(numbers)
    assert section[0].startswith("| unit |") and any(line.startswith("Spearman rank correlation") for line in section)
    assert "\n".join(section) in doc.read_text()


def test_cli_startup_benchmark_writes_its_figures_and_conditions(tmp_path):
    out = tmp_path / "cli_startup.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cli_startup.py"), "--repeats", "1", "--out", str(out)],
                   check=True, capture_output=True)
    figures = json.loads(out.read_text())
    for command in ("--help", "--version"):
        run = figures["commands"][command]
        assert 0 < run["median_s"] <= run["slowest_s"] and run["under_target"] == (run["slowest_s"] < figures["target_s"])
    assert figures["conditions"]["cpu_count"] >= 1
