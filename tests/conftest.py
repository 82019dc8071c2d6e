"""Shared fixtures: synthetic speech-like audio and a tiny prepared corpus, generated at test time
(no corpora needed)."""

from __future__ import annotations

import numpy as np
import pytest
from audio_fixtures import voiced_signal

from tts.config import AudioConfig


@pytest.fixture(scope="session", autouse=True)
def own_cache(tmp_path_factory):
    """``$VOXCLONE_CACHE`` of the test session's own, so that ONNX exports in the user's cache
    (which ``--runtime auto`` would pick up) do not change what the tests run; its ``whisper``
    folder is the user's (the joined Whisper model, made once)."""
    from tts.asr import cache_dir

    whisper = cache_dir()
    whisper.mkdir(parents=True, exist_ok=True)
    root = tmp_path_factory.mktemp("cache")
    (root / "whisper").symlink_to(whisper, target_is_directory=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOXCLONE_CACHE", str(root))
        yield root


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
