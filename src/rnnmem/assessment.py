"""`assess`: measure a model's memory on data and gather every indicator into a MemoryReport.

Indicators never train; this module only runs the model forward (and backward for
the gradient estimator) and hands arrays to the pure indicator functions.
"""

from __future__ import annotations

import platform
from dataclasses import asdict
from typing import Sequence

import numpy as np
import torch
from torch import nn

from rnnmem._version import library_versions
from rnnmem.data import Corpus, Vocabulary, encode_batch
from rnnmem.errors import ConfigError, DataError, ModelProtocolError
from rnnmem.validation import check_assess_arguments, check_choice, check_resample_memory, counted
from rnnmem.indicators import estimators as registry
from rnnmem.indicators.bootstrap import MIN_SEQUENCES, supported_sequences
from rnnmem.indicators.estimators import EstimatorInputs
from rnnmem.indicators.fidelity import fidelity_by_length
from rnnmem.assessment_views import hull_view, probe_table, segment_labels, validity_view
from rnnmem.memory_report import MemoryReport
from rnnmem.model import SequenceModel, build_model
from rnnmem.progress import showing_progress, stage
import rnnmem.ses as ses

# the first sequences measured keep their trajectories and per-token effects (the interactive page's examples)
EXAMPLE_SEQUENCES = 20


def assess(
    model: nn.Module,
    data,
    max_distance: int = 100,
    estimators: Sequence[str] | None = None,
    neutral_token: int | None = None,
    *,
    lengths: torch.Tensor | None = None,
    vocabulary: Vocabulary | None = None,
    max_len: int | None = None,
    max_sequences: int | None = 256,
    n_resamples: int = 1000,
    seed: int = 0,
    progress: bool = True,
    probes: bool = True,
    floor: nn.Module | bool = True,
) -> MemoryReport:
    """Measure how much of each token the final state of ``model`` still carries.

    Parameters
    ----------
    model : nn.Module
        ``model(tokens)`` with tokens LongTensor [B, T] returns the readout after every
        prefix, [B, T, K]. With ``embed`` and ``forward_embedded`` the gradient
        estimator runs too; with ``initial_readout()`` the SES origin is the model's h_0.
    data : Corpus, LongTensor [N, T] or list of token-id lists
        The sequences to measure on (a corpus contributes its test split).
    max_distance : int
        Largest distance from the end d to report; capped at the longest sequence.
    estimators : sequence of str, optional
        Names from the estimator registry (`rnnmem.indicators.estimators`): "occlusion", "regression",
        "gradient", "replacement" (the reference: the readout's move when the token is replaced by tokens
        drawn from the data; its decision flip rate is the retention column ``replacement_flip_rate``);
        default every default estimator of the registry.
    neutral_token : int, optional
        Token id that replaces a token when it is occluded; default the pad id (0).
    lengths : LongTensor [N], optional
        True lengths when ``data`` is a right-padded tensor; default every row is full.
    vocabulary : Vocabulary, optional
        Encodes a corpus and names word points; default the corpus's own.
    max_len : int, optional
        Keep only the first ``max_len`` tokens of each sequence.
    max_sequences : int, optional
        Measure on a seeded random subset of this many sequences (None: all).
    n_resamples : int
        Bootstrap resamples for the 95% confidence intervals.
    seed : int
        Seed of the subset and the bootstrap: the same seed gives the same numbers.
    probes : bool
        Fit linear probes on h_T for the token (and, for ``tweets-docs``, the segment class)
        at each distance up to 32 (``report.probes``); one small classifier per distance.
    floor : bool or nn.Module
        The untrained floor, assessed on the same sequences with the same settings so that the
        report shows what training added to every indicator (``report.floor``). True: for an
        rnnmem `SequenceModel`, the same configuration at initialisation (weights from the seed
        it was built with); other models get no floor unless one is passed. A module: that
        model is the floor (e.g. your architecture before training). False: no floor.

    Returns
    -------
    MemoryReport
    """
    check_assess_arguments(data, lengths=lengths, max_distance=max_distance,
                           neutral_token=neutral_token, max_len=max_len, max_sequences=max_sequences,
                           n_resamples=n_resamples, seed=seed)
    if vocabulary is not None and not isinstance(vocabulary, Vocabulary):
        raise ConfigError(f"vocabulary must be an rnnmem Vocabulary (e.g. corpus.vocabulary) or None "
                          f"(got {type(vocabulary).__name__}).")
    estimators = check_estimators(registry.default_estimators() if estimators is None else estimators)
    notes: list[str] = []
    tokens, lengths, vocabulary, label_names = _as_tokens(data, lengths, vocabulary, max_len)
    segments = segment_labels(data, tokens.shape[1]) if probes else None
    tokens, lengths, kept = _subsample(tokens, lengths, max_sequences, seed, notes)
    if segments is not None:
        segments = segments[kept, : tokens.shape[1]]
    neutral = (vocabulary.pad_id if vocabulary is not None else 0) if neutral_token is None else neutral_token
    longest = int(lengths.max())
    if max_distance > longest - 1:
        notes.append(f"max_distance {max_distance} exceeds the longest sequence ({counted(longest, 'token')}); "
                     f"distances are reported up to {longest - 1}.")
        max_distance = longest - 1
    check_resample_memory(n_resamples, longest)

    floor_model = untrained_floor(model, floor, notes)
    was_training = model.training
    model.eval()
    try:
        with showing_progress(progress):  # also the bars of the views' fits and bootstraps
            _check_causal(model, tokens, lengths, neutral)
            report = _measure(model, tokens, lengths, neutral, max_distance, estimators, n_resamples, seed, progress,
                              notes)
            if floor_model is not None:
                with stage("untrained floor"):
                    report.floor = _measure(floor_model, tokens, lengths, neutral, max_distance, estimators,
                                            n_resamples, seed, progress, [], hull=False)
            if probes:
                report.probes = probe_table(model, tokens, lengths, segments, max_distance, seed, report.notes)
            if label_names and {"positive", "negative"} <= set(label_names):
                with stage("semantic validity"):
                    report.semantic_validity = validity_view(model, floor_model, report, vocabulary, list(label_names),
                                                              neutral, n_resamples, seed, report.notes)
    except IndexError as exc:
        raise ModelProtocolError(
            f"the model failed on the data's token ids ({exc}); the data was probably encoded with another "
            "vocabulary than the model's. Encode it with the model's vocabulary."
        ) from None
    finally:
        model.train(was_training)
    report.vocabulary = vocabulary
    if isinstance(data, Corpus):
        report.sequence_labels = np.asarray(data.test_labels)[kept]
    if not (isinstance(data, Corpus) and report.num_dimensions == len(label_names)):
        report.predicted_labels = None  # the readout is not one logit per class (a user's model, a language model)
    report.label_names = list(label_names) if label_names else [f"dim {k}" for k in range(report.num_dimensions)]
    report.meta.update({
        "seed": seed, "n_resamples": n_resamples, "neutral_token": neutral,
        "versions": {**library_versions(), "python": platform.python_version()},
        "threads": torch.get_num_threads(),
    })
    record = getattr(model, "training_record", None)  # attached by rnnmem.train and rnnmem.load_model
    if isinstance(record, dict):
        report.meta["model"] = {**({"unit": model.config.unit, "hidden_size": model.config.hidden_size}
                                   if isinstance(model, SequenceModel) else {}), **record}
    return report


