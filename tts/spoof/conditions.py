"""Channel conditions a recording may have been through: the same functions degrade the training
corpus (augmentation) and the evaluation clips, so that "after MP3 32k" means one thing.

Each takes and returns mono float32 ``(num_samples,)`` at ``SAMPLE_RATE`` (16 kHz); the length is
kept (codec padding is cut, a short codec output is zero-padded).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import soundfile as sf

from tts.audio import resample
from tts.spoof.features import SAMPLE_RATE

CONDITIONS = ("clean", "mp3", "8k", "noise")
"""Names accepted by ``apply``: as recorded, MP3 at 32 kbit/s, through 8 kHz, added noise."""

TRAINING_CONDITIONS = ("bandlimit", "8k-mp3", "mp3-low", "6k", "speed-up", "speed-up-mp3")
"""Further conditions only training draws on (``TrainingConfig.conditions``; evaluation keeps
to ``CONDITIONS``): a random band limit (high-pass 50-300 Hz, low-pass 3.4-7 kHz), the telephone
band then MP3 32k, MP3 at 24 kbit/s, down to 6 kHz and back, and faster playback (``speed_up``;
alone and then MP3 32k)."""

SPEED_UP = (1.12, 1.8)
"""The range of ``speed_up``'s factor (log-uniform): +2 to +10 semitones."""

MP3_KBPS = 32
_MP3_LEVELS: dict[tuple[int, int], float] = {}


def _mp3_bytes(wav: np.ndarray, rate: int, level: float) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with sf.SoundFile(buffer, "w", rate, 1, format="MP3", subtype="MPEG_LAYER_III",
                          compression_level=level, bitrate_mode="CONSTANT") as f:
            f.write(wav)
    return buffer.getvalue()


def _mp3_level(rate: int, kbps: int = MP3_KBPS) -> float:
    """libsndfile's ``compression_level`` that gives ``kbps`` at ``rate`` (CBR): measured once
    on 2 s of noise (libsndfile maps the level linearly onto the bitrate range of the MPEG
    version that ``rate`` implies, so the level for a given bitrate depends on the rate)."""
    if (rate, kbps) not in _MP3_LEVELS:
        probe = (np.random.default_rng(0).standard_normal(2 * rate) * 0.1).astype(np.float32)
        best, best_error = 0.5, float("inf")
        for level in np.linspace(0.0, 0.975, 40):
            got = len(_mp3_bytes(probe, rate, float(level))) * 8 / 2 / 1000
            if abs(got - kbps) < best_error:
                best, best_error = float(level), abs(got - kbps)
        _MP3_LEVELS[rate, kbps] = best
    return _MP3_LEVELS[rate, kbps]


def mp3(wav: np.ndarray, kbps: int = MP3_KBPS) -> np.ndarray:
    """Encode as MP3 at ``kbps`` kbit/s constant bitrate (libsndfile/LAME) and decode again."""
    data = _mp3_bytes(np.clip(wav, -1, 1).astype(np.float32), SAMPLE_RATE,
                      _mp3_level(SAMPLE_RATE, kbps))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, _ = sf.read(io.BytesIO(data), dtype="float32")
    out = out.reshape(len(out), -1).mean(axis=1) if out.ndim == 2 else out
    return _fit(out, len(wav))


def narrowband(wav: np.ndarray, rate: int = 8000) -> np.ndarray:
    """Down to ``rate`` Hz and back up to ``SAMPLE_RATE`` (a telephone-band channel)."""
    return _fit(resample(resample(wav, SAMPLE_RATE, rate), rate, SAMPLE_RATE), len(wav))


