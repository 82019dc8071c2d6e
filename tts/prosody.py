"""Prosody statistics of a waveform: pitch and loudness, to check that emotions change them.

``prosody(wav, sample_rate)`` gives the median F0 (Hz, pYIN over voiced frames), the F0 spread
(semitones, standard deviation), the mean frame energy (dB RMS over voiced frames) and the share
of voiced frames. ``scripts/evaluate.py emotions`` compares these per emotion between a model's
speech and the labelled recordings.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Prosody", "prosody", "pitch_track"]

ANALYSIS_RATE = 16_000


@dataclasses.dataclass(frozen=True)
class Prosody:
    f0_hz: float
    f0_spread_semitones: float
    energy_db: float
    voiced_share: float


FRAME, HOP = 1024, 160
"""pYIN analysis at ``ANALYSIS_RATE``: 64 ms frames every 10 ms."""


def pitch_track(wav: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """pYIN F0 of mono ``wav (num_samples,)``, resampled to 16 kHz, 60 to 500 Hz, every 10 ms:
    ``(f0_hz (frames,), voiced (frames,) bool)``; ``f0_hz`` is NaN where unvoiced."""
    from tts.audio import resample

    return _pyin(resample(np.asarray(wav, dtype=np.float32), sample_rate, ANALYSIS_RATE))


def _pyin(wav: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pitch_track`` of ``wav`` already at ``ANALYSIS_RATE``."""
    import librosa

    f0, voiced, _ = librosa.pyin(wav, fmin=60.0, fmax=500.0, sr=ANALYSIS_RATE,
                                 frame_length=FRAME, hop_length=HOP)
    return f0, voiced


def prosody(wav: np.ndarray, sample_rate: int) -> Prosody:
    """Pitch and loudness of mono ``wav (num_samples,)`` (resampled to 16 kHz first)."""
    import librosa

    from tts.audio import resample

    wav = resample(np.asarray(wav, dtype=np.float32), sample_rate, ANALYSIS_RATE)
    f0, voiced = _pyin(wav)
    rms = librosa.feature.rms(y=wav, frame_length=FRAME, hop_length=HOP)[0][: len(voiced)]
    if not voiced.any():
        return Prosody(float("nan"), float("nan"), float("nan"), 0.0)
    pitch = f0[voiced]
    semitones = 12 * np.log2(pitch / np.median(pitch))
    energy = 20 * np.log10(np.maximum(rms[voiced[: len(rms)]], 1e-5))
    return Prosody(float(np.median(pitch)), float(semitones.std()), float(energy.mean()),
                   float(voiced.mean()))
