"""MemoryReport: the numbers of one assessment, as `assess` returns them.

It stores the measured curves and tables; each indicator it offers is one call into `rnnmem.indicators` (or
`rnnmem.guidance` for the recommendation). Rendering is left to `rnnmem.report`, which does not import this module."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rnnmem.errors import ConfigError
from rnnmem.fileio import json_safe, write_atomically
from rnnmem.guidance import Recommendation, Verdict, interpretability_verdict, recommend_length
from rnnmem.indicators.bootstrap import Estimate
from rnnmem.indicators import catalogue
from rnnmem.indicators.catalogue import IndicatorValue, curve_interval
from rnnmem.indicators.curve import last_measured_distance, memory_length, recent_share, retention_capacity
from rnnmem.indicators.estimators import headline_estimator
from rnnmem.indicators.fidelity import fidelity_at, fidelity_knee
from rnnmem.indicators.floor import FloorDifference, floor_difference
from rnnmem.indicators.hull import HullView
from rnnmem.language_model import LanguageModelResult
from rnnmem.report import interactive, single, tables, token_table
from rnnmem.validation import check_choice, check_tau

# Word-point coordinates are stored as columns s0, s1, ..., s{K-1} of ``word_points``.
SES_COLUMN = "s{}"


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
        Number of sequences, lengths, seed, versions, thread count; no_curve: why an estimator asked for gave no r(d).
    probes : DataFrame or None
        Linear-probe accuracy by distance from h_T: distance, token_accuracy, token_chance,
        token_n and, for corpora with segment labels, segment_accuracy/_chance/_n.
    hull : HullView or None
        Pillar retention by distance and retained hull volume (needs the occlusion estimator).
    semantic_validity : dict or None
        For a sentiment SES (axes "positive" and "negative"): {"trained": Validity, "untrained": Validity
        or None} — Spearman rho between each word's s(w)[positive] - s(w)[negative] and its human valence
        (VADER lexicon), for this model and for the untrained floor.
    trajectories : list of array [L, K]
        S(x_1..t) for every prefix of the first few measured sequences (rows of ``sequence_points``).
    sequence_points : array [N, K] or None
        S(x) of every measured sequence, for drawing where sequences end in the SES.
    sequence_labels : array [N] or None
        Class id of each measured sequence when the data carried labels (a Corpus), else None.
    predicted_labels : array [N] or None
        With ``sequence_labels``: the class the model's readout o_T = S(x) + o_0 ranks first (its prediction).
    floor : MemoryReport or None
        The untrained floor: the same architecture at initialisation, assessed on the same sequences with the same
        settings (retention, fidelity; no probes, hull or validity of its own): a reference, not a lower bound.
    recommendation_tau : float
        Threshold of the recommended training length's ML(tau) (`rnnmem assess --tau`; report.json: meta).
    token_effects : dict of str -> TokenEffects
        Per-token effect and yardstick on the first sequences (those of ``trajectories``), by estimator
        (regression fits one weight per distance and has none): the interactive page.
    language_model : LanguageModelResult or None
        A language model's perplexities and context curve (`rnnmem assess --task lm`); None for a classifier.
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
    floor: MemoryReport | None = None
    sequence_points: np.ndarray | None = field(default=None, repr=False)
    sequence_labels: np.ndarray | None = field(default=None, repr=False)
    predicted_labels: np.ndarray | None = field(default=None, repr=False)
    token_effects: dict = field(default_factory=dict)
    recommendation_tau: float = 0.1
    language_model: LanguageModelResult | None = None

    @classmethod
    def from_curves(cls, distance, curves: dict[str, Estimate], fidelity, lengths, word_ids, word_points,
                    token_counts, trajectories, trajectory_tokens, notes, meta) -> MemoryReport:
        table = {"distance": distance}
        for name, est in curves.items():  # only the estimators that ran: no all-NaN columns
            table[name], table[f"{name}_lo"], table[f"{name}_hi"] = est.value, est.low, est.high
        # one frame built at once: a column added per SES dimension fragments it (thousands for an LM readout)
        words = pd.DataFrame({"token_id": word_ids, "count": token_counts,
                              **{SES_COLUMN.format(k): word_points[:, k] for k in range(word_points.shape[1])}})
        return cls(pd.DataFrame(table), fidelity, words, lengths, trajectories, trajectory_tokens, notes, meta,
                   {name: est.resamples for name, est in curves.items()})

    # -- indicators ---------------------------------------------------------------------
    @property
    def estimators(self) -> list[str]:
        return list(self.resamples)

    @property
    def num_dimensions(self) -> int:
        return sum(SES_COLUMN.format(k) in self.word_points.columns for k in range(len(self.word_points.columns)))

    def ses_points(self) -> np.ndarray:
        """Word points s(w), [V, K], one row per row of ``word_points``."""
        return self.word_points[[SES_COLUMN.format(k) for k in range(self.num_dimensions)]].to_numpy(float)

    def curve(self, estimator: str = "occlusion") -> np.ndarray:
        """r(d) of one estimator."""
        if not self.estimators:
            raise ConfigError(f"no indicator of r(d) can be read from this report, which has {self.no_curve_reason()} "
                              "Assess with an estimator that measures this model (occlusion measures any model).")
        check_choice("estimators of this report", estimator, self.estimators, what="estimator")
        return self.retention[estimator].to_numpy()

    def memory_length(self, tau: float = 0.5, estimator: str = "occlusion") -> int | None:
        """ML(tau): first distance with r(d) <= tau; None when r stays above tau over the measured range."""
        return memory_length(self.curve(estimator), check_tau(tau))

    def retention_capacity(self, estimator: str = "occlusion") -> float:
        """Retention capacity sum_d r(d): the effective number of tokens remembered (`indicators.curve`)."""
        return retention_capacity(self.curve(estimator))

    def capacity(self, estimator: str = "occlusion") -> float:
        """Deprecated name of `retention_capacity` (kept for one release)."""
        warnings.warn("MemoryReport.capacity() is renamed retention_capacity() (sum of r(d); Jaeger's task-free "
                      "capacity is rnnmem.task_free_capacity); the old name goes in the next release.",
                      DeprecationWarning, stacklevel=2)
        return self.retention_capacity(estimator)

    def recent_share(self, estimator: str | None = None) -> float:
        """Share of the retention mass in the most recent quarter of the measured distances, in [0, 1]
        (`indicators.curve.recent_share`; ~0.25 = no preference for recent tokens). Default: occlusion when present."""
        return recent_share(self.curve(estimator or self.default_estimator()))

    def interval(self, indicator: str, estimator: str = "occlusion", tau: float = 0.5) -> tuple[float, float]:
        """95% bootstrap interval of "retention_capacity", "memory_length" or "recent_share" (`catalogue.curve_interval`)."""
        check_choice("estimators of this report", estimator, self.estimators, what="estimator")
        return curve_interval(self.resamples[estimator], indicator, check_tau(tau))

    def indicator_values(self, estimator: str) -> list[IndicatorValue]:
        """Every indicator of the catalogue (`indicators.catalogue.CURVE_INDICATORS`) on one estimator's curve."""
        curve, last = self.curve(estimator), self.last_measured_distance(estimator)
        return [entry.read(curve, self.resamples[estimator], last) for entry in catalogue.CURVE_INDICATORS]

    def floor_difference(self, indicator: str, estimator: str = "occlusion", tau: float = 0.5) -> FloorDifference:
        """Trained minus untrained floor for "retention_capacity", "memory_length" or "recent_share", with its paired
        95% bootstrap interval (`indicators.floor.floor_difference`). The floor is a reference, not a lower bound."""
        check_choice("estimators of this report", estimator, self.estimators, what="estimator")
        if self.floor is None or estimator not in self.floor.resamples:
            raise ConfigError(f"this report has no untrained floor for {estimator}; assess with floor=True (an rnnmem "
                              "model) or floor=<the untrained model> to measure one.")
        return floor_difference(self.curve(estimator), self.floor.curve(estimator), self.resamples[estimator],
                                self.floor.resamples[estimator], indicator, check_tau(tau))

    def floor_differences(self) -> dict | None:
        """Per estimator, the headline indicators' trained-minus-floor differences (`floor_difference`), as dicts."""
        if self.floor is None:
            return None
        return {name: {entry.key: self.floor_difference(entry.function.__name__, name, entry.tau or 0.5).to_dict()
                       for entry in catalogue.CURVE_INDICATORS}
                for name in self.estimators if name in self.floor.resamples}

    def fidelity_knee(self) -> float | None:
        """Sequence length at the knee of the fidelity curve (`indicators.fidelity.fidelity_knee`)."""
        return fidelity_knee(self.fidelity, len(self.lengths))

    def fidelity_at(self, length: int) -> float | None:
        """Mean cosine(S, S*) at one sequence length, None when no sequence is that long."""
        return fidelity_at(self.fidelity, length)

    def recommend_length(self, tau: float | None = None, estimator: str | None = None) -> Recommendation:
        """Recommended training length (`rnnmem.guidance.recommend_length`), with the rule, the evidence used and
        its 95% bootstrap interval.

        ``tau`` defaults to ``recommendation_tau`` (set by ``rnnmem assess --tau``; 0.1).
        """
        tau = self.recommendation_tau if tau is None else tau
        estimator = estimator or self.default_estimator()
        return recommend_length(self.curve(estimator), self.lengths, check_tau(tau),
                                context={"estimator": estimator, "fidelity knee": self.fidelity_knee()},
                                resamples=self.resamples[estimator])

    def training_record(self) -> dict:
        """What is known of how the model was trained (``meta["model"]``, from training or from the checkpoint's
        model.json): held-out accuracy, majority and bag-of-words baselines, settings, data fingerprint, versions.
        Empty for a model assessed without a record."""
        return {key: value for key, value in (self.meta.get("model") or {}).items()
                if key not in ("unit", "hidden_size", "corpus", "checkpoint")}

    def verdict(self) -> Verdict:
        """Whether the memory numbers describe learned memory (`guidance.interpretability_verdict`), in plain words."""
        record = self.training_record()
        views = self.semantic_validity or {}
        return interpretability_verdict(record.get("test_accuracy"), record.get("majority_baseline"),
                                        record.get("bag_of_words_baseline"), views.get("trained"), views.get("untrained"),
                                        test_size=record.get("test_size"), validity_skipped=self._validity_skipped())

    def _validity_skipped(self) -> str | None:
        """Why semantic validity was not measured (None when it was)."""
        if self.semantic_validity is not None:
            return None
        if {"positive", "negative"} <= set(self.label_names):  # measurable, but the lexicon could not be read
            return "the VADER lexicon could not be read (see the notes)"
        if self.sequence_labels is None:
            return "the data carried no class labels"
        return (f"it needs a sentiment task whose classes include positive and negative, and these are "
                f"{', '.join(self.label_names)}")

    def no_curve_reason(self) -> str:
        """Why an estimator asked for gave no r(d) (``meta["no_curve"]``: it declined or was skipped), in one phrase."""
        reasons = self.meta.get("no_curve") or {}
        return "no retention curve" + (": " + " ".join(reasons.values()) if reasons else " (no estimator gave one).")

    def default_estimator(self) -> str | None:
        """The estimator headline numbers use (`indicators.estimators.headline_estimator`)."""
        return headline_estimator(self.estimators)

    def last_measured_distance(self, estimator: str) -> int:
        """D of "ML > D": the largest distance with a measured r(d) for this estimator."""
        return last_measured_distance(self.retention["distance"], self.retention[estimator])

    def median_length(self) -> int:
        return int(np.median(self.lengths))

    # -- numbers out --------------------------------------------------------------------
    def summary(self) -> dict:
        """Headline numbers per estimator, plus fidelity and the recommendation."""
        per_estimator = {}
        for name in self.estimators:
            per_estimator[name] = {}
            for reading in self.indicator_values(name):
                per_estimator[name][reading.indicator.key] = reading.value
                per_estimator[name][f"{reading.indicator.key} CI"] = (reading.low, reading.high)
                if reading.indicator.censored:  # None is "past 0..D" (true), not a missing number
                    per_estimator[name][f"{reading.indicator.key} censored"] = reading.censored
        rec = (self.recommend_length().to_dict() if self.estimators else
               {"length": None, "at_least": False, "rule": self.no_curve_reason(), "evidence": {}, "interval": None})
        return {
            "verdict": self.verdict().to_dict(),
            "training": self.training_record(),
            "n_sequences": self.meta["n_sequences"],
            "estimators": per_estimator,
            "fidelity_knee": self.fidelity_knee(),
            "fidelity_at_median_length": self.fidelity_at(self.median_length()),
            "recommended_length": rec,
            "floor": None if self.floor is None else self.floor.summary(),
            "trained_minus_floor": self.floor_differences(),
        }

    def words(self) -> list[str]:
        """The word of each row of ``word_points`` (its id when the report has no vocabulary)."""
        ids = self.word_points["token_id"].tolist()
        return [str(i) for i in ids] if self.vocabulary is None else self.vocabulary.decode(ids)

    def to_dict(self) -> dict:
        return json_safe({
            "summary": self.summary(),
            "retention": self.retention.to_dict(orient="list"),
            "fidelity": self.fidelity.to_dict(orient="list"),
            "label_names": self.label_names,
            "notes": self.notes,
            "meta": {**self.meta, "recommendation_tau": self.recommendation_tau},
            "probes": None if self.probes is None else self.probes.to_dict(orient="list"),
            "hull": None if self.hull is None else self.hull.to_dict(),
            "semantic_validity": None if self.semantic_validity is None else {
                name: None if v is None else v.to_dict() for name, v in self.semantic_validity.items()},
            "floor": None if self.floor is None else {"retention": self.floor.retention.to_dict(orient="list"),
                                                      "fidelity": self.floor.fidelity.to_dict(orient="list")},
            "language_model": None if self.language_model is None else self.language_model.to_dict(),
        })

    def to_json(self, path: str | Path) -> Path:
        return write_atomically(path, json.dumps(self.to_dict(), indent=2, allow_nan=False))

    # -- rendering (rnnmem.report) ------------------------------------------------------
    def to_markdown(self, path: str | Path | None = None, title: str = "Memory assessment") -> str:
        """The report as Markdown (`rnnmem.report.single.render_markdown`); written to ``path`` when given."""
        text = single.render_markdown(self, title)
        if path is not None:
            write_atomically(path, text)
        return text

    def to_html(self, path: str | Path, title: str = "Memory assessment", links: dict[str, str] | None = None) -> Path:
        """A self-contained page (plots inlined); the PNGs are also written beside it. ``links`` (text -> relative
        address) lead to pages written beside it, e.g. ``{"interactive page": "interactive.html"}``."""
        path = Path(path)
        return write_atomically(path, single.render_html(self, title, self.plot(path.parent), links))

    def write_files(self, folder: str | Path, title: str = "Memory assessment") -> None:
        """Every file of a run into ``folder``: report.json, report.md, report.html and interactive.html (each page
        linking the other), indicators.csv/.tex, token_effects.csv and the figures."""
        folder = Path(folder)
        self.to_json(folder / "report.json")
        self.to_markdown(folder / "report.md", title=title)
        self.to_html(folder / "report.html", title=title, links={"interactive page": "interactive.html"})
        self.to_tables(folder)
        self.to_token_effects(folder / "token_effects.csv")
        self.to_interactive_html(folder / "interactive.html", title=title, links={"report": "report.html"})

    def _repr_html_(self) -> str:
        """A notebook shows the report's verdict, tables and notes (`rnnmem.report.single.render_notebook_html`)."""
        return single.render_notebook_html(self)

    def to_frame(self) -> pd.DataFrame:
        """Each indicator of each estimator beside its untrained floor, one row each (`report.tables.indicator_table`:
        the rows of indicators.csv, censoring explicit)."""
        return tables.indicator_table(self)

    def to_tables(self, directory: str | Path) -> dict[str, Path]:
        """Write indicators.csv and indicators.tex (each indicator beside its untrained floor) into ``directory``."""
        return tables.write_tables(self, directory)

    def to_token_effects(self, path: str | Path | None = None) -> pd.DataFrame:
        """Per-token effects of the example sequences, one row per token (`rnnmem.report.token_table`); written
        as CSV to ``path`` when given."""
        table = token_table.token_effects_table(self)
        if path is not None:
            write_atomically(path, table.to_csv(index=False))
        return table

    def to_interactive_html(self, path: str | Path, title: str = "Memory assessment",
                            links: dict[str, str] | None = None) -> Path:
        """One self-contained page (Plotly inlined, works offline) to explore the example sequences token by token;
        ``links`` as in `to_html`."""
        return write_atomically(path, interactive.render_run_page(self, title, links))

    def plot(self, directory: str | Path) -> dict[str, Path]:
        """Write retention.png, fidelity.png, ses.png (and hull.png, validity.png when measured) into ``directory``;
        returns the paths by name."""
        return single.write_figures(self, directory)
