"""Reference audio for cloning: find the files, clean every clip, keep only speech.

``load_reference(paths)`` expands files and folders, loads each clip (any format and rate; mono,
silence trimmed, loudness normalised by ``tts.audio.load_audio``), measures its speech with the
Silero voice-activity detector (``tts.vad``) and rejects clips that hold too little speech (silence, noise, music) or are too short, and cuts recordings longer
than ``MAX_CLIP_SECONDS`` at pauses into pieces (training clips). The ``ReferenceSet`` keeps
the usable clips at ``REFERENCE_RATE`` and a summary of what was found and why a clip was left out;
given ``model_rate``, also each usable file cleaned at that rate from the same decoded samples
(for the acoustic model's reference encoder), so that no file is decoded twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tts.audio import audio_files, clean_audio, decode_audio
from tts.errors import AudioError
from tts.vad import VAD_RATE, SpeechDetector

__all__ = ["ReferenceClip", "ReferenceSet", "load_reference", "find_audio",
           "REFERENCE_RATE", "MIN_CLIP_SPEECH", "MIN_SPEECH_SHARE", "MIN_TOTAL_SPEECH"]

REFERENCE_RATE = VAD_RATE
"""Rate of the cleaned clips (the voice-activity detector's and the speaker encoder's rate)."""
MIN_CLIP_SPEECH = 1.0
"""A clip needs this many seconds of detected speech."""
MIN_SPEECH_SHARE = 0.3
"""...and this share of its (trimmed) length detected as speech: less is noise or music."""
MIN_TOTAL_SPEECH = 3.0
"""A voice needs at least this much usable speech in all."""
MAX_CLIP_SECONDS = 15.0
"""Longer recordings are cut at pauses into pieces of at most this length (training clips)."""


@dataclasses.dataclass(frozen=True)
class ReferenceClip:
    """One usable clip: ``wav (samples,)`` float32 at ``REFERENCE_RATE``, cleaned."""

    path: Path
    wav: np.ndarray
    speech: float
    """Seconds of detected speech."""
    span: tuple[float, float] | None = None
    """For a piece of a longer recording: its start and end (s) in the trimmed recording."""

    @property
    def seconds(self) -> float:
        return len(self.wav) / REFERENCE_RATE


@dataclasses.dataclass
class ReferenceSet:
    """The usable clips and the files left out (path, one-line reason)."""

    clips: list[ReferenceClip]
    rejected: list[tuple[Path, str]]
    model_rate: int | None = None
    """The rate of ``model_audio`` (``load_reference``'s ``model_rate``), or None."""
    model_audio: dict[Path, np.ndarray] = dataclasses.field(default_factory=dict)
    """Each usable file, whole, cleaned at ``model_rate`` (float32 ``(samples,)``)."""

    @property
    def speech(self) -> float:
        """Seconds of detected speech over all usable clips."""
        return sum(c.speech for c in self.clips)

    def summary(self) -> str:
        """One line: how much usable speech in how many clips, and how many were left out."""
        line = (f"{self.speech:.1f} s of usable speech in {len(self.clips)} clip(s)")
        files = len({c.path for c in self.clips})
        if files != len(self.clips):
            line += f" from {files} file(s)"
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
            found += audio_files(path)
        elif path.is_file():
            found.append(path)
        else:
            raise AudioError(f"reference audio not found: {path}")
    if not found:
        raise AudioError("no reference audio given")
    return found


def _pieces(spans: list[tuple[int, int]], length: int, limit: int) -> list[tuple[int, int]]:
    """Cut a long recording of ``length`` samples with speech ``spans`` into pieces of at most
    about ``limit`` samples: a piece grows span by span and is cut in the middle of the pause
    before the span that would make it too long (a single longer span is cut hard)."""
    pieces: list[tuple[int, int]] = []
    start = 0
    for i, (_, end) in enumerate(spans):
        while end - start > limit:
            pieces.append((start, start + limit))
            start += limit
        if i + 1 == len(spans):
            pieces.append((start, length))
        elif spans[i + 1][1] - start > limit:
            cut = (end + spans[i + 1][0]) // 2
            pieces.append((start, cut))
            start = cut
    return pieces



def load_reference(items: Sequence[str | Path], min_total: float = MIN_TOTAL_SPEECH,
                   model_rate: int | None = None) -> ReferenceSet:
    """Load and clean the reference audio in ``items`` (files and folders).

    Unreadable, silent, too short or non-speech clips are left out (listed in ``rejected``);
    ``AudioError`` when nothing usable, or less than ``min_total`` seconds of speech, remains.
    With ``model_rate``, each usable file is also cleaned at that rate (``model_audio``) from
    the samples decoded for its clips: the same audio as ``load_audio(path, model_rate,
    min_duration=0.5)``.
    """
    detector = SpeechDetector()
    clips: list[ReferenceClip] = []
    rejected: list[tuple[Path, str]] = []
    model_audio: dict[Path, np.ndarray] = {}
    for path in find_audio(items):
        try:
            decoded = decode_audio(path)
            wav = clean_audio(*decoded, REFERENCE_RATE, path, min_duration=0.5)
        except AudioError as exc:
            rejected.append((path, str(exc).split(": ")[0]))
            continue
        spans = detector.spans(wav)
        speech = sum(e - s for s, e in spans) / REFERENCE_RATE
        share = speech * REFERENCE_RATE / len(wav)
        if speech < MIN_CLIP_SPEECH or share < MIN_SPEECH_SHARE:
            rejected.append((path, f"not speech ({speech:.1f} s of speech found: silence, "
                                   f"noise or music?)"))
            continue
        if model_rate is not None:
            model_audio[path] = clean_audio(*decoded, model_rate, path, min_duration=0.5)
        wav = wav.astype(np.float32)
        if len(wav) <= MAX_CLIP_SECONDS * REFERENCE_RATE:
            clips.append(ReferenceClip(path, wav, speech))
            continue
        for start, end in _pieces(spans, len(wav), int(MAX_CLIP_SECONDS * REFERENCE_RATE)):
            inside = sum(max(0, min(e, end) - max(s, start)) for s, e in spans) / REFERENCE_RATE
            if inside >= MIN_CLIP_SPEECH:
                clips.append(ReferenceClip(path, wav[start:end], inside,
                                           (start / REFERENCE_RATE, end / REFERENCE_RATE)))
    found = ReferenceSet(clips, rejected, model_rate, model_audio)
    if not clips:
        reason = rejected[0][1] if rejected else "no clips"
        raise AudioError(f"no usable speech in the reference audio ({len(rejected)} file(s) "
                         f"left out; first: {rejected[0][0].name}: {reason})")
    if found.speech < min_total:
        raise AudioError(f"too little speech in the reference audio: {found.summary()}; need at "
                         f"least {min_total:.0f} s")
    return found
