"""The checkpoints shipped in the repo load through the one loader and produce audio."""

from pathlib import Path

import numpy as np
from audio_fixtures import voiced_signal

from tts.config import AudioConfig
from tts.vocoder import load_vocoder, resynthesize

ROOT = Path(__file__).resolve().parents[1]
VOCODER = ROOT / "checkpoints" / "vocoder" / "istft-small-kathleen.pt"


def test_shipped_vocoder_loads_and_resynthesizes():
    vocoder, audio = load_vocoder(VOCODER)
    assert audio == AudioConfig()
    assert (VOCODER.parent / "README.md").is_file()  # every shipped model has a card
    wav = voiced_signal(1.0, audio.sample_rate)
    out = resynthesize(wav, vocoder, audio)
    assert out.shape == (len(wav) // audio.hop_length * audio.hop_length,)
    assert np.isfinite(out).all() and 0.01 < np.sqrt(np.mean(out ** 2)) < 0.9


def test_shipped_voice_speaks_through_the_default_synthesizer():
    from tts.neural_engine import DEFAULT_ACOUSTIC, NeuralEngine
    from tts.synthesizer import Synthesizer

    assert (DEFAULT_ACOUSTIC.parent / "README.md").is_file()
    synthesizer = Synthesizer()
    assert isinstance(synthesizer.engine, NeuralEngine) and synthesizer.note is None
    result = synthesizer.synthesize("Hello, this is the default voice.")
    assert result.engine == "voxclone" and result.watermarked
    assert 0.8 < result.duration < 5.0, result.duration  # neither silent nor runaway
    assert np.isfinite(result.wav).all() and np.abs(result.wav).max() > 0.05
