"""Speech-like test audio generated at test time (no corpora needed)."""

import numpy as np


def voiced_signal(duration: float, sample_rate: int, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A speech-like test signal ``(num_samples,)`` float32: a glottal-pulse-like harmonic series
    with a slowly moving pitch, syllable-rate amplitude envelope, 20 ms fades and a little breath
    noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration * sample_rate)) / sample_rate
    pitch = f0 * (1 + 0.08 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    wav = sum(np.sin(k * phase) / k for k in range(1, 20) if k * f0 < sample_rate / 2)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * t) ** 2
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02) if len(t) else t
    wav = wav * envelope * fade + 0.005 * rng.standard_normal(len(t))
    return (0.3 * wav / np.abs(wav).max()).astype(np.float32)
