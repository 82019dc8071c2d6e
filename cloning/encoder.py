"""The GE2E speaker encoder: ``wav -> 40-band mel at 16 kHz -> LSTM stack -> unit embedding``.

A ``SpeakerEncoder`` maps fixed-length windows of mel frames ("partials", 160 frames = 1.6 s) to
L2-normalised embeddings; an utterance's embedding is the normalised mean of the embeddings of
overlapping partials that cover it (``embed_utterance``). The front end is the encoder's own
``AudioConfig`` (``ENCODER_AUDIO``: 16 kHz, 25 ms Hann window, 10 ms hop, 40 Slaney mel bands,
0-8000 Hz) fed through ``tts.audio.MelSpectrogram``; the features are the *power* mel
(``mel_basis @ |STFT|^2``), natural-log compressed only when ``SpeakerEncoderConfig.log_mel`` is
set. The power mel without log is what the published Resemblyzer weights expect
(``cloning.pretrained``); it is why every clip is first scaled to a fixed RMS level
(``preprocess_wav``), which also makes embeddings independent of the input gain.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tts import checkpoint
from tts.audio import SILENCE_DBFS, MelSpectrogram, load_audio, resample, trim_silence
from tts.bundled import DEFAULT_ENCODER
from tts.config import AudioConfig, from_dict, to_dict
from tts.errors import AudioError, CheckpointError, ConfigError

KIND = "encoder"
"""Checkpoint kind of speaker encoders."""

ENCODER_AUDIO = AudioConfig(sample_rate=16000, n_fft=400, win_length=400, hop_length=160,
                            n_mels=40, f_min=0.0, f_max=8000.0, log_floor=1e-6)
"""The encoder's front end: 16 kHz, 25 ms window, 10 ms hop, 40 mel bands (GE2E)."""

DEFAULT_CHECKPOINT = DEFAULT_ENCODER
"""The shipped default encoder (see its model card ``checkpoints/encoder/README.md``)."""



@dataclasses.dataclass(frozen=True)
class SpeakerEncoderConfig:
    """Architecture and embedding procedure of a ``SpeakerEncoder``.

    The LSTM input size is the audio config's ``n_mels`` (derived, never repeated here).
    ``partials_per_second`` and ``min_coverage`` decide how an utterance is cut into partials;
    ``target_dbfs`` is the RMS level every clip is scaled to; clips with less than
    ``min_seconds`` of sound after trimming are refused.
    """

    hidden_size: int = 256
    num_layers: int = 3
    embedding_size: int = 256
    partial_frames: int = 160
    log_mel: bool = False
    target_dbfs: float = -30.0
    partials_per_second: float = 1.3
    min_coverage: float = 0.75
    min_seconds: float = 0.5
    trim_top_db: float = 40.0

    def __post_init__(self) -> None:
        if min(self.hidden_size, self.num_layers, self.embedding_size, self.partial_frames) < 1:
            raise ConfigError("SpeakerEncoderConfig: sizes must be positive")
        if not 0 < self.min_coverage <= 1:
            raise ConfigError("SpeakerEncoderConfig: need 0 < min_coverage <= 1")
        if self.partials_per_second <= 0 or self.min_seconds <= 0:
            raise ConfigError("SpeakerEncoderConfig: partials_per_second and min_seconds must "
                              "be positive")


def preprocess_wav(wav: np.ndarray | torch.Tensor, sample_rate: int,
                   config: SpeakerEncoderConfig, audio: AudioConfig = ENCODER_AUDIO) -> np.ndarray:
    """Any mono (or ``(samples, channels)``) clip -> float32 ``(samples,)`` at
    ``audio.sample_rate``, leading/trailing silence trimmed, scaled to ``config.target_dbfs`` RMS.

    Raises ``AudioError`` for empty, non-finite, silent or too short audio.
    """
    if isinstance(wav, torch.Tensor):
        wav = wav.detach().cpu().float().numpy()
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim == 2:
        wav = wav.mean(axis=1)
    if wav.ndim != 1:
        raise AudioError(f"expected a mono waveform (samples,), got shape {wav.shape}")
    if wav.size == 0:
        raise AudioError("audio has no samples")
    if not np.isfinite(wav).all():
        raise AudioError("audio contains NaN or infinite samples")
    peak = float(np.abs(wav).max())
    if peak <= 0 or 20 * math.log10(peak) < SILENCE_DBFS:
        raise AudioError("audio is silent: nothing to take a voice from")
    if sample_rate < 8000:
        raise AudioError(f"sample rate {sample_rate} Hz is too low for speech (need 8000 Hz)")
    wav = trim_silence(resample(wav, int(sample_rate), audio.sample_rate), audio.sample_rate,
                       config.trim_top_db)
    seconds = len(wav) / audio.sample_rate
    if seconds < config.min_seconds:
        raise AudioError(f"audio too short for a voice embedding: {seconds:.2f} s of sound, "
                         f"need at least {config.min_seconds:.2f} s")
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2)))
    return (wav * (10 ** (config.target_dbfs / 20) / rms)).astype(np.float32)


