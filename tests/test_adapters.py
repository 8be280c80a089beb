"""Bring your own model: dict / output-object / tuple models, final-readout-only models, text through a tokenizer."""

import sys
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

import rnnmem
from known_systems import LinearRecurrence

LAM = 0.5
TOKENS = torch.randint(1, 40, (12, 10), generator=torch.Generator().manual_seed(0))
QUICK = {"progress": False, "n_resamples": 20, "probes": False}


class DictRecurrence(nn.Module):
    """h_t = 0.5 h_{t-1} + e_t returned as a dict, with embeddings accepted by keyword (r(d) = 0.5^d is known)."""

    def __init__(self):
        super().__init__()
        self.inner = LinearRecurrence(LAM)

    def forward(self, tokens=None, embeds=None):
        states = self.inner.forward_embedded(self.inner.embed(tokens) if embeds is None else embeds)
        return {"logits": 2.0 * states, "hidden": states}


@dataclass
class Output:
    logits: torch.Tensor


class ObjectRecurrence(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = LinearRecurrence(LAM)

    def forward(self, tokens):
        return Output(self.inner(tokens))


class TupleRecurrence(ObjectRecurrence):
    def forward(self, tokens):
        return self.inner(tokens), None


class FinalOnly(nn.Module):
    """The readout after the last token only, [B, K], as a classifier that pools its last state would give."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        return self.model(tokens)[:, -1]


def test_a_dict_model_is_assessed_through_the_adapter_with_its_known_retention():
    model = DictRecurrence()
    adapter = rnnmem.OutputAdapter(model, "logits", embedding=model.inner.embed, embeds_keyword="embeds",
                                   hidden="hidden")
    report = rnnmem.assess(adapter, TOKENS, max_distance=6, progress=False, n_resamples=20,
                           estimators=("occlusion", "regression", "gradient", "replacement"))
    assert report.estimators == ["occlusion", "regression", "gradient", "replacement"]  # embedding route: gradient
    for name in ("occlusion", "regression", "gradient"):  # replacement's draws are not lambda^d token by token
        np.testing.assert_allclose(report.retention[name], LAM ** np.arange(7), atol=1e-6)
    assert not any("probes read the readout" in note for note in report.notes)  # h_T came from "hidden"
    np.testing.assert_allclose(adapter.hidden_states(model.inner.embed(TOKENS)), model(TOKENS)["hidden"])


@pytest.mark.parametrize("model, readout", [(ObjectRecurrence(), "logits"), (TupleRecurrence(), 0)])
def test_output_objects_and_tuples_give_the_same_numbers_as_the_plain_model(model, readout):
    adapter = rnnmem.OutputAdapter(model, readout)
    assert not hasattr(adapter, "embed") and not hasattr(adapter, "hidden_states")  # nothing to offer: skipped
    wrapped = rnnmem.assess(adapter, TOKENS, max_distance=6, **QUICK)
    plain = rnnmem.assess(model.inner, TOKENS, max_distance=6, estimators=("occlusion", "regression", "replacement"),
                          **QUICK)
    assert wrapped.estimators == ["occlusion", "regression", "replacement"]
    for name in wrapped.estimators:
        np.testing.assert_allclose(wrapped.retention[name], plain.retention[name], rtol=1e-9)


@pytest.mark.parametrize("model, fix", [
    (DictRecurrence(), r"returned a dict with keys 'logits', 'hidden'.*rnnmem.OutputAdapter\(model, readout='logits'\)"),
    (ObjectRecurrence(), r"returned an object of type Output.*OutputAdapter\(model, readout='logits'\)"),
    (TupleRecurrence(), r"returned a tuple of 2 items.*OutputAdapter\(model, readout=0\)"),
    (FinalOnly(LinearRecurrence(LAM)), r"readout of every prefix.*rnnmem.PrefixAdapter\(model\)"),
])
def test_a_model_that_does_not_return_every_readout_is_pointed_at_its_adapter(model, fix):
    with pytest.raises(rnnmem.ModelProtocolError, match=fix):
        rnnmem.assess(model, TOKENS, **QUICK)


def test_a_field_the_output_does_not_have_is_named_with_the_fields_it_has():
    with pytest.raises(rnnmem.ModelProtocolError, match=r"no readout 'scores'.*keys 'logits', 'hidden'"):
        rnnmem.assess(rnnmem.OutputAdapter(DictRecurrence(), "scores"), TOKENS, **QUICK)


@pytest.mark.parametrize("kwargs, message", [
    ({"readout": 1.5}, "readout must be the key"),
    ({"embeds_keyword": "embeds"}, "embedding and embeds_keyword go together"),
])
def test_bad_adapter_settings_are_config_errors(kwargs, message):
    with pytest.raises(rnnmem.ConfigError, match=message):
        rnnmem.OutputAdapter(DictRecurrence(), **kwargs)


def test_the_prefix_adapter_states_its_cost_and_matches_the_native_route():
    native = LinearRecurrence(LAM)
    with pytest.warns(UserWarning, match=r"T\(T\+1\)/2 token steps.*O\(T\^2\)"):
        adapter = rnnmem.PrefixAdapter(FinalOnly(native))
    np.testing.assert_allclose(adapter(TOKENS), native(TOKENS), rtol=1e-12)
    slow = rnnmem.assess(adapter, TOKENS, max_distance=6, **QUICK)
    fast = rnnmem.assess(native, TOKENS, max_distance=6, estimators=("occlusion", "regression"), **QUICK)
    for name in ("occlusion", "regression"):
        np.testing.assert_allclose(slow.retention[name], fast.retention[name], rtol=1e-9)
    assert slow.memory_length(0.5) == fast.memory_length(0.5)


def test_the_prefix_adapter_passes_the_models_initial_readout_through():
    model = rnnmem.build_model("gru", 40, 3, hidden_size=8, embedding_dim=4)

    class FinalWithOrigin(FinalOnly):
        def initial_readout(self):
            return self.model.initial_readout()

    with pytest.warns(UserWarning):
        adapter = rnnmem.PrefixAdapter(FinalWithOrigin(model))
    slow = rnnmem.assess(adapter, TOKENS, max_distance=6, floor=False, **QUICK)
    fast = rnnmem.assess(model, TOKENS, max_distance=6, floor=False, estimators=("occlusion", "regression"), **QUICK)
    assert slow.meta["origin"] == fast.meta["origin"] == "initial state h_0"
    np.testing.assert_allclose(slow.retention["occlusion"], fast.retention["occlusion"], rtol=1e-5)


def test_the_prefix_adapter_names_an_output_that_is_not_a_final_readout():
    with pytest.warns(UserWarning):
        adapter = rnnmem.PrefixAdapter(LinearRecurrence(LAM))  # already [B, T, K]: not a final readout
    with pytest.raises(rnnmem.ModelProtocolError, match=r"readout after the last token, a tensor \[B, K\]"):
        rnnmem.assess(adapter, TOKENS, **QUICK)


WORDS = {word: i for i, word in enumerate(["<pad>", "the", "cat", "sat", "on", "a", "mat", "dog"])}


def word_tokenizer(text):
    return {"input_ids": [WORDS[w] for w in text.split()]}  # shaped like a Hugging Face tokenizer's answer


def test_text_through_a_tokenizer_callable_is_assessed():
    texts = ["the cat sat on a mat", "a dog sat", "the dog sat on the cat", "a cat"]
    ids = rnnmem.encode_texts(texts, word_tokenizer, max_len=5)
    assert ids == [[1, 2, 3, 4, 5], [5, 7, 3], [1, 7, 3, 4, 1], [5, 2]]
    report = rnnmem.assess(LinearRecurrence(LAM), ids, max_distance=3, neutral_token=0, **QUICK)
    # 4 sequences, the shortest of 2 tokens: r(d) is measured where all of them reach, d = 0, 1
    np.testing.assert_allclose(report.retention["occlusion"], [1, LAM, np.nan, np.nan], atol=1e-9)
    assert rnnmem.encode_texts(["a cat"], lambda text: torch.tensor([[5, 2]])) == [[5, 2]]


@pytest.mark.parametrize("texts, tokenizer, error, message", [
    ("the cat", word_tokenizer, rnnmem.DataError, "texts must be a list of strings, one per sequence, got str"),
    (["the cat", 3], word_tokenizer, rnnmem.DataError, r"texts\[1\] is of type int"),
    (["the cat"], "tokenizer", rnnmem.ConfigError, "tokenizer must be a callable"),
    (["the cat"], str.split, rnnmem.DataError, r"returned a list with items that are not ids >= 0"),
    (["the cat", ""], word_tokenizer, rnnmem.DataError, r"text 1: ''\) returned no token ids"),
])
def test_bad_text_or_tokenizer_is_named(texts, tokenizer, error, message):
    with pytest.raises(error, match=message):
        rnnmem.encode_texts(texts, tokenizer)


def test_loading_a_hugging_face_model_without_transformers_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if it were not installed
    with pytest.raises(rnnmem.ModelProtocolError, match=r"needs the transformers package: pip install 'rnnmem\[hf\]'"):
        rnnmem.load_huggingface(tmp_path)
