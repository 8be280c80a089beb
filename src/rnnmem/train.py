"""Training that reaches competence, and says how far it got.

The loss is read at each sequence's true last token, so right-padding never enters the
state that is classified. A seeded validation split carved from the training data picks the
epoch budget: training stops when validation accuracy has not improved for ``patience``
epochs and the best epoch's weights are restored. For corpora assembled from labelled
pieces (``tweets-docs``) a curriculum first trains on the pieces, then on the documents.
Every run also scores the majority-class and bag-of-words baselines on the same test split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from rnnmem._version import library_versions
from rnnmem.baselines import Baselines, baselines, competence_verdict
from rnnmem.data import Corpus, Vocabulary
from rnnmem.errors import ConfigError, TrainingError
from rnnmem.model import TRAINING_CURVES
from rnnmem.progress import progress_bar, stage as progress_stage  # "stage" names the curriculum stages here
from rnnmem.ses import device_of
from rnnmem.validation import check_seed, counted

SCHEDULES = ("plateau", "cosine", "constant")


@dataclass
class History:
    """Per-epoch curves of a training run, the epoch that was kept, why it stopped, and the baselines.

    Lists have one entry per epoch, curriculum epochs on the pieces first (``stage`` says which).
    ``train_accuracy`` is the running accuracy over the epoch's batches (with dropout on);
    validation and test accuracies and losses are on the documents (truncated as in training) with the
    weights at the epoch's end.
    """

    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    validation_accuracy: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    stage: list[str] = field(default_factory=list)
    best_epoch: int | None = None  # 1-based; the returned model has this epoch's weights
    stopped: str = ""
    settings: dict = field(default_factory=dict)
    max_len: int | None = None
    bptt_window: int | None = None
    majority_baseline: float = math.nan  # held-out accuracy of always answering the most common training class
    bag_of_words_baseline: float = math.nan  # held-out accuracy of a bag-of-words logistic regression
    test_size: int | None = None  # held-out sequences the accuracies are scored on (the binomial test's count)

    @property
    def final_accuracy(self) -> float:
        """Held-out accuracy of the returned model (the best epoch's weights)."""
        if not self.test_accuracy:
            return math.nan
        return self.test_accuracy[(self.best_epoch or len(self.test_accuracy)) - 1]

    @property
    def verdict(self) -> str:
        """The `competence_verdict` of the returned model against both baselines."""
        return competence_verdict(self.final_accuracy,
                                  Baselines(self.majority_baseline, self.bag_of_words_baseline, self.test_size))

    def record(self) -> dict:
        """The training record a report reads its verdict from (`MemoryReport.training_record`): held-out accuracy and
        count, both baselines, the verdict, the epochs kept and run, why training stopped, the settings, the versions."""
        return {
            "train_max_len": self.max_len, "test_accuracy": self.final_accuracy, "test_size": self.test_size,
            "majority_baseline": self.majority_baseline, "bag_of_words_baseline": self.bag_of_words_baseline,
            "competence": self.verdict, "best_epoch": self.best_epoch, "epochs_run": len(self.loss),
            "epochs_on_pieces": self.stage.count("pieces"), "stopped": self.stopped, "settings": dict(self.settings),
            "curves": {name: getattr(self, name) for name in (*TRAINING_CURVES, "stage")},
            "versions": library_versions(),
        }


def seed_everything(seed: int) -> torch.Generator:
    check_seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def last_token_logits(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, bptt_window: int | None = None) -> torch.Tensor:
    """Readout at each sequence's true last token, [B, K], on the CPU beside the labels whatever the model's device."""
    return _logits_on_device(model, tokens, lengths, bptt_window).cpu()


def _logits_on_device(model, tokens, lengths, bptt_window):  # training keeps them there: no sync per step
    tokens = tokens.to(device_of(model))
    if bptt_window is None:
        out = model(tokens)
    else:
        out = model.forward_embedded(model.embed(tokens), bptt_window=bptt_window)
    return out[torch.arange(len(tokens), device=out.device), (lengths - 1).to(out.device)]


@torch.no_grad()
def evaluate(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 256) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the last-token readout, in eval mode."""
    was_training = model.training
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, len(tokens), batch_size):
        width = int(lengths[i : i + batch_size].max())
        logits = last_token_logits(model, tokens[i : i + batch_size, :width], lengths[i : i + batch_size])
        loss += float(nn.functional.cross_entropy(logits, labels[i : i + batch_size], reduction="sum"))
        correct += int((logits.argmax(-1) == labels[i : i + batch_size]).sum())
    model.train(was_training)
    return loss / len(tokens), correct / len(tokens)


def accuracy(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor, batch_size: int = 256) -> float:
    """Share of sequences whose last-token readout picks the right class."""
    return evaluate(model, tokens, lengths, labels, batch_size)[1]


def validation_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of ``n`` training rows into (fit, validation) index arrays; validation empty when fraction is 0."""
    n_validation = 0 if fraction == 0 else min(max(1, round(n * fraction)), n - 1)
    order = np.random.default_rng([seed, 2]).permutation(n)  # its own stream: the split never moves the batches
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])