def partial_starts(num_frames: int, partial_frames: int, step: int, min_coverage: float) -> list[int]:
    """First frames of the partial windows covering ``num_frames`` frames, ``step`` apart.

    Windows run until one reaches the end; the last one is dropped when less than
    ``min_coverage`` of it lies inside the clip (unless it is the only one).
    """
    starts = [0]
    while starts[-1] + partial_frames < num_frames:
        starts.append(starts[-1] + step)
    if len(starts) > 1 and (num_frames - starts[-1]) / partial_frames < min_coverage:
        starts.pop()
    return starts


class SpeakerEncoder(nn.Module):
    """GE2E speaker encoder: LSTM stack, linear projection, ReLU, L2 normalisation.

    ``forward(mels (B, n_mels, frames)) -> (B, embedding_size)`` unit vectors (any ``frames``;
    trained on ``config.partial_frames``). ``features(wav (B, samples)) -> (B, n_mels, frames)``
    is the front end. ``embed_utterance`` / ``embed_many`` / ``embed_file`` do everything from
    audio at any sample rate.
    """

    def __init__(self, config: SpeakerEncoderConfig = SpeakerEncoderConfig(),
                 audio: AudioConfig = ENCODER_AUDIO) -> None:
        super().__init__()
        self.config = config
        self.audio = audio
        self.mel = MelSpectrogram(audio)
        self.lstm = nn.LSTM(audio.n_mels, config.hidden_size, config.num_layers, batch_first=True)
        self.linear = nn.Linear(config.hidden_size, config.embedding_size)

    @property
    def model_config(self) -> dict:
        """The stored form of ``config`` (checkpoint ``model_config``)."""
        return to_dict(self.config)

    def features(self, wav: torch.Tensor) -> torch.Tensor:
        """Front end: ``(B, samples)`` or ``(samples,)`` -> power mel ``(B, n_mels, frames)``
        (``(n_mels, frames)``), log-compressed when ``config.log_mel``;
        ``frames = 1 + samples // hop_length``."""
        squeeze = wav.dim() == 1
        if squeeze:
            wav = wav.unsqueeze(0)
        power = torch.matmul(self.mel.mel_basis, self.mel.magnitude(wav.float()) ** 2)
        if self.config.log_mel:
            power = torch.log(torch.clamp(power, min=self.audio.log_floor))
        return power.squeeze(0) if squeeze else power

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, frames)`` -> unit embeddings ``(B, embedding_size)``."""
        _, (hidden, _) = self.lstm(mels.transpose(1, 2))
        raw = torch.relu(self.linear(hidden[-1]))
        return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-8)

    # -- from audio ----------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def partial_mels(self, wav: np.ndarray) -> torch.Tensor:
        """Partial windows ``(P, n_mels, partial_frames)`` of a preprocessed clip; the clip is
        zero-padded so that the last window is complete."""
        c, hop = self.config, self.audio.hop_length
        step = max(1, round(self.audio.sample_rate / c.partials_per_second / hop))
        step = min(step, c.partial_frames)
        starts = partial_starts(1 + len(wav) // hop, c.partial_frames, step, c.min_coverage)
        need = (starts[-1] + c.partial_frames - 1) * hop
        if len(wav) < need:
            wav = np.pad(wav, (0, need - len(wav)))
        with torch.no_grad():
            mel = self.features(torch.from_numpy(wav).to(self._device()))
        return torch.stack([mel[:, s:s + c.partial_frames] for s in starts])

    def embed_many(self, wavs: Sequence[np.ndarray | torch.Tensor], sample_rate: int,
                   batch_size: int = 64) -> np.ndarray:
        """Utterance embeddings ``(len(wavs), embedding_size)`` float32, one unit vector per clip
        (mean of its partials' embeddings, renormalised). Clips may differ in length and be at
        any sample rate >= 8 kHz; ``AudioError`` for silent, too short or broken audio."""
        if len(wavs) == 0:
            return np.zeros((0, self.config.embedding_size), np.float32)
        partials = [self.partial_mels(preprocess_wav(w, sample_rate, self.config, self.audio))
                    for w in wavs]
        counts = [len(p) for p in partials]
        stacked = torch.cat(partials)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                embeds = torch.cat([self(stacked[i:i + batch_size])
                                    for i in range(0, len(stacked), batch_size)])
        finally:
            self.train(was_training)
        means = torch.stack([chunk.mean(0) for chunk in torch.split(embeds, counts)])
        return nn.functional.normalize(means, dim=1).cpu().numpy().astype(np.float32)

    def embed_utterance(self, wav: np.ndarray | torch.Tensor, sample_rate: int) -> np.ndarray:
        """One clip ``(samples,)`` at ``sample_rate`` -> unit embedding ``(embedding_size,)``."""
        return self.embed_many([wav], sample_rate)[0]

    def embed_file(self, path: str | Path) -> np.ndarray:
        """Embedding ``(embedding_size,)`` of an audio file (wav/flac/ogg/mp3, any rate);
        ``AudioError`` for a missing, unreadable, silent or too short file."""
        wav = load_audio(path, self.audio.sample_rate, normalize=False,
                         min_duration=self.config.min_seconds, top_db=self.config.trim_top_db)
        return self.embed_utterance(wav, self.audio.sample_rate)


def embed_files(encoder, paths: Sequence[str | Path]) -> np.ndarray:
    """Utterance embeddings ``(n, D)`` of the audio files ``paths`` by ``encoder``, each read
    at the reference rate as it is (no loudness normalisation)."""
    from cloning.reference import REFERENCE_RATE

    wavs = [load_audio(p, REFERENCE_RATE, normalize=False) for p in paths]
    return encoder.embed_many(wavs, REFERENCE_RATE)


def average_embeddings(embeddings: np.ndarray) -> np.ndarray:
    """Speaker embedding from utterance embeddings ``(n, D)``: normalised mean ``(D,)``."""
    mean = np.asarray(embeddings, dtype=np.float64).mean(axis=0)
    return (mean / max(np.linalg.norm(mean), 1e-12)).astype(np.float32)


# -- checkpoints ---------------------------------------------------------------------------------
def encoder_checkpoint(encoder: SpeakerEncoder, metadata: dict | None = None) -> checkpoint.Checkpoint:
    """The voxclone checkpoint (kind ``"encoder"``) of ``encoder``'s weights."""
    state = {k: v for k, v in encoder.state_dict().items()}
    return checkpoint.Checkpoint(kind=KIND, model_config=encoder.model_config, state_dict=state,
                                 audio_config=encoder.audio, metadata=dict(metadata or {}))


def build_encoder(model_config: dict, audio: AudioConfig | None) -> SpeakerEncoder:
    """A freshly initialised encoder from a stored ``model_config`` and audio config."""
    return SpeakerEncoder(from_dict(SpeakerEncoderConfig, model_config), audio or ENCODER_AUDIO)


def load_encoder(path: str | Path) -> SpeakerEncoder:
    """Load an encoder checkpoint (shipped, exported or a Lightning training checkpoint) in
    eval mode; ``CheckpointError`` if it is not a usable encoder checkpoint."""
    ckpt = checkpoint.load(path, kind=KIND)
    model = checkpoint.load_into(
        path, ckpt, lambda: build_encoder(ckpt.model_config, ckpt.audio_config), "encoder")
    return model.eval()


def load_default() -> SpeakerEncoder:
    """The default speaker encoder shipped with voxclone (``DEFAULT_CHECKPOINT``)."""
    if not DEFAULT_CHECKPOINT.is_file():
        raise CheckpointError(f"the default speaker encoder {DEFAULT_CHECKPOINT} is missing from "
                              "this installation (convert it with 'python -m cloning.pretrained')")
    return load_encoder(DEFAULT_CHECKPOINT)
