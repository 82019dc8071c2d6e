"""Voice-activity detection: where a recording holds speech.

``SpeechDetector`` wraps the Silero detector (``silero-vad``, whose model ships inside its wheel:
nothing is downloaded); make one per task and call ``spans(wav)`` on mono 16 kHz audio. Used by
reference audio for cloning (``cloning.reference``) and speech-to-speech (``tts.convert``).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["VAD_RATE", "SpeechDetector"]

VAD_RATE = 16_000
"""The detector's sample rate."""


class SpeechDetector:
    """The Silero voice-activity detector, loaded once per instance."""

    def __init__(self) -> None:
        from silero_vad import load_silero_vad

        self.model = load_silero_vad()

    def spans(self, wav: np.ndarray) -> list[tuple[int, int]]:
        """Speech spans ``(start, end)`` in samples of mono ``wav (num_samples,)`` at
        ``VAD_RATE``."""
        from silero_vad import get_speech_timestamps

        samples = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))
        with torch.inference_mode():
            found = get_speech_timestamps(samples, self.model, sampling_rate=VAD_RATE)
        return [(s["start"], s["end"]) for s in found]
