"""Voice-activity detection: where a recording holds speech.

``speech_spans(wav)`` runs the Silero detector (``silero-vad``, whose model ships inside its
wheel: nothing is downloaded) on mono 16 kHz audio; the model is loaded once per process.
Used by reference audio for cloning (``cloning.reference``) and speech-to-speech
(``tts.convert``).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

__all__ = ["VAD_RATE", "speech_spans"]

VAD_RATE = 16_000
"""The detector's sample rate."""


@functools.lru_cache(maxsize=1)
def _model():
    from silero_vad import load_silero_vad

    return load_silero_vad()


def speech_spans(wav: np.ndarray) -> list[tuple[int, int]]:
    """Speech spans ``(start, end)`` in samples of mono ``wav (num_samples,)`` at ``VAD_RATE``."""
    from silero_vad import get_speech_timestamps

    samples = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))
    with torch.inference_mode():
        found = get_speech_timestamps(samples, _model(), sampling_rate=VAD_RATE)
    return [(s["start"], s["end"]) for s in found]
