"""The classic units, on PyTorch's fused kernels (nn.RNN, nn.LSTM, nn.GRU)."""

from __future__ import annotations

import torch
from torch import nn


class _FusedUnit(nn.Module):
    """Batch-first wrapper that returns every step's hidden state and the final state."""

    kernel: type[nn.RNNBase]

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.rnn = self.make_kernel(input_size, hidden_size)

    def make_kernel(self, input_size: int, hidden_size: int) -> nn.RNNBase:
        return self.kernel(input_size, hidden_size, batch_first=True)

    def forward(self, x: torch.Tensor, state=None):
        return self.rnn(x, state)

    @torch.no_grad()
    def states_before(self, x: torch.Tensor) -> torch.Tensor:
        """The full state entering every step, packed as [B, T, S] (h_0 = 0 first)."""
        outputs, _ = self.rnn(x)
        return torch.cat([torch.zeros_like(outputs[:, :1]), outputs[:, :-1]], dim=1)

    def run_from(self, x: torch.Tensor, packed_state: torch.Tensor) -> torch.Tensor:
        """Outputs [B, L, H] of the steps x [B, L, E] taken from a packed state [B, S] (see states_before)."""
        return self.rnn(x, self.unpack(packed_state))[0]

    def unpack(self, packed_state: torch.Tensor):
        return packed_state[None].contiguous()

    @torch.no_grad()
    def run_tokens_from(self, tokens: torch.Tensor, embed, packed_state: torch.Tensor) -> torch.Tensor:
        """``run_from(embed(tokens), packed_state)`` [B, L, H], the input products taken once per distinct token.

        A replay's rows read the same few tokens: W x + b of each distinct one, gathered per step,
        leaves only the recurrent product per token-step, about half the fused kernel's work. Each
        step writes into buffers reused across steps (a replay is thousands of rows by ~100 steps),
        and tanh is 2 sigmoid(2x) - 1 (the CPU's tanh costs six sigmoids), with the rows it reads
        doubled, which is exact in floating point. On the CPU only: elsewhere the fused kernel runs,
        whose one-step-at-a-time alternative is unmeasured.
        """
        if tokens.device.type != "cpu":
            return self.run_from(embed(tokens), packed_state)
        return self.replay(tokens, embed, packed_state).transpose(0, 1)


class SRNUnit(_FusedUnit):
    """Simple recurrent network (Elman 1990): h_t = tanh(W x_t + U h_{t-1} + b).

    Elman, "Finding structure in time", Cognitive Science 14, 1990.
    """

    def make_kernel(self, input_size: int, hidden_size: int) -> nn.RNNBase:
        return nn.RNN(input_size, hidden_size, nonlinearity="tanh", batch_first=True)

    def replay(self, tokens: torch.Tensor, embed, packed_state: torch.Tensor) -> torch.Tensor:
        """Time-major outputs [L, B, H] for `run_tokens_from`."""
        rnn = self.rnn
        inputs, column = _distinct_inputs(tokens, embed, 2 * rnn.weight_ih_l0, 2 * (rnn.bias_ih_l0 + rnn.bias_hh_l0))
        recurrent = (2 * rnn.weight_hh_l0).T.contiguous()
        outputs = packed_state.new_empty(tokens.shape[1], len(tokens), self.hidden_size)
        h = packed_state
        for t in range(tokens.shape[1]):
            h = torch.index_select(inputs, 0, column[t], out=outputs[t]).addmm_(h, recurrent).sigmoid_().mul_(2).sub_(1)
        return outputs


