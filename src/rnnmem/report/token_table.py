"""Per-token effects as a table (token_effects.csv), as attribution tools export theirs: one row per token of the
example sequences that `assess` keeps per-token numbers for (`rnnmem.indicators.token_effects`).

Columns: ``sequence`` (0-based, the order of the interactive page's menu), ``position`` (0-based in the
sequence), ``token_id``, ``token``, ``distance`` d from the end, ``label`` (the sequence's true class, when the
data was a corpus), then per estimator its ``effect`` e_i(d), ``yardstick`` y_i(d) and ``share`` r_i(d) =
e_i(d) / y_i(d). Empty (NaN) where the token lies farther than max_distance from the end, or the share is
undefined (zero yardstick). There is no interval per token: the intervals are over sequences, on r(d).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def token_effects_table(report) -> pd.DataFrame:
    """One row per token of each example sequence, with every estimator's effect, yardstick and share."""
    rows = []
    labels = report.sequence_labels
    names = list(report.label_names or [])
    shares = {name: effects.share() for name, effects in report.token_effects.items()}
    for i, ids in enumerate(report.trajectory_tokens):
        words = report.vocabulary.decode(ids) if report.vocabulary is not None else [str(t) for t in ids]
        length = len(ids)
        for position, (token_id, word) in enumerate(zip(ids, words)):
            d = length - 1 - position
            row = {"sequence": i, "position": position, "token_id": int(token_id), "token": word, "distance": d}
            if labels is not None:
                row["label"] = names[int(labels[i])]
            for name, effects in report.token_effects.items():
                measured = d < effects.effect.shape[1]
                row[f"{name} effect"] = effects.effect[i, d] if measured else np.nan
                row[f"{name} yardstick"] = effects.yardstick[i, d] if measured else np.nan
                row[f"{name} share"] = shares[name][i, d] if measured else np.nan
            rows.append(row)
    return pd.DataFrame(rows)
