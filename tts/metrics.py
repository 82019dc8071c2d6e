"""Objective measures of synthesized speech, and the helpers the benchmarks time things with.

Signal measures compare a reference waveform with a degraded one (a vocoder's resynthesis of
the reference's mel); both are mono ``(num_samples,)`` arrays (NumPy or torch) at one sample
rate, aligned sample by sample, and are cut to the shorter of the two:

==================  =====================================================  ======  ========
measure             what                                                   range   better
==================  =====================================================  ======  ========
``mel_l1``          mean abs difference of log-mels (nats)                 >= 0    lower
``mrstft_distance`` multi-resolution STFT distance (spectral convergence   >= 0    lower
                    plus log-magnitude L1, unitless)
``pesq_wb``         wide-band PESQ (ITU-T P.862.2) at 16 kHz, MOS-LQO      1.04 to higher
                                                                           4.64
``stoi``            short-time objective intelligibility                   0 to 1  higher
``pitch_error``     gross pitch error: share of frames voiced in both      0 to 1  lower
                    whose F0 (pYIN) is off by more than 20%
==================  =====================================================  ======  ========

Intelligibility as a listener would judge it is estimated with an offline recogniser
(``Transcriber``, the judge: ``tts.asr.load_transcriber``, Whisper base through faster-whisper
when installed, else Whisper tiny.en, else pocketsphinx's bundled US-English model; its
``name`` says which one measured, and a report should print it beside the figures) and scored
with ``word_error_rate`` and ``char_error_rate`` after ``normalize_for_scoring`` (spoken-form
words, lower case, no punctuation), so that "Philip Steels, etc." and "philip steels et cetera"
match. Figures from different judges are not comparable: pocketsphinx, a small 2010s-era
recogniser, reaches about 15% WER on clean read speech (CMU ARCTIC) and varies a lot from voice
to voice on robotic speech (espeak-ng); Whisper base hears far more. Compare a system with the
"original" recordings' WER under the same judge, never with zero.

Naturalness without a reference is estimated with DNSMOS P.835 (``dnsmos``: SIG, BAK, OVRL,
about 1 to 5), from the optional ``speechmos`` and ``onnxruntime`` packages
(``pip install 'voxclone[eval]'``).

pesq, pystoi and jiwer are optional (``pip install 'voxclone[dev]'``); they are
imported on first use and a missing one is a one-line ``VoxcloneError``.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import math
import re
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from tts.asr import ASR_SAMPLE_RATE
from tts.audio import MelSpectrogram, resample
from tts.config import AudioConfig
from tts.errors import TextError, VoxcloneError

__all__ = [
    "Transcriber", "normalize_for_scoring", "word_error_rate", "char_error_rate", "pesq_wb",
    "stoi", "pitch_error", "mel_l1", "mrstft_distance", "real_time_factor", "median_seconds",
    "first_chunk_seconds", "first_audio_seconds", "peak_rss_mib", "current_rss_mib",
    "speech_like_mel", "DnsmosScore", "dnsmos", "dnsmos_available", "ASR_SAMPLE_RATE",
]

Signal = np.ndarray | torch.Tensor


def _require(module: str, package: str) -> Any:
    """Import an optional dependency, or a one-line ``VoxcloneError`` naming the package."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise VoxcloneError(f"this measure needs the {package} package: "
                            f"pip install {package} (or pip install 'voxclone[dev]')") from None


def _mono(wav: Signal, what: str = "signal") -> np.ndarray:
    """A 1-D float32 NumPy copy of ``wav`` (``(samples,)``, ``(1, samples)``)."""
    if isinstance(wav, torch.Tensor):
        wav = wav.detach().cpu().float().numpy()
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim == 2 and 1 in wav.shape:
        wav = wav.reshape(-1)
    if wav.ndim != 1:
        raise ValueError(f"{what}: expected a mono signal (samples,), got shape {wav.shape}")
    return wav