def curriculum_pieces(corpus: Corpus, validation_rows: np.ndarray) -> Corpus | None:
    """The training pieces of ``corpus`` (None if it has none), less those inside validation documents.

    Dropping them keeps the validation documents unseen, so early stopping is not flattered.
    """
    pieces = corpus.pieces
    if pieces is None:
        return None
    held_out = {source for row in validation_rows for source in corpus.train_sources[row]}
    keep = [i for i, (source,) in enumerate(pieces.train_sources) if source not in held_out]
    return Corpus(pieces.name, pieces.label_names, [pieces.train_texts[i] for i in keep],
                  [pieces.train_labels[i] for i in keep], pieces.test_texts, pieces.test_labels)


def train(
    model: nn.Module,
    corpus: Corpus,
    max_len: int = 64,
    epochs: int = 12,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    *,
    keep: str = "first",
    bptt_window: int | None = None,
    vocabulary: Vocabulary | None = None,
    grad_clip: float = 1.0,
    weight_decay: float = 0.0,
    validation_fraction: float = 0.1,
    patience: int = 3,
    schedule: str = "plateau",
    piece_epochs: int = 2,
    progress: bool = True,
) -> History:
    """Train ``model`` to classify ``corpus`` from the readout at each sequence's last token.

    Parameters
    ----------
    max_len : int
        Training sequences are truncated to this many tokens (``keep`` = "first" or "last").
        The defaults 64 (and ``lr`` 2e-3) are the API's own, kept on purpose; `rnnmem assess` passes 128, 3e-3.
    epochs : int
        Budget: at most this many epochs on the documents; validation picks how many are kept.
    bptt_window : int, optional
        Truncated BPTT: gradients flow back at most this many steps (default: the whole sequence).
    vocabulary : Vocabulary, optional
        Default: the corpus's own vocabulary (``corpus.vocabulary``).
    grad_clip : float
        Largest gradient norm of a step (longer gradients are scaled down to it).
    weight_decay : float
        Decoupled weight decay of AdamW (0: plain Adam).
    validation_fraction : float
        Share of training texts held out (seeded) to pick the epoch; 0 trains the whole budget.
    patience : int
        Stop after this many document epochs without a validation accuracy at least as high as the
        best so far; the best epoch (the later of equals) is restored.
    schedule : {"plateau", "cosine", "constant"}
        Learning rate over the document epochs: halved when validation accuracy stalls for an
        epoch, cosine-annealed to zero over the budget, or constant.
    piece_epochs : int
        Curriculum: epochs on the corpus's labelled pieces (``corpus.pieces``) before the documents;
        ignored for corpora without pieces.

    Returns
    -------
    History with the per-epoch curves, the best epoch, the stopping reason, the settings and
    the majority and bag-of-words baselines on the same test split.
    """
    _check_settings(max_len=max_len, epochs=epochs, batch_size=batch_size, patience=patience, piece_epochs=piece_epochs,
                    bptt_window=bptt_window, lr=lr, weight_decay=weight_decay,
                    validation_fraction=validation_fraction, schedule=schedule)
    settings = {"max_len": max_len, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed, "keep": keep,
                "bptt_window": bptt_window, "grad_clip": grad_clip, "weight_decay": weight_decay,
                "validation_fraction": validation_fraction, "patience": patience, "schedule": schedule,
                "piece_epochs": piece_epochs, "dropout": getattr(getattr(model, "config", None), "dropout", None)}
    vocabulary = vocabulary or corpus.vocabulary
    generator = seed_everything(seed)
    tokens, lengths, labels = corpus.encode(vocabulary, "train", max_len=max_len, keep=keep)
    fit_rows, validation_rows = validation_split(len(tokens), validation_fraction, seed)
    documents = tokens[fit_rows], lengths[fit_rows], labels[fit_rows]
    validation = tokens[validation_rows], lengths[validation_rows], labels[validation_rows]
    test = corpus.encode(vocabulary, "test", max_len=max_len, keep=keep)
    pieces = curriculum_pieces(corpus, validation_rows) if piece_epochs else None
    stages = ([("pieces", pieces.encode(vocabulary, "train", max_len=max_len, keep=keep))] * piece_epochs
              if pieces is not None else []) + [("documents", documents)] * epochs
    with progress_stage("baselines (majority, bag-of-words)", shown=progress):
        reference = baselines(corpus, max_len=max_len, keep=keep)  # the words the model reads, not the whole text
    history = History(settings=settings, max_len=max_len, bptt_window=bptt_window,
                      majority_baseline=reference.majority, bag_of_words_baseline=reference.bag_of_words,
                      test_size=reference.test_size)

    # fused: one kernel updates every parameter; the for-loop default spent 7% of a run's time updating the embedding
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    document_steps = epochs * math.ceil(len(documents[0]) / batch_size)
    scheduler = {"plateau": lambda: torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=0),
                 "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=document_steps),
                 "constant": lambda: None}[schedule]()
    best_state, best_accuracy = None, -math.inf
    model.train()
    total_steps = sum(math.ceil(len(data[0]) / batch_size) for _, data in stages)
    with progress_bar(total=total_steps, desc="training", shown=progress) as bar:
        for epoch, (stage, data) in enumerate(stages, start=1):
            history.learning_rate.append(optimizer.param_groups[0]["lr"])
            loss, train_acc = _train_epoch(model, data, optimizer, batch_size, generator, bptt_window, grad_clip,
                                           scheduler if schedule == "cosine" and stage == "documents" else None,
                                           bar, lambda value: _diverged(epoch, value, lr, grad_clip))
            history.loss.append(loss)
            history.train_accuracy.append(train_acc)
            history.stage.append(stage)
            val_loss, val_acc = evaluate(model, *validation) if len(validation_rows) else (math.nan, math.nan)
            history.validation_loss.append(val_loss)
            history.validation_accuracy.append(val_acc)
            test_loss, test_acc = evaluate(model, *test)
            history.test_loss.append(test_loss)
            history.test_accuracy.append(test_acc)
            bar.set_postfix(loss=f"{loss:.3f}", val_acc=f"{val_acc:.3f}", test_acc=f"{history.test_accuracy[-1]:.3f}")
            if not len(validation_rows):
                continue
            # validation accuracy moves in steps of 1/n, so ties are common; a tie goes to the later
            # epoch, which has fit more of the training data
            if val_acc >= best_accuracy:
                best_accuracy, history.best_epoch = val_acc, epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if stage == "documents" and schedule == "plateau":
                scheduler.step(val_acc)
            if out_of_patience(history.stage, history.best_epoch, patience):
                history.stopped = f"validation accuracy did not improve for {counted(patience, 'epoch')}"
                break
    if best_state is None:
        history.best_epoch = len(history.loss)
        history.stopped = "no validation split: trained the whole budget"
    else:
        model.load_state_dict(best_state)
        history.stopped = history.stopped or f"the budget of {counted(epochs, 'epoch')} was spent"
    model.eval()
    # the library route (train, then assess) keeps what the checkpoint route keeps in model.json: assess reads it
    model.training_record = history.record()
    return history


