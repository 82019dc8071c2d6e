"""The duration-based (non-attentive) decoder: predicted durations, Gaussian upsampling and a
parallel convolutional decoder, in the spirit of Non-Attentive Tacotron (Shen et al., 2020).

Training reads durations off a jointly learned monotonic alignment (``tts.layers.alignment``);
inference predicts them. Nothing at inference can skip, repeat or fail to stop: every phoneme
gets its frames and the output length is the sum of the durations. All frames are computed at
once, so it is fast on a CPU.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.nn import functional as F

from tts.errors import ConfigError
from tts.layers.alignment import Aligner, beta_binomial_log_prior, monotonic_alignment_search
from tts.layers.convnext import ConvNeXtBlock
from tts.layers.tacotron_blocks import ConvStack, lengths_to_mask
from tts.models.acoustic_losses import AcousticLossConfig, duration_losses, pitch_losses
from tts.models.pitch import (
    PitchEmbedding,
    PitchPredictor,
    frame_f0,
    semitones_to_log,
    token_pitch,
)

NEG_INF = -1e9
MAX_FRAMES_PER_TOKEN = 60
"""Cap on a predicted duration (frames), so a broken predictor cannot produce minutes of audio."""


class DurationPredictor(nn.Module):
    """Per-token log-durations: ``(B, T, in_dim)``, mask ``(B, T)`` -> ``(B, T)`` of
    ``log(1 + frames)``."""

    def __init__(self, in_dim: int, dim: int, layers: int, kernel_size: int = 3,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.convs = ConvStack(in_dim, dim, layers, kernel_size, dropout)
        self.output = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.convs(x.transpose(1, 2), mask).transpose(1, 2)
        return self.output(hidden).squeeze(-1) * mask


def gaussian_upsample(memory: torch.Tensor, durations: torch.Tensor, sigma: torch.Tensor,
                      mask: torch.Tensor, frames: int) -> tuple[torch.Tensor, torch.Tensor,
                                                                torch.Tensor]:
    """Spread token vectors over frames with one Gaussian per token centred on its span.

    ``memory (B, T, D)``, ``durations (B, T)`` (frames, float), ``sigma (B, T)`` (frames),
    ``mask (B, T)`` -> ``(upsampled (B, frames, D), weights (B, frames, T), offset (B, frames,
    2))`` where ``offset`` is each frame's position relative to the centre of the tokens it reads,
    in frames and in token lengths (the decoder's sense of where in a phoneme it is).
    """
    ends = durations.cumsum(dim=1)
    centres = ends - 0.5 * durations
    t = torch.arange(frames, device=memory.device, dtype=memory.dtype).view(1, frames, 1) + 0.5
    distance = t - centres.unsqueeze(1)  # (B, F, T)
    logits = -0.5 * (distance / sigma.unsqueeze(1)) ** 2
    weights = logits.masked_fill(~mask.unsqueeze(1), NEG_INF).softmax(dim=-1)
    upsampled = weights @ memory
    relative = (weights * distance / durations.clamp(min=1.0).unsqueeze(1)).sum(-1)
    absolute = (weights * distance).sum(-1) / 10.0
    return upsampled, weights, torch.stack([relative, absolute], dim=-1)


@dataclasses.dataclass(frozen=True)
class DurationDecoderConfig:
    """Sizes of a ``DurationDecoder``: the ``TacotronConfig`` fields of the same names (which
    hold the defaults and the documentation)."""

    encoder_dim: int
    embedding_dim: int
    decoder_dim: int
    decoder_layers: int
    decoder_kernel_size: int
    duration_predictor_dim: int
    duration_predictor_layers: int
    aligner_dim: int
    pitch: bool


class DurationDecoder(nn.Module):
    """Encoder memory -> mel frames without attention.

    The decoder interface of ``tts.models.tacotron`` (``Decoder``). ``forward``'s dict holds
    ``mel (B, n_mels, F)``, ``log_durations`` predicted ``(B, T)``, ``durations`` from the
    alignment search ``(B, T)``, ``alignment_log_probs`` and ``soft_alignment`` ``(B, F, T)``
    and ``alignment`` (the upsampling weights, ``(B, F, T)``); with ``config.pitch`` it reads
    ``pitch (B, F)`` (frame F0, Hz) and also holds ``pitch`` predicted and ``pitch_target``
    ``(B, T, 2)`` (``tts.models.pitch``), and the decoder reads the target pitch (predicted at
    inference). ``infer``'s ``alignment`` is ``(B, F, T)``; with ``config.pitch`` it also
    returns ``f0 (B, F)``, Hz (0 = unvoiced), from the predicted token pitch
    (``tts.models.pitch.frame_f0``).
    """

    config_class = DurationDecoderConfig
    has_aligner = True

    def __init__(self, config: DurationDecoderConfig, n_mels: int, output_bias: float) -> None:
        super().__init__()
        c = config
        memory_dim, dim = c.encoder_dim, c.decoder_dim
        self.aligner = Aligner(c.embedding_dim, n_mels, c.aligner_dim)
        self.duration_predictor = DurationPredictor(memory_dim, c.duration_predictor_dim,
                                                    c.duration_predictor_layers)
        self.pitch_predictor = (PitchPredictor(memory_dim, c.duration_predictor_dim,
                                               c.duration_predictor_layers)
                                if c.pitch else None)
        self.pitch_embedding = PitchEmbedding(memory_dim) if c.pitch else None
        self.range_predictor = nn.Sequential(
            nn.Conv1d(memory_dim + 1, c.duration_predictor_dim, 3, padding=1), nn.ReLU(),
            nn.Conv1d(c.duration_predictor_dim, 1, 1))
        self.input = nn.Linear(memory_dim, dim)
        self.position = nn.Linear(2, dim)
        self.blocks = nn.ModuleList(ConvNeXtBlock(dim, 2 * dim, c.decoder_kernel_size,
                                                  layer_scale_init=1.0 / c.decoder_layers)
                                    for _ in range(c.decoder_layers))
        self.norm = nn.LayerNorm(dim)
        self.output = nn.Linear(dim, n_mels)
        nn.init.constant_(self.output.bias, output_bias)

    def decode(self, memory: torch.Tensor, durations: torch.Tensor, mask: torch.Tensor,
               frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mel ``(B, n_mels, F)`` and upsampling weights ``(B, F, T)`` for given durations."""
        range_input = torch.cat([memory, torch.log1p(durations).unsqueeze(-1)], dim=-1)
        sigma = F.softplus(self.range_predictor(range_input.transpose(1, 2))).squeeze(1) + 0.2
        upsampled, weights, offset = gaussian_upsample(memory, durations, sigma, mask,
                                                       frame_mask.shape[1])
        x = (self.input(upsampled) + self.position(offset)) * frame_mask.unsqueeze(-1)
        x = x.transpose(1, 2)
        for block in self.blocks:
            x = block(x) * frame_mask.unsqueeze(1)
        mel = self.output(self.norm(x.transpose(1, 2))).transpose(1, 2)
        return mel, weights

    def align(self, embedded: torch.Tensor, mask: torch.Tensor, mels: torch.Tensor,
              mel_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The aligner's ``(soft (B, F, T), log_probs (B, F, T))`` with the diagonal prior."""
        log_prior = beta_binomial_log_prior(mask.sum(dim=1), mel_lengths)
        return self.aligner(embedded, mels, mask, log_prior[:, :mels.shape[-1]])

    def forward(self, memory: torch.Tensor, embedded: torch.Tensor, mask: torch.Tensor,
                mels: torch.Tensor, mel_lengths: torch.Tensor,
                pitch: torch.Tensor | None = None,
                durations: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Durations from the alignment of ``embedded`` with ``mels`` (or the given
        ``durations (B, T)``, and then no aligner outputs), then the mel decoded from them (see
        the class docstring)."""
        text_lengths = mask.sum(dim=1)
        frame_mask = lengths_to_mask(mel_lengths, mels.shape[-1])
        out: dict[str, torch.Tensor] = {}
        if durations is None:
            soft, log_probs = self.align(embedded, mask, mels, mel_lengths)
            durations = monotonic_alignment_search(log_probs, text_lengths, mel_lengths)
            out.update({"soft_alignment": soft, "alignment_log_probs": log_probs})
        decoded = memory
        if self.pitch_predictor is not None:
            if pitch is None:
                raise ConfigError("this model is trained with pitch: the batch needs frame F0 "
                                  "('voxclone pitch DATA')")
            target = token_pitch(pitch[:, :mels.shape[-1]], durations)
            out["pitch"] = self.pitch_predictor(memory, mask)
            out["pitch_target"] = target
            decoded = memory + self.pitch_embedding(target, mask)
        mel, weights = self.decode(decoded, durations.float(), mask, frame_mask)
        out.update({"mel": mel, "log_durations": self.duration_predictor(memory, mask),
                    "durations": durations, "alignment": weights})
        return out

    def predict_durations(self, memory: torch.Tensor, mask: torch.Tensor,
                          duration_scale: float = 1.0) -> torch.Tensor:
        """Whole frames per token ``(B, T)`` (float), at least one frame per utterance."""
        log_durations = self.duration_predictor(memory, mask)
        frames = (torch.expm1(log_durations).clamp(min=0) * duration_scale)
        frames = torch.round(frames).clamp(max=MAX_FRAMES_PER_TOKEN) * mask
        empty = frames.sum(dim=1) < 1
        frames[:, 0] = torch.where(empty, torch.ones_like(frames[:, 0]), frames[:, 0])
        return frames

    def predict_pitch(self, memory: torch.Tensor, mask: torch.Tensor,
                      pitch_shift: float = 0.0) -> torch.Tensor:
        """Token pitch features ``(B, T, 2)`` (``tts.models.pitch.token_pitch``), the log F0
        moved by ``pitch_shift`` semitones and the voiced share clamped to 0..1."""
        pitch = self.pitch_predictor(memory, mask)
        return torch.stack([pitch[..., 0] + semitones_to_log(pitch_shift),
                            pitch[..., 1].clamp(0.0, 1.0)], dim=-1) * mask.unsqueeze(-1)

    def infer(self, memory: torch.Tensor, mask: torch.Tensor, duration_scale: float = 1.0,
              pitch_shift: float = 0.0, durations: torch.Tensor | None = None,
              pitch: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Durations (given ``(B, T)``, else predicted times ``duration_scale``) and, with
        ``config.pitch``, token pitch (given ``(B, T, 2)``, else predicted), moved by
        ``pitch_shift`` semitones, decoded into the mel."""
        if durations is None:
            durations = self.predict_durations(memory, mask, duration_scale)
        durations = durations.float() * mask
        if self.pitch_predictor is not None:
            if pitch is None:
                pitch = self.predict_pitch(memory, mask, pitch_shift)
            else:
                pitch = torch.stack([pitch[..., 0] + semitones_to_log(pitch_shift),
                                     pitch[..., 1]], dim=-1) * mask.unsqueeze(-1)
            memory = memory + self.pitch_embedding(pitch, mask)
        elif pitch_shift or pitch is not None:
            raise ConfigError("pitch control needs a model trained with pitch (model.pitch)")
        mel_lengths = durations.sum(dim=1).long()
        frame_mask = lengths_to_mask(mel_lengths)
        mel, weights = self.decode(memory, durations, mask, frame_mask)
        out = {"mel": mel, "mel_lengths": mel_lengths, "alignment": weights,
               "durations": durations}
        if pitch is not None:
            out["f0"] = frame_f0(pitch, weights) * frame_mask
        return out

    def losses(self, out: dict[str, torch.Tensor], token_lengths: torch.Tensor,
               mel_lengths: torch.Tensor, step: int, weights: AcousticLossConfig
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Duration, alignment and (from ``binarization_start_step`` on) binarization losses,
        and with ``config.pitch`` the token pitch and voicing losses, on ``forward``'s ``out``."""
        named = duration_losses(out, token_lengths, mel_lengths,
                                step >= weights.binarization_start_step)
        total = (weights.duration_weight * named["duration_loss"]
                 + weights.align_weight * named.get("align_loss", 0.0)
                 + weights.binarization_weight * named.get("bin_loss", 0.0))
        if self.pitch_predictor is not None:
            named.update(pitch_losses(out, token_lengths))
            total = total + weights.pitch_weight * (named["pitch_loss"] + named["voicing_loss"])
        return total, named
