"""Voice profiles as they are stored: what a cloned voice is made of, and reading it back.

A profile folder ``NAME/`` holds ``profile.json`` (format version, name, the speaker embedding,
style-token weights of the reference, reference statistics, the consent record, which encoder and
base model made it, creation date) and, after few-shot adaptation, ``acoustic.pt``: an acoustic
checkpoint in the one voxclone format, fine-tuned on the reference audio. Cloned voices live in
``voices_dir()`` (``$VOXCLONE_VOICES``, else ``~/.local/share/voxclone/voices``).

The inference side (``tts.voices``) reads profiles here; ``cloning`` makes them (``cloning.clone``,
the consent check in ``cloning.consent``) and writes them (``cloning.profile.save_profile``).
Imports nothing from ``cloning`` and no model code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from tts.errors import ConfigError, ConsentError, VoxcloneError

__all__ = ["VoiceProfile", "ConsentRecord", "voices_dir", "profile_path", "load_profile",
           "list_profiles", "check_name", "file_sha256", "file_fingerprint", "PROFILE_FORMAT",
           "PROFILE_FILE", "ADAPTED_FILE", "RECORD_FORMAT", "ProfileError"]

PROFILE_FORMAT = 1
PROFILE_FILE = "profile.json"
ADAPTED_FILE = "acoustic.pt"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


class ProfileError(VoxcloneError):
    """A missing, unreadable or foreign voice profile."""


def check_name(name: str) -> str:
    """``name`` if it is a usable voice name (1-40 letters, digits, ``-``, ``_``)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"voice name {name!r} is not usable: use 1-40 letters, digits, '-' or "
                          "'_', starting with a letter or digit")
    return name


def voices_dir() -> Path:
    """Where cloned voices live: ``$VOXCLONE_VOICES`` or ``~/.local/share/voxclone/voices``."""
    env = os.environ.get("VOXCLONE_VOICES")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "voxclone" / "voices"


RECORD_FORMAT = 1
"""Version of the ``ConsentRecord`` dict layout."""


