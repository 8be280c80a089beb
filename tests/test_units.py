"""Every registered unit follows the unit protocol; each new unit keeps its own promise."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnmem
from rnnmem.errors import ConfigError
from rnnmem.units import UNITS, UnitSpec, build_unit
from rnnmem.units.esn import ESNUnit
from rnnmem.units.lru import LRUUnit
from rnnmem.units.mamba import MambaUnit
from rnnmem.units.mingru import MinGRUUnit

B, T, E, H = 3, 12, 4, 8  # H a multiple of E, so the delay line holds 2 tokens


def make_unit(name, seed=0):
    torch.manual_seed(seed)
    return build_unit(name, E, H)


def random_input(seed=1, length=T, width=E, requires_grad=False):
    x = torch.randn(B, length, width, generator=torch.Generator().manual_seed(seed))
    return x.requires_grad_(requires_grad)


@pytest.mark.parametrize("name", UNITS)
def test_output_shape_and_sizes(name):
    unit = make_unit(name)
    outputs, _ = unit(random_input())
    assert outputs.shape == (B, T, H)
    assert (unit.input_size, unit.hidden_size) == (E, H)


@pytest.mark.parametrize("name", UNITS)
def test_final_state_continues_the_sequence(name):
    unit = make_unit(name)
    x = random_input()
    whole, _ = unit(x)
    first, state = unit(x[:, :5])
    state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()  # as truncated BPTT does
    rest, _ = unit(x[:, 5:], state)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), whole, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", UNITS)
def test_run_from_states_before_replays_forward(name):
    unit = make_unit(name)
    x = random_input()
    outputs, _ = unit(x)
    states = unit.states_before(x)
    assert tuple(states.shape[:2]) == (B, T)
    # a packed state [B, T, S], or an attention model's keys and values of every position
    held = [states] if isinstance(states, torch.Tensor) else [t for layer in states.layers for t in layer]
    assert not any(t.requires_grad or t.is_complex() for t in held)
    replayed = torch.stack([unit.run_from(x[:, t : t + 1], states[:, t])[:, 0] for t in range(T)], dim=1)
    torch.testing.assert_close(replayed, outputs, atol=1e-5, rtol=1e-5)
    # a whole suffix from a mid-sequence state equals the tail of the full run
    torch.testing.assert_close(unit.run_from(x[:, 7:], states[:, 7]), outputs[:, 7:], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", UNITS)
def test_gradients_reach_parameters_and_input(name):
    unit = make_unit(name)
    x = random_input(requires_grad=True)
    unit(x)[0].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for pname, p in unit.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname


def naive_scan(a, b):
    h, out = torch.zeros_like(b[:, 0]), []
    for t in range(b.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, dim=1)


def test_mingru_parallel_scan_equals_sequential_loop():
    torch.manual_seed(0)
    unit = MinGRUUnit(E, H)
    x = random_input(length=50)
    z, candidate = unit.input_proj(x).chunk(2, dim=-1)
    z = torch.sigmoid(z)
    torch.testing.assert_close(unit(x)[0], naive_scan(1 - z, z * candidate), atol=1e-5, rtol=0)


@pytest.mark.parametrize("complex_", [True, False])
def test_lru_parallel_scan_equals_sequential_loop(complex_):
    torch.manual_seed(0)
    unit = LRUUnit(E, H, complex=complex_)
    x = random_input(length=50)
    lam = unit.eigenvalues()
    drive = torch.complex(x @ unit.B[0].T, x @ unit.B[1].T) if complex_ else x @ unit.B[0].T
    s = naive_scan(lam.expand(1, 50, -1), drive * (1 - lam.abs() ** 2).sqrt())
    expected = (s @ torch.complex(unit.C[0], unit.C[1]).T).real if complex_ else s @ unit.C[0].T
    expected = expected + x @ unit.D.weight.T
    torch.testing.assert_close(unit(x)[0], expected, atol=1e-5, rtol=0)


def mamba_step_by_step(unit, x):
    """Mamba's equations (Gu & Dao 2023, algorithm 2) one step at a time, from a zero state."""
    u, z = unit.in_proj(x).chunk(2, dim=-1)
    width = unit.conv_width
    taps = unit.conv.weight[:, 0]  # [Di, width]; the last tap reads the current step
    window = torch.cat([torch.zeros(B, width - 1, unit.inner_size), u], dim=1)
    h = torch.zeros(B, unit.inner_size, unit.state_size)
    a = -torch.exp(unit.A_log)
    outputs = []
    for t in range(x.shape[1]):
        v = torch.nn.functional.silu((window[:, t : t + width] * taps.T).sum(1) + unit.conv.bias)
        dt, b, c = unit.x_proj(v).split([unit.dt_rank, unit.state_size, unit.state_size], dim=-1)
        step = torch.nn.functional.softplus(unit.dt_proj(dt))  # [B, Di]
        h = torch.exp(step[:, :, None] * a) * h + (step * v)[:, :, None] * b[:, None, :]
        y = (h * c[:, None, :]).sum(-1) + unit.D * v
        outputs.append(unit.out_proj(y * torch.nn.functional.silu(z[:, t])))
    return torch.stack(outputs, dim=1)


