"""``NeuralEngine``: normalized text -> phonemes -> acoustic model -> mel -> vocoder -> waveform.

The engine the ``Synthesizer`` uses when a trained acoustic model is available (the bundled one
under ``checkpoints/``, or any checkpoint a user names). It refuses to pair an acoustic model and
a vocoder whose audio configs differ.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tts.acoustic import AcousticModel, load_acoustic
from tts.bundled import (
    DEFAULT_ACOUSTIC,
    DEFAULT_VOCODER,
    PITCH_VOCODER,
    RESYNTHESIS_VOCODER,  # noqa: F401 (tts.cli imports it from here)
)
from tts.config import AudioConfig
from tts.errors import ConfigError
from tts.models.tacotron import BOS_ID, EOS_ID
from tts.timbre import check_mel_offset


def default_vocoder(acoustic: AcousticModel) -> Path:
    """The bundled vocoder for ``acoustic``: the pitch-driven ``PITCH_VOCODER`` when the model
    predicts pitch (and the checkpoint is there), else ``DEFAULT_VOCODER``, which reads the pitch
    from the mel."""
    if acoustic.model.config.pitch and PITCH_VOCODER.is_file():
        return PITCH_VOCODER
    return DEFAULT_VOCODER


@dataclasses.dataclass
class MelResult:
    """One chunk's mel ``(n_mels, frames)`` with what the model did to make it: ``tokens``
    (the ids the model read, boundary tokens included), ``alignment`` ``(frames or decoder
    steps, tokens)``, ``durations (tokens,)`` frames per token, and ``f0 (frames,)`` Hz (0 =
    unvoiced) from models with pitch."""

    mel: torch.Tensor
    tokens: list[int]
    alignment: torch.Tensor
    durations: torch.Tensor
    f0: torch.Tensor | None = None


class NeuralEngine:
    """Speaks normalized text with an acoustic model and a vocoder.

    Voice: ``speaker`` (a training speaker of the model; default: its first), or a
    ``speaker_embedding (D,)`` from the speaker encoder. Style: ``emotion`` (a learned named
    emotion) at ``intensity``, or ``reference_mel (n_mels, F)``, or ``style_weights (heads,
    tokens)`` (e.g. a voice profile's); default the training average.
    ``speed`` > 1 speaks faster (duration decoder only); ``pitch`` moves the voice by that many
    semitones (models trained with pitch only); ``mel_offset (n_mels,)`` is added to every
    predicted frame (the voice's colour, ``tts.timbre``).
    """

    name = "voxclone"

    def __init__(self, acoustic: AcousticModel, vocoder: torch.nn.Module,
                 vocoder_audio: AudioConfig, speaker: str | None = None,
                 speaker_embedding: np.ndarray | None = None, emotion: str | None = None,
                 intensity: float = 1.0, reference_mel: torch.Tensor | None = None,
                 speed: float = 1.0, style_weights: np.ndarray | None = None,
                 voice: str | None = None, pitch: float = 0.0,
                 mel_offset: np.ndarray | None = None) -> None:
        if acoustic.audio != vocoder_audio:
            raise ConfigError("the acoustic model and the vocoder use different audio configs "
                              f"({acoustic.audio} vs {vocoder_audio}): they cannot be paired")
        if not 0.25 <= speed <= 4.0:
            raise ConfigError(f"speed must be between 0.25 and 4, got {speed}")
        if not -12.0 <= pitch <= 12.0:
            raise ConfigError(f"pitch must be between -12 and 12 semitones, got {pitch:g}")
        if pitch and not acoustic.model.config.pitch:
            raise ConfigError("pitch control needs an acoustic model trained with pitch; this "
                              "voice's model has none")
        from tts.vocoder import needs_f0

        if needs_f0(vocoder) and not acoustic.model.config.pitch:
            raise ConfigError("this vocoder is pitch-driven but the acoustic model predicts no "
                              "pitch: pair it with a pitch model, or choose a vocoder that "
                              "reads the pitch from the mel (--vocoder)")
        self.acoustic = acoustic
        self.vocoder = vocoder
        self.audio = acoustic.audio
        if speaker is None and speaker_embedding is None and acoustic.speakers:
            speaker = acoustic.speakers[0]
        self.speaker = acoustic.speaker_index(speaker)
        self.speaker_embedding = (None if speaker_embedding is None else
                                  torch.as_tensor(speaker_embedding, dtype=torch.float32)[None])
        if emotion is not None:
            self.style_weights = acoustic.emotion_weights(emotion, intensity)[None]
        elif style_weights is not None and acoustic.model.config.use_style:
            self.style_weights = torch.as_tensor(style_weights, dtype=torch.float32)[None]
        else:
            self.style_weights = None
        self.reference_mel = None if reference_mel is None else reference_mel[None]
        self.duration_scale = 1.0 / speed
        self.pitch_shift = float(pitch)
        self.mel_offset = None if mel_offset is None else \
            torch.as_tensor(check_mel_offset(mel_offset, self.audio.n_mels), dtype=torch.float32)
        self.voice = voice or speaker or ("cloned" if speaker_embedding is not None else "default")

    @classmethod
    def load(cls, acoustic_path: str | Path = DEFAULT_ACOUSTIC,
             vocoder_path: str | Path | None = None, **voice: Any) -> NeuralEngine:
        """An engine from checkpoint paths; without ``vocoder_path``, ``default_vocoder``."""
        from tts.vocoder import load_vocoder

        acoustic = load_acoustic(acoustic_path)
        vocoder, vocoder_audio = load_vocoder(vocoder_path or default_vocoder(acoustic))
        return cls(acoustic, vocoder, vocoder_audio, **voice)

    def tokens(self, text: str) -> list[int]:
        """Phoneme ids of normalized ``text``, ending in sentence punctuation
        (``tts.text.phoneme_ids``)."""
        from tts.text import phoneme_ids

        return phoneme_ids(text, self.acoustic.symbols)

    def mel(self, text: str) -> MelResult:
        """The mel of one chunk of normalized text."""
        return self.mel_from_tokens(self.tokens(text))

    @torch.no_grad()
    def mel_from_tokens(self, ids: list[int], durations: torch.Tensor | None = None,
                        pitch: torch.Tensor | None = None,
                        pitch_shift: float | None = None) -> MelResult:
        """The mel of phoneme ``ids`` (from ``tokens``) in this voice. Given timing and
        intonation (speech-to-speech, ``tts.convert``): ``durations (T',)`` frames per token and
        ``pitch (T', 2)`` token pitch features, over the tokens with boundaries;
        ``pitch_shift`` (semitones) replaces the voice's own."""
        tokens = torch.tensor([ids], dtype=torch.long)
        out = self.acoustic.model.infer(
            tokens, torch.tensor([len(ids)]),
            speakers=torch.tensor([self.speaker]),
            speaker_embeddings=self.speaker_embedding,
            reference_mels=self.reference_mel, style_weights=self.style_weights,
            duration_scale=self.duration_scale,
            pitch_shift=self.pitch_shift if pitch_shift is None else pitch_shift,
            durations=None if durations is None else durations[None],
            pitch=None if pitch is None else pitch[None])
        frames = int(out["mel_lengths"][0])
        if self.acoustic.model.config.boundary_tokens:
            ids = [BOS_ID, *ids, EOS_ID]
        f0 = out["f0"][0, :frames] if "f0" in out else None
        mel = out["mel"][0, :, :frames]
        if self.mel_offset is not None:
            mel = mel + self.mel_offset[:, None]
        return MelResult(mel=mel, tokens=ids,
                         alignment=out["alignment"][0], durations=out["durations"][0], f0=f0)

    @torch.no_grad()
    def vocode(self, mel: torch.Tensor, f0: torch.Tensor | None = None) -> np.ndarray:
        """``mel (n_mels, frames)`` [and ``f0 (frames,)`` Hz, for pitch-driven vocoders] ->
        ``wav (frames * hop_length,)`` float32."""
        from tts.vocoder import vocode

        f0 = None if f0 is None else f0[None].float()
        wav = vocode(self.vocoder, mel[None].float(), f0)[0, :mel.shape[-1] * self.audio.hop_length]
        return wav.clamp(-1.0, 1.0).numpy().astype(np.float32)

    def speak(self, text: str) -> tuple[np.ndarray, int]:
        """Speak normalized ``text``; returns ``(wav (num_samples,), sample_rate)``."""
        result = self.mel(text)
        return self.vocode(result.mel, result.f0), self.audio.sample_rate
