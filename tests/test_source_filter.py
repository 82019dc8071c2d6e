"""The pitch-driven source-filter vocoder: the model contract, F0 in -> that F0 out, streaming,
training end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from audio_fixtures import voiced_signal

from tts import checkpoint
from tts.audio import MelSpectrogram
from tts.config import AudioConfig
from tts.errors import ConfigError
from tts.models.source_filter import (
    SourceFilterConfig,
    SourceFilterVocoder,
    continuous_f0,
    minimum_phase,
    pulse_train,
)
from tts.prosody import frame_pitch
from tts.vocoder import load_vocoder, needs_f0, resynthesize, vocode, vocode_stream

TINY = Path(__file__).resolve().parents[1] / "configs" / "vocoder" / "tiny" / "source_filter.yaml"


def _mel(wav: np.ndarray, audio: AudioConfig) -> torch.Tensor:
    frames = len(wav) // audio.hop_length
    return MelSpectrogram(audio)(torch.from_numpy(wav))[:, :frames].unsqueeze(0)


def _median_f0(wav: torch.Tensor, audio: AudioConfig) -> float:
    f0 = frame_pitch(wav.reshape(-1).numpy(), audio)
    return float(np.median(f0[f0 > 0]))


def test_shapes_and_bad_input(audio_config):
    model = SourceFilterVocoder(SourceFilterConfig.preset("tiny"), audio_config).eval()
    mel = torch.randn(2, audio_config.n_mels, 20) - 5
    f0 = torch.full((2, 20), 150.0)
    wav = model(mel, f0)
    assert wav.shape == (2, 20 * audio_config.hop_length) and torch.isfinite(wav).all()
    assert model.infer(mel[0], f0[0]).shape == (20 * audio_config.hop_length,)
    assert needs_f0(model)
    with pytest.raises(ValueError, match="one F0 value per mel frame"):
        model(mel, f0[:, :10])
    with pytest.raises(ConfigError, match="needs an F0 track"):
        vocode(model, mel)
    with pytest.raises(ConfigError, match="multiple of subframes"):
        SourceFilterVocoder(SourceFilterConfig(subframes=3), audio_config)


def test_continuous_f0_bridges_gaps_in_log_f0():
    f0 = torch.tensor([[0.0, 100.0, 0.0, 0.0, 400.0, 0.0], [0.0] * 6])
    f0c, voiced = continuous_f0(f0)
    assert torch.equal(voiced[0], torch.tensor([0.0, 1, 0, 0, 1, 0]))
    expected = [100.0, 100.0, 100 * 4 ** (1 / 3), 100 * 4 ** (2 / 3), 400.0, 400.0]
    assert torch.allclose(f0c[0], torch.tensor(expected), rtol=1e-4)
    assert torch.allclose(f0c[1], torch.full((6,), 120.0))


def test_pulse_train_is_band_limited_at_the_given_pitch():
    rate = 16000
    wav = pulse_train(torch.full((1, rate), 200.0), rate)[0].numpy()
    spectrum = np.abs(np.fft.rfft(wav))
    peaks = np.argsort(spectrum)[-5:]  # 1 Hz bins
    assert all(p % 200 == 0 for p in peaks)
    assert spectrum[7900:].max() < 1e-3 * spectrum.max()  # nothing above the last harmonic
    # every harmonic carries unit white noise's power density: total power ~ 1 (39 of 40 bands)
    assert 0.9 < float(np.mean(wav ** 2)) < 1.05


def test_minimum_phase_keeps_the_magnitude_and_is_causal():
    n_fft = 256
    log_mag = torch.log(1.1 + torch.cos(torch.linspace(0, 6, n_fft // 2 + 1)))
    response = minimum_phase(log_mag, n_fft)
    assert torch.allclose(response.abs().log(), log_mag, atol=1e-3)
    impulse = torch.fft.irfft(response, n=n_fft)
    assert impulse[: n_fft // 4].abs().sum() > 20 * impulse[n_fft // 2:].abs().sum()


@pytest.mark.parametrize("semitones", [-4.0, 0.0, 4.0])
def test_the_given_f0_comes_out(audio_config, semitones):
    """A mel of a 140 Hz voice, vocoded with another F0, comes out at that F0 (untrained
    filters: the pitch comes from the source alone)."""
    model = SourceFilterVocoder(SourceFilterConfig.preset("tiny"), audio_config).eval()
    wav = voiced_signal(1.5, audio_config.sample_rate, f0=140.0)
    mel = _mel(wav, audio_config)
    target = 180.0 * 2 ** (semitones / 12)
    out = vocode(model, mel, torch.full((1, mel.shape[-1]), target))
    measured = _median_f0(out, audio_config)
    assert abs(12 * np.log2(measured / target)) < 0.5, (measured, target)


def test_streaming_equals_the_whole_output(audio_config):
    torch.manual_seed(0)
    model = SourceFilterVocoder(SourceFilterConfig.preset("tiny"), audio_config).eval()
    for param in model.parameters():  # away from the zero-initialised head
        param.data.add_(0.05 * torch.randn_like(param))
    mel = torch.randn(1, audio_config.n_mels, 150) - 5
    f0 = torch.full((1, 150), 150.0)
    f0[:, 40:70] = 0.0
    whole = vocode(model, mel, f0).reshape(-1)
    chunks = list(vocode_stream(model, mel, audio_config.hop_length, f0, chunk_frames=20))
    assert len(chunks) == 8
    assert torch.allclose(torch.cat(chunks), whole, atol=1e-5)
    # the same input gives the same waveform (seeded inference noise)
    assert torch.equal(vocode(model, mel, f0), vocode(model, mel, f0))


def test_every_parameter_changes_in_a_few_steps(audio_config):
    """The head starts at zero (the filters start as the mel's envelope), so the layers below it
    learn from the second step on."""
    torch.manual_seed(0)
    model = SourceFilterVocoder(SourceFilterConfig.preset("tiny"), audio_config)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    wav = voiced_signal(0.4, audio_config.sample_rate)
    mel = _mel(wav, audio_config)
    f0 = torch.full((1, mel.shape[-1]), 140.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):
        out = model(mel, f0, seed=None)
        loss = (MelSpectrogram(audio_config)(out)[..., : mel.shape[-1]] - mel).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for name, param in model.named_parameters():
        assert not torch.equal(param, before[name]), name


def test_overfits_one_clip(audio_config):
    torch.manual_seed(0)
    model = SourceFilterVocoder(SourceFilterConfig.preset("tiny"), audio_config)
    wav = voiced_signal(0.4, audio_config.sample_rate)
    mel = _mel(wav, audio_config)
    f0 = torch.from_numpy(frame_pitch(wav, audio_config)[: mel.shape[-1]]).unsqueeze(0)
    mel_fn = MelSpectrogram(audio_config)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = (mel_fn(model(mel, f0, seed=None))[..., : mel.shape[-1]] - mel).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5]), losses[::8]


@pytest.fixture(scope="module")
def prepared_with_pitch(prepared_ljspeech, tmp_path_factory):
    from data.pitch import pitch_prepared

    folder = tmp_path_factory.mktemp("sf") / "prepared"
    shutil.copytree(prepared_ljspeech, folder)
    pitch_prepared(folder)
    return folder


def test_trains_end_to_end_and_loads_through_the_one_loader(prepared_with_pitch, tmp_path):
    from test_vocoder_training import train_vocoder

    from tts.training.run import RunOptions

    options = RunOptions(accelerator="cpu", progress=False)
    final = train_vocoder(TINY, prepared_with_pitch, tmp_path / "run", options)
    ckpt = checkpoint.load(final, kind="vocoder")
    assert ckpt.model_config["type"] == "sourcefilter" and ckpt.metadata["step"] == 4
    vocoder, audio = load_vocoder(final)
    assert needs_f0(vocoder)
    wav = voiced_signal(1.0, audio.sample_rate)
    whole = resynthesize(wav, vocoder, audio)
    streamed = resynthesize(wav, vocoder, audio, stream=True)
    assert whole.shape == streamed.shape and np.abs(whole - streamed).max() < 1e-4
    # copy synthesis keeps the input's pitch
    assert abs(12 * np.log2(_median_f0(torch.from_numpy(whole), audio) / 140.0)) < 1.0


def test_training_without_pitch_tracks_is_a_clear_error(prepared_ljspeech, tmp_path):
    from test_vocoder_training import train_vocoder

    from tts.errors import DataError
    from tts.training.run import RunOptions

    with pytest.raises(DataError, match="voxclone pitch"):
        train_vocoder(TINY, prepared_ljspeech, tmp_path / "run",
                      RunOptions(accelerator="cpu", progress=False))


BUNDLED = Path(__file__).resolve().parents[1] / "checkpoints" / "acoustic"


def test_a_pairing_that_does_not_fit_is_refused(audio_config):
    from tts.acoustic import load_acoustic
    from tts.neural_engine import NeuralEngine

    vocoder = SourceFilterVocoder(SourceFilterConfig.preset("tiny"), audio_config).eval()
    with pytest.raises(ConfigError, match="predicts no pitch"):
        NeuralEngine(load_acoustic(BUNDLED / "kathleen.pt"), vocoder, audio_config)


@pytest.mark.slow
def test_the_pitch_option_moves_the_voice_by_exactly_that_many_semitones(audio_config):
    """The bundled pitch model's frame F0 drives the vocoder: ``pitch=+4`` moves the median F0
    of the output by 4 semitones (the source sets the pitch; the tiny vocoder is untrained)."""
    from tts.acoustic import load_acoustic
    from tts.neural_engine import NeuralEngine

    acoustic = load_acoustic(BUNDLED / "multispeaker.pt")
    vocoder = SourceFilterVocoder(SourceFilterConfig.preset("tiny"), audio_config).eval()
    text = "She sells a lovely yellow umbrella on the main road."
    medians = {}
    for shift in (0.0, 4.0):
        engine = NeuralEngine(acoustic, vocoder, audio_config, speaker="kathleen", pitch=shift)
        result = engine.mel(text)
        voiced = result.f0[result.f0 > 0]
        assert 0.4 < len(voiced) / len(result.f0) < 0.95
        wav, _ = engine.speak(text)
        medians[shift] = _median_f0(torch.from_numpy(wav), audio_config)
    assert 150 < medians[0.0] < 260  # kathleen's range
    assert abs(12 * np.log2(medians[4.0] / medians[0.0]) - 4.0) < 0.5, medians


def test_validation_clips_of_several_folders_carry_their_own_pitch(prepared_with_pitch,
                                                                    tmp_path):
    """The validation set takes clips in turn from every folder: each must find its F0 track
    (the clip ids of two corpora differ, so one folder's tracks do not serve another's)."""
    import json

    from data.datamodule import VocoderDataModule
    from data.pitch import pitch_prepared

    other = tmp_path / "other"
    shutil.copytree(prepared_with_pitch, other)
    for name in ("manifest.jsonl", "train.jsonl", "val.jsonl"):
        lines = (other / name).read_text().splitlines()
        records = [json.loads(line) for line in lines]
        for record in records:
            record["id"] = "other-" + record["id"]
        (other / name).write_text("".join(json.dumps(r) + "\n" for r in records))
    pitch_prepared(other)
    module = VocoderDataModule([prepared_with_pitch, other], val_clips=4, pitch=True)
    module.setup()
    ids = [u.id for u in module.val_set.utterances]
    assert any(i.startswith("other-") for i in ids) and not all(i.startswith("other-")
                                                                for i in ids)
    for index in range(len(ids)):
        assert module.val_set[index]["f0"].ndim == 1


def test_validation_clips_of_folders_sharing_clip_ids_keep_their_own_pitch(prepared_with_pitch,
                                                                          tmp_path):
    """Two folders whose clips have the same ids: each validation clip reads its own F0."""
    from data.datamodule import VocoderDataModule

    other = tmp_path / "other"
    shutil.copytree(prepared_with_pitch, other)
    with np.load(other / "pitch.npz") as stored:
        ids, offsets, values = stored["ids"], stored["offsets"], stored["values"]
    np.savez(other / "pitch.npz", ids=ids, offsets=offsets, values=values * 2)
    module = VocoderDataModule([prepared_with_pitch, other], val_clips=4, pitch=True,
                               segment_frames=8)
    module.setup()
    own = VocoderDataModule([prepared_with_pitch], val_clips=4, pitch=True, segment_frames=8)
    own.setup()
    first = {u.id: own.val_set[i]["f0"] for i, u in enumerate(own.val_set.utterances)}
    folders = {Path(u.audio_path).parent.parent for u in module.val_set.utterances}
    assert folders == {Path(prepared_with_pitch), other}
    for index, utt in enumerate(module.val_set.utterances):
        f0 = module.val_set[index]["f0"]
        doubled = Path(utt.audio_path).parent.parent == other
        assert torch.equal(f0, first[utt.id] * 2 if doubled else first[utt.id])
