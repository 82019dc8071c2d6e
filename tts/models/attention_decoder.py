"""The autoregressive Tacotron 2 decoder: prenet, attention LSTM, location-sensitive attention,
decoder LSTM, and a projection to ``reduction_factor`` mel frames plus a stop logit per step.

Inference always ends: each utterance stops when its stop token fires while the attention is on
its last tokens, or at a hard cap of ``max_frames_per_token`` frames per input token. A monotonic
window keeps the attention from skipping ahead or going back.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn
from torch.nn import functional as F

from tts.errors import ConfigError
from tts.layers.attention import LocationSensitiveAttention
from tts.layers.tacotron_blocks import Prenet
from tts.models.acoustic_losses import AcousticLossConfig, attention_losses

RNN_DROPOUT = 0.1
STOP_THRESHOLD = 0.5
"""Stop-token probability at which inference ends an utterance (near its last tokens)."""


@dataclasses.dataclass(frozen=True)
class AttentionDecoderConfig:
    """Sizes of an ``AttentionDecoder``: the ``TacotronConfig`` fields of the same names (which
    hold the defaults and the documentation)."""

    encoder_dim: int
    reduction_factor: int
    prenet_dims: tuple[int, ...]
    attention_rnn_dim: int
    decoder_rnn_dim: int
    attention_dim: int
    location_filters: int
    location_kernel_size: int
    max_frames_per_token: float
    inference_window: tuple[int, ...]


class AttentionDecoder(nn.Module):
    """Encoder memory -> mel frames, ``r`` frames per autoregressive step.

    The decoder interface of ``tts.models.tacotron`` (``Decoder``); ``forward``'s dict holds
    ``mel (B, n_mels, S * r)``, ``stop_logits (B, S)`` and ``alignments (B, S, T)`` with ``S =
    ceil(F / r)`` steps; ``infer``'s ``alignment`` is ``(B, S, T)``. No aligner, no pitch.
    """

    config_class = AttentionDecoderConfig
    has_aligner = False

    def __init__(self, config: AttentionDecoderConfig, n_mels: int, output_bias: float) -> None:
        super().__init__()
        c = config
        self.n_mels = n_mels
        self.r = c.reduction_factor
        self.prenet = Prenet(n_mels, c.prenet_dims)
        self.attention_rnn = nn.LSTMCell(c.prenet_dims[-1] + c.encoder_dim, c.attention_rnn_dim)
        self.attention = LocationSensitiveAttention(c.attention_rnn_dim, c.encoder_dim,
                                                    c.attention_dim, c.location_filters,
                                                    c.location_kernel_size)
        self.decoder_rnn = nn.LSTMCell(c.attention_rnn_dim + c.encoder_dim, c.decoder_rnn_dim)
        self.projection = nn.Linear(c.decoder_rnn_dim + c.encoder_dim, n_mels * self.r)
        self.stop = nn.Linear(c.decoder_rnn_dim + c.encoder_dim, 1)
        nn.init.constant_(self.projection.bias, output_bias)
        self.max_frames_per_token = c.max_frames_per_token
        self.window = tuple(c.inference_window)

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

    def forward(self, memory: torch.Tensor, embedded: torch.Tensor, mask: torch.Tensor,
                mels: torch.Tensor, mel_lengths: torch.Tensor,
                pitch: torch.Tensor | None = None,
                durations: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Teacher forcing on ``mels``; ``embedded``, ``mel_lengths`` and ``pitch`` are not
        read (the interface's arguments for decoders with an aligner); given ``durations``
        raise ``ConfigError`` (attention finds its own)."""
        if durations is not None:
            raise ConfigError("given durations need the duration decoder")
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
        return {"mel": self._frames(outputs), "stop_logits": torch.stack(stops, 1),
                "alignments": torch.stack(alignments, 1)}

    @torch.no_grad()
    def infer(self, memory: torch.Tensor, mask: torch.Tensor, duration_scale: float = 1.0,
              pitch_shift: float = 0.0, durations: torch.Tensor | None = None,
              pitch: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Free-running steps until each utterance stops (see the module docstring); each
        token's ``durations`` are the frames of the steps that attend to it most. Speed,
        pitch and timing cannot be controlled (``duration_scale`` must be 1, ``pitch_shift`` 0,
        ``durations`` and ``pitch`` None)."""
        if duration_scale != 1.0 or pitch_shift or durations is not None or pitch is not None:
            raise ConfigError("speed, pitch and timing control need the duration decoder; "
                              "this model uses attention")
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
            finished = (torch.sigmoid(stop) > STOP_THRESHOLD) & near_end
            done = done | finished | (steps_taken >= max_steps)
            if bool(done.all()):
                break
            frame = out[:, -self.n_mels:]
        alignment = torch.stack(alignments, 1)
        taken = torch.arange(alignment.shape[1], device=memory.device) < steps_taken[:, None]
        attended = F.one_hot(alignment.argmax(dim=2), alignment.shape[2]) * taken[..., None]
        return {"mel": self._frames(outputs), "mel_lengths": steps_taken * self.r,
                "alignment": alignment, "durations": attended.sum(dim=1) * self.r}

    def losses(self, out: dict[str, torch.Tensor], token_lengths: torch.Tensor,
               mel_lengths: torch.Tensor, step: int, weights: AcousticLossConfig
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Stop-token BCE and guided attention (its weight fading to 0 over
        ``guided_attention_decay_steps``) on ``forward``'s ``out``."""
        named = attention_losses(out, token_lengths, mel_lengths, self.r, weights.stop_pos_weight)
        decay = max(0.0, 1.0 - step / max(weights.guided_attention_decay_steps, 1))
        total = (weights.stop_weight * named["stop_loss"]
                 + weights.guided_attention_weight * decay * named["guided_attention_loss"])
        return total, named
