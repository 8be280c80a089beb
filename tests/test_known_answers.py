"""Every indicator against systems whose memory is known exactly (docs/indicators.md §5)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

import rnnmem
from known_systems import DelayLine, LinearRecurrence

ESTIMATORS = ("occlusion", "regression", "gradient")


def random_tokens(n, length, vocab=40, seed=0):
    return torch.randint(1, vocab, (n, length), generator=torch.Generator().manual_seed(seed))


def assert_matches(measured, expected):
    """Within 5% of the truth, or 0.01 absolute where the truth is below 0.2 (the issue's tolerance)."""
    for d, (m, e) in enumerate(zip(measured, expected)):
        tol = 0.01 if e < 0.2 else 0.05 * e
        assert abs(m - e) <= tol, f"r({d}) = {m:.4f}, expected {e:.4f}"


@pytest.fixture(scope="module", params=[0.5, 0.8, 0.95])
def linear_report(request):
    lam = request.param
    length = 60  # past ML(0.1) = 45 of lambda = 0.95
    report = rnnmem.assess(LinearRecurrence(lam), random_tokens(48, length), max_distance=length - 1,
                           progress=False, n_resamples=200, estimators=ESTIMATORS)
    return lam, report


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_linear_recurrence_retention_is_lambda_power_d(linear_report, estimator):
    lam, report = linear_report
    expected = lam ** report.retention["distance"].to_numpy()
    assert_matches(report.retention[estimator].to_numpy(), expected)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_linear_recurrence_memory_length_and_retention_capacity(linear_report, estimator):
    lam, report = linear_report
    assert report.memory_length(0.5, estimator) == math.ceil(math.log(0.5) / math.log(lam))
    assert report.memory_length(0.1, estimator) == math.ceil(math.log(0.1) / math.log(lam))
    max_d = int(report.retention["distance"].max())
    truncated = (1 - lam ** (max_d + 1)) / (1 - lam)
    assert report.retention_capacity(estimator) == pytest.approx(truncated, rel=0.02)


def test_linear_recurrence_ci_brackets_the_estimate(linear_report):
    _, report = linear_report
    table = report.retention
    for name in ESTIMATORS:
        assert (table[f"{name}_lo"] <= table[name] + 1e-9).all()
        assert (table[name] <= table[f"{name}_hi"] + 1e-9).all()


@pytest.mark.parametrize("k", [1, 3, 7])
def test_delay_line_remembers_exactly_k_tokens(k):
    report = rnnmem.assess(DelayLine(k), random_tokens(32, 16, seed=k), max_distance=15,
                           progress=False, n_resamples=100, estimators=ESTIMATORS)
    expected = (report.retention["distance"].to_numpy() < k).astype(float)
    for name in ESTIMATORS:
        np.testing.assert_allclose(report.retention[name], expected, atol=1e-6, err_msg=name)
        assert report.memory_length(0.5, name) == k
        assert report.memory_length(0.1, name) == k
        assert report.retention_capacity(name) == pytest.approx(k, abs=1e-6)
    rec = report.recommend_length()
    assert rec.length == k and [(end.length, end.at_least) for end in rec.interval] == [(k, False), (k, False)]


def test_never_forgetting_within_range_reports_none():
    report = rnnmem.assess(LinearRecurrence(0.99), random_tokens(16, 10), max_distance=9,
                           progress=False, n_resamples=50)
    assert report.memory_length(0.5) is None
    rec = report.recommend_length()
    assert rec.length == 10 and rec.at_least and "stays above" in rec.rule
    assert [(end.length, end.at_least) for end in rec.interval] == [(10, True), (10, True)]


def test_variable_lengths_use_each_sequence_end_up_to_the_distance_30_sequences_reach():
    lam = 0.7
    sequences = [random_tokens(1, n, seed=n + 100 * copy)[0].tolist() for n in range(5, 30) for copy in range(3)]
    report = rnnmem.assess(LinearRecurrence(lam), sequences, max_distance=28, progress=False, n_resamples=50,
                           estimators=ESTIMATORS)
    # 3 sequences of each length 5..29: 3 * (29 - d) of them reach d, at least 30 up to d = 19
    distance = report.retention["distance"].to_numpy()
    for name in ("occlusion", "gradient"):
        assert_matches(report.retention[name].to_numpy()[:20], lam ** distance[:20])
        assert report.retention[name].iloc[20:].isna().all(), name
    assert any("censored beyond" in note and "d = 19" in note for note in report.notes)
    assert report.memory_length(0.0005) is None  # 0.7^d falls to it at d = 22, past what the data can say
    assert report.meta["sequence_length"] == {"min": 5, "median": 17.0, "max": 29}


def test_fidelity_of_a_perfect_additive_memory_is_one():
    report = rnnmem.assess(LinearRecurrence(1.0), random_tokens(20, 12), max_distance=11,
                           progress=False, n_resamples=50)
    np.testing.assert_allclose(report.fidelity["cosine"], 1.0, atol=1e-9)
    np.testing.assert_allclose(report.fidelity["r2"].iloc[1:], 1.0, atol=1e-9)


def test_occlusion_is_measured_against_the_neutral_tokens_own_effect():
    """A neutral token that moves the state (a trained pad embedding) must not inflate r(d)."""
    model = LinearRecurrence(0.6)
    with torch.no_grad():
        model.table[0] = torch.tensor([0.5, -0.3, 0.2], dtype=torch.float64)
    report = rnnmem.assess(model, random_tokens(40, 20), max_distance=19, estimators=("occlusion",),
                           progress=False, n_resamples=50)
    assert_matches(report.retention["occlusion"].to_numpy(), 0.6 ** report.retention["distance"].to_numpy())


def test_fidelity_falls_when_the_start_is_forgotten():
    report = rnnmem.assess(DelayLine(3), random_tokens(40, 24), max_distance=23, progress=False, n_resamples=50)
    cosine = report.fidelity.set_index("length")["cosine"]
    assert cosine[1] == pytest.approx(1.0) and cosine[3] == pytest.approx(1.0)
    # with 3 of L tokens kept, S and S* share 3 random directions out of L: cos ~ sqrt(3 / L)
    assert cosine[24] == pytest.approx(math.sqrt(3 / 24), abs=0.12)


def test_recent_share_of_a_delay_line_of_lossless_memory_and_of_near_zero_old_retention():
    forgetful = rnnmem.assess(DelayLine(2), random_tokens(16, 12), max_distance=11, progress=False, n_resamples=20)
    assert forgetful.recent_share() == pytest.approx(1.0)  # d = 0, 1 of 0..11: all the mass is recent
    lossless = rnnmem.assess(LinearRecurrence(1.0), random_tokens(16, 12), max_distance=11, progress=False, n_resamples=20)
    assert lossless.recent_share() == pytest.approx(3 / 12)  # d <= 11/4 holds 3 of 12 equal shares


@pytest.mark.parametrize("lam", [0.01, 0.8])
def test_no_headline_number_is_unbounded_when_old_retention_is_near_zero(lam, tmp_path):
    distance = 23
    report = rnnmem.assess(LinearRecurrence(lam), random_tokens(32, 24), max_distance=distance, progress=False,
                           n_resamples=50)
    recent = distance // 4 + 1
    expected = (1 - lam ** recent) / (1 - lam ** (distance + 1))  # r(d) = lam^d summed over d <= D/4, over d <= D
    summary = report.summary()
    for name, values in summary["estimators"].items():
        low, high = values["recent_share CI"]
        assert 0 <= low <= values["recent_share"] <= high <= 1, name
        assert values["recent_share"] == pytest.approx(expected, abs=0.01), name
    assert report.recent_share() == pytest.approx(expected, abs=0.01)
    # every number the headline shows is finite: no ratio over a near-zero denominator is left
    report.to_tables(tmp_path)
    headline = pd.read_csv(tmp_path / "indicators.csv")
    assert np.isfinite(headline[["trained", "trained_low", "trained_high"]].to_numpy()).all()
    assert "∞" not in report.to_markdown() and "inf" not in (tmp_path / "indicators.csv").read_text()
