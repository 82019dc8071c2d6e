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