def untrained_floor(model: nn.Module, floor: nn.Module | bool, notes: list[str]) -> nn.Module | None:
    """The model whose indicators are the floor of ``model``'s (see `assess`), in eval mode; None for no floor."""
    if isinstance(floor, nn.Module):
        notes.append("untrained floor: the model passed as floor, assessed on the same sequences (a reference, not a "
                     "lower bound: training can leave an indicator below it).")
        return floor.eval()
    if not isinstance(floor, bool):
        raise ConfigError(f"floor must be True, False or a torch.nn.Module, got {type(floor).__name__}.")
    if not floor:
        return None
    if not isinstance(model, SequenceModel):
        notes.append("no untrained floor: the model is not an rnnmem SequenceModel, so rnnmem cannot build the same "
                     "architecture at initialisation; pass one as assess(..., floor=untrained_model).")
        return None
    notes.append(f"untrained floor: the same configuration at initialisation (weights from seed {model.init_seed}), "
                 "assessed on the same sequences (a reference, not a lower bound: training can leave an indicator "
                 "below it).")
    return build_model(**asdict(model.config), seed=model.init_seed).to(ses.device_of(model)).eval()


def _measure(model, tokens, lengths, neutral, max_distance, estimators, n_resamples, seed, progress, notes,
             hull: bool = True) -> MemoryReport:
    with stage("SES points"):
        origin = ses.origin(model, neutral)
        trajectory = ses.trajectories(model, tokens, origin.point)
        points = ses.sequence_points(trajectory, lengths).double().numpy()
        ids, word_table = ses.word_point_table(model, tokens, lengths, origin.point)
    if not origin.route.startswith("initial state"):
        notes.append(f"SES origin o_0: {origin.route}.")
    lens = lengths.numpy()
    words_at = ses.words_by_position(tokens, lengths, ids, word_table)
    words_by_distance = ses.by_distance(words_at, lens)
    # occluding x_t alone, from the initial state, moves the state by ||s(x_t) - s(neutral)||: occlusion's
    # yardstick for which words sit at each distance, and the hull's for whether a word is retained
    neutral_point = ses.word_points(model, torch.tensor([neutral]), origin.point).double().numpy()[0]
    swap_norms = np.linalg.norm(words_by_distance[:, : max_distance + 1] - neutral_point, axis=-1)

    min_sequences, reach = supported_sequences(lens)
    if reach < max_distance:
        notes.append(f"r(d) is reported up to d = {reach} and censored beyond: fewer than {min_sequences} sequences "
                     f"reach farther (limited by data), so an ML past it reads \"> {reach}\".")
    if min_sequences < MIN_SEQUENCES:
        notes.append(f"only {min_sequences} sequences were measured: every r(d) rests on fewer than {MIN_SEQUENCES}.")
    inputs = EstimatorInputs(model, tokens, lengths, neutral, max_distance, n_resamples, seed, progress,
                             words_by_distance, points, swap_norms, EXAMPLE_SEQUENCES, min_sequences, tuple(estimators))
    results, no_curve = {}, {}
    for estimator in registry.ESTIMATORS:  # registry order, whatever order they were named in
        if estimator.name not in estimators:
            continue
        if not estimator.offered_by(model):
            no_curve[estimator.name] = f"{estimator.name} estimator skipped: the model has no {estimator.requires_text}."
            notes.append(no_curve[estimator.name])
            continue
        with stage(estimator.name):
            results[estimator.name] = result = estimator.measure(inputs)
        notes.extend(result.notes)
        if result.curve is None:
            no_curve[estimator.name] = " ".join(result.notes) or f"{estimator.name} declined without saying why."

    traj = trajectory.double().numpy()
    with stage("fidelity"):
        fidelity = fidelity_by_length(traj, np.nan_to_num(words_at), lens, n_resamples, seed)

    distance = np.arange(max_distance + 1)
    curves = {name: result.curve for name, result in results.items() if result.curve is not None}
    report = MemoryReport.from_curves(
        distance=distance, curves=curves, fidelity=fidelity, lengths=lens,
        word_ids=ids, word_points=word_table, token_counts=_token_counts(tokens, lengths, ids),
        trajectories=[traj[i, : lens[i]] for i in range(min(len(lens), EXAMPLE_SEQUENCES))],
        trajectory_tokens=[tokens[i, : lens[i]].tolist() for i in range(min(len(lens), EXAMPLE_SEQUENCES))],
        notes=notes,
        meta={"n_sequences": int(len(lens)), "max_distance": int(max_distance),
              "estimators": list(curves), "no_curve": no_curve, "origin": origin.route,
              "sequence_length": {"min": int(lens.min()), "median": float(np.median(lens)), "max": int(lens.max())}},
    )
    report.sequence_points = points
    report.predicted_labels = np.argmax(points + origin.point.double().reshape(-1).numpy(), axis=-1)
    report.token_effects = {key: effects for result in results.values() for key, effects in result.token_effects.items()}
    for result in results.values():
        for column, values in result.columns.items():
            report.retention[column] = values
    if not hull:
        return report
    if "occlusion" not in results:
        notes.append("hull indicators skipped: they judge retention by occlusion, which was not run.")
    else:
        with stage("hull"):
            report.hull = hull_view(words_by_distance[:, : max_distance + 1], results["occlusion"].effects, swap_norms,
                                    tokens, lengths, points, n_resamples, seed, notes)
    return report


