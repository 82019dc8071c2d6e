"""``export_onnx``: write an acoustic model and its vocoder as ONNX graphs, checked against torch.

``voxclone export --onnx`` calls it. The graphs (``tts.onnx.graphs``) are exported with
``torch.onnx.export(dynamo=True)`` at opset ``OPSET``, with dynamic token and frame counts;
the vocoder's program first gets ``EXPORT_DECOMPOSITIONS`` (cummax/cummin as a scan). Before
anything is moved into place, the export speaks ``CHECK_TEXT`` through the new folder
(``tts.onnx.runtime.OnnxEngine``) and through PyTorch (``NeuralEngine``), with the model's
first speaker, and refuses a result outside ``TOLERANCES``; the errors it measured are kept in
the manifest (``checked``). The folder is built beside the target and renamed into place, so a
failed export leaves nothing half-written and an old export stands until the new one is whole.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tts.config import to_dict
from tts.errors import CheckpointError, VoxcloneError
from tts.onnx.manifest import FORMAT, MANIFEST, TABLES, Export, default_export_dir, source_record

OPSET = 18
CHECK_TEXT = "Printing, in the only sense with which we are at present concerned, differs " \
             "from most if not from all the arts."
"""What the export speaks through both runtimes to check them against each other."""
TOLERANCES = {"mel_max_abs": 2e-3, "f0_max_abs_hz": 0.05, "audio_snr_db": 40.0}
"""Largest mel error (natural-log mel units; the mel spans about -11.5 to 2), largest F0 error
(Hz, voiced frames) and smallest SNR of the waveform (dB, the torch waveform as the signal, the
difference as the noise) an export may show against PyTorch on ``CHECK_TEXT``, with equal
durations (which must match exactly)."""


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter's progress lines, warnings and logging, kept off the user's terminal."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(None):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _export(graph: torch.nn.Module, args: tuple, path: Path, inputs: list[str],
            outputs: list[str], dynamic: tuple, decompose: bool = False) -> None:
    """One graph to ``path``: ``torch.onnx.export(dynamo=True)``; with ``decompose``, through
    ``torch.export`` and ``EXPORT_DECOMPOSITIONS`` first."""
    from tts.onnx.graphs import EXPORT_DECOMPOSITIONS

    graph = graph.eval()
    with _quiet_exporter(), torch.no_grad():
        program: Any = graph
        if decompose:
            program = torch.export.export(graph, args, dynamic_shapes=dynamic)
            program = program.run_decompositions(EXPORT_DECOMPOSITIONS)
        torch.onnx.export(program, args, str(path), dynamo=True, opset_version=OPSET,
                          input_names=inputs, output_names=outputs, external_data=False,
                          dynamic_shapes=None if decompose else dynamic, verbose=False)


def _tidy(path: Path, hop: int | None = None) -> None:
    """Drop the graph inputs no node reads (a model without speaker embeddings, style or pitch
    ignores those inputs) and, for the vocoder (``hop`` given), call its frame and sample
    dimensions ``frames`` and ``samples`` (a program exported beforehand keeps
    ``torch.export``'s own names)."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    read = {name for node in graph.node for name in node.input}
    read |= {output.name for output in graph.output}
    for value in [v for v in graph.input if v.name not in read]:
        graph.input.remove(value)
    if hop is not None:
        frames = graph.input[0].type.tensor_type.shape.dim[2].dim_param
        names = {frames: "frames", f"{hop}*{frames}": "samples"}
        for value in (*graph.input, *graph.output, *graph.value_info):
            for dim in value.type.tensor_type.shape.dim:
                if dim.dim_param in names:
                    dim.dim_param = names[dim.dim_param]
    onnx.save(model, str(path))


def _export_acoustic(engine: Any, ids: list[int], folder: Path) -> None:
    """``encoder.onnx`` and ``decoder.onnx`` of ``engine``'s acoustic model, traced on ``ids``
    in ``engine``'s voice."""
    from tts.onnx.graphs import MAX_FRAMES, DecoderGraph, EncoderGraph

    model = engine.acoustic.model
    tokens = torch.export.Dim("tokens", min=1, max=4096)
    frames = torch.export.Dim("frames", min=3, max=MAX_FRAMES)
    encoder = EncoderGraph(model)
    style = (engine.style_weights if engine.style_weights is not None
             else model.mean_style_weights[None] if model.config.use_style else torch.zeros(1))
    embedding = engine.speaker_embedding
    if embedding is None and model.speaker_projection is not None:
        embedding = model.speaker_means[[max(engine.speaker, 0)]]
    args = (torch.tensor([ids]), torch.tensor([engine.speaker]),
            embedding if embedding is not None else torch.zeros(1),
            style, torch.tensor(engine.duration_scale), torch.tensor(engine.pitch_shift))
    pitch = model.config.pitch
    outputs = ["memory", "durations"] + (["pitch"] if pitch else [])
    _export(encoder, args, folder / "encoder.onnx",
            ["tokens", "speaker", "speaker_embedding", "style_weights", "duration_scale",
             "pitch_shift"], outputs, ({1: tokens}, None, None, None, None, None))
    _tidy(folder / "encoder.onnx")
    with torch.no_grad():
        encoded = encoder.eval()(*args)
    count = int(encoded[1].sum())
    decoder_args = (encoded[0], encoded[1], torch.ones(1, count)) + (encoded[2:] if pitch else ())
    padded = torch.export.Dim("tokens", min=1, max=4098)
    _export(DecoderGraph(model), decoder_args, folder / "decoder.onnx",
            ["memory", "durations", "frame_mask"] + (["pitch"] if pitch else []),
            ["mel", "alignment"] + (["f0"] if pitch else []),
            ({1: padded}, {1: padded}, {1: frames}) + (({1: padded},) if pitch else ()))


def _export_vocoder(engine: Any, folder: Path, frames: int) -> None:
    """``vocoder.onnx``, traced on ``frames`` frames of a silent mel."""
    from tts.onnx.graphs import MAX_FRAMES, vocoder_graph
    from tts.vocoder import needs_f0

    graph = vocoder_graph(engine.vocoder)
    hop = engine.audio.hop_length
    mel = torch.full((1, engine.audio.n_mels, frames), -5.0)
    dim = torch.export.Dim("frames", min=3, max=MAX_FRAMES)
    if needs_f0(engine.vocoder):
        f0 = torch.full((1, frames), 150.0)
        _export(graph, (mel, f0, torch.zeros(1, frames * hop)), folder / "vocoder.onnx",
                ["mel", "f0", "noise"], ["wav"], ({2: dim}, {1: dim}, {1: hop * dim}),
                decompose=True)
    else:
        _export(graph, (mel,), folder / "vocoder.onnx", ["mel"], ["wav"], ({2: dim},))
    _tidy(folder / "vocoder.onnx", hop)


def _check_supported(engine: Any) -> None:
    """``ConfigError`` for a model or vocoder the graphs do not cover, before any export."""
    from tts.onnx.graphs import EncoderGraph, vocoder_graph

    EncoderGraph(engine.acoustic.model)
    vocoder_graph(engine.vocoder)


def _tables(engine: Any) -> dict[str, np.ndarray]:
    """``tables.npz``'s arrays (see ``tts.onnx.manifest``)."""
    acoustic = engine.acoustic
    model = acoustic.model
    tables = {}
    if model.config.use_style:
        tables["mean_style_weights"] = model.mean_style_weights.numpy().astype(np.float32)
    if hasattr(model, "speaker_means"):
        tables["speaker_means"] = model.speaker_means.numpy().astype(np.float32)
    if acoustic.emotions:
        tables["emotion_weights"] = np.stack([acoustic.emotions[name].numpy() for name in
                                              sorted(acoustic.emotions)]).astype(np.float32)
    return tables


def _manifest(engine: Any, acoustic: Path, vocoder: Path) -> dict[str, Any]:
    import onnx
    import onnxscript

    from tts.vocoder import needs_f0

    model = engine.acoustic.model
    config = model.config
    return {
        "format": FORMAT, "opset": OPSET,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "exporter": {"torch": torch.__version__, "onnx": onnx.__version__,
                     "onnxscript": onnxscript.__version__},
        "acoustic": source_record(acoustic),
        "vocoder": {**source_record(vocoder), "type": type(engine.vocoder).__name__,
                    "needs_f0": needs_f0(engine.vocoder)},
        "audio": to_dict(engine.audio),
        "symbols": engine.acoustic.symbols.to_dict(),
        "speakers": list(engine.acoustic.speakers),
        "emotions": sorted(engine.acoustic.emotions),
        "model": {"boundary_tokens": config.boundary_tokens, "pitch": config.pitch,
                  "use_style": config.use_style,
                  "speaker_embedding_dim": config.speaker_embedding_dim},
    }


def compare(engine: Any, onnx_engine: Any, text: str = CHECK_TEXT) -> dict[str, Any]:
    """Speak normalized ``text`` through ``engine`` (``NeuralEngine``) and ``onnx_engine``
    (``OnnxEngine``, same voice): ``durations_equal``, ``mel_max_abs``, ``f0_max_abs_hz``
    (``None`` without pitch), ``audio_snr_db`` and ``audio_max_abs``. When the durations
    differ, the other errors are not measured (``None``): the frames do not line up."""
    ids = engine.tokens(text)
    ours, theirs = engine.mel_from_tokens(ids), onnx_engine.mel_from_tokens(ids)
    report: dict[str, Any] = {"text": text, "frames": int(ours.mel.shape[-1]),
                              "durations_equal": bool(np.array_equal(
                                  ours.durations.numpy(), theirs.durations))}
    if not report["durations_equal"]:
        return {**report, "mel_max_abs": None, "f0_max_abs_hz": None, "audio_snr_db": None,
                "audio_max_abs": None}
    report["mel_max_abs"] = float(np.abs(ours.mel.numpy() - theirs.mel).max())
    report["f0_max_abs_hz"] = (None if ours.f0 is None else
                               float(np.abs(ours.f0.numpy() - theirs.f0).max()))
    wav = engine.vocode(ours.mel, ours.f0)
    other = onnx_engine.vocode(theirs.mel, theirs.f0)
    noise = float(np.sum((wav.astype(np.float64) - other) ** 2))
    report["audio_snr_db"] = float(10 * np.log10(np.sum(wav.astype(np.float64) ** 2)
                                                 / max(noise, 1e-30)))
    report["audio_max_abs"] = float(np.abs(wav - other).max())
    return report


def within_tolerance(report: dict[str, Any]) -> str | None:
    """None when ``compare``'s ``report`` is within ``TOLERANCES``, else what is not."""
    if not report["durations_equal"]:
        return "the predicted durations differ"
    if report["mel_max_abs"] > TOLERANCES["mel_max_abs"]:
        return f"mel error {report['mel_max_abs']:.2g} > {TOLERANCES['mel_max_abs']:g}"
    if report["f0_max_abs_hz"] is not None and \
            report["f0_max_abs_hz"] > TOLERANCES["f0_max_abs_hz"]:
        return f"F0 error {report['f0_max_abs_hz']:.2g} Hz > {TOLERANCES['f0_max_abs_hz']:g}"
    if report["audio_snr_db"] < TOLERANCES["audio_snr_db"]:
        return f"audio SNR {report['audio_snr_db']:.1f} dB < {TOLERANCES['audio_snr_db']:g}"
    return None


def export_onnx(acoustic: str | Path, vocoder: str | Path | None = None,
                folder: str | Path | None = None,
                on_start: Callable[[Path, Path], None] | None = None) -> Export:
    """Export the acoustic checkpoint ``acoustic`` and ``vocoder`` (default: the one
    ``tts.neural_engine.default_vocoder`` pairs with it) into ``folder`` (default
    ``default_export_dir(acoustic)``), replacing what is there; returns the written export.
    ``on_start(acoustic, vocoder)`` is called once both are loaded and found exportable
    (before the slow part). ``ConfigError``/``CheckpointError`` for models it cannot export,
    ``VoxcloneError`` when the result is not within ``TOLERANCES`` of PyTorch."""
    from tts.acoustic import load_acoustic
    from tts.neural_engine import NeuralEngine, default_vocoder
    from tts.onnx.runtime import OnnxEngine
    from tts.text import normalize
    from tts.vocoder import load_vocoder

    acoustic = Path(acoustic).expanduser()
    if not acoustic.is_file():
        raise CheckpointError(f"acoustic checkpoint not found: {acoustic}")
    model = load_acoustic(acoustic)
    vocoder = Path(vocoder).expanduser() if vocoder is not None else default_vocoder(model)
    if not vocoder.is_file():
        raise CheckpointError(f"vocoder checkpoint not found: {vocoder}")
    engine = NeuralEngine(model, *load_vocoder(vocoder))
    _check_supported(engine)
    folder = default_export_dir(acoustic) if folder is None else Path(folder).expanduser()
    if folder.exists() and not (folder / MANIFEST).is_file() and any(folder.iterdir()):
        raise VoxcloneError(f"{folder} is a folder that holds no ONNX export: give an empty or "
                            "new folder")
    if on_start is not None:
        on_start(acoustic, vocoder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        ids = engine.tokens(normalize(CHECK_TEXT))
        _export_acoustic(engine, ids, work)
        _export_vocoder(engine, work, frames=64)
        np.savez(work / TABLES, **_tables(engine))
        manifest = _manifest(engine, acoustic, vocoder)
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        report = compare(engine, OnnxEngine(Export(work, manifest)), normalize(CHECK_TEXT))
        problem = within_tolerance(report)
        if problem:
            raise VoxcloneError(f"the ONNX graphs of {acoustic.name} do not match PyTorch "
                                f"({problem}); nothing was written")
        manifest["checked"] = {**report, "tolerances": TOLERANCES}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Export(folder, manifest)


def _replace(work: Path, folder: Path) -> None:
    """Move the finished ``work`` folder to ``folder``, the old export out of the way first."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    work.rename(folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
