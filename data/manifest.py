"""Utterance manifests: one JSON object per line (JSONL).

A manifest is the hand-off between a dataset recipe, data preparation and training. Reading is
strict: bad JSON, an unknown key, a missing required key or a value of the wrong type is a
``DataError`` naming the file and line. Paths are stored relative to the manifest's folder when the
file lies inside it (so a prepared folder can be moved as a whole) and absolute otherwise;
``read_manifest`` turns them back into absolute paths.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tts.errors import DataError

__all__ = ["Utterance", "read_manifest", "read_prepared", "write_manifest"]


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One recording and its transcript.

    Recipes fill the first seven fields (``duration`` stays ``None`` until the audio is read);
    ``data.prepare`` adds the processed ``audio_path`` and ``duration``, the cached log-mel
    (``mel_path``, ``num_frames``) and the ``phonemes`` (a ``" "`` token separates words).
    """

    id: str
    audio_path: str
    text: str
    speaker: str
    language: str = "en"
    duration: float | None = None
    emotion: str | None = None
    mel_path: str | None = None
    phonemes: tuple[str, ...] | None = None
    num_frames: int | None = None


_FIELDS = {f.name: f for f in dataclasses.fields(Utterance)}
_REQUIRED = tuple(n for n, f in _FIELDS.items() if f.default is dataclasses.MISSING)
_PATH_FIELDS = ("audio_path", "mel_path")


def _check_types(record: dict[str, Any]) -> str | None:
    """Return a one-line problem with the value types of ``record``, or ``None``."""
    for name in ("id", "audio_path", "text", "speaker", "language"):
        if name in record and not isinstance(record[name], str):
            return f"'{name}' must be a string, got {record[name]!r}"
    for name in ("emotion", "mel_path"):
        if record.get(name) is not None and not isinstance(record[name], str):
            return f"'{name}' must be a string or null, got {record[name]!r}"
    duration = record.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | float)):
        return f"'duration' must be a number or null, got {duration!r}"
    frames = record.get("num_frames")
    if frames is not None and (isinstance(frames, bool) or not isinstance(frames, int)):
        return f"'num_frames' must be an integer or null, got {frames!r}"
    phonemes = record.get("phonemes")
    if phonemes is not None and (
        not isinstance(phonemes, list) or not all(isinstance(p, str) for p in phonemes)
    ):
        return "'phonemes' must be a list of strings or null"
    if not record.get("id", "x"):
        return "'id' must not be empty"
    return None


def _store_path(path: str | None, folder: str) -> str | None:
    """``path`` relative to ``folder`` (POSIX separators) when inside it, else absolute."""
    if path is None:
        return None
    full = os.path.abspath(path)
    rel = os.path.relpath(full, folder)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return full
    return Path(rel).as_posix()


def write_manifest(path: str | Path, utterances: Iterable[Utterance]) -> Path:
    """Write ``utterances`` to ``path`` as JSONL (parent folders created, file replaced).

    Fields that are ``None`` are left out. The file is written to a temporary name first and
    renamed, so a reader never sees half a manifest.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.path.abspath(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for utt in utterances:
            record = {k: v for k, v in dataclasses.asdict(utt).items() if v is not None}
            for name in _PATH_FIELDS:
                if name in record:
                    record[name] = _store_path(record[name], folder)
            if "phonemes" in record:
                record["phonemes"] = list(record["phonemes"])
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def read_manifest(path: str | Path) -> list[Utterance]:
    """Read a JSONL manifest strictly; relative paths are resolved against its folder.

    Blank lines are ignored. Any other problem is a ``DataError`` ``"FILE:LINE: reason"``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"manifest not found: {path}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: manifest is not UTF-8 text") from None
    folder = os.path.abspath(path.parent)
    utterances = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
        unknown = sorted(set(record) - set(_FIELDS))
        if unknown:
            raise DataError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                            f"known: {', '.join(_FIELDS)}")
        missing = [name for name in _REQUIRED if name not in record]
        if missing:
            raise DataError(f"{where}: missing required key(s) {', '.join(missing)}")
        problem = _check_types(record)
        if problem:
            raise DataError(f"{where}: {problem}")
        for name in _PATH_FIELDS:
            if record.get(name) is not None:
                record[name] = os.path.normpath(os.path.join(folder, record[name]))
        if record.get("phonemes") is not None:
            record["phonemes"] = tuple(record["phonemes"])
        if record.get("duration") is not None:
            record["duration"] = float(record["duration"])
        utterances.append(Utterance(**record))
    return utterances


def read_prepared(folder: str | Path) -> dict[str, Utterance]:
    """Every utterance of a prepared folder by id: its ``manifest.jsonl``, or (where only the
    split was kept) ``train.jsonl`` and ``val.jsonl``; a folder without them is a
    ``DataError``."""
    folder = Path(folder)
    names = ["manifest.jsonl"] if (folder / "manifest.jsonl").is_file() else [
        "train.jsonl", "val.jsonl"]
    utterances: dict[str, Utterance] = {}
    for name in names:
        if not (folder / name).is_file():
            raise DataError(f"{folder} is not a prepared folder: {name} not found")
        for utt in read_manifest(folder / name):
            utterances[utt.id] = utt
    return utterances
