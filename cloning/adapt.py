"""Few-shot speaker adaptation: fine-tune the acoustic model on a voice's reference audio.

``adapt(clips, transcripts, name, base, workdir, seconds)`` writes the clips and their texts as
a small corpus, prepares it with the ``folder`` recipe (the same mels and phonemes as every
training run), embeds it with the speaker encoder, and fine-tunes the base model with
``tts.training.acoustic_task.train`` (``--init``) under a wall-time budget; the result is
exported as an fp16 acoustic checkpoint. One training code path: the same one ``voxclone train
acoustic`` runs.
Transcripts come from the caller, or from the offline recogniser (``transcribe``: Whisper
through ``tts.asr``), screened by ``screen_transcripts``: a clip whose transcript is empty or
unsure is left out, because training on wrong words ruins the voice (pocketsphinx's transcripts
of one minute of LibriSpeech gave clones a Whisper WER of 0.95).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from cloning.reference import REFERENCE_RATE, ReferenceClip
from tts.audio import load_audio, save_audio
from tts.errors import ConfigError, DataError, VoxcloneError

if TYPE_CHECKING:
    from tts.checkpoint import Checkpoint
    from tts.training.acoustic_task import AcousticExperimentConfig

__all__ = ["read_transcripts", "transcribe", "screen_transcripts", "adapt", "prepare_reference",
           "FINETUNE_CONFIG",
           "MIN_ADAPT_SPEECH", "MIN_CONFIDENCE"]

FINETUNE_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "acoustic" / "finetune.yaml"
MIN_ADAPT_SPEECH = 20.0
"""Seconds of transcribed speech below which fine-tuning is refused (zero-shot is better)."""
MIN_CONFIDENCE = 0.5
"""Whisper confidence (``tts.asr``) below which a clip's transcript is not trusted. Whisper base
on 21 real clips (8 Common Voice, 8 CMU ARCTIC, 5 LibriSpeech): 0.63 to 0.95; the same clips
played backwards (speech-like sound without words, which Whisper still "hears" as sentences):
0.20 to 0.44; 2 s of silence 0.10 ("you"). It catches words that are not there, not a
misheard word in a confident sentence (a clip at 0.63 had 2 of 9 words wrong)."""


def read_transcripts(path: str | Path) -> dict[str, str]:
    """``file|text`` (or tab-separated) lines -> {file stem: text}; ``DataError`` if unusable."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise DataError(f"transcripts file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read transcripts {path}: {exc}") from None
    texts: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        sep = "|" if "|" in line else "\t"
        name, _, text = line.partition(sep)
        if not text.strip():
            raise DataError(f"{path}:{number}: expected 'file|text', got {line[:60]!r}")
        texts[Path(name.strip()).stem] = " ".join(text.split())
    if not texts:
        raise DataError(f"transcripts file {path} is empty")
    return texts


def transcribe(clips: Sequence[ReferenceClip], transcriber=None) -> list[tuple[str, float | None]]:
    """``(text, confidence)`` of each clip by ``transcriber`` (a ``tts.asr.Transcriber``;
    default ``tts.asr.load_transcriber("whisper")``). Confidence is None for pocketsphinx."""
    if transcriber is None:
        from tts.asr import load_transcriber

        transcriber = load_transcriber("whisper")
    return [transcriber.transcribe_scored(clip.wav, REFERENCE_RATE) for clip in clips]


def screen_transcripts(scored: Sequence[tuple[str, float | None]],
                       min_confidence: float = MIN_CONFIDENCE) -> list[str]:
    """The texts of ``scored`` (``transcribe``'s output) with ``""`` for each clip left out:
    no words heard, or a confidence below ``min_confidence``; a clip without a confidence
    (pocketsphinx) cannot be trusted and is left out too."""
    return [text.strip() if text.strip() and confidence is not None
            and confidence >= min_confidence else "" for text, confidence in scored]


