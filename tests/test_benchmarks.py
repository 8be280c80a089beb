"""The benchmark and the reproduction study run end to end in their quick modes (CI exercises them here)."""

import json
import math
import subprocess
import sys
from pathlib import Path

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


def test_reproduction_study_quick_writes_the_document(tmp_path):
    docs = tmp_path / "docs"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "reproduce.py"), "--quick", "--workers", "1",
                    "--docs", str(docs), "--store", str(tmp_path / "study.sqlite")], check=True, capture_output=True)
    text = (docs / "study-quick.md").read_text()
    for unit in ("srn", "lstm", "gru"):
        assert f"| {unit} |" in text
    assert "The paper's claim" in text and (docs / "study-quick" / "retention_by_unit.png").stat().st_size > 10_000
