"""The one checkpoint format of voxclone.

A checkpoint is one self-describing file (``torch.save`` of plain containers and tensors):

    {"format": "voxclone", "format_version": 1, "kind": "acoustic" | "vocoder" | "encoder" | ...,
     "model_config": {...}, "audio_config": {...} | None, "symbols": {...} | None,
     "state_dict": {name: tensor}, "metadata": {...}, "training_state": {...} | None}

A Lightning training checkpoint is the same format: the training task adds these fields to the
dict Lightning saves (``annotate``), with ``"model_key"`` naming the submodule whose weights
are the model (``"generator"`` -> keys ``generator.*`` of Lightning's ``state_dict``), so the
one ``load`` reads a training checkpoint as well as a shipped one.

Loading never unpickles arbitrary objects (``torch.load(weights_only=True)``), and every problem
(missing, truncated, foreign, wrong kind, newer format) is a one-line ``CheckpointError``.
Saving is atomic (write to a temporary file, then rename), so a run killed while saving leaves the
previous checkpoint intact.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from tts.config import AudioConfig, from_dict, to_dict
from tts.errors import CheckpointError, ConfigError

FORMAT = "voxclone"
FORMAT_VERSION = 1


@dataclasses.dataclass
class Checkpoint:
    """What a checkpoint file holds, already validated."""

    kind: str
    model_config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    audio_config: AudioConfig | None = None
    symbols: dict[str, Any] | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    training_state: dict[str, Any] | None = None
    format_version: int = FORMAT_VERSION


def save(path: str | Path, checkpoint: Checkpoint, *, half: bool = False) -> Path:
    """Write ``checkpoint`` to ``path`` atomically.

    ``half=True`` stores floating-point weights as float16 (for shipped models; ``load`` returns
    them as stored, and ``load_state_dict`` casts them back to the model's dtype).
    """
    path = Path(path)
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in checkpoint.state_dict.items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": checkpoint.kind,
        "model_config": checkpoint.model_config,
        "audio_config": to_dict(checkpoint.audio_config) if checkpoint.audio_config else None,
        "symbols": checkpoint.symbols,
        "state_dict": state,
        "metadata": checkpoint.metadata,
        "training_state": checkpoint.training_state,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def annotate(lightning_checkpoint: dict[str, Any], *, kind: str, model_key: str,
             model_config: dict[str, Any], audio_config: AudioConfig | None,
             symbols: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None) -> None:
    """Make the dict Lightning is about to save a voxclone checkpoint too (in place)."""
    lightning_checkpoint.update({
        "format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, "model_key": model_key,
        "model_config": model_config,
        "audio_config": to_dict(audio_config) if audio_config else None,
        "symbols": symbols, "metadata": metadata or {},
    })


def load(path: str | Path, kind: str | None = None) -> Checkpoint:
    """Read and validate a checkpoint; ``kind`` (if given) must match the stored kind."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot read checkpoint {path}: corrupt, truncated or not a "
                              f"voxclone checkpoint ({reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a voxclone checkpoint (foreign file: a bare state "
                              "dict or another toolkit's format)")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format {version!r}; this voxclone reads up "
                              f"to {FORMAT_VERSION}: upgrade voxclone")
    stored_kind = payload.get("kind")
    if kind is not None and stored_kind != kind:
        raise CheckpointError(f"{path} is a {stored_kind!r} checkpoint, expected {kind!r}")
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} has no valid weights (state_dict missing or malformed)")
    prefix = payload.get("model_key")
    if prefix:  # a Lightning training checkpoint: keep the model's own weights
        state = {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(f"{prefix}.")}
        if not state:
            raise CheckpointError(f"{path} has no weights under {prefix!r}")
    try:
        audio = payload.get("audio_config")
        audio_config = from_dict(AudioConfig, audio) if audio is not None else None
    except ConfigError as exc:
        raise CheckpointError(f"{path}: bad audio config ({exc})") from None
    return Checkpoint(kind=stored_kind, model_config=payload.get("model_config") or {},
                      state_dict=state, audio_config=audio_config, symbols=payload.get("symbols"),
                      metadata=payload.get("metadata") or {},
                      training_state=payload.get("training_state") if not prefix else
                      {k: v for k, v in payload.items() if k not in _FIELDS},
                      format_version=version)


_FIELDS = ("format", "format_version", "kind", "model_key", "model_config", "audio_config",
           "symbols", "state_dict", "metadata", "training_state")


def load_into(path: str | Path, ckpt: Checkpoint, build: Callable[[], torch.nn.Module],
              what: str) -> torch.nn.Module:
    """``build()`` the model that ``ckpt`` (read from ``path``) describes and load its weights
    (cast to float32). Any mismatch between the weights and the stored config, or a config that
    does not build, is one ``CheckpointError`` line naming ``path`` and ``what`` it holds."""
    try:
        model = build()
        model.load_state_dict({k: v.float() for k, v in ckpt.state_dict.items()})
    except (ConfigError, RuntimeError, KeyError, TypeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0][:160]
        raise CheckpointError(f"{path}: weights do not fit the stored {what} config "
                              f"({reason})") from None
    return model