@dataclasses.dataclass(frozen=True)
class ConsentRecord:
    """What a voice profile keeps about the consent behind it (JSON-serialisable dict form).

    ``decision`` is ``"accepted"``, ``"rejected"`` or ``"override"`` (the check was bypassed:
    ``override`` holds the reason, ``override_note`` who/what licence). Scores are ``None`` when
    not measured (an override).
    """

    voice_name: str
    sentence: str
    decision: str
    date: str
    voxclone_version: str
    recording_sha256: str | None = None
    reference_sha256: tuple[str, ...] = ()
    transcript: str | None = None
    heard: str | None = None
    sentence_score: float | None = None
    name_score: float | None = None
    sentence_threshold: float | None = None
    speaker_similarity: float | None = None
    speaker_threshold: float | None = None
    asr: str | None = None
    encoder: str | None = None
    override: str | None = None
    override_note: str | None = None
    format: int = RECORD_FORMAT

    @property
    def accepted(self) -> bool:
        """True when cloning may go ahead (accepted or overridden)."""
        return self.decision in ("accepted", "override")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["reference_sha256"] = list(self.reference_sha256)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConsentRecord:
        """Strict: unknown or missing fields, or another format, are a ``ConsentError``."""
        if not isinstance(data, dict):
            raise ConsentError(f"consent record: expected a dict, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConsentError(f"consent record: unknown field(s) {', '.join(unknown)}")
        if data.get("format", RECORD_FORMAT) != RECORD_FORMAT:
            raise ConsentError(f"consent record: format {data.get('format')!r} is not "
                               f"{RECORD_FORMAT}")
        try:
            record = cls(**{**data, "reference_sha256": tuple(data.get("reference_sha256", ()))})
        except TypeError as exc:
            raise ConsentError(f"consent record: {str(exc).splitlines()[0]}") from None
        if record.decision not in ("accepted", "rejected", "override"):
            raise ConsentError(f"consent record: unknown decision {record.decision!r}")
        return record


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (the consent record's hashes of the audio)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """``sha256:<16 hex>`` of a file's bytes: which base model a profile was made for."""
    return "sha256:" + file_sha256(path)[:16]


@dataclasses.dataclass
class VoiceProfile:
    """A cloned voice. ``embedding (D,)`` unit vector (mean over the reference clips),
    ``style_weights (heads, tokens)`` or None, ``reference`` statistics (clips, speech seconds,
    files), ``consent`` record, ``encoder`` fingerprint, ``base_acoustic`` (file name and
    fingerprint of the model the profile was made for), ``adapted`` (the facts of the fit that
    made the voice's own model, ``acoustic.pt``: the base model with a fitted adapter; older
    few-shot voices: a fine-tune), ``created`` (UTC ISO date), ``tier`` ("instant", "quick" or
    "few-shot"), ``fit`` (a quick or few-shot voice's conditioning: ``embedding`` and
    ``style_weights`` fitted with its model, which ``fitted`` returns, and the facts of the fit;
    None otherwise), ``guard`` (what ``cloning.guard`` measured of each tier tried, and
    why a tier was not kept)."""

    name: str
    embedding: np.ndarray
    consent: ConsentRecord
    reference: dict[str, Any]
    encoder: str
    base_acoustic: dict[str, Any]
    created: str
    style_weights: np.ndarray | None = None
    adapted: dict[str, Any] | None = None
    folder: Path | None = None
    tier: str = ""
    fit: dict[str, Any] | None = None
    guard: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.tier:
            self.tier = "few-shot" if self.adapted is not None else "instant"

    def fitted(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        """A quick or few-shot voice's ``(embedding (D,), style_weights (heads, tokens) or
        None)``, fitted with its own model (valid only when spoken by it), or None."""
        if not self.fit:
            return None
        style = self.fit.get("style_weights")
        return (np.asarray(self.fit["embedding"], dtype=np.float32),
                None if style is None else np.asarray(style, dtype=np.float32))

    @property
    def acoustic_path(self) -> Path | None:
        """The adapted acoustic checkpoint, when the voice was fine-tuned."""
        if self.adapted is None or self.folder is None:
            return None
        return self.folder / ADAPTED_FILE

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "name": self.name,
            "embedding": [round(float(x), 6) for x in self.embedding],
            "style_weights": (None if self.style_weights is None
                              else np.round(self.style_weights, 6).tolist()),
            "reference": self.reference,
            "consent": self.consent.to_dict(),
            "encoder": self.encoder,
            "base_acoustic": self.base_acoustic,
            "adapted": self.adapted,
            "created": self.created,
            "tier": self.tier,
            "fit": self.fit,
            "guard": self.guard,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> VoiceProfile:
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            raise ProfileError(f"{where} is not a voxclone voice profile (format "
                               f"{data.get('format') if isinstance(data, dict) else None!r})")
        try:
            embedding = np.asarray(data["embedding"], dtype=np.float32)
            style = data.get("style_weights")
            profile = cls(
                name=check_name(data["name"]), embedding=embedding,
                consent=ConsentRecord.from_dict(data["consent"]),
                reference=dict(data["reference"]), encoder=str(data["encoder"]),
                base_acoustic=dict(data["base_acoustic"]), created=str(data["created"]),
                style_weights=None if style is None else np.asarray(style, dtype=np.float32),
                adapted=data.get("adapted"), tier=str(data.get("tier") or ""),
                fit=data.get("fit"), guard=data.get("guard"))
        except (KeyError, TypeError, ValueError, ConfigError, ConsentError) as exc:
            raise ProfileError(f"{where}: broken voice profile ({exc})") from None
        if embedding.ndim != 1 or not np.isfinite(embedding).all():
            raise ProfileError(f"{where}: broken voice profile (bad embedding)")
        if not profile.consent.accepted:
            raise ProfileError(f"{where}: the profile's consent record is not an acceptance")
        return profile


def profile_path(name_or_path: str | Path, root: Path | None = None) -> Path:
    """The folder of a profile given by name (under ``root`` or ``voices_dir()``) or by path
    (a folder holding ``profile.json``, or that file). A plain name means the voices folder
    unless no such voice exists there and the name is a profile folder here."""
    path = Path(name_or_path)
    if path.name == PROFILE_FILE:
        return path.parent
    if len(path.parts) == 1 and _NAME.match(str(path)):
        named = (root or voices_dir()) / str(path)
        return path if not named.exists() and (path / PROFILE_FILE).is_file() else named
    if len(path.parts) > 1 or path.is_dir():
        return path
    return (root or voices_dir()) / check_name(str(name_or_path))


def load_profile(name_or_path: str | Path, root: Path | None = None) -> VoiceProfile:
    """Load a profile by name or folder; ``ProfileError`` (one line) if missing or broken."""
    folder = profile_path(name_or_path, root)
    path = folder / PROFILE_FILE
    if not path.is_file():
        raise ProfileError(f"no voice named {str(name_or_path)!r} (looked for {path}; "
                           "'voxclone voices' lists the voices)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(f"{path}: unreadable voice profile ({exc})") from None
    profile = VoiceProfile.from_dict(data, str(path))
    profile.folder = folder
    if profile.adapted is not None and not (folder / ADAPTED_FILE).is_file():
        raise ProfileError(f"{folder}: the profile names adapted weights but {ADAPTED_FILE} "
                           "is missing")
    return profile


def list_profiles(root: Path | None = None) -> list[VoiceProfile | tuple[Path, str]]:
    """Profiles under ``root`` (default ``voices_dir()``), sorted by name; a broken one is a
    ``(folder, reason)`` pair instead, so that one bad folder does not hide the others."""
    root = root or voices_dir()
    if not root.is_dir():
        return []
    found: list[VoiceProfile | tuple[Path, str]] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            found.append(load_profile(folder))
        except ProfileError as exc:
            found.append((folder, str(exc)))
    return found
