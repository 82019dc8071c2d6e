"""Pitch errors of a resynthesis against its recording: gross pitch error and voicing decision
error, from the pYIN tracks of ``tts.prosody.pitch_track`` (16 kHz, 60 to 500 Hz, 10 ms frames).

==================  ===========================================================  ======  ======
measure             what                                                         range   better
==================  ===========================================================  ======  ======
``gpe``             gross pitch error: among frames voiced in both, the share    0 to 1  lower
                    whose F0 differs from the reference's by more than 20%
``vde``             voicing decision error: among all frames, the share where    0 to 1  lower
                    one track is voiced and the other is not
==================  ===========================================================  ======  ======

``PitchErrors`` keeps the frame counts, so that a set of clips is scored over all their frames
(``pool``) rather than as a mean of per-clip ratios. Tracks of different lengths are compared
over the shorter one (a vocoder may add or drop a few samples at the end).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np

__all__ = ["GROSS_ERROR", "PitchErrors", "compare_tracks", "pitch_errors", "pool", "track"]

GROSS_ERROR = 0.2
"""An F0 further than this share from the reference's is a gross error."""

Track = tuple[np.ndarray, np.ndarray]
"""``(f0_hz (frames,), voiced (frames,) bool)`` as ``tts.prosody.pitch_track`` gives it."""


@dataclasses.dataclass(frozen=True)
class PitchErrors:
    """Frame counts of one comparison (or a pool of them): ``gross_errors`` of the
    ``both_voiced`` frames are off by more than ``GROSS_ERROR``; ``voicing_errors`` of the
    ``frames`` disagree on voicing."""

    gross_errors: int = 0
    both_voiced: int = 0
    voicing_errors: int = 0
    frames: int = 0

    @property
    def gpe(self) -> float:
        """Gross pitch error, 0 to 1; NaN when no frame is voiced in both."""
        return self.gross_errors / self.both_voiced if self.both_voiced else math.nan

    @property
    def vde(self) -> float:
        """Voicing decision error, 0 to 1; NaN when there are no frames."""
        return self.voicing_errors / self.frames if self.frames else math.nan

    def __add__(self, other: PitchErrors) -> PitchErrors:
        return PitchErrors(*(a + b for a, b in zip(dataclasses.astuple(self),
                                                   dataclasses.astuple(other), strict=True)))


def pool(errors: Iterable[PitchErrors]) -> PitchErrors:
    """The counts of several comparisons added up (frame-weighted GPE and VDE)."""
    total = PitchErrors()
    for e in errors:
        total = total + e
    return total


def _as_track(f0: np.ndarray, voiced: np.ndarray | None) -> Track:
    f0 = np.asarray(f0, dtype=np.float64).reshape(-1)
    if voiced is None:
        voiced = np.isfinite(f0) & (f0 > 0)
    voiced = np.asarray(voiced, dtype=bool).reshape(-1)
    if voiced.shape != f0.shape:
        raise ValueError(f"f0 {f0.shape} and voiced {voiced.shape} differ in length")
    if (voiced & ~(np.isfinite(f0) & (f0 > 0))).any():
        raise ValueError("a voiced frame has no positive F0")
    return f0, voiced


def compare_tracks(ref: Track, deg: Track, threshold: float = GROSS_ERROR) -> PitchErrors:
    """Count the errors of track ``deg`` against track ``ref``; each is ``(f0_hz (frames,),
    voiced (frames,) bool)`` or ``(f0_hz, None)`` with 0 or NaN marking unvoiced frames."""
    f0_ref, v_ref = _as_track(*ref)
    f0_deg, v_deg = _as_track(*deg)
    n = min(len(v_ref), len(v_deg))
    f0_ref, v_ref, f0_deg, v_deg = f0_ref[:n], v_ref[:n], f0_deg[:n], v_deg[:n]
    both = v_ref & v_deg
    off = np.abs(f0_deg[both] / f0_ref[both] - 1.0) > threshold
    return PitchErrors(gross_errors=int(off.sum()), both_voiced=int(both.sum()),
                       voicing_errors=int((v_ref != v_deg).sum()), frames=int(n))


def track(wav: np.ndarray, sample_rate: int) -> Track:
    """The pYIN track (``tts.prosody.pitch_track``) of mono ``wav (num_samples,)``."""
    from tts.prosody import pitch_track

    return pitch_track(np.asarray(wav, dtype=np.float32).reshape(-1), sample_rate)


def pitch_errors(ref: np.ndarray, deg: np.ndarray, sample_rate: int,
                 ref_track: Track | None = None) -> PitchErrors:
    """GPE and VDE counts of waveform ``deg`` against ``ref`` (both mono ``(num_samples,)`` at
    ``sample_rate``); ``ref_track`` reuses the reference's track when several outputs are
    scored against one recording."""
    return compare_tracks(ref_track if ref_track is not None else track(ref, sample_rate),
                          track(deg, sample_rate))
