"""The synthetic-speech detector (tts.spoof, issue 22): front end and model contract, a tiny model
that learns real-ish from synthetic-ish clips, checkpoint and calibration round trips, windowed
scoring, the training loop, channel conditions, and ``voxclone detect``'s report and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from audio_fixtures import voiced_signal

from tts.cli import main
from tts.errors import AudioError, CheckpointError
from tts.spoof import conditions
from tts.spoof.calibration import Calibration, equal_error_rate, fit
from tts.spoof.config import ScoringConfig, SpoofConfig
from tts.spoof.corpus import Clip, crops, read_rows, write_rows
from tts.spoof.detector import (
    DEFAULT_DETECTOR,
    Detector,
    calibration_path,
    load_detector,
    save_detector,
)
from tts.spoof.features import SAMPLE_RATE, FrontEndConfig, LogFilterbank, normalize
from tts.spoof.model import MIN_FRAMES, DetectorConfig, SpoofDetector
from tts.spoof.score import NO_SPEECH, TOO_SHORT, _windows, score_file, score_samples

TINY = DetectorConfig(channels=(4, 8), embedding=8, dropout=0.0)
FEATURES = FrontEndConfig(n_bands=32)


def real_ish(seed: int, seconds: float = 2.0) -> np.ndarray:
    """Speech-like audio at 16 kHz (``voiced_signal``) in syllables (a deep 2.5 Hz level
    envelope, as the detector's speech gate expects) with breath noise."""
    rng = np.random.default_rng(seed)
    wav = voiced_signal(seconds, SAMPLE_RATE, f0=float(rng.uniform(100, 220)), seed=seed)
    t = np.arange(len(wav)) / SAMPLE_RATE
    wav = wav * (0.05 + 0.95 * np.sin(2 * np.pi * 2.5 * t + seed) ** 2)
    return (wav + 0.003 * rng.standard_normal(len(wav))).astype(np.float32)


def synthetic_ish(seed: int, seconds: float = 2.0) -> np.ndarray:
    """The same kind of signal resynthesised with random STFT phases: the "phasey" smear of
    Griffin-Lim-like vocoders."""
    wav = torch.from_numpy(real_ish(seed + 1000, seconds))
    window = torch.hann_window(512)
    spec = torch.stft(wav, 512, 128, window=window, return_complex=True)
    phase = torch.rand(spec.shape, generator=torch.Generator().manual_seed(seed)) * 2 * np.pi
    out = torch.istft(torch.polar(spec.abs(), phase), 512, 128, window=window, length=len(wav))
    return (0.3 * out / out.abs().max()).numpy().astype(np.float32)


def tiny_detector(threshold: float = 0.5, seed: int = 0) -> Detector:
    torch.manual_seed(seed)
    model = SpoofDetector(TINY, FEATURES.n_bands).eval()
    return Detector(model, LogFilterbank(FEATURES), ScoringConfig(),
                    Calibration(1.0, 0.0, threshold, 0.01))


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A tiny detector saved with its calibration (fp32 weights)."""
    detector = tiny_detector()
    path = save_detector(tmp_path_factory.mktemp("spoof") / "tiny.pt", detector.model,
                         FEATURES, detector.scoring)
    detector.calibration.save(calibration_path(path))
    return path


def test_front_end_shapes_and_normalisation():
    front_end = LogFilterbank(FEATURES)
    feats = front_end(torch.from_numpy(np.stack([real_ish(0), real_ish(1)])))
    assert feats.shape == (2, 32, 1 + 2 * SAMPLE_RATE // FEATURES.hop_length)
    assert torch.isfinite(feats).all()
    louder = front_end(torch.from_numpy(4 * real_ish(0))[None])
    # a gain is a constant in the log domain: the window normalisation removes it
    assert torch.allclose(normalize(louder), normalize(feats[:1]), atol=1e-3)


def test_model_shapes():
    model = SpoofDetector(DetectorConfig(), 64).eval()
    assert model(torch.randn(3, 64, 200)).shape == (3,)
    assert model(torch.randn(1, 64, MIN_FRAMES)).shape == (1,)
    assert 20_000 < sum(p.numel() for p in model.parameters()) < 300_000
    with pytest.raises(ValueError, match="divisible"):
        SpoofDetector(DetectorConfig(), 40)


def test_tiny_model_learns_real_from_synthetic():
    """Loss falls, every parameter moves, and the training clips end up separated."""
    torch.manual_seed(0)
    front_end = LogFilterbank(FEATURES)
    wavs = [real_ish(s) for s in range(4)] + [synthetic_ish(s) for s in range(4)]
    x = normalize(front_end(torch.from_numpy(np.stack(wavs))))
    y = torch.tensor([0.0] * 4 + [1.0] * 4)
    model = SpoofDetector(TINY, FEATURES.n_bands)
    before = {k: v.clone() for k, v in model.named_parameters()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    assert all(not torch.equal(before[k], v) for k, v in model.named_parameters())
    logits = model.eval()(x)
    assert logits[4:].min() > logits[:4].max()


def test_checkpoint_round_trip(tmp_path, tiny_checkpoint):
    original = tiny_detector()
    loaded = load_detector(tiny_checkpoint)
    windows = [real_ish(3), synthetic_ish(3)]
    assert np.array_equal(original.window_logits(windows), loaded.window_logits(windows))
    assert loaded.calibration == original.calibration
    half = save_detector(tmp_path / "half.pt", original.model, FEATURES, original.scoring,
                         half=True)
    assert all(v.dtype == torch.float16 for v in torch.load(half, weights_only=True)
               ["state_dict"].values() if v.is_floating_point())
    with pytest.raises(CheckpointError, match="calibration file not found"):
        load_detector(half)
    close = load_detector(half, calibrated=False).window_logits(windows)
    assert np.allclose(close, original.window_logits(windows), atol=0.05)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_detector(tmp_path / "junk.pt")


def test_calibration_fit_and_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    logits = np.concatenate([rng.normal(-3, 1, 500), rng.normal(3, 1, 500)])
    labels = np.array([False] * 500 + [True] * 500)
    cal = fit(logits, labels, target_fpr=0.01)
    p = cal.probability(logits)
    assert np.mean(p[:500] >= cal.threshold) <= 0.01
    assert np.mean(p[500:] >= cal.threshold) > 0.8
    assert cal.scale > 0 and 0 < cal.threshold < 1
    path = cal.save(tmp_path / "c.json")
    assert Calibration.load(path) == cal
    data = json.loads(path.read_text())
    data["threshold"] = 2.0
    path.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="not a valid detector calibration"):
        Calibration.load(path)
    path.write_text("{")
    with pytest.raises(CheckpointError):
        Calibration.load(path)


def test_equal_error_rate():
    assert equal_error_rate(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 0.0
    assert equal_error_rate(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 1.0
    mixed = equal_error_rate(np.array([0.1, 0.6, 0.4, 0.9]), np.array([0, 0, 1, 1]))
    assert mixed == pytest.approx(0.5)
    with pytest.raises(ValueError):
        equal_error_rate(np.array([0.1]), np.array([1]))


@pytest.mark.parametrize("block", [1000, 16000, 50_000, 10**6])
def test_windows_do_not_depend_on_blocks(block):
    stream = np.arange(5 * SAMPLE_RATE + 9000, dtype=np.float32)
    blocks = [stream[i:i + block] for i in range(0, len(stream), block)]
    got = [(s, w[0], len(w)) for s, w in _windows(blocks, 32000, 16000, 8000)]
    assert got == [(s, w[0], len(w)) for s, w in _windows([stream], 32000, 16000, 8000)]
    starts = [s for s, _, _ in got]
    assert starts == [0, 16000, 32000, 48000, len(stream) - 32000]  # a last window at the end
    assert [(s, len(w)) for s, w in _windows([stream[:20000]], 32000, 16000, 8000)] == [(0, 20000)]
    assert list(_windows([stream[:4000]], 32000, 16000, 8000)) == []


def test_score_samples_and_bad_inputs(tmp_path):
    detector = tiny_detector()
    report = score_samples(np.concatenate([real_ish(0, 3.0), synthetic_ish(0, 3.0)]),
                           SAMPLE_RATE, detector)
    assert report.status == "judged" and 0 < report.score < 1
    assert [a for a, _, _ in report.windows] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert report.synthetic == (report.score >= 0.5)
    silence = score_samples(np.zeros(3 * SAMPLE_RATE, np.float32), SAMPLE_RATE, detector)
    noise = np.random.default_rng(0).standard_normal(3 * 22050).astype(np.float32) * 0.1
    short = score_samples(real_ish(0, 0.2), SAMPLE_RATE, detector)
    assert silence.status == NO_SPEECH and silence.score is None
    assert score_samples(noise, 22050, detector).status == NO_SPEECH
    assert short.status == TOO_SHORT and short.to_dict()["score"] is None
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt nonsense" * 4)
    (tmp_path / "empty.wav").write_bytes(b"")
    for name in ("corrupt.wav", "empty.wav", "missing.wav"):
        with pytest.raises(AudioError):
            score_file(tmp_path / name, detector)


def test_score_file_streams_resamples_and_locates(tmp_path):
    """A 44.1 kHz stereo file read in blocks: synthetic-ish windows score above real-ish ones
    for a detector trained on them, and the high times are where the synthetic half is."""
    torch.manual_seed(0)
    front_end = LogFilterbank(FEATURES)
    wavs = [real_ish(s) for s in range(4)] + [synthetic_ish(s) for s in range(4)]
    x = normalize(front_end(torch.from_numpy(np.stack(wavs))))
    y = torch.tensor([0.0] * 4 + [1.0] * 4)
    model = SpoofDetector(TINY, FEATURES.n_bands)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    detector = Detector(model.eval(), front_end, ScoringConfig(), Calibration(1, 0, 0.5, 0.01))
    wav = np.concatenate([real_ish(10, 6.0), synthetic_ish(10, 6.0)])
    from tts.audio import resample

    stereo = np.stack([resample(wav, SAMPLE_RATE, 44100)] * 2, axis=1)
    sf.write(tmp_path / "mix.flac", stereo, 44100)
    report = score_file(tmp_path / "mix.flac", detector)
    assert report.duration == pytest.approx(12.0, abs=0.01)
    scores = {round(a): p for a, _, p in report.windows}
    low, high = max(scores[a] for a in range(0, 5)), min(scores[a] for a in range(6, 11))
    assert low < high
    detector.calibration = Calibration(1, 0, (low + high) / 2, 0.01)
    segments = score_file(tmp_path / "mix.flac", detector).segments
    assert len(segments) == 1 and 5.0 <= segments[0][0] <= 6.0
    assert segments[0][1] == pytest.approx(12.0, abs=0.01)


def test_conditions_keep_length_and_change_the_channel():
    wav = real_ish(0, 2.0)
    for name in conditions.CONDITIONS:
        out = conditions.apply(wav, name, seed=1)
        assert out.shape == wav.shape and out.dtype == np.float32 and np.isfinite(out).all()
    narrow = conditions.apply(wav, "8k")
    high = np.abs(np.fft.rfft(narrow))[int(4200 * len(wav) / SAMPLE_RATE):]
    assert high.max() < 1e-2 * np.abs(np.fft.rfft(wav)).max()
    assert np.array_equal(conditions.apply(wav, "noise", 3), conditions.apply(wav, "noise", 3))
    bits = len(conditions._mp3_bytes(wav, SAMPLE_RATE, conditions._mp3_level(SAMPLE_RATE))) * 8
    assert 24 <= bits / 2.0 / 1000 <= 40  # about 32 kbit/s
    with pytest.raises(ValueError):
        conditions.apply(wav, "telephone")
    for name in conditions.TRAINING_CONDITIONS:  # training-only channels
        out = conditions.apply(wav, name, seed=1)
        assert out.shape == wav.shape and np.isfinite(out).all() and not np.allclose(out, wav)
    low = conditions._mp3_bytes(wav, SAMPLE_RATE, conditions._mp3_level(SAMPLE_RATE, 24))
    assert len(low) * 8 / 2.0 / 1000 < bits / 2.0 / 1000  # each bitrate its own level
    limited = np.abs(np.fft.rfft(conditions.apply(wav, "bandlimit", 2)))
    assert limited[int(7700 * len(wav) / SAMPLE_RATE):].max() < 1e-3 * limited.max()
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    for seed in range(3):  # faster playback: the tone rises by the factor, length kept
        fast = conditions.apply(tone, "speed-up", seed)
        peak = np.argmax(np.abs(np.fft.rfft(fast))) * SAMPLE_RATE / len(fast)
        assert 200 * conditions.SPEED_UP[0] - 5 <= peak <= 200 * conditions.SPEED_UP[1] + 5
        assert np.abs(fast).max() < 0.4  # the cross-faded joins do not click


@pytest.mark.parametrize("name", ["lpc_vocoder", "harmonic_noise", "phase_vocoder",
                                  "time_stretch", "frame_concat"])
def test_resynthesizers_make_new_speech_like_audio(name):
    from tts.world import world_available

    if not world_available():  # not importorskip: pyworld's __init__ needs pkg_resources
        pytest.skip("pyworld is not installed (pip install 'voxclone[dev]')")
    from tts.spoof import resynth

    wav = real_ish(0, 1.5)
    args = ([real_ish(s, 1.0) for s in (1, 2)],) if name == "frame_concat" else ()
    out, rate = getattr(resynth, name)(wav, SAMPLE_RATE, np.random.default_rng(0), *args)
    again, _ = getattr(resynth, name)(wav, SAMPLE_RATE, np.random.default_rng(0), *args)
    assert rate == SAMPLE_RATE and out.dtype == np.float32 and np.isfinite(out).all()
    assert np.array_equal(out, again)  # the generator's draws fix the result
    assert 0.5 < len(out) / len(wav) < 1.5 and np.abs(out).max() <= 1.0
    if name not in ("phase_vocoder", "time_stretch"):  # same length, same loudness contour, not the same samples
        assert len(out) == len(wav) and not np.allclose(out, wav, atol=1e-2)
        level = [np.sqrt(np.mean(x.reshape(-1, 800) ** 2, axis=1)) for x in (wav, out)]
        assert np.corrcoef(*level)[0, 1] > 0.8


def test_corpus_rows_and_crops(tmp_path):
    rows = [Clip("real/a", "wavs/real/a.wav", "real", "real", "kathleen-arctic", "k", "train",
                 2.0)]
    write_rows(tmp_path / "m.jsonl", rows)
    assert read_rows(tmp_path / "m.jsonl") == rows
    rng = np.random.default_rng(0)
    wav = np.concatenate([np.zeros(22050), voiced_signal(9.0, 22050), np.zeros(22050)])
    pieces = crops(wav.astype(np.float32), 22050, rng, most=3)
    assert [len(p) for p in pieces][:2] == [4 * SAMPLE_RATE] * 2 and len(pieces) == 3
    assert crops(voiced_signal(0.5, 22050), 22050, rng) == []


def _tiny_corpus(root):
    rows = []
    for i in range(12):
        fake = i % 2 == 1
        wav = synthetic_ish(i) if fake else real_ish(i)
        split = "val" if i >= 8 else "train"
        gen = "gl" if fake else "real"
        path = f"wavs/{gen}/{i}.wav"
        (root / "wavs" / gen).mkdir(parents=True, exist_ok=True)
        sf.write(root / path, wav, SAMPLE_RATE, subtype="PCM_16")
        rows.append(Clip(f"{gen}/{i}", path, "fake" if fake else "real", gen, "x", "x", split,
                         2.0))
    write_rows(root / "manifest.jsonl", rows)
    return root


def test_training_loop_saves_calibrates_and_resumes(tmp_path):
    from tts.spoof.train import train

    corpus = _tiny_corpus(tmp_path / "corpus")
    config = tmp_path / "tiny.yaml"
    config.write_text("features: {n_bands: 32}\nmodel: {channels: [4, 8], embedding: 8}\n"
                      "training: {steps: 4, batch_size: 4, val_every: 2, min_frames: 60, "
                      "max_frames: 120}\n")
    path = train(str(config), str(corpus), str(tmp_path / "run"))
    detector = load_detector(path)
    assert 0 < detector.calibration.threshold < 1
    assert detector.calibration.fitted_on["real"] > 0
    log = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert log["step"] == 4
    train(str(config), str(corpus), str(tmp_path / "run"), resume=True, steps=6)
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["step"] == 6
    SpoofConfig()  # the defaults build


def test_cli_detect_reports_synthetic_speech(tmp_path, tiny_checkpoint, capsys):
    sf.write(tmp_path / "a.wav", real_ish(0, 3.0), SAMPLE_RATE)
    sf.write(tmp_path / "long.wav", np.concatenate([real_ish(s, 4.0) for s in range(4)]),
             SAMPLE_RATE)
    assert main(["detect", "--detector", str(tiny_checkpoint), str(tmp_path / "a.wav")]) == 0
    line = capsys.readouterr().out.strip()
    assert "no watermark" in line and "synthetic speech:" in line and "threshold 0.50" in line
    assert main(["detect", "--json", "--detector", str(tiny_checkpoint),
                 str(tmp_path / "a.wav"), str(tmp_path / "long.wav")]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["present"] for r in reports] == [False, False]  # the watermark is still there
    spoof = reports[1]["synthetic_speech"]
    assert spoof["status"] == "judged" and 0 < spoof["score"] < 1
    assert spoof["judged_windows"] == 15 and spoof["threshold"] == 0.5
    assert all(0 <= a < b <= 16.0 for a, b in spoof["segments"])


def test_cli_detect_bad_inputs(tmp_path, tiny_checkpoint, capsys):
    sf.write(tmp_path / "short.wav", real_ish(0, 0.2), SAMPLE_RATE)
    sf.write(tmp_path / "silence.wav", np.zeros(2 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
    noise = np.random.default_rng(0).standard_normal(3 * SAMPLE_RATE).astype(np.float32) * 0.1
    sf.write(tmp_path / "noise.wav", noise, SAMPLE_RATE)
    for name, said in (("short.wav", "too short to judge"), ("silence.wav", "no speech to judge"),
                       ("noise.wav", "no speech to judge")):
        assert main(["detect", "--detector", str(tiny_checkpoint), str(tmp_path / name)]) == 0
        assert capsys.readouterr().out.strip().endswith(f"synthetic speech: {said}")
    (tmp_path / "bad.wav").write_bytes(b"not audio at all")
    assert main(["detect", "--detector", str(tiny_checkpoint), str(tmp_path / "bad.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("voxclone: error:")
    assert main(["detect", "--detector", str(tmp_path / "none.pt"), str(tmp_path / "short.wav")]
                ) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_shipped_detector_is_small_and_calibrated():
    ckpt = torch.load(DEFAULT_DETECTOR, weights_only=True)
    assert all(v.dtype == torch.float16 for v in ckpt["state_dict"].values()
               if v.is_floating_point())
    assert ckpt["training_state"] is None and DEFAULT_DETECTOR.stat().st_size < 1_000_000
    detector = load_detector()
    assert detector.calibration.target_fpr == 0.01
    held_out = detector.metadata["config"]["training"]["held_out_generators"]
    assert {"festival", "copy-istft-small"} <= set(held_out)
