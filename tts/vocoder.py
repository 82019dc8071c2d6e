"""Vocoders by name: build from a config, load from the one checkpoint format, stream.

A vocoder's ``model_config`` (stored in its checkpoint) is ``{"type": TYPE, "config": {...}}``
with TYPE one of ``VOCODER_TYPES``; ``"griffinlim"`` needs no checkpoint. Every vocoder maps
``mel (B, n_mels, frames) -> wav (B, frames * hop_length)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tts import checkpoint
from tts.config import AudioConfig, from_dict, to_dict
from tts.errors import CheckpointError, ConfigError

VOCODER_TYPES = ("hifigan", "istft", "griffinlim")


def _classes(kind: str) -> tuple[type, type]:
    """``(ConfigClass, ModuleClass)`` of a trainable vocoder type."""
    if kind == "hifigan":
        from tts.models.hifigan import HiFiGANConfig, HiFiGANGenerator

        return HiFiGANConfig, HiFiGANGenerator
    if kind == "istft":
        from tts.models.istft_vocoder import ISTFTVocoder, ISTFTVocoderConfig

        return ISTFTVocoderConfig, ISTFTVocoder
    raise ConfigError(f"unknown vocoder type {kind!r}; known: {', '.join(VOCODER_TYPES)}")


WEIGHTLESS_SETTINGS = ("phase_iterations",)
"""Model-config keys that change no weight: a checkpoint fine-tunes into a config that differs
from its own only in these."""


def vocoder_model_config(kind: str, preset: str, phase_iterations: int = 0) -> dict[str, Any]:
    """The stored form ``{"type": kind, "config": {...}}`` of a named preset; ``phase_iterations``
    (iSTFT only) sets ``ISTFTVocoderConfig.phase_iterations``."""
    if kind == "griffinlim":
        return {"type": kind, "config": {}}
    config_class, _ = _classes(kind)
    config = to_dict(config_class.preset(preset))
    if phase_iterations:
        if kind != "istft":
            raise ConfigError(f"model.phase_iterations needs the istft vocoder, not {kind!r}")
        config["phase_iterations"] = phase_iterations
    return {"type": kind, "config": config}


def same_weights(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two stored model configs build the same weights (``WEIGHTLESS_SETTINGS`` aside)."""
    def strip(config: dict[str, Any]) -> dict[str, Any]:
        inner = {k: v for k, v in config.get("config", {}).items()
                 if k not in WEIGHTLESS_SETTINGS}
        return {**config, "config": inner}
    return strip(a) == strip(b)


def build_vocoder(model_config: dict[str, Any], audio: AudioConfig) -> nn.Module:
    """A freshly initialised vocoder from its stored ``model_config``."""
    kind = model_config.get("type")
    if kind == "griffinlim":
        from tts.models.griffinlim import GriffinLim

        return GriffinLim(audio)
    config_class, module_class = _classes(kind)
    return module_class(from_dict(config_class, model_config.get("config", {})), audio)


def load_vocoder(path: str | Path) -> tuple[nn.Module, AudioConfig]:
    """Load a vocoder checkpoint (or the name ``"griffinlim"``) for inference, in eval mode.

    Returns ``(vocoder, audio_config)``; HiFi-GAN's weight norm is folded for speed.
    """
    if str(path) == "griffinlim":
        audio = AudioConfig()
        return build_vocoder({"type": "griffinlim"}, audio).eval(), audio
    ckpt = checkpoint.load(path, kind="vocoder")
    if ckpt.audio_config is None:
        raise CheckpointError(f"{path}: vocoder checkpoint has no audio config")
    model = checkpoint.load_into(
        path, ckpt, lambda: build_vocoder(ckpt.model_config, ckpt.audio_config), "vocoder")
    if hasattr(model, "remove_weight_norm"):
        model.remove_weight_norm()
    return model.eval(), ckpt.audio_config


def context_frames(vocoder: nn.Module) -> int:
    """Mel frames of context that make streaming exact for ``vocoder`` (see ``tts.streaming``)."""
    return int(getattr(vocoder, "receptive_field", 16))


def resynthesize(wav: np.ndarray, vocoder: nn.Module, audio: AudioConfig,
                 stream: bool = False) -> np.ndarray:
    """Waveform ``(samples,)`` at ``audio.sample_rate`` -> mel -> ``vocoder`` -> ``(samples',)``.

    ``stream=True`` vocodes in chunks (``tts.streaming.stream_vocode``), as a streaming player
    would; the result is the same up to float rounding for convolutional vocoders.
    """
    from tts.audio import MelSpectrogram
    from tts.streaming import stream_vocode

    samples = torch.from_numpy(np.asarray(wav, dtype=np.float32))
    with torch.no_grad():
        mel = MelSpectrogram(audio)(samples)[:, : len(samples) // audio.hop_length].unsqueeze(0)
        if stream:
            out = torch.cat(list(stream_vocode(vocoder, mel, audio.hop_length,
                                               context_frames=context_frames(vocoder))))
        else:
            out = vocoder(mel).reshape(-1)
    return out.clamp(-1, 1).numpy()
