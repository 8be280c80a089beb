import csv
import random

import pytest


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory):
    """A small two-class corpus: the label is set by a cue word early in the text, among filler words."""
    rng = random.Random(0)
    filler = [f"w{i}" for i in range(30)]
    path = tmp_path_factory.mktemp("data") / "tiny.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(240):
            label = i % 2
            words = [rng.choice(filler) for _ in range(rng.randint(6, 14))]
            words.insert(rng.randint(0, 3), "good" if label else "bad")
            writer.writerow([" ".join(words), "pos" if label else "neg"])
    return path
