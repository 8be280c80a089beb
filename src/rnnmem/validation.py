"""Argument checks at the public edge, in one style (scikit-learn's).

Each check names the argument, the value it got and what would be valid, and raises
`ConfigError`. Library functions call these where an argument enters; inner code trusts
what was checked.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from numbers import Integral, Real

from rnnmem.errors import ConfigError, DataError


def counted(n: int, noun: str) -> str:
    """"1 token", "2 tokens": a count with its noun in the number it takes (the plural adds an s)."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """' Did you mean 'x'?' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(str(value), list(choices), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def check_choice(name: str, value: object, choices: Iterable[str], *, what: str | None = None) -> str:
    """Return ``value`` if it is one of ``choices``; otherwise raise naming the valid ones."""
    choices = list(choices)
    if value not in choices:
        what = what or name
        raise ConfigError(f"unknown {what} '{value}'.{did_you_mean(value, choices)} "
                          f"Valid {name}: {', '.join(choices)}.")
    return value


def check_real(name: str, value: object, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as float if it is a finite real number within [low, high] (ends open where asked)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise ConfigError(f"{name} must be a finite number{_range(low, high, low_open, high_open)} (got {value!r}).")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ConfigError(f"{name} must be{_range(low, high, low_open, high_open)} (got {value!r}).")
    return value


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as int if it is a whole number within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ConfigError(f"{name} must be a whole number{_range(low, high, False, False)} (got {value!r}).")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{name} must be{_range(low, high, False, False)} (got {value!r}).")
    return value


def check_tau(tau: object) -> float:
    """A retention threshold: strictly between 0 and 1."""
    return check_real("tau", tau, low=0.0, high=1.0, low_open=True, high_open=True)


def check_device(device: object) -> str:
    """A torch device present on this machine: "cpu", "cuda", "cuda:1", "mps"."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(f"device must name a torch device such as cpu, cuda or cuda:1 (got {device!r}).") from None
    present = {"cpu": True, "cuda": torch.cuda.is_available() and (parsed.index or 0) < torch.cuda.device_count(),
               "mps": torch.backends.mps.is_available()}
    if not present.get(parsed.type, False):
        here = ", ".join(name for name, there in present.items() if there)
        raise ConfigError(f"device {device!r} is not available on this machine (available: {here}); "
                          "use one of those, or install the PyTorch build for your accelerator.")
    return str(device)


def _range(low, high, low_open, high_open) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


# One size limit for every model rnnmem builds, whichever command or function asks for it.
MAX_WEIGHTS = 250_000_000  # 1 GiB of float32 weights; Adam keeps three copies more while training
MAX_VALUES = 1_000_000_000  # numbers in one array rnnmem computes (8 GiB in float64), e.g. capacity's states


def check_model_size(hidden_size: int, embedding_dim: int, vocab_size: int = 0, num_classes: int = 0) -> int:
    """Refuse, before anything is allocated, a model of more than `MAX_WEIGHTS` weights; return the estimate.

    The estimate is an upper bound over the units (an LSTM's four gates):
    V·E + 4·H·(H + E + 2) + H·K. Below H = 59 the Mamba block can have up to 1,584 weights more
    (at H = 33), 0.0006% of `MAX_WEIGHTS`.
    """
    weights = vocab_size * embedding_dim + 4 * hidden_size * (hidden_size + embedding_dim + 2) + hidden_size * num_classes
    if weights > MAX_WEIGHTS:
        raise ConfigError(
            f"hidden_size={hidden_size}, embedding_dim={embedding_dim} and vocab_size={vocab_size} make a model of up to "
            f"{weights:,} weights ({weights * 4 / 2**30:,.1f} GiB); rnnmem builds models of at most {MAX_WEIGHTS:,} "
            f"weights ({MAX_WEIGHTS * 4 / 2**30:.0f} GiB). Use a smaller hidden size, embedding or vocabulary.")
    return weights


def check_array_size(what: str, shape: tuple[int, ...], fix: str) -> None:
    """Refuse an array of more than `MAX_VALUES` numbers before it is allocated."""
    values = math.prod(shape)
    if values > MAX_VALUES:
        raise ConfigError(f"{what} would hold {' x '.join(f'{n:,}' for n in shape)} = {values:,} numbers "
                          f"({values * 8 / 2**30:,.1f} GiB); rnnmem computes arrays of at most {MAX_VALUES:,}. {fix}.")


SEED_RANGE = (0, 2**32 - 1)  # what every generator rnnmem seeds accepts (SciPy's bootstrap takes a 32-bit seed)


def check_seed(seed: object) -> int:
    """A seed: a whole number in 0 .. 2**32 - 1."""
    return check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])


MAX_RESAMPLES = 1_000_000
# numbers in one bootstrap estimate's resamples (256 MiB in float64); an assessment keeps a dozen such estimates,
# and SciPy's percentiles copy one while sorting: 1,000,000 resamples of 101 distances held 771 MiB and peaked at 1.9 GiB
MAX_RESAMPLED_VALUES = 2**25


def check_resample_memory(n_resamples: int, positions: int) -> None:
    """Refuse, before any work, a bootstrap whose resampled curves over ``positions`` would exceed `MAX_RESAMPLED_VALUES`.

    The longest curve an assessment bootstraps has one value per token position of its longest
    sequence (fidelity F(L); r(d) has at most as many distances).
    """
    values = n_resamples * positions
    if values > MAX_RESAMPLED_VALUES:
        raise ConfigError(
            f"n_resamples={n_resamples:,} resamples of curves over the {positions:,} positions of the longest sequence "
            f"would hold {values:,} numbers ({values * 8 / 2**20:,.0f} MiB) per estimate, and an assessment keeps a dozen; "
            f"rnnmem keeps at most {MAX_RESAMPLED_VALUES:,} ({MAX_RESAMPLED_VALUES * 8 / 2**20:,.0f} MiB) per estimate. "
            f"Use at most {MAX_RESAMPLED_VALUES // positions:,} resamples (--n-resamples; 10,000 already fixes a 95% "
            "bound to about a tenth of its width) or shorter sequences (--max-len, --max-distance).")


def check_assess_arguments(data, *, lengths, max_distance, neutral_token, max_len,
                           max_sequences, n_resamples, seed) -> None:
    """Check every scalar argument of `rnnmem.assess` (and data that holds nothing to measure) before any work.

    Each failure names the argument, the value and what would be valid (`ConfigError`); data
    made only of the neutral token is a `DataError`.
    """
    check_int("max_distance", max_distance, low=0)
    if neutral_token is not None:
        check_int("neutral_token", neutral_token, low=0)
    if max_len is not None:
        check_int("max_len", max_len, low=1)
    if max_sequences is not None:
        check_int("max_sequences", max_sequences, low=2)
    check_int("n_resamples", n_resamples, low=1, high=MAX_RESAMPLES)
    check_seed(seed)
    _check_token_data(data, lengths, 0 if neutral_token is None else neutral_token)


def _check_token_data(data, lengths, neutral: int) -> None:
    """Token tensors and lists: lengths of the right shape, and some token other than the neutral one."""
    import torch

    if isinstance(data, torch.Tensor) and data.dim() == 2:
        if lengths is not None:
            lengths = torch.as_tensor(lengths)
            if lengths.is_floating_point() or lengths.dtype == torch.bool:
                raise DataError(f"lengths must be whole numbers (got {lengths.dtype}); pass each sequence's number "
                                "of tokens.")
            if lengths.shape != (data.shape[0],):
                raise DataError(f"lengths must hold one length per sequence, shape [{data.shape[0]}]; got shape "
                                f"{list(lengths.shape)}.")
            rows = data[torch.arange(data.shape[1]) < lengths[:, None]]
        else:
            rows = data
        empty = rows.numel() > 0 and bool((rows == neutral).all())
    elif isinstance(data, (list, tuple)) and data and all(isinstance(seq, (list, tuple)) for seq in data):
        tokens = [t for seq in data for t in seq]
        odd = next((t for t in tokens if isinstance(t, bool) or not isinstance(t, Integral)), None)
        if odd is not None:
            raise DataError(f"token ids must be whole numbers; got {odd!r} ({type(odd).__name__}). Encode texts "
                            "with a Vocabulary (vocabulary.encode(text)) first.")
        empty = bool(tokens) and all(t == neutral for t in tokens)
    else:
        return
    if empty:
        raise DataError(f"every token of the data is the neutral token {neutral} (padding); there is nothing to "
                        "measure. Encode real tokens with ids other than the pad id, or pass neutral_token.")
