"""Recipes for the corpora in the project's shared data folder, named after their folders.

Each folder has a pipe-separated ``metadata.csv`` with a header (checked exactly, so a recipe
pointed at the wrong folder fails at once) and one fixed audio layout, described in its README.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from data.manifest import Utterance
from data.recipes.common import read_table, require_dir
from tts.errors import DataError


def _read(src: Path, recipe: str, columns: Sequence[str], audio: Callable[[dict], str],
          speaker: Callable[[dict], str], text: str = "text",
          emotion: str | None = None) -> list[Utterance]:
    expected = f"the {recipe} folder with metadata.csv ({'|'.join(columns)})"
    require_dir(src, recipe, expected)
    rows = read_table(src / "metadata.csv", columns, recipe)
    if not rows:
        raise DataError(f"{recipe}: {src / 'metadata.csv'} has a header but no rows")
    first = src / audio(rows[0])
    if not first.parent.is_dir():
        raise DataError(f"{recipe}: audio folder {first.parent} not found (expected {expected})")
    return [Utterance(id=row["id"], audio_path=str(src / audio(row)), text=row[text],
                      speaker=speaker(row), emotion=row[emotion] if emotion else None)
            for row in rows]


def kathleen_arctic(src: Path, *, speaker: str = "kathleen") -> list[Utterance]:
    """kathleen-arctic: ``wavs/ID.ogg`` (48 kHz Opus), one speaker, per-take ARCTIC text."""
    return _read(src, "kathleen-arctic", ("id", "text"), lambda r: f"wavs/{r['id']}.ogg",
                 lambda r: speaker)


def commonvoice_en(src: Path) -> list[Utterance]:
    """commonvoice-en: ``wavs/ID.mp3``; speaker = 12-hex-digit client id prefix."""
    columns = ("id", "speaker", "gender", "age", "accent", "text", "release")
    return _read(src, "commonvoice-en", columns, lambda r: f"wavs/{r['id']}.mp3",
                 lambda r: r["speaker"])


def librispeech_251(src: Path) -> list[Utterance]:
    """librispeech-251: ``SPEAKER/ID.flac``, one clip per speaker, machine (Whisper) text."""
    return _read(src, "librispeech-251", ("id", "speaker", "gender", "text"),
                 lambda r: f"{r['speaker']}/{r['id']}.flac", lambda r: r["speaker"])


def ljspeech_sample(src: Path, *, speaker: str = "LJ") -> list[Utterance]:
    """ljspeech-sample: ``wavs/ID.flac``; the ``normalized_text`` column is used."""
    return _read(src, "ljspeech-sample", ("id", "text", "normalized_text"),
                 lambda r: f"wavs/{r['id']}.flac", lambda r: speaker, text="normalized_text")


RAVDESS_EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
"""RAVDESS emotion names in the order of the corpus' emotion codes 01-08."""


def ravdess_speech(src: Path) -> list[Utterance]:
    """ravdess-speech: ``Actor_XX/ID.flac``, speaker ``Actor_XX``, emotion from the metadata."""
    columns = ("id", "speaker", "gender", "emotion", "intensity", "text")
    utterances = _read(src, "ravdess-speech", columns, lambda r: f"{r['speaker']}/{r['id']}.flac",
                       lambda r: r["speaker"], emotion="emotion")
    for utt in utterances:
        if utt.emotion not in RAVDESS_EMOTIONS:
            raise DataError(f"ravdess-speech: {utt.id} has unknown emotion {utt.emotion!r} "
                            f"(expected one of {', '.join(RAVDESS_EMOTIONS)})")
    return utterances


def _sentence_case(text: str) -> str:
    """``IT WAS GOOD FOR ME`` -> ``It was good for me`` (all-caps words would read as acronyms)."""
    text = re.sub(r"\bi\b", "I", text.lower())
    return text[:1].upper() + text[1:]


def speechocean762_adults(src: Path) -> list[Utterance]:
    """speechocean762-adults: ``wavs/ID.ogg``; the upper-case prompts are put in sentence case."""
    utterances = _read(src, "speechocean762-adults", ("id", "speaker", "gender", "age", "text"),
                       lambda r: f"wavs/{r['id']}.ogg", lambda r: r["speaker"])
    return [Utterance(id=u.id, audio_path=u.audio_path, text=_sentence_case(u.text),
                      speaker=u.speaker) for u in utterances]