def _token_counts(tokens, lengths, ids) -> np.ndarray:
    mask = torch.arange(tokens.shape[1]) < lengths[:, None]
    counts = torch.bincount(tokens[mask], minlength=int(ids.max()) + 1)
    return counts[torch.as_tensor(ids)].numpy()


def check_estimators(estimators: Sequence[str]) -> tuple[str, ...]:
    """The estimator names as a tuple; an unknown name (with the closest one), an empty list or a non-list is refused."""
    if isinstance(estimators, str):
        estimators = (estimators,)
    if not (isinstance(estimators, (list, tuple)) and all(isinstance(name, str) for name in estimators)):
        raise ConfigError(f"estimators must be a name or a list of names like ['occlusion', 'regression'] "
                          f"(got {estimators!r}).")
    for name in estimators:
        check_choice("estimators", name, registry.estimator_names(), what="estimator")
    if not estimators:
        raise ConfigError(f"estimators is empty; choose at least one of {', '.join(registry.estimator_names())}.")
    return tuple(estimators)


def _as_tokens(data, lengths, vocabulary, max_len):
    label_names = None
    if isinstance(data, Corpus):
        vocabulary = vocabulary or data.vocabulary
        tokens, lengths, _ = data.encode(vocabulary, split="test", max_len=max_len)
        label_names = data.label_names
    elif isinstance(data, torch.Tensor):
        if data.dim() != 2 or data.dtype not in (torch.long, torch.int, torch.int32, torch.int64):
            raise DataError(f"a tensor of token ids must be an integer tensor [N, T]; got {data.dtype} of shape {tuple(data.shape)}.")
        tokens = data.long()
        lengths = torch.full((len(tokens),), tokens.shape[1]) if lengths is None else torch.as_tensor(lengths).long()
        if max_len is not None:
            tokens, lengths = tokens[:, :max_len], lengths.clamp(max=max_len)
    elif isinstance(data, (list, tuple)):
        tokens, lengths = encode_batch(data, max_len=max_len)
    else:
        raise DataError(f"cannot assess on {type(data).__name__}; pass a Corpus, a LongTensor [N, T] or a list of token-id lists.")
    if len(tokens) < 2:
        raise DataError(f"assessment needs at least 2 sequences (got {len(tokens)}): the confidence intervals resample sequences.")
    if int(lengths.min()) < 1 or int(lengths.max()) > tokens.shape[1]:
        raise DataError(f"lengths must lie in 1..{tokens.shape[1]} (the tensor's width).")
    if int(tokens.min()) < 0:
        raise DataError("token ids must be non-negative.")
    return tokens, lengths, vocabulary, label_names


