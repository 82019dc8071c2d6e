"""Imperceptible, keyed audio watermark: ``embed`` marks speech, ``detect`` finds the mark.

Every waveform ``tts.synthesizer.Synthesizer`` returns is marked (``watermark=False`` turns it
off, and the CLI records that in the file's comment tag). The mark carries a 16-bit payload
(e.g. model and voice ids) and is keyed: only someone with the key can find it. voxclone ships a
public default key (``DEFAULT_KEY``) on purpose, so that anyone can check whether a recording
came out of voxclone; a deployment that wants a private mark passes its own ``key`` to both
``embed`` and ``detect``.

How it works (``tts.watermark.core``): dither modulation of keyed log ratios of the
energies of pairs of 128 ms x 62.5 Hz tiles between 187.5 and 3687.5 Hz, at an 8 kHz analysis
rate (long, narrow tiles survive a phase vocoder's tempo change, which smears time but not
frequency). Each ratio's move is carried mostly by the weaker tile of its pair (where a
change costs least signal-to-mark ratio), the moves that would cost most are left out so that
the mark stays 30.5 dB below the speech, and the mark is held 10 dB below the signal in every 8
ms (no echo of it before onsets). The pattern repeats every 1.024 s; the detector resamples any
input to 8 kHz and searches the alignment (block phase, 4 ms grid start, +-3% time scale), so it
works on excerpts and reports where in time the mark was found; long files are searched in
overlapping 30 s windows. The payload travels as a 32-bit Reed-Muller codeword
(``tts.watermark.code``), decoded by maximum likelihood from the soft evidence of every marked
stretch, and it is withheld (``payload=None``) when the best codeword does not clearly beat the
runner-up.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tts.audio import resample
from tts.errors import AudioError, VoxcloneError
from tts.watermark import code, core

__all__ = ["DEFAULT_KEY", "PAYLOAD_BITS", "THRESHOLD", "WatermarkResult", "embed", "detect",
           "make_payload", "split_payload"]

DEFAULT_KEY = "voxclone-public-watermark-v1"
"""voxclone's public key: anyone can detect marks made with it (which is the point)."""

PAYLOAD_BITS = code.MESSAGE_BITS
"""Payload size: an integer in ``[0, 2**16)``; ``make_payload`` packs a model and a voice id."""

THRESHOLD = 6.0
"""Detection threshold on the score (z units) of a 10 s clip; shorter and longer audio needs
less or more (``applied_threshold``). Calibrated on 2,200 unmarked real clips and 2-4 s
crops of the six corpora of ../shared/data (``scripts/benchmark.py watermark --clips 0`` with
seeds 0 and 1): scores mean 3.18, max 4.98, none at 5.0 or more (the previous band,
250-3250 Hz: 3.24, 5.33, 4; with the uncoded payload of the first design: 3.17, 5.42, 5).
For the first design, a straight-line fit of the log share of scores from 4.0 to 5.0 put
0.1% false positives at 5.2 and 6.0 at about 0.004%; the margin is for clips longer
than most of those (scores grow with length: mean 2.8 under 3 s, 3.9 for 12-40 s). Files over
``CHUNK_S`` need more (``LENGTH_PENALTY``)."""

TARGET_SNR_DB = 30.5
"""The mark is scaled down if needed so that signal-to-mark ratio is at least this."""

BUDGET_SHARE = 0.9
"""The embedder plans to spend this share of the ``TARGET_SNR_DB`` budget (the STFT's overlap
makes the real mark a little stronger than planned; the rest is scaled off at the end)."""

SEGMENT_WINDOW_S = 1.0
SEGMENT_Z = 2.5

CHUNK_S = 30.0
CHUNK_OVERLAP_S = 8.0
"""``detect`` searches longer audio in windows of ``CHUNK_S`` overlapping by ``CHUNK_OVERLAP_S``
(a marked stretch up to 8 s long lies whole in one window)."""

SHORT_SLOPE = 0.8
"""Within one window, the score a clip of ``L`` seconds must reach is ``threshold +
SHORT_SLOPE * log10(L / 10)`` (``L`` clamped to 1.5-30 s): unmarked scores grow with length
(more alignments and sub-windows to be lucky in). On the 2,200 clips of ``THRESHOLD``, a
log-linear fit of each length's upper tail (70th to 99th percentile) puts the score reached by
0.01% of unmarked clips at 5.57 under 3 s, 5.96 for 3-4 s, 6.11 for 4-10 s and 6.36 for
10-60 s; this line (5.34 at 1.5 s, 5.44 at 2 s, 5.80 at 5.6 s, 6.0 at 10 s, 6.38 at 30 s)
keeps each length between about 0.01% and 0.03%, where one threshold of 6.0 gave short clips
far less (under 3 s, about 0.002%) and clips over 10 s more (about 0.04%)."""

LENGTH_PENALTY = 0.6
"""A file searched in ``n`` windows must reach ``LENGTH_PENALTY * log10(n)`` more than a 30 s
clip: each window is another chance for unmarked audio to score high, and the share of unmarked
scores above a level falls about 1.5 decades per unit near the threshold (a 10-minute file: 27
windows, +0.86; an hour: 164 windows, +1.33). Marked files that long score far above it; a
short marked excerpt inside a long unmarked file needs the higher score."""


