"""Acoustic-model training end to end on a tiny generated corpus: fast_dev_run through the one
loader, resume after a kill, fine-tuning, DDP with two CPU processes, and synthesis."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from data.prepare import prepare
from tts import checkpoint
from tts.acoustic import load_acoustic
from tts.cli import main
from tts.config import load_yaml
from tts.training import acoustic_task
from tts.training.run import RunOptions, find_resume_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TINY = {name: ROOT / "configs" / "acoustic" / "tiny" / f"{name}.yaml"
        for name in ("duration", "attention")}


@pytest.fixture
def prepared(prepared_ljspeech):
    return prepared_ljspeech


def _options(**kw):
    return RunOptions(accelerator="cpu", progress=False, **kw)


def train_acoustic(config_path, *args, **kwargs):
    """``acoustic_task.train`` on the experiment in ``config_path``, as the CLI runs it."""
    config = load_yaml(acoustic_task.AcousticExperimentConfig, config_path)
    return acoustic_task.train(config, *args, **kwargs)


@pytest.mark.parametrize("decoder", ["duration", "attention"])
def test_fast_dev_run_checkpoint_loads_through_the_one_loader(prepared, tmp_path, decoder):
    final = train_acoustic(TINY[decoder], prepared, tmp_path / "run", _options(fast_dev_run=True))
    ckpt = checkpoint.load(final, kind="acoustic")
    assert ckpt.model_config["decoder"] == decoder and ckpt.symbols["backend"] == "g2p_en"
    acoustic = load_acoustic(final)
    assert acoustic.speakers == ["LJ"] and acoustic.model.config.num_speakers == 1
    tokens = torch.tensor([acoustic.symbols.encode(["HH", "AH0", "L", "OW1", "."])])
    out = acoustic.model.infer(tokens, torch.tensor([5]), speakers=torch.tensor([0]))
    assert out["mel"].shape[:2] == (1, 80) and int(out["mel_lengths"][0]) >= 1


@pytest.mark.slow
def test_resume_after_a_kill_continues_the_run(prepared, tmp_path):
    out = tmp_path / "run"
    train_acoustic(TINY["duration"], prepared, out, _options(max_steps=2))
    first = checkpoint.load(find_resume_checkpoint(out))
    assert first.metadata["step"] == 2
    with pytest.raises(Exception, match="--resume"):
        train_acoustic(TINY["duration"], prepared, out, _options(max_steps=4))
    newest = out / "checkpoints" / "last.ckpt"
    newest.write_bytes(newest.read_bytes()[:1000])  # torn by a kill while saving
    assert find_resume_checkpoint(out).name.startswith("step")
    final = train_acoustic(TINY["duration"], prepared, out, _options(resume=True, max_steps=4))
    resumed = checkpoint.load(final)
    assert resumed.metadata["step"] == 4
    assert resumed.training_state["optimizer_states"]  # optimizer state travels for resume
    changed = [k for k in first.state_dict
               if not torch.equal(first.state_dict[k], resumed.state_dict[k])]
    assert changed


def test_fine_tuning_starts_from_the_given_weights(prepared, tmp_path):
    base = train_acoustic(TINY["duration"], prepared, tmp_path / "base",
                          _options(fast_dev_run=True))
    with pytest.raises(Exception, match="only one"):
        train_acoustic(TINY["duration"], prepared, tmp_path / "base", _options(resume=True),
                       init_from=base)
    tuned = train_acoustic(TINY["duration"], prepared, tmp_path / "tuned",
                           _options(max_steps=1), init_from=base)
    before, after = load_acoustic(base).model, load_acoustic(tuned).model
    embedding = "encoder.embedding.weight"
    # one step away from the base weights, not from a fresh initialisation
    assert (before.state_dict()[embedding] - after.state_dict()[embedding]).abs().max() < 0.05
    with pytest.raises(Exception, match="different acoustic model"):
        train_acoustic(TINY["attention"], prepared, tmp_path / "other", _options(max_steps=1),
                       init_from=base)


@pytest.mark.slow
def test_ddp_with_two_cpu_processes(prepared, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "tts.cli", "train", "acoustic", str(prepared),
           str(tmp_path / "ddp"), "-c", str(TINY["duration"]), "--accelerator", "cpu",
           "--devices", "2", "--strategy", "ddp", "--max-steps", "2", "-q"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ckpt = checkpoint.load(tmp_path / "ddp" / "checkpoints" / "last.ckpt", kind="acoustic")
    assert ckpt.metadata["step"] == 2


def test_cli_train_and_say_with_the_trained_model(prepared, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "acoustic", str(prepared), str(run), "-c", str(TINY["duration"]),
                 "--accelerator", "cpu", "--max-steps", "2", "-q"]) == 0
    wav = tmp_path / "out.wav"
    assert main(["say", "Hello there, 12 cats.", "-o", str(wav), "--acoustic",
                 str(run / "checkpoints" / "last.ckpt"), "--vocoder", "griffinlim"]) == 0
    import soundfile

    data, rate = soundfile.read(wav)
    assert rate == 22050 and len(data) > 0 and np.isfinite(data).all()
    assert main(["say", "Hi.", "-o", str(wav), "--acoustic", str(tmp_path / "nope.ckpt")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_named_emotions_are_learned_from_labelled_data(tmp_path, capsys):
    from data_fixtures import make_shared

    prepared = tmp_path / "prepared"
    prepare("ravdess-speech", make_shared(tmp_path, "ravdess-speech"), prepared, workers=1,
            progress=False, val_fraction=0.0)
    final = train_acoustic(TINY["duration"], prepared, tmp_path / "run", _options(max_steps=3))
    acoustic = load_acoustic(final)
    assert acoustic.speakers == ["Actor_01", "Actor_02"]
    learned = set(acoustic.emotions)
    assert learned and learned <= {"neutral", "angry", "surprised"}
    name = sorted(learned)[0]
    weights = acoustic.emotion_weights(name, intensity=0.5)
    assert weights.shape == (2, 4) and torch.allclose(weights.sum(-1), torch.ones(2))
    with pytest.raises(Exception, match="unknown emotion 'joyful'"):
        acoustic.emotion_weights("joyful")
    wav = tmp_path / "e.wav"
    assert main(["say", "Dogs.", "-o", str(wav), "--acoustic", str(final), "--vocoder",
                 "griffinlim", "--emotion", name, "--intensity", "1.5",
                 "--speaker", "Actor_02"]) == 0
    assert main(["say", "Dogs.", "-o", str(wav), "--acoustic", str(final), "--vocoder",
                 "griffinlim", "--emotion", "joyful"]) == 2
    assert "unknown emotion" in capsys.readouterr().err
    # evaluate.py emotions: pitch and loudness per emotion, recordings vs model
    from vocoder_fixtures import load_script

    evaluate = load_script("evaluate")
    assert evaluate.main(["emotions", "--acoustic", str(final), "--data", str(prepared),
                          "--vocoder", "griffinlim", "--clips", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| emotion | F0 Hz") and f"| {name} |" in out
    assert "rank correlation across emotions" in out


def test_mixed_precision_training_runs(prepared, tmp_path):
    final = train_acoustic(TINY["duration"], prepared, tmp_path / "bf16",
                           _options(max_steps=2, precision="bf16-mixed"))
    acoustic = load_acoustic(final)
    assert acoustic.metadata["step"] == 2
    assert all(torch.isfinite(v).all() for v in acoustic.model.state_dict().values())


def test_aligner_warmup_trains_only_the_aligner(prepared, tmp_path):
    config = tmp_path / "warm.yaml"
    text = TINY["duration"].read_text().replace("num_workers: 0}",
                                                "num_workers: 0, aligner_warmup_steps: 2}")
    config.write_text(text)
    base = train_acoustic(TINY["duration"], prepared, tmp_path / "base",
                          _options(fast_dev_run=True))
    warm = train_acoustic(config, prepared, tmp_path / "warm", _options(max_steps=2),
                          init_from=base)
    before, after = checkpoint.load(base).state_dict, checkpoint.load(warm).state_dict
    changed = {k for k in before if not torch.equal(before[k].float(), after[k].float())}
    assert any(k.startswith("decoder.aligner.") for k in changed)
    assert "encoder.embedding.weight" in changed
    trained = [k for k in changed if not k.startswith(("decoder.aligner.", "encoder.embedding"))
               and "running" not in k and "num_batches" not in k and "style_weights" not in k]
    assert not trained, trained


def test_evaluate_acoustic_prints_a_table(prepared, tmp_path, capsys):
    from vocoder_fixtures import load_script

    evaluate = load_script("evaluate")
    final = train_acoustic(TINY["attention"], prepared, tmp_path / "run",
                           _options(fast_dev_run=True))
    sentences = tmp_path / "long.txt"
    sentences.write_text("x|" + " ".join(["word"] * 30) + ".\nshort line\n", encoding="utf-8")
    assert evaluate.main(["acoustic", "--data", str(prepared), "--acoustic", str(final),
                          "--vocoder", "griffinlim", "--long-text", str(sentences),
                          "--sentences", "2", "--long", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| model | decoder | step | WER")
    assert lines[2].startswith(f"| {final} | attention |") and lines[2].count("/1 |") == 1
    assert evaluate.main(["acoustic", "--data", str(prepared)]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err


def test_evaluate_acoustic_collection_forced_prosody_and_errors(prepared, tmp_path, capsys):
    """Issue 20's analyses: WER on unseen collection sentences (texts a manifest reads left
    out), the held-out sentences in the recordings' timing and pitch, the per-word report."""
    from vocoder_fixtures import load_script

    from data.manifest import read_manifest
    from tts.bundled import DEFAULT_ACOUSTIC

    evaluate = load_script("evaluate")
    trained_text = read_manifest(prepared / "train.jsonl")[0].text
    collection = tmp_path / "collection.txt"
    collection.write_text(f"a|{trained_text}\nb|The little boat sailed home across the quiet "
                          "bay.\nc|Too short.\nd|We planted seven rows of beans behind the "
                          "old barn.\n", encoding="utf-8")
    common = ["acoustic", "--data", str(prepared), "--acoustic", str(DEFAULT_ACOUSTIC),
              "--vocoder", "griffinlim", "--sentences", "2", "--collection", str(collection)]
    assert evaluate.main([*common, "--collection-count", "2", "--forced-prosody",
                          "--errors"]) == 0
    out = capsys.readouterr().out
    table = out.split("\n\n")[0].splitlines()
    assert len(table) == 5 and "WER collection (2)" in table[0]
    names = [line.split(" | ")[0][2:] for line in table[2:5]]
    assert names == [str(DEFAULT_ACOUSTIC), f"{DEFAULT_ACOUSTIC}, recording's timing",
                     f"{DEFAULT_ACOUSTIC}, recording's timing and pitch"]
    assert all(cell.strip() not in ("", "–") for cell in table[2].split("|")[4:7])
    assert out.count("### Word errors") == 3 and "| place in sentence |" in out and "| phoneme" in out
    # the trained sentence and the short one are not drawn: only two remain
    assert evaluate.main([*common, "--collection-count", "3"]) == 2
    assert "only 2 sentences" in capsys.readouterr().err


