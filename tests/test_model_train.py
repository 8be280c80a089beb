import pytest
import torch

import rnnmem
from rnnmem.data import encode_batch
from rnnmem.train import last_token_logits
from rnnmem.units import UNITS


@pytest.mark.parametrize("unit", UNITS)
def test_model_emits_a_readout_for_every_prefix(unit):
    model = rnnmem.build_model(unit, vocab_size=20, num_classes=3, hidden_size=8, embedding_dim=4)
    tokens = torch.randint(1, 20, (5, 7))
    out = model(tokens)
    assert out.shape == (5, 7, 3)
    # causal: the readout after t tokens does not depend on later tokens
    changed = tokens.clone()
    changed[:, 4:] = 1
    torch.testing.assert_close(model(changed)[:, :4], out[:, :4])


@pytest.mark.parametrize("unit", ["srn", "lstm", "gru"])
def test_one_step_replay_matches_the_full_run(unit):
    model = rnnmem.build_model(unit, vocab_size=20, num_classes=3, hidden_size=8, embedding_dim=4)
    tokens = torch.randint(1, 6, (4, 9))
    states = model.states_before(tokens)
    replayed = torch.stack([model.readout_from(tokens[:, t : t + 1], states[:, t])[:, 0] for t in range(9)], dim=1)
    torch.testing.assert_close(replayed, model(tokens))
    # a replay of many steps whose rows repeat tokens: each distinct token's input product is taken once
    torch.testing.assert_close(model.readout_from(tokens[:, 3:], states[:, 3]), model(tokens)[:, 3:])


def test_same_seed_builds_the_same_model_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = rnnmem.build_model("gru", 30, 2, hidden_size=6, seed=5)
    after = torch.rand(1)
    b = rnnmem.build_model("gru", 30, 2, hidden_size=6, seed=5)
    assert before == after
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("unit", UNITS)
def test_padding_does_not_change_the_readout_at_the_last_token(unit):
    model = rnnmem.build_model(unit, vocab_size=20, num_classes=2, hidden_size=8, embedding_dim=4)
    sequences = [[3, 4, 5], [6, 7, 8, 9, 10, 11]]
    tokens, lengths = encode_batch(sequences)
    batched = last_token_logits(model, tokens, lengths)
    for i, seq in enumerate(sequences):
        alone = model(torch.tensor([seq]))[0, -1]
        torch.testing.assert_close(batched[i], alone)


def test_training_lowers_the_loss_and_learns_the_cue(tiny_csv):
    corpus = rnnmem.read_corpus(tiny_csv)
    model = rnnmem.build_model("lstm", len(corpus.vocabulary), corpus.num_classes, hidden_size=16, embedding_dim=8)
    history = rnnmem.train(model, corpus, max_len=16, epochs=6, batch_size=16, lr=1e-2, seed=0, progress=False)
    assert history.loss[-1] < 0.7 * history.loss[0]
    assert history.final_accuracy > 0.8


def test_truncated_bptt_limits_how_far_gradients_flow():
    model = rnnmem.build_model("gru", 20, 2, hidden_size=8, embedding_dim=4)
    tokens = torch.randint(1, 20, (2, 12))
    emb = model.embed(tokens).detach().requires_grad_(True)
    model.forward_embedded(emb, bptt_window=4)[:, -1].sum().backward()
    grad = emb.grad.abs().sum(dim=(0, 2))
    assert (grad[:8] == 0).all() and (grad[8:] > 0).all()


@pytest.mark.parametrize("unit", UNITS)
def test_training_is_reproducible(tiny_csv, unit):
    corpus = rnnmem.read_corpus(tiny_csv)
    runs = []
    for _ in range(2):
        model = rnnmem.build_model(unit, len(corpus.vocabulary), 2, hidden_size=8, embedding_dim=4, seed=1)
        runs.append(rnnmem.train(model, corpus, max_len=12, epochs=2, seed=3, progress=False).loss)
    assert runs[0] == runs[1]


def test_diverging_training_stops_with_a_clear_error(tiny_csv):
    corpus = rnnmem.read_corpus(tiny_csv)
    model = rnnmem.build_model("srn", len(corpus.vocabulary), 2, hidden_size=8)
    with torch.no_grad():
        model.readout.weight.fill_(float("nan"))
    with pytest.raises(rnnmem.TrainingError, match="diverged"):
        rnnmem.train(model, corpus, max_len=12, epochs=1, progress=False)


def test_unknown_unit_suggests_the_closest():
    with pytest.raises(rnnmem.ConfigError, match="Did you mean 'gru'"):
        rnnmem.build_model("gruu", 10, 2)


def test_saved_model_round_trips(tmp_path):
    model = rnnmem.build_model("lstm", 25, 3, hidden_size=6, embedding_dim=5)
    rnnmem.save_model(model, tmp_path / "m", {"tokens": ["<pad>", "<unk>"]}, ["a", "b", "c"])
    loaded, meta = rnnmem.load_model(tmp_path / "m")
    tokens = torch.randint(1, 25, (3, 6))
    torch.testing.assert_close(loaded(tokens), model(tokens))
    assert meta["label_names"] == ["a", "b", "c"]


class _Boom:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


def test_checkpoint_with_pickled_code_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = rnnmem.build_model("gru", 10, 2, hidden_size=4)
    rnnmem.save_model(model, tmp_path / "m")
    state = model.state_dict()
    state["payload"] = _Boom()
    torch.save(state, tmp_path / "m" / "model.pt")
    with pytest.raises(rnnmem.ModelProtocolError, match="never runs code"):
        rnnmem.load_model(tmp_path / "m")
    assert not (tmp_path / "PWNED").exists()


def test_checkpoint_of_another_size_is_named_as_such(tmp_path):
    rnnmem.save_model(rnnmem.build_model("gru", 10, 2, hidden_size=4), tmp_path / "m")
    other = rnnmem.build_model("gru", 10, 2, hidden_size=8)
    torch.save(other.state_dict(), tmp_path / "m" / "model.pt")
    with pytest.raises(rnnmem.ModelProtocolError, match="another unit, vocabulary or hidden size"):
        rnnmem.load_model(tmp_path / "m")