def _experiment(base: Checkpoint, base_path: Path, config_path: Path
                ) -> AcousticExperimentConfig:
    """The fine-tuning experiment: the architecture and audio config of ``base`` (the
    checkpoint at ``base_path``) with ``config_path``'s training."""
    from tts.config import from_dict
    from tts.models.tacotron import TacotronConfig
    from tts.training.acoustic_task import AcousticExperimentConfig, AcousticTrainingConfig

    try:
        training = (yaml.safe_load(config_path.read_text(encoding="utf-8")) or {})["training"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the fine-tuning config {config_path}: {exc}") from None
    return AcousticExperimentConfig(
        audio=base.audio_config,
        model=from_dict(TacotronConfig, base.model_config, where=f"{base_path} model_config"),
        training=from_dict(AcousticTrainingConfig, training,
                           where=f"{config_path.name}.training"))


def adapt(clips: Sequence[ReferenceClip], texts: Sequence[str], name: str, base: Path,
          workdir: Path, deadline: float, config: Path = FINETUNE_CONFIG,
          encoder=None, progress: bool = True) -> tuple[Path, dict]:
    """Fine-tune ``base`` (an acoustic checkpoint conditioned on speaker embeddings) on
    ``clips`` with ``texts``, training until ``deadline`` (a ``time.monotonic()`` value; the
    corpus preparation before it counts); returns the exported checkpoint (in ``workdir``) and
    the facts a profile keeps (steps, seconds, clips)."""
    from tts import checkpoint
    from tts.training.acoustic_task import train
    from tts.training.run import RunOptions, export

    pairs = [(c, t) for c, t in zip(clips, texts, strict=True) if t.strip()]
    speech = sum(c.speech for c, _ in pairs)
    if speech < MIN_ADAPT_SPEECH:
        raise DataError(f"only {speech:.0f} s of transcribed speech: few-shot adaptation needs "
                        f"at least {MIN_ADAPT_SPEECH:.0f} s (use zero-shot cloning instead)")
    ckpt = checkpoint.load(base, kind="acoustic")
    if not ckpt.model_config.get("speaker_embedding_dim"):
        raise ConfigError(f"{base} is not conditioned on speaker embeddings: it cannot clone")
    prepared = prepare_reference(pairs, name, ckpt, workdir, encoder)
    experiment = _experiment(ckpt, base, Path(config))
    started = time.monotonic()
    seconds = deadline - started
    if seconds < 10:
        raise ConfigError(f"only {max(seconds, 0):.0f} s of the time budget are left for "
                          "fine-tuning after preparing the audio: give more --minutes")
    options = RunOptions(max_seconds=seconds, progress=progress, accelerator="cpu")
    try:
        final = train(experiment, [prepared], workdir / "run", options, init_from=base)
    except KeyboardInterrupt:
        raise VoxcloneError("few-shot adaptation interrupted; nothing was saved") from None
    steps = _steps(final)
    out = export(final, workdir / "acoustic.pt")
    return out, {"steps": steps, "train_seconds": round(time.monotonic() - started, 1),
                 "clips": len(pairs), "speech_seconds": round(speech, 1)}


def prepare_reference(pairs: Sequence[tuple[ReferenceClip, str]], name: str, ckpt: Checkpoint,
                      workdir: Path, encoder=None, val_fraction: float = 0.05) -> Path:
    """``workdir/prepared``: the reference clips with their texts as a prepared folder of the
    ``folder`` recipe (the mels, phonemes, speaker embeddings and, for a model with pitch, the
    F0 tracks that every training run reads), speaker ``name``; ``val_fraction`` of the clips go
    to ``val.jsonl``. The audio comes from the original files at the model's rate, not from the
    16 kHz cleaned clips: the mels need the full band."""
    from cloning.corpus_embeddings import embed_prepared
    from data.prepare import prepare

    corpus = workdir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    rate = ckpt.audio_config.sample_rate
    full: dict[Path, object] = {}
    for index, (clip, text) in enumerate(pairs):
        stem = f"{index:04d}"
        if clip.span is None:
            shutil.copyfile(clip.path, corpus / f"{stem}{clip.path.suffix.lower()}")
        else:  # a piece of a long recording: cut it from the recording at the model's rate
            if clip.path not in full:
                full[clip.path] = load_audio(clip.path, rate, normalize=False)
            start, end = (round(t * rate) for t in clip.span)
            save_audio(corpus / f"{stem}.wav", full[clip.path][start:end], rate)
        (corpus / f"{stem}.txt").write_text(text + "\n", encoding="utf-8")
    prepared = workdir / "prepared"
    prepare("folder", corpus, prepared, audio=ckpt.audio_config, workers=0,
            val_fraction=val_fraction, min_duration=0.5, max_duration=30.0, progress=False,
            speaker=name)
    if encoder is None:
        from cloning.encoder import load_default

        encoder = load_default()
    embed_prepared(prepared, encoder)
    if ckpt.model_config.get("pitch"):  # a base model with explicit pitch trains on frame F0
        from data.pitch import pitch_prepared

        pitch_prepared(prepared)
    return prepared


def _steps(path: Path) -> int:
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    return int(state.get("global_step", 0))

