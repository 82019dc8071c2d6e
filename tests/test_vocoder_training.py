"""Vocoder training end to end on a tiny generated corpus: fast_dev_run, resume, export."""

import shutil
from pathlib import Path

import pytest
import torch
from audio_fixtures import voiced_signal

from tts import checkpoint
from tts.cli import main
from tts.config import load_yaml
from tts.training import vocoder_task
from tts.training.run import RunOptions, find_resume_checkpoint
from tts.vocoder import build_vocoder, load_vocoder, resynthesize

TINY = Path(__file__).resolve().parents[1] / "configs" / "vocoder" / "tiny" / "istft.yaml"


@pytest.fixture
def prepared(prepared_ljspeech):
    return prepared_ljspeech


def _options(**kw):
    return RunOptions(accelerator="cpu", progress=False, **kw)


def train_vocoder(config_path, *args, **kwargs):
    """``vocoder_task.train`` on the experiment in ``config_path``, as the CLI runs it."""
    config = load_yaml(vocoder_task.VocoderExperimentConfig, config_path)
    return vocoder_task.train(config, *args, **kwargs)


def test_fast_dev_run_checkpoint_loads_through_the_one_loader(prepared, tmp_path):
    final = train_vocoder(TINY, prepared, tmp_path / "run", _options(fast_dev_run=True))
    ckpt = checkpoint.load(final, kind="vocoder")
    assert ckpt.model_config["type"] == "istft" and ckpt.audio_config.hop_length == 256
    vocoder, audio = load_vocoder(final)
    mel = torch.randn(1, audio.n_mels, 10)
    assert vocoder(mel).shape == (1, 10 * audio.hop_length)
    wav = voiced_signal(2.0, audio.sample_rate)
    whole = resynthesize(wav, vocoder, audio)
    streamed = resynthesize(wav, vocoder, audio, stream=True)
    assert whole.shape == streamed.shape and abs(whole - streamed).max() < 1e-4


@pytest.mark.slow
def test_resume_continues_and_export_matches(prepared, tmp_path):
    out = tmp_path / "run"
    train_vocoder(TINY, prepared, out, _options(max_steps=2))
    first = checkpoint.load(find_resume_checkpoint(out))
    assert first.metadata["step"] == 2
    with pytest.raises(Exception, match="--resume"):
        train_vocoder(TINY, prepared, out, _options(max_steps=4))
    # a checkpoint torn by a kill while saving is skipped in favour of the previous one
    newest = out / "checkpoints" / "last.ckpt"
    shutil.copy(newest, out / "checkpoints" / "backup.ckpt")
    newest.write_bytes(newest.read_bytes()[:1000])
    assert find_resume_checkpoint(out).name.startswith("step")
    final = train_vocoder(TINY, prepared, out, _options(resume=True, max_steps=4))
    resumed = checkpoint.load(final)
    assert resumed.metadata["step"] == 4
    changed = [k for k in first.state_dict if not torch.equal(first.state_dict[k], resumed.state_dict[k])]
    assert changed, "resuming trained nothing"
    # export: weights only, fp16, same outputs as the training checkpoint within fp16 rounding
    assert main(["export", str(final), str(tmp_path / "voc.pt")]) == 0
    small = checkpoint.load(tmp_path / "voc.pt")
    assert small.training_state is None
    assert all(v.dtype == torch.float16 for v in small.state_dict.values() if v.is_floating_point())
    assert (tmp_path / "voc.pt").stat().st_size < final.stat().st_size / 4
    a, _ = load_vocoder(final)
    b, _ = load_vocoder(tmp_path / "voc.pt")
    mel = torch.randn(1, 80, 12)
    with torch.no_grad():
        assert torch.allclose(a(mel), b(mel), atol=2e-2)


def test_train_with_given_mels(prepared, tmp_path):
    final = train_vocoder(TINY, prepared, tmp_path / "run", _options(fast_dev_run=True),
                          mel_dir=prepared / "mels")
    assert checkpoint.load(final).kind == "vocoder"


