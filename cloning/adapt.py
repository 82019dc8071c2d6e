"""The reference's words and its training corpus, for the quick and few-shot tiers.

``read_transcripts`` reads a user's ``file|text`` lines; without them ``transcribe`` asks the
offline recogniser (Whisper through ``tts.asr``), and ``screen_transcripts`` leaves out a clip
whose transcript is empty or unsure, because fitting a voice to wrong words ruins it
(pocketsphinx's transcripts of one minute of LibriSpeech gave fine-tuned clones a Whisper WER of
0.95). ``prepare_reference`` writes the clips with their texts as a prepared folder of the
``folder`` recipe (the same mels, phonemes, speaker embeddings and F0 tracks as every training
run) that ``cloning.quick.fit_conditioning`` reads.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cloning.reference import REFERENCE_RATE, ReferenceClip
from tts.audio import load_audio, save_audio
from tts.errors import DataError

if TYPE_CHECKING:
    from tts.checkpoint import Checkpoint

__all__ = ["read_transcripts", "transcribe", "screen_transcripts", "prepare_reference",
           "MIN_ADAPT_SPEECH", "MIN_CONFIDENCE"]

MIN_ADAPT_SPEECH = 20.0
"""Seconds of transcribed speech below which a quick or few-shot clone is refused (zero-shot is
better)."""
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
