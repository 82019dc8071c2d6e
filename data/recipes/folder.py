"""The generic ``folder`` recipe: audio with sidecar transcripts, or a ``metadata.csv``."""

from __future__ import annotations

import csv
import io
from pathlib import Path, PurePosixPath

from data.manifest import Utterance
from data.recipes.common import AUDIO_SUFFIXES, read_text, report_untranscribed, require_dir
from tts.errors import DataError

_FILE_HEADERS = {"file", "filename", "file_name", "path", "audio", "audio_path", "audio_file",
                 "wav", "id"}
_TEXT_HEADERS = {"text", "transcript", "transcription", "sentence", "normalized_text"}


_CONTAINERS = {"wav", "wavs", "audio", "clips"}
"""Folder names that hold clips but name no speaker; left out of ids and speaker names."""


def _strip_container(relative: PurePosixPath) -> PurePosixPath:
    if len(relative.parts) > 1 and relative.parts[0].lower() in _CONTAINERS:
        return PurePosixPath(*relative.parts[1:])
    return relative


def _id_for(relative: PurePosixPath) -> str:
    """``spk/clip1.wav`` -> ``spk_clip1``: unique within the folder and safe as a file name."""
    return "_".join(_strip_container(relative).with_suffix("").parts)


def _from_sidecars(src: Path, speaker: str | None) -> list[Utterance]:
    utterances = []
    for audio in sorted(src.rglob("*")):
        if audio.suffix.lower() not in AUDIO_SUFFIXES or not audio.is_file():
            continue
        relative = PurePosixPath(audio.relative_to(src).as_posix())
        if any(part.startswith(".") for part in relative.parts):
            continue
        text = ""
        for ext in (".txt", ".lab"):
            sidecar = audio.with_suffix(ext)
            if sidecar.is_file():
                text = read_text(sidecar)
                break
        inner = _strip_container(relative)
        who = speaker or (inner.parts[0] if len(inner.parts) > 1 else src.resolve().name)
        utterances.append(Utterance(id=_id_for(relative), audio_path=str(audio), text=text,
                                    speaker=who))
    return utterances


def _resolve_audio(src: Path, name: str) -> Path:
    """The audio file a metadata row names: as given, or with an audio suffix, or under wavs/."""
    candidates = [src / name, src / "wavs" / name]
    for base in list(candidates):
        candidates += [base.with_name(base.name + s) for s in AUDIO_SUFFIXES]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return src / name


def _from_metadata(src: Path, metadata: Path, speaker: str | None) -> list[Utterance]:
    text = metadata.read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DataError(f"folder: {metadata} is empty (expected rows 'file|text[|speaker]')")
    if "|" in lines[0]:
        rows = [line.split("|") for line in lines]
    else:
        rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header = [cell.strip().lower() for cell in rows[0]]
    file_col, text_col, speaker_col = 0, 1, 2
    start = 0
    if len(header) >= 2 and header[0] in _FILE_HEADERS and header[1] in _TEXT_HEADERS:
        start = 1
        speaker_col = header.index("speaker") if "speaker" in header else None
    utterances = []
    for number, row in enumerate(rows[start:], start=start + 1):
        if not 2 <= len(row) <= (len(header) if start else 3):
            raise DataError(f"{metadata}:{number}: expected 'file|text[|speaker]', "
                            f"got {len(row)} field(s)")
        name = row[file_col].strip()
        if not name:
            raise DataError(f"{metadata}:{number}: empty file name")
        audio = _resolve_audio(src, name)
        row_speaker = row[speaker_col].strip() if speaker_col is not None and len(row) > speaker_col else ""
        relative = PurePosixPath(name)
        if relative.suffix.lower() not in AUDIO_SUFFIXES:
            relative = PurePosixPath(name + ".wav")
        utterances.append(Utterance(
            id=_id_for(relative), audio_path=str(audio), text=" ".join(row[text_col].split()),
            speaker=speaker or row_speaker or src.resolve().name))
    return utterances


def folder(src: Path, *, speaker: str | None = None) -> list[Utterance]:
    """Any folder of clips, in one of two forms.

    * ``metadata.csv`` in ``src``: rows ``file|text[|speaker]`` (pipe- or comma-separated, with or
      without that header); ``file`` is relative to ``src`` (or ``src/wavs``), the audio suffix
      may be left out.
    * otherwise every audio file (wav/flac/ogg/mp3, searched recursively) with a ``.txt`` or
      ``.lab`` transcript of the same stem beside it.

    Speaker: the ``speaker`` option if given, else the metadata ``speaker`` column, else the first
    subfolder below ``src`` (sidecar form), else the name of ``src``. Ids are the relative path
    without suffix, ``/`` replaced by ``_``. A leading ``wavs/``, ``wav/``, ``audio/`` or
    ``clips/`` folder names no speaker and is left out of both. Clips without a transcript get empty text (reported,
    then skipped by preparation).
    """
    require_dir(src, "folder", "audio files with .txt/.lab transcripts beside them, "
                               "or a metadata.csv (file|text[|speaker])")
    metadata = src / "metadata.csv"
    if metadata.is_file():
        utterances = _from_metadata(src, metadata, speaker)
    else:
        utterances = _from_sidecars(src, speaker)
    if not utterances:
        raise DataError(f"folder: no audio files ({', '.join(AUDIO_SUFFIXES)}) and no metadata.csv "
                        f"in {src}")
    report_untranscribed("folder", utterances)
    return utterances
