"""The autoregressive Tacotron 2 decoder: prenet, attention LSTM, location-sensitive attention,
decoder LSTM, and a projection to ``reduction_factor`` mel frames plus a stop logit per step.

Inference always ends: each utterance stops when its stop token fires while the attention is on
its last tokens, or at a hard cap of ``max_frames_per_token`` frames per input token. A monotonic
window keeps the attention from skipping ahead or going back.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from tts.layers.attention import LocationSensitiveAttention
from tts.layers.tacotron_blocks import Prenet

RNN_DROPOUT = 0.1


class AttentionDecoder(nn.Module):
    """``forward(memory (B, T, D), mask (B, T), mels (B, n_mels, F))`` (teacher forcing) ->
    ``(mel (B, n_mels, S * r), stop_logits (B, S), alignments (B, S, T))`` with ``S =
    ceil(F / r)`` decoder steps; ``infer(memory, mask)`` -> ``(mel (B, n_mels, F), mel_lengths
    (B,), alignments (B, S, T))``.
    """

    def __init__(self, memory_dim: int, n_mels: int, reduction_factor: int,
                 prenet_dims: tuple[int, ...], attention_rnn_dim: int, decoder_rnn_dim: int,
                 attention_dim: int, location_filters: int, location_kernel_size: int,
                 max_frames_per_token: float, window: tuple[int, int]) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.r = reduction_factor
        self.prenet = Prenet(n_mels, prenet_dims)
        self.attention_rnn = nn.LSTMCell(prenet_dims[-1] + memory_dim, attention_rnn_dim)
        self.attention = LocationSensitiveAttention(attention_rnn_dim, memory_dim, attention_dim,
                                                    location_filters, location_kernel_size)
        self.decoder_rnn = nn.LSTMCell(attention_rnn_dim + memory_dim, decoder_rnn_dim)
        self.projection = nn.Linear(decoder_rnn_dim + memory_dim, n_mels * reduction_factor)
        self.stop = nn.Linear(decoder_rnn_dim + memory_dim, 1)
        self.max_frames_per_token = max_frames_per_token
        self.window = tuple(window)

    def _initial_state(self, memory: torch.Tensor) -> dict[str, torch.Tensor]:
        batch, tokens, dim = memory.shape
        zeros = memory.new_zeros
        return {"attention_h": zeros(batch, self.attention_rnn.hidden_size),
                "attention_c": zeros(batch, self.attention_rnn.hidden_size),
                "decoder_h": zeros(batch, self.decoder_rnn.hidden_size),
                "decoder_c": zeros(batch, self.decoder_rnn.hidden_size),
                "context": zeros(batch, dim), "weights": zeros(batch, tokens),
                "cumulative": zeros(batch, tokens)}

    def _step(self, prenet_out: torch.Tensor, state: dict[str, torch.Tensor],
              memory: torch.Tensor, processed: torch.Tensor, mask: torch.Tensor,
              window: tuple[int, int] | None) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoder step; updates ``state`` in place and returns ``(frames (B, n_mels * r),
        stop_logit (B,))``."""
        h, c = self.attention_rnn(torch.cat([prenet_out, state["context"]], dim=-1),
                                  (state["attention_h"], state["attention_c"]))
        state["attention_h"] = F.dropout(h, RNN_DROPOUT, self.training)
        state["attention_c"] = c
        context, weights = self.attention(state["attention_h"], processed, memory, mask,
                                          state["weights"], state["cumulative"], window)
        state["context"], state["weights"] = context, weights
        state["cumulative"] = state["cumulative"] + weights
        h, c = self.decoder_rnn(torch.cat([state["attention_h"], context], dim=-1),
                                (state["decoder_h"], state["decoder_c"]))
        state["decoder_h"] = F.dropout(h, RNN_DROPOUT, self.training)
        state["decoder_c"] = c
        out = torch.cat([state["decoder_h"], context], dim=-1)
        return self.projection(out), self.stop(out).squeeze(-1)

    def _frames(self, steps: list[torch.Tensor]) -> torch.Tensor:
        """List of ``(B, n_mels * r)`` -> mel ``(B, n_mels, len * r)``."""
        stacked = torch.stack(steps, dim=1)  # (B, S, n_mels * r)
        batch, num_steps, _ = stacked.shape
        return stacked.view(batch, num_steps * self.r, self.n_mels).transpose(1, 2)

    def forward(self, memory: torch.Tensor, mask: torch.Tensor, mels: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch, n_mels, frames = mels.shape
        num_steps = math.ceil(frames / self.r)
        padded = F.pad(mels, (0, num_steps * self.r - frames), value=float(mels.min()))
        # Input of step s is the last frame of step s - 1 (a zero "go" frame for s = 0).
        previous = padded[:, :, self.r - 1::self.r].transpose(1, 2)[:, :-1]
        inputs = torch.cat([mels.new_zeros(batch, 1, n_mels), previous], dim=1)
        prenet_out = self.prenet(inputs)
        state = self._initial_state(memory)
        processed = self.attention.prepare(memory)
        outputs, stops, alignments = [], [], []
        for step in range(num_steps):
            out, stop = self._step(prenet_out[:, step], state, memory, processed, mask, None)
            outputs.append(out)
            stops.append(stop)
            alignments.append(state["weights"])
        return self._frames(outputs), torch.stack(stops, 1), torch.stack(alignments, 1)

    @torch.no_grad()
    def infer(self, memory: torch.Tensor, mask: torch.Tensor, stop_threshold: float = 0.5
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch = memory.shape[0]
        text_lengths = mask.sum(dim=1)
        max_steps = torch.ceil(text_lengths.float() * self.max_frames_per_token / self.r).long()
        state = self._initial_state(memory)
        processed = self.attention.prepare(memory)
        frame = memory.new_zeros(batch, self.n_mels)
        done = torch.zeros(batch, dtype=torch.bool, device=memory.device)
        steps_taken = torch.zeros(batch, dtype=torch.long, device=memory.device)
        outputs, alignments = [], []
        for _step in range(int(max_steps.max())):
            out, stop = self._step(self.prenet(frame), state, memory, processed, mask,
                                   self.window)
            outputs.append(out)
            alignments.append(state["weights"])
            steps_taken = torch.where(done, steps_taken, steps_taken + 1)
            near_end = state["weights"].argmax(dim=1) >= text_lengths - 2
            finished = (torch.sigmoid(stop) > stop_threshold) & near_end
            done = done | finished | (steps_taken >= max_steps)
            if bool(done.all()):
                break
            frame = out[:, -self.n_mels:]
        return self._frames(outputs), steps_taken * self.r, torch.stack(alignments, 1)
