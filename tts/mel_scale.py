"""Slaney's mel scale and the mel filterbank of ``tts.audio``'s one mel definition, in numpy (no
librosa, no torch): what ``tts.mel.MelSpectrogram`` and the source-filter vocoder build on.
Also reachable as ``tts.audio.mel_filterbank``."""

from __future__ import annotations

import math

import numpy as np

from tts.config import AudioConfig

__all__ = ["hz_to_mel", "mel_to_hz", "mel_frequencies", "mel_filterbank"]

_MEL_HZ = 200.0 / 3
"""Slaney's mel scale (librosa's default, ``htk=False``): one mel per 200/3 Hz up to 1 kHz..."""
_MEL_BREAK_HZ = 1000.0
_MEL_BREAK = _MEL_BREAK_HZ / _MEL_HZ
_MEL_LOG_STEP = math.log(6.4) / 27.0
"""... and 27 mels per factor 6.4 above it."""


def hz_to_mel(hz) -> np.ndarray:
    """Hz -> mels on Slaney's scale (every voxclone mel's); float64, same shape."""
    hz = np.asarray(hz, dtype=np.float64)
    above = np.log(np.maximum(hz, _MEL_BREAK_HZ) / _MEL_BREAK_HZ) / _MEL_LOG_STEP
    return np.where(hz >= _MEL_BREAK_HZ, _MEL_BREAK + above, hz / _MEL_HZ)


def mel_to_hz(mel) -> np.ndarray:
    """Mels on Slaney's scale -> Hz (the inverse of ``hz_to_mel``); float64, same shape."""
    mel = np.asarray(mel, dtype=np.float64)
    above = _MEL_BREAK_HZ * np.exp(_MEL_LOG_STEP * (np.maximum(mel, _MEL_BREAK) - _MEL_BREAK))
    return np.where(mel >= _MEL_BREAK, above, _MEL_HZ * mel)


def mel_frequencies(count: int, f_min: float, f_max: float) -> np.ndarray:
    """``(count,)`` Hz evenly spaced on the mel scale from ``f_min`` to ``f_max``."""
    return mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), count))


def mel_filterbank(config: AudioConfig) -> np.ndarray:
    """Slaney mel filterbank ``(n_mels, n_fft // 2 + 1)`` float32 for ``config``: triangles
    between consecutive band edges (``mel_frequencies``), each scaled to the same area
    (2 / its width in Hz). Identical to ``librosa.filters.mel(..., htk=False, norm="slaney")``
    without importing librosa (and scipy.signal with it)."""
    edges = mel_frequencies(config.n_mels + 2, config.f_min, config.f_max)  # (n_mels + 2,)
    bins = np.fft.rfftfreq(config.n_fft, 1.0 / config.sample_rate)  # (n_fft // 2 + 1,)
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, bins)
    rising, falling = -ramps[:-2] / widths[:-1, None], ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(rising, falling)).astype(np.float32)
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights
