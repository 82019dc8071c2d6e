"""The synthetic-speech programs the detector's corpus is made with (besides voxclone's own
voices and vocoders, which ``scripts/make_spoof_corpus.py`` calls through ``tts.voices`` and
``tts.vocoder``): command-line synthesizers and copy synthesis of real recordings.

Every function returns ``(wav (num_samples,) float32, sample_rate)`` and raises
``VoxcloneError`` with one line when its program is missing or fails.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

from tts.audio import read_audio, to_mono
from tts.errors import VoxcloneError

FLITE_VOICES = ("slt", "rms", "awb")
"""flite's statistical-parametric (clustergen) voices; its diphone voices ``kal``/``kal16`` are
the same database as festival's ``kal_diphone`` and are left out, so that festival stays a
generator no training clip resembles."""

ESPEAK_VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb+m3", "en-us+klatt", "en-us+f2",
                 "en-sc", "en-us+m5")


def program_available(name: str) -> bool:
    """Whether the program ``name`` is on the PATH."""
    return shutil.which(name) is not None


def _run(cmd: list[str], out: Path, stdin: bytes | None = None) -> tuple[np.ndarray, int]:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=120, check=False)
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise VoxcloneError(f"{cmd[0]} failed: {reason[0] if reason else 'no output'}")
    data, rate = read_audio(out)
    return to_mono(data), rate


def espeak(text: str, voice: str, words_per_minute: int = 160) -> tuple[np.ndarray, int]:
    """espeak-ng (formant synthesis; ``+klatt`` variants: Klatt synthesis)."""
    with tempfile.TemporaryDirectory(prefix="voxclone-spoof-") as tmp:
        out = Path(tmp) / "out.wav"
        return _run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-b", "1",
                     "-w", str(out)], out, text.encode("utf-8"))


def flite(text: str, voice: str) -> tuple[np.ndarray, int]:
    """flite (Debian package ``flite``) with one of ``FLITE_VOICES``."""
    with tempfile.TemporaryDirectory(prefix="voxclone-spoof-") as tmp:
        out = Path(tmp) / "out.wav"
        src = Path(tmp) / "in.txt"
        src.write_text(text, encoding="utf-8")
        return _run(["flite", "-voice", voice, "-f", str(src), "-o", str(out)], out)


def festival(text: str) -> tuple[np.ndarray, int]:
    """festival's ``text2wave`` (Debian package ``festival``; its default diphone voice)."""
    with tempfile.TemporaryDirectory(prefix="voxclone-spoof-") as tmp:
        out = Path(tmp) / "out.wav"
        src = Path(tmp) / "in.txt"
        src.write_text(text, encoding="utf-8")
        return _run(["text2wave", "-o", str(out), str(src)], out)


def vocoder_copy(wav: np.ndarray, rate: int, vocoder: torch.nn.Module, audio) -> tuple[np.ndarray,
                                                                                            int]:
    """Copy synthesis: real ``wav`` at ``rate`` -> the project's mel (and pYIN F0 for
    pitch-driven vocoders) -> ``vocoder`` (``tts.vocoder.resynthesize``) at
    ``audio.sample_rate``; Griffin-Lim is the vocoder ``load_vocoder("griffinlim")``."""
    from tts.audio import resample
    from tts.vocoder import resynthesize

    x = resample(wav, rate, audio.sample_rate)
    return resynthesize(x, vocoder, audio), audio.sample_rate


def world_copy(wav: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """WORLD analysis/synthesis (``tts.world``) at the recording's own rate."""
    from tts.world import world_resynthesize

    return world_resynthesize(wav, rate), rate
