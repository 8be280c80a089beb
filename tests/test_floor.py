"""The untrained floor: the same architecture at initialisation, assessed on the same sequences."""

import numpy as np
import pytest
import torch

import rnnmem
from rnnmem.errors import ConfigError

TOKENS = torch.randint(1, 30, (24, 12), generator=torch.Generator().manual_seed(0))
SETTINGS = dict(max_distance=8, n_resamples=50, progress=False, probes=False)


def _curves(report, estimators=("occlusion", "replacement")):
    """The retention curves every report here has (regression may decline on one model and not another)."""
    return report.retention[list(estimators)].to_numpy(float)


def test_an_untrained_model_is_its_own_floor():
    # the floor must be drawn from the model's own seed: assessed untrained, the two coincide exactly
    model = rnnmem.build_model("gru", 30, 3, hidden_size=8, embedding_dim=4, seed=7)
    report = rnnmem.assess(model, TOKENS, **SETTINGS)
    assert report.floor is not None
    np.testing.assert_array_equal(_curves(report.floor), _curves(report))
    np.testing.assert_array_equal(report.floor.fidelity["cosine"], report.fidelity["cosine"])
    other_seed = rnnmem.build_model("gru", 30, 3, hidden_size=8, embedding_dim=4, seed=8)
    assert not np.allclose(_curves(rnnmem.assess(other_seed, TOKENS, floor=False, **SETTINGS)), _curves(report))


def test_a_trained_model_keeps_the_floor_of_its_initialisation(tiny_csv):
    tiny_corpus = rnnmem.read_corpus(tiny_csv)
    model = rnnmem.build_model("lstm", len(tiny_corpus.vocabulary), tiny_corpus.num_classes, hidden_size=8,
                               embedding_dim=4, seed=3)
    untrained = rnnmem.assess(model, tiny_corpus, floor=False, **SETTINGS)
    rnnmem.train(model, tiny_corpus, max_len=12, epochs=3, seed=0, progress=False)
    trained = rnnmem.assess(model, tiny_corpus, **SETTINGS)
    np.testing.assert_allclose(_curves(trained.floor), _curves(untrained), rtol=1e-6, equal_nan=True)
    assert not np.allclose(_curves(trained), _curves(untrained), equal_nan=True)
    floor = trained.summary()["floor"]["estimators"]["occlusion"]
    assert floor["retention_capacity"] == pytest.approx(untrained.retention_capacity("occlusion"))
    assert "untrained floor" in trained.to_markdown()
    assert trained.to_dict()["floor"]["retention"]["occlusion"] == pytest.approx(
        untrained.retention["occlusion"].tolist(), nan_ok=True)


def test_the_init_seed_survives_a_checkpoint(tmp_path):
    model = rnnmem.build_model("srn", 30, 2, hidden_size=6, seed=11)
    rnnmem.save_model(model, tmp_path / "m")
    loaded, _ = rnnmem.load_model(tmp_path / "m")
    assert loaded.init_seed == 11


class Plain(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(30, 4)
        self.rnn = torch.nn.GRU(4, 6, batch_first=True)
        self.head = torch.nn.Linear(6, 2)

    def forward(self, tokens):
        return self.head(self.rnn(self.emb(tokens))[0])


def test_a_user_model_gets_a_floor_only_when_one_is_passed():
    torch.manual_seed(0)
    model = Plain()
    report = rnnmem.assess(model, TOKENS, **SETTINGS)
    assert report.floor is None
    assert any("no untrained floor" in note and "floor=" in note for note in report.notes)
    given = rnnmem.assess(model, TOKENS, floor=Plain(), **SETTINGS)
    assert given.floor is not None and not np.allclose(_curves(given.floor), _curves(given))
    with pytest.raises(ConfigError, match="floor must be True, False or a torch.nn.Module"):
        rnnmem.assess(model, TOKENS, floor="untrained", **SETTINGS)