@pytest.mark.parametrize("conv_width", [4, 1])
def test_mamba_chunked_scan_equals_sequential_loop(conv_width):
    torch.manual_seed(0)
    unit = MambaUnit(E, H, state_size=5, conv_width=conv_width)
    x = random_input(length=50)  # not a multiple of the scan's chunk: the last chunk is shorter
    torch.testing.assert_close(unit(x)[0], mamba_step_by_step(unit, x), atol=1e-5, rtol=0)


def inverse_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))


def test_mamba_memory_follows_the_step_size():
    """A small step size Delta keeps an early input: its effect decays as Delta exp(-Delta |A| t).

    With Delta fixed (dt_proj's weight zero), one rate A = -1 and no convolution (conv_width 1),
    x_0 reaches out_t only through h_0, which it changes by Delta * (B_0 v_0 - B_0' v_0'); by t
    that change has decayed by exp(-Delta t), and out_t is linear in it, while everything
    else in out_t (C_t, z_t, the skip D v_t) is untouched by x_0 and by Delta. So the influence
    ||out_t(x) - out_t(x with x_0 zeroed)|| is Delta exp(-Delta t) times a factor that does not
    depend on Delta, and the ratio of two units' influences is known.
    """
    torch.manual_seed(0)
    x = random_input(length=41).double()
    cut = x.clone()
    cut[:, 0] = 0

    def influence(step_size):
        torch.manual_seed(0)  # the same weights for both step sizes
        unit = MambaUnit(E, H, conv_width=1).double()
        with torch.no_grad():
            unit.dt_proj.weight.zero_()
            unit.dt_proj.bias.fill_(inverse_softplus(step_size))
            unit.A_log.zero_()
        return (unit(x)[0] - unit(cut)[0]).norm(dim=-1).mean(0)  # [T], averaged over the batch

    small, large = 0.05, 0.5
    keeps, forgets = influence(small), influence(large)
    t = torch.arange(41, dtype=torch.float64)
    expected = (small / large) * torch.exp(-(small - large) * t)  # Delta exp(Delta A t) with A = -1
    torch.testing.assert_close(keeps[1:] / forgets[1:], expected[1:], rtol=1e-6, atol=0)
    assert keeps[40] > 100 * forgets[40]  # the small step size remembers x_0 longer
    assert forgets[40] < 1e-6 * forgets[1]  # and with the large one it is all but gone


def test_mamba_starts_from_the_papers_initialisation():
    unit = MambaUnit(E, 64)
    step = torch.nn.functional.softplus(unit.dt_proj.bias)
    assert 1e-3 <= step.min() < 2e-3 and 0.05 < step.max() <= 0.1  # log-uniform over [1e-3, 1e-1]
    torch.testing.assert_close(-torch.exp(unit.A_log), -torch.arange(1.0, 17.0).expand(128, 16))  # S4D-real
    assert unit.dt_rank == 4 and unit.inner_size == 128


@pytest.mark.parametrize("setting", ["state_size", "expand", "conv_width"])
def test_mamba_rejects_sizes_below_one(setting):
    with pytest.raises(ConfigError, match=rf"{setting} must be >= 1 \(got 0\)"):
        MambaUnit(E, H, **{setting: 0})


def push_up(unit, loss_fn, steps=20):
    optimizer = torch.optim.Adam(unit.parameters(), lr=1.0)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn().backward()
        optimizer.step()


