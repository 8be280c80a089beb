"""A tiny randomly initialised Hugging Face model, saved and read back from a local directory (no download)."""

import numpy as np
import pytest
import torch

import rnnmem
from rnnmem.adapters import huggingface
from rnnmem.indicators.retention import occlusion_effects, replaced_runs

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

WORDS = ["<pad>", "<unk>"] + [f"w{i}" for i in range(48)]
POSITIONS = 16


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A 1-layer GPT-2 with 16-dim embeddings over 50 words and its word-level tokenizer, as save_pretrained writes them."""
    directory = tmp_path_factory.mktemp("tiny-gpt2")
    config = transformers.GPT2Config(vocab_size=len(WORDS), n_positions=POSITIONS, n_embd=16, n_layer=1, n_head=2,
                                     bos_token_id=1, eos_token_id=1, pad_token_id=0)
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config).eval()
    model.save_pretrained(directory)
    word_level = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    word_level.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    transformers.PreTrainedTokenizerFast(tokenizer_object=word_level, unk_token="<unk>",
                                         pad_token="<pad>").save_pretrained(directory)
    return directory, model


def texts(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(f"w{i}" for i in rng.integers(0, 48, rng.integers(4, 13))) for _ in range(n)]


def test_the_adapters_readouts_are_the_models_own_logits_after_each_prefix(saved):
    directory, original = saved
    adapter = rnnmem.load_huggingface(directory)
    tokens = torch.randint(2, len(WORDS), (3, 9), generator=torch.Generator().manual_seed(1))
    readouts = adapter(tokens)
    with torch.no_grad():
        for t in range(1, 10):  # the loaded model run on the prefix alone, as the original in memory
            np.testing.assert_allclose(readouts[:, t - 1].detach(), original(tokens[:, :t]).logits[:, -1], atol=1e-5)


def test_a_tiny_hugging_face_model_is_assessed_on_text_through_its_own_tokenizer(saved):
    directory, _ = saved
    adapter = rnnmem.load_huggingface(directory)
    ids = rnnmem.encode_texts(texts(), adapter.tokenizer, max_len=adapter.max_positions)
    assert ids[0] == [WORDS.index(w) for w in texts()[0].split()][:POSITIONS]
    report = rnnmem.assess(adapter, ids, max_distance=8, neutral_token=adapter.tokenizer.pad_token_id,
                           floor=adapter.untrained(seed=1), progress=False, n_resamples=20,
                           estimators=("occlusion", "regression", "gradient", "replacement"))
    assert {"occlusion", "gradient", "replacement"} <= set(report.estimators)  # inputs_embeds feeds the gradient
    assert not any("probes read the readout" in note for note in report.notes)  # h_T from the last hidden layer
    assert report.num_dimensions == len(WORDS)  # the SES is the space of the next-token logits
    measured = min(map(len, ids))  # 10 texts: r(d) is measured where all of them reach (the support rule)
    retention = report.retention[report.estimators].to_numpy()
    assert np.isfinite(retention[:measured]).all() and np.isnan(retention[measured:]).all()
    assert report.floor is not None and not np.allclose(report.floor.retention["occlusion"], report.retention["occlusion"])


def test_a_per_token_classifier_is_read_through_its_logits(tmp_path):
    config = transformers.GPT2Config(vocab_size=len(WORDS), n_positions=POSITIONS, n_embd=16, n_layer=1, n_head=2,
                                     num_labels=3, bos_token_id=1, eos_token_id=1, pad_token_id=0)
    torch.manual_seed(0)
    original = transformers.GPT2ForTokenClassification(config).eval()
    original.save_pretrained(tmp_path)
    adapter = rnnmem.load_huggingface(tmp_path, task="token-classification")
    assert adapter.tokenizer is None  # the directory has none
    tokens = torch.randint(2, len(WORDS), (3, 9), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        np.testing.assert_allclose(adapter(tokens), original(tokens).logits, atol=1e-5)
    # a classifier cannot generate, so it keeps no key/value cache: occlusion reruns each variant from the start
    assert not hasattr(adapter, "states_before") and not hasattr(adapter, "readout_from")
    with pytest.raises(rnnmem.ConfigError, match="Did you mean 'causal-lm'"):
        rnnmem.load_huggingface(tmp_path, task="causal_lm")


def test_sequences_longer_than_the_models_positions_are_refused_with_the_fix(saved):
    adapter = rnnmem.load_huggingface(saved[0])
    with pytest.raises(rnnmem.ModelProtocolError, match=f"reads at most {POSITIONS} tokens.*pass max_len={POSITIONS}"):
        rnnmem.assess(adapter, torch.randint(2, 50, (4, POSITIONS + 4)), progress=False)


def test_a_directory_without_a_saved_model_is_named(tmp_path):
    with pytest.raises(rnnmem.ModelProtocolError, match="has no config.json.*nothing is downloaded"):
        rnnmem.load_huggingface(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(rnnmem.ModelProtocolError, match="transformers could not load"):
        rnnmem.load_huggingface(tmp_path)


# ------------------------------------------------------------------ the key/value cache route of occlusion


@pytest.fixture(scope="module")
def two_layers(tmp_path_factory):
    """A 2-layer GPT-2 over 60 words and 64 positions, read back from save_pretrained, and 1..64 tokens padded right."""
    directory = tmp_path_factory.mktemp("two-layer-gpt2")
    config = transformers.GPT2Config(vocab_size=60, n_positions=64, n_embd=32, n_layer=2, n_head=2,
                                     bos_token_id=1, eos_token_id=1, pad_token_id=0)
    torch.manual_seed(0)
    transformers.GPT2LMHeadModel(config).save_pretrained(directory)
    lengths = torch.tensor([64, 9, 33, 1, 50, 17])  # 64 fills every position: a batch's padding steps pass the last
    tokens = torch.randint(2, 60, (len(lengths), 64), generator=torch.Generator().manual_seed(3))
    tokens[torch.arange(64) >= lengths[:, None]] = 0
    return rnnmem.load_huggingface(directory), tokens, lengths


def test_readout_from_the_cached_prefix_before_t_replays_the_logits_from_t_on(two_layers):
    adapter, tokens, _ = two_layers
    with torch.no_grad():
        whole = adapter(tokens)
    prefixes = adapter.states_before(tokens)
    assert prefixes.shape == tuple(tokens.shape)
    for t in (0, 1, 20, 63):  # t = 0: an empty prefix
        replayed = adapter.readout_from(tokens[:, t:], prefixes[:, t])
        torch.testing.assert_close(replayed, whole[:, t:], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("numbers_per_part", [2**26, 5_000])  # 5,000: a part of one variant, so parts are joined
def test_occlusion_from_the_key_value_cache_equals_rerunning_every_variant(two_layers, monkeypatch, numbers_per_part):
    adapter, tokens, lengths = two_layers
    monkeypatch.setattr(huggingface, "CACHED_NUMBERS_PER_PART", numbers_per_part)
    from_cache = occlusion_effects(adapter, tokens, lengths, 0, 40, reuse_prefix=True, progress=False)
    from_start = occlusion_effects(adapter, tokens, lengths, 0, 40, reuse_prefix=False, progress=False)
    assert np.isfinite(from_cache).sum() == lengths.clamp(max=41).sum() and (np.nan_to_num(from_cache) > 0).any()
    np.testing.assert_allclose(from_cache, from_start, atol=1e-5, rtol=0)
    draws = torch.randint(2, 60, (int(lengths.clamp(max=41).sum()),), generator=torch.Generator().manual_seed(4))
    np.testing.assert_allclose(replaced_runs(adapter, tokens, lengths, draws, 40, reuse_prefix=True, progress=False),
                               replaced_runs(adapter, tokens, lengths, draws, 40, reuse_prefix=False, progress=False),
                               atol=1e-5, rtol=0)


def test_a_sliding_window_model_keeps_no_prefix_cache_to_continue_from():
    config = transformers.MistralConfig(vocab_size=60, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                        sliding_window=8, pad_token_id=0, bos_token_id=1, eos_token_id=1)
    windowed = rnnmem.HuggingFaceAdapter(transformers.MistralForCausalLM(config).eval())
    assert not hasattr(windowed, "states_before") and not hasattr(windowed, "readout_from")  # it drops old keys
    config.sliding_window = None  # the same model attending to every earlier position keeps them all
    assert hasattr(rnnmem.HuggingFaceAdapter(transformers.MistralForCausalLM(config).eval()), "states_before")


# ------------------------------------------------------------------ every failure is rnnmem's own error


class _Payload:
    def __reduce__(self):
        import os
        return (os.system, ("touch PWNED",))


def _copy_with(saved, tmp_path, edit):
    import shutil

    directory = tmp_path / "edited"
    shutil.copytree(saved[0], directory)
    edit(directory)
    return directory


def _edit_config(directory, **changes):
    import json

    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, **changes}))


def test_a_pickle_only_weights_file_is_refused_unread(saved, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def pickle_only(directory):
        (directory / "model.safetensors").unlink()
        torch.save({"payload": _Payload()}, directory / "pytorch_model.bin")

    with pytest.raises(rnnmem.ModelProtocolError, match="hold pickled objects, not only tensors; they were refused "
                                                        r"unread and nothing in them was run\. Re-save"):
        rnnmem.load_huggingface(_copy_with(saved, tmp_path, pickle_only))
    assert not (tmp_path / "PWNED").exists()


def test_a_config_whose_sizes_differ_from_the_weights_is_named(saved, tmp_path):
    directory = _copy_with(saved, tmp_path, lambda d: _edit_config(d, n_embd=32))
    with pytest.raises(rnnmem.ModelProtocolError, match=r"as a causal-lm model \(its config.json describes other "
                                                        r"sizes than its weights\) \(RuntimeError: "):
        rnnmem.load_huggingface(directory)


def test_an_absurd_vocabulary_is_refused_before_anything_is_allocated(saved, tmp_path):
    directory = _copy_with(saved, tmp_path, lambda d: _edit_config(d, vocab_size=2_000_000_000))
    with pytest.raises(rnnmem.ModelProtocolError, match="an embedding of 2,000,000,000 words x 16 dimensions = "
                                                        "32,000,000,000 weights; rnnmem loads models of at most "
                                                        "250,000,000 weights"):
        rnnmem.load_huggingface(directory)
    _edit_config(directory, vocab_size=len(WORDS))
    assert rnnmem.load_huggingface(directory).model.config.vocab_size == len(WORDS)  # the sizes of the weights load
