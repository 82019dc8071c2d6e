"""Shared fixtures: synthetic speech-like audio generated at test time (no corpora needed)."""

from __future__ import annotations

import numpy as np
import pytest
from audio_fixtures import voiced_signal

from tts.config import AudioConfig


@pytest.fixture
def audio_config() -> AudioConfig:
    return AudioConfig()


@pytest.fixture
def voice() -> np.ndarray:
    """One second of speech-like audio at 22050 Hz."""
    return voiced_signal(1.0, 22050)
