"""One prepared folder (the layout ``data.prepare`` writes), read through ``PreparedFolder``.

``PreparedFolder(path)`` is how everything reads a prepared folder: ``prepare.json`` (``info``,
``recipe``, ``audio``, ``symbols``, ``emotions``), ``speakers.json`` (``speakers``), the manifest
paths (``manifest``), every utterance (``utterances``) and what later commands add:
``speaker_embeddings.npz`` (``embeddings``, from ``voxclone embed``) and ``pitch.npz``
(``pitch``, from ``voxclone pitch``; format in ``data.pitch``). Each file is read on first use
and kept; a missing or malformed one is a ``DataError`` that says what to run.

This module imports neither torch nor Lightning, so that light readers (``data.holdout``) stay
light.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data.manifest import Utterance, read_prepared
from tts.config import AudioConfig, from_dict
from tts.errors import ConfigError, DataError
from tts.text import SymbolTable

__all__ = ["PreparedFolder", "check_same_preparation", "EMBEDDINGS_FILE", "PITCH_FILE"]

EMBEDDINGS_FILE = "speaker_embeddings.npz"
"""Per-utterance speaker embeddings of a prepared folder (written by ``voxclone embed``)."""

PITCH_FILE = "pitch.npz"
"""Frame F0 of every utterance of a prepared folder (written by ``voxclone pitch``)."""


class PreparedFolder:
    """The prepared folder at ``path``; nothing is read until a property asks for it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @functools.cached_property
    def info(self) -> dict[str, Any]:
        """The ``prepare.json`` (at least ``audio``, ``symbols`` and ``emotions``), or a
        ``DataError`` saying what is missing."""
        path = self.path / "prepare.json"
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{self.path} is not a prepared folder: prepare.json not found "
                            f"(run 'voxclone prepare' first)") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON ({exc.msg})") from None
        for key in ("audio", "symbols", "emotions"):
            if key not in info:
                raise DataError(f"{path}: missing key '{key}'")
        return info

    @property
    def recipe(self) -> str | None:
        """The recipe the folder was prepared with, if prepare.json names one."""
        return self.info.get("recipe")

    @functools.cached_property
    def audio(self) -> AudioConfig:
        """The audio front end the wavs and mels were made with."""
        try:
            return from_dict(AudioConfig, self.info["audio"], where="prepare.json audio")
        except ConfigError as exc:
            raise DataError(str(exc)) from None

    @functools.cached_property
    def symbols(self) -> SymbolTable:
        """The symbol table (text backend) of the manifests' phonemes."""
        return SymbolTable.from_dict(self.info["symbols"])

    @property
    def emotions(self) -> list[str]:
        """Emotion labels of the utterances (sorted; empty for a corpus without them)."""
        return list(self.info["emotions"])

    @property
    def has_speakers(self) -> bool:
        """Whether the folder has a ``speakers.json``."""
        return (self.path / "speakers.json").is_file()

    @functools.cached_property
    def speakers(self) -> list[str]:
        """The sorted speaker names of ``speakers.json``; ``DataError`` without one."""
        if not self.has_speakers:
            raise DataError(f"{self.path} is not a prepared folder: speakers.json not found")
        return json.loads((self.path / "speakers.json").read_text(encoding="utf-8"))

    def manifest(self, name: str = "manifest") -> Path:
        """Path of a manifest: ``"manifest"`` (every kept utterance), ``"train"`` or ``"val"``."""
        return self.path / f"{name}.jsonl"

    def utterances(self) -> dict[str, Utterance]:
        """Every utterance by id (``data.manifest.read_prepared``)."""
        return read_prepared(self.path)

    @functools.cached_property
    def embeddings(self) -> dict[str, np.ndarray]:
        """Utterance id -> speaker embedding ``(D,)`` float32 from ``speaker_embeddings.npz``;
        ``DataError`` if the file is missing or unreadable."""
        path = self.path / EMBEDDINGS_FILE
        if not path.is_file():
            raise DataError(f"{self.path} has no speaker embeddings: run 'voxclone embed "
                            f"{self.path}' first")
        try:
            with np.load(path, allow_pickle=False) as stored:
                ids, vectors = stored["ids"], stored["vectors"].astype(np.float32)
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"{path}: unreadable speaker embeddings ({exc})") from None
        if vectors.ndim != 2 or len(ids) != len(vectors):
            raise DataError(f"{path}: ids and vectors disagree")
        return {str(uid): vector for uid, vector in zip(ids, vectors, strict=True)}

    @functools.cached_property
    def pitch(self) -> dict[str, np.ndarray]:
        """Utterance id -> F0 per mel frame ``(frames,)`` float32 Hz (0 = unvoiced) from
        ``pitch.npz``; ``DataError`` if the file is missing or unreadable."""
        path = self.path / PITCH_FILE
        if not path.is_file():
            raise DataError(f"{self.path} has no pitch track: run 'voxclone pitch {self.path}' "
                            "first")
        try:
            with np.load(path) as stored:
                ids, offsets, values = stored["ids"], stored["offsets"], stored["values"]
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"{path}: unreadable pitch track ({exc})") from None
        if len(offsets) != len(ids) + 1 or offsets[-1] != len(values):
            raise DataError(f"{path}: ids and values disagree")
        values = values.astype(np.float32)
        return {str(uid): values[offsets[i]:offsets[i + 1]] for i, uid in enumerate(ids)}


def check_same_preparation(folders: Sequence[PreparedFolder], symbols: bool = False) -> None:
    """``DataError`` unless every folder was prepared with the first one's audio config (and,
    with ``symbols``, its symbol set): data from several folders must mean the same."""
    keys = ("audio", "symbols") if symbols else ("audio",)
    what = "audio config or symbol set" if symbols else "audio config"
    first = folders[0]
    for folder in folders[1:]:
        if any(folder.info[key] != first.info[key] for key in keys):
            raise DataError(f"{folder.path} was prepared with another {what} than {first.path}")
