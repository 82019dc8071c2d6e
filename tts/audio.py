"""Audio I/O and the one mel spectrogram.

``load_audio`` reads any common file (wav/flac/ogg/mp3, any rate, any channel count, 8 to 32 bit)
into mono float32 at the model rate, trimmed and loudness-normalised, or raises ``AudioError``
with a one-line reason. ``MelSpectrogram`` is the only mel implementation in voxclone; it is built
from ``AudioConfig`` alone and used by data preparation, training losses and inference.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch
from torch import nn

from tts.config import AudioConfig
from tts.errors import AudioError

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


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a file as it is: ``(samples (num_samples, channels) float32, sample_rate)``.

    Raises ``AudioError`` for a missing, empty, unreadable or corrupt file.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"audio file not found: {path}")
    if path.is_dir():
        raise AudioError(f"expected an audio file, got a folder: {path}")
    if path.stat().st_size == 0:
        raise AudioError(f"audio file is empty (0 bytes): {path}")
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


def save_audio(path: str | Path, wav: np.ndarray | torch.Tensor, sample_rate: int,
               comment: str | None = None) -> Path:
    """Write mono ``(num_samples,)`` audio; the format follows the suffix (wav = 16-bit PCM).

    ``comment`` goes into the file's comment tag (WAV INFO ICMT, FLAC/Ogg Vorbis comment). The
    file is written beside ``path`` under a hidden name and moved into place when complete, so
    a failed write leaves no half-written file and an existing one untouched."""
    path = Path(path)
    if isinstance(wav, torch.Tensor):
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


_MEL_HZ = 200.0 / 3
"""Slaney's mel scale (librosa's default, ``htk=False``): one mel per 200/3 Hz up to 1 kHz..."""
_MEL_BREAK_HZ = 1000.0
_MEL_BREAK = _MEL_BREAK_HZ / _MEL_HZ
_MEL_LOG_STEP = math.log(6.4) / 27.0
"""... and 27 mels per factor 6.4 above it."""


def hz_to_mel(hz) -> np.ndarray:
    """Hz -> mels on Slaney's scale (every voxclone mel's); float64, same shape."""
    hz = np.asarray(hz, dtype=np.float64)
    above = np.log(np.maximum(hz, _MEL_BREAK_HZ) / _MEL_BREAK_HZ) / _MEL_LOG_STEP
    return np.where(hz >= _MEL_BREAK_HZ, _MEL_BREAK + above, hz / _MEL_HZ)


def mel_to_hz(mel) -> np.ndarray:
    """Mels on Slaney's scale -> Hz (the inverse of ``hz_to_mel``); float64, same shape."""
    mel = np.asarray(mel, dtype=np.float64)
    above = _MEL_BREAK_HZ * np.exp(_MEL_LOG_STEP * (np.maximum(mel, _MEL_BREAK) - _MEL_BREAK))
    return np.where(mel >= _MEL_BREAK, above, _MEL_HZ * mel)


def mel_frequencies(count: int, f_min: float, f_max: float) -> np.ndarray:
    """``(count,)`` Hz evenly spaced on the mel scale from ``f_min`` to ``f_max``."""
    return mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), count))


def mel_filterbank(config: AudioConfig) -> np.ndarray:
    """Slaney mel filterbank ``(n_mels, n_fft // 2 + 1)`` float32 for ``config``: triangles
    between consecutive band edges (``mel_frequencies``), each scaled to the same area
    (2 / its width in Hz). Identical to ``librosa.filters.mel(..., htk=False, norm="slaney")``
    without importing librosa (and scipy.signal with it)."""
    edges = mel_frequencies(config.n_mels + 2, config.f_min, config.f_max)  # (n_mels + 2,)
    bins = np.fft.rfftfreq(config.n_fft, 1.0 / config.sample_rate)  # (n_fft // 2 + 1,)
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, bins)
    rising, falling = -ramps[:-2] / widths[:-1, None], ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(rising, falling)).astype(np.float32)
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights


class MelSpectrogram(nn.Module):
    """Log-mel spectrogram, the only one in voxclone.

    Input: waveform ``(batch, num_samples)`` or ``(num_samples,)``, float, in [-1, 1].
    Output: ``(batch, n_mels, frames)`` (or ``(n_mels, frames)`` for 1-D input), natural log of
    the mel magnitude floored at ``config.log_floor``; ``frames = 1 + num_samples // hop_length``.
    """

    def __init__(self, config: AudioConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)
        self.register_buffer("mel_basis", torch.from_numpy(mel_filterbank(config)).float(),
                             persistent=False)

    def spectrum(self, wav: torch.Tensor) -> torch.Tensor:
        """Complex STFT ``(batch, n_fft // 2 + 1, frames)`` of ``(batch, samples)``: frame ``i``
        is centred on sample ``i * hop_length`` (reflect padding), the frames the mel is made
        of and the frames an iSTFT vocoder synthesizes."""
        c = self.config
        pad = c.n_fft // 2
        mode = "reflect" if wav.shape[-1] > pad else "constant"
        wav = torch.nn.functional.pad(wav.unsqueeze(1), (pad, pad), mode=mode).squeeze(1)
        return torch.stft(wav, c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                          window=self.window, center=False, return_complex=True)

    def magnitude(self, wav: torch.Tensor) -> torch.Tensor:
        """Linear STFT magnitude ``(batch, n_fft // 2 + 1, frames)`` of ``(batch, samples)``."""
        return self.spectrum(wav).abs()

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        squeeze = wav.dim() == 1
        if squeeze:
            wav = wav.unsqueeze(0)
        mel = torch.matmul(self.mel_basis, self.magnitude(wav.float()))
        mel = torch.log(torch.clamp(mel, min=self.config.log_floor))
        return mel.squeeze(0) if squeeze else mel


def mel_spectrogram(wav: np.ndarray, config: AudioConfig) -> np.ndarray:
    """NumPy convenience: ``(num_samples,)`` -> ``(n_mels, frames)`` float32 via ``MelSpectrogram``."""
    with torch.no_grad():
        mel = MelSpectrogram(config)(torch.from_numpy(np.asarray(wav, dtype=np.float32)))
    return mel.numpy()