def _pair(ref: Signal, deg: Signal) -> tuple[np.ndarray, np.ndarray]:
    """Both signals as 1-D float32, cut to the shorter length."""
    ref, deg = _mono(ref, "reference"), _mono(deg, "degraded")
    n = min(len(ref), len(deg))
    return ref[:n], deg[:n]


# --- text scoring -------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[^a-z0-9' ]+")
_LOOSE_APOSTROPHE = re.compile(r"(?<![a-z0-9])'|'(?![a-z0-9])")


def normalize_for_scoring(text: str) -> str:
    """The form both sides of an error rate are compared in: ``tts.text.normalize`` (numbers,
    abbreviations and symbols in words), lower case, punctuation removed (hyphens become spaces,
    apostrophes inside words stay: "i'm"), whitespace collapsed."""
    from tts.text import normalize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown characters are dropped either way
        text = normalize(text).lower()
    text = _NOT_WORD.sub(" ", text)
    text = _LOOSE_APOSTROPHE.sub(" ", text)
    return " ".join(text.split())


def _as_list(texts: str | Sequence[str]) -> list[str]:
    return [texts] if isinstance(texts, str) else list(texts)


def _error_rate(refs: str | Sequence[str], hyps: str | Sequence[str], unit: str) -> float:
    refs, hyps = _as_list(refs), _as_list(hyps)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    jiwer = _require("jiwer", "jiwer")
    refs = [normalize_for_scoring(r) for r in refs]
    hyps = [normalize_for_scoring(h) for h in hyps]
    errors = 0
    length = 0
    scored = [(r, h) for r, h in zip(refs, hyps, strict=True) if r]
    for r, h in zip(refs, hyps, strict=True):
        if not r:  # jiwer refuses empty references: everything said there is an insertion
            errors += len(h.split()) if unit == "word" else len(h)
    if scored:
        process = jiwer.process_words if unit == "word" else jiwer.process_characters
        out = process([r for r, _ in scored], [h for _, h in scored])
        errors += out.substitutions + out.deletions + out.insertions
        length += out.substitutions + out.deletions + out.hits
    if length == 0:
        return math.nan
    return errors / length


def word_error_rate(refs: str | Sequence[str], hyps: str | Sequence[str]) -> float:
    """Corpus word error rate ``(substitutions + deletions + insertions) / reference words``
    over all pairs, after ``normalize_for_scoring``. 0 is perfect; it exceeds 1 when the
    hypotheses insert many words. NaN when the references hold no words at all."""
    return _error_rate(refs, hyps, "word")


def char_error_rate(refs: str | Sequence[str], hyps: str | Sequence[str]) -> float:
    """Corpus character error rate (spaces count as characters), after
    ``normalize_for_scoring``; same conventions as ``word_error_rate``."""
    return _error_rate(refs, hyps, "char")


# --- speech recognition -------------------------------------------------------------------

class Transcriber:
    """The judge of the intelligibility measures: the best offline recogniser installed
    (``tts.asr.load_transcriber(prefer)``: Whisper base, else tiny.en, else pocketsphinx;
    ``prefer="pocketsphinx"`` for the old judge). ``name`` says which one runs, ``fallback``
    why it is not the one preferred (``""`` when it is). Built once (one to two seconds) and
    reused; each utterance is decoded on its own, so results do not depend on what came before.
    """

    def __init__(self, prefer: str = "whisper") -> None:
        from tts.asr import load_transcriber

        self._asr = load_transcriber(prefer)
        self.name: str = self._asr.name
        self.fallback: str = self._asr.fallback

    def transcribe(self, wav: Signal, sample_rate: int) -> str:
        """Words heard in mono ``wav (samples,)`` (float in [-1, 1], NumPy or torch) at
        ``sample_rate`` Hz, space separated, ``""`` when nothing is recognised."""
        return self._asr.transcribe(_mono(wav), sample_rate)

    def transcribe_scored(self, wav: Signal, sample_rate: int) -> tuple[str, float | None]:
        """``(words, confidence in [0, 1])``; the confidence is None for pocketsphinx."""
        return self._asr.transcribe_scored(_mono(wav), sample_rate)