class LSTMUnit(_FusedUnit):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), with forget gate.

    i, f, o = sigmoid(W x_t + U h_{t-1} + b);  g = tanh(W_g x_t + U_g h_{t-1} + b_g)
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t).  State is (h, c).
    """

    kernel = nn.LSTM

    def make_kernel(self, input_size: int, hidden_size: int) -> nn.RNNBase:
        rnn = nn.LSTM(input_size, hidden_size, batch_first=True)
        with torch.no_grad():  # forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015): remember by default
            rnn.bias_ih_l0[hidden_size : 2 * hidden_size].fill_(1.0)
            rnn.bias_hh_l0[hidden_size : 2 * hidden_size].fill_(0.0)
        return rnn

    @torch.no_grad()
    def states_before(self, x: torch.Tensor) -> torch.Tensor:
        # the fused kernel returns c only for the last step; with every h_{t-1} from one fused pass, the gates that
        # write c (i, f, g: not o) are one batched product and c_t = f_t * c_{t-1} + i_t * g_t an elementwise walk,
        # laid out time-major so that each step reads and writes contiguous rows
        outputs, _ = self.rnn(x)
        h = torch.cat([torch.zeros_like(outputs[:, :1]), outputs[:, :-1]], dim=1)
        rnn, hidden, (rows, steps, _) = self.rnn, self.hidden_size, x.shape
        writing = slice(0, 3 * hidden)
        gates = torch.addmm((rnn.bias_ih_l0 + rnn.bias_hh_l0)[writing], x.transpose(0, 1).reshape(steps * rows, -1),
                            rnn.weight_ih_l0[writing].T)
        gates.addmm_(h.transpose(0, 1).reshape(steps * rows, -1), rnn.weight_hh_l0[writing].T)
        i, f, g = gates.view(steps, rows, 3 * hidden).chunk(3, dim=-1)
        written = torch.sigmoid(i).mul_(torch.tanh(g))
        kept = torch.sigmoid(f)
        c = torch.empty_like(written)
        c[0] = 0
        for t in range(1, steps):
            torch.addcmul(written[t - 1], kept[t - 1], c[t - 1], out=c[t])
        return torch.cat([h, c.transpose(0, 1)], dim=-1)

    def unpack(self, packed_state: torch.Tensor):
        h, c = packed_state.split(self.hidden_size, dim=-1)
        return h[None].contiguous(), c[None].contiguous()

    def replay(self, tokens: torch.Tensor, embed, packed_state: torch.Tensor) -> torch.Tensor:
        """Time-major outputs [L, B, H] for `run_tokens_from`."""
        rnn, hidden = self.rnn, self.hidden_size
        # g's rows doubled: one sigmoid opens every gate, and tanh(c) is a sigmoid too
        doubled = _doubled(4 * hidden, slice(2 * hidden, 3 * hidden), packed_state)
        inputs, column = _distinct_inputs(tokens, embed, rnn.weight_ih_l0 * doubled[:, None],
                                          (rnn.bias_ih_l0 + rnn.bias_hh_l0) * doubled)
        recurrent = (rnn.weight_hh_l0 * doubled[:, None]).T.contiguous()
        h, c = packed_state.split(hidden, dim=-1)
        c = c.clone()
        outputs = packed_state.new_empty(tokens.shape[1], len(tokens), hidden)
        gates = packed_state.new_empty(len(tokens), 4 * hidden)
        written, kept, candidate, shown = gates.split(hidden, dim=-1)
        for t in range(tokens.shape[1]):
            torch.index_select(inputs, 0, column[t], out=gates)
            gates.addmm_(h, recurrent).sigmoid_()
            candidate.mul_(2).sub_(1)
            c.mul_(kept).addcmul_(written, candidate)
            h = torch.mul(c, 2, out=outputs[t]).sigmoid_().mul_(2).sub_(1).mul_(shown)
        return outputs


def _doubled(size: int, rows: slice, like: torch.Tensor) -> torch.Tensor:
    """Ones of ``size``, 2 at ``rows``: a gate whose rows are doubled gets its tanh from a sigmoid, 2 sigmoid(2x) - 1."""
    scale = torch.ones(size, dtype=like.dtype, device=like.device)
    scale[rows] = 2
    return scale


def _distinct_inputs(tokens: torch.Tensor, embed, weight: torch.Tensor, bias: torch.Tensor):
    """W x + b of each distinct token of ``tokens`` [B, L], [U, G], and the row of each step's token in it, [L, B]."""
    distinct, column = torch.unique(tokens, return_inverse=True)
    return torch.addmm(bias, embed(distinct), weight.T), column.T.contiguous()


class GRUUnit(_FusedUnit):
    """Gated recurrent unit (Cho et al. 2014).

    r, z = sigmoid(W x_t + U h_{t-1} + b);  n = tanh(W_n x_t + r * (U_n h_{t-1}) + b_n)
    h_t = (1 - z) * n + z * h_{t-1}.
    """

    kernel = nn.GRU

    def replay(self, tokens: torch.Tensor, embed, packed_state: torch.Tensor) -> torch.Tensor:
        """Time-major outputs [L, B, H] for `run_tokens_from`."""
        rnn, hidden = self.rnn, self.hidden_size
        # r and z add both biases outside any product; n's recurrent bias sits inside r * (U_n h + b_hn);
        # n's rows doubled, so that its tanh is a sigmoid
        doubled = _doubled(3 * hidden, slice(2 * hidden, None), packed_state)
        zeros = rnn.bias_hh_l0.new_zeros(hidden)
        input_bias = (rnn.bias_ih_l0 + torch.cat([rnn.bias_hh_l0[: 2 * hidden], zeros])) * doubled
        recurrent_bias = torch.cat([zeros, zeros, rnn.bias_hh_l0[2 * hidden :]]) * doubled
        inputs, column = _distinct_inputs(tokens, embed, rnn.weight_ih_l0 * doubled[:, None], input_bias)
        recurrent = (rnn.weight_hh_l0 * doubled[:, None]).T.contiguous()
        outputs = packed_state.new_empty(tokens.shape[1], len(tokens), hidden)
        gates, from_state = (packed_state.new_empty(len(tokens), 3 * hidden) for _ in range(2))
        reset_and_update, candidate = gates[:, : 2 * hidden], gates[:, 2 * hidden :]
        reset, update = reset_and_update.split(hidden, dim=-1)
        h = packed_state
        for t in range(tokens.shape[1]):
            torch.index_select(inputs, 0, column[t], out=gates)
            torch.addmm(recurrent_bias, h, recurrent, out=from_state)
            reset_and_update.add_(from_state[:, : 2 * hidden]).sigmoid_()
            candidate.addcmul_(reset, from_state[:, 2 * hidden :]).sigmoid_().mul_(2).sub_(1)
            h = torch.sub(h, candidate, out=outputs[t]).mul_(update).add_(candidate)
        return outputs
