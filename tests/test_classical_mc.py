"""Classical memory capacity (Jaeger 2002): peer check against ReservoirPy, theory, known systems, CLI."""

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnmem import ConfigError, task_free_capacity
from rnnmem.cli import app
from rnnmem.indicators.classical import drive_unit


def run_reservoir(weight, input_weight, inputs, activation=np.tanh):
    """x(t) = f(W x(t-1) + w_in u(t)), x(-1) = 0: the states [T, N] after every input."""
    x = np.zeros(len(weight))
    states = np.empty((len(inputs), len(weight)))
    for t, u_t in enumerate(inputs):
        x = activation(weight @ x + input_weight * u_t)
        states[t] = x
    return states


def shift_register(inputs, k_max):
    """states(t) = [u(t), u(t-1), ..., u(t-k_max)] (zeros before the start)."""
    padded = np.concatenate([np.zeros(k_max), inputs])
    return np.stack([padded[k_max - j: len(padded) - j] for j in range(k_max + 1)], axis=1)


# --- peer check ------------------------------------------------------------------------------

def test_per_delay_matches_reservoirpy_on_the_same_reservoir():
    pytest.importorskip("reservoirpy", reason="peer check needs reservoirpy (pip install rnnmem[test])")
    from reservoirpy.nodes import Reservoir, Ridge
    from reservoirpy.observables import memory_capacity as rpy_memory_capacity

    rng = np.random.default_rng(1)
    n, length, k_max, ridge, test_size = 50, 3000, 100, 1e-6, 0.3
    weight = rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.2)
    weight *= 0.9 / np.abs(np.linalg.eigvals(weight)).max()
    input_weight = rng.uniform(-1, 1, (n, 1))
    series = rng.uniform(-0.8, 0.8, (length, 1))  # ReservoirPy's own default signal

    model = Reservoir(W=weight, Win=input_weight, bias=0.0, lr=1.0) >> Ridge(ridge=ridge)
    theirs = rpy_memory_capacity(model, k_max, as_list=True, series=series, test_size=test_size)

    # ReservoirPy drives the reservoir with series[k_max:] from a zero state, skips k_max warm-up
    # steps in the fit and scores on the last round(len(series) * test_size) steps
    driven = series[k_max:, 0]
    states = run_reservoir(weight, input_weight[:, 0], driven)
    assert np.allclose(states, Reservoir(W=weight, Win=input_weight, bias=0.0).run(series[k_max:]))  # same states
    ours = task_free_capacity(states, driven, k_max, washout=k_max, ridge=ridge, test_length=round(length * test_size))

    assert ours.per_delay.shape == theirs.shape == (k_max,)
    small = theirs < 0.1
    np.testing.assert_allclose(ours.per_delay[~small], theirs[~small], rtol=0.01)
    np.testing.assert_allclose(ours.per_delay[small], theirs[small], atol=1e-3)
    assert theirs[0] > 0.9 and small.any()  # both regimes were exercised
    assert ours.total == pytest.approx(theirs.sum(), rel=0.01)


# --- theory ----------------------------------------------------------------------------------

N_THEORY = 20


