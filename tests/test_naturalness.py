"""tts.metrics.dnsmos (DNSMOS P.835 from the optional speechmos package) and
``evaluate.py acoustic --dnsmos``; skipped where ``voxclone[eval]`` is not installed."""

from __future__ import annotations

import numpy as np
import pytest
from audio_fixtures import voiced_signal
from vocoder_fixtures import load_script

from tts import metrics
from tts.errors import VoxcloneError

needs_dnsmos = pytest.mark.skipif(not metrics.dnsmos_available(),
                                  reason="speechmos/onnxruntime not installed (voxclone[eval])")


@needs_dnsmos
@pytest.mark.slow  # loads two ONNX models, then about 0.6 s per 9 s window on one core
def test_dnsmos_scores_and_hears_noise():
    clean = voiced_signal(3.0, 22050)
    noise = np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
    noisy = np.clip(clean + noise * np.sqrt(np.mean(clean ** 2)), -1, 1)
    a, b = metrics.dnsmos(clean, 22050), metrics.dnsmos(noisy, 22050)
    for score in (a, b):
        assert all(1.0 <= v <= 5.5 for v in (score.sig, score.bak, score.ovrl, score.p808))
    assert b.bak < a.bak - 0.5 and b.ovrl < a.ovrl  # 0 dB white noise: a worse background
    assert metrics.dnsmos(clean, 22050) == a  # deterministic


@needs_dnsmos
def test_dnsmos_refuses_empty_audio():
    with pytest.raises(ValueError, match="empty"):
        metrics.dnsmos(np.zeros(0, dtype=np.float32), 16000)


def test_dnsmos_without_the_packages_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(metrics, "dnsmos_available", lambda: False)
    with pytest.raises(VoxcloneError, match=r"voxclone\[eval\]"):
        metrics.dnsmos(np.zeros(16000, dtype=np.float32), 16000)
    evaluate = load_script("evaluate")
    assert evaluate.main(["acoustic", "--data", str(tmp_path), "--espeak", "--dnsmos"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evaluate.py: error: --dnsmos needs")


@needs_dnsmos
@pytest.mark.slow  # espeak-ng, pocketsphinx and DNSMOS on two sentences
def test_evaluate_acoustic_adds_a_dnsmos_column(prepared_ljspeech, capsys):
    evaluate = load_script("evaluate")
    assert evaluate.main(["acoustic", "--data", str(prepared_ljspeech), "--espeak",
                          "--vocoder", "griffinlim", "--sentences", "2", "--dnsmos",
                          "--threads", "1"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0].endswith("| x real time | DNSMOS OVRL ↑ |")
    assert lines[2].startswith("| espeak-ng (fallback) |")
    assert 1.0 <= float(lines[2].rstrip(" |").rsplit("|", 1)[-1]) <= 5.5
    assert "espeak-ng: DNSMOS SIG" in captured.err
