"""The voices a server speaks: their list for ``GET /api/voices`` and their engines.

Each voice's engine is loaded once (``tts.voices.voice_engine``, on first use) and shared by
every request: a request's style (emotion, intensity, speed, pitch) is given to
``Synthesizer.speak``/``stream``, which restyles the engine around the same models. A cloned
voice made or replaced while the server runs is picked up (the cache is keyed by what is on
disk).
Only listed voice names are accepted: a request cannot name a folder.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from tts.bundled import BUNDLED_VOICES
from tts.errors import VoxcloneError
from tts.neural_engine import NeuralEngine
from tts.profiles import PROFILE_FILE, voices_dir
from tts.voices import DEFAULT_VOICE, Voice, find_voice, list_voices, voice_engine

LANGUAGE = "en"
"""What every voice speaks: ``NeuralEngine`` phonemizes English for every model."""


class UnknownVoice(VoxcloneError):
    """A request named a voice the server does not have."""

    def __init__(self, name: str, known: list[str]) -> None:
        shown = ", ".join(known) or "none (no bundled voices, none cloned)"
        super().__init__(f"no voice named {name!r}; this server has: {shown}")
        self.name = name


def _stat_key(path: Path) -> tuple[str, int]:
    try:
        return str(path), path.stat().st_mtime_ns
    except OSError:
        return str(path), -1


def _voice_key(voice: Voice) -> tuple:
    """What decides a voice's engine: its model file and its conditioning."""
    digest = hashlib.sha256()
    for array in (voice.embedding, voice.style_weights):
        digest.update(b"-" if array is None else array.tobytes())
    return (_stat_key(voice.acoustic), voice.speaker, voice.pitch_offset, digest.hexdigest())


class VoiceCache:
    """Voices under ``root`` (cloned; default ``tts.profiles.voices_dir()``) and the bundled
    ones; thread-safe."""

    def __init__(self, root: Path | None = None, runtime: str = "auto") -> None:
        self.root = root
        self.runtime = runtime
        self._lock = threading.Lock()  # the list of voices
        self._loading = threading.Lock()  # the engines
        self._engines: dict[str, tuple[tuple, NeuralEngine]] = {}
        self._rows: tuple[tuple, list[dict[str, Any]]] | None = None
        self._pitch: dict[tuple[str, int], bool] = {}

    def _disk_key(self) -> tuple:
        root = self.root or voices_dir()
        children = sorted(root.iterdir()) if root.is_dir() else []
        return (_stat_key(BUNDLED_VOICES), _stat_key(root),
                *(_stat_key(child / PROFILE_FILE) for child in children))

    def _has_pitch(self, acoustic: Path) -> bool:
        key = _stat_key(acoustic)
        if key not in self._pitch:
            from tts import checkpoint

            config = checkpoint.load(acoustic, kind="acoustic").model_config
            self._pitch[key] = bool(config.get("pitch"))
        return self._pitch[key]

    def rows(self) -> list[dict[str, Any]]:
        """``tts.voices.list_voices``'s rows (name, kind, license, description, emotions) with
        ``pitch`` (whether the pitch control works), ``language`` and ``default``; broken
        profiles are left out. Rebuilt only when the voices on disk change."""
        with self._lock:
            key = self._disk_key()
            if self._rows is None or self._rows[0] != key:
                rows = []
                for row in list_voices(self.root):
                    if row["kind"] == "broken":
                        continue
                    try:
                        pitch = self._has_pitch(find_voice(row["name"], self.root).acoustic)
                    except VoxcloneError:
                        continue  # its model is missing or unreadable: not speakable
                    rows.append({**row, "pitch": pitch, "language": LANGUAGE,
                                 "default": row["name"] == DEFAULT_VOICE})
                self._rows = (key, rows)
            return self._rows[1]

    def names(self) -> list[str]:
        """The names requests may use."""
        return [row["name"] for row in self.rows()]

    def default(self) -> str | None:
        """``tts.voices.DEFAULT_VOICE`` when present, else the first voice, else None."""
        names = self.names()
        return DEFAULT_VOICE if DEFAULT_VOICE in names else (names[0] if names else None)

    def check(self, name: str) -> str:
        """``name`` when the server has that voice; ``UnknownVoice`` otherwise."""
        names = self.names()
        if name not in names:
            raise UnknownVoice(name, names)
        return name

    def engine(self, name: str) -> NeuralEngine:
        """Voice ``name``'s engine (neutral style), its models loaded on first use and kept;
        ``tts.synthesizer.Synthesizer`` restyles it per call (emotion, intensity, speed, pitch)
        around the same models."""
        self.check(name)
        with self._loading:
            voice = find_voice(name, self.root)
            key = _voice_key(voice)
            cached = self._engines.get(name)
            if cached is None or cached[0] != key:
                cached = (key, voice_engine(name, self.root, runtime=self.runtime))
                self._engines[name] = cached
        return cached[1]
