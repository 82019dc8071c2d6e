"""ONNX export and runtime (``tts.onnx``): the graphs equal the models, onnxruntime equals torch.

Fast tests: the exported torch modules against the models they are cut from (tiny random
models), the torch-free noise and phoneme/emotion helpers, the ISTFT vocoder graph in
onnxruntime, and every missing/stale/bad-input error. Slow tests share one export of the
bundled default voice made through the CLI (a minute or two: the exporter's tracing) and check
each graph and whole utterances against PyTorch within ``tts.onnx.export.TOLERANCES``, and that
the ONNX runtime speaks without importing torch.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from tts import checkpoint
from tts.cli import main
from tts.config import AudioConfig, from_dict, to_dict
from tts.errors import CheckpointError, ConfigError
from tts.models.istft_vocoder import ISTFTVocoderConfig
from tts.models.tacotron import Tacotron, TacotronConfig
from tts.onnx.graphs import (
    DecoderGraph,
    EncoderGraph,
    ISTFTGraph,
    SourceFilterGraph,
    prefix_scan,
)
from tts.onnx.manifest import FORMAT, check_export, default_export_dir, source_record
from tts.onnx.noise import torch_randn
from tts.text import SymbolTable

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "configs" / "acoustic" / "tiny" / "duration.yaml"
MULTISPEAKER = ROOT / "checkpoints" / "acoustic" / "multispeaker.pt"
AUDIO = AudioConfig()
EMOTIONS = {"neutral": [[0.25] * 4] * 2, "happy": [[0.7, 0.1, 0.1, 0.1], [0.4, 0.4, 0.1, 0.1]]}


def tiny_acoustic(path: Path, **changes) -> Path:
    """A tiny random acoustic checkpoint (two speakers, emotions), durations about 5 frames."""
    torch.manual_seed(0)
    config = from_dict(TacotronConfig, yaml.safe_load(TINY.read_text())["model"])
    config = dataclasses.replace(config, num_speakers=2, **changes)
    symbols = SymbolTable.for_backend("g2p_en")
    model = Tacotron(config, len(symbols), AUDIO).eval()
    with torch.no_grad():
        model.decoder.duration_predictor.output.bias.fill_(math.log(6.0))
        if config.pitch:
            model.decoder.pitch_predictor.output.bias.copy_(torch.tensor([0.2, 0.8]))
        if config.speaker_embedding_dim:
            model.speaker_means.normal_()
    return checkpoint.save(path, checkpoint.Checkpoint(
        kind="acoustic", model_config=to_dict(config), state_dict=model.state_dict(),
        audio_config=AUDIO, symbols=symbols.to_dict(),
        metadata={"speakers": ["a", "b"], "emotion_weights": EMOTIONS}))


def tiny_vocoder(path: Path, kind: str) -> Path:
    from tts.vocoder import build_vocoder, vocoder_model_config

    torch.manual_seed(0)
    if kind == "sourcefilter":
        config = vocoder_model_config(kind, "tiny")
    else:
        config = {"type": kind, "config": to_dict(ISTFTVocoderConfig(
            dim=16, intermediate_dim=32, num_layers=1))}
    model = build_vocoder(config, AUDIO)
    return checkpoint.save(path, checkpoint.Checkpoint(
        kind="vocoder", model_config=config, state_dict=model.state_dict(), audio_config=AUDIO))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {"pitch": tiny_acoustic(root / "pitch.pt", pitch=True, speaker_embedding_dim=8,
                                   postnet_layers=2, postnet_channels=8),
            "plain": tiny_acoustic(root / "plain.pt"),
            "sourcefilter": tiny_vocoder(root / "sf.pt", "sourcefilter"),
            "istft": tiny_vocoder(root / "istft.pt", "istft")}


# -- the pieces, in torch ------------------------------------------------------------------------
@pytest.mark.parametrize("size", [16, 17, 1000, 4099])
def test_noise_is_torch_randn_of_the_seeded_generator(size):
    expected = torch.randn(1, size, generator=torch.Generator().manual_seed(0)).numpy()[0]
    assert np.abs(torch_randn(size) - expected).max() < 1e-5  # a few units in the last place
    assert not np.array_equal(torch_randn(size, seed=1)[:16], expected[:16])


def test_prefix_scan_is_cummax_and_cummin():
    generator = torch.Generator().manual_seed(0)
    for x in (torch.randint(-1, 4, (3, 70), generator=generator),  # many ties
              torch.randn(2, 33, generator=generator), torch.tensor([[5]])):
        for largest, reference in ((True, torch.cummax), (False, torch.cummin)):
            values, indices = prefix_scan(x, -1, largest)
            expected = reference(x, -1)
            assert torch.equal(values, expected.values) and torch.equal(indices, expected.indices)


@pytest.mark.parametrize("kind", ["pitch", "plain"])
def test_acoustic_graphs_are_the_model_in_torch(tiny, kind):
    from tts.acoustic import load_acoustic

    model = load_acoustic(tiny[kind]).model
    ids = torch.randint(4, 60, (1, 11), generator=torch.Generator().manual_seed(1))
    speaker = torch.tensor([1])
    embedding = model.speaker_means[[1]] if kind == "pitch" else torch.zeros(1)
    with torch.no_grad():
        expected = model.infer(ids, torch.tensor([11]), speakers=speaker, duration_scale=0.8,
                               pitch_shift=2.0 if kind == "pitch" else 0.0)
        encoded = EncoderGraph(model).eval()(ids, speaker, embedding, model.mean_style_weights[None],
                                             torch.tensor(0.8), torch.tensor(2.0))
        frames = torch.ones(1, int(encoded[1].sum()))
        decoded = DecoderGraph(model).eval()(encoded[0], encoded[1], frames, *encoded[2:])
    assert torch.equal(encoded[1], expected["durations"])
    assert torch.equal(decoded[0], expected["mel"])  # same layers, same order: bit-identical
    assert torch.equal(decoded[1], expected["alignment"])
    if kind == "pitch":
        assert torch.equal(decoded[2], expected["f0"])


def _mel_and_f0(frames: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    mel = torch.randn(1, AUDIO.n_mels, frames, generator=generator) * 2 - 6
    voiced = torch.rand(1, frames, generator=generator) > 0.3
    f0 = torch.where(voiced, 100 + 120 * torch.rand(1, frames, generator=generator), 0.0)
    return mel, f0


def test_vocoder_graphs_equal_the_vocoders_in_torch(tiny):
    """The real-valued STFT-domain synthesis against torch.stft/fft: float rounding apart."""
    from tts.vocoder import load_vocoder

    mel, f0 = _mel_and_f0(57)
    sourcefilter, _ = load_vocoder(tiny["sourcefilter"])
    istft, _ = load_vocoder(tiny["istft"])
    noise = torch.randn(1, 57 * AUDIO.hop_length, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        pairs = [(sourcefilter(mel, f0), SourceFilterGraph(sourcefilter)(mel, f0, noise)),
                 (istft(mel), ISTFTGraph(istft)(mel))]
    for expected, graph in pairs:
        assert graph.shape == expected.shape
        assert (graph - expected).abs().max() < 1e-5 * expected.abs().max()


def test_torch_free_helpers_agree_with_the_torch_engine(tiny):
    from tts.acoustic import load_acoustic
    from tts.neural_engine import NeuralEngine
    from tts.onnx.runtime import emotion_weights, phoneme_ids

    engine = NeuralEngine.load(tiny["pitch"], tiny["sourcefilter"])
    for text in ("hello there", "Is it ten past two?", "well, , okay !"):
        assert phoneme_ids(text, engine.acoustic.symbols) == engine.tokens(text)
    acoustic = load_acoustic(tiny["pitch"])
    emotions = {name: w.numpy() for name, w in acoustic.emotions.items()}
    mean = acoustic.model.mean_style_weights.numpy()
    for intensity in (0.0, 0.5, 1.0, 2.0):
        assert np.allclose(emotion_weights(emotions, mean, "happy", intensity),
                           acoustic.emotion_weights("happy", intensity).numpy(), atol=1e-7)
    for bad in (("sad", 1.0), ("happy", 3.0)):
        with pytest.raises(ConfigError) as ours:
            emotion_weights(emotions, mean, *bad)
        with pytest.raises(ConfigError) as theirs:
            acoustic.emotion_weights(*bad)
        assert str(ours.value) == str(theirs.value)


def test_istft_vocoder_graph_runs_in_onnxruntime(tiny, tmp_path):
    """Exported alone (seconds); the whole export path is in the slow tests below."""
    import onnxruntime

    from tts.onnx.export import _export_vocoder
    from tts.vocoder import load_vocoder

    vocoder, _ = load_vocoder(tiny["istft"])
    engine = type("Engine", (), {"vocoder": vocoder, "audio": AUDIO})()
    _export_vocoder(engine, tmp_path, frames=16)
    session = onnxruntime.InferenceSession(str(tmp_path / "vocoder.onnx"))
    assert [(i.name, i.shape) for i in session.get_inputs()] == [("mel", [1, 80, "frames"])]
    for frames in (3, 40, 301):
        mel, _ = _mel_and_f0(frames, seed=frames)
        with torch.no_grad():
            expected = vocoder(mel).numpy()
        (wav,) = session.run(None, {"mel": mel.numpy()})
        assert wav.shape == expected.shape
        assert np.abs(wav - expected).max() < 1e-5 * np.abs(expected).max()


# -- missing, broken, stale --------------------------------------------------------------------
def _fake_export(folder: Path, acoustic: Path, vocoder: Path) -> Path:
    """A folder shaped like an export (empty graphs): enough for ``check_export``."""
    folder.mkdir(parents=True)
    for name in ("encoder.onnx", "decoder.onnx", "vocoder.onnx", "tables.npz"):
        (folder / name).write_bytes(b"")
    manifest = {"format": FORMAT, "acoustic": source_record(acoustic),
                "vocoder": source_record(vocoder)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_missing_broken_and_stale_exports_name_the_command(tiny, tmp_path):
    acoustic = shutil.copy(tiny["plain"], tmp_path / "model.pt")
    folder = _fake_export(tmp_path / "export", Path(acoustic), tiny["istft"])
    assert check_export(acoustic, folder=folder).folder == folder
    assert check_export(acoustic, tiny["istft"], folder).manifest["format"] == FORMAT

    def refused(match: str, *args, **kwargs) -> str:
        with pytest.raises(CheckpointError, match=match) as error:
            check_export(*args, **kwargs)
        message = str(error.value)
        assert "\n" not in message and "`voxclone export --onnx " in message
        return message

    assert "--voice kathleen" in refused("no ONNX export", acoustic, folder=tmp_path / "none",
                                         voice="kathleen")
    refused("holds the vocoder", acoustic, tiny["sourcefilter"], folder)
    refused("is of", tiny["pitch"], folder=folder)
    os.utime(acoustic, ns=(0, 0))  # touched, same bytes: still current
    assert check_export(acoustic, folder=folder)
    Path(acoustic).write_bytes(Path(acoustic).read_bytes() + b"x")
    assert "model.pt changed" in refused("is stale", acoustic, folder=folder)
    _fake_export(tmp_path / "export2", Path(acoustic), tiny["istft"])
    (tmp_path / "export2" / "decoder.onnx").unlink()
    refused("lacks decoder.onnx", acoustic, folder=tmp_path / "export2")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format": FORMAT + 1}))
    refused("has format", acoustic, folder=folder)
    (folder / "manifest.json").write_text("{")
    refused("broken ONNX export", acoustic, folder=folder)


def test_auto_runtime_is_onnx_only_with_a_current_export(tiny, tmp_path, monkeypatch):
    from tts.voices import resolve_runtime

    acoustic = Path(shutil.copy(tiny["plain"], tmp_path / "model.pt"))
    folder = tmp_path / "export"
    assert resolve_runtime("auto", acoustic, onnx_dir=folder) == "torch"  # none yet
    _fake_export(folder, acoustic, tiny["istft"])
    assert resolve_runtime("auto", acoustic, onnx_dir=folder) == "onnx"
    assert resolve_runtime("auto", acoustic, tiny["sourcefilter"], folder) == "torch"
    assert resolve_runtime("torch", acoustic, onnx_dir=folder) == "torch"
    acoustic.write_bytes(acoustic.read_bytes() + b"x")  # the export is now stale
    assert resolve_runtime("auto", acoustic, onnx_dir=folder) == "torch"
    assert resolve_runtime("onnx", acoustic, onnx_dir=folder) == "onnx"  # check_export says why
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    _fake_export(tmp_path / "export2", acoustic, tiny["istft"])
    assert resolve_runtime("auto", acoustic, onnx_dir=tmp_path / "export2") == "torch"
    with pytest.raises(ConfigError, match="unknown runtime 'tf'"):
        resolve_runtime("tf", acoustic)


def test_a_broken_export_is_a_one_line_error(tiny, tmp_path):
    from tts.neural_engine import NeuralEngine
    from tts.onnx.export import _manifest, _tables
    from tts.onnx.runtime import OnnxEngine

    engine = NeuralEngine.load(tiny["plain"], tiny["istft"])
    folder = _fake_export(tmp_path / "export", tiny["plain"], tiny["istft"])
    manifest = _manifest(engine, tiny["plain"], tiny["istft"])
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="broken ONNX export .*tables.npz"):
        OnnxEngine(check_export(tiny["plain"], folder=folder))
    np.savez(folder / "tables.npz", **_tables(engine))
    with pytest.raises(CheckpointError, match="cannot load .*encoder.onnx .*voxclone export"):
        OnnxEngine(check_export(tiny["plain"], folder=folder))


def test_default_export_folder_is_in_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("VOXCLONE_CACHE", str(tmp_path))
    folder = default_export_dir(MULTISPEAKER)
    assert folder.parent == tmp_path / "onnx" and folder.name.startswith("multispeaker-")
    assert default_export_dir("x/multispeaker.pt") != folder  # keyed by the resolved path


def test_voice_engine_runtime_errors(tmp_path):
    from tts.voices import voice_engine

    with pytest.raises(ConfigError, match="unknown runtime 'tf'"):
        voice_engine("kathleen", runtime="tf")
    with pytest.raises(CheckpointError,
                       match="run `voxclone export --onnx --voice lj .*empty`"):
        voice_engine("lj", runtime="onnx", onnx_dir=tmp_path / "empty")


@pytest.mark.parametrize("argv, message", [
    (["export"], "give CKPT and OUT"),
    (["export", "a.pt"], "give CKPT and OUT"),
    (["export", "--voice", "kathleen", "a.pt", "b.pt"], "add --onnx"),
    (["export", "--onnx", "--fp32"], "always float32"),
    (["export", "--onnx", "one", "two"], "at most one folder"),
    (["export", "--onnx", "--voice", "lj", "--acoustic", "x.pt"], "leave out --acoustic"),
    (["export", "--onnx", "--acoustic", "missing.pt"], "not found: missing.pt"),
    (["export", "--onnx", "--voice", "nobody-here"], "nobody-here"),
])
def test_export_cli_bad_inputs_are_one_line_errors(argv, message, tmp_path, monkeypatch,
                                                   capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOXCLONE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VOXCLONE_VOICES", str(tmp_path / "voices"))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "cache").exists() and sorted(os.listdir(tmp_path)) == []


def test_export_of_a_checkpoint_still_works(tiny, tmp_path, capsys):
    assert main(["export", str(tiny["plain"]), str(tmp_path / "small.pt")]) == 0
    assert "weights only" in capsys.readouterr().out and (tmp_path / "small.pt").is_file()


def test_export_averages_the_weights_of_checkpoints_of_one_model(tiny, tmp_path, capsys):
    base = checkpoint.load(tiny["plain"])
    moved = dataclasses.replace(base, state_dict={
        k: v + 1.0 if v.is_floating_point() else v + 5 for k, v in base.state_dict.items()})
    checkpoint.save(tmp_path / "moved.pt", moved)
    assert main(["export", str(tiny["plain"]), str(tmp_path / "mean.pt"), "--fp32",
                 "--average", str(tmp_path / "moved.pt")]) == 0
    assert "the mean of 2 checkpoints" in capsys.readouterr().out
    mean = checkpoint.load(tmp_path / "mean.pt")
    assert mean.metadata["averaged"] == ["plain.pt", "moved.pt"]
    for key, value in base.state_dict.items():
        if value.is_floating_point():  # halfway between the two
            assert torch.allclose(mean.state_dict[key], value + 0.5), key
        else:  # step counts: the first checkpoint's
            assert torch.equal(mean.state_dict[key], value), key
    # another model, or --average with --onnx: one line, nothing written
    assert main(["export", str(tiny["plain"]), str(tmp_path / "bad.pt"), "--average",
                 str(tiny["pitch"])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pitch.pt is another model (its config differs)" in err[0]
    assert main(["export", "--onnx", "--average", str(tiny["plain"])]) == 2
    assert "--average is for CKPT OUT" in capsys.readouterr().err
    assert not (tmp_path / "bad.pt").exists()


def test_export_refuses_a_folder_that_holds_something_else(tiny, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["export", "--onnx", "-q", "--acoustic", str(tiny["plain"]), "--vocoder",
                 str(tiny["istft"]), str(tmp_path)]) == 2
    assert "holds no ONNX export" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_benchmark_tables_and_a_missing_export(tmp_path, monkeypatch, capsys):
    from vocoder_fixtures import load_script

    bench = load_script("benchmark_onnx")
    speed = {runtime: {"short": {"rtf": rtf}, "long": {"rtf": rtf / 2}}
             for runtime, rtf in (("torch", 0.2), ("onnx", 0.1))}
    startup = {"import_seconds": 0.2, "load_seconds": 3.0, "first_hi_seconds": 0.1,
               "memory_mib": 430.0, "torch_imported": True}
    cold = {"seconds": 5.0, "memory_mib": 400.0, "torch_imported": True}
    report = {"repeats": 3, "floor_mib": 36.0,
              "speed": [{"threads": 1, "speed": speed}, {"threads": 2, "error": "boom"}],
              "startup": {"torch": startup, "onnx": {**startup, "load_seconds": 0.3}},
              "cold": {"torch": {"say": cold, "engine": cold},
                       "onnx": {"say": cold, "engine": {**cold, "seconds": 1.0}}}}
    tables = bench.report_tables(report)
    assert "| onnx / torch | 1 | 0.50 | 0.50 |  |" in tables and "| – | 2 | boom |" in tables
    assert "| onnx / torch | 1.00 | 0.10 | 1.00 | 0.18 | 1.00 |  |" in tables
    assert "| engine | onnx / torch | 0.20 | 1.00 |  |" in tables
    monkeypatch.setenv("VOXCLONE_CACHE", str(tmp_path))
    assert bench.main(["--no-export", "--threads", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no ONNX export of multispeaker.pt" in err[0]


# -- the bundled default voice through onnxruntime (one export, slow) ---------------------------
@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """``voxclone export --onnx`` of the default voice (multispeaker.pt + sourcefilter.pt)."""
    folder = tmp_path_factory.mktemp("onnx") / "kathleen"
    assert main(["export", "--onnx", "-q", "--voice", "kathleen", str(folder)]) == 0
    return folder


@pytest.mark.slow
def test_cli_export_writes_a_checked_export(bundled):
    from tts.onnx.export import TOLERANCES, within_tolerance

    manifest = json.loads((bundled / "manifest.json").read_text())
    assert sorted(os.listdir(bundled)) == ["decoder.onnx", "encoder.onnx", "manifest.json",
                                           "tables.npz", "vocoder.onnx"]
    assert Path(manifest["acoustic"]["path"]).name == "multispeaker.pt"
    assert manifest["vocoder"]["type"] == "SourceFilterVocoder" and manifest["speakers"][0] == \
        "kathleen"
    checked = manifest["checked"]
    assert within_tolerance(checked) is None and checked["tolerances"] == TOLERANCES
    assert checked["mel_max_abs"] < 1e-4 and checked["audio_snr_db"] > 50  # measured margins


@pytest.mark.slow
def test_each_graph_matches_pytorch_on_a_new_sentence(bundled):
    from tts.neural_engine import NeuralEngine
    from tts.onnx.runtime import load_engine

    voice = {"speaker": "LJ", "speed": 1.25, "pitch": 3.0}
    torch_engine = NeuralEngine.load(MULTISPEAKER, **voice)
    onnx_engine = load_engine(MULTISPEAKER, folder=bundled, threads=1, **voice)
    ids = torch_engine.tokens("she sells sea shells by the sea shore, doesn't she")
    ours, theirs = torch_engine.mel_from_tokens(ids), onnx_engine.mel_from_tokens(ids)
    assert np.array_equal(ours.durations.numpy(), theirs.durations)  # graph 1: same frames
    assert ours.tokens == theirs.tokens
    assert np.abs(ours.mel.numpy() - theirs.mel).max() < 1e-4  # graph 2
    assert np.abs(ours.alignment.numpy() - theirs.alignment).max() < 1e-4
    assert np.abs(ours.f0.numpy() - theirs.f0).max() < 0.01
    wav = torch_engine.vocode(ours.mel, ours.f0)  # graph 3 on the same mel and F0
    other = onnx_engine.vocode(ours.mel.numpy(), ours.f0.numpy())
    assert wav.shape == other.shape
    snr = 10 * np.log10(np.sum(wav.astype(np.float64) ** 2) / np.sum((wav - other) ** 2.0))
    # not closer: the F0 bridged over unvoiced gaps goes through float32 exp/log, whose last
    # bit differs between onnxruntime and PyTorch, and the pulse train's phase accumulates it
    # (54 dB measured; the harmonics' phases move by a few milliradians)
    assert snr > 45 and np.abs(wav - other).max() < 1e-2
    for frames in (1, 2, 3):  # padded like tts.vocoder.vocode pads them
        short = torch_engine.vocode(ours.mel[:, :frames], ours.f0[:frames])
        assert np.abs(short - onnx_engine.vocode(ours.mel[:, :frames].numpy(),
                                                 ours.f0[:frames].numpy())).max() < 1e-3


@pytest.mark.slow
def test_onnx_runtime_speaks_the_bundled_voices_like_torch(bundled):
    from tts.onnx.export import compare, within_tolerance
    from tts.synthesizer import Synthesizer, restyle
    from tts.voices import voice_engine

    onnx_base, torch_base = voice_engine("cv-b87dd0", runtime="onnx", onnx_dir=bundled), \
        voice_engine("cv-b87dd0")
    pairs = [(voice_engine("kathleen", runtime="onnx", onnx_dir=bundled, speed=1.2),
              voice_engine("kathleen", speed=1.2)),
             (onnx_base.restyled(speed=0.8, pitch=-2.0), restyle(torch_base, speed=0.8,
                                                                 pitch=-2.0))]
    for onnx_engine, torch_engine in pairs:
        assert onnx_engine.pitch_shift == torch_engine.pitch_shift  # the voice's offset too
        assert onnx_engine.duration_scale == torch_engine.duration_scale
        report = compare(torch_engine, onnx_engine, "Where is the nearest train station?")
        assert within_tolerance(report) is None, report
    assert pairs[1][0].sessions is onnx_base.sessions  # restyled shares the loaded graphs
    text = "The ONNX voice reads 2 sentences. It sounds the same!"
    ours = Synthesizer(engine=voice_engine("kathleen", runtime="onnx", onnx_dir=bundled))
    theirs = Synthesizer(engine=voice_engine("kathleen"))
    a, b = ours.synthesize(text), theirs.synthesize(text)
    assert a.num_chunks == b.num_chunks == 2 and a.wav.shape == b.wav.shape
    assert a.engine == "voxclone-onnx" and a.watermarked


@pytest.mark.slow
def test_both_runtimes_add_a_voice_mel_offset_and_restyle_keeps_it(bundled):
    """A cloned voice's colour (``tts.timbre``) is added to the predicted mel by either runtime."""
    from tts.neural_engine import NeuralEngine
    from tts.onnx.runtime import OnnxEngine
    from tts.synthesizer import restyle
    from tts.voices import voice_engine

    offset = np.linspace(-1.0, 1.0, 80, dtype=np.float32)
    onnx_base = voice_engine("cv-b87dd0", runtime="onnx", onnx_dir=bundled)
    torch_base = voice_engine("cv-b87dd0")
    speaker = onnx_base.speakers[onnx_base.speaker]  # the voice's row, its pitch offset too
    onnx_shifted = OnnxEngine(onnx_base.export, speaker=speaker, pitch=onnx_base.pitch_shift,
                              mel_offset=offset, sessions=onnx_base.sessions)
    torch_shifted = NeuralEngine(torch_base.acoustic, torch_base.vocoder, torch_base.audio,
                                 speaker=speaker, pitch=torch_base.pitch_shift, mel_offset=offset)
    for base, shifted in ((onnx_base, onnx_shifted), (onnx_base, onnx_shifted.restyled()),
                          (torch_base, torch_shifted), (torch_base, restyle(torch_shifted))):
        difference = np.asarray(shifted.mel("hello there").mel) - \
            np.asarray(base.mel("hello there").mel)
        assert np.allclose(difference, offset[:, None], atol=1e-4)