def applied_threshold(threshold: float, seconds: float, windows: int = 1) -> float:
    """The score ``detect`` requires of ``seconds`` of audio searched in ``windows`` windows,
    for a base ``threshold`` (the score a 10 s clip needs); see ``SHORT_SLOPE`` and
    ``LENGTH_PENALTY``."""
    length = float(np.clip(seconds, 1.5, CHUNK_S))
    return (threshold + SHORT_SLOPE * float(np.log10(length / 10.0))
            + LENGTH_PENALTY * float(np.log10(max(windows, 1))))

PAYLOAD_MIN_MARGIN = 4.0
"""The payload is reported only when the decoded codeword beats the runner-up by at least this
much soft evidence (``tts.watermark.code.decode``'s margin, z units); below it, ``detect`` says
the mark is present but its payload unreadable, rather than risk a wrong one. Of 234 wrong
decodes among 607 detections of 144 clips after hard attacks (mp3 and Opus 16 kbit/s, Opus
12 kbit/s, 3% tempo change, noise), the largest margins were 2.24, 2.33, 2.39 and 3.19; the
gate of 3.0 it replaces let that last one through."""


@dataclasses.dataclass
class WatermarkResult:
    """What ``detect`` found in one signal.

    ``present``: the score reached ``threshold``. ``score``: the best alignment's z score
    (about N(0, 1) per alignment on unmarked audio; higher is surer). ``payload``: the decoded
    integer (``None`` when not present, or when ``payload_margin`` is below
    ``PAYLOAD_MIN_MARGIN``: present but unreadable). ``payload_margin``: how far the decoded
    codeword stands above the runner-up (z units).
    ``segments``: ``[(start_s, end_s)]`` seconds of the input where the mark was found.
    ``time_scale``: the tempo change found (1.0 = none).
    """

    present: bool
    score: float
    threshold: float
    payload: int | None = None
    payload_margin: float = 0.0
    segments: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    time_scale: float = 1.0

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["segments"] = [[round(a, 3), round(b, 3)] for a, b in self.segments]
        out["score"] = round(self.score, 3)
        out["threshold"] = round(self.threshold, 3)
        out["payload_margin"] = round(self.payload_margin, 3)
        return out


def make_payload(model_id: int, voice_id: int) -> int:
    """Pack an 8-bit model id and an 8-bit voice id into one 16-bit payload."""
    if not (0 <= model_id < 256 and 0 <= voice_id < 256):
        raise VoxcloneError(f"model and voice ids must be in 0..255, got {model_id}, {voice_id}")
    return (model_id << 8) | voice_id


def split_payload(payload: int) -> tuple[int, int]:
    """``(model_id, voice_id)`` of a payload made by ``make_payload``."""
    return payload >> 8, payload & 0xFF


def _bits(payload: int) -> np.ndarray:
    if not isinstance(payload, (int, np.integer)) or not 0 <= payload < 2 ** PAYLOAD_BITS:
        raise VoxcloneError(f"watermark payload must be an integer in 0..{2 ** PAYLOAD_BITS - 1}, "
                            f"got {payload!r}")
    return np.array([(int(payload) >> k) & 1 for k in range(PAYLOAD_BITS)], dtype=np.float64)


