"""What audio goes through in the wild, as functions: the edits the watermark must survive.

Every attack maps ``(wav (num_samples,) float32, sample_rate) -> (wav, sample_rate)``; some
change the rate (resampling) or the length (cropping, concatenation, time stretching). They are
used by ``scripts/benchmark.py watermark`` and the tests. Codecs run through libsndfile
(``soundfile``), so no external program is needed.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import soundfile as sf

from tts.audio import resample

Attack = Callable[[np.ndarray, int, np.random.Generator], tuple[np.ndarray, int]]


def _decode(buffer: io.BytesIO) -> tuple[np.ndarray, int]:
    buffer.seek(0)
    data, rate = sf.read(buffer, dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), int(rate)


def mp3(wav: np.ndarray, sample_rate: int, kbps: int = 32) -> tuple[np.ndarray, int]:
    """Constant-bit-rate MP3 at ``kbps`` kbit/s (LAME through libsndfile), decoded back.

    libsndfile maps its compression level linearly onto the bit rates of the MPEG version of
    ``sample_rate``: 32 to 320 kbit/s (MPEG-1, 32 kHz and up), 8 to 160 (MPEG-2, 16 to 24 kHz),
    8 to 64 (MPEG-2.5, below 16 kHz). The decoder's delay is removed so the result lines up.
    """
    top, bottom = (320, 32) if sample_rate >= 32000 else (160, 8) if sample_rate >= 16000 else (64, 8)
    level = float(np.clip((top - kbps) / (top - bottom), 0.0, 1.0))
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(wav, -1, 1), sample_rate, format="MP3", subtype="MPEG_LAYER_III",
             compression_level=level, bitrate_mode="CONSTANT")
    out, rate = _decode(buffer)
    return _realign(out, wav), rate


def ogg(wav: np.ndarray, sample_rate: int, quality: float = 0.0) -> tuple[np.ndarray, int]:
    """Ogg Vorbis at libsndfile compression level ``1 - quality`` (``quality=0``: the lowest
    bit rate, about 37 kbit/s for 22 kHz speech), decoded back."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(wav, -1, 1), sample_rate, format="OGG", subtype="VORBIS",
             compression_level=float(np.clip(1.0 - quality, 0.0, 1.0)))
    out, rate = _decode(buffer)
    return _realign(out, wav), rate


OPUS_RATE = 16000


def opus_bytes(wav: np.ndarray, sample_rate: int, kbps: float) -> bytes:
    """An Ogg Opus file of ``wav`` resampled to 16 kHz (wideband), at about ``kbps`` kbit/s.

    libsndfile maps its compression level linearly onto Opus bit rates from 256 kbit/s (level
    0) down to 6 kbit/s (level 1) per channel; the file adds about 1 kbit/s of Ogg framing."""
    level = float(np.clip((256.0 - kbps) / (256.0 - 6.0), 0.0, 1.0))
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(resample(wav, sample_rate, OPUS_RATE), -1, 1), OPUS_RATE,
             format="OGG", subtype="OPUS", compression_level=level)
    return buffer.getvalue()


def opus(wav: np.ndarray, sample_rate: int, kbps: float = 16.0) -> tuple[np.ndarray, int]:
    """Ogg Opus at about ``kbps`` kbit/s (see ``opus_bytes``), decoded back at 16 kHz."""
    wide = resample(wav, sample_rate, OPUS_RATE)  # resampled once: encoded and aligned to
    out, rate = _decode(io.BytesIO(opus_bytes(wide, OPUS_RATE, kbps)))
    return _realign(out, wide), rate


def _realign(out: np.ndarray, ref: np.ndarray, max_lag: int = 4096) -> np.ndarray:
    """Undo a codec's constant delay (found by cross-correlation) and match ``ref``'s length."""
    n = min(len(ref), len(out), 1 << 16)
    spec = np.fft.rfft(out[:n], 2 * n) * np.conj(np.fft.rfft(ref[:n], 2 * n))
    corr = np.fft.irfft(spec)
    lags = np.r_[corr[: max_lag + 1], corr[-max_lag:]]
    lag = int(np.argmax(lags))
    lag = lag if lag <= max_lag else lag - len(lags)
    out = out[lag:] if lag >= 0 else np.r_[np.zeros(-lag, np.float32), out]
    return np.pad(out, (0, max(0, len(ref) - len(out))))[: len(ref)].astype(np.float32)


