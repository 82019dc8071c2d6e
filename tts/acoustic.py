"""Loading the acoustic model from the one checkpoint format, for inference.

An acoustic checkpoint (kind ``"acoustic"``) stores the ``TacotronConfig`` as ``model_config``,
the audio config, the symbol table and, in ``metadata``, the training speakers, the emotion names
and the learned per-emotion style weights. ``AcousticModel`` bundles all of that.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from tts import checkpoint
from tts.config import AudioConfig, from_dict
from tts.errors import CheckpointError, ConfigError
from tts.models.tacotron import Tacotron, TacotronConfig
from tts.text import SymbolTable


@dataclasses.dataclass
class AcousticModel:
    """A loaded acoustic model and what it needs to be used: ``model`` (eval mode), ``audio``,
    ``symbols``, ``speakers`` (table names, index = table row), ``emotions`` (name ->
    style weights ``(heads, tokens)``) and the checkpoint's ``metadata``."""

    model: Tacotron
    audio: AudioConfig
    symbols: SymbolTable
    speakers: list[str]
    emotions: dict[str, torch.Tensor]
    metadata: dict[str, Any]

    def speaker_index(self, name: str | None) -> int:
        """Table row of a training speaker; -1 for None (no table entry)."""
        if name is None:
            return -1
        if name not in self.speakers:
            shown = ", ".join(self.speakers[:10]) + (" ..." if len(self.speakers) > 10 else "")
            raise ConfigError(f"unknown speaker {name!r}; this model knows: {shown}")
        return self.speakers.index(name)

    def emotion_weights(self, name: str, intensity: float = 1.0) -> torch.Tensor:
        """Style weights ``(heads, tokens)`` of a named emotion at ``intensity`` (0 = the
        neutral/average style, 1 = as learned, up to 2 = exaggerated)."""
        if not 0.0 <= intensity <= 2.0:
            raise ConfigError(f"emotion intensity must be between 0 and 2, got {intensity}")
        if name not in self.emotions:
            known = ", ".join(sorted(self.emotions)) or "none (trained without emotion labels)"
            raise ConfigError(f"unknown emotion {name!r}; this model has: {known}")
        neutral = self.emotions.get("neutral", self.model.mean_style_weights)
        weights = neutral + intensity * (self.emotions[name] - neutral)
        weights = weights.clamp(min=0)
        return weights / weights.sum(dim=-1, keepdim=True)


def load_acoustic(path: str | Path) -> AcousticModel:
    """Load an acoustic checkpoint (shipped or training) for inference; one-line errors."""
    ckpt = checkpoint.load(path, kind="acoustic")
    if ckpt.audio_config is None or ckpt.symbols is None:
        raise CheckpointError(f"{path}: acoustic checkpoint lacks its audio config or symbols")
    symbols = SymbolTable.from_dict(ckpt.symbols)
    model = checkpoint.load_into(path, ckpt, lambda: Tacotron(
        from_dict(TacotronConfig, ckpt.model_config, where=f"{path} model_config"),
        len(symbols), ckpt.audio_config), "model")
    metadata = dict(ckpt.metadata or {})
    emotions = {name: torch.tensor(weights, dtype=torch.float32)
                for name, weights in (metadata.get("emotion_weights") or {}).items()}
    return AcousticModel(model=model.eval(), audio=ckpt.audio_config, symbols=symbols,
                         speakers=list(metadata.get("speakers") or []), emotions=emotions,
                         metadata=metadata)
