"""MemoryReport: every indicator of one assessment, as tables, JSON, Markdown and plots."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rnnmem.errors import ConfigError
from rnnmem.fileio import json_safe, write_atomically
from rnnmem.guidance import Recommendation, recommend_length
from rnnmem.indicators.bootstrap import Estimate
from rnnmem.indicators.fidelity import knee
from rnnmem.indicators.hull import HullView
from rnnmem.indicators.curve import capacity, measured_extent, memory_length, recency_bias


@dataclass
class MemoryReport:
    """What `rnnmem.assess` found.

    Attributes
    ----------
    retention : DataFrame
        distance, then per estimator its r(d) and the 95% CI columns ``<estimator>_lo/_hi``.
    fidelity : DataFrame
        Cosine (with CI) and R^2 between S(x) and S*(x) by sequence length.
    word_points : DataFrame
        token id, word, count in the data, and its SES coordinates.
    notes : list of str
        Everything the reader must know about how the numbers were obtained.
    meta : dict
        Number of sequences, lengths, seed, versions, thread count.
    probes : DataFrame or None
        Linear-probe accuracy by distance from h_T: distance, token_accuracy, token_chance,
        token_n and, for corpora with segment labels, segment_accuracy/_chance/_n.
    hull : HullView or None
        Pillar retention by distance and retained hull volume (needs the occlusion estimator).
    semantic_validity : dict or None
        For a sentiment SES (axes "positive" and "negative"): {"trained": Validity, "untrained": Validity
        or None} — Spearman rho between each word's s(w)[positive] - s(w)[negative] and its human valence
        (VADER lexicon), for this model and for an untrained model of the same configuration (the floor).
    """

    retention: pd.DataFrame
    fidelity: pd.DataFrame
    word_points: pd.DataFrame
    lengths: np.ndarray
    trajectories: list[np.ndarray]
    trajectory_tokens: list[list[int]]
    notes: list[str]
    meta: dict
    resamples: dict[str, np.ndarray] = field(repr=False)
    vocabulary: object = None
    label_names: list[str] = field(default_factory=list)
    probes: pd.DataFrame | None = None
    hull: HullView | None = None
    semantic_validity: dict | None = None

    @classmethod
    def from_curves(cls, distance, curves: dict[str, Estimate], fidelity, lengths, word_ids, word_points,
                    token_counts, trajectories, trajectory_tokens, notes, meta) -> MemoryReport:
        table = {"distance": distance}
        for name in ("occlusion", "regression", "gradient"):
            est = curves.get(name)
            nan = np.full(len(distance), np.nan)
            table[name] = est.value if est else nan
            table[f"{name}_lo"] = est.low if est else nan
            table[f"{name}_hi"] = est.high if est else nan
        words = pd.DataFrame({"token_id": word_ids, "count": token_counts})
        for k in range(word_points.shape[1]):
            words[f"s{k}"] = word_points[:, k]
        return cls(pd.DataFrame(table), fidelity, words, lengths, trajectories, trajectory_tokens, notes, meta,
                   {name: est.resamples for name, est in curves.items()})

    # -- indicators ---------------------------------------------------------------------
    @property
    def estimators(self) -> list[str]:
        return list(self.resamples)

    @property
    def num_dimensions(self) -> int:
        return sum(c.startswith("s") and c[1:].isdigit() for c in self.word_points.columns)

    def curve(self, estimator: str = "occlusion") -> np.ndarray:
        """r(d) of one estimator."""
        if estimator not in self.resamples:
            raise ConfigError(f"estimator '{estimator}' was not computed in this report; available: {', '.join(self.estimators)}.")
        return self.retention[estimator].to_numpy()

    def memory_length(self, tau: float = 0.5, estimator: str = "occlusion") -> int | None:
        """ML(tau): first distance with r(d) <= tau; None when r stays above tau over the measured range."""
        if not 0 < tau < 1:
            raise ConfigError(f"tau must lie strictly between 0 and 1, got {tau}.")
        return memory_length(self.curve(estimator), tau)

    def capacity(self, estimator: str = "occlusion") -> float:
        """MC = sum_d r(d): the effective number of tokens remembered."""
        return capacity(self.curve(estimator))

    @property
    def recency_bias(self) -> float:
        """r(0) / mean r(d) over the older half of a median-length sequence (occlusion estimator when present)."""
        return recency_bias(self.curve(self.default_estimator()), int(np.median(self.lengths)))

    def interval(self, indicator: str, estimator: str = "occlusion", tau: float = 0.5) -> tuple[float, float]:
        """95% bootstrap interval of "capacity", "memory_length" or "recency_bias" from the resampled curves.

        A resample where r never falls to tau counts as one past its measured range.
        """
        curves = self.resamples[estimator].T  # [R, D+1]
        if curves.shape[0] == 0:
            return (math.nan, math.nan)
        if indicator == "capacity":
            values = [capacity(c) for c in curves]
        elif indicator == "memory_length":
            values = [_or_beyond(memory_length(c, tau), c) for c in curves]
        elif indicator == "recency_bias":
            values = [recency_bias(c, int(np.median(self.lengths))) for c in curves]
        else:
            raise ConfigError(f"no interval for '{indicator}'; choose capacity, memory_length or recency_bias.")
        values = np.asarray(values, float)
        values = values[~np.isnan(values)]
        if len(values) == 0:
            return (math.nan, math.nan)
        # percentiles of infinite values (a forgotten older half) are taken by rank, without arithmetic
        low, high = np.sort(values)[[int(0.025 * (len(values) - 1)), int(np.ceil(0.975 * (len(values) - 1)))]]
        return float(low), float(high)

    def fidelity_knee(self) -> float | None:
        """Sequence length at the knee of the fidelity curve: where S(x) stops expressing the whole sequence.

        Only lengths that at least a tenth of the sequences reach (and at least 10) count,
        so the sparse tail of the length distribution cannot place the knee.
        """
        frame = self.fidelity[self.fidelity["sequences"] >= max(10, 0.1 * len(self.lengths))]
        return knee(frame["length"].to_numpy(), frame["cosine"].to_numpy())

    def recommend_length(self, tau: float = 0.1, estimator: str | None = None) -> Recommendation:
        """Recommended training length (DESIGN §3), with the rule and the evidence used."""
        estimator = estimator or self.default_estimator()
        rec = recommend_length(self.curve(estimator), self.lengths, tau)
        evidence = dict(rec.evidence, estimator=estimator, **{"fidelity knee": self.fidelity_knee()})
        return Recommendation(rec.length, rec.rule, evidence)

    def default_estimator(self) -> str:
        """The estimator headline numbers use: occlusion when it was computed."""
        return "occlusion" if "occlusion" in self.resamples else self.estimators[0]

    # -- summaries ----------------------------------------------------------------------
    def summary(self) -> dict:
        """Headline numbers per estimator, plus fidelity and the recommendation."""
        per_estimator = {}
        for name in self.estimators:
            per_estimator[name] = {
                "ML(0.5)": self.memory_length(0.5, name), "ML(0.5) CI": self.interval("memory_length", name, 0.5),
                "ML(0.1)": self.memory_length(0.1, name), "ML(0.1) CI": self.interval("memory_length", name, 0.1),
                "capacity": self.capacity(name), "capacity CI": self.interval("capacity", name),
            }
        rec = self.recommend_length()
        return {
            "n_sequences": self.meta["n_sequences"],
            "estimators": per_estimator,
            "recency_bias": self.recency_bias,
            "recency_bias CI": self.interval("recency_bias", self.default_estimator()),
            "fidelity_knee": self.fidelity_knee(),
            "fidelity_at_median_length": self.fidelity_at(int(np.median(self.lengths))),
            "recommended_length": {"length": rec.length, "rule": rec.rule, "evidence": rec.evidence},
        }

    def fidelity_at(self, length: int) -> float | None:
        """Mean cosine(S, S*) at one sequence length, None when no sequence is that long."""
        row = self.fidelity[self.fidelity["length"] == length]
        return float(row["cosine"].iloc[0]) if len(row) else None

    def words(self) -> list[str]:
        """The word of each row of ``word_points`` (its id when the report has no vocabulary)."""
        ids = self.word_points["token_id"].tolist()
        if self.vocabulary is None:
            return [str(i) for i in ids]
        return self.vocabulary.decode(ids)

    def to_dict(self) -> dict:
        return json_safe({
            "summary": self.summary(),
            "retention": self.retention.to_dict(orient="list"),
            "fidelity": self.fidelity.to_dict(orient="list"),
            "label_names": self.label_names,
            "notes": self.notes,
            "meta": self.meta,
            "probes": None if self.probes is None else self.probes.to_dict(orient="list"),
            "hull": None if self.hull is None else self.hull.to_dict(),
            "semantic_validity": None if self.semantic_validity is None else {
                name: None if v is None else v.to_dict() for name, v in self.semantic_validity.items()},
        })

    def to_json(self, path: str | Path) -> Path:
        return write_atomically(path, json.dumps(self.to_dict(), indent=2, allow_nan=False))

    def to_markdown(self, path: str | Path | None = None, title: str = "Memory assessment") -> str:
        from rnnmem.report.markdown import render_markdown

        text = render_markdown(self, title)
        if path is not None:
            write_atomically(path, text)
        return text

    def to_html(self, path: str | Path, title: str = "Memory assessment") -> Path:
        """A self-contained page (plots inlined, no external links); the PNGs are also written beside it."""
        from rnnmem.report import html
        from rnnmem.report.markdown import render_markdown

        path = Path(path)
        self.plot(path.parent)
        return write_atomically(path, html.page(title, html.markdown_body(render_markdown(self, title), path.parent)))

    def plot(self, directory: str | Path) -> dict[str, Path]:
        """Write retention.png, fidelity.png, ses.png (and hull.png, validity.png when measured) into ``directory``.

        Returns the paths by name.
        """
        from rnnmem.report import plots

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = {
            "retention": plots.plot_retention(self, directory / "retention.png"),
            "fidelity": plots.plot_fidelity(self, directory / "fidelity.png"),
            "ses": plots.plot_ses(self, directory / "ses.png"),
        }
        if self.hull is not None and self.hull.example:
            paths["hull"] = plots.plot_hull(self, directory / "hull.png")
        if self.semantic_validity is not None and self.semantic_validity.get("trained") is not None:
            paths["validity"] = plots.plot_validity(self, directory / "validity.png")
        return paths


def _or_beyond(length: int | None, curve: np.ndarray) -> int:
    return length if length is not None else measured_extent(curve)
