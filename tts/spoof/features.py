"""The detector's front end: 16 kHz audio -> log energies of a linear-frequency filterbank.

A linear (not mel) filterbank keeps the resolution of the upper band, where vocoders and
concatenative synthesizers leave most of their traces (the reason LFCC beats MFCC in ASVspoof
countermeasures). Each window's per-band mean is subtracted (``normalize``), which removes a
fixed microphone or room colouring and the recording level, so that the network cannot tell
corpora apart by their equalisation instead of by how the speech was made.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 16_000
"""Every recording is resampled to this rate before scoring."""


@dataclasses.dataclass(frozen=True)
class FrontEndConfig:
    """The feature definition, stored in the checkpoint (strict YAML ``features:`` section)."""

    sample_rate: int = SAMPLE_RATE
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_bands: int = 64
    f_min: float = 0.0
    f_max: float = 8000.0
    log_floor: float = 1e-7


def linear_filterbank(config: FrontEndConfig) -> np.ndarray:
    """Triangular filters with centres equally spaced in Hz: ``(n_bands, n_fft // 2 + 1)``."""
    bins = np.linspace(0.0, config.sample_rate / 2, config.n_fft // 2 + 1)
    edges = np.linspace(config.f_min, config.f_max, config.n_bands + 2)
    bank = np.zeros((config.n_bands, len(bins)), dtype=np.float32)
    for i in range(config.n_bands):
        low, centre, high = edges[i], edges[i + 1], edges[i + 2]
        rising = (bins - low) / (centre - low)
        falling = (high - bins) / (high - centre)
        bank[i] = np.clip(np.minimum(rising, falling), 0.0, None)
    return bank


class LogFilterbank(nn.Module):
    """``wav (batch, samples)`` at ``config.sample_rate`` -> ``(batch, n_bands, frames)`` log
    filterbank energies, ``frames = 1 + samples // hop_length`` (centred frames)."""

    def __init__(self, config: FrontEndConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)
        self.register_buffer("bank", torch.from_numpy(linear_filterbank(config)),
                             persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        c = self.config
        spec = torch.stft(wav, c.n_fft, c.hop_length, c.win_length, self.window,
                          center=True, pad_mode="constant", return_complex=True)
        power = spec.real ** 2 + spec.imag ** 2
        return torch.log(torch.matmul(self.bank, power) + c.log_floor)


def normalize(features: torch.Tensor) -> torch.Tensor:
    """Subtract each band's mean over the window's frames: ``(batch, n_bands, frames)`` in and
    out (per-window cepstral-mean-style normalisation)."""
    return features - features.mean(dim=-1, keepdim=True)


def speech_frames(wav: np.ndarray, config: FrontEndConfig, floor_dbfs: float = -55.0,
                  top_db: float = 35.0) -> np.ndarray:
    """Which frames of ``wav (samples,)`` carry sound worth judging: ``(frames,)`` bool, one per
    front-end frame. A frame counts when its level is above ``floor_dbfs`` and within ``top_db``
    of the loudest frame (an energy gate: silence and near-silence are left out; steady noise
    passes it, so ``score`` also checks that the loud frames are not spectrally flat)."""
    hop = config.hop_length
    frames = 1 + len(wav) // hop
    padded = np.pad(wav.astype(np.float64), (config.win_length // 2, config.win_length))
    idx = np.arange(config.win_length)[None, :] + hop * np.arange(frames)[:, None]
    rms = np.sqrt(np.mean(padded[idx] ** 2, axis=1) + 1e-20)
    db = 20 * np.log10(rms)
    return (db > floor_dbfs) & (db > db.max() - top_db)
