"""The views of an assessment beyond retention and fidelity: probes by distance, the hull view, semantic validity.

Each gathers what one indicator module needs from the model and the data, calls it, and
notes how the numbers were obtained; `assess` attaches the results to the MemoryReport.
"""

from __future__ import annotations


import numpy as np
import torch

import rnnmem.ses as ses
from rnnmem.data import Corpus
from rnnmem.data.lexicon import vader_lexicon
from rnnmem.data.tweets import token_source_labels
from rnnmem.errors import DataError
from rnnmem.indicators.hull import hull_indicators, retained_words
from rnnmem.indicators.probes import probe_accuracy_by_distance, token_targets
from rnnmem.indicators.validity import semantic_validity

# Probes fit one classifier per distance: the cap bounds their cost on long sequences
# (retention r(d) covers the far distances without it).
PROBE_MAX_DISTANCE = 32
PROBE_TOP_TOKENS = 10


def hull_view(words, effects, swap_norms, tokens, lengths, points, n_resamples, seed, notes):
    """Hull indicators on each sequence's last D + 1 words (those with occlusion effects), plus one sequence to draw."""
    view, hulls = hull_indicators(words, effects, swap_norms, n_resamples=n_resamples, seed=seed)
    k, width = words.shape[-1], words.shape[1]
    if k > 3:
        notes.append(f"hull indicators: the SES has K = {k} > 3 dimensions, so each sequence's hull is taken in the "
                     "top three principal directions of its word points.")
    full = min(k, 3)
    if any(count for route, count in view.routes.items() if route != f"{full}-D"):
        taken = ", ".join(f"{route}: {count}" for route, count in view.routes.items() if count)
        notes.append(f"hull indicators: sequences whose word points span fewer than {full} dimensions (too few distinct "
                     f"words, collinear or coplanar points) got the hull of their span; routes taken — {taken}.")
    if int(lengths.max()) > width:
        notes.append(f"hull indicators use each sequence's last {width} words, the ones occlusion was measured for.")
    lens = lengths.numpy()
    # draw a readable sequence: a hull of full dimension, with a few words but not a crowd
    readable = [i for i, h in enumerate(hulls) if h.dim == full and 4 <= len(h.pillars) <= 30]
    i = readable[0] if readable else 0
    present = np.flatnonzero(np.all(np.isfinite(words[i]), axis=-1))
    view.example = {
        "tokens": tokens[i, lens[i] - 1 - present].tolist(), "distances": present.tolist(),
        "points": words[i, present], "pillars": hulls[i].pillars, "final": points[i], "route": hulls[i].route,
        "retained": retained_words(effects[i, present], swap_norms[i, present], view.tau),
    }
    return view


def validity_view(model, floor_model, report, vocabulary, label_names, neutral, n_resamples, seed, notes):
    """Semantic validity of the positive-minus-negative axis against human valence, for the model and its floor.

    Word points are taken for every vocabulary token the VADER lexicon rates (one forward pass of
    [V, 1]); without a vocabulary, for the words of the assessed data.
    """
    try:
        lexicon = vader_lexicon()
    except DataError as exc:
        notes.append(f"semantic validity skipped: {exc}")
        return None
    pos, neg = label_names.index("positive"), label_names.index("negative")
    if vocabulary is not None:
        ids = torch.tensor([i for i, token in enumerate(vocabulary.tokens) if token in lexicon], dtype=torch.long)
        words = vocabulary.decode(ids.tolist())
        source = "vocabulary words"
    else:
        ids = torch.as_tensor(report.word_points["token_id"].to_numpy(), dtype=torch.long)
        words = report.words()
        source = "words of the assessed data (no vocabulary was given to name the others)"

    def validity(net):
        if len(ids) == 0:
            return semantic_validity([], np.empty(0), lexicon, n_resamples, seed)
        points = ses.word_points(net, ids, ses.origin(net, neutral).point).double().numpy()
        return semantic_validity(words, points[:, pos] - points[:, neg], lexicon, n_resamples, seed)

    trained = validity(model)
    untrained = None if floor_model is None else validity(floor_model)
    floor_text = "no untrained floor" if floor_model is None else "beside it the same for the untrained floor"
    notes.append(f"semantic validity: Spearman rho between s(w)[positive] - s(w)[negative] and the mean human valence "
                 f"of the VADER lexicon (Hutto & Gilbert 2014) over the {trained.n_matched} {source} it rates; "
                 f"{floor_text}.")
    return {"trained": trained, "untrained": untrained}


def probe_table(model, tokens, lengths, segments, max_distance, seed, notes):
    """Probe accuracy by distance for the token identity (and the segment class when ``segments`` is given)."""
    depth = min(max_distance, PROBE_MAX_DISTANCE) + 1
    if max_distance > PROBE_MAX_DISTANCE:
        notes.append(f"probes are fit for distances 0..{PROBE_MAX_DISTANCE} only.")
    features = _final_states(model, tokens, lengths, notes)
    at = (lengths[:, None] - 1 - torch.arange(depth)).numpy()  # position of the token at distance d
    valid = at >= 0
    token_ids = np.where(valid, np.take_along_axis(tokens.numpy(), np.maximum(at, 0), axis=1), -1)
    frame = probe_accuracy_by_distance(features, token_targets(token_ids, PROBE_TOP_TOKENS), seed)
    frame = frame.rename(columns={"accuracy": "token_accuracy", "chance": "token_chance", "n": "token_n"})
    if segments is not None:
        classes = np.where(valid, np.take_along_axis(segments, np.maximum(at, 0), axis=1), -1)
        by_segment = probe_accuracy_by_distance(features, classes, seed)
        for column in ("accuracy", "chance", "n"):
            frame[f"segment_{column}"] = by_segment[column]
    return frame


@torch.no_grad()
def _final_states(model, tokens, lengths, notes, batch_size: int = 256) -> np.ndarray:
    """h_T after each sequence's last true token, [N, H]; the readout o_T when the model hides its state."""
    exposes_state = hasattr(model, "embed") and hasattr(model, "hidden_states")
    if not exposes_state:
        notes.append("probes read the readout o_T: the model exposes no embed(tokens) and hidden_states(emb) "
                     "to read the hidden state h_T from.")
    parts = []
    for start in range(0, len(tokens), batch_size):
        batch, last = tokens[start : start + batch_size], lengths[start : start + batch_size] - 1
        if exposes_state:
            states = model.hidden_states(model.embed(batch.to(ses.device_of(model)))).cpu()
        else:
            states = ses.checked_readouts(model, batch)
        parts.append(states[torch.arange(len(batch)), last])
    return torch.cat(parts).double().numpy()


def segment_labels(data, width: int) -> np.ndarray | None:
    """Class of the tweet covering each token of a ``tweets-docs`` test split, [N, width] (-1 past the end)."""
    if not isinstance(data, Corpus) or data.test_sources is None:
        return None
    out = np.full((len(data.test_sources), width), -1)
    for row, labels in enumerate(token_source_labels(data.test_sources)):
        out[row, : min(len(labels), width)] = labels[:width]
    return out
