"""Audio I/O and the one mel spectrogram.

``load_audio`` reads any common file (wav/flac/ogg/mp3, any rate, any channel count, 8 to 32 bit)
into mono float32 at the model rate, trimmed and loudness-normalised, or raises ``AudioError``
with a one-line reason. ``MelSpectrogram`` is the only mel implementation in voxclone; it is built
from ``AudioConfig`` alone and used by data preparation, training losses and inference. It lives in
``tts.mel`` (torch) and is read from here on first use, so that importing this module loads no
torch (the ONNX runtime's path needs none).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from tts.errors import AudioError
from tts.mel_scale import hz_to_mel, mel_filterbank, mel_frequencies, mel_to_hz  # noqa: F401

MIN_SOURCE_RATE = 8000
"""Below this sample rate a file is refused: speech is not intelligible enough to learn from."""

SILENCE_DBFS = -60.0
"""A clip whose peak is below this level (dB full scale) is treated as silent."""

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
"""Audio files read as input (through libsndfile)."""
OUTPUT_SUFFIXES = (".wav", ".flac", ".ogg")
"""Audio files ``save_audio`` writes (wav and flac as 16-bit PCM, ogg as Vorbis)."""


def _dbfs(amplitude: float) -> float:
    return 20.0 * math.log10(max(amplitude, 1e-12))


def audio_files(folder: str | Path) -> list[Path]:
    """The audio files (``AUDIO_SUFFIXES``) under ``folder``, searched recursively, sorted;
    ``AudioError`` when there are none."""
    folder = Path(folder)
    found = sorted(p for p in folder.rglob("*")
                   if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not found:
        raise AudioError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {folder}")
    return found


def check_audio_file(path: str | Path) -> Path:
    """``path`` as a ``Path``; ``AudioError`` when it is missing, a folder or empty (before
    any decoder is asked)."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"audio file not found: {path}")
    if path.is_dir():
        raise AudioError(f"expected an audio file, got a folder: {path}")
    if path.stat().st_size == 0:
        raise AudioError(f"audio file is empty (0 bytes): {path}")
    return path


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a file as it is: ``(samples (num_samples, channels) float32, sample_rate)``.

    Raises ``AudioError`` for a missing, empty, unreadable or corrupt file.
    """
    path = check_audio_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioError(f"cannot read audio from {path}: unsupported or corrupt file ({reason})") from None
    if data.shape[0] == 0:
        raise AudioError(f"audio file has no samples: {path}")
    if not np.isfinite(data).all():
        raise AudioError(f"audio file contains NaN or infinite samples: {path}")
    return data, int(rate)


def to_mono(data: np.ndarray) -> np.ndarray:
    """``(num_samples, channels)`` or ``(num_samples,)`` -> ``(num_samples,)`` float32 mean."""
    if data.ndim == 2:
        data = data.mean(axis=1)
    return np.ascontiguousarray(data, dtype=np.float32)


def resample(wav: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample a mono ``(num_samples,)`` signal with soxr (high quality)."""
    if orig_rate == target_rate:
        return wav.astype(np.float32, copy=False)
    return soxr.resample(wav, orig_rate, target_rate, quality="HQ").astype(np.float32)


def trim_silence(wav: np.ndarray, sample_rate: int, top_db: float = 40.0) -> np.ndarray:
    """Cut leading and trailing parts more than ``top_db`` below the clip's loudest frame.

    Frames of 25 ms every 5 ms; a 20 ms margin of the cut is kept on each side so that soft onsets
    and releases survive.
    """
    frame = max(1, int(0.025 * sample_rate))
    hop = max(1, int(0.005 * sample_rate))
    if len(wav) < frame:
        return wav
    num = 1 + (len(wav) - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(num)[:, None]
    rms = np.sqrt(np.mean(wav[idx] ** 2, axis=1) + 1e-20)
    db = 20 * np.log10(rms / rms.max())
    loud = np.flatnonzero(db > -top_db)
    if loud.size == 0:
        return wav
    margin = int(0.02 * sample_rate)
    start = max(0, loud[0] * hop - margin)
    end = min(len(wav), loud[-1] * hop + frame + margin)
    return wav[start:end]


def normalize_loudness(wav: np.ndarray, sample_rate: int, target_lufs: float = -23.0,
                       peak: float = 0.95) -> np.ndarray:
    """Scale to ``target_lufs`` integrated loudness (ITU-R BS.1770 via pyloudnorm).

    Clips shorter than one 400 ms gating block are scaled by RMS instead. The result is scaled
    down further if needed so that no sample exceeds ``peak``.
    """
    loudness = -math.inf
    if len(wav) >= int(0.4 * sample_rate) + 1:
        import pyloudnorm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loudness = pyloudnorm.Meter(sample_rate).integrated_loudness(wav.astype(np.float64))
    if not math.isfinite(loudness):
        rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2)))
        loudness = _dbfs(rms) - 0.691  # 1 kHz sine convention: close enough for short clips
    gain = 10 ** ((target_lufs - loudness) / 20)
    top = float(np.abs(wav).max()) * gain
    if top > peak:
        gain *= peak / top
    return (wav * gain).astype(np.float32)


