"""Explicit pitch for the duration decoder, in the spirit of FastPitch (Łańcucki, 2021).

Each token gets two pitch features: its mean log F0 over its voiced frames, relative to
``REFERENCE_HZ`` (natural log, so ``+ln 2`` is an octave up), and the share of its frames that
are voiced. Training reads them off the frame F0 (``data.pitch``) through the token durations of
the alignment search and feeds them to the decoder; a ``PitchPredictor`` learns them from the
text encodings (speaker and style included) and stands in for them at inference, where a shift
in semitones moves the whole contour. With pitch given explicitly, the mel decoder no longer
has to guess a speaker's pitch and average over the guesses (smeared harmonics).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tts.layers.tacotron_blocks import ConvStack

REFERENCE_HZ = 150.0
"""Log F0 is measured from here: 0 = 150 Hz, about -0.6 for a low male voice, +0.4 for a
female one."""


def semitones_to_log(semitones: float) -> float:
    """A pitch shift in semitones as a change of natural-log F0."""
    return semitones * math.log(2.0) / 12.0


def token_pitch(frame_f0: torch.Tensor, durations: torch.Tensor) -> torch.Tensor:
    """Per-token pitch features from frame F0 and integer durations.

    ``frame_f0 (B, F)`` Hz (0 = unvoiced or padding), ``durations (B, T)`` frames per token
    (summing to at most ``F``) -> ``(B, T, 2)``: mean ``log(f0 / REFERENCE_HZ)`` over the token's
    voiced frames (0 where it has none) and its voiced share (0 to 1; 0 for empty tokens).
    """
    frames = frame_f0.shape[1]
    ends = durations.long().cumsum(dim=1)  # (B, T)
    starts = ends - durations.long()
    t = torch.arange(frames, device=frame_f0.device).view(1, frames, 1)
    owned = ((t >= starts.unsqueeze(1)) & (t < ends.unsqueeze(1))).to(frame_f0.dtype)  # (B,F,T)
    voiced = (frame_f0 > 0).to(frame_f0.dtype)
    log_f0 = torch.log(frame_f0.clamp(min=1.0) / REFERENCE_HZ) * voiced
    count = torch.einsum("bf,bft->bt", voiced, owned)
    total = torch.einsum("bf,bft->bt", log_f0, owned)
    pitch = total / count.clamp(min=1.0)
    share = count / durations.to(frame_f0.dtype).clamp(min=1.0)
    return torch.stack([pitch, share], dim=-1)


VOICED_SHARE = 0.5
"""A frame is voiced when the tokens it reads (by the upsampling weights) are voiced for at
least this share of their frames."""


def frame_f0(pitch: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Frame F0 from token pitch features, for a pitch-driven vocoder.

    ``pitch (B, T, 2)`` (``token_pitch``'s features, a shift already applied), ``weights (B, F,
    T)`` (the decoder's upsampling weights: which tokens each frame reads) -> ``(B, F)`` Hz, 0 =
    unvoiced. A frame's log F0 is the weighted mean over the tokens with any voicing, so the
    contour glides between phonemes instead of stepping; it is voiced when the weighted voiced
    share reaches ``VOICED_SHARE``. A shift of the features' log F0 by N semitones moves every
    voiced frame by exactly N semitones.
    """
    share = pitch[..., 1].clamp(0.0, 1.0)
    has_voice = (share > 0.1).to(pitch.dtype)
    voiced = (weights @ share.unsqueeze(-1)).squeeze(-1) >= VOICED_SHARE
    mass = (weights @ has_voice.unsqueeze(-1)).squeeze(-1)
    log_f0 = (weights @ (pitch[..., 0] * has_voice).unsqueeze(-1)).squeeze(-1) / mass.clamp(
        min=1e-6)
    return torch.where(voiced & (mass > 1e-3), REFERENCE_HZ * torch.exp(log_f0),
                       torch.zeros_like(log_f0))


class PitchPredictor(nn.Module):
    """``(B, T, in_dim)``, mask ``(B, T)`` -> ``(B, T, 2)`` predicted token pitch features
    (see ``token_pitch``), zero on padding."""

    def __init__(self, in_dim: int, dim: int, layers: int, kernel_size: int = 3,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.convs = ConvStack(in_dim, dim, layers, kernel_size, dropout)
        self.output = nn.Linear(dim, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.convs(x.transpose(1, 2), mask).transpose(1, 2)
        return self.output(hidden) * mask.unsqueeze(-1)


class PitchEmbedding(nn.Module):
    """Token pitch features ``(B, T, 2)`` -> ``(B, T, dim)`` added to the encoder memory.

    The log F0 is gated by the voiced share, so an unvoiced token says nothing about pitch. The
    convolution starts at zero: a model fine-tuned from one without pitch starts where it was.
    """

    def __init__(self, dim: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, dim, kernel_size, padding=kernel_size // 2)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        share = features[..., 1].clamp(0.0, 1.0)
        gated = torch.stack([features[..., 0] * share, share], dim=1)  # (B, 2, T)
        return self.conv(gated * mask.unsqueeze(1)).transpose(1, 2) * mask.unsqueeze(-1)