def add_noise(wav: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add white Gaussian noise ``snr_db`` below the signal's mean power."""
    power = float(np.mean(wav.astype(np.float64) ** 2))
    noise = rng.standard_normal(len(wav)) * np.sqrt(power / 10 ** (snr_db / 10))
    return (wav + noise).astype(np.float32)


def lowpass(wav: np.ndarray, sample_rate: int, cutoff: float = 4000.0,
            order: int = 8) -> np.ndarray:
    """Butterworth low-pass at ``cutoff`` Hz (zero phase)."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(order, cutoff, btype="low", fs=sample_rate, output="sos")
    return sosfiltfilt(sos, wav).astype(np.float32)


def time_stretch(wav: np.ndarray, rate: float) -> np.ndarray:
    """Change the tempo by ``rate`` (1.05: 5% faster, shorter) keeping the pitch (librosa's
    phase vocoder)."""
    import librosa

    return librosa.effects.time_stretch(wav.astype(np.float32), rate=rate).astype(np.float32)


def crop(wav: np.ndarray, sample_rate: int, seconds: float,
         rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A ``seconds`` long excerpt at a random position; returns ``(excerpt, start in seconds)``."""
    n = int(round(seconds * sample_rate))
    if len(wav) <= n:
        return wav.copy(), 0.0
    start = int(rng.integers(0, len(wav) - n))
    return wav[start:start + n].copy(), start / sample_rate


def splice(marked: np.ndarray, unmarked: np.ndarray, sample_rate: int,
           rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float]]:
    """``marked`` inserted at a random point of ``unmarked``; returns the joined audio and the
    marked part's ``(start, end)`` in seconds."""
    at = int(rng.integers(0, len(unmarked) + 1))
    out = np.concatenate([unmarked[:at], marked, unmarked[at:]]).astype(np.float32)
    return out, (at / sample_rate, (at + len(marked)) / sample_rate)


def standard_attacks() -> dict[str, Attack]:
    """The edits of the benchmark, by name: ``name -> f(wav, sample_rate, rng)``."""
    return {
        "none": lambda w, sr, rng: (w, sr),
        "mp3 32 kbit/s": lambda w, sr, rng: mp3(w, sr, 32),
        "mp3 24 kbit/s": lambda w, sr, rng: mp3(w, sr, 24),
        "mp3 16 kbit/s": lambda w, sr, rng: mp3(w, sr, 16),
        "ogg vorbis q0": lambda w, sr, rng: ogg(w, sr, 0.0),
        "opus 24 kbit/s": lambda w, sr, rng: opus(w, sr, 24),
        "opus 16 kbit/s": lambda w, sr, rng: opus(w, sr, 16),
        "opus 12 kbit/s": lambda w, sr, rng: opus(w, sr, 12),
        "resample 16 kHz": lambda w, sr, rng: (resample(w, sr, 16000), 16000),
        "resample 8 kHz": lambda w, sr, rng: (resample(w, sr, 8000), 8000),
        "noise 20 dB SNR": lambda w, sr, rng: (add_noise(w, 20.0, rng), sr),
        "gain -10 dB": lambda w, sr, rng: (w * np.float32(10 ** (-10 / 20)), sr),
        "gain +6 dB": lambda w, sr, rng: (np.clip(w * np.float32(2.0), -1, 1), sr),
        "low-pass 4 kHz": lambda w, sr, rng: (lowpass(w, sr, 4000.0), sr),
        "crop 2 s": lambda w, sr, rng: (crop(w, sr, 2.0, rng)[0], sr),
        "stretch 0.97": lambda w, sr, rng: (time_stretch(w, 0.97), sr),
        "stretch 1.03": lambda w, sr, rng: (time_stretch(w, 1.03), sr),
    }
