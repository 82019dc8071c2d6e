"""Shared fixtures: synthetic speech-like audio and a tiny prepared corpus, generated at test time
(no corpora needed)."""

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


@pytest.fixture(scope="session")
def prepared_ljspeech(tmp_path_factory):
    """A tiny LJSpeech-layout corpus run through ``voxclone prepare`` (read-only for tests)."""
    from data_fixtures import make_ljspeech

    from data.prepare import prepare

    root = tmp_path_factory.mktemp("ljspeech")
    prepare("ljspeech", make_ljspeech(root), root / "prepared", workers=1, progress=False)
    return root / "prepared"
