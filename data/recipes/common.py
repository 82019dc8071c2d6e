"""Helpers shared by the recipes: the ``Recipe`` record, folder checks, transcript files, tables."""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from data.manifest import Utterance
from tts.errors import DataError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
"""Audio file types a recipe picks up (libsndfile reads all four)."""

log = logging.getLogger("data.recipes")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A dataset layout: ``recipe(src, **options) -> list[Utterance]`` (``duration`` left ``None``).

    ``options`` are the keyword-only parameters of ``function``; passing another one is a
    ``DataError``. Options given as ``None`` are dropped first, so a CLI can pass every option it
    knows to every recipe.
    """

    name: str
    description: str
    function: Callable[..., list[Utterance]]

    @property
    def options(self) -> tuple[str, ...]:
        params = inspect.signature(self.function).parameters.values()
        return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)

    def __call__(self, src: str | Path, **options: object) -> list[Utterance]:
        options = {k: v for k, v in options.items() if v is not None}
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            accepted = ", ".join(self.options) or "none"
            raise DataError(f"recipe '{self.name}' has no option(s) {', '.join(unknown)} "
                            f"(accepted: {accepted})")
        utterances = self.function(Path(src), **options)
        return sorted(utterances, key=lambda u: u.id)


def require_dir(src: Path, recipe: str, expected: str) -> Path:
    """``src`` if it is a folder, else a ``DataError`` saying what ``recipe`` expected there."""
    if not src.exists():
        raise DataError(f"{recipe}: source folder not found: {src} (expected {expected})")
    if not src.is_dir():
        raise DataError(f"{recipe}: source is not a folder: {src} (expected {expected})")
    return src


def require_file(path: Path, recipe: str, expected: str) -> Path:
    if not path.is_file():
        raise DataError(f"{recipe}: {path.name} not found in {path.parent} (expected {expected})")
    return path


def read_text(path: Path) -> str:
    """A transcript file's text, whitespace collapsed; UTF-8, falling back to Latin-1."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return " ".join(text.split())


def audio_files(folder: Path) -> list[Path]:
    """Audio files (``AUDIO_SUFFIXES``, any case) directly inside ``folder``, sorted."""
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def report_untranscribed(recipe: str, utterances: Sequence[Utterance]) -> None:
    """Log the utterances without a transcript; ``data.prepare`` then skips them by name."""
    missing = [u for u in utterances if not u.text]
    if not missing:
        return
    speakers = sorted({u.speaker for u in missing})
    shown = ", ".join(speakers[:5]) + (" ..." if len(speakers) > 5 else "")
    log.warning("%s: %d utterance(s) have no transcript (speakers: %s); they will be skipped",
                recipe, len(missing), shown)


def read_table(path: Path, columns: Sequence[str], recipe: str) -> list[dict[str, str]]:
    """Rows of a pipe-separated table whose first line is exactly the header ``columns``.

    A different header, or a row with the wrong number of fields, is a ``DataError`` naming the
    file (and line).
    """
    expected = "|".join(columns)
    require_file(path, recipe, f"a pipe-separated {path.name} with header '{expected}'")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].strip() if lines else ""
    if header != expected:
        raise DataError(f"{recipe}: {path} has header '{header}' but expected '{expected}' "
                        f"(is {path.parent.name} the {recipe} folder?)")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.rstrip("\r\n").split("|")
        if len(fields) != len(columns):
            raise DataError(f"{path}:{number}: expected {len(columns)} '|'-separated fields "
                            f"({expected}), got {len(fields)}")
        rows.append(dict(zip(columns, (f.strip() for f in fields), strict=True)))
    return rows
