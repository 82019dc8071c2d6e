"""Prosody statistics of a waveform: pitch and loudness, to check that emotions change them.

``prosody(wav, sample_rate)`` gives the median F0 (Hz, pYIN over voiced frames), the F0 spread
(semitones, standard deviation), the mean frame energy (dB RMS over voiced frames) and the share
of voiced frames. ``scripts/evaluate.py emotions`` compares these per emotion between a model's
speech and the labelled recordings.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Prosody", "prosody"]

ANALYSIS_RATE = 16_000


@dataclasses.dataclass(frozen=True)
class Prosody:
    f0_hz: float
    f0_spread_semitones: float
    energy_db: float
    voiced_share: float


def prosody(wav: np.ndarray, sample_rate: int) -> Prosody:
    """Pitch and loudness of mono ``wav (num_samples,)`` (resampled to 16 kHz first)."""
    import librosa

    from tts.audio import resample

    wav = resample(np.asarray(wav, dtype=np.float32), sample_rate, ANALYSIS_RATE)
    frame, hop = 1024, 160
    f0, voiced, _ = librosa.pyin(wav, fmin=60.0, fmax=500.0, sr=ANALYSIS_RATE,
                                 frame_length=frame, hop_length=hop)
    rms = librosa.feature.rms(y=wav, frame_length=frame, hop_length=hop)[0][: len(voiced)]
    if not voiced.any():
        return Prosody(float("nan"), float("nan"), float("nan"), 0.0)
    pitch = f0[voiced]
    semitones = 12 * np.log2(pitch / np.median(pitch))
    energy = 20 * np.log10(np.maximum(rms[voiced[: len(rms)]], 1e-5))
    return Prosody(float(np.median(pitch)), float(semitones.std()), float(energy.mean()),
                   float(voiced.mean()))