def test_indrnn_recurrent_weights_stay_bounded_under_a_large_learning_rate():
    unit = make_unit("indrnn")
    push_up(unit, lambda: -unit.recurrent_weight.sum())
    u = unit.recurrent_weight
    assert u.max() > 0.99  # the loss did push u to the bound ...
    assert (u.abs() <= 1).all()  # ... and it held


def test_lru_eigenvalues_stay_inside_the_unit_disk_under_a_large_learning_rate():
    unit = make_unit("lru")
    push_up(unit, lambda: -unit.eigenvalues().abs().sum())
    modulus = unit.eigenvalues().abs()
    assert modulus.max() > 0.999
    assert (modulus < 1).all()
    assert torch.isfinite(unit(random_input())[0]).all()


def test_esn_trains_only_the_readout(tiny_csv):
    corpus = rnnmem.read_corpus(tiny_csv)
    model = rnnmem.build_model("esn", len(corpus.vocabulary), corpus.num_classes, hidden_size=16, embedding_dim=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rnnmem.train(model, corpus, max_len=12, epochs=1, progress=False)
    after = model.state_dict()
    for key in ("unit.weight", "unit.input_weight", "embedding.weight"):
        assert torch.equal(after[key], before[key]), key
    assert not torch.equal(after["readout.weight"], before["readout.weight"])


@pytest.mark.parametrize("rho", [0.5, 0.9, 1.3])
def test_esn_reservoir_has_the_configured_spectral_radius_and_is_reproducible(rho):
    unit = ESNUnit(E, 16, spectral_radius=rho, seed=3)
    assert torch.linalg.eigvals(unit.weight).abs().max().item() == pytest.approx(rho, abs=1e-4)
    assert torch.equal(unit.weight, ESNUnit(E, 16, spectral_radius=rho, seed=3).weight)
    assert not torch.equal(unit.weight, ESNUnit(E, 16, spectral_radius=rho, seed=4).weight)


@pytest.mark.parametrize("kwargs", [{"spectral_radius": 0}, {"input_scale": -1}, {"leak": 0}, {"leak": 1.5}])
def test_esn_rejects_invalid_settings(kwargs):
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        ESNUnit(E, H, **kwargs)


@pytest.mark.parametrize("kwargs", [{"r_min": 0.5, "r_max": 0.5}, {"r_max": 1.0}, {"max_phase": 0}])
def test_lru_rejects_invalid_settings(kwargs):
    with pytest.raises(ConfigError):
        LRUUnit(E, H, **kwargs)


@pytest.mark.parametrize("hidden", [6, 2])
def test_delay_needs_hidden_a_multiple_of_the_input(hidden):
    with pytest.raises(ConfigError, match=rf"hidden_size \({hidden}\).*\(4\)"):
        build_unit("delay", 4, hidden)


@pytest.mark.parametrize("k", [1, 3])
def test_delay_unit_remembers_exactly_k_tokens(k):
    width = 4
    model = rnnmem.build_model("delay", vocab_size=30, num_classes=width, hidden_size=k * width, embedding_dim=width)
    with torch.no_grad():  # the readout sums the k slots: S(x) = e_{x_T} + ... + e_{x_{T-k+1}}
        model.readout.weight.copy_(torch.cat([torch.eye(width)] * k, dim=1))
        model.readout.bias.zero_()
        model.embedding.weight[0] = 0
    tokens = torch.randint(1, 30, (24, 10), generator=torch.Generator().manual_seed(k))
    report = rnnmem.assess(model, tokens, max_distance=9, estimators=("occlusion", "gradient"),
                           progress=False, n_resamples=50)
    expected = (report.retention["distance"].to_numpy() < k).astype(float)
    for name in ("occlusion", "gradient"):
        torch.testing.assert_close(torch.tensor(report.retention[name].to_numpy()), torch.tensor(expected),
                                   atol=1e-6, rtol=0, msg=name)
        assert report.memory_length(0.5, name) == k


def documented_example_unit() -> type:
    """The example unit of docs/architecture.md ("The unit protocol"), defined by running its code block."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text()
    section = text.split("## The unit protocol", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(code, "docs/architecture.md (LeakyUnit)", "exec"), namespace)
    return namespace["LeakyUnit"]


def test_the_documented_example_unit_trains_is_assessed_and_is_built_once_registered(tiny_csv, monkeypatch):
    leaky = documented_example_unit()
    corpus = rnnmem.read_corpus(tiny_csv)
    sizes = dict(hidden_size=8, embedding_dim=4, pad_id=corpus.vocabulary.pad_id)
    with pytest.raises(ConfigError, match="unknown unit 'leaky'"):
        rnnmem.build_model("leaky", len(corpus.vocabulary), corpus.num_classes, **sizes)
    monkeypatch.setitem(UNITS, "leaky", UnitSpec("leaky", leaky.__doc__.splitlines()[0], leaky))
    model = rnnmem.build_model("leaky", len(corpus.vocabulary), corpus.num_classes, **sizes)
    assert isinstance(model.unit, leaky)

    # the protocol: the final state continues the sequence, and run_from replays it from states_before
    x = random_input()
    whole, _ = model.unit(x)
    first, state = model.unit(x[:, :5])
    torch.testing.assert_close(torch.cat([first, model.unit(x[:, 5:], state)[0]], dim=1), whole)
    torch.testing.assert_close(model.unit.run_from(x[:, 7:], model.unit.states_before(x)[:, 7]), whole[:, 7:])

    leak_before = model.unit.leak.detach().clone()
    history = rnnmem.train(model, corpus, max_len=16, epochs=3, lr=0.02, validation_fraction=0.0, progress=False)
    assert not torch.equal(model.unit.leak, leak_before)  # the unit's own parameters learned
    assert history.loss[-1] < history.loss[0]
    assert history.final_accuracy > history.majority_baseline  # the cue word sits early in every text

    report = rnnmem.assess(model, corpus, max_distance=6, estimators=["occlusion"], max_sequences=40,
                           n_resamples=50, progress=False)
    curve = report.curve("occlusion")
    assert curve.shape == (7,) and np.nanmax(curve) == pytest.approx(1.0)  # r(d) relative to its peak
    assert report.floor is not None and isinstance(report.floor.curve("occlusion"), np.ndarray)  # built by name


@pytest.mark.parametrize("layers, reach", [(1, 3), (2, 6)])
def test_a_windowed_transformer_reads_nothing_older_than_its_window(layers, reach):
    # window w: each layer reads w positions, so o_t sees x_{t - layers (w - 1)} .. x_t and nothing before
    unit = build_unit(f"transformer:window=4,layers={layers}", E, H).eval()
    x = random_input(length=16)
    changed = x.clone()
    changed[:, 5] += 1.0
    moved = (unit(changed)[0] - unit(x)[0]).abs().amax(dim=(0, 2))
    assert (moved[:5] == 0).all() and (moved[5 : 5 + reach + 1] > 1e-4).all() and (moved[5 + reach + 1 :] == 0).all()


def test_a_transformer_without_a_window_reads_its_whole_context():
    unit = build_unit("transformer", E, H).eval()
    x = random_input(length=40)
    changed = x.clone()
    changed[:, 0] += 1.0
    assert ((unit(changed)[0] - unit(x)[0]).abs().amax(dim=(0, 2)) > 1e-4).all()


@pytest.mark.parametrize("name, problem", [("transformer:depth=2", "'depth=2' is not a setting of transformer"),
                                           ("transformer:window=²", "is not a setting"),
                                           ("transformer:window=0", "'window=0' is not a setting"),
                                           ("gru:window=3", "gru takes no settings")])
def test_unit_settings_are_checked_by_name(name, problem):
    with pytest.raises(ConfigError, match=problem):
        build_unit(name, E, H)


def test_unit_settings_reach_the_unit_and_survive_a_checkpoint(tmp_path):
    model = rnnmem.build_model("transformer:layers=2,window=5", 30, 2, hidden_size=16, embedding_dim=8)
    assert len(model.unit.blocks) == 2 and model.unit.window == 5
    rnnmem.save_model(model, tmp_path)
    loaded, _ = rnnmem.load_model(tmp_path)
    assert len(loaded.unit.blocks) == 2 and loaded.unit.window == 5


def test_a_transformer_hidden_size_must_split_into_heads_of_even_width():
    with pytest.raises(ConfigError, match="must be a multiple of 8"):
        build_unit("transformer", E, 12)