def add_noise(wav: np.ndarray, rng: np.random.Generator, snr_db: tuple[float, float] = (10, 30)
              ) -> np.ndarray:
    """Coloured Gaussian noise (white to brown, random) at a random SNR in ``snr_db``."""
    white = rng.standard_normal(len(wav))
    tilt = rng.uniform(0.0, 2.0)  # power falls as f^-tilt
    spectrum = np.fft.rfft(white)
    freqs = np.maximum(np.fft.rfftfreq(len(wav), 1 / SAMPLE_RATE), 20.0)
    noise = np.fft.irfft(spectrum * freqs ** (-tilt / 2), n=len(wav))
    power = float(np.mean(wav.astype(np.float64) ** 2)) + 1e-12
    snr = rng.uniform(*snr_db)
    noise *= np.sqrt(power / 10 ** (snr / 10) / (np.mean(noise ** 2) + 1e-20))
    return (wav + noise).astype(np.float32)


def bandlimit(wav: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random band limit: high-pass at 50-300 Hz and low-pass at 3.4-7 kHz, each a raised
    cosine 200 Hz (high-pass) or 10% (low-pass) wide, applied in the frequency domain."""
    low, high = rng.uniform(50.0, 300.0), rng.uniform(3400.0, 7000.0)
    freqs = np.fft.rfftfreq(len(wav), 1 / SAMPLE_RATE)
    up = np.clip((freqs - low) / 200.0 + 0.5, 0.0, 1.0)
    down = np.clip((high - freqs) / (0.1 * high) + 0.5, 0.0, 1.0)
    gain = (0.5 - 0.5 * np.cos(np.pi * up)) * (0.5 - 0.5 * np.cos(np.pi * down))
    return np.fft.irfft(np.fft.rfft(wav) * gain, n=len(wav)).astype(np.float32)


def speed_up(wav: np.ndarray, rng: np.random.Generator,
             factors: tuple[float, float] = SPEED_UP) -> np.ndarray:
    """Faster playback by a random factor in ``factors``: resampled so that pitch, formants and
    tempo all rise by it, with no trace of a vocoder (high, raised voices, as in acted
    emotional speech, are otherwise rare among the real training clips). The shorter result is
    repeated from its start to the original length, joined by a 10 ms cross-fade."""
    factor = float(np.exp(rng.uniform(np.log(factors[0]), np.log(factors[1]))))
    fast = resample(wav, int(round(SAMPLE_RATE * factor)), SAMPLE_RATE)
    fade = min(SAMPLE_RATE // 100, len(fast) // 4)
    out = fast
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    while len(out) < len(wav):
        joined = out[-fade:] * (1 - ramp) + fast[:fade] * ramp if fade else out[:0]
        out = np.concatenate([out[:len(out) - fade], joined, fast[fade:]])
    return out[:len(wav)].astype(np.float32)


def apply(wav: np.ndarray, condition: str, seed: int = 0) -> np.ndarray:
    """``wav`` through the named condition (one of ``CONDITIONS`` or ``TRAINING_CONDITIONS``);
    ``seed`` fixes the noise, the band limit and the speed factor."""
    if condition == "clean":
        return wav.astype(np.float32, copy=False)
    if condition == "mp3":
        return mp3(wav)
    if condition == "8k":
        return narrowband(wav)
    if condition == "noise":
        return add_noise(wav, np.random.default_rng(seed))
    if condition == "bandlimit":
        return bandlimit(wav, np.random.default_rng(seed))
    if condition == "8k-mp3":
        return mp3(narrowband(wav))
    if condition == "mp3-low":
        return mp3(wav, 24)
    if condition == "6k":
        return narrowband(wav, 6000)
    if condition == "speed-up":
        return speed_up(wav, np.random.default_rng(seed))
    if condition == "speed-up-mp3":
        return mp3(speed_up(wav, np.random.default_rng(seed)))
    known = ", ".join((*CONDITIONS, *TRAINING_CONDITIONS))
    raise ValueError(f"unknown condition {condition!r}; known: {known}")


def _fit(wav: np.ndarray, length: int) -> np.ndarray:
    wav = np.asarray(wav, dtype=np.float32)[:length]
    return np.pad(wav, (0, length - len(wav))) if len(wav) < length else wav