@pytest.fixture(scope="module")
def orthogonal_reservoir():
    """A random orthogonal recurrent matrix scaled to 0.98, random input weights, i.i.d. input, linear states."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((N_THEORY, N_THEORY)))
    weight, input_weight, u = 0.98 * q, rng.uniform(-1, 1, N_THEORY), rng.uniform(-1, 1, 20_000)
    return weight, input_weight, u, run_reservoir(weight, input_weight, u, activation=lambda z: z)


def test_linear_reservoir_reaches_mc_close_to_n(orthogonal_reservoir):
    # For a linear network the capacities over k = 0, 1, 2, ... sum to N. With an orthogonal W
    # scaled by rho, MC_k ~ N (1 - rho^2) rho^(2k): k = 0 (u(t) itself, not counted) takes
    # (1 - rho^2) N = 0.04 N and delays beyond 120 another rho^242 N < 0.01 N, so the sum
    # over k = 1..120 should be ~0.95 N.
    _, _, u, linear_states = orthogonal_reservoir
    mc = task_free_capacity(linear_states, u, max_delay=120, washout=200)
    assert mc.total == pytest.approx(N_THEORY, rel=0.10)
    assert mc.total <= N_THEORY + 0.1  # MC <= N (up to chance correlation on the test part)


def test_tanh_reservoir_remembers_less_than_the_linear_one(orthogonal_reservoir):
    weight, input_weight, u, linear_states = orthogonal_reservoir
    linear = task_free_capacity(linear_states, u, 120, washout=200)
    # input weights in [-1, 1] times u in [-1, 1] with a 0.98 feedback: pre-activations of
    # order 1, where tanh saturates
    states = run_reservoir(weight, input_weight, u, activation=np.tanh)
    assert np.abs(states).max() > 0.9  # the nonlinear range is reached
    nonlinear = task_free_capacity(states, u, 120, washout=200)
    assert nonlinear.total < 0.75 * linear.total


def test_noise_states_have_no_memory():
    # readouts fitted on noise are independent of the test targets: corr^2 per delay ~ chi2(1)
    # / n_test, mean 1 / n_test; the total over 60 delays has mean 60 / n_test ~ 0.01 and sd
    # ~ sqrt(2 * 60) / n_test ~ 0.002. Five times the mean is far beyond chance.
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, 20_000)
    mc = task_free_capacity(rng.standard_normal((20_000, N_THEORY)), u, max_delay=60, washout=200)
    assert mc.total < 5 * 60 / mc.n_test


def test_delay_line_remembers_exactly_k_inputs():
    rng = np.random.default_rng(2)
    u, k_max = rng.uniform(-1, 1, 10_000), 12
    mc = task_free_capacity(shift_register(u, k_max), u, max_delay=30)
    np.testing.assert_allclose(mc.per_delay[:k_max], 1.0, atol=1e-6)
    assert np.all(mc.per_delay[k_max:] < 0.01)
    assert mc.total == pytest.approx(k_max, abs=0.05)
    assert mc.delays.tolist() == list(range(1, 31))


def test_the_split_leaves_out_the_washout_and_holds_out_the_tail():
    rng = np.random.default_rng(3)
    u = rng.uniform(-1, 1, 1000)
    mc = task_free_capacity(shift_register(u, 3), u, max_delay=5, washout=100, test_fraction=0.3)
    assert (mc.n_train, mc.n_test) == (630, 270)
    mc = task_free_capacity(shift_register(u, 3), u[:, None], max_delay=150, washout=100, test_length=400)
    assert (mc.n_train, mc.n_test) == (450, 400)  # max_delay > washout: the fit starts at max_delay


# --- the domain: MC <= N needs more fitted steps than weights and enough scored steps ----------

def test_the_issue_settings_that_read_142_of_8_units_are_refused_with_the_fix():
    states, inputs = drive_unit("esn", hidden_size=8, length=300, seed=0)
    with pytest.raises(ConfigError, match=r"fitted on 7 steps, no more than their 9 weights.*at least [0-9,]+ steps"):
        task_free_capacity(states, inputs, max_delay=290, washout=5)
    result = CliRunner().invoke(app, ["capacity", "--unit", "esn", "--hidden", "8", "--length", "300",
                                      "--max-delay", "290", "--washout", "5"])
    assert result.exit_code == 2 and "MC =" not in result.output and "--length" in result.output


def test_too_few_scored_steps_for_the_delays_are_refused_and_the_suggested_length_works():
    # 20 delays scored on 9 steps: chance alone adds ~20 / 8 = 2.5 to the MC of 8 noise units
    rng = np.random.default_rng(4)
    u = rng.uniform(-1, 1, 2000)
    noise = rng.standard_normal((2000, 8))
    with pytest.raises(ConfigError, match=r"chance alone add about 2\.50 to MC") as info:
        task_free_capacity(noise[:50], u[:50], max_delay=20, washout=5)
    suggested = int(re.search(r"at least ([0-9,]+) steps", str(info.value)).group(1).replace(",", ""))
    largest_delay = int(re.search(r"max_delay of at most ([0-9]+)", str(info.value)).group(1))
    assert 50 < suggested < 2000
    mc = task_free_capacity(noise[:suggested], u[:suggested], max_delay=20, washout=5)
    assert mc.total <= 8 / 10 * 3  # noise: the chance level (<= N / 10) within its spread
    task_free_capacity(noise[:50], u[:50], max_delay=largest_delay, washout=5)  # the other fix works too


@pytest.mark.parametrize("seed", range(5))
def test_at_the_smallest_allowed_split_a_full_register_stays_within_its_units(seed):
    # a register holding u(t-1)..u(t-8) has MC = 8 = N exactly; the split that just passes lets
    # chance add at most N / 10 on the 22 delays it cannot remember
    rng = np.random.default_rng(seed)
    u = rng.uniform(-1, 1, 400)
    register = shift_register(u, 8)[:, 1:]
    n_test = int(np.ceil(10 * 30 / 8)) + 1
    mc = task_free_capacity(register, u, max_delay=30, washout=30, test_length=n_test)
    assert 8 - 1e-6 <= mc.total <= 8 * 1.1 + 0.5
    with pytest.raises(ConfigError, match="chance alone"):
        task_free_capacity(register, u, max_delay=30, washout=30, test_length=n_test - 1)


# --- driving the registered units --------------------------------------------------------------

@pytest.mark.parametrize("unit", ["esn", "lru"])
def test_drive_unit_returns_finite_states(unit):
    states, inputs = drive_unit(unit, hidden_size=16, length=300, seed=1)
    assert states.shape == (300, 16) and inputs.shape == (300,)
    assert np.isfinite(states).all() and states.std() > 0
    assert np.all(np.abs(inputs) <= 1.0)
    again, same_inputs = drive_unit(unit, hidden_size=16, length=300, seed=1)
    np.testing.assert_array_equal(states, again)  # seeded
    np.testing.assert_array_equal(inputs, same_inputs)


def test_drive_unit_on_the_delay_unit_gives_its_register_length():
    states, inputs = drive_unit("delay", hidden_size=8, length=3000)  # h_t = [u(t), ..., u(t-7)]
    assert task_free_capacity(states, inputs, max_delay=12).total == pytest.approx(7, abs=0.05)


def test_cli_capacity_prints_the_memory_capacity_of_drive_unit(tmp_path):
    out = tmp_path / "mc.json"
    result = CliRunner().invoke(app, ["capacity", "--unit", "esn", "--hidden", "20", "--length", "2000",
                                      "--per-delay", "--json", str(out)])
    assert result.exit_code == 0, result.output
    states, inputs = drive_unit("esn", 20, 2000, seed=0)
    expected = task_free_capacity(states, inputs, max_delay=40, washout=100)
    printed = float(re.search(r"MC = ([0-9.]+) of 20 units", result.output).group(1))
    assert printed == pytest.approx(expected.total, abs=5e-4)
    written = json.loads(out.read_text())
    assert written["total"] == pytest.approx(expected.total, rel=1e-12)
    assert written["per_delay"] == pytest.approx(expected.per_delay.tolist(), rel=1e-12)
    assert len(re.findall(r"^\s+40\s+[0-9.]+\s+[0-9.]+$", result.output, flags=re.M)) == 1  # per-delay table


def test_cli_capacity_reports_a_bad_option_in_one_line():
    result = CliRunner().invoke(app, ["capacity", "--unit", "esn", "--hidden", "10", "--length", "200",
                                      "--washout", "500"])
    assert result.exit_code == 2
    assert "washout=500" in result.output and "Traceback" not in result.output


# --- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, names", [
    (dict(states=np.zeros((100, 3)), inputs=np.zeros(90), max_delay=5), ["states", "inputs", "100", "90"]),
    (dict(max_delay=0), ["max_delay", "0"]),
    (dict(max_delay=2.5), ["max_delay", "2.5"]),
    (dict(washout=-1), ["washout", "-1"]),
    (dict(washout=498), ["washout=498", "500"]),
    (dict(ridge=-1.0), ["ridge", "-1.0"]),
    (dict(test_fraction=1.5), ["test_fraction", "1.5"]),
    (dict(test_length=1), ["test_length", "1"]),
    (dict(inputs=np.zeros((500, 2))), ["inputs", "(500, 2)"]),
    (dict(states=np.full((500, 3), np.nan)), ["states", "finite", "NaN"]),
    (dict(inputs=np.r_[np.zeros(499), np.inf]), ["inputs", "finite", "499"]),
])
def test_invalid_arguments_name_the_parameter(kwargs, names):
    rng = np.random.default_rng(0)
    arguments = dict(states=rng.standard_normal((500, 3)), inputs=rng.uniform(-1, 1, 500), max_delay=5, washout=10)
    with pytest.raises(ConfigError) as info:
        task_free_capacity(**{**arguments, **kwargs})
    for name in names:
        assert name in str(info.value)


def test_drive_unit_rejects_an_unknown_unit_and_bad_scale():
    with pytest.raises(ConfigError, match="unknown unit 'esnn'.*esn"):
        drive_unit("esnn", 10, 100)
    with pytest.raises(ConfigError, match="input_scale"):
        drive_unit("esn", 10, 100, input_scale=0.0)