def load_audio(path: str | Path, sample_rate: int, *, trim: bool = True, normalize: bool = True,
               min_duration: float = 0.1, top_db: float = 40.0,
               target_lufs: float = -23.0) -> np.ndarray:
    """Read ``path`` as mono float32 ``(num_samples,)`` at ``sample_rate``.

    Steps: decode (wav/flac/ogg/mp3 through libsndfile), average channels, refuse silent audio
    (``decode_audio``); resample, trim leading/trailing silence (``trim``), normalise loudness
    (``normalize``), refuse clips with less than ``min_duration`` seconds left (``clean_audio``).
    Every refusal is an ``AudioError``.
    """
    wav, rate = decode_audio(path)
    return clean_audio(wav, rate, sample_rate, path, trim=trim, normalize=normalize,
                       min_duration=min_duration, top_db=top_db, target_lufs=target_lufs)


def decode_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """The first half of ``load_audio``: ``(mono float32 (num_samples,), its sample rate)``;
    ``AudioError`` for an unreadable, too low-rate or silent file. Give the result to
    ``clean_audio`` once per rate needed, so that a file is decoded only once."""
    data, rate = read_audio(path)
    if rate < MIN_SOURCE_RATE:
        raise AudioError(f"sample rate {rate} Hz is too low for speech (need at least "
                         f"{MIN_SOURCE_RATE} Hz): {path}")
    wav = to_mono(data)
    level = _dbfs(float(np.abs(wav).max()))
    if level < SILENCE_DBFS:
        raise AudioError(f"audio is silent (peak {level:.0f} dBFS): {path}")
    return wav, rate


def clean_audio(wav: np.ndarray, rate: int, sample_rate: int, path: str | Path, *,
                trim: bool = True, normalize: bool = True, min_duration: float = 0.1,
                top_db: float = 40.0, target_lufs: float = -23.0) -> np.ndarray:
    """The second half of ``load_audio``: decoded ``wav`` at ``rate`` (from ``decode_audio``;
    not changed) -> float32 at ``sample_rate``, trimmed and normalised as ``load_audio`` does.
    ``path`` names the file in the ``AudioError`` for a clip too short."""
    wav = resample(wav, rate, sample_rate)
    if trim:
        wav = trim_silence(wav, sample_rate, top_db)
    duration = len(wav) / sample_rate
    if duration < min_duration:
        raise AudioError(f"audio too short: {duration:.2f} s of sound, need at least "
                         f"{min_duration:.2f} s: {path}")
    if normalize:
        wav = normalize_loudness(wav, sample_rate, target_lufs)
    return wav


def save_audio(path: str | Path, wav, sample_rate: int,
               comment: str | None = None) -> Path:
    """Write mono ``(num_samples,)`` audio (a numpy array or a torch tensor); the format follows
    the suffix (wav = 16-bit PCM).

    ``comment`` goes into the file's comment tag (WAV INFO ICMT, FLAC/Ogg Vorbis comment). The
    file is written beside ``path`` under a hidden name and moved into place when complete, so
    a failed write leaves no half-written file and an existing one untouched."""
    path = Path(path)
    if hasattr(wav, "detach"):  # a torch tensor (torch is not imported for numpy input)
        wav = wav.detach().cpu().float().numpy()
    wav = np.asarray(wav, dtype=np.float32).reshape(-1)
    if not np.isfinite(wav).all():
        raise AudioError("refusing to save audio with NaN or infinite samples")
    subtype = "PCM_16" if path.suffix.lower() in (".wav", ".flac", "") else None
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with sf.SoundFile(str(partial), "w", sample_rate, 1, subtype=subtype) as f:
            if comment:
                f.comment = comment
            f.write(np.clip(wav, -1.0, 1.0))
        os.replace(partial, path)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        partial.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
            str(exc).splitlines()[0].replace(str(partial), str(path))
        raise AudioError(f"cannot write {path}: {reason}") from None
    return path




def __getattr__(name: str):
    """``MelSpectrogram`` and ``mel_spectrogram`` from ``tts.mel``, imported on first use."""
    if name in ("MelSpectrogram", "mel_spectrogram"):
        from tts import mel

        return getattr(mel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
