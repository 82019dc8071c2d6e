"""Where ONNX exports live and how one is recognised as current (no torch: the runtime reads this).

An export is a folder holding ``encoder.onnx``, ``decoder.onnx``, ``vocoder.onnx``,
``tables.npz`` (the voice tables the graphs take as inputs: ``mean_style_weights (heads,
tokens)``, ``speaker_means (speakers, D)``, ``emotion_weights (emotions, heads, tokens)``) and
``manifest.json``: format, opset, exporter versions, the audio config, symbol table, speakers,
emotion names and model flags the runtime needs, the parity measured at export, and the two
source checkpoints (resolved path, SHA-256, size, modification time).

By default an acoustic checkpoint's export lives in ``default_export_dir(acoustic)``:
``$VOXCLONE_CACHE/onnx/<stem>-<8 hex of its resolved path>`` (else under
``$XDG_CACHE_HOME/voxclone``, default ``~/.cache/voxclone``); every voice spoken by that
checkpoint (the bundled voices share one) uses it. ``check_export`` refuses a missing, broken or
stale export (a source checkpoint whose bytes changed, another vocoder than asked for, an older
format) with a one-line ``CheckpointError`` that names the command making a current one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from tts.errors import CheckpointError
from tts.profiles import file_sha256

FORMAT = 1
"""Version of the folder layout and of the graphs' inputs and outputs; the runtime refuses
others."""
MANIFEST = "manifest.json"
TABLES = "tables.npz"
GRAPHS = ("encoder", "decoder", "vocoder")
"""Graph names; each is ``<name>.onnx`` in the folder."""


def cache_root() -> Path:
    """``$VOXCLONE_CACHE``, else ``$XDG_CACHE_HOME/voxclone``, else ``~/.cache/voxclone`` (the
    root that ``tts.asr.cache_dir`` also uses)."""
    root = os.environ.get("VOXCLONE_CACHE")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "voxclone"


def default_export_dir(acoustic: str | Path) -> Path:
    """The export folder of the acoustic checkpoint ``acoustic`` (see the module doc)."""
    resolved = Path(acoustic).expanduser().resolve()
    tag = hashlib.sha256(str(resolved).encode("utf-8")).hexdigest()[:8]
    return cache_root() / "onnx" / f"{resolved.stem}-{tag}"


def source_record(path: str | Path) -> dict[str, Any]:
    """What a manifest keeps of a source checkpoint: resolved path, sha256, size, mtime_ns."""
    resolved = Path(path).expanduser().resolve()
    stat = resolved.stat()
    return {"path": str(resolved), "sha256": file_sha256(resolved), "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns}


def _same_file(record: dict[str, Any], path: Path) -> bool:
    """Whether ``path`` holds the bytes ``record`` was made from (size and modification time
    first; the SHA-256 only when those moved, e.g. after a fresh checkout)."""
    try:
        stat = path.stat()
    except OSError:
        return False
    if stat.st_size != record.get("size"):
        return False
    if stat.st_mtime_ns == record.get("mtime_ns"):
        return True
    return file_sha256(path) == record.get("sha256")


@dataclasses.dataclass(frozen=True)
class Export:
    """A checked export folder: ``folder`` and its parsed ``manifest``."""

    folder: Path
    manifest: dict[str, Any]

    def graph(self, name: str) -> Path:
        return self.folder / f"{name}.onnx"


def make_command(acoustic: Path, vocoder: Path | None, folder: Path | None,
                 voice: str | None = None) -> str:
    """The ``voxclone export --onnx`` command line that makes the export asked for."""
    parts = ["voxclone export --onnx"]
    parts.append(f"--voice {voice}" if voice else f"--acoustic {acoustic}")
    if vocoder is not None:
        parts.append(f"--vocoder {vocoder}")
    if folder is not None and folder != default_export_dir(acoustic):
        parts.append(str(folder))
    return " ".join(parts)


def check_export(acoustic: str | Path, vocoder: str | Path | None = None,
                 folder: str | Path | None = None, voice: str | None = None) -> Export:
    """The current export of ``acoustic`` (with ``vocoder``, or the one it was exported with)
    in ``folder`` (default ``default_export_dir(acoustic)``); ``CheckpointError`` naming the
    command that makes one when it is missing, broken or stale. ``voice`` only words the
    command (``--voice NAME`` instead of ``--acoustic CKPT``)."""
    acoustic = Path(acoustic).expanduser().resolve()
    vocoder = None if vocoder is None else Path(vocoder).expanduser().resolve()
    folder = default_export_dir(acoustic) if folder is None else Path(folder).expanduser()
    command = make_command(acoustic, vocoder, folder, voice)
    path = folder / MANIFEST
    if not path.is_file():
        raise CheckpointError(f"no ONNX export of {acoustic.name} in {folder}: run `{command}`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        sources = (manifest["acoustic"], manifest["vocoder"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"broken ONNX export in {folder} ({exc}): run `{command}`") from None
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"the ONNX export in {folder} has format {manifest.get('format')}"
                              f", this voxclone reads {FORMAT}: run `{command}`")
    missing = [name for name in (*[f"{g}.onnx" for g in GRAPHS], TABLES)
               if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"the ONNX export in {folder} lacks {missing[0]}: run `{command}`")
    if Path(sources[0]["path"]) != acoustic:
        raise CheckpointError(f"the ONNX export in {folder} is of {sources[0]['path']}, not "
                              f"{acoustic}: run `{command}`")
    if vocoder is not None and Path(sources[1]["path"]) != vocoder:
        raise CheckpointError(f"the ONNX export in {folder} holds the vocoder "
                              f"{Path(sources[1]['path']).name}, not {vocoder.name}: run "
                              f"`{command}`")
    for record in sources:
        if not _same_file(record, Path(record["path"])):
            raise CheckpointError(f"the ONNX export in {folder} is stale: "
                                  f"{Path(record['path']).name} changed since it was made: run "
                                  f"`{command}`")
    return Export(folder=folder, manifest=manifest)


def current_export(acoustic: str | Path, vocoder: str | Path | None = None,
                   folder: str | Path | None = None) -> Export | None:
    """``check_export``'s export when it is current and onnxruntime is installed, else None:
    what ``--runtime auto`` asks before it picks onnxruntime over PyTorch."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None:
        return None
    try:
        return check_export(acoustic, vocoder, folder)
    except CheckpointError:
        return None
