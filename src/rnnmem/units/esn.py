"""Echo state network: a fixed random reservoir; only the readout learns."""

from __future__ import annotations

import torch

from rnnmem.errors import ConfigError
from rnnmem.units.base import RecurrentUnit


class ESNUnit(RecurrentUnit):
    """Echo state network (Jaeger 2001): fixed random leaky-tanh reservoir, nothing in it trains.

    h_t = (1 - a) h_{t-1} + a tanh(W_in x_t + W h_{t-1})

    W is sparse (about ``connections`` inputs per unit) and Gaussian, rescaled to spectral
    radius rho; W_in is uniform in [-input_scale, input_scale]; a is the leak rate. All
    are buffers drawn from ``seed``, so the same arguments give the same reservoir and no
    optimiser can change it. ``trains_inputs = False`` asks SequenceModel to freeze the
    embedding too: the readout is the only trained part, as reservoir computing intends.

    Jaeger, "The 'echo state' approach to analysing and training recurrent neural
    networks", GMD Report 148, 2001. Lukosevicius, "A practical guide to applying echo
    state networks", Neural Networks: Tricks of the Trade, 2012.
    """

    trains_inputs = False

    def __init__(self, input_size: int, hidden_size: int, spectral_radius: float = 0.9,
                 input_scale: float = 1.0, leak: float = 1.0, connections: int = 10, seed: int = 0):
        super().__init__(input_size, hidden_size)
        for name, value in (("spectral_radius", spectral_radius), ("input_scale", input_scale)):
            if not value > 0:
                raise ConfigError(f"ESN {name} must be > 0, got {value}; typical values are 0.5 to 1.5.")
        if not 0 < leak <= 1:
            raise ConfigError(f"ESN leak must be in (0, 1], got {leak}; 1 is no leak.")
        if connections < 1:
            raise ConfigError(f"ESN connections must be at least 1, got {connections}.")
        self.leak = leak
        g = torch.Generator().manual_seed(seed)
        # sparse so the cost and the spectrum stay sensible as the reservoir grows (Lukosevicius 2012, "sparsity")
        density = min(1.0, connections / hidden_size)
        mask = torch.rand(hidden_size, hidden_size, generator=g, dtype=torch.float64) < density
        weight = torch.randn(hidden_size, hidden_size, generator=g, dtype=torch.float64) * mask
        radius = torch.linalg.eigvals(weight).abs().max()
        if radius == 0:
            raise ConfigError(f"ESN reservoir drawn with seed {seed} is nilpotent (spectral radius 0); "
                              "use another seed or more connections.")
        self.register_buffer("weight", (weight * (spectral_radius / radius)).float())
        w_in = (torch.rand(hidden_size, input_size, generator=g) * 2 - 1) * input_scale
        self.register_buffer("input_weight", w_in)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        driven = x @ self.input_weight.T  # all steps in one product; only W h stays in the loop
        h = self.initial_state(x, state)
        outputs = []
        for t in range(x.shape[1]):
            h = h + self.leak * (torch.tanh(driven[:, t] + h @ self.weight.T) - h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h