def test_multi_speaker_training_with_embeddings_and_held_out_speakers(prepared, tmp_path):
    """Several prepared folders in one run, per-utterance speaker embeddings (voxclone embed),
    a named held-out speaker, and --init from a single-speaker model adding the embedding
    projection at zero (so the start speaks exactly like the source)."""
    import dataclasses

    import yaml
    from data_fixtures import make_vctk

    from cloning.corpus_embeddings import embed_prepared
    from cloning.encoder import SpeakerEncoder, SpeakerEncoderConfig
    from data.datamodule import TTSDataModule
    from data.prepare import prepare
    from tts.config import to_dict
    from tts.errors import DataError

    vctk = tmp_path / "vctk"
    prepare("vctk", make_vctk(tmp_path), vctk, workers=0, progress=False, val_fraction=0.0,
            min_duration=0.1)
    with pytest.raises(DataError, match="voxclone embed"):
        TTSDataModule([prepared, vctk], embeddings=True).setup()
    encoder = SpeakerEncoder(SpeakerEncoderConfig(hidden_size=8, num_layers=1,
                                                  embedding_size=16, min_seconds=0.2))
    local = tmp_path / "lj"  # a writable copy of the session fixture
    import shutil

    shutil.copytree(prepared, local)
    for folder in (local, vctk):
        embed_prepared(folder, encoder)
    data = TTSDataModule([local, vctk], embeddings=True, hold_out_names=["p226"])
    assert data.speakers == ["LJ", "p225"] and data.held_out == {"p226"}
    data.setup()
    assert all(u.speaker != "p226" for u in data.train_set.utterances)
    batch = data.train_set.collate([data.train_set[i] for i in range(2)])
    assert batch["speaker_embeddings"].shape == (2, 16)
    means = data.speaker_means()
    assert means.shape == (2, 16) and torch.allclose(means[0].norm(), torch.tensor(1.0))

    single = train_acoustic(TINY["duration"], local, tmp_path / "single", _options(max_steps=2))
    config = yaml.safe_load(TINY["duration"].read_text())
    config["model"]["speaker_embedding_dim"] = 16
    config["training"]["hold_out_speakers"] = ["p226"]
    multi_yaml = tmp_path / "multi.yaml"
    multi_yaml.write_text(yaml.safe_dump(config))
    final = train_acoustic(multi_yaml, [local, vctk], tmp_path / "multi",
                           _options(max_steps=2), init_from=single)
    acoustic = load_acoustic(final)
    assert acoustic.speakers == ["LJ", "p225"]
    assert acoustic.model.speaker_means.shape == (2, 16)
    # speakers are spoken by name (stored mean embedding) or by any embedding
    tokens = torch.tensor([acoustic.symbols.encode(["HH", "AH0", "L", "OW1", "."])])
    by_name = acoustic.model.infer(tokens, torch.tensor([5]), speakers=torch.tensor([1]))
    unseen = acoustic.model.infer(tokens, torch.tensor([5]), speakers=torch.tensor([-1]),
                                  speaker_embeddings=torch.nn.functional.normalize(
                                      torch.randn(1, 16), dim=1))
    assert by_name["mel"].shape[1] == unseen["mel"].shape[1] == 80
    # --init added the projection at zero: the initial model equals the source
    from tts.training.acoustic_task import AcousticExperimentConfig, AcousticTask

    experiment = load_yaml(AcousticExperimentConfig, multi_yaml)
    experiment = dataclasses.replace(experiment, model=dataclasses.replace(
        experiment.model, num_speakers=1))
    task = AcousticTask(experiment, data.symbols, ["LJ"], [])
    task.init_from(single)
    source = load_acoustic(single).model
    torch.manual_seed(0)
    a = source.infer(tokens, torch.tensor([5]), speakers=torch.tensor([0]))["mel"]
    torch.manual_seed(0)
    b = task.model.eval().infer(tokens, torch.tensor([5]), speakers=torch.tensor([0]),
                                speaker_embeddings=torch.ones(1, 16))["mel"]
    assert torch.allclose(a, b, atol=1e-5)
    assert to_dict(experiment.model)["speaker_embedding_dim"] == 16


