"""Scoring recordings: ``score_file(path) -> SpoofReport``, a calibrated probability that the
speech in a file was made by a synthesizer, and the times where it is high.

A file is read in blocks and resampled as it streams (``soxr``), cut into windows of
``ScoringConfig.window_seconds`` every ``hop_seconds`` (a file shorter than one window is one
window), so memory stays bounded for any length. Windows without enough speech-like sound
(``Detector.judged``) are skipped. The file's score is the calibrated mean of its judged
windows' logits; a window is "high" when its own calibrated score reaches the threshold.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from tts.audio import check_audio_file
from tts.errors import AudioError, ConfigError
from tts.spoof.detector import Detector, load_detector, min_window_samples
from tts.spoof.features import SAMPLE_RATE

TOO_SHORT = "too short to judge"
NO_SPEECH = "no speech to judge"
JUDGED = "judged"
BLOCK_SECONDS = 30.0


@dataclasses.dataclass
class SpoofReport:
    """The verdict on one recording. ``score``, ``synthetic`` and ``logit`` are None unless
    ``status`` is ``"judged"``; ``windows`` are ``(start_s, end_s, score)`` of judged windows and
    ``segments`` the merged ``(start_s, end_s)`` spans of windows scoring at least ``threshold``."""

    duration: float
    status: str
    threshold: float
    score: float | None = None
    synthetic: bool | None = None
    logit: float | None = None
    windows: list[tuple[float, float, float]] = dataclasses.field(default_factory=list)
    segments: list[tuple[float, float]] = dataclasses.field(default_factory=list)

    def to_dict(self, windows: bool = False) -> dict[str, Any]:
        """Plain JSON-ready fields (rounded); the per-window list only when ``windows``."""
        out = {"status": self.status,
               "score": None if self.score is None else round(self.score, 4),
               "threshold": round(self.threshold, 4), "synthetic": self.synthetic,
               "judged_windows": len(self.windows),
               "segments": [[round(a, 2), round(b, 2)] for a, b in self.segments]}
        if windows:
            out["windows"] = [[round(a, 2), round(b, 2), round(s, 4)] for a, b, s in self.windows]
        return out


def _windows(blocks: Iterable[np.ndarray], size: int, hop: int, least: int
             ) -> Iterator[tuple[int, np.ndarray]]:
    """``(start_sample, window)`` over a stream of 16 kHz blocks: full windows every ``hop``,
    then one window ending at the end when the last full one stops more than ``hop // 2``
    short of it; a stream shorter than ``size`` (but at least ``least``) is one window."""
    buffer = np.zeros(0, dtype=np.float32)
    offset = 0  # stream position of buffer[0]
    next_start = 0
    total = 0
    for block in blocks:
        buffer = np.concatenate([buffer, block.astype(np.float32, copy=False)])
        total += len(block)
        while next_start + size <= offset + len(buffer):
            i = next_start - offset
            yield next_start, buffer[i:i + size]
            next_start += hop
        keep = max(0, next_start - offset)
        buffer, offset = buffer[keep:], offset + keep
    last_end = next_start - hop + size if next_start else 0
    if total < size:
        if total >= least:
            yield 0, buffer[-total:]
    elif total - last_end > hop // 2:
        yield total - size, buffer[-size:]


def _blocks(path: Path) -> tuple[Iterator[np.ndarray], float]:
    """A file as a stream of mono 16 kHz float32 blocks, and its duration in seconds."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioError(f"cannot read audio from {path}: unsupported or corrupt file "
                         f"({reason})") from None
    rate = f.samplerate
    duration = f.frames / rate if f.frames > 0 else 0.0

    def stream() -> Iterator[np.ndarray]:
        resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        with f:
            while True:
                try:
                    block = f.read(int(BLOCK_SECONDS * rate), dtype="float32", always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise AudioError(f"cannot read audio from {path}: corrupt file "
                                     f"({str(exc).splitlines()[0]})") from None
                last = len(block) == 0
                mono = block.mean(axis=1) if len(block) else np.zeros(0, np.float32)
                if not np.isfinite(mono).all():
                    raise AudioError(f"audio file contains NaN or infinite samples: {path}")
                yield resampler.resample_chunk(mono, last=last)
                if last:
                    return
    return stream(), duration


def judged_windows(blocks: Iterable[np.ndarray], detector: Detector
                   ) -> Iterator[tuple[int, np.ndarray | None]]:
    """``(start_sample, window)`` of every window of a stream of 16 kHz blocks; ``window`` is
    None where the window is not judged (too little speech-like sound)."""
    cfg = detector.scoring
    least = max(min_window_samples(detector.features), int(cfg.min_seconds * SAMPLE_RATE))
    size = int(cfg.window_seconds * SAMPLE_RATE)
    hop = int(cfg.hop_seconds * SAMPLE_RATE)
    for start, window in _windows(blocks, size, hop, least):
        yield start, (window.copy() if detector.judged(window) else None)


def score_blocks(blocks: Iterable[np.ndarray], duration: float, detector: Detector
                 ) -> SpoofReport:
    """Score a stream of mono 16 kHz blocks of a recording ``duration`` seconds long."""
    if detector.calibration is None:
        raise ConfigError("this detector has no calibration file: it cannot give a score")
    cal, cfg = detector.calibration, detector.scoring
    report = SpoofReport(duration=duration, status=TOO_SHORT, threshold=cal.threshold)
    size = int(cfg.window_seconds * SAMPLE_RATE)
    starts: list[int] = []
    logits: list[float] = []
    pending: list[tuple[int, np.ndarray]] = []
    seen_any = False

    def flush() -> None:
        if pending:
            values = detector.window_logits([w for _, w in pending])
            starts.extend(s for s, _ in pending)
            logits.extend(values.tolist())
            pending.clear()

    for start, window in judged_windows(blocks, detector):
        seen_any = True
        if window is not None:
            pending.append((start, window))
            if len(pending) >= cfg.batch_windows:
                flush()
    flush()
    if not seen_any:
        return report
    if not logits:
        report.status = NO_SPEECH
        return report
    z = np.asarray(logits)
    report.status = JUDGED
    report.logit = float(z.mean())
    report.score = float(cal.probability(report.logit))
    report.synthetic = report.score >= cal.threshold
    probabilities = cal.probability(z)
    length = min(size, int(round(duration * SAMPLE_RATE))) / SAMPLE_RATE
    spans = [(s / SAMPLE_RATE, s / SAMPLE_RATE + length, float(p))
             for s, p in zip(starts, probabilities, strict=True)]
    report.segments = _merge([(a, b) for a, b, p in spans if p >= cal.threshold])
    report.windows = spans
    return report


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def score_samples(wav: np.ndarray, rate: int, detector: Detector) -> SpoofReport:
    """Score mono ``wav (samples,)`` at ``rate`` Hz held in memory."""
    from tts.audio import resample

    x = resample(np.asarray(wav, dtype=np.float32).reshape(-1), rate, SAMPLE_RATE)
    return score_blocks([x], len(wav) / rate, detector)


def score_file(path: str | Path, detector: Detector | None = None) -> SpoofReport:
    """Score an audio file of any length (any format soundfile reads) with ``detector``
    (default: the shipped one). An unreadable file is an ``AudioError``; a file too short or
    without speech gets a report saying so (``status``) and no score."""
    path = check_audio_file(path)
    detector = detector or load_detector()
    blocks, duration = _blocks(path)
    return score_blocks(blocks, duration, detector)
