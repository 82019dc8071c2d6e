"""Reference audio for cloning: find the files, clean every clip, keep only speech.

``load_reference(paths)`` expands files and folders, loads each clip (any format and rate; mono,
silence trimmed, loudness normalised by ``tts.audio.load_audio``), measures its speech with the
Silero voice-activity detector (``silero-vad``, whose model ships in its wheel) and rejects clips
that hold too little speech (silence, noise, music) or are too short. The ``ReferenceSet`` keeps
the usable clips at ``REFERENCE_RATE`` and a summary of what was found and why a clip was left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from tts.audio import load_audio
from tts.errors import AudioError

__all__ = ["ReferenceClip", "ReferenceSet", "load_reference", "speech_seconds", "find_audio",
           "REFERENCE_RATE", "MIN_CLIP_SPEECH", "MIN_SPEECH_SHARE", "MIN_TOTAL_SPEECH"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
REFERENCE_RATE = 16_000
"""Rate of the cleaned clips (the voice-activity detector's and the speaker encoder's rate)."""
MIN_CLIP_SPEECH = 1.0
"""A clip needs this many seconds of detected speech."""
MIN_SPEECH_SHARE = 0.3
"""...and this share of its (trimmed) length detected as speech: less is noise or music."""
MIN_TOTAL_SPEECH = 3.0
"""A voice needs at least this much usable speech in all."""


@dataclasses.dataclass(frozen=True)
class ReferenceClip:
    """One usable clip: ``wav (samples,)`` float32 at ``REFERENCE_RATE``, cleaned."""

    path: Path
    wav: np.ndarray
    speech: float
    """Seconds of detected speech."""

    @property
    def seconds(self) -> float:
        return len(self.wav) / REFERENCE_RATE


@dataclasses.dataclass
class ReferenceSet:
    """The usable clips and the files left out (path, one-line reason)."""

    clips: list[ReferenceClip]
    rejected: list[tuple[Path, str]]

    @property
    def speech(self) -> float:
        """Seconds of detected speech over all usable clips."""
        return sum(c.speech for c in self.clips)

    def summary(self) -> str:
        """One line: how much usable speech in how many clips, and how many were left out."""
        line = (f"{self.speech:.1f} s of usable speech in {len(self.clips)} clip(s)")
        if self.rejected:
            line += f"; {len(self.rejected)} left out ({self.rejected[0][0].name}: " \
                    f"{self.rejected[0][1]}{', ...' if len(self.rejected) > 1 else ''})"
        return line


def find_audio(items: Sequence[str | Path]) -> list[Path]:
    """Audio files named by ``items``: files as given, folders searched recursively (sorted);
    ``AudioError`` for a path that does not exist or a folder without audio."""
    found: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*")
                            if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not inside:
                raise AudioError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {path}")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise AudioError(f"reference audio not found: {path}")
    if not found:
        raise AudioError("no reference audio given")
    return found


class _Detector:
    """The Silero voice-activity detector, loaded once per ``load_reference`` call."""

    def __init__(self) -> None:
        from silero_vad import load_silero_vad

        self.model = load_silero_vad()

    def speech(self, wav: np.ndarray) -> float:
        from silero_vad import get_speech_timestamps

        with torch.inference_mode():
            spans = get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(wav)), self.model,
                                          sampling_rate=REFERENCE_RATE)
        return sum(s["end"] - s["start"] for s in spans) / REFERENCE_RATE


def speech_seconds(wav: np.ndarray) -> float:
    """Seconds of speech that the voice-activity detector finds in ``wav`` at REFERENCE_RATE."""
    return _Detector().speech(np.asarray(wav, np.float32))


def load_reference(items: Sequence[str | Path], min_total: float = MIN_TOTAL_SPEECH
                   ) -> ReferenceSet:
    """Load and clean the reference audio in ``items`` (files and folders).

    Unreadable, silent, too short or non-speech clips are left out (listed in ``rejected``);
    ``AudioError`` when nothing usable, or less than ``min_total`` seconds of speech, remains.
    """
    detector = _Detector()
    clips: list[ReferenceClip] = []
    rejected: list[tuple[Path, str]] = []
    for path in find_audio(items):
        try:
            wav = load_audio(path, REFERENCE_RATE, min_duration=0.5)
        except AudioError as exc:
            rejected.append((path, str(exc).split(": ")[0]))
            continue
        speech = detector.speech(wav)
        share = speech * REFERENCE_RATE / len(wav)
        if speech < MIN_CLIP_SPEECH or share < MIN_SPEECH_SHARE:
            rejected.append((path, f"not speech ({speech:.1f} s of speech found: silence, "
                                   f"noise or music?)"))
            continue
        clips.append(ReferenceClip(path, wav.astype(np.float32), speech))
    found = ReferenceSet(clips, rejected)
    if not clips:
        reason = rejected[0][1] if rejected else "no clips"
        raise AudioError(f"no usable speech in the reference audio ({len(rejected)} file(s) "
                         f"left out; first: {rejected[0][0].name}: {reason})")
    if found.speech < min_total:
        raise AudioError(f"too little speech in the reference audio: {found.summary()}; need at "
                         f"least {min_total:.0f} s")
    return found
