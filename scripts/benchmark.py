"""Speed and memory benchmarks: ``python scripts/benchmark.py SUBCOMMAND ...``.

``vocoder``: every vocoder on the same 10 s of mel, in one run: HiFi-GAN V1/V2/V3, iSTFT
small/base, Griffin-Lim and the pitch-driven source-filter vocoder (given a synthetic F0 track);
freshly initialised: their speed does not depend on the weights; ``--checkpoint NAME=PATH``
measures a trained one instead, or adds a row under a new NAME.
Reported per vocoder: parameter count; speed as a real-time factor (seconds of audio per second
of compute, median of ``--repeats`` calls after a warm-up) and its ratio to HiFi-GAN V1 measured
in the same run; the first-chunk latency when streaming (``tts.vocoder.vocode_stream`` with
32-frame chunks and the context that makes the model exact; for the source-filter vocoder it
includes making the whole utterance's excitation); peak memory. Each vocoder is
measured in a fresh process of this script (``--one NAME``, which prints JSON), so that its peak
resident memory (``getrusage``) is its own: "+MiB" is the peak minus the resident memory after
imports and a tiny warm-up of the library code it runs (so: weights plus activations), "total"
the whole process's peak::

    python scripts/benchmark.py vocoder --data prepared/kathleen-arctic --out bench.md

The mel is cut from the real clips of ``--data`` when given (its cached mels, concatenated),
else a fixed-seed synthetic speech-like mel (``tts.metrics.speech_like_mel``). Speed figures
are only comparable within one run on an otherwise idle machine.

``acoustic``: text-to-mel speed of the acoustic model's decoders (``cmd_acoustic``).
``watermark``: robustness of the watermark (``cmd_watermark``).
``say``: end-to-end speed, first-audio latency, memory and cold start of ``voxclone say``, next
to Piper run from a separate venv (in ``benchmark_say.py`` beside this file)::

    python scripts/benchmark.py say --sentences short long --threads 1 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import benchmark_say
import benchmark_serve
from _common import markdown_table, print_table, run, subcommands
from _common import note as _note

PROG = "benchmark.py"
ROOT = Path(__file__).resolve().parent.parent

VOCODERS = {"hifigan-v1": ("hifigan", "v1"), "hifigan-v2": ("hifigan", "v2"),
            "hifigan-v3": ("hifigan", "v3"), "istft-small": ("istft", "small"),
            "istft-base": ("istft", "base"), "griffinlim": ("griffinlim", ""),
            "sourcefilter-small": ("sourcefilter", "small")}
"""Benchmark names -> ``(kind, preset)`` for ``tts.vocoder.vocoder_model_config``."""

QUICK = ("hifigan-v2", "istft-small", "griffinlim", "sourcefilter-small")
BASELINE = "hifigan-v1"


# --- one vocoder, in its own process ------------------------------------------------------

def _measure_one(args: argparse.Namespace) -> dict:
    """Build (or load) vocoder ``args.one``, time it on the mel in ``args.input`` and return
    the figures. Run in a fresh process, so that the memory figures are its own."""
    import numpy as np
    import torch

    from tts import metrics
    from tts.config import AudioConfig, from_dict
    from tts.errors import ConfigError
    from tts.vocoder import (
        build_vocoder,
        context_frames,
        load_vocoder,
        needs_f0,
        vocode,
        vocoder_model_config,
    )

    folder = Path(args.input)
    audio = from_dict(AudioConfig, json.loads((folder / "audio.json").read_text()))
    mel = torch.from_numpy(np.load(folder / "mel.npy")).unsqueeze(0)
    torch.set_num_threads(args.threads)
    checkpoints = _checkpoints(args.checkpoint)
    name = args.one
    _warm_up(audio, VOCODERS[name][0] if name in VOCODERS else None)
    base_mib = metrics.current_rss_mib()

    if name in checkpoints:
        model, model_audio = load_vocoder(checkpoints[name])
        if model_audio != audio:
            raise ConfigError(f"{checkpoints[name]}: the vocoder's audio config ({model_audio}) "
                              f"differs from the benchmark's ({audio})")
    elif name in VOCODERS:
        model = build_vocoder(vocoder_model_config(*VOCODERS[name]), audio).eval()
        if hasattr(model, "remove_weight_norm"):
            model.remove_weight_norm()  # as load_vocoder does for inference
    else:
        raise ConfigError(f"unknown vocoder {name!r}; known: {', '.join(VOCODERS)}, or give "
                          f"--checkpoint {name}=PATH")
    context = context_frames(model)
    seconds = mel.shape[-1] * audio.hop_length / audio.sample_rate
    f0 = _bench_f0(mel.shape[-1]) if needs_f0(model) else None
    with torch.inference_mode():
        compute = metrics.median_seconds(lambda: vocode(model, mel, f0), args.repeats,
                                         args.warmup)
        latencies = [metrics.first_chunk_seconds(model, mel, audio.hop_length, f0,
                                                 args.chunk_frames)
                     for _ in range(args.repeats + 1)][1:]  # the first call warms up
    peak_mib = metrics.peak_rss_mib()
    return {"name": name, "checkpoint": checkpoints.get(name),
            "params": sum(p.numel() for p in model.parameters()),
            "audio_seconds": seconds, "compute_seconds": compute,
            "rtf": metrics.real_time_factor(seconds, compute),
            "first_chunk_seconds": statistics.median(latencies), "chunk_frames": args.chunk_frames,
            "context_frames": context, "memory_mib": max(0.0, peak_mib - base_mib),
            "memory_total_mib": peak_mib, "threads": args.threads, "repeats": args.repeats}


def _bench_f0(frames: int):
    """``(1, frames)`` F0 for pitch-driven vocoders: a 120-220 Hz glide, unvoiced one frame in
    five (a pitch track's shape; the speed does not depend on its values)."""
    import torch

    t = torch.arange(frames, dtype=torch.float32)
    f0 = 170.0 + 50.0 * torch.sin(2 * math.pi * t / 200.0)
    return torch.where(t % 5 == 4, torch.zeros_like(f0), f0).unsqueeze(0)


_MODULES = {"sourcefilter": "tts.models.source_filter", "hifigan": "tts.models.hifigan",
            "istft": "tts.models.istft_vocoder", "griffinlim": "tts.models.griffinlim"}


def _warm_up(audio, kind: str | None) -> None:
    """Import and run once the library code that a vocoder of ``kind`` (``None``: unknown, so
    every kind) uses, before the memory baseline, so that "+MiB" is the vocoder's own (weights,
    activations): its module, torch's first convolutions and STFTs, and for Griffin-Lim
    librosa's lazily imported, JIT-compiled code (about 190 MiB and 3 s, once)."""
    import importlib

    import torch
    from torch.nn import functional as F

    for module in ([_MODULES[kind]] if kind else _MODULES.values()):
        importlib.import_module(module)
    with torch.inference_mode():
        x = torch.randn(1, 8, 16)
        F.conv1d(x, torch.randn(8, 8, 3), padding=1)
        F.conv_transpose1d(x, torch.randn(8, 8, 4), stride=2)
        window = torch.hann_window(256)
        spec = torch.stft(torch.randn(1024), 256, window=window, return_complex=True)
        torch.istft(spec, 256, window=window)
        if kind in (None, "griffinlim"):
            from tts.models.griffinlim import GriffinLim

            GriffinLim(audio, n_iter=1)(torch.full((1, audio.n_mels, 4), -5.0))


def _run_child(name: str, folder: Path, args: argparse.Namespace) -> dict:
    """``_measure_one`` for ``name`` in a fresh ``python benchmark.py vocoder --one NAME``."""
    from tts.errors import VoxcloneError

    command = [sys.executable, str(Path(__file__).resolve()), "vocoder", "--one", name,
               "--input", str(folder), "--threads", str(args.threads), "--repeats",
               str(args.repeats), "--warmup", str(args.warmup), "--chunk-frames",
               str(args.chunk_frames)]
    for item in args.checkpoint:
        command += ["--checkpoint", item]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(args.threads)  # NumPy/librosa (Griffin-Lim) get the same cores as torch
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise VoxcloneError(f"{name}: {reason.removeprefix(f'{PROG}: error: ')}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the whole comparison -----------------------------------------------------------------

def _checkpoints(items: Sequence[str]) -> dict[str, str]:
    from tts.errors import ConfigError

    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"--checkpoint expects NAME=PATH, got {item!r}")
        out[name] = path
    return out


def _bench_mel(args: argparse.Namespace):
    """``(audio_config, mel (n_mels, frames) float32 array, source description)``."""
    import numpy as np

    from tts.audio import load_audio, mel_spectrogram
    from tts.config import AudioConfig, from_dict
    from tts.errors import DataError
    from tts.metrics import speech_like_mel

    if args.data is None:
        audio = AudioConfig()
        frames = args.frames or math.ceil(args.seconds * audio.frames_per_second)
        return audio, speech_like_mel(frames, audio).numpy(), "synthetic speech-like mel (seed 0)"
    from data.dataset import read_prepare_info
    from data.manifest import read_manifest

    data = Path(args.data)
    audio = from_dict(AudioConfig, read_prepare_info(data)["audio"], where="prepare.json audio")
    frames = args.frames or math.ceil(args.seconds * audio.frames_per_second)
    mels, total = [], 0
    for utt in read_manifest(data / "manifest.jsonl"):
        if utt.mel_path and Path(utt.mel_path).is_file():
            mel = np.load(utt.mel_path).astype(np.float32)
        else:
            mel = mel_spectrogram(load_audio(utt.audio_path, audio.sample_rate, trim=False,
                                             normalize=False), audio)
        mels.append(mel)
        total += mel.shape[-1]
        if total >= frames:
            break
    if total < frames:
        raise DataError(f"{data}: only {total} mel frames in the corpus, need {frames}")
    return audio, np.concatenate(mels, axis=1)[:, :frames], f"{len(mels)} clips of {data}"


def _table(report: dict) -> str:
    baseline = report["baseline"]
    header = ["vocoder", "params (M)", "RTF (x real time)", f"vs {baseline}",
              "first chunk (ms)", "context (frames)", "peak +MiB", "peak total MiB"]
    intro = (f"{report['audio_seconds']:.2f} s of audio ({report['frames']} frames, "
             f"{report['source']}); {report['threads']} thread(s); median of "
             f"{report['repeats']} after {report['warmup']} warm-up; first chunk of "
             f"{report['chunk_frames']} frames; {report['machine']}")
    rows = []
    for row in report["results"]:
        ratio = row.get("vs_baseline")
        rows.append([
            row["name"] + (" (trained)" if row.get("checkpoint") else ""),
            f"{row['params'] / 1e6:.2f}", f"{row['rtf']:.1f}",
            "–" if ratio is None else f"{ratio:.2f}x", f"{row['first_chunk_seconds'] * 1e3:.0f}",
            str(row["context_frames"]), f"{row['memory_mib']:.0f}",
            f"{row['memory_total_mib']:.0f}"])
    return intro + "\n\n" + markdown_table(header, rows)


def cmd_vocoder(args: argparse.Namespace) -> int:
    import numpy as np

    from tts.config import to_dict
    from tts.errors import CheckpointError, ConfigError

    if args.one:
        print(json.dumps(_measure_one(args)))
        return 0
    if args.quick:
        args.frames = args.frames or 64
        args.repeats = 1
    if args.repeats < 1 or args.warmup < 0 or args.threads < 1 or args.chunk_frames < 1:
        raise ConfigError("need --repeats >= 1, --warmup >= 0, --threads >= 1, "
                          "--chunk-frames >= 1")
    checkpoints = _checkpoints(args.checkpoint)
    for path in checkpoints.values():
        if not Path(path).is_file():
            raise CheckpointError(f"checkpoint not found: {path}")
    names = list(args.vocoders or (QUICK if args.quick else VOCODERS))
    names += [name for name in checkpoints if name not in names]
    audio, mel, source = _bench_mel(args)
    results = []
    with tempfile.TemporaryDirectory(prefix="voxclone-bench-") as tmp:
        np.save(Path(tmp) / "mel.npy", np.ascontiguousarray(mel, dtype=np.float32))
        (Path(tmp) / "audio.json").write_text(json.dumps(to_dict(audio)))
        for name in names:
            _note(f"measuring {name} ...")
            results.append(_run_child(name, Path(tmp), args))
    baseline = BASELINE if BASELINE in names else names[0]
    reference = next(r["rtf"] for r in results if r["name"] == baseline)
    for row in results:
        row["vs_baseline"] = row["rtf"] / reference
    report = {"frames": int(mel.shape[-1]), "audio_seconds": results[0]["audio_seconds"],
              "source": source, "threads": args.threads, "repeats": args.repeats,
              "warmup": args.warmup, "chunk_frames": args.chunk_frames, "baseline": baseline,
              "machine": f"{platform.machine()}, {os.cpu_count()} CPU(s)", "results": results}
    print_table(_table(report), args.out, report, args.json)
    return 0


# --- watermark ------------------------------------------------------------------------------

_AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3")


def _marked_sentences(shared: Path, count: int) -> list[str]:
    """Up to ``count`` sentences of 60-160 characters for the marked clips, from
    ``shared/text/ljspeech-transcripts.txt``; without that file (or any such sentence in it),
    one built-in sentence, and a warning that the run then has one synthesizer clip and no
    espeak-ng clips."""
    text = shared / "text" / "ljspeech-transcripts.txt"
    lines = [line.split("|", 1)[-1] for line in text.read_text(encoding="utf-8").splitlines()
             if "|" in line] if text.is_file() else []
    lines = [t for t in lines if 60 <= len(t) <= 160][:count]
    if not lines:
        _note(f"warning: no sentences of 60-160 characters in {text}: the marked clips are one "
              f"sentence of the default voice and no espeak-ng speech, so the figures are not "
              f"comparable with a full run")
        return ["The watermark should survive what audio goes through in the wild."]
    return lines


def _marked_speech(args: argparse.Namespace, payload: int):
    """``[(source, clean, marked, rate)]``, ``--clips`` of each source: the synthesizer's
    default voice, espeak-ng, and real clips resynthesized by the bundled vocoder, each with
    and without the mark."""
    import numpy as np

    from tts.audio import load_audio, resample
    from tts.synthesizer import EspeakEngine, Synthesizer
    from tts.vocoder import load_vocoder, resynthesize
    from tts.watermark import embed

    out = []
    lines = _marked_sentences(Path(args.shared), 2 * args.clips)
    synth = Synthesizer(watermark=False)
    rate = synth.audio.sample_rate
    for t in lines[: args.clips]:
        clean = synth.synthesize(t).wav
        out.append(("synthesizer", clean, embed(clean, rate, payload, args.key), rate))
    espeak = EspeakEngine()
    for t in lines[args.clips: 2 * args.clips]:
        wav, sr = espeak.speak(t)
        clean = resample(wav, sr, rate)
        out.append(("espeak-ng", clean, embed(clean, rate, payload, args.key), rate))
    vocoder, audio = load_vocoder(args.vocoder)
    wavs = sorted(Path(args.data).glob("wavs/*.wav"))
    for path in wavs[:: max(1, len(wavs) // max(1, args.clips))][: args.clips]:
        wav = resynthesize(load_audio(path, audio.sample_rate), vocoder, audio)
        clean = np.asarray(wav.detach().cpu().numpy() if hasattr(wav, "detach") else wav,
                           dtype=np.float32).reshape(-1)
        out.append(("vocoder", clean, embed(clean, audio.sample_rate, payload, args.key),
                    audio.sample_rate))
    return out


def _unmarked_files(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """``[(corpus, path)]``: the speech files of ``--shared``, taken in turn over its corpora,
    each corpus shuffled by ``--seed``."""
    import numpy as np

    from tts.errors import DataError

    if not Path(args.shared).is_dir():
        raise DataError(f"{args.shared}: no such folder (--shared: the speech corpora to count "
                        f"false positives on)")
    rng = np.random.default_rng(args.seed)
    corpora = sorted(p for p in Path(args.shared).iterdir() if p.is_dir() and p.name != "text")
    files = [sorted(f for f in c.rglob("*") if f.suffix.lower() in _AUDIO_SUFFIXES)
             for c in corpora]
    for group in files:
        rng.shuffle(group)
    return [(c.name, group[k]) for k in range(max(map(len, files), default=0))
            for c, group in zip(corpora, files, strict=True) if k < len(group)]


def _long_false_positives(args: argparse.Namespace) -> dict:
    """Scores of ``--fp-long`` unmarked files of ``--fp-long-minutes`` each: real speech files
    of ``--shared`` (in ``_unmarked_files`` order, from the end) joined at 16 kHz. Long files
    are where the detector's windows add up: each 30 s window is one more chance."""
    import numpy as np

    from tts.audio import read_audio, resample, to_mono
    from tts.errors import AudioError, DataError
    from tts.watermark import THRESHOLD, detect

    rate = 16000
    files = iter(reversed(_unmarked_files(args)))
    scores, positives = [], 0
    for _ in range(args.fp_long):
        parts, total = [], 0
        while total < args.fp_long_minutes * 60 * rate:
            path = next(files, (None, None))[1]
            if path is None:
                raise DataError(f"{args.shared} holds too little speech for {args.fp_long} "
                                f"files of {args.fp_long_minutes:g} minutes")
            try:
                data, sr = read_audio(path)
            except AudioError:
                continue
            parts.append(resample(to_mono(data), sr, rate))
            total += len(parts[-1])
        found = detect(np.concatenate(parts)[: int(args.fp_long_minutes * 60 * rate)], rate,
                       key=args.key)
        scores.append(float(found.score))
        positives += found.present
        _note(f"long unmarked file {len(scores)}: score {found.score:.2f}, threshold "
              f"{found.threshold:.2f}")
    return {"long_files": len(scores), "long_minutes": args.fp_long_minutes,
            "long_threshold": float(found.threshold), "long_false_positives": positives,
            "long_at_base_threshold": int(np.sum(np.array(scores) >= THRESHOLD)),
            "long_score_mean": float(np.mean(scores)), "long_score_max": float(np.max(scores))}


def _unmarked_excerpts(args: argparse.Namespace, start: int, stop: int):
    """Items ``start`` to ``stop`` of the false-positive set: real speech files of ``--shared``,
    taken in turn over its corpora (each corpus shuffled), half of those longer than 4 s cut to a
    random 2 to 4 s crop. Item ``i`` does not depend on the range asked for, so a long run can be
    split into short ones. ``[(index, name, wav, rate)]``; unreadable files are skipped."""
    import numpy as np

    from tts.audio import read_audio, to_mono
    from tts.errors import AudioError

    order = _unmarked_files(args)
    out = []
    for index in range(start, min(stop, len(order))):
        corpus, path = order[index]
        try:
            data, rate = read_audio(path)
        except AudioError:
            continue
        wav = to_mono(data)
        pick = np.random.default_rng([args.seed, index])
        if pick.random() < 0.5 and len(wav) > 4 * rate:
            n = int(pick.uniform(2.0, 4.0) * rate)
            first = int(pick.integers(0, len(wav) - n))
            wav = wav[first:first + n]
        out.append((index, f"{corpus}/{path.name}", wav, rate))
    return out


def _false_positives(args: argparse.Namespace) -> dict:
    """Scores of unmarked real speech (``--fp-range``); with ``--fp-scores FILE`` they are
    appended to FILE and the figures cover every score in it."""
    import numpy as np

    from tts.watermark import THRESHOLD, applied_threshold, detect

    start, _, stop = args.fp_range.partition(":")
    items = _unmarked_excerpts(args, int(start or 0), int(stop or args.fp_clips))
    rows = []
    for i, name, w, r in items:
        found = detect(w, r, key=args.key)
        rows.append({"index": i, "name": name, "seconds": round(len(w) / r, 2),
                     "score": round(float(found.score), 4),
                     "threshold": round(float(found.threshold), 4)})
    if args.fp_scores:
        with open(args.fp_scores, "a", encoding="utf-8") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
        lines = Path(args.fp_scores).read_text(encoding="utf-8").splitlines()
        rows = list({row["index"]: row for row in map(json.loads, lines)}.values())
    scores = np.array([row["score"] for row in rows])
    if not len(scores):
        return {"unmarked_clips": 0}
    # rows appended by older runs carry no threshold: the one detect applies at that length
    needed = np.array([row.get("threshold") or applied_threshold(THRESHOLD, row["seconds"])
                       for row in rows])
    return {"unmarked_clips": len(scores), "false_positives": int(np.sum(scores >= needed)),
            "least_margin": float(np.min(needed - scores)),
            "unmarked_score_mean": float(scores.mean()),
            "unmarked_score_max": float(scores.max()),
            "unmarked_score_p99_9": float(np.percentile(scores, 99.9)),
            "unmarked_at_least_5": int(np.sum(scores >= 5.0))}


CONCAT = "concat with unmarked"
"""The benchmark's own attack, beside ``tts.watermark.attacks.standard_attacks``: a marked clip
inserted into unmarked speech of the same set."""


def _attack_rows(speech: list, payload: int, rng, names: list[str] | None,
                 key: str) -> list[dict]:
    """Per attack of ``tts.watermark.attacks`` (plus ``CONCAT``; only ``names`` when given,
    checked by ``_attack_names``; all when None), the clips searched for the mark of ``key``:
    the detection rate (overall and per source), the weakest and median score, and the shares of
    clips whose payload was read right, read wrong, or withheld as unreadable (detected, but
    the decoded codeword too close to the runner-up); ``detect_ms_per_s``: CPU time of
    ``detect`` per second of audio."""
    import time

    import numpy as np

    from tts.watermark import attacks as A
    from tts.watermark import detect

    attacks = A.standard_attacks()
    pool = [c for _, c, _, _ in speech]
    attacks[CONCAT] = lambda w, sr, g: (A.splice(
        w, pool[int(g.integers(len(pool)))][: 3 * sr], sr, g)[0], sr)
    if names:
        attacks = {name: attacks[name] for name in names}
    rows = []
    for name, attack in attacks.items():
        hits, right, wrong, by_source, scores, cpu, seconds = 0, 0, 0, {}, [], 0.0, 0.0
        for source, _, marked, rate in speech:
            wav, r = attack(marked, rate, rng)
            start = time.process_time()
            found = detect(wav, r, key=key)
            cpu += time.process_time() - start
            seconds += len(wav) / r
            scores.append(found.score)
            hits += found.present
            by_source.setdefault(source, []).append(found.present)
            right += found.present and found.payload == payload
            wrong += found.present and found.payload not in (None, payload)
        n = len(speech)
        rows.append({"attack": name, "detected": hits / n,
                     "detected_by_source": {k: float(np.mean(v)) for k, v in by_source.items()},
                     "score_min": float(np.min(scores)), "score_median": float(np.median(scores)),
                     "payload_right": right / n, "payload_wrong": wrong / n,
                     "payload_withheld": (hits - right - wrong) / n,
                     "detect_ms_per_s": 1000 * cpu / max(seconds, 1e-9)})
        _note(f"{name}: {rows[-1]}")
    return rows


def _attack_names(names: str) -> list[str]:
    """The attacks named in comma-separated ``names``, each one of the benchmark's (checked
    before any speech is made)."""
    from tts.errors import VoxcloneError
    from tts.watermark.attacks import standard_attacks

    known = [*standard_attacks(), CONCAT]
    asked = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in asked if name not in known]
    if unknown or not asked:
        raise VoxcloneError(f"--attacks: unknown attack {', '.join(map(repr, unknown)) or '(none)'}"
                            f"; known: {', '.join(known)}")
    return asked


def cmd_watermark(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from tts.metrics import pesq_wb
    from tts.watermark import DEFAULT_KEY, THRESHOLD

    torch.set_num_threads(1)
    args.key = args.key or DEFAULT_KEY
    rng = np.random.default_rng(args.seed)
    payload = 0xB5A3
    report: dict = {"threshold": THRESHOLD, "key": args.key, "clips": 0, "attacks": []}
    names = _attack_names(args.attacks) if args.attacks else None
    if args.clips > 0:
        speech = _marked_speech(args, payload)
        _note(f"{len(speech)} marked clips")
        snr = [10 * np.log10(np.sum(c.astype(np.float64) ** 2) /
                             np.sum((m - c).astype(np.float64) ** 2)) for _, c, m, _ in speech]
        pesq = [pesq_wb(c, m, r) for _, c, m, r in speech]
        report.update({"clips": len(speech), "snr_db_mean": float(np.mean(snr)),
                       "snr_db_min": float(np.min(snr)), "pesq_mean": float(np.nanmean(pesq)),
                       "pesq_min": float(np.nanmin(pesq)),
                       "attacks": _attack_rows(speech, payload, rng, names, args.key)})
    if args.fp_clips > 0:
        report.update(_false_positives(args))
    if args.fp_long > 0:
        report.update(_long_false_positives(args))
    lines = []
    if report["clips"]:
        lines.append(f"{report['clips']} marked clips ({args.clips} each of the synthesizer's "
                     f"default voice, espeak-ng and real clips through the bundled vocoder); mark "
                     f"SNR {report['snr_db_mean']:.1f} dB (min {report['snr_db_min']:.1f}), "
                     f"PESQ-WB {report['pesq_mean']:.2f} (min {report['pesq_min']:.2f})"
                     + ("" if args.key == DEFAULT_KEY else f"; key {args.key!r}"))
    if report.get("unmarked_clips"):
        lines.append(f"false positives {report['false_positives']} / {report['unmarked_clips']} "
                     f"real clips and crops (max score {report['unmarked_score_max']:.2f}; "
                     f"closest to its length's threshold: {report['least_margin']:.2f} below)")
    if report.get("long_files"):
        lines.append(f"false positives {report['long_false_positives']} / {report['long_files']} "
                     f"unmarked {report['long_minutes']:g}-minute files of joined real speech "
                     f"(threshold there {report['long_threshold']:.2f}; scores mean "
                     f"{report['long_score_mean']:.2f}, max {report['long_score_max']:.2f}; "
                     f"{report['long_at_base_threshold']} at {THRESHOLD} or more)")
    if report["attacks"]:
        sources = list(report["attacks"][0]["detected_by_source"])
        speed = np.median([row["detect_ms_per_s"] for row in report["attacks"]])
        lines.append(f"detection: {speed:.0f} ms of CPU per second of audio (median over attacks)")
        lines += ["", markdown_table(
            ["attack", "detected", *sources, "weakest score", "median score", "payload right",
             "withheld", "wrong"],
            [[row["attack"], f"{row['detected']:.2f}",
              *(f"{row['detected_by_source'][k]:.2f}" for k in sources),
              f"{row['score_min']:.1f}", f"{row['score_median']:.1f}",
              f"{row['payload_right']:.2f}", f"{row['payload_withheld']:.2f}",
              f"{row['payload_wrong']:.2f}"] for row in report["attacks"]])]
    print_table("\n".join(lines), args.out, report, args.json)
    return 0


def cmd_acoustic(args: argparse.Namespace) -> int:
    """Inference speed of acoustic-model decoders on the same text length, untrained (speed
    does not depend on the weights once the output length is fixed: the duration decoder is
    set to ``FRAMES_PER_TOKEN`` frames per token, the attention decoder's stop token is switched
    off and its cap set to the same length)."""
    import time

    import torch

    from tts.config import load_yaml
    from tts.models.tacotron import Tacotron
    from tts.training.acoustic_task import AcousticExperimentConfig

    torch.set_num_threads(args.threads)
    frames_per_token = 6.0
    rows = []
    for path in args.configs:
        config = load_yaml(AcousticExperimentConfig, path)
        model = Tacotron(config.model, 100, config.audio).eval()
        with torch.no_grad():
            if config.model.decoder == "duration":
                model.decoder.duration_predictor.output.bias.fill_(math.log1p(frames_per_token))
            else:
                model.decoder.stop.bias.fill_(-100.0)
                model.decoder.max_frames_per_token = frames_per_token
        tokens = torch.randint(4, 100, (1, args.tokens), generator=torch.Generator().manual_seed(0))
        lengths = torch.tensor([args.tokens])
        model.infer(tokens, lengths)
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            out = model.infer(tokens, lengths)
            times.append(time.perf_counter() - started)
        seconds = int(out["mel_lengths"][0]) * config.audio.hop_length / config.audio.sample_rate
        rows.append((Path(path).name, config.model.decoder, seconds, statistics.median(times)))
    slowest = max(r[3] / r[2] for r in rows)
    print(markdown_table(
        ["config", "decoder", "audio s", "median s", "x real time", "speed-up"],
        [[n, d, f"{a:.2f}", f"{t:.3f}", f"{a / t:.0f}", f"{slowest / (t / a):.1f}x"]
         for n, d, a, t in rows], "llrrrr"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from tts.bundled import DEFAULT_VOCODER

    parser, sub = subcommands(PROG, "Speed and memory benchmarks of voxclone components.")
    voc = sub.add_parser(
        "vocoder", help="speed, latency and memory of every vocoder on the same mel",
        description="Real-time factor, ratio to HiFi-GAN V1, streaming first-chunk latency, "
                    "peak memory and parameters of HiFi-GAN V1/V2/V3, iSTFT small/base and "
                    "Griffin-Lim, each in a fresh process.")
    voc.add_argument("--data", metavar="DIR", help="prepared folder: cut the mel from its clips "
                     "(default: a synthetic speech-like mel)")
    voc.add_argument("--seconds", type=float, default=10.0,
                     help="audio length to vocode, rounded up to whole frames (default: 10 s = 862 frames at 22050/256)")
    voc.add_argument("--frames", type=int, default=None, help="mel frames (overrides --seconds)")
    voc.add_argument("--vocoders", nargs="+", metavar="NAME", choices=list(VOCODERS),
                     help=f"measure only these ({', '.join(VOCODERS)})")
    voc.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH",
                     help="a trained checkpoint for NAME (repeatable; a new NAME adds a row)")
    voc.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    voc.add_argument("--repeats", type=int, default=5, help="timed calls (default: 5)")
    voc.add_argument("--warmup", type=int, default=1, help="untimed calls first (default: 1)")
    voc.add_argument("--chunk-frames", type=int, default=32,
                     help="streaming chunk for the first-chunk latency (default: 32)")
    voc.add_argument("--quick", action="store_true", help="a smoke test: 64 frames, 1 repeat, "
                     f"only {', '.join(QUICK)}")
    voc.add_argument("--json", action="store_true", help="print JSON instead of the table")
    voc.add_argument("--out", metavar="FILE", help="also write the report to FILE (JSON if it "
                     "ends in .json, else the Markdown table)")
    voc.add_argument("--one", metavar="NAME", help=argparse.SUPPRESS)
    voc.add_argument("--input", metavar="DIR", help=argparse.SUPPRESS)
    voc.set_defaults(func=cmd_vocoder)

    aco = sub.add_parser("acoustic", help="inference speed of acoustic-model decoders",
                         description="Real-time factor of the acoustic model (text to mel, no "
                                     "vocoder) for each config, same output length.")
    aco.add_argument("--configs", nargs="+", default=[str(ROOT / "configs" / "acoustic" / n)
                                                      for n in ("default.yaml", "attention.yaml")])
    aco.add_argument("--tokens", type=int, default=60, help="phonemes (default 60, ~4 s)")
    aco.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    aco.add_argument("--repeats", type=int, default=5, help="timed calls (default: 5)")
    aco.set_defaults(func=cmd_acoustic)

    wm = sub.add_parser("watermark", help="watermark robustness, false positives, quality",
                        description="Detection rate and payload bit accuracy per attack on marked "
                                    "synthesized speech, false positives on real speech, SNR "
                                    "and PESQ of the mark.")
    wm.add_argument("--data", default=str(ROOT / "prepared" / "kathleen-arctic"),
                    help="prepared folder whose wavs/ the vocoder resynthesizes")
    wm.add_argument("--vocoder", default=str(DEFAULT_VOCODER), help="vocoder checkpoint")
    wm.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"),
                    help="corpora of unmarked real speech for false positives (and "
                         "text/ljspeech-transcripts.txt, the marked clips' sentences)")
    wm.add_argument("--clips", type=int, default=10,
                    help="marked clips per source (default 10; 0: false positives only)")
    wm.add_argument("--attacks", default="", metavar="NAMES",
                    help="only these attacks, comma-separated (default: all)")
    wm.add_argument("--fp-clips", type=int, default=1100,
                    help="unmarked clips and crops (default 1100; 0: none)")
    wm.add_argument("--fp-range", default="", metavar="START:STOP",
                    help="only these items of the false-positive set (default: all)")
    wm.add_argument("--fp-scores", metavar="FILE",
                    help="append the false-positive scores to FILE (JSON lines) and report over "
                         "every score in it: a long run split into short ones")
    wm.add_argument("--fp-long", type=int, default=0, metavar="N",
                    help="also score N long unmarked files of joined real speech (default 0)")
    wm.add_argument("--fp-long-minutes", type=float, default=10.0,
                    help="length of each --fp-long file in minutes (default 10)")
    wm.add_argument("--seed", type=int, default=0)
    wm.add_argument("--key", default=None, help="mark and search with this key instead of the "
                    "public default (the mark's layout comes from the key, so other keys show "
                    "how much a figure owes to one layout)")
    wm.add_argument("--json", action="store_true", help="print JSON instead of the table")
    wm.add_argument("--out", metavar="FILE", help="also write the report (JSON if .json)")
    wm.set_defaults(func=cmd_watermark)
    benchmark_say.add_parser(sub)
    benchmark_serve.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    return run(PROG, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
