"""The duration-based (non-attentive) decoder: predicted durations, Gaussian upsampling and a
parallel convolutional decoder, in the spirit of Non-Attentive Tacotron (Shen et al., 2020).

Training reads durations off a jointly learned monotonic alignment (``tts.layers.alignment``);
inference predicts them. Nothing at inference can skip, repeat or fail to stop: every phoneme
gets its frames and the output length is the sum of the durations. All frames are computed at
once, so it is fast on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tts.errors import ConfigError
from tts.layers.alignment import Aligner, beta_binomial_log_prior, monotonic_alignment_search
from tts.layers.convnext import ConvNeXtBlock
from tts.layers.tacotron_blocks import ConvStack, lengths_to_mask
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


class DurationDecoder(nn.Module):
    """Encoder memory -> mel frames without attention.

    ``forward(memory (B, T, D), embedded (B, T, E), mask (B, T), mels (B, n_mels, F),
    mel_lengths (B,))`` -> dict with ``mel (B, n_mels, F)``, ``log_durations`` predicted ``(B,
    T)``, ``durations`` from the alignment search ``(B, T)``, ``alignment_log_probs`` and
    ``soft_alignment`` ``(B, F, T)`` and ``alignment`` (the upsampling weights, ``(B, F, T)``);
    with ``pitch``, ``forward`` also takes ``frame_f0 (B, F)`` Hz and returns ``pitch``
    predicted and ``pitch_target`` ``(B, T, 2)`` (``tts.models.pitch``), and the decoder reads
    the target pitch (predicted at inference).
    ``infer(memory, mask, duration_scale, pitch_shift=semitones)`` -> ``(mel (B, n_mels, F),
    mel_lengths (B,), alignment (B, F, T), f0)``: ``f0 (B, F)`` Hz (0 = unvoiced) from the
    predicted token pitch (``tts.models.pitch.frame_f0``), ``None`` without ``pitch``.
    """

    def __init__(self, memory_dim: int, embedding_dim: int, n_mels: int, dim: int, layers: int,
                 kernel_size: int, predictor_dim: int, predictor_layers: int,
                 aligner_dim: int, pitch: bool = False) -> None:
        super().__init__()
        self.aligner = Aligner(embedding_dim, n_mels, aligner_dim)
        self.duration_predictor = DurationPredictor(memory_dim, predictor_dim, predictor_layers)
        self.pitch_predictor = (PitchPredictor(memory_dim, predictor_dim, predictor_layers)
                                if pitch else None)
        self.pitch_embedding = PitchEmbedding(memory_dim) if pitch else None
        self.range_predictor = nn.Sequential(
            nn.Conv1d(memory_dim + 1, predictor_dim, 3, padding=1), nn.ReLU(),
            nn.Conv1d(predictor_dim, 1, 1))
        self.input = nn.Linear(memory_dim, dim)
        self.position = nn.Linear(2, dim)
        self.blocks = nn.ModuleList(ConvNeXtBlock(dim, 2 * dim, kernel_size,
                                                  layer_scale_init=1.0 / layers)
                                    for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.output = nn.Linear(dim, n_mels)

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
                frame_f0: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        text_lengths = mask.sum(dim=1)
        frame_mask = lengths_to_mask(mel_lengths, mels.shape[-1])
        soft, log_probs = self.align(embedded, mask, mels, mel_lengths)
        durations = monotonic_alignment_search(log_probs, text_lengths, mel_lengths)
        out: dict[str, torch.Tensor] = {}
        decoded = memory
        if self.pitch_predictor is not None:
            if frame_f0 is None:
                raise ConfigError("this model is trained with pitch: the batch needs frame F0 "
                                  "('voxclone pitch DATA')")
            target = token_pitch(frame_f0[:, :mels.shape[-1]], durations)
            out["pitch"] = self.pitch_predictor(memory, mask)
            out["pitch_target"] = target
            decoded = memory + self.pitch_embedding(target, mask)
        mel, weights = self.decode(decoded, durations.float(), mask, frame_mask)
        out.update({"mel": mel, "log_durations": self.duration_predictor(memory, mask),
                    "durations": durations, "soft_alignment": soft,
                    "alignment_log_probs": log_probs, "alignment": weights})
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
              durations: torch.Tensor | None = None, pitch_shift: float = 0.0
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        if durations is None:
            durations = self.predict_durations(memory, mask, duration_scale)
        pitch = None
        if self.pitch_predictor is not None:
            pitch = self.predict_pitch(memory, mask, pitch_shift)
            memory = memory + self.pitch_embedding(pitch, mask)
        elif pitch_shift:
            raise ConfigError("pitch control needs a model trained with pitch (model.pitch)")
        mel_lengths = durations.sum(dim=1).long()
        frame_mask = lengths_to_mask(mel_lengths)
        mel, weights = self.decode(memory, durations.float(), mask, frame_mask)
        f0 = None if pitch is None else frame_f0(pitch, weights) * frame_mask
        return mel, mel_lengths, weights, f0