def _subsample(tokens, lengths, max_sequences, seed, notes):
    if max_sequences is None or len(tokens) <= max_sequences:
        return tokens, lengths, np.arange(len(tokens))
    keep = np.sort(np.random.default_rng(seed).choice(len(tokens), max_sequences, replace=False))
    notes.append(f"measured on a seeded random subset of {max_sequences} of {len(tokens)} sequences.")
    rows = torch.as_tensor(keep)
    tokens, lengths = tokens[rows], lengths[rows]
    return tokens[:, : int(lengths.max())], lengths, keep


@torch.no_grad()
def _check_causal(model, tokens, lengths, neutral) -> None:
    """Refuse a model whose readout after t tokens depends on what comes after them (tokens or padding).

    rnnmem reads o_t as the meaning of the prefix x_1..t and right-pads batches, reading each
    sequence at its true last token. A model that looks ahead (a bidirectional RNN, attention
    without a causal mask, pooling over the whole row) gives prefixes meaning from words not yet
    read and lets padding leak into S(x). Checked cheaply on the longest and the shortest
    sequence: everything after the middle (padding included) is swapped for another token, and
    the readouts up to the middle must not move.
    """
    real = tokens[torch.arange(tokens.shape[1]) < lengths[:, None]]
    others = real[real != neutral]
    if len(others) == 0 or int(lengths.max()) < 2:
        return
    fill = int(others[0])
    for row in dict.fromkeys([int(lengths.argmax()), int(torch.where(lengths >= 2, lengths, lengths.max() + 1).argmin())]):
        t = int(lengths[row]) // 2
        original = tokens[row : row + 1]
        changed = original.clone()
        changed[:, t:] = torch.where(original[:, t:] == neutral, fill, neutral)
        out = ses.checked_readouts(model, torch.cat([original, changed]))[:, :t].double()
        moved = float((out[1] - out[0]).abs().max())
        if moved > 1e-4 * (1.0 + float(out[0].abs().max())):
            raise ModelProtocolError(
                f"the model's readout after {t} tokens moved by {moved:.3g} when only the tokens after them "
                "changed: model(tokens)[:, t] must depend on tokens[:, :t+1] alone. rnnmem reads o_t as the meaning "
                "of the prefix x_1..t and right-pads batches, so a model that looks ahead (a bidirectional RNN, "
                "attention without a causal mask, pooling over the whole row) cannot be assessed; assess its "
                "forward (causal) part.")
