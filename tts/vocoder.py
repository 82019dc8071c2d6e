"""Vocoders by name: build from a config, load from the one checkpoint format, vocode, stream.

A vocoder's ``model_config`` (stored in its checkpoint) is ``{"type": TYPE, "config": {...}}``
with TYPE one of ``VOCODER_TYPES``; ``"griffinlim"`` needs no checkpoint. Every vocoder maps
``mel (B, n_mels, frames) -> wav (B, frames * hop_length)``; the pitch-driven ones
(``needs_f0``, ``type_needs_f0``) are also given ``f0 (B, frames)`` Hz, 0 = unvoiced.
``vocode`` and ``vocode_stream`` are the one way callers run either kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tts import checkpoint
from tts.config import AudioConfig, from_dict, to_dict
from tts.errors import CheckpointError, ConfigError

VOCODER_TYPES = ("sourcefilter", "hifigan", "istft", "griffinlim")


def _classes(kind: str) -> tuple[type, type]:
    """``(ConfigClass, ModuleClass)`` of a trainable vocoder type."""
    if kind == "hifigan":
        from tts.models.hifigan import HiFiGANConfig, HiFiGANGenerator

        return HiFiGANConfig, HiFiGANGenerator
    if kind == "istft":
        from tts.models.istft_vocoder import ISTFTVocoder, ISTFTVocoderConfig

        return ISTFTVocoderConfig, ISTFTVocoder
    if kind == "sourcefilter":
        from tts.models.source_filter import SourceFilterConfig, SourceFilterVocoder

        return SourceFilterConfig, SourceFilterVocoder
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


def needs_f0(vocoder: nn.Module) -> bool:
    """Whether ``vocoder`` is pitch-driven: it must be given an F0 track with every mel."""
    return bool(getattr(vocoder, "needs_f0", False))


def type_needs_f0(kind: str) -> bool:
    """``needs_f0`` of the vocoder type ``kind``, before one is built (its training data must
    carry F0 tracks)."""
    return kind != "griffinlim" and bool(getattr(_classes(kind)[1], "needs_f0", False))


def _check_f0(vocoder: nn.Module, mel: torch.Tensor, f0: torch.Tensor | None) -> None:
    if needs_f0(vocoder) and f0 is None:
        raise ConfigError("this vocoder is pitch-driven and needs an F0 track; the acoustic "
                          "model or audio in front of it gives none")
    if f0 is not None and f0.shape[-1] != mel.shape[-1]:
        raise ValueError(f"f0 has {f0.shape[-1]} frames for a mel of {mel.shape[-1]}")


MIN_VOCODE_FRAMES = 4
"""A shorter mel (a model that says almost nothing) is padded to this many frames by repeating
its last frame, and its audio cut back to its own length."""


def vocode(vocoder: nn.Module, mel: torch.Tensor, f0: torch.Tensor | None = None) -> torch.Tensor:
    """``mel (B, n_mels, frames)`` [and ``f0 (B, frames)`` Hz, 0 = unvoiced] -> ``wav (B,
    frames * hop_length)`` without gradients. The F0 is passed to pitch-driven vocoders and
    ignored by the others (which take the pitch from the mel)."""
    _check_f0(vocoder, mel, f0)
    frames = mel.shape[-1]
    short = 0 < frames < MIN_VOCODE_FRAMES  # too short for the vocoders' STFT padding
    if short:
        extra = MIN_VOCODE_FRAMES - frames
        mel = torch.nn.functional.pad(mel, (0, extra), mode="replicate")
        f0 = None if f0 is None else torch.nn.functional.pad(f0, (0, extra))
    with torch.no_grad():
        wav = vocoder(mel, f0.to(mel.dtype)) if needs_f0(vocoder) else vocoder(mel)
    return wav[..., :wav.shape[-1] // MIN_VOCODE_FRAMES * frames] if short else wav


def vocode_stream(vocoder: nn.Module, mel: torch.Tensor, hop_length: int,
                  f0: torch.Tensor | None = None,
                  chunk_frames: int = 32) -> Iterator[torch.Tensor]:
    """``vocode`` chunk by chunk (``tts.streaming.stream_windows``) with the context that makes
    the joined chunks equal the whole output: ``mel (1, n_mels, frames)`` [``f0 (1, frames)``]
    -> 1-D sample tensors. A pitch-driven vocoder's excitation is made once for the whole
    utterance (its phase runs on from the start) and cut into the same windows as the mel."""
    from tts.streaming import stream_windows

    _check_f0(vocoder, mel, f0)
    if needs_f0(vocoder):
        excitation = vocoder.excitation(f0.to(mel.dtype))

        def window(start: int, end: int) -> torch.Tensor:
            return vocoder.synthesize(mel[..., start:end],
                                      excitation[..., start * hop_length:end * hop_length])
    else:
        def window(start: int, end: int) -> torch.Tensor:
            return vocoder(mel[..., start:end])
    return stream_windows(window, mel.shape[-1], hop_length, chunk_frames=chunk_frames,
                          context_frames=context_frames(vocoder))


def resynthesize(wav: np.ndarray, vocoder: nn.Module, audio: AudioConfig,
                 stream: bool = False) -> np.ndarray:
    """Waveform ``(samples,)`` at ``audio.sample_rate`` -> mel [and F0] -> ``vocoder`` ->
    ``(samples',)``: copy synthesis. A pitch-driven vocoder is given the input's own F0 (pYIN on
    the mel frames, ``tts.prosody.frame_pitch``).

    ``stream=True`` vocodes in chunks (``vocode_stream``), as a streaming player would; the
    result is the same up to float rounding.
    """
    from tts.audio import MelSpectrogram

    samples = torch.from_numpy(np.asarray(wav, dtype=np.float32))
    frames = len(samples) // audio.hop_length
    f0 = None
    if needs_f0(vocoder):
        from tts.prosody import frame_pitch

        f0 = torch.from_numpy(frame_pitch(wav, audio)[:frames]).unsqueeze(0)
    with torch.no_grad():
        mel = MelSpectrogram(audio)(samples)[:, :frames].unsqueeze(0)
        if stream:
            out = torch.cat(list(vocode_stream(vocoder, mel, audio.hop_length, f0)))
        else:
            out = vocode(vocoder, mel, f0).reshape(-1)
    return out.clamp(-1, 1).numpy()

