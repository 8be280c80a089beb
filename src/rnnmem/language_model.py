"""Next-token language models on any corpus's texts, and how much of their context they use.

A language model is an rnnmem `SequenceModel` whose readout has one dimension per vocabulary
word (``build_model(unit, V, V, ...)``): o_t are the logits of x_{t+1}, so its SES is the
readout space (K = V) and `rnnmem.assess` measures it like any classifier. The reference that
needs no SES is `context_loss_rise`: the rise in held-out loss when the context is cut,
shuffled or replaced beyond the last k tokens (Khandelwal et al., ACL 2018).
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from rnnmem.data import Corpus, Vocabulary, encode_batch
from rnnmem.errors import ConfigError, DataError, TrainingError
from rnnmem.indicators.context import PERTURBATIONS, effective_context
from rnnmem.progress import progress_bar
from rnnmem.train import last_token_logits, seed_everything
from rnnmem.validation import check_choice, check_int, check_real

DEFAULT_KS = (1, 2, 5, 10, 20, 50, 100, 200)
# every k where the loss rise of small LMs falls (up to 20), then spread out: k_eff is resolved where it lies
FINE_KS = (*range(1, 21), 25, 30, 40, 50, 70, 100, 150, 200)


@dataclass
class LanguageModelRecord:
    """Per-epoch train/validation loss (nats per token) and the test split's loss beside a unigram model's."""

    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0  # 1-based; its weights are the ones kept
    test_loss: float = math.nan
    unigram_test_loss: float = math.nan
    stopped: str = ""  # why training ended

    @property
    def test_perplexity(self) -> float:
        return math.exp(self.test_loss)

    @property
    def unigram_perplexity(self) -> float:
        return math.exp(self.unigram_test_loss)


@dataclass(frozen=True)
class LanguageModelResult:
    """What `rnnmem assess --task lm` measures beside the SES (`MemoryReport.language_model`; report.json's
    top-level ``"language_model"``): perplexities, the training curves, the context curve and its effective contexts.
    """

    test_perplexity: float
    unigram_perplexity: float
    best_epoch: int
    train_loss: list[float]
    validation_loss: list[float]
    ks: list[int]  # the cut points of the context curve
    full_loss: float  # nats per target with the full context
    rise: dict[str, list[float]]  # perturbation -> rise in loss at each k
    targets: int  # held-out positions the curve averages over
    tolerance: float  # k_eff: the rise stays within this share of full_loss
    effective_context: dict[str, int | None]  # perturbation -> k_eff on the grid (None: beyond the last k)
    effective_context_interpolated: float | None  # the cut's k_eff read between grid points in log k
    context_area: float  # nats x tokens under the cut's rise

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_report_json(cls, document: dict) -> LanguageModelResult | None:
        """The result a report.json holds (None for a classifier's); files written before it had a key of its own
        kept it under ``meta``."""
        values = document.get("language_model") or (document.get("meta") or {}).get("language_model")
        return None if values is None else cls(**values)


def next_token_loss(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of predicting x_{t+1} from the readout after x_1..x_t, over every real next token."""
    logits = model(tokens[:, :-1])
    targets = tokens[:, 1:].masked_fill(torch.arange(tokens.shape[1] - 1) >= (lengths[:, None] - 1), -100)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


@torch.no_grad()
def mean_loss(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, batch_size: int = 64) -> float:
    """Next-token loss per predicted token over all sequences (weighted by their predicted tokens)."""
    total, count = 0.0, 0
    for start in range(0, len(tokens), batch_size):
        rows = slice(start, start + batch_size)
        predicted = int((lengths[rows] - 1).sum())
        if predicted:
            width = int(lengths[rows].max())
            total += float(next_token_loss(model, tokens[rows, :width], lengths[rows])) * predicted
            count += predicted
    return total / count


def unigram_log_probs(tokens: torch.Tensor, lengths: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """log p(w) of the add-one-smoothed unigram model of the tokens (pad never counts), [V]."""
    mask = torch.arange(tokens.shape[1]) < lengths[:, None]
    counts = torch.bincount(tokens[mask], minlength=vocab_size).double() + 1.0
    counts[0] = 0.0  # the pad id is never a word
    return (counts / counts.sum()).log()


def _lm_split(corpus: Corpus, vocabulary: Vocabulary, split: str, max_len: int):
    tokens, lengths, _ = corpus.encode(vocabulary, split, max_len=max_len)
    keep = lengths >= 2  # a one-token text has nothing to predict
    if not keep.any():
        raise DataError(f"no {split} text of corpus '{corpus.name}' has two tokens: a language model needs "
                        "texts with at least one next token to predict.")
    return tokens[keep], lengths[keep]


def train_language_model(model: nn.Module, corpus: Corpus, max_len: int = 128, epochs: int = 5, batch_size: int = 32,
                         lr: float = 2e-3, seed: int = 0, validation_fraction: float = 0.1, patience: int = 2,
                         progress: bool = True, *, vocabulary: Vocabulary | None = None,
                         grad_clip: float = 1.0) -> LanguageModelRecord:
    """Train ``model`` to predict each next token of the corpus's training texts (first ``max_len`` tokens).

    A validation split (``validation_fraction`` of the training texts, never the test texts)
    decides: after each epoch its loss is measured, training stops when it has not improved for
    ``patience`` epochs, and the weights of the best epoch are restored. Gradients are clipped
    to norm ``grad_clip``. The record carries the test loss beside an add-one unigram model's
    fitted on the same training texts (perplexity = exp(loss)). The defaults are this function's own;
    `rnnmem assess --task lm` passes the run's settings (`rnnmem.pipeline.config.RunConfig`).
    """
    check_int("max_len", max_len, low=2, high=1_000_000)
    check_int("epochs", epochs, low=1, high=10_000)
    check_int("batch_size", batch_size, low=1)
    check_int("patience", patience, low=1)
    check_real("lr", lr, low=0.0, high=10.0, low_open=True)
    check_real("validation_fraction", validation_fraction, low=0.0, high=0.5, low_open=True)
    vocabulary = vocabulary or corpus.vocabulary
    vocab_size = getattr(getattr(model, "config", None), "num_classes", None)
    if vocab_size is not None and vocab_size != len(vocabulary):
        raise ConfigError(f"a language model's readout needs one dimension per vocabulary word: the model has "
                          f"{vocab_size}, the vocabulary {len(vocabulary)} words. Build it with "
                          f"build_model(unit, {len(vocabulary)}, {len(vocabulary)}).")
    generator = seed_everything(seed)
    tokens, lengths = _lm_split(corpus, vocabulary, "train", max_len)
    order = torch.randperm(len(tokens), generator=generator)
    held = max(1, int(round(validation_fraction * len(tokens))))
    if held >= len(tokens):
        raise DataError(f"corpus '{corpus.name}' has only {len(tokens)} training text(s) of two tokens or more: "
                        "too few to carve a validation split from; use a larger corpus.")
    validation, train_rows = order[:held], order[held:]
    test = _lm_split(corpus, vocabulary, "test", max_len)
    record = LanguageModelRecord()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    best_state, best = copy.deepcopy(model.state_dict()), math.inf
    steps_per_epoch = math.ceil(len(train_rows) / batch_size)
    with progress_bar(total=epochs * steps_per_epoch, desc="training LM", shown=progress) as bar:
        for epoch in range(epochs):
            model.train()
            losses = []
            for idx in train_rows[torch.randperm(len(train_rows), generator=generator)].split(batch_size):
                width = int(lengths[idx].max())
                loss = next_token_loss(model, tokens[idx, :width], lengths[idx])
                if not torch.isfinite(loss):
                    raise TrainingError(f"training diverged at epoch {epoch + 1} (loss is {loss.item()}); "
                                        f"lower the learning rate (now {lr:g}).")
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                optimizer.step()
                losses.append(loss.item())
                bar.update(1)
            model.eval()
            record.train_loss.append(float(np.mean(losses)))
            record.validation_loss.append(mean_loss(model, tokens[validation], lengths[validation]))
            bar.set_postfix(train=f"{record.train_loss[-1]:.3f}", validation=f"{record.validation_loss[-1]:.3f}")
            if record.validation_loss[-1] < best:
                best, record.best_epoch = record.validation_loss[-1], epoch + 1
                best_state = copy.deepcopy(model.state_dict())
            elif epoch + 1 - record.best_epoch >= patience:
                record.stopped = f"validation loss did not improve for {patience} epochs"
                break
        record.stopped = record.stopped or f"the budget of {epochs} epochs was spent"
    model.load_state_dict(best_state)
    model.eval()
    record.test_loss = mean_loss(model, *test)
    unigram = unigram_log_probs(tokens[train_rows], lengths[train_rows], len(vocabulary))
    test_tokens, test_lengths = test
    targets = test_tokens[:, 1:][torch.arange(test_tokens.shape[1] - 1) < (test_lengths[:, None] - 1)]
    record.unigram_test_loss = float(-unigram[targets].mean())
    return record


@dataclass
class ContextCurve:
    """Mean next-token loss with the full context and its rise under each perturbation beyond the last k tokens.

    ``target_losses`` keeps -log p of every target: under ``"full"`` [n_targets], under each
    perturbation [len(ks), n_targets], so the curve can be resampled over targets.
    """

    ks: list[int]
    full_loss: float
    rise: dict[str, list[float]]
    n_targets: int
    target_losses: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def effective_context(self, perturbation: str = "cut", tolerance: float = 0.01,
                          interpolate: bool = False) -> int | float | None:
        check_choice("perturbation", perturbation, self.rise, what="perturbation")
        return effective_context(self.ks, self.rise[perturbation], self.full_loss, tolerance, interpolate)

    def resampled(self, perturbation: str = "cut", n_resamples: int = 1000,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap over targets: (L_full [R], rise [R, len(ks)]) of each resample.

        Every curve measured on the same targets with the same seed gets the same resamples, so
        indicators of several models can be compared resample by resample.
        """
        check_choice("perturbation", perturbation, self.rise, what="perturbation")
        check_int("n_resamples", n_resamples, low=1)
        if perturbation not in self.target_losses:
            raise ConfigError("this curve was built without its per-target losses, so it cannot be resampled; "
                              "measure it with context_loss_rise.")
        picks = np.random.default_rng(seed).integers(0, self.n_targets, size=(n_resamples, self.n_targets))
        full = self.target_losses["full"][picks].mean(axis=1)
        perturbed = self.target_losses[perturbation][:, picks].mean(axis=2).T
        return full, perturbed - full[:, None]


@torch.no_grad()
def context_loss_rise(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, unigram: torch.Tensor,
                      ks=DEFAULT_KS, perturbations=PERTURBATIONS, n_targets: int = 500, seed: int = 0,
                      batch_size: int = 128, progress: bool = True) -> ContextCurve:
    """Rise in held-out next-token loss when the context is perturbed beyond the last k tokens.

    For target positions t (up to ``n_targets``, drawn with ``seed`` among the positions with more
    than max(ks) tokens before them), L(k) is the mean of -log p(x_t | context) where the
    context x_1..x_{t-1} is:

    - ``"cut"``: only the last k tokens, x_{t-k}..x_{t-1}, read from the initial state;
    - ``"shuffle"``: the tokens before the last k permuted at random, the last k in place;
    - ``"replace"``: the tokens before the last k drawn i.i.d. from ``unigram`` (log p, [V]).

    rise(k) = L(k) - L_full. ``model(tokens)`` must return next-token logits after every prefix.
    """
    ks = sorted(check_int("k", k, low=1) for k in ks)
    check_int("n_targets", n_targets, low=1)
    for name in perturbations:
        check_choice("perturbations", name, PERTURBATIONS, what="perturbation")
    eligible = [(i, t) for i, length in enumerate(lengths.tolist()) for t in range(ks[-1] + 1, length)]
    if not eligible:
        raise DataError(f"no sequence has more than {ks[-1]} tokens before a target: the context curve needs "
                        f"sequences longer than max(ks) + 1 = {ks[-1] + 1}; lower the largest k or keep longer texts.")
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(eligible), size=min(n_targets, len(eligible)), replace=False)
    targets = [eligible[j] for j in sorted(picked)]
    sampler = torch.Generator().manual_seed(seed)
    unigram_probs = unigram.exp()

    def context(i, t, name, k):
        before = tokens[i, :t]
        if name == "full":
            return before
        if name == "cut":
            return before[t - k:]
        far = before[: t - k]
        far = (far[torch.randperm(len(far), generator=sampler)] if name == "shuffle"
               else torch.multinomial(unigram_probs, len(far), replacement=True, generator=sampler))
        return torch.cat([far, before[t - k:]])

    variants = [("full", 0)] + [(name, k) for name in perturbations for k in ks]
    answer = torch.tensor([int(tokens[i, t]) for i, t in targets])
    losses = {}
    for name, k in progress_bar(variants, "context curve", shown=progress):
        contexts = [context(i, t, name, k).tolist() for i, t in targets]
        per_target = []
        for start in range(0, len(contexts), batch_size):
            batch, batch_lengths = encode_batch(contexts[start : start + batch_size])
            logits = last_token_logits(model, batch, batch_lengths)
            per_target.append(nn.functional.cross_entropy(logits, answer[start : start + batch_size], reduction="none"))
        losses[name, k] = torch.cat(per_target).double().numpy()
    full = float(losses["full", 0].mean())
    return ContextCurve(ks=ks, full_loss=full, n_targets=len(targets),
                        rise={name: [float(losses[name, k].mean()) - full for k in ks] for name in perturbations},
                        target_losses={"full": losses["full", 0],
                                       **{name: np.stack([losses[name, k] for k in ks]) for name in perturbations}})