# --- signal measures ----------------------------------------------------------------------

def pesq_wb(ref: Signal, deg: Signal, sample_rate: int) -> float:
    """Wide-band PESQ (P.862.2) of ``deg`` against ``ref``, both resampled to 16 kHz.

    MOS-LQO from 1.04 (bad) to 4.64 (identical). NaN, without raising, when PESQ cannot score
    the pair: no speech found (silence), or less than a quarter second of audio.
    """
    pesq = _require("pesq", "pesq")
    ref, deg = _pair(ref, deg)
    ref = resample(ref, sample_rate, ASR_SAMPLE_RATE)
    deg = resample(deg, sample_rate, ASR_SAMPLE_RATE)
    n = min(len(ref), len(deg))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return float(pesq.pesq(ASR_SAMPLE_RATE, ref[:n], deg[:n], "wb"))
    except (pesq.PesqError, RuntimeError, ValueError):
        return math.nan


def stoi(ref: Signal, deg: Signal, sample_rate: int, extended: bool = False) -> float:
    """Short-time objective intelligibility of ``deg`` against ``ref`` (pystoi; resampled to
    10 kHz inside, silent frames of ``ref`` dropped). About 0 (unrelated) to 1 (identical);
    ``extended=True`` gives ESTOI. NaN when less than about 0.4 s of speech remains."""
    pystoi = _require("pystoi", "pystoi")
    ref, deg = _pair(ref, deg)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(pystoi.stoi(ref.astype(np.float64), deg.astype(np.float64), sample_rate,
                                  extended=extended))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return math.nan
    return value


def pitch_error(ref: Signal, deg: Signal, sample_rate: int) -> float:
    """Gross pitch error of ``deg`` against ``ref``: among the 10 ms frames that pYIN
    (``tts.prosody.pitch_track``) finds voiced in both, the share whose F0 differs by more
    than 20%. 0 when the pitch is kept; a vocoder that puts out a wrong pitch scores near 1.
    NaN when no frame is voiced in both."""
    from tts.prosody import pitch_track

    ref, deg = _pair(ref, deg)
    f0_ref, voiced_ref = pitch_track(ref, sample_rate)
    f0_deg, voiced_deg = pitch_track(deg, sample_rate)
    n = min(len(voiced_ref), len(voiced_deg))
    both = voiced_ref[:n] & voiced_deg[:n]
    if not both.any():
        return math.nan
    ratio = f0_deg[:n][both] / f0_ref[:n][both]
    return float(np.mean(np.abs(ratio - 1.0) > 0.2))


def mel_l1(ref: Signal, deg: Signal, audio: AudioConfig | MelSpectrogram) -> float:
    """Mean absolute difference of the log-mels (``tts.audio.MelSpectrogram``, natural log, so
    in nats) of ``ref`` and ``deg``, cut to the shorter signal. 0 for identical signals; about
    0.3 to 0.5 for a good neural vocoder at 22 kHz, more than 1 for noise-like output.

    ``audio``: the AudioConfig the signals are at, or an already built ``MelSpectrogram``.
    """
    mel = audio if isinstance(audio, MelSpectrogram) else MelSpectrogram(audio)
    ref, deg = _pair(ref, deg)
    with torch.no_grad():
        a = mel(torch.from_numpy(ref))
        b = mel(torch.from_numpy(deg))
    return float(torch.mean(torch.abs(a - b)))