def test_gta_mels_match_the_real_mels_frame_for_frame(prepared, tmp_path, capsys):
    from data.manifest import read_manifest

    final = train_acoustic(TINY["duration"], prepared, tmp_path / "run", _options(max_steps=1))
    assert main(["gta", str(final), str(prepared), str(tmp_path / "gta")]) == 0
    for utt in read_manifest(prepared / "manifest.jsonl"):
        mel = np.load(tmp_path / "gta" / f"{utt.id}.npy")
        assert mel.shape == (80, utt.num_frames) and np.isfinite(mel).all()
    attention = train_acoustic(TINY["attention"], prepared, tmp_path / "att",
                               _options(fast_dev_run=True))
    capsys.readouterr()
    assert main(["gta", str(attention), str(prepared), str(tmp_path / "x")]) == 2
    assert "duration decoder" in capsys.readouterr().err


def test_frozen_parameters_are_not_trained(prepared, tmp_path):
    import yaml

    config = yaml.safe_load(TINY["duration"].read_text())
    config["training"]["frozen"] = ["encoder.", "decoder.aligner."]
    frozen_yaml = tmp_path / "frozen.yaml"
    frozen_yaml.write_text(yaml.safe_dump(config))
    start = train_acoustic(TINY["duration"], prepared, tmp_path / "a", _options(max_steps=1))
    final = train_acoustic(frozen_yaml, prepared, tmp_path / "b", _options(max_steps=3),
                           init_from=start)
    before = load_acoustic(start).model.state_dict()
    after = load_acoustic(final).model.state_dict()
    for name, value in after.items():
        if name.startswith(("encoder.", "decoder.aligner.")):
            assert torch.equal(value, before[name]), name
    assert not torch.equal(after["decoder.output.weight"], before["decoder.output.weight"])
