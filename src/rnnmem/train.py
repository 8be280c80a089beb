"""Training with explicit length control: the external factor of memory.

The loss is read at each sequence's true last token, so right-padding never enters the
state that is classified.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from rnnmem.data import Corpus, Vocabulary
from rnnmem.errors import ConfigError, TrainingError
from rnnmem.validation import check_seed


@dataclass
class History:
    """Per-epoch training loss and held-out accuracy."""

    loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    max_len: int | None = None
    bptt_window: int | None = None
    majority_baseline: float = math.nan  # held-out accuracy of always answering the most common class

    @property
    def final_accuracy(self) -> float:
        return self.test_accuracy[-1] if self.test_accuracy else math.nan


def seed_everything(seed: int) -> torch.Generator:
    check_seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def last_token_logits(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, bptt_window: int | None = None) -> torch.Tensor:
    """Readout at each sequence's true last token, [B, K]."""
    if bptt_window is None:
        out = model(tokens)
    else:
        out = model.forward_embedded(model.embed(tokens), bptt_window=bptt_window)
    return out[torch.arange(len(tokens)), lengths - 1]


@torch.no_grad()
def accuracy(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor, batch_size: int = 256) -> float:
    """Share of sequences whose last-token readout picks the right class."""
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, len(tokens), batch_size):
        width = int(lengths[i : i + batch_size].max())
        logits = last_token_logits(model, tokens[i : i + batch_size, :width], lengths[i : i + batch_size])
        correct += int((logits.argmax(-1) == labels[i : i + batch_size]).sum())
    model.train(was_training)
    return correct / len(tokens)


def train(
    model: nn.Module,
    corpus: Corpus,
    max_len: int = 64,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    *,
    keep: str = "first",
    bptt_window: int | None = None,
    vocabulary: Vocabulary | None = None,
    grad_clip: float = 1.0,
    progress: bool = True,
) -> History:
    """Train ``model`` to classify ``corpus`` from the readout at each sequence's last token.

    Parameters
    ----------
    max_len : int
        Training sequences are truncated to this many tokens (``keep`` = "first" or "last").
    bptt_window : int, optional
        Truncated BPTT: gradients flow back at most this many steps (default: the whole sequence).
    vocabulary : Vocabulary, optional
        Default: the corpus's own vocabulary (``corpus.vocabulary``).

    Returns
    -------
    History with the mean training loss and held-out accuracy of each epoch.
    """
    for name, value in (("max_len", max_len), ("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}.")
    # far beyond any real use: a typo, refused before hours of work or an out-of-memory crash
    for name, value, bound in (("max_len", max_len, 1_000_000), ("epochs", epochs, 10_000)):
        if value > bound:
            raise ConfigError(f"{name} must be at most {bound:,}, got {value:,}.")
    if bptt_window is not None and (not isinstance(bptt_window, int) or bptt_window < 1):
        raise ConfigError(f"bptt_window must be a positive integer or None, got {bptt_window!r}.")
    if not 0 < lr <= 10:  # also refuses NaN; Adam's steps are about lr in size, so above 10 is a typo
        raise ConfigError(f"lr must be a positive number of at most 10, got {lr!r}; 1e-3 to 1e-2 suits Adam.")
    vocabulary = vocabulary or corpus.vocabulary
    generator = seed_everything(seed)
    tokens, lengths, labels = corpus.encode(vocabulary, "train", max_len=max_len, keep=keep)
    test = corpus.encode(vocabulary, "test", max_len=max_len, keep=keep)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = History(max_len=max_len, bptt_window=bptt_window,
                      majority_baseline=float(torch.bincount(test[2]).max()) / len(test[2]))
    model.train()
    steps = epochs * math.ceil(len(tokens) / batch_size)
    with tqdm(total=steps, desc="training", disable=not progress, leave=False) as bar:
        for epoch in range(epochs):
            order = torch.randperm(len(tokens), generator=generator)
            losses = []
            for start in range(0, len(tokens), batch_size):
                idx = order[start : start + batch_size]
                width = int(lengths[idx].max())
                logits = last_token_logits(model, tokens[idx, :width], lengths[idx], bptt_window)
                loss = loss_fn(logits, labels[idx])
                if not torch.isfinite(loss):
                    raise TrainingError(
                        f"training diverged at epoch {epoch + 1} (loss is {loss.item()}); "
                        f"lower the learning rate (now {lr:g}) or the gradient clip (now {grad_clip:g})."
                    )
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                optimizer.step()
                losses.append(loss.item())
                bar.update(1)
            history.loss.append(float(np.mean(losses)))
            history.test_accuracy.append(accuracy(model, *test))
            bar.set_postfix(loss=f"{history.loss[-1]:.3f}", test_acc=f"{history.test_accuracy[-1]:.3f}")
    model.eval()
    return history