@pytest.mark.slow
def test_onnx_runtime_speaks_without_importing_torch(bundled):
    code = ("import sys\n"
            "from tts.voices import voice_engine\n"
            f"engine = voice_engine('kathleen', runtime='onnx', onnx_dir={str(bundled)!r})\n"
            "wav, rate = engine.speak('hello world')\n"
            "assert rate == 22050 and len(wav) > 0.3 * rate, len(wav)\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture
def cached_export(bundled, tmp_path, monkeypatch):
    """The bundled export where ``--runtime onnx`` looks for it: a fresh ``$VOXCLONE_CACHE``."""
    from tts.onnx.manifest import default_export_dir

    monkeypatch.setenv("VOXCLONE_CACHE", str(tmp_path / "cache"))
    shutil.copytree(bundled, default_export_dir(MULTISPEAKER))
    return default_export_dir(MULTISPEAKER)


@pytest.mark.slow
def test_say_and_serve_speak_with_the_onnx_runtime(cached_export, tmp_path, capsys):
    import soundfile as sf
    from fastapi.testclient import TestClient

    from tts.server.app import create_app
    from tts.server.config import ServerConfig

    text = "Where is the nearest train station?"
    for runtime in ("onnx", "torch", "auto"):
        assert main(["say", text, "--runtime", runtime, "--speed", "1.1",
                     "-o", str(tmp_path / f"{runtime}.wav")]) == 0
    assert capsys.readouterr().out.count("engine voxclone-onnx") == 2  # auto: the export is there
    assert (tmp_path / "auto.wav").read_bytes() == (tmp_path / "onnx.wav").read_bytes()
    onnx_wav, rate = sf.read(tmp_path / "onnx.wav", dtype="float32")
    torch_wav, _ = sf.read(tmp_path / "torch.wav", dtype="float32")
    assert rate == 22050 and onnx_wav.shape == torch_wav.shape  # the same durations
    snr = 10 * np.log10(np.sum(torch_wav.astype(np.float64) ** 2)
                        / np.sum((torch_wav - onnx_wav).astype(np.float64) ** 2))
    assert snr > 30, snr  # 16-bit files of the same speech (the graphs alone: 54-60 dB)
    config = ServerConfig(voices_dir=tmp_path / "voices", runtime="onnx")
    with TestClient(create_app(config), base_url="http://127.0.0.1") as client:
        response = client.post("/api/tts", json={"text": text, "voice": "lj", "speed": 0.9,
                                                 "pitch": 2})
        assert response.status_code == 200, response.text
        served, served_rate = sf.read(io.BytesIO(response.content), dtype="float32")
        assert served_rate == 22050 and len(served) > 1.0 * served_rate
        missing = client.post("/api/tts", json={"text": text, "voice": "kathleen-expressive"})
        assert missing.status_code >= 400 and "voxclone export --onnx" in missing.text


@pytest.mark.slow
def test_say_on_onnx_imports_no_torch(cached_export, tmp_path):
    code = ("import sys\n"
            "from tts.cli import main\n"
            f"assert main(['say', 'Hello there.', '--runtime', 'onnx', '-q', '-o', "
            f"{str(tmp_path / 'x.wav')!r}]) == 0\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=True, env=os.environ.copy())
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout
    assert (tmp_path / "x.wav").stat().st_size > 10_000


@pytest.mark.slow
def test_convert_runs_on_pytorch_when_say_would_pick_onnx(cached_export, tmp_path, capsys):
    """``auto`` picks the export for speaking; speech-to-speech needs the model's aligner,
    which only PyTorch has: the CLI and the Python API build the PyTorch engine for it."""
    from tts import Synthesizer
    from tts.convert import convert
    from tts.onnx.runtime import OnnxEngine

    text = "Turn left at the old mill."
    source = tmp_path / "source.wav"
    assert main(["say", text, "--voice", "lj", "-q", "-o", str(source)]) == 0
    out = tmp_path / "converted.wav"
    assert main(["convert", str(source), "--voice", "kathleen", "--transcript", text,
                 "-o", str(out)]) == 0
    assert "voice kathleen" in capsys.readouterr().out and out.stat().st_size > 10_000
    synthesizer = Synthesizer(voice="kathleen")
    assert isinstance(synthesizer.engine, OnnxEngine)
    result = synthesizer.convert(source, transcript=text)
    assert result.watermarked and result.duration > 1.0
    with pytest.raises(ConfigError, match="PyTorch runtime"):
        convert(synthesizer.engine, np.zeros(22050, np.float32), 22050, transcript=text)
