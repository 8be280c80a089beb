"""Semantic fidelity F(T): does the sequence point still express the whole sequence?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnnmem.indicators.bootstrap import bootstrap


def fidelity_by_length(trajectory: np.ndarray, words_by_position: np.ndarray, lengths: np.ndarray,
                       n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Cosine and R^2 between S(x_1..L) and the full-memory reference S*(x_1..L) = sum_t s(x_t).

    Every prefix of every sequence is a sequence of length L, so one pass gives the whole
    curve over L = 1..max length. R^2 is that of the best fit S ~ c S* with one scale c
    per length: like the cosine it forgives a network that keeps the direction of the
    meaning but compresses its magnitude (a saturating unit always does), and unlike the
    cosine it also counts disagreement between sequences in how much they were scaled.

    Parameters
    ----------
    trajectory : array [N, T, K]
        S(x_1..t) for every prefix.
    words_by_position : array [N, T, K]
        s(x_t), the word point of the token at position t.
    lengths : array [N]
        True length of each sequence.

    Returns
    -------
    DataFrame with columns length, sequences, cosine, cosine_lo, cosine_hi, r2.
    """
    n, t, _ = trajectory.shape
    reference = np.cumsum(words_by_position, axis=1)
    valid = np.arange(t)[None, :] < lengths[:, None]
    dot = (trajectory * reference).sum(-1)
    norms = np.linalg.norm(trajectory, axis=-1) * np.linalg.norm(reference, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.where(valid & (norms > 0), dot / norms, np.nan)
    present = np.isfinite(cosine)
    filled = np.where(present, cosine, 0.0)

    def mean_cosine(w):
        with np.errstate(invalid="ignore", divide="ignore"):
            return (w @ filled) / (w @ present.astype(float))

    est = bootstrap(n, mean_cosine, n_resamples, seed)
    dots = np.where(valid, dot, 0.0).sum(0)
    ref_sq = np.where(valid, (reference ** 2).sum(-1), 0.0).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(ref_sq > 0, dots / ref_sq, 0.0)
    residual = np.where(valid, ((trajectory - scale[None, :, None] * reference) ** 2).sum(-1), 0.0).sum(0)
    count = valid.sum(0)
    mean_point = np.where(valid[..., None], trajectory, 0.0).sum(0) / np.maximum(count, 1)[:, None]
    spread = np.where(valid, ((trajectory - mean_point[None]) ** 2).sum(-1), 0.0).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(spread > 0, 1.0 - residual / spread, np.nan)
    frame = pd.DataFrame({
        "length": np.arange(1, t + 1), "sequences": count, "cosine": est.value,
        "cosine_lo": est.low, "cosine_hi": est.high, "r2": r2,
    })
    return frame[frame["sequences"] > 0].reset_index(drop=True)


def knee(x: np.ndarray, y: np.ndarray, smoothing: float = 0.05) -> float | None:
    """The knee of a falling curve: the point farthest from the chord joining its first and last points (Kneedle).

    The curve is first smoothed by a running mean over ``smoothing`` of its points, so
    that sampling noise on a plateau cannot place the knee. None when the curve does
    not fall or is a straight line.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    half = int(round(smoothing * len(y) / 2))
    if half > 0 and len(y) > 2 * half:
        # odd reflection keeps a straight line straight, so smoothing adds no knee of its own
        padded = np.pad(y, half, mode="reflect", reflect_type="odd")
        y = np.convolve(padded, np.ones(2 * half + 1) / (2 * half + 1), mode="valid")
    if len(x) < 3 or y[-1] >= y[0]:
        return None
    xs = (x - x[0]) / (x[-1] - x[0])
    ys = (y - y[-1]) / (y[0] - y[-1])
    gap = np.abs(ys - (1.0 - xs))
    i = int(np.argmax(gap))
    return float(x[i]) if gap[i] > 1e-9 else None


def fidelity_knee(table: pd.DataFrame, n_sequences: int) -> float | None:
    """Sequence length at the knee of F(L) (`knee` of the cosine curve): where S(x) stops expressing the whole sequence.

    Only lengths that at least a tenth of the ``n_sequences`` reach (and at least 10) count,
    so the sparse tail of the length distribution cannot place the knee.
    """
    frame = table[table["sequences"] >= max(10, 0.1 * n_sequences)]
    return knee(frame["length"].to_numpy(), frame["cosine"].to_numpy())


def fidelity_at(table: pd.DataFrame, length: int) -> float | None:
    """Mean cosine(S, S*) at one sequence length, None when no sequence is that long."""
    row = table[table["length"] == length]
    return float(row["cosine"].iloc[0]) if len(row) else None
