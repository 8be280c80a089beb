"""assess on models that only follow the protocol, and on bad models."""

import numpy as np
import pytest
import torch
from torch import nn

import rnnmem
from known_systems import LinearRecurrence


class ForwardOnly(nn.Module):
    """A user's GRU classifier with nothing but forward(tokens) -> [B, T, K]."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(30, 8, padding_idx=0)
        self.rnn = nn.GRU(8, 16, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, tokens):
        return self.head(self.rnn(self.emb(tokens))[0])


def test_a_plain_module_is_assessed_and_the_report_says_what_was_skipped():
    tokens = torch.randint(1, 30, (12, 10), generator=torch.Generator().manual_seed(0))
    report = rnnmem.assess(ForwardOnly(), tokens, max_distance=9, progress=False, n_resamples=50,
                           estimators=("occlusion", "regression", "gradient", "replacement"))
    assert report.estimators == ["occlusion", "regression", "replacement"]
    assert "gradient" not in report.retention  # no all-NaN column for an estimator that did not run
    assert any("gradient estimator skipped" in note for note in report.notes)
    assert any("neutral token" in note for note in report.notes)  # the SES origin route is stated
    occlusion = report.retention["occlusion"]
    assert np.isfinite(occlusion).all() and (occlusion >= 0).all()


class LastOnly(nn.Module):
    def forward(self, tokens):
        return torch.zeros(tokens.shape[0], 3)


class MakesNaN(nn.Module):
    def forward(self, tokens):
        return torch.full((*tokens.shape, 2), float("nan"))


@pytest.mark.parametrize("model, message", [(LastOnly(), "readout of every prefix"), (MakesNaN(), "NaN")])
def test_models_that_break_the_protocol_get_a_clear_error(model, message):
    with pytest.raises(rnnmem.ModelProtocolError, match=message):
        rnnmem.assess(model, torch.ones(4, 5, dtype=torch.long), progress=False)


def test_unknown_estimator_suggests_the_closest():
    with pytest.raises(rnnmem.ConfigError, match="Did you mean 'occlusion'"):
        rnnmem.assess(LinearRecurrence(0.5), torch.ones(4, 5, dtype=torch.long), estimators=("oclusion",))


def test_max_distance_beyond_every_sequence_is_capped_and_said():
    report = rnnmem.assess(LinearRecurrence(0.5), torch.randint(1, 40, (6, 8)), max_distance=100,
                           progress=False, n_resamples=20)
    assert report.retention["distance"].max() == 7
    assert any("exceeds the longest sequence" in note for note in report.notes)


def test_same_seed_same_numbers():
    model = rnnmem.build_model("gru", 30, 3, hidden_size=8)
    tokens = torch.randint(1, 30, (40, 12), generator=torch.Generator().manual_seed(2))
    a = rnnmem.assess(model, tokens, max_sequences=20, progress=False, n_resamples=100, seed=4).to_dict()
    b = rnnmem.assess(model, tokens, max_sequences=20, progress=False, n_resamples=100, seed=4).to_dict()
    assert a == b
    assert a["meta"]["seed"] == 4 and a["meta"]["versions"]["torch"] == torch.__version__


@pytest.mark.parametrize("unit", ["srn", "lstm", "gru", "mgu", "indrnn", "mingru", "lru", "mamba", "esn", "delay"])
def test_occlusion_from_cached_prefix_states_equals_running_from_the_start(unit):
    from rnnmem.indicators.retention import occlusion_effects

    model = rnnmem.build_model(unit, 50, 3, hidden_size=16, embedding_dim=8).eval()
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(1, 50, (12, 30), generator=gen)
    lengths = torch.randint(5, 31, (12,), generator=gen)
    tokens[torch.arange(30) >= lengths[:, None]] = 0
    # a small budget forces several batches of mixed suffix lengths
    cached = occlusion_effects(model, tokens, lengths, 0, 20, budget_tokens=500, reuse_prefix=True, progress=False)
    direct = occlusion_effects(model, tokens, lengths, 0, 20, budget_tokens=500, reuse_prefix=False, progress=False)
    assert np.isnan(cached).sum() == np.isnan(direct).sum() > 0
    np.testing.assert_allclose(cached, direct, atol=1e-5)
