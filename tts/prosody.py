"""Prosody statistics of a waveform: pitch and loudness, to check that emotions change them.

``prosody(wav, sample_rate)`` gives the median F0 (Hz, pYIN over voiced frames), the F0 spread
(semitones, standard deviation), the mean frame energy (dB RMS over voiced frames) and the share
of voiced frames. ``scripts/evaluate.py emotions`` compares these per emotion between a model's
speech and the labelled recordings.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Prosody", "prosody", "pitch_track", "frame_pitch", "FMIN_HZ", "FMAX_HZ"]

ANALYSIS_RATE = 16_000


@dataclasses.dataclass(frozen=True)
class Prosody:
    f0_hz: float
    f0_spread_semitones: float
    energy_db: float
    voiced_share: float


FRAME, HOP = 1024, 160
"""pYIN analysis at ``ANALYSIS_RATE``: 64 ms frames every 10 ms."""
FMIN_HZ, FMAX_HZ = 60.0, 500.0
"""The pitch range every tracker here searches."""


def pitch_track(wav: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """pYIN F0 of mono ``wav (num_samples,)``, resampled to 16 kHz, 60 to 500 Hz, every 10 ms:
    ``(f0_hz (frames,), voiced (frames,) bool)``; ``f0_hz`` is NaN where unvoiced."""
    from tts.audio import resample

    return _pyin(resample(np.asarray(wav, dtype=np.float32), sample_rate, ANALYSIS_RATE))


def _pyin(wav: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pitch_track`` of ``wav`` already at ``ANALYSIS_RATE``."""
    import librosa

    f0, voiced, _ = librosa.pyin(wav, fmin=FMIN_HZ, fmax=FMAX_HZ, sr=ANALYSIS_RATE,
                                 frame_length=FRAME, hop_length=HOP)
    return f0, voiced


def frame_pitch(wav: np.ndarray, audio) -> np.ndarray:
    """F0 on the mel frames of ``audio`` (a ``tts.config.AudioConfig``): mono ``wav
    (num_samples,)`` at ``audio.sample_rate`` -> ``(1 + num_samples // hop_length,)`` float32 Hz,
    0 where unvoiced. pYIN centred on the mel frames' centres; coarser than ``pitch_track``
    (20-cent grid, 20 thresholds: about 3x faster, same medians) since it runs over whole
    corpora for the acoustic model's pitch targets (``data.pitch``)."""
    import librosa

    rate = audio.sample_rate
    frame = 1 << int(np.ceil(np.log2(2 * rate / FMIN_HZ)))  # two periods of the lowest pitch
    wav = np.asarray(wav, dtype=np.float32)
    frames = 1 + len(wav) // audio.hop_length
    if len(wav) < frame:
        return np.zeros(frames, np.float32)
    f0, voiced, _ = librosa.pyin(wav, fmin=FMIN_HZ, fmax=FMAX_HZ, sr=rate, frame_length=frame,
                                 hop_length=audio.hop_length, n_thresholds=20, resolution=0.2,
                                 max_transition_rate=35.0)
    f0 = np.where(voiced, np.nan_to_num(f0), 0.0).astype(np.float32)[:frames]
    return np.pad(f0, (0, frames - len(f0)))


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