def mrstft_distance(ref: Signal, deg: Signal, loss: torch.nn.Module | None = None) -> float:
    """Multi-resolution STFT distance (``tts.models.losses.MultiResolutionSTFTLoss``: spectral
    convergence plus log-magnitude L1, averaged over 512/1024/2048-point STFTs), unitless,
    cut to the shorter signal. 0 for identical signals; grows without bound.

    ``loss``: a ``MultiResolutionSTFTLoss`` to reuse (built with the defaults when ``None``).
    """
    if loss is None:
        from tts.models.losses import MultiResolutionSTFTLoss

        loss = MultiResolutionSTFTLoss()
    ref, deg = _pair(ref, deg)
    with torch.no_grad():
        return float(loss(torch.from_numpy(ref)[None], torch.from_numpy(deg)[None]))


# --- naturalness (no reference) -----------------------------------------------------------

DNSMOS_SAMPLE_RATE = 16000
"""DNSMOS P.835 scores 16 kHz audio in 9.01 s windows."""


@dataclasses.dataclass(frozen=True)
class DnsmosScore:
    """DNSMOS P.835 MOS estimates, each about 1 to 5, higher is better: ``sig`` the speech
    signal itself (distortion), ``bak`` the background (noise), ``ovrl`` overall; ``p808`` the
    older P.808 overall estimate."""

    sig: float
    bak: float
    ovrl: float
    p808: float


def dnsmos_available() -> bool:
    """Whether ``dnsmos`` can run: the optional ``speechmos`` and ``onnxruntime`` packages
    (``pip install 'voxclone[eval]'``)."""
    return all(importlib.util.find_spec(m) is not None for m in ("speechmos", "onnxruntime"))


