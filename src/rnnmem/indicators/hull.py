"""Hull indicators (docs/indicators.md §4).

A sequence's semantic region is the convex hull of its word points s(x_t); the words at
the hull's vertices are its pillar words. Two indicators ask how much of that region the
final state still holds: pillar retention by distance and the retained share of the
hull's volume. Both judge a word "retained" with the occlusion yardstick: occluding it
moves S(x) by at least tau * ||s(w) - s(neutral)||.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.spatial import ConvexHull, QhullError

from rnnmem.indicators.bootstrap import ratio_of_sums
from rnnmem.indicators.curve import REACHED_TOLERANCE
from rnnmem.progress import progress_bar

# Relative size below which a principal direction of the word points counts as absent
# (the points are collinear / coplanar up to float rounding).
_FLAT = 1e-9
ROUTES = ("3-D", "2-D", "1-D", "point")


@dataclass(frozen=True)
class WordHull:
    """The convex hull of one sequence's word points, in the dimension of their affine span.

    Attributes
    ----------
    pillars : bool array [n]
        Whether each word's point is a hull vertex (every occurrence of a vertex word counts).
    volume : float
        Volume of the hull in ``dim`` dimensions (area for 2, length for 1, 0 for a point).
    dim : int
        Dimension the hull was taken in: that of the points' affine span, at most 3.
    center, basis : arrays [K], [dim, K]
        Coordinates of a point in the hull's space are ``(p - center) @ basis.T``.
    """

    pillars: np.ndarray
    volume: float
    dim: int
    center: np.ndarray
    basis: np.ndarray

    @property
    def route(self) -> str:
        return ROUTES[3 - self.dim]

    def coordinates(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, float) - self.center) @ self.basis.T


def word_hull(points: np.ndarray) -> WordHull:
    """Convex hull of word points [n, K] with its vertices, falling back to lower dimensions when flat.

    The hull is taken in the principal directions of the points that have non-zero spread,
    at most three: exact for K <= 3 (a rotation changes neither vertices nor volume); for
    K > 3 it is the hull of the projection on the top three directions. Points spanning
    fewer dimensions than that (fewer than dim + 1 distinct points, collinear or coplanar)
    get the hull of their affine span: two extreme points in 1-D, a polygon in 2-D, and a
    single point (volume 0, every word a pillar) when all coincide.

    Parameters
    ----------
    points : array [n, K]
        s(x_t) for the words of one sequence.

    Returns
    -------
    WordHull

    Examples
    --------
    >>> hull = word_hull(np.array([[0., 0, 0], [1, 0, 0], [0, 1, 0], [.2, .2, 0]]))  # coplanar
    >>> hull.route, hull.pillars.tolist(), round(hull.volume, 12)
    ('2-D', [True, True, True, False], 0.5)
    """
    points = np.asarray(points, float)
    vertices, volume, dim, center, basis = _span_hull(points)
    pillars = np.zeros(len(points), bool)
    if len(vertices):
        vertex_points = points[vertices]
        # a word occurring twice sits at one point; every occurrence of a vertex word is a pillar
        pillars = np.any(np.all(np.isclose(points[:, None], vertex_points[None], rtol=0, atol=1e-12), axis=-1), axis=1)
    return WordHull(pillars, volume, dim, center, basis)


def hull_vertices(points: np.ndarray) -> np.ndarray:
    """Indices of the hull vertices of points [n, K] in their affine span, as `word_hull` takes it.

    For points spanning a plane they are in order around the polygon (ready to draw); for
    collinear points the two extremes, for coincident points every point.
    """
    return _span_hull(np.asarray(points, float))[0]


def _span_hull(points: np.ndarray) -> tuple[np.ndarray, float, int, np.ndarray, np.ndarray]:
    """(vertex indices, volume, dim, center, basis) of the hull in the points' principal directions of non-zero spread."""
    center = points.mean(axis=0)
    _, spread, vt = np.linalg.svd(points - center, full_matrices=False)
    dim = int(np.sum(spread > _FLAT * max(spread[0], 1e-300))) if len(spread) else 0
    dim = min(dim, 3)
    while True:
        basis = vt[:dim]
        coords = (points - center) @ basis.T
        try:
            vertices, volume = _hull_of(coords)
            return vertices, volume, dim, center, basis
        except QhullError:  # nearly flat beyond what the spread test caught: one dimension fewer
            dim -= 1


def _hull_of(coords: np.ndarray) -> tuple[np.ndarray, float]:
    """Vertex indices and volume of points [n, dim] that span all dim dimensions (dim <= 3)."""
    dim = coords.shape[1]
    if dim == 0:
        return np.arange(len(coords)), 0.0
    if dim == 1:
        x = coords[:, 0]
        return np.array([np.argmin(x), np.argmax(x)]), float(x.max() - x.min())
    hull = ConvexHull(coords)
    return hull.vertices, float(hull.volume)


def subset_volume(hull: WordHull, points: np.ndarray) -> float:
    """Volume, in ``hull``'s own dimension and coordinates, of the hull of some of its points (0 when flat there)."""
    if hull.dim == 0:
        return 0.0
    coords = hull.coordinates(points)
    if len(coords) < hull.dim + 1:
        return 0.0
    if hull.dim == 1:
        return float(coords.max() - coords.min())
    try:
        return float(ConvexHull(coords).volume)
    except QhullError:  # the subset is flat in the hull's dimension: it encloses no volume there
        return 0.0


