"""Mamba's selective state-space block: a diagonal linear recurrence whose step size depends on the input."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from rnnmem.units.scan import linear_scan
from rnnmem.validation import check_int

# Mamba's initial step sizes: Delta log-uniform in [DT_MIN, DT_MAX], so the time constants
# 1 / (Delta |A|) start between 1 / (1e-3 * 1) = 1000 steps and 1 / (1e-1 * N), under 1 step at N = 16.
DT_MIN, DT_MAX = 1e-3, 1e-1
# Steps scanned at once (see MambaUnit._run). A training step at B = 64, T = 128, H = 64 on one CPU
# core took 0.30 s in chunks of 4, 0.43 s of 8, 0.69 s of 16, 0.75 s of 32 and 5.8 s scanning all
# 128 steps at once; chunks of 2 (0.24 s) would be close to a loop over steps.
CHUNK = 4


class MambaUnit(nn.Module):
    """Mamba (Gu & Dao 2023): a selective state space whose input-dependent step size sets how fast it forgets.

    u, z = in_proj(x)                       Di = expand * H channels each
    v = SiLU(causal depthwise conv of u)   width conv_width, over time
    Delta = softplus(dt_proj(W_dt v)),  B_t = W_B v,  C_t = W_C v      ([Di], [N], [N] per step)
    h_t = exp(Delta_t A) * h_{t-1} + Delta_t B_t v_t                   h_t: [Di, N], A = -exp(A_log) < 0
    y_t = C_t . h_t + D * v_t
    output = out_proj(y * SiLU(z))                                     [H]

    This is the S6 layer inside Mamba's block, with Mamba's simplified zero-order-hold step
    (exp(Delta A) for the decay, Delta B for the input). A large Delta forgets quickly and
    takes the current input in strongly; a small Delta keeps the state: the unit learns, per
    token, how long to remember. Given the inputs the recurrence is linear in h, so forward runs
    the parallel scan of units/scan.py over the Di * N state entries, CHUNK steps at a time.

    Initialisation as in the reference code: A_log = log(1..N) in every row (S4D-real), D = 1,
    dt_proj's bias such that Delta starts log-uniform in [1e-3, 1e-1]; in_proj, x_proj and
    out_proj without bias. The state carried between calls is the last conv_width - 1 inputs of
    the convolution and h, packed as one real [B, (conv_width - 1) * Di + Di * N] tensor.
    At E = H = 64 (N = 16, expand 2, conv width 4) it has 32,640 parameters (the LSTM 33,280,
    the GRU 24,960).

    Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces",
    arXiv:2312.00752, 2023.
    """

    def __init__(self, input_size: int, hidden_size: int, state_size: int = 16, expand: int = 2,
                 conv_width: int = 4):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.state_size = check_int("state_size", state_size, low=1)
        self.conv_width = check_int("conv_width", conv_width, low=1)
        self.inner_size = check_int("expand", expand, low=1) * hidden_size
        self.dt_rank = math.ceil(hidden_size / 16)
        inner, n = self.inner_size, self.state_size
        self.in_proj = nn.Linear(input_size, 2 * inner, bias=False)
        self.conv = nn.Conv1d(inner, inner, conv_width, groups=inner)  # depthwise; causal by the window we prepend
        self.x_proj = nn.Linear(inner, self.dt_rank + 2 * n, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, inner)
        self._init_step_sizes()
        self.A_log = nn.Parameter(torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(inner, 1))
        self.D = nn.Parameter(torch.ones(inner))
        self.out_proj = nn.Linear(inner, hidden_size, bias=False)

    def _init_step_sizes(self) -> None:
        """Mamba's dt_proj init: Delta = softplus(bias) log-uniform in [DT_MIN, DT_MAX] for a zero input."""
        bound = self.dt_rank ** -0.5
        nn.init.uniform_(self.dt_proj.weight, -bound, bound)
        step = torch.exp(torch.rand(self.inner_size) * (math.log(DT_MAX) - math.log(DT_MIN)) + math.log(DT_MIN))
        with torch.no_grad():  # the inverse of softplus, written so that it stays exact for small steps
            self.dt_proj.bias.copy_(step + torch.log(-torch.expm1(-step)))

    def _unpack(self, x: torch.Tensor, state: torch.Tensor | None):
        """The conv window [B, conv_width - 1, Di] and h [B, Di * N] (None: zeros) of a packed state."""
        width = (self.conv_width - 1) * self.inner_size
        if state is None:
            return x.new_zeros(x.shape[0], self.conv_width - 1, self.inner_size), None
        return state[:, :width].unflatten(1, (self.conv_width - 1, self.inner_size)), state[:, width:]

    def _run(self, x: torch.Tensor, state: torch.Tensor | None, every_h: bool = False):
        """Outputs [B, T, H], the conv inputs with their carried window in front [B, conv_width - 1 + T, Di],
        and h of every step [B, T, Di * N] (``every_h``) or of the last step only [B, Di * N]."""
        window, h = self._unpack(x, state)
        u, gate = self.in_proj(x).chunk(2, dim=-1)
        padded = torch.cat([window, u], dim=1)
        v = F.silu(self.conv(padded.transpose(1, 2)).transpose(1, 2))
        dt, b, c = self.x_proj(v).split([self.dt_rank, self.state_size, self.state_size], dim=-1)
        step = F.softplus(self.dt_proj(dt))  # Delta [B, T, Di]
        a = -torch.exp(self.A_log)
        # The state is Di * N numbers per sequence (2,048 at H = 64): scanning all T steps at once
        # streams [B, T, Di * N] tensors through memory ~35 times. Scanning CHUNK steps at a time,
        # the state carried from chunk to chunk, keeps them in cache and gives the same values.
        ys, hs = [], []
        for chunk_step, chunk_drive, chunk_b, chunk_c in zip(step.split(CHUNK, 1), (step * v).split(CHUNK, 1),
                                                             b.split(CHUNK, 1), c.split(CHUNK, 1)):
            decay = torch.exp(chunk_step[..., None] * a)  # exp(Delta A) [B, L, Di, N]
            drive = chunk_drive[..., None] * chunk_b[:, :, None, :]  # Delta B_t v_t
            chunk_h = linear_scan(decay.flatten(2), drive.flatten(2), h)
            h = chunk_h[:, -1]
            ys.append((chunk_h.unflatten(2, (self.inner_size, self.state_size)) @ chunk_c[..., None]).squeeze(-1))
            if every_h:
                hs.append(chunk_h)
        y = torch.cat(ys, dim=1) + self.D * v
        return self.out_proj(y * F.silu(gate)), padded, torch.cat(hs, dim=1) if every_h else h

    def _pack(self, windows: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.cat([windows.flatten(-2), h], dim=-1)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        """Outputs [B, T, H] and the final state, packed real [B, S] like ``states_before``."""
        outputs, padded, h = self._run(x, state)
        return outputs, self._pack(padded[:, padded.shape[1] - (self.conv_width - 1):], h)

    @torch.no_grad()
    def states_before(self, x: torch.Tensor) -> torch.Tensor:
        """The state entering every step, packed real [B, T, S]: the conv_width - 1 inputs before it and h."""
        _, padded, h = self._run(x, None, every_h=True)
        steps = x.shape[1]
        windows = padded.unfold(1, self.conv_width - 1, 1)[:, :steps].transpose(-1, -2)  # [B, T, width-1, Di]
        return self._pack(windows, torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], dim=1))

    def run_from(self, x: torch.Tensor, packed_state: torch.Tensor) -> torch.Tensor:
        """Outputs [B, L, H] of the steps x [B, L, E] taken from a packed state [B, S] (see states_before)."""
        return self(x, packed_state)[0]