def out_of_patience(stages: list[str], best_epoch: int, patience: int) -> bool:
    """Whether training on the documents has gone ``patience`` epochs past the best epoch (1-based).

    Patience runs from the first document epoch: a best epoch in the curriculum never cuts the
    documents short.
    """
    return stages[-1] == "documents" and len(stages) - max(best_epoch, stages.count("pieces")) >= patience


def _check_settings(*, max_len, epochs, batch_size, patience, piece_epochs, bptt_window, lr, weight_decay,
                    validation_fraction, schedule) -> None:
    """Refuse settings that cannot work, naming the value and what would."""
    for name, value in (("max_len", max_len), ("epochs", epochs), ("batch_size", batch_size), ("patience", patience)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}.")
    if not isinstance(piece_epochs, int) or piece_epochs < 0:
        raise ConfigError(f"piece_epochs must be a non-negative integer, got {piece_epochs!r}.")
    # far beyond any real use: a typo, refused before hours of work or an out-of-memory crash
    for name, value, bound in (("max_len", max_len, 1_000_000), ("epochs", epochs, 10_000),
                               ("piece_epochs", piece_epochs, 10_000)):
        if value > bound:
            raise ConfigError(f"{name} must be at most {bound:,}, got {value:,}.")
    if bptt_window is not None and (not isinstance(bptt_window, int) or bptt_window < 1):
        raise ConfigError(f"bptt_window must be a positive integer or None, got {bptt_window!r}.")
    if not 0 < lr <= 10:  # also refuses NaN; Adam's steps are about lr in size, so above 10 is a typo
        raise ConfigError(f"lr must be a positive number of at most 10, got {lr!r}; 1e-3 to 1e-2 suits Adam.")
    if not 0 <= weight_decay <= 1:
        raise ConfigError(f"weight_decay must lie in [0, 1], got {weight_decay!r}; 1e-4 to 1e-2 is usual.")
    if not 0 <= validation_fraction <= 0.5:
        raise ConfigError(f"validation_fraction must lie in [0, 0.5], got {validation_fraction!r}; 0.1 is usual.")
    if schedule not in SCHEDULES:
        raise ConfigError(f"schedule={schedule!r} is not valid; use one of: {', '.join(SCHEDULES)}.")


