"""Task-free memory capacity (Jaeger 2002): how many past scalar inputs a linear readout recovers.

Not the retention capacity sum_d r(d) of `rnnmem.indicators.curve`, which is measured on a task's SES.

Task-free and model-free: drive a recurrence with i.i.d. scalar input, then ask, for every
delay k, how well a linear readout of the state recovers u(t - k). docs/indicators.md §4.
"""

from __future__ import annotations

from dataclasses import dataclass

import warnings

import numpy as np
from scipy import linalg

from rnnmem.errors import ConfigError
from rnnmem.validation import check_array_size, check_int, check_model_size, check_seed


@dataclass(frozen=True, eq=False)
class TaskFreeCapacity:
    """Result of `task_free_capacity`: MC = ``total`` = ``per_delay.sum()``.

    ``per_delay[i]`` is MC_k for k = ``delays[i]`` (k = 1..max_delay); ``n_train`` and
    ``n_test`` are the steps the readouts were fitted and scored on.
    """

    total: float
    per_delay: np.ndarray
    delays: np.ndarray
    n_train: int
    n_test: int


def task_free_capacity(states, inputs, max_delay: int, washout: int = 100, ridge: float = 1e-8,
                       test_fraction: float = 0.3, test_length: int | None = None) -> TaskFreeCapacity:
    """Task-free (classical) memory capacity of a driven recurrence (Jaeger 2002).

    .. math::
        MC = \\sum_{k=1}^{k_{max}} MC_k, \\qquad
        MC_k = \\rho^2\\big(y_k(t),\\, u(t-k)\\big)
             = \\frac{\\mathrm{cov}^2[y_k(t), u(t-k)]}{\\mathrm{var}[y_k(t)]\\,\\mathrm{var}[u(t-k)]}

    where y_k(t) = w_k . x(t) + b_k is a ridge readout of the state x(t) trained to output
    u(t - k). Each MC_k is in [0, 1]; for i.i.d. input, MC <= N for N state units, with
    equality reached by generic linear networks, and MC_k = 1 for k <= m on a shift register
    holding the last m inputs.

    Steps ``t < max(washout, max_delay)`` are never fitted (the initial state has not faded,
    and u(t - k) does not exist for every k). Of the remaining steps, the last ``n_test`` are
    held out and MC_k is the squared Pearson correlation on them; the readouts are fitted on
    the rest. All delays are fitted at once: one ridge solve with the targets stacked as
    columns. The intercept b_k is not penalised (states and targets are centred on their
    training means, then (X^T X + ridge I) W = X^T Y), as in ReservoirPy's ``Ridge``.

    Parameters
    ----------
    states : array [T, N]
        The state x(t) after reading u(t), for t = 0..T-1 (one continuous run).
    inputs : array [T] or [T, 1]
        The scalar input u(t) that drove ``states``; i.i.d. (e.g. uniform in [-1, 1]) for the
        classical measure.
    max_delay : int
        Largest delay k_max >= 1. A common choice is 2 N.
    washout : int, default 100
        Leading steps left out of the fit so that the arbitrary initial state has faded.
    ridge : float, default 1e-8
        Tikhonov penalty lambda >= 0 on the readout weights (absolute, not scaled by T).
    test_fraction : float, default 0.3
        Share, in (0, 1), of the steps after ``max(washout, max_delay)`` held out for scoring.
    test_length : int, optional
        Number of held-out steps; overrides ``test_fraction`` (e.g. to reproduce another
        tool's split exactly).

    Returns
    -------
    TaskFreeCapacity
        ``total`` (MC, float), ``per_delay`` (MC_k, array [max_delay]), ``delays``
        (1..max_delay), ``n_train`` and ``n_test``. A delay whose readout is constant on the
        test steps (e.g. all-zero states) scores MC_k = 0.

    Raises
    ------
    ConfigError
        Mismatched lengths, max_delay < 1, a washout or max_delay that leaves fewer than two
        training or test steps, a negative ridge, or non-finite values; a split whose readouts
        are fitted on no more steps than their N + 1 weights, or whose scored steps let chance
        add more than N / 10 to MC (max_delay / (n_test - 1) > N / 10), so MC <= N holds up to
        that chance level.

    Examples
    --------
    A shift register of the last 5 inputs remembers exactly 5 of them:

    >>> rng = np.random.default_rng(0)
    >>> u = rng.uniform(-1, 1, 5000)
    >>> register = np.stack([np.roll(u, j) for j in range(6)], axis=1)  # u(t), ..., u(t-5)
    >>> mc = task_free_capacity(register, u, max_delay=8)
    >>> round(mc.total, 2), mc.per_delay.round(2).tolist()
    (5.0, [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0])

    Notes
    -----
    To reproduce ``reservoirpy.observables.memory_capacity(model, k_max, series=s,
    test_size=f)`` (0.4.x), which drives the reservoir with ``s[k_max:]`` from a zero state,
    warms up for k_max steps and scores on the last ``round(len(s) * f)`` steps, pass the
    states of that run with ``inputs=s[k_max:]``, ``max_delay=washout=k_max``,
    ``test_length=round(len(s) * f)`` and the Ridge node's ``ridge``.

    References
    ----------
    H. Jaeger, "Short term memory in echo state networks", GMD Report 152, 2002.
    """
    x, u = _check_arrays(states, inputs)
    steps = len(u)
    max_delay = _check_int("max_delay", max_delay, 1, "a delay of at least 1 step; 2 * units is common")
    washout = _check_int("washout", washout, 0, "a number of steps >= 0")
    if not (isinstance(ridge, (int, float, np.floating)) and np.isfinite(ridge) and ridge >= 0):
        raise ConfigError(f"ridge must be a finite number >= 0, got {ridge!r}; 1e-8 to 1e-4 are typical.")
    start = max(washout, max_delay)
    usable = steps - start
    if usable < 4:
        raise ConfigError(
            f"washout={washout} and max_delay={max_delay} leave {max(usable, 0)} of the {steps} steps "
            f"to fit and score on; keep max(washout, max_delay) <= {steps - 4} or pass longer inputs.")
    if test_length is None:
        if not (isinstance(test_fraction, (int, float, np.floating)) and 0 < test_fraction < 1):
            raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction!r}; 0.2 to 0.3 is typical.")
        n_test = int(round(test_fraction * usable))
    else:
        n_test = _check_int("test_length", test_length, 2, "a number of steps >= 2")
    n_train = usable - n_test
    if n_test < 2 or n_train < 2:
        raise ConfigError(
            f"the split leaves {n_train} training and {n_test} test steps of the {usable} after "
            f"max(washout, max_delay) = {start}; both need at least 2 (choose test_fraction/test_length "
            f"accordingly or pass longer inputs).")
    _check_enough_steps(x.shape[1], max_delay, start, n_train, n_test, steps, test_fraction, test_length)

    # targets[i, k-1] = u(start + i - k): row i holds the max_delay inputs before step start + i,
    # newest first (a strided view of u, not a copy)
    delays = np.arange(1, max_delay + 1)
    targets = np.lib.stride_tricks.sliding_window_view(u, max_delay)[start - max_delay: steps - max_delay, ::-1]
    features = x[start:]
    train, test = slice(0, n_train), slice(n_train, usable)

    # one centred ridge solve for all delays: the intercept is fitted but not penalised
    xc = features[train] - features[train].mean(0)
    # xc^T (Y - mean Y) = xc^T Y, as the columns of xc sum to zero
    weights = _ridge_solve(xc.T @ xc, xc.T @ targets[train], ridge)
    predicted = features[test] @ weights  # the intercept cannot change a correlation

    per_delay = _squared_correlation(predicted, targets[test])
    per_delay.setflags(write=False)
    delays.setflags(write=False)
    return TaskFreeCapacity(float(per_delay.sum()), per_delay, delays, n_train, n_test)