class RetainedVolume(NamedTuple):
    """Mean over sequences of the retained share of the hull volume, with its 95% CI and sequence count."""

    mean: float
    lo: float
    hi: float
    n: int


@dataclass
class HullView:
    """Hull indicators of an assessment (``report.hull``).

    Attributes
    ----------
    by_distance : DataFrame
        distance, pillar_retention, lo, hi, n (pillar words at that distance).
    retained_volume : RetainedVolume
        Hull volume of the retained words over that of all words, mean over sequences.
    tau : float
        Retention threshold a word had to reach.
    routes : dict
        How many sequences had their hull taken in 3, 2, 1 or 0 dimensions.
    example : dict
        One sequence to draw: token ids, word points, pillar mask, final point S(x).
    """

    by_distance: pd.DataFrame
    retained_volume: RetainedVolume
    tau: float
    routes: dict[str, int]
    example: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        return {
            "tau": self.tau,
            "by_distance": self.by_distance.to_dict(orient="list"),
            "retained_volume": self.retained_volume._asdict(),
            "routes": dict(self.routes),
        }


def retained_words(effects: np.ndarray, yardstick: np.ndarray, tau: float = 0.5) -> np.ndarray:
    """Whether each word is retained: r = effect / yardstick >= tau (False where the yardstick is 0).

    Parameters
    ----------
    effects, yardstick : arrays of the same shape
        Occlusion effect ||S(x) - S(x with the word occluded)|| and ||s(w) - s(neutral)||.
    tau : float
        Retention threshold.

    Returns
    -------
    bool array of that shape.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        retention = np.where(yardstick > 0, effects / yardstick, np.nan)
    return retention >= tau - REACHED_TOLERANCE  # NaN compares False: never retained


def hull_indicators(words: np.ndarray, effects: np.ndarray, yardstick: np.ndarray, tau: float = 0.5,
                    n_resamples: int = 1000, seed: int = 0) -> tuple[HullView, list[WordHull]]:
    """Pillar retention by distance and retained hull volume, over sequences.

    With per-token retention r_{i,d} = effect_{i,d} / yardstick_{i,d} (occlusion effect over
    ||s(w) - s(neutral)||) and a word retained when r >= tau:

        pillar_retention(d) = #{retained pillar words at d} / #{pillar words at d}
        retained_volume     = mean_i vol(hull of retained words of i) / vol(hull of all words of i)

    Pillar retention is a ratio of sums over sequences (a bootstrap resamples sequences); the
    volume share is a per-sequence mean over the sequences whose hull has a volume. Words
    whose yardstick is 0 (they sit at the neutral point, so occluding them proves nothing) are
    never counted as retained and are left out of pillar retention.

    Parameters
    ----------
    words : array [N, D+1, K]
        s(x_{T-d}) by distance d from the end; NaN past a sequence's start. The hull of a
        sequence is that of its words within distance D.
    effects : array [N, D+1]
        ||S(x) - S(x with x_{T-d} occluded)||, as `occlusion_effects` returns.
    yardstick : array [N, D+1]
        ||s(x_{T-d}) - s(neutral)||.
    tau : float
        Retention a word needs to count as retained.
    n_resamples, seed
        Bootstrap of the 95% intervals.

    Returns
    -------
    (HullView without an example, the WordHull of each sequence)

    References
    ----------
    Zhang et al., "Assessing the Memory Ability of Recurrent Neural Networks", ECAI 2020, and
    the authors' follow-up on pillar words as the vertices of a sequence's semantic hull.
    """
    n, width = effects.shape
    present = np.all(np.isfinite(words), axis=-1)
    retained = retained_words(effects, yardstick, tau)
    is_pillar = np.zeros((n, width), bool)
    share = np.full(n, np.nan)
    hulls, routes = [], dict.fromkeys(ROUTES, 0)
    for i in progress_bar(range(n), "word hulls", unit="sequence"):
        at = np.flatnonzero(present[i])
        hull = word_hull(words[i, at])
        hulls.append(hull)
        routes[hull.route] += 1
        is_pillar[i, at] = hull.pillars
        if hull.volume > 0:
            share[i] = subset_volume(hull, words[i, at[retained[i, at]]]) / hull.volume
    counted = is_pillar & (yardstick > 0)
    pillar = ratio_of_sums(np.where(counted, retained, np.nan), np.where(counted, 1.0, np.nan), n_resamples, seed)
    by_distance = pd.DataFrame({"distance": np.arange(width), "pillar_retention": pillar.value,
                                "lo": pillar.low, "hi": pillar.high, "n": counted.sum(axis=0)})
    volume = ratio_of_sums(share[:, None], np.ones((n, 1)), n_resamples, seed)
    retained_volume = RetainedVolume(float(volume.value[0]), float(volume.low[0]), float(volume.high[0]),
                                     int(np.isfinite(share).sum()))
    return HullView(by_distance, retained_volume, tau, routes), hulls