@pytest.mark.parametrize("argv,message", [
    (["train", "vocoder", "DATA", "OUT", "-c", "/nonexistent.yaml"], "config file not found"),
    (["train", "vocoder", "/nonexistent", "OUT", "-c", str(TINY)], "prepared folder"),
    (["train", "vocoder", "DATA", "OUT", "-c", str(TINY), "--resume"], "nothing to resume"),
    (["export", "/nonexistent.ckpt", "OUT"], "checkpoint not found"),
])
def test_bad_training_input(prepared, tmp_path, capsys, argv, message):
    argv = [a.replace("DATA", str(prepared)).replace("OUT", str(tmp_path / "o")) for a in argv]
    assert main([*argv, *(["-q"] if argv[0] == "train" else [])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("voxclone: error:") and message in err[-1]


def test_fine_tune_from_weights(prepared, tmp_path):
    first = train_vocoder(TINY, prepared, tmp_path / "a", _options(fast_dev_run=True))
    second = train_vocoder(TINY, prepared, tmp_path / "b", _options(fast_dev_run=True),
                           init_from=first)
    a, b = checkpoint.load(first).state_dict, checkpoint.load(second).state_dict
    assert a.keys() == b.keys()
    # one step away from the given weights, far from any fresh random init
    torch.manual_seed(1234)
    ckpt = checkpoint.load(first)
    fresh = build_vocoder(ckpt.model_config, ckpt.audio_config).state_dict()
    distance = sum((a[k].float() - b[k].float()).abs().sum() for k in a)
    far = sum((a[k].float() - fresh[k].float()).abs().sum() for k in a)
    assert distance < far / 10
    with pytest.raises(Exception, match="different model"):
        other = tmp_path / "other.yaml"
        other.write_text(TINY.read_text().replace("type: istft, preset: small",
                                                  "type: hifigan, preset: v2"))
        train_vocoder(other, prepared, tmp_path / "d", _options(fast_dev_run=True), init_from=first)


def test_train_with_phase_losses(prepared, tmp_path):
    config = tmp_path / "phase.yaml"
    config.write_text(TINY.read_text().replace("adversarial: true", "adversarial: false, "
                                               "phase_weight: 1.0"))
    final = train_vocoder(config, prepared, tmp_path / "run", _options(fast_dev_run=True))
    stored = checkpoint.load(final)
    assert stored.metadata["experiment"]["training"]["phase_weight"] == 1.0


def test_fine_tune_into_phase_iterations(prepared, tmp_path):
    """A vocoder fine-tunes into a config that differs only in phase_iterations (no weight
    changes shape); the result stores the new setting and refines its phase."""
    first = train_vocoder(TINY, prepared, tmp_path / "a", _options(fast_dev_run=True))
    config = tmp_path / "gl.yaml"
    config.write_text(TINY.read_text().replace("type: istft, preset: small",
                                               "type: istft, preset: small, phase_iterations: 2"))
    second = train_vocoder(config, prepared, tmp_path / "b", _options(fast_dev_run=True),
                           init_from=first)
    assert checkpoint.load(second).model_config["config"]["phase_iterations"] == 2
    vocoder, _ = load_vocoder(second)
    assert vocoder.config.phase_iterations == 2


def test_train_on_several_prepared_folders(prepared, tmp_path):
    from data.datamodule import VocoderDataModule

    other = tmp_path / "copy"
    shutil.copytree(prepared, other)
    single = VocoderDataModule(prepared, val_clips=100)
    single.setup()
    both = VocoderDataModule([prepared, other], val_clips=100)
    both.setup()
    assert len(both.train_set) == 2 * len(single.train_set)
    val = [u.audio_path for u in both.val_set.utterances]
    assert len(val) == 2 * len(single.val_set.utterances)
    assert str(other) in str(val[1])  # in turns: one clip of each folder
    final = train_vocoder(TINY, [prepared, other], tmp_path / "run", _options(fast_dev_run=True))
    assert checkpoint.load(final).kind == "vocoder"
    with pytest.raises(Exception, match="single prepared folder"):
        VocoderDataModule([prepared, other], mel_dir=prepared / "mels")