def memory_capacity(*args, **kwargs) -> TaskFreeCapacity:
    """Deprecated name of `task_free_capacity` (kept for one release)."""
    warnings.warn("memory_capacity is renamed task_free_capacity (Jaeger's task-free MC, not the retention "
                  "capacity sum_d r(d)); the old name goes in the next release.", DeprecationWarning, stacklevel=2)
    return task_free_capacity(*args, **kwargs)


def _check_enough_steps(units: int, max_delay: int, start: int, n_train: int, n_test: int, steps: int,
                        test_fraction: float, test_length: int | None) -> None:
    """Refuse a split on which MC could exceed the number of units by overfitting or by chance.

    A readout of N units and an intercept fitted on N + 1 steps or fewer interpolates them. On
    n_test scored steps a readout unrelated to u(t - k) still scores corr^2 ~ 1 / (n_test - 1),
    so chance alone adds about max_delay / (n_test - 1) to MC; it must stay within a tenth of N
    (MC <= N holds for i.i.d. input; 290 delays on 3 steps read 142 "of 8 units").
    """
    chance = max_delay / (n_test - 1)
    if n_train > units + 1 and chance <= units / 10:
        return
    needed_test = int(np.ceil(10 * max_delay / units)) + 1
    if test_length is None:
        needed_usable = max(int(np.ceil(needed_test / test_fraction)), int(np.ceil((units + 2) / (1 - test_fraction))))
    else:
        needed_usable = max(n_test, needed_test) + units + 2
    largest_delay = int(units * (n_test - 1) // 10)
    fewer_delays = f" or a max_delay of at most {largest_delay}" if 1 <= largest_delay < max_delay else ""
    fix = (f"pass longer inputs (at least {start + needed_usable:,} steps, `rnnmem capacity --length`)"
           f"{fewer_delays}")
    if n_train <= units + 1:
        raise ConfigError(
            f"the readouts would be fitted on {n_train} steps, no more than their {units + 1} weights ({units} "
            f"state units and an intercept): they would fit any target exactly and MC would not measure memory; "
            f"{fix}.")
    raise ConfigError(
        f"scoring {max_delay} delays on {n_test} of the {steps} steps lets chance alone add about "
        f"{chance:.2f} to MC (max_delay / (steps scored - 1)), more than a tenth of the {units} units MC is "
        f"bounded by; {fix}.")


def _ridge_solve(gram: np.ndarray, cross: np.ndarray, ridge: float) -> np.ndarray:
    """(gram + ridge I)^-1 cross by one Cholesky factorisation; least squares if that is singular."""
    system = gram + ridge * np.eye(len(gram))
    try:
        return linalg.cho_solve(linalg.cho_factor(system, check_finite=False), cross, check_finite=False)
    except linalg.LinAlgError:  # ridge = 0 with collinear states: the minimum-norm solution
        return linalg.lstsq(system, cross, check_finite=False)[0]


def _squared_correlation(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Column-wise squared Pearson correlation; 0 where either column is constant."""
    p = predicted - predicted.mean(0)
    y = target - target.mean(0)
    denominator = (p * p).sum(0) * (y * y).sum(0)
    covariance = (p * y).sum(0)
    out = np.zeros(p.shape[1])
    ok = denominator > 0
    out[ok] = covariance[ok] ** 2 / denominator[ok]
    return np.minimum(out, 1.0)  # rounding can overshoot 1 by an ulp


def _check_arrays(states, inputs) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(states, dtype=float)
    u = np.asarray(inputs, dtype=float)
    if u.ndim == 2 and u.shape[1] == 1:
        u = u[:, 0]
    if u.ndim != 1:
        raise ConfigError(f"inputs must be a scalar series of shape [T] or [T, 1], got shape {u.shape}.")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ConfigError(f"states must have shape [T, N] (time first), got shape {x.shape}.")
    if len(x) != len(u):
        raise ConfigError(
            f"states and inputs must have the same length T, got states with {len(x)} steps "
            f"(shape {x.shape}) and inputs with {len(u)}; pass the states the inputs produced, time first.")
    for name, array in (("states", x), ("inputs", u)):
        bad = ~np.isfinite(array)
        if bad.any():
            where = np.argwhere(bad)[0]
            raise ConfigError(
                f"{name} must be finite, got {int(bad.sum())} NaN/inf values (first at index "
                f"{tuple(int(i) for i in where)}); a diverging recurrence has no memory capacity to measure.")
    return x, u


def _check_int(name: str, value, minimum: int, valid: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum} ({valid}), got {value!r}.")
    return int(value)


def drive_unit(unit_name: str, hidden_size: int, length: int, seed: int = 0,
               input_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Drive a freshly initialised (untrained) unit with i.i.d. scalar input; return its states.

    u(t) ~ Uniform(-input_scale, input_scale), i.i.d., t = 0..length-1
    (x(t), _) = unit(u[None, :, None])      (input_size = 1: the unit's own input projection)

    This is the classical, task-free setting of Jaeger (2002): nothing is trained, the
    unit's random initialisation is the system measured, and `task_free_capacity` fits only
    the readouts. Saturating units (tanh, sigmoid gates) are closer to linear, and so
    remember more, for a small ``input_scale``.

    Parameters
    ----------
    unit_name : str
        A registered unit (see ``rnnmem.units.UNITS``).
    hidden_size : int
        Hidden units H.
    length : int
        Steps T of input.
    seed : int, default 0
        Seeds the input series and the unit's initialisation (a unit whose constructor takes
        a ``seed``, like ``esn``, receives it; the others are built under
        ``torch.manual_seed(seed)``). The global torch RNG is left as it was.
    input_scale : float, default 1.0
        Half-width a > 0 of the uniform input distribution.

    Returns
    -------
    states : array [T, H]
        The unit's output after every step (float64).
    inputs : array [T]
        The input series u.

    Examples
    --------
    >>> states, u = drive_unit("esn", hidden_size=20, length=500)
    >>> states.shape, u.shape
    ((500, 20), (500,))
    """
    import inspect

    import torch

    from rnnmem.units import UNITS, build_unit

    length = _check_int("length", length, 1, "a number of input steps")
    check_seed(seed)
    check_model_size(check_int("hidden_size", hidden_size, low=1), 1)
    check_array_size("the driven states", (length, hidden_size), "Use a shorter --length or a smaller --hidden")
    if not (isinstance(input_scale, (int, float)) and np.isfinite(input_scale) and input_scale > 0):
        raise ConfigError(f"input_scale must be a finite number > 0, got {input_scale!r}; 1.0 drives with U(-1, 1).")
    inputs = np.random.default_rng(seed).uniform(-input_scale, input_scale, length)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unit = build_unit(unit_name, 1, hidden_size)  # validates the name and sizes
        if "seed" in inspect.signature(UNITS[unit_name].factory).parameters:
            unit = UNITS[unit_name].factory(1, hidden_size, seed=seed)
    unit.eval()
    with torch.no_grad():
        outputs, _ = unit(torch.as_tensor(inputs, dtype=torch.float32).reshape(1, length, 1))
    return outputs[0].double().numpy(), inputs