def dnsmos(wav: Signal, sample_rate: int) -> DnsmosScore:
    """Microsoft's DNSMOS P.835 (the ONNX models shipped by PyPI ``speechmos``) on a mono
    ``wav (num_samples,)`` at ``sample_rate``: a no-reference proxy of how natural and clean
    speech sounds to listeners, trained on noisy and denoised speech, not on TTS, so compare
    systems with each other and with recordings, not with an absolute scale.

    The audio is resampled to 16 kHz and clipped to [-1, 1]; a clip shorter than 9.01 s is
    repeated until it is that long (speechmos's rule), longer ones are scored in 9.01 s windows
    every second and averaged. A missing package is a one-line ``VoxcloneError``."""
    if not dnsmos_available():
        raise VoxcloneError("DNSMOS needs the speechmos and onnxruntime packages: "
                            "pip install 'voxclone[eval]'")
    from speechmos import dnsmos as speechmos_dnsmos

    audio = _mono(wav, "wav")
    if audio.size == 0 or not np.isfinite(audio).all():
        raise ValueError("dnsmos: the signal is empty or not finite")
    audio = np.clip(resample(audio, sample_rate, DNSMOS_SAMPLE_RATE), -1.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = speechmos_dnsmos.run(audio.astype(np.float32), DNSMOS_SAMPLE_RATE)
    return DnsmosScore(sig=float(scores["sig_mos"]), bak=float(scores["bak_mos"]),
                       ovrl=float(scores["ovrl_mos"]), p808=float(scores["p808_mos"]))


# --- speed and memory ---------------------------------------------------------------------

def real_time_factor(audio_seconds: float, compute_seconds: float) -> float:
    """Seconds of audio made per second of compute ("x real time"): 100 means 10 s of audio in
    0.1 s; above 1 is faster than real time. (The inverse of the ASR convention, where
    compute / audio below 1 is faster than real time.)"""
    if compute_seconds <= 0:
        return math.inf
    return audio_seconds / compute_seconds


def median_seconds(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls after ``warmup`` calls that
    are not timed (first-call allocations, lazy imports, JIT)."""
    if repeats < 1 or warmup < 0:
        raise ValueError("median_seconds needs repeats >= 1 and warmup >= 0")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def first_chunk_seconds(vocoder: Callable[[torch.Tensor], torch.Tensor], mel: torch.Tensor,
                        hop_length: int, f0: torch.Tensor | None = None,
                        chunk_frames: int = 32) -> float:
    """Wall-clock seconds until ``tts.vocoder.vocode_stream`` yields its first chunk of
    ``mel (1, n_mels, frames)`` [with ``f0 (1, frames)`` for a pitch-driven vocoder], with the
    context that makes the vocoder exact: the latency before a streaming player can start."""
    from tts.vocoder import vocode_stream

    start = time.perf_counter()
    chunks = vocode_stream(vocoder, mel, hop_length, f0, chunk_frames=chunk_frames)
    next(chunks)
    elapsed = time.perf_counter() - start
    chunks.close()
    return elapsed


def first_audio_seconds(synthesizer, text: str, chunk_frames: int = 32) -> float:
    """Wall-clock seconds from ``text`` to the first streamed samples of a ``Synthesizer`` with a
    neural engine (``tts.neural_engine.NeuralEngine``: ``engine.mel``, ``engine.vocoder``): the
    first of ``Synthesizer.speakable_chunks`` is turned into a mel ``(n_mels, frames)`` (with its
    F0), and ``tts.vocoder.vocode_stream`` vocodes its first ``chunk_frames`` frames with the
    context that makes it exact. Loudness normalization and the watermark work on whole
    utterances in ``Synthesizer.synthesize``, so they are not in this time (about 40 ms per 3 s
    of audio for the watermark)."""
    from tts.synthesizer import NOTHING_TO_SAY
    from tts.vocoder import vocode_stream

    engine = synthesizer.engine
    if not hasattr(engine, "mel") or not hasattr(engine, "vocoder"):
        raise VoxcloneError(f"first-audio latency needs a neural engine, not {engine.name}")
    start = time.perf_counter()
    words = next(synthesizer.speakable_chunks(text), None)
    if words is None:
        raise TextError(NOTHING_TO_SAY)
    out = engine.mel(words)
    f0 = None if out.f0 is None else out.f0[None]
    chunks = vocode_stream(engine.vocoder, out.mel[None], engine.audio.hop_length, f0,
                           chunk_frames=chunk_frames)
    next(chunks)
    elapsed = time.perf_counter() - start
    chunks.close()
    return elapsed


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (``getrusage`` ``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 2 ** 10  # bytes vs KiB


def current_rss_mib() -> float:
    """Resident memory of this process now, in MiB (``/proc/self/statm``; the peak so far
    where that file does not exist)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return peak_rss_mib()
    return pages * resource.getpagesize() / 2 ** 20


# --- benchmark input ----------------------------------------------------------------------

def speech_like_mel(frames: int, audio: AudioConfig, seed: int = 0) -> torch.Tensor:
    """A reproducible speech-like log-mel ``(n_mels, frames)`` for speed measurements when no
    corpus is at hand: ``tts.audio.MelSpectrogram`` of a harmonic source (pitch moving around
    120 to 220 Hz, decaying harmonics) with syllable-rate loudness, short pauses and noise
    bursts like fricatives."""
    rng = np.random.default_rng(seed)
    sr = audio.sample_rate
    n = frames * audio.hop_length
    t = np.arange(n) / sr
    f0 = 160 + 40 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6)) + 15 * np.sin(
        2 * np.pi * 2.1 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    harmonics = sum(np.sin(k * phase) / k ** 1.2 for k in range(1, 40))
    syllables = np.clip(np.sin(2 * np.pi * 2.5 * t + rng.uniform(0, 6)), 0, None) ** 0.6
    pauses = (np.sin(2 * np.pi * 0.35 * t) > -0.8).astype(np.float64)
    noise = rng.standard_normal(n) * (np.sin(2 * np.pi * 1.3 * t) > 0.85)
    wav = 0.25 * harmonics * syllables * pauses + 0.05 * noise
    wav = (0.5 * wav / max(1e-9, float(np.abs(wav).max()))).astype(np.float32)
    with torch.no_grad():
        return MelSpectrogram(audio)(torch.from_numpy(wav))[:, :frames]
