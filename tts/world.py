"""WORLD analysis/synthesis (Morise et al., 2016) through the ``pyworld`` package: a DSP
reference for the vocoders.

``world_resynthesize(wav, sample_rate)`` analyses a mono waveform ``(num_samples,)`` at its own
rate — F0 with Harvest (``FMIN_HZ`` to ``FMAX_HZ`` of ``tts.prosody``, every ``frame_period``
ms), the spectral envelope with CheapTrick, the aperiodicity with D4C — and synthesizes it back:
``(num_samples,)`` float32 at the same rate, cut or zero-padded to the input's length. It is
not copy synthesis from the project's mel: WORLD keeps the full-resolution envelope and the
exact pitch of the recording, so it shows what a pitch-driven source-filter vocoder reaches
when nothing is lost in between (``scripts/evaluate.py vocoder --world``).

``pyworld`` is optional (``pip install 'voxclone[dev]'``; it builds a small C extension); a
missing package is a one-line ``VoxcloneError``.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from tts.errors import AudioError, VoxcloneError
from tts.prosody import FMAX_HZ, FMIN_HZ

__all__ = ["world_available", "world_resynthesize", "FRAME_PERIOD_MS"]

FRAME_PERIOD_MS = 5.0
"""WORLD's analysis hop (its default)."""


def world_available() -> bool:
    """Whether ``pyworld`` is installed."""
    return importlib.util.find_spec("pyworld") is not None


def _pyworld() -> Any:
    """The ``pyworld`` functions. pyworld 0.3.5's ``__init__`` imports ``pkg_resources`` only
    to read its own version, and setuptools 81 and later no longer ship that module; where that
    import fails, the compiled extension (which holds every function) is loaded directly."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pkg_resources' deprecation warning
            return importlib.import_module("pyworld")
    except ModuleNotFoundError as exc:
        if exc.name == "pyworld":
            raise VoxcloneError("WORLD needs the pyworld package: pip install pyworld "
                                "(or pip install 'voxclone[dev]')") from None
        if exc.name != "pkg_resources":
            raise
    return _extension()


def _extension() -> Any:
    """pyworld's compiled extension module, loaded without the package's ``__init__``."""
    spec = importlib.util.find_spec("pyworld")
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("pyworld.*.so")) + sorted(folder.glob("pyworld.*.pyd"))
    if not found:
        raise VoxcloneError(f"pyworld in {folder} has no compiled extension: reinstall pyworld")
    ext = importlib.util.spec_from_file_location("pyworld.pyworld", found[0])
    module = importlib.util.module_from_spec(ext)
    ext.loader.exec_module(module)
    return module


def world_resynthesize(wav: np.ndarray, sample_rate: int,
                       frame_period: float = FRAME_PERIOD_MS) -> np.ndarray:
    """WORLD analysis (Harvest F0, CheapTrick envelope, D4C aperiodicity) and synthesis of mono
    ``wav (num_samples,)`` at ``sample_rate`` Hz -> ``(num_samples,)`` float32 at the same rate,
    clipped to [-1, 1]. An empty, non-finite or multi-channel signal is an ``AudioError``."""
    x = np.asarray(wav, dtype=np.float64)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1 or x.size == 0 or not np.isfinite(x).all():
        raise AudioError(f"WORLD needs a finite mono signal (samples,), got shape {x.shape}")
    pw = _pyworld()
    x = np.ascontiguousarray(x)
    f0, times = pw.harvest(x, sample_rate, f0_floor=FMIN_HZ, f0_ceil=FMAX_HZ,
                           frame_period=frame_period)
    envelope = pw.cheaptrick(x, f0, times, sample_rate)
    aperiodicity = pw.d4c(x, f0, times, sample_rate)
    out = pw.synthesize(f0, envelope, aperiodicity, sample_rate, frame_period)
    out = np.pad(out[:len(x)], (0, max(0, len(x) - len(out))))
    return np.clip(out, -1.0, 1.0).astype(np.float32)
