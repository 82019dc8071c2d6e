"""Pitch statistics pooled over many clips: how high a voice speaks, and how far apart two pitches
are in semitones (``scripts/evaluate.py pitch`` checks issue 24's pitch targets with them).

``speech_median_f0(clips)`` tracks speech with ``tts.prosody.pitch_track`` (pYIN, 16 kHz, 10 ms)
and ``voiced_median(tracks)`` takes F0 tracks that are already there (``data/pitch.npz``'s frame F0,
0 where unvoiced); both give the median over the voiced frames of all clips together, so a long
clip weighs more than a short one, as it does to a listener.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np

__all__ = ["PooledPitch", "voiced_median", "speech_median_f0", "semitones"]


@dataclasses.dataclass(frozen=True)
class PooledPitch:
    """Median F0 (Hz; NaN when no frame is voiced) over ``voiced_frames`` voiced frames of
    ``clips`` clips."""

    median_hz: float
    voiced_frames: int
    clips: int


def voiced_median(tracks: Iterable[np.ndarray]) -> PooledPitch:
    """Median of the voiced frames of F0 ``tracks`` (each ``(frames,)`` Hz; 0 or NaN where
    unvoiced), pooled over all tracks."""
    voiced, clips = [], 0
    for track in tracks:
        track = np.asarray(track, dtype=np.float64)
        voiced.append(track[np.isfinite(track) & (track > 0)])
        clips += 1
    pooled = np.concatenate(voiced) if voiced else np.zeros(0)
    median = float(np.median(pooled)) if len(pooled) else math.nan
    return PooledPitch(median, int(len(pooled)), clips)


def speech_median_f0(clips: Iterable[tuple[np.ndarray, int]]) -> PooledPitch:
    """``voiced_median`` of the pYIN tracks (``tts.prosody.pitch_track``) of ``clips``, each
    ``(wav (num_samples,), sample_rate)``."""
    from tts.prosody import pitch_track

    def tracks():
        for wav, rate in clips:
            f0, voiced = pitch_track(wav, rate)
            yield np.where(voiced, f0, 0.0)

    return voiced_median(tracks())


def semitones(f0_hz: float, reference_hz: float) -> float:
    """How far ``f0_hz`` lies above ``reference_hz``: ``12 log2(f0 / reference)`` semitones
    (negative below); NaN when either is missing (NaN) or not positive."""
    if not (f0_hz > 0 and reference_hz > 0):  # also False for NaN
        return math.nan
    return 12.0 * math.log2(f0_hz / reference_hz)
