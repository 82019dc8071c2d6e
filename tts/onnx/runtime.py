"""``OnnxEngine``: a voice spoken by onnxruntime from an export folder, without torch.

The same interface ``NeuralEngine`` gives the ``Synthesizer`` (``speak``, ``tokens``, ``mel``,
``mel_from_tokens``, ``vocode``, ``audio``, ``voice``, ``name``), so the CLI, the server and the
Python API run it unchanged; ``tts.voices.voice_engine(name, runtime="onnx")`` builds one. The
path is the torch one cut in three graphs (``tts.onnx.graphs``):

    text -> phoneme ids -> encoder.onnx (ids + voice -> memory, durations, token pitch)
         -> frames = sum of durations -> decoder.onnx (-> mel, alignment, f0)
         -> vocoder.onnx (mel [+ f0 + the vocoder's seeded noise] -> wav)

Nothing here imports torch: start-up is onnxruntime's (about 50 MB and a fraction of a second)
instead of PyTorch's (about 230 MB and seconds). The voice settings are checked as
``NeuralEngine`` checks them, with the same messages. Not available here: a reference mel as
the style, and given durations or pitch (speech-to-speech, ``voxclone convert``): those need
the torch runtime.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tts.config import AudioConfig, from_dict
from tts.errors import CheckpointError, ConfigError
from tts.onnx.manifest import GRAPHS, TABLES, Export
from tts.text import SymbolTable, phoneme_ids
from tts.timbre import check_mel_offset

NOISE_SEED = 0
"""The seed of ``SourceFilterVocoder.excitation`` at inference."""
MIN_VOCODE_FRAMES = 4
"""``tts.vocoder.MIN_VOCODE_FRAMES``: a shorter mel is vocoded padded to this many frames (its
last frame repeated, the F0 unvoiced) and its audio cut back to its own length."""


@dataclasses.dataclass
class OnnxMel:
    """``MelResult`` in numpy: ``mel (n_mels, frames)``, ``tokens`` (ids read, boundaries
    included), ``alignment (frames, tokens)``, ``durations (tokens,)`` frames per token, ``f0
    (frames,)`` Hz (0 = unvoiced) from models with pitch."""

    mel: np.ndarray
    tokens: list[int]
    alignment: np.ndarray
    durations: np.ndarray
    f0: np.ndarray | None = None


def emotion_weights(emotions: dict[str, np.ndarray], mean: np.ndarray, name: str,
                    intensity: float = 1.0) -> np.ndarray:
    """``AcousticModel.emotion_weights`` without torch: style weights ``(heads, tokens)`` of
    emotion ``name`` at ``intensity`` between "neutral" (else the training average ``mean``)
    and as learned, clipped at 0 and normalised per head."""
    if not 0.0 <= intensity <= 2.0:
        raise ConfigError(f"emotion intensity must be between 0 and 2, got {intensity}")
    if name not in emotions:
        known = ", ".join(sorted(emotions)) or "none (trained without emotion labels)"
        raise ConfigError(f"unknown emotion {name!r}; this model has: {known}")
    neutral = emotions.get("neutral", mean)
    mixed = (neutral + np.float32(intensity) * (emotions[name] - neutral)).clip(min=0)
    return (mixed / mixed.sum(axis=-1, keepdims=True)).astype(np.float32)


def _session(path: Path, threads: int | None):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or 0  # 0: onnxruntime's default (physical cores)
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(path), sess_options=options,
                                            providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise CheckpointError(f"cannot load {path} ({str(exc).splitlines()[0]}): run "
                              "`voxclone export --onnx` again") from None


class OnnxEngine:
    """Speaks normalized text from an ONNX export (``tts.onnx.manifest.check_export``).

    Voice and style as ``NeuralEngine``: ``speaker`` (a training speaker; default the first),
    ``speaker_embedding (D,)``, ``emotion`` at ``intensity`` or ``style_weights (heads,
    tokens)``, ``speed``, ``pitch`` (semitones), ``mel_offset (n_mels,)``. ``threads``:
    onnxruntime intra-op threads (default: its own choice, one per physical core);
    ``sessions``: the loaded graphs of another engine of the same export, to share
    (``restyled``). One engine may serve several threads at once (onnxruntime sessions run
    concurrently).
    """

    name = "voxclone-onnx"

    def __init__(self, export: Export, speaker: str | None = None,
                 speaker_embedding: np.ndarray | None = None, emotion: str | None = None,
                 intensity: float = 1.0, speed: float = 1.0,
                 style_weights: np.ndarray | None = None, voice: str | None = None,
                 pitch: float = 0.0, threads: int | None = None,
                 reference_mel: Any = None, sessions: dict[str, Any] | None = None,
                 mel_offset: np.ndarray | None = None) -> None:
        manifest = export.manifest
        self.export = export
        self.model = manifest["model"]
        self.audio = from_dict(AudioConfig, manifest["audio"], where="ONNX manifest audio")
        self.symbols = SymbolTable.from_dict(manifest["symbols"])
        self.speakers = list(manifest["speakers"])
        if not 0.25 <= speed <= 4.0:
            raise ConfigError(f"speed must be between 0.25 and 4, got {speed}")
        if not -12.0 <= pitch <= 12.0:
            raise ConfigError(f"pitch must be between -12 and 12 semitones, got {pitch:g}")
        if pitch and not self.model["pitch"]:
            raise ConfigError("pitch control needs an acoustic model trained with pitch; this "
                              "voice's model has none")
        if reference_mel is not None:
            raise ConfigError("a reference mel as the style needs the torch runtime "
                              "(runtime='torch')")
        try:
            with np.load(export.folder / TABLES) as tables:
                self.tables = {key: tables[key] for key in tables.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise CheckpointError(f"broken ONNX export in {export.folder} ({TABLES}: {exc}): "
                                  "run `voxclone export --onnx` again") from None
        self.emotions = dict(zip(manifest["emotions"], self.tables.get(
            "emotion_weights", np.zeros((0,), np.float32)), strict=False))
        if speaker is None and speaker_embedding is None and self.speakers:
            speaker = self.speakers[0]
        self.speaker = self._speaker_index(speaker)
        self.speaker_embedding = self._embedding(speaker_embedding)
        self.style_weights = self._style(emotion, intensity, style_weights)
        self.voice_style = style_weights
        self.duration_scale = 1.0 / speed
        self.pitch_shift = float(pitch)
        self.mel_offset = None if mel_offset is None else \
            check_mel_offset(mel_offset, self.audio.n_mels)
        self.voice = voice or speaker or ("cloned" if speaker_embedding is not None else "default")
        self.sessions = sessions or {name: _session(export.graph(name), threads)
                                     for name in GRAPHS}
        self.inputs = {name: {i.name for i in session.get_inputs()}
                       for name, session in self.sessions.items()}

    def restyled(self, emotion: str | None = None, intensity: float = 1.0, speed: float = 1.0,
                 pitch: float = 0.0) -> OnnxEngine:
        """This voice (speaker, embedding, voice style weights, pitch and mel offsets) with
        another style, sharing the loaded graphs: what ``tts.synthesizer.restyle`` makes of a
        ``NeuralEngine`` built with the neutral style. ``pitch`` is added to this engine's."""
        speaker = self.speakers[self.speaker] if self.speaker >= 0 else None
        return OnnxEngine(self.export, speaker=speaker,
                          speaker_embedding=self.speaker_embedding, emotion=emotion,
                          intensity=intensity, speed=speed, style_weights=self.voice_style,
                          voice=self.voice, pitch=pitch + self.pitch_shift,
                          sessions=self.sessions, mel_offset=self.mel_offset)

    # -- voice ------------------------------------------------------------------------------
    def _speaker_index(self, name: str | None) -> int:
        """``AcousticModel.speaker_index``: table row, -1 for None."""
        if name is None:
            return -1
        if name not in self.speakers:
            shown = ", ".join(self.speakers[:10]) + (" ..." if len(self.speakers) > 10 else "")
            raise ConfigError(f"unknown speaker {name!r}; this model knows: {shown}")
        return self.speakers.index(name)

    def _embedding(self, embedding: np.ndarray | None) -> np.ndarray | None:
        """``(1, D)`` for the graph: the given one, else a table speaker's stored mean (as
        ``Tacotron.speaker_vector``); None for a model without speaker embeddings."""
        size = self.model["speaker_embedding_dim"]
        if not size:
            return None
        if embedding is None and self.speaker >= 0 and "speaker_means" in self.tables:
            embedding = self.tables["speaker_means"][self.speaker]
        if embedding is None:
            raise ConfigError("this model is conditioned on speaker embeddings: give one (a "
                              "voice profile or reference audio)")
        embedding = np.asarray(embedding, dtype=np.float32).reshape(1, -1)
        if embedding.shape[-1] != size:
            raise ConfigError(f"speaker embedding has size {embedding.shape[-1]}, the model "
                              f"expects {size}")
        return embedding

    def _style(self, emotion: str | None, intensity: float,
               weights: np.ndarray | None) -> np.ndarray | None:
        """Style weights ``(1, heads, tokens)``: ``AcousticModel.emotion_weights`` for an
        emotion, else the given weights (``(tokens,)`` is used by every head), else the
        training average; None for a model without style tokens."""
        mean = self.tables.get("mean_style_weights")
        if emotion is not None:
            return emotion_weights(self.emotions, mean, emotion, intensity)[None]
        if not self.model["use_style"]:
            return None
        if weights is None:
            return mean[None]
        weights = np.asarray(weights, dtype=np.float32)
        if weights.ndim == 1:
            weights = np.broadcast_to(weights, mean.shape)
        if weights.shape != mean.shape:
            raise ValueError(f"style weights must be {mean.shape} or ({mean.shape[-1]},), got "
                             f"{weights.shape}")
        return np.ascontiguousarray(weights)[None]

    # -- text -> mel -> wav -------------------------------------------------------------------
    def tokens(self, text: str) -> list[int]:
        """Phoneme ids of normalized ``text``, ending in sentence punctuation."""
        return phoneme_ids(text, self.symbols)

    def mel(self, text: str) -> OnnxMel:
        """The mel of one chunk of normalized text."""
        return self.mel_from_tokens(self.tokens(text))

    def _run(self, graph: str, feeds: dict[str, Any]) -> list[np.ndarray]:
        wanted = self.inputs[graph]
        return self.sessions[graph].run(None, {k: v for k, v in feeds.items() if k in wanted})

    def mel_from_tokens(self, ids: list[int], durations: Any = None, pitch: Any = None,
                        pitch_shift: float | None = None) -> OnnxMel:
        """The mel of phoneme ``ids`` in this voice; ``pitch_shift`` (semitones) replaces the
        voice's own. Given ``durations`` or ``pitch`` need the torch runtime."""
        if durations is not None or pitch is not None:
            raise ConfigError("given durations or pitch (voxclone convert) need the torch "
                              "runtime (runtime='torch')")
        shift = self.pitch_shift if pitch_shift is None else float(pitch_shift)
        if shift and not self.model["pitch"]:
            raise ConfigError("pitch control needs a model trained with pitch (model.pitch)")
        encoded = self._run("encoder", {
            "tokens": np.asarray([ids], dtype=np.int64),
            "speaker": np.asarray([self.speaker], dtype=np.int64),
            "speaker_embedding": self.speaker_embedding, "style_weights": self.style_weights,
            "duration_scale": np.asarray(self.duration_scale, dtype=np.float32),
            "pitch_shift": np.asarray(shift, dtype=np.float32)})
        memory, frame_durations = encoded[0], encoded[1]
        frames = int(frame_durations.sum())  # as DurationDecoder.infer: durations.sum().long()
        feeds = {"memory": memory, "durations": frame_durations,
                 "frame_mask": np.ones((1, frames), dtype=np.float32)}
        if self.model["pitch"]:
            feeds["pitch"] = encoded[2]
        decoded = self._run("decoder", feeds)
        if self.model["boundary_tokens"]:
            ids = [self.symbols.bos_id, *ids, self.symbols.eos_id]
        mel = decoded[0][0]
        if self.mel_offset is not None:
            mel = mel + self.mel_offset[:, None]
        return OnnxMel(mel=mel, tokens=list(ids), alignment=decoded[1][0],
                       durations=frame_durations[0],
                       f0=decoded[2][0] if self.model["pitch"] else None)

    def vocode(self, mel: np.ndarray, f0: np.ndarray | None = None) -> np.ndarray:
        """``mel (n_mels, frames)`` [and ``f0 (frames,)`` Hz, for pitch-driven vocoders] ->
        ``wav (frames * hop_length,)`` float32 in [-1, 1]."""
        from tts.onnx.noise import torch_randn

        mel = np.asarray(mel, dtype=np.float32)
        frames = mel.shape[-1]
        samples = frames * self.audio.hop_length
        extra = max(MIN_VOCODE_FRAMES - frames, 0)  # as tts.vocoder.vocode pads short mels
        feeds: dict[str, Any] = {"mel": np.pad(mel, ((0, 0), (0, extra)), mode="edge")[None]}
        if self.export.manifest["vocoder"]["needs_f0"]:
            if f0 is None:
                raise ConfigError("this vocoder is pitch-driven and needs an F0 track; the "
                                  "acoustic model or audio in front of it gives none")
            if len(f0) != frames:
                raise ValueError(f"f0 has {len(f0)} frames for a mel of {frames}")
            feeds["f0"] = np.pad(np.asarray(f0, dtype=np.float32), (0, extra))[None]
            feeds["noise"] = torch_randn((frames + extra) * self.audio.hop_length,
                                         NOISE_SEED)[None]
        wav = self._run("vocoder", feeds)[0][0, :samples]
        return wav.clip(-1.0, 1.0).astype(np.float32)

    def speak(self, text: str) -> tuple[np.ndarray, int]:
        """Speak normalized ``text``; returns ``(wav (num_samples,), sample_rate)``."""
        result = self.mel(text)
        return self.vocode(result.mel, result.f0), self.audio.sample_rate


def load_engine(acoustic: str | Path, vocoder: str | Path | None = None,
                folder: str | Path | None = None, voice_name: str | None = None,
                **voice: Any) -> OnnxEngine:
    """``OnnxEngine`` of the current export of ``acoustic`` (``check_export``; ``voice_name``
    words its error's command), with ``voice``: the ``OnnxEngine`` settings."""
    from tts.onnx.manifest import check_export

    return OnnxEngine(check_export(acoustic, vocoder, folder, voice_name), **voice)