def _diverged(epoch: int, loss: float, lr: float, grad_clip: float) -> TrainingError:
    return TrainingError(f"training diverged at epoch {epoch} (loss is {loss}); "
                         f"lower the learning rate (now {lr:g}) or the gradient clip (now {grad_clip:g}).")


def length_batches(lengths: torch.Tensor, batch_size: int, generator: torch.Generator,
                   pool_batches: int = 32) -> list[torch.Tensor]:
    """Seeded batches of similar lengths, in a random order.

    The rows are shuffled, sorted by length within pools of ``pool_batches`` batches, cut into
    batches and the batches shuffled: a batch is padded to its longest row, and single tweets
    (5 to 100+ tokens) in random batches would spend most of their steps on padding.
    """
    order = torch.randperm(len(lengths), generator=generator)
    batches = []
    for pool in order.split(pool_batches * batch_size):
        batches.extend(pool[torch.argsort(lengths[pool], stable=True)].split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator)]


def _train_epoch(model, data, optimizer, batch_size, generator, bptt_window, grad_clip, step_scheduler, bar, diverged):
    """One pass over ``data`` in a seeded order; returns the mean loss and the running accuracy."""
    tokens, lengths, labels = data
    device = device_of(model)
    losses, correct = [], torch.zeros((), dtype=torch.long, device=device)
    for idx in length_batches(lengths, batch_size, generator):
        width = int(lengths[idx].max())
        logits = _logits_on_device(model, tokens[idx, :width], lengths[idx], bptt_window)
        targets = labels[idx].to(device, non_blocking=True)
        loss = nn.functional.cross_entropy(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        if step_scheduler is not None:
            step_scheduler.step()
        losses.append(loss.detach())
        correct += (logits.detach().argmax(-1) == targets).sum()
        bar.update(1)
    losses = torch.stack(losses).tolist()
    # a non-finite loss has poisoned every later step: the first one is the step that diverged
    if (first_bad := next((value for value in losses if not math.isfinite(value)), None)) is not None:
        raise diverged(first_bad)
    return float(np.mean(losses)), int(correct) / len(tokens)
