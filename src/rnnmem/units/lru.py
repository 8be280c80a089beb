"""Linear recurrent unit: a stable diagonal complex recurrence, computed by parallel scan."""

from __future__ import annotations

import math

import torch
from torch import nn

from rnnmem.errors import ConfigError
from rnnmem.units.scan import linear_scan

# Added to exp(nu) so that |lambda| <= exp(-1e-6) < 1 even in float32, where
# exp(-exp(nu)) rounds to exactly 1 once exp(nu) < 6e-8 (a horizon of ~1e6 steps).
MIN_DECAY = 1e-6


class LRUUnit(nn.Module):
    """Linear recurrent unit (Orvieto et al. 2023): diagonal complex decay inside the unit disk.

    lambda = exp(-(exp(nu) + 1e-6) + i exp(theta))   (|lambda| < 1 for any nu, theta)
    gamma = sqrt(1 - |lambda|^2)
    s_t = lambda * s_{t-1} + gamma * (B x_t)
    y_t = Re(C s_t) + D x_t

    y [B, T, H] is the output; the state s has N = H complex entries, packed as
    [Re s, Im s] (2H reals). With ``complex=False``, lambda = exp(-(exp(nu) + 1e-6)) is real in
    (0, 1) and B, C are real (S = H). The recurrence is linear, so forward is a parallel scan.

    Initialisation as in the paper: lambda uniform on the ring r_min <= |lambda| <= r_max
    (default [0.4, 0.99]: half-lives from under 1 to ~69 steps), phase uniform in
    [0, max_phase], B and C Gaussian. Departures: gamma is tied to lambda rather than
    trained from its initial value, so the state's scale stays independent of |lambda|; D is a full [H, E]
    matrix, as E may differ from H.

    Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu & De, "Resurrecting recurrent
    neural networks for long sequences", ICML 2023.
    """

    def __init__(self, input_size: int, hidden_size: int, complex: bool = True,
                 r_min: float = 0.4, r_max: float = 0.99, max_phase: float = 2 * math.pi):
        super().__init__()
        if not 0 <= r_min < r_max < 1:
            raise ConfigError(f"LRU ring needs 0 <= r_min < r_max < 1, got r_min={r_min}, r_max={r_max}.")
        if not max_phase > 0:
            raise ConfigError(f"LRU max_phase must be > 0, got {max_phase}; the paper uses 2*pi (or pi/10 for long tasks).")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.complex = complex
        n = hidden_size
        # |lambda|^2 uniform in [r_min^2, r_max^2]: uniform on the ring's area
        radius = (torch.rand(n) * (r_max**2 - r_min**2) + r_min**2).sqrt()
        self.nu_log = nn.Parameter(torch.log(-torch.log(radius)))
        parts = 2 if complex else 1
        self.B = nn.Parameter(torch.randn(parts, n, input_size) / math.sqrt(parts * input_size))
        self.C = nn.Parameter(torch.randn(parts, hidden_size, n) / math.sqrt(n))
        self.D = nn.Linear(input_size, hidden_size, bias=False)
        if complex:
            self.theta_log = nn.Parameter(torch.log(max_phase * torch.rand(n)))

    def _decay(self) -> torch.Tensor:
        """-log |lambda|, [N]: positive for any nu."""
        return torch.exp(self.nu_log) + MIN_DECAY

    def eigenvalues(self) -> torch.Tensor:
        """lambda, [N]: complex (or real) diagonal of the recurrence, always inside the unit disk."""
        if not self.complex:
            return torch.exp(-self._decay())
        return torch.exp(torch.complex(-self._decay(), torch.exp(self.theta_log)))

    def _drive(self, x: torch.Tensor) -> torch.Tensor:
        """gamma * (B x) for every step at once, [..., N]."""
        gamma = torch.sqrt(-torch.expm1(-2 * self._decay()))  # 1 - |lambda|^2 without cancellation near 1
        if self.complex:
            return torch.complex(x @ self.B[0].T, x @ self.B[1].T) * gamma
        return x @ self.B[0].T * gamma

    def _read(self, s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """y = Re(C s) + D x."""
        if self.complex:
            return s.real @ self.C[0].T - s.imag @ self.C[1].T + self.D(x)
        return s @ self.C[0].T + self.D(x)

    def _pack(self, s: torch.Tensor) -> torch.Tensor:
        return torch.cat([s.real, s.imag], dim=-1) if self.complex else s

    def _unpack(self, packed: torch.Tensor) -> torch.Tensor:
        return torch.complex(*packed.chunk(2, dim=-1)) if self.complex else packed

    def _states(self, x: torch.Tensor, state: torch.Tensor | None) -> torch.Tensor:
        h0 = None if state is None else self._unpack(state)
        # lambda does not depend on the input: one [1, T, N] row of decays serves the whole batch
        return linear_scan(self.eigenvalues().expand(1, x.shape[1], -1), self._drive(x), h0)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        """Outputs y [B, T, H] and the final state, packed real [B, S] like ``states_before``."""
        s = self._states(x, state)
        return self._read(s, x), self._pack(s[:, -1])

    @torch.no_grad()
    def states_before(self, x: torch.Tensor) -> torch.Tensor:
        """The state entering every step, packed real [B, T, S] (s_0 = 0)."""
        packed = self._pack(self._states(x, None))
        return torch.cat([torch.zeros_like(packed[:, :1]), packed[:, :-1]], dim=1)

    def run_from(self, x: torch.Tensor, packed_state: torch.Tensor) -> torch.Tensor:
        """Outputs [B, L, H] of the steps x [B, L, E] taken from a packed state [B, S] (see states_before)."""
        return self(x, packed_state)[0]
