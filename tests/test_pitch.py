"""Explicit pitch in the acoustic model: frame F0 tracking, token pitch targets, the pitch
predictor learning a speaker's register, semitone control, and the data/CLI path
(``voxclone pitch``, training with ``model.pitch``, ``say --pitch``)."""

import dataclasses
import math
import shutil

import numpy as np
import pytest
import torch
import yaml

from tts.config import AudioConfig
from tts.errors import ConfigError, DataError
from tts.models.pitch import REFERENCE_HZ, token_pitch
from tts.models.tacotron import Tacotron

AUDIO = AudioConfig()


def _tone(f0: float, seconds: float, rate: int = 22050) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6)).astype(np.float32)


def test_frame_pitch_follows_a_tone_on_the_mel_frames():
    from tts.audio import mel_spectrogram
    from tts.prosody import frame_pitch

    wav = np.concatenate([_tone(110.0, 0.6), np.zeros(11025, np.float32), _tone(220.0, 0.6)])
    f0 = frame_pitch(wav, AUDIO)
    assert f0.shape == (mel_spectrogram(wav, AUDIO).shape[1],) == (1 + len(wav) // 256,)
    low, gap, high = f0[10:40], f0[60:75], f0[-40:-10]
    assert np.median(low) == pytest.approx(110.0, rel=0.03)
    assert np.median(high) == pytest.approx(220.0, rel=0.03)
    assert (gap == 0).all()  # silence is unvoiced
    assert (frame_pitch(np.zeros(100, np.float32), AUDIO) == 0).all()


def test_token_pitch_averages_voiced_frames_per_token():
    f0 = torch.tensor([[100.0, 100.0, 0.0, 200.0, 200.0, 0.0]])
    durations = torch.tensor([[3, 2, 1, 0]])
    features = token_pitch(f0, durations)
    assert features.shape == (1, 4, 2)
    assert features[0, 0, 0] == pytest.approx(math.log(100 / REFERENCE_HZ), abs=1e-5)
    assert features[0, 0, 1] == pytest.approx(2 / 3, abs=1e-5)
    assert features[0, 1, 0] == pytest.approx(math.log(200 / REFERENCE_HZ), abs=1e-5)
    assert features[0, 1, 1] == pytest.approx(1.0)
    assert features[0, 2].tolist() == [0.0, 0.0]  # unvoiced token
    assert features[0, 3].tolist() == [0.0, 0.0]  # empty token


def _pitch_model(**changes) -> Tacotron:
    from test_tacotron import NUM_SYMBOLS, tiny_config

    config = tiny_config("duration", pitch=True, dropout=0.0, num_speakers=2, **changes)
    return Tacotron(config, NUM_SYMBOLS, AUDIO)


def test_pitch_predictor_learns_each_speakers_register_and_shifts_by_semitones():
    """Two speakers say the same tokens at 100 and 220 Hz; after training, the predicted
    token pitch of each is its own, and a +12 semitone shift doubles it."""
    from test_tacotron import fake_batch

    from tts.models.acoustic_losses import duration_losses, mel_losses, pitch_losses

    torch.manual_seed(0)
    model = _pitch_model()
    batch = fake_batch(batch=2)
    batch["tokens"][1] = batch["tokens"][0]
    batch["token_lengths"][1] = batch["token_lengths"][0]
    batch["speakers"] = torch.tensor([0, 1])
    pitch = torch.zeros(2, batch["mels"].shape[-1])
    pitch[0, : int(batch["mel_lengths"][0])] = 100.0
    pitch[1, : int(batch["mel_lengths"][1])] = 220.0
    with pytest.raises(ConfigError, match="voxclone pitch"):
        model(batch["tokens"], batch["token_lengths"], batch["mels"], batch["mel_lengths"],
              speakers=batch["speakers"])
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(120):
        optimizer.zero_grad()
        out = model(batch["tokens"], batch["token_lengths"], batch["mels"],
                    batch["mel_lengths"], speakers=batch["speakers"], pitch=pitch)
        losses = mel_losses(out, batch["mels"], batch["mel_lengths"])
        losses.update(duration_losses(out, out["token_lengths"], batch["mel_lengths"], True))
        losses.update(pitch_losses(out, out["token_lengths"]))
        sum(losses.values()).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        memory, mask = model.encode(*model.add_boundaries(batch["tokens"],
                                                          batch["token_lengths"]),
                                    model.speaker_vector(2, "cpu", batch["speakers"], None),
                                    model.style_vector(2)[0])
        predicted = model.decoder.predict_pitch(memory, mask)
        shifted = model.decoder.predict_pitch(memory, mask, pitch_shift=12.0)
    voiced = mask & (predicted[..., 1] > 0.5)
    hz = REFERENCE_HZ * predicted[..., 0].exp()
    assert hz[0][voiced[0]].median() == pytest.approx(100.0, rel=0.1)
    assert hz[1][voiced[1]].median() == pytest.approx(220.0, rel=0.1)
    step = (shifted[..., 0] - predicted[..., 0])[mask]
    assert torch.allclose(step, torch.full_like(step, math.log(2.0)), atol=1e-5)
    # the decoder reads the pitch: a shifted contour changes the mel
    a = model.infer(batch["tokens"], batch["token_lengths"], speakers=batch["speakers"])
    b = model.infer(batch["tokens"], batch["token_lengths"], speakers=batch["speakers"],
                    pitch_shift=-5.0)
    assert a["mel_lengths"].tolist() == b["mel_lengths"].tolist()
    assert not torch.allclose(a["mel"], b["mel"], atol=1e-3)


def test_pitch_needs_the_duration_decoder_and_a_pitch_model_for_control():
    from test_tacotron import NUM_SYMBOLS, fake_batch, tiny_config

    with pytest.raises(ConfigError, match="duration decoder"):
        tiny_config("attention", pitch=True)
    plain = Tacotron(tiny_config("duration"), NUM_SYMBOLS, AUDIO).eval()
    batch = fake_batch()
    with pytest.raises(ConfigError, match="trained with pitch"):
        plain.infer(batch["tokens"], batch["token_lengths"], speakers=batch["speakers"],
                    pitch_shift=2.0)


def test_pitch_data_training_init_and_say_end_to_end(prepared_ljspeech, tmp_path, capsys):
    """``voxclone pitch`` on a prepared folder, a pitch model fine-tuned from one without pitch
    (starting exactly where it was), and ``say --pitch`` through the CLI."""
    import soundfile
    from test_acoustic_training import TINY, train_acoustic

    from data.datamodule import TTSDataModule
    from data.pitch import read_pitch
    from tts.acoustic import load_acoustic
    from tts.cli import main
    from tts.training.acoustic_task import AcousticExperimentConfig, AcousticTask
    from tts.training.run import RunOptions

    local = tmp_path / "lj"
    shutil.copytree(prepared_ljspeech, local)
    with pytest.raises(DataError, match="voxclone pitch"):
        TTSDataModule(local, pitch=True).setup()
    assert main(["pitch", str(tmp_path / "missing")]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["pitch", str(local)]) == 0
    tracks = read_pitch(local)
    data = TTSDataModule(local, pitch=True)
    data.setup()
    item = data.train_set[0]
    assert item["pitch"].shape == (item["mel"].shape[1],) == tracks[item["id"]].shape
    voiced = np.concatenate(list(tracks.values()))
    voiced = voiced[voiced > 0]
    assert len(voiced) > 0 and 60 <= np.median(voiced) <= 500

    options = RunOptions(accelerator="cpu", progress=False, max_steps=2)
    base = train_acoustic(TINY["duration"], local, tmp_path / "base", options)
    config = yaml.safe_load(TINY["duration"].read_text())
    config["model"]["pitch"] = True
    pitch_yaml = tmp_path / "pitch.yaml"
    pitch_yaml.write_text(yaml.safe_dump(config))
    final = train_acoustic(pitch_yaml, local, tmp_path / "pitched", options, init_from=base)
    assert load_acoustic(final).model.config.pitch
    from tts.training.gta import write_gta_mels  # teacher-forced with the clips' own pitch

    assert write_gta_mels(final, local, tmp_path / "gta") == len(tracks)

    from tts.config import load_yaml

    experiment = load_yaml(AcousticExperimentConfig, pitch_yaml)
    task = AcousticTask(experiment, data.symbols, ["LJ"], [])
    task.init_from(base)
    tokens = torch.tensor([data.symbols.encode(["HH", "AH0", "L", "OW1", "."])])
    source = load_acoustic(base).model
    a = source.infer(tokens, torch.tensor([5]), speakers=torch.tensor([0]))["mel"]
    b = task.model.eval().infer(tokens, torch.tensor([5]), speakers=torch.tensor([0]))["mel"]
    assert torch.allclose(a, b, atol=1e-5)  # the pitch embedding starts at zero

    wav = tmp_path / "up.wav"
    args = ["say", "Hello there.", "-o", str(wav), "--vocoder", "griffinlim", "--no-watermark"]
    assert main([*args, "--acoustic", str(final), "--pitch", "4"]) == 0
    samples, rate = soundfile.read(wav)
    assert rate == 22050 and len(samples) > 0
    assert main([*args, "--acoustic", str(base), "--pitch", "4"]) == 2
    assert "trained with pitch" in capsys.readouterr().err
    assert main([*args, "--acoustic", str(final), "--pitch", "30"]) == 2
    assert "between -12 and 12" in capsys.readouterr().err

    from vocoder_fixtures import load_script

    evaluate = load_script("evaluate")
    assert evaluate.main(["pitch", "--voice", "lj", "--acoustic", str(final), "--vocoder",
                          "griffinlim", "--shifts", "3", "--text", "Hello there."]) == 0
    report = capsys.readouterr().out
    assert "| shift at +3, st (+3 ± 0.5) |" in report.splitlines()[2]
    row = next(x for x in report.splitlines() if x.startswith("| lj |"))
    assert "| no recordings in --data |" in row  # no --data: nothing to compare with


def test_unreadable_pitch_file_is_a_clear_error(tmp_path):
    from data.pitch import PITCH_FILE, read_pitch

    (tmp_path / PITCH_FILE).write_bytes(b"not a zip")
    with pytest.raises(DataError, match="unreadable pitch track"):
        read_pitch(tmp_path)


def test_shipped_pitch_config_builds():
    from pathlib import Path

    from tts.config import load_yaml
    from tts.training.acoustic_task import AcousticExperimentConfig

    path = Path(__file__).resolve().parents[1] / "configs" / "acoustic" / "multispeaker_pitch.yaml"
    config = load_yaml(AcousticExperimentConfig, path)
    assert config.model.pitch
    model = Tacotron(dataclasses.replace(config.model, num_speakers=3), 80, AUDIO)
    assert model.decoder.pitch_predictor is not None