def _mono(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1:
        raise AudioError(f"watermark: expected mono audio (num_samples,), got shape {wav.shape}")
    if sample_rate < core.RATE:
        raise AudioError(f"watermark: sample rate {sample_rate} Hz is below {core.RATE} Hz")
    if not np.isfinite(wav).all():
        raise AudioError("watermark: audio contains NaN or infinite samples")
    return wav


def embed(wav: np.ndarray, sample_rate: int, payload: int = 0,
          key: str = DEFAULT_KEY) -> np.ndarray:
    """Mark ``wav`` (mono ``(num_samples,)`` float in [-1, 1], at ``sample_rate`` Hz >= 8000)
    with the 16-bit ``payload`` under ``key``; returns the marked float32 signal, same shape.

    The mark is at least ``TARGET_SNR_DB`` below the signal; silence stays untouched. Audio
    shorter than one 128 ms tile comes back unchanged.
    """
    wav = _mono(wav, sample_rate)
    bits = _bits(payload)
    if len(wav) == 0 or not np.any(wav):
        return wav.copy()
    x8 = resample(wav, sample_rate, core.RATE).astype(np.float64)
    # the mark's energy budget, relative to the 8 kHz signal it is made from (the full-rate
    # signal also holds what lies above 4 kHz)
    full = float(np.sum(wav.astype(np.float64) ** 2)) / sample_rate
    budget = BUDGET_SHARE * 10 ** (-TARGET_SNR_DB / 10) * full / max(
        float(np.sum(x8 ** 2)) / core.RATE, 1e-30)
    layout = core.Layout(key, code.CODE_BITS, core.DESIGN)
    mark8 = core.embed_8k(x8, layout, code.encode(bits), budget)
    mark = resample(mark8.astype(np.float32), core.RATE, sample_rate)
    mark = np.pad(mark, (0, max(0, len(wav) - len(mark))))[:len(wav)]
    signal = float(np.sum(wav.astype(np.float64) ** 2))
    noise = float(np.sum(mark.astype(np.float64) ** 2))
    limit = signal * 10 ** (-TARGET_SNR_DB / 10)
    if noise > limit:
        mark *= np.float32(np.sqrt(limit / noise))
    return np.clip(wav + mark, -1.0, 1.0).astype(np.float32)


def detect(wav: np.ndarray, sample_rate: int, key: str = DEFAULT_KEY,
           threshold: float = THRESHOLD) -> WatermarkResult:
    """Look for the mark of ``key`` in mono ``wav (num_samples,)`` at any ``sample_rate``
    (>= 8000 Hz). Searches every alignment, so excerpts, joined files and tempo changes of up
    to about 3% are found. Audio longer than ``CHUNK_S`` is searched in windows of that length
    overlapping by ``CHUNK_OVERLAP_S`` (peak memory stays near 0.7 GB however long the
    file); the score is the best window's, the threshold depends on the length
    (``applied_threshold``; the result reports the one applied), the segments are every marked
    window's, and the payload is read from all of them. See ``WatermarkResult`` for what comes
    back."""
    wav = _mono(wav, sample_rate)
    x8 = resample(wav, sample_rate, core.RATE).astype(np.float64)
    layout = core.Layout(key, code.CODE_BITS, core.DESIGN)
    size = int(CHUNK_S * core.RATE)
    hop = size - int(CHUNK_OVERLAP_S * core.RATE)
    starts = [0] if len(x8) <= size else sorted(
        {*range(0, len(x8) - size, hop), len(x8) - size})
    threshold = applied_threshold(threshold, len(x8) / core.RATE, len(starts))
    score, scale = -np.inf, 1.0
    segments: list[tuple[float, float]] = []
    sums = np.zeros(code.CODE_BITS)
    variances = np.zeros(code.CODE_BITS)
    for i, first in enumerate(starts):
        # each window reads the payload only where it is the nearest window's middle, so that
        # overlapping windows do not count the same audio twice
        own = ((first + starts[i - 1] + size) / 2 if i else 0.0,
               (first + size + starts[i + 1]) / 2 if i + 1 < len(starts) else float(len(x8)))
        part = _detect_window(x8[first:first + size], layout, threshold, first, own)
        if part is None:
            continue
        if part["z"] > score:
            score, scale = part["z"], part["scale"]
        segments += part["segments"]
        sums += part["sums"]
        variances += part["variances"]
    if not np.isfinite(score):
        return WatermarkResult(False, 0.0, threshold)
    if score < threshold:
        return WatermarkResult(False, score, threshold, time_scale=scale)
    soft = np.where(variances > 0, sums / np.sqrt(np.maximum(variances, 1e-12)), 0.0)
    payload, margin = code.decode(soft)
    return WatermarkResult(True, score, threshold,
                           payload if margin >= PAYLOAD_MIN_MARGIN else None, margin,
                           _merge(segments, len(wav) / sample_rate), scale)


def _detect_window(x8: np.ndarray, layout: core.Layout, threshold: float, first: int,
                   own: tuple[float, float]) -> dict | None:
    """The best alignment of one window ``x8`` (8 kHz, starting at sample ``first`` of the
    whole signal): ``{"z", "scale", "segments" (seconds of the whole signal; empty below
    ``threshold``), "sums", "variances" (payload evidence read in the marked part of the
    ``own`` sample range, zero below ``threshold``)}``; ``None`` when too short to score."""
    design = layout.design
    found = core.best_alignment(x8, layout)
    if not np.isfinite(found["z"]):
        return None
    out = {"z": found["z"], "scale": found["scale"], "segments": [],
           "sums": 0.0, "variances": 0.0}
    if found["z"] < threshold:
        return out
    columns = len(found["layout_cols"])
    window = max(1, int(round(SEGMENT_WINDOW_S / design.column_s)))
    spans = core.marked_spans(found, layout, window, SEGMENT_Z)
    middle = first + core.column_time(np.arange(columns), found, design) * core.RATE
    mine = (middle >= own[0]) & (middle < own[1])
    marked = core.span_mask(spans, columns) if spans else np.ones(columns, bool)
    out["sums"], out["variances"] = core.payload_sums(found, layout, code.CODE_BITS,
                                                      marked & mine)
    half = design.column_s * found["scale"] / 2
    offset = first / core.RATE
    out["segments"] = [
        (offset + float(core.column_time(a, found, design)) - half,
         offset + float(core.column_time(b, found, design)) + half) for a, b in spans
    ] or [(offset, offset + len(x8) / core.RATE)]
    return out


def _merge(segments: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Overlapping or touching ``(start_s, end_s)`` segments joined, clipped to
    ``[0, duration]``, in time order."""
    out: list[tuple[float, float]] = []
    for a, b in sorted((max(0.0, a), min(duration, b)) for a, b in segments):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
