"""``benchmark_onnx.py``: a voice through onnxruntime (``runtime="onnx"``) next to PyTorch.

    python scripts/benchmark_onnx.py                       # kathleen, 1 and 2 threads
    python scripts/benchmark_onnx.py --threads 1 --repeats 5 --json --out onnx.json

Needs the voice's ONNX export (``voxclone export --onnx --voice NAME``; made here first when
it is missing or stale, unless ``--no-export``). Like every script, it holds no model logic.

Measured, each part in fresh processes:

- **speed**: for each thread count (``--threads``: torch's intra-op threads and onnxruntime's),
  both runtimes in one process, their calls interleaved (torch, onnx, torch, ...) so that both
  meet the same load on a shared machine: ``Synthesizer(engine).synthesize(text)`` (the whole
  ``voxclone say`` path but the file write: text split, normalization, G2P, acoustic model,
  vocoder, loudness, watermark) on the short and long texts of ``benchmark_say.SENTENCES``,
  median of ``--repeats`` after a warm-up, as RTF (compute / audio seconds; lower is faster);
- **start-up in process** (one thread), each runtime alone: seconds of the imports
  (``tts.synthesizer``, ``tts.voices``), of building the engine (``voice_engine``), of the first
  "Hi." (which also imports what the first synthesis needs), their sum ("ready"), the peak
  memory (``ru_maxrss``) and whether torch was imported;
- **whole process** (``--cold-repeats`` new processes per runtime, median): what
  ``voxclone say "Hi." -o x.wav`` does (``Synthesizer`` of the voice, synthesize,
  ``save_audio``), wall seconds and peak memory (``os.wait4``), and the same with the engine
  alone (``voice_engine``, ``engine.speak``, ``soundfile.write``: no ``Synthesizer``), which shows
  what the ONNX runtime costs where nothing in front of it imports torch.

Figures are comparable only within one run; the ratios (ONNX / torch, below 1 = ONNX needs
less) measured side by side are the fair part.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import cell, markdown_table, print_table
from _common import note as _note

ROOT = Path(__file__).resolve().parent.parent
RUNTIMES = ("torch", "onnx")


def _env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    return env


# -- in a child process ---------------------------------------------------------------------------
def _style(runtime: str, threads: int, onnx_dir: str) -> dict:
    """``voice_engine`` settings of a runtime at ``threads``."""
    if runtime == "onnx":
        return {"runtime": "onnx", "onnx_dir": onnx_dir, "threads": threads}
    import torch

    torch.set_num_threads(threads)
    return {"runtime": "torch"}


def measure_startup(args: argparse.Namespace) -> dict:
    """One runtime, one thread, in this (fresh) process: imports, engine load, first "Hi."."""
    started = time.perf_counter()
    from tts.synthesizer import Synthesizer
    from tts.voices import voice_engine

    imported = time.perf_counter()
    engine = voice_engine(args.voice, **_style(args.runtime, 1, args.onnx_dir))
    loaded = time.perf_counter()
    Synthesizer(engine=engine).synthesize("Hi.")
    return {"runtime": args.runtime, "import_seconds": imported - started,
            "load_seconds": loaded - imported,
            "first_hi_seconds": time.perf_counter() - loaded,
            "memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "torch_imported": "torch" in sys.modules}


def measure_speed(args: argparse.Namespace) -> dict:
    """Both runtimes at ``args.threads`` in this process, their calls interleaved (torch, onnx,
    torch, ...) so that both meet the same load: median seconds per text and runtime."""
    from benchmark_say import SENTENCES

    from tts.synthesizer import Synthesizer
    from tts.voices import voice_engine

    synthesizers = {runtime: Synthesizer(engine=voice_engine(
        args.voice, **_style(runtime, args.threads, args.onnx_dir))) for runtime in RUNTIMES}
    speed: dict = {runtime: {} for runtime in RUNTIMES}
    for name, text in SENTENCES.items():
        times: dict = {runtime: [] for runtime in RUNTIMES}
        audio = {}
        for repeat in range(args.repeats + 1):  # the first round warms up
            for runtime, synthesizer in synthesizers.items():
                begin = time.perf_counter()
                audio[runtime] = synthesizer.synthesize(text).duration
                if repeat:
                    times[runtime].append(time.perf_counter() - begin)
                time.sleep(0.1)  # idle thread pools stop spinning before the other runtime
        for runtime in RUNTIMES:
            seconds = statistics.median(times[runtime])
            speed[runtime][name] = {"seconds": seconds, "audio_seconds": audio[runtime],
                                    "rtf": seconds / audio[runtime]}
    return {"threads": args.threads, "speed": speed}


COLD = {
    "say": ("from tts.audio import save_audio\n"
            "from tts.synthesizer import Synthesizer\n"
            "from tts.voices import voice_engine\n"
            "result = Synthesizer(engine=voice_engine({voice!r}, **{style!r})).synthesize('Hi.')\n"
            "save_audio({out!r}, result.wav, result.sample_rate)\n"),
    "engine": ("import soundfile\n"
               "from tts.voices import voice_engine\n"
               "wav, rate = voice_engine({voice!r}, **{style!r}).speak('hi')\n"
               "soundfile.write({out!r}, wav, rate)\n"),
}
"""Whole-process programs: ``say`` as ``voxclone say "Hi."`` runs it, ``engine`` alone."""


def _cold(runtime: str, path: str, args: argparse.Namespace) -> dict:
    """Median wall seconds and peak MiB of ``--cold-repeats`` runs of ``COLD[path]``."""
    style = {"runtime": runtime}
    if runtime == "onnx":
        style["onnx_dir"] = str(args.onnx_dir)
    runs = []
    with tempfile.TemporaryDirectory(prefix="voxclone-bench-") as tmp:
        out = str(Path(tmp) / "hi.wav")
        code = COLD[path].format(voice=args.voice, style=style, out=out)
        code += "import sys; print('torch' in sys.modules)\n"
        for _ in range(args.cold_repeats):
            started = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-c", code], env=_env(1), cwd=tmp,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
            stdout, stderr = proc.stdout.read(), proc.stderr.read()
            if os.waitstatus_to_exitcode(status) != 0:
                return {"error": (stderr.strip().splitlines() or ["failed"])[-1]}
            runs.append((seconds, usage.ru_maxrss / 1024, stdout.strip() == "True"))
    return {"seconds": statistics.median(r[0] for r in runs),
            "memory_mib": statistics.median(r[1] for r in runs),
            "torch_imported": runs[-1][2]}


# -- the parent -------------------------------------------------------------------------------------
def _child(mode: str, args: argparse.Namespace, threads: int = 1, runtime: str = "onnx") -> dict:
    """``measure_startup`` or ``measure_speed`` in a fresh process; ``{"error": line}``."""
    command = [sys.executable, str(Path(__file__).resolve()), mode, "--runtime", runtime,
               "--threads", str(threads), "--voice", args.voice, "--repeats", str(args.repeats),
               "--onnx-dir", str(args.onnx_dir)]
    done = subprocess.run(command, env=_env(threads), capture_output=True, text=True,
                          timeout=3600)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ensure_export(args: argparse.Namespace) -> None:
    """Make the voice's export when it is missing or stale (``--no-export``: refuse)."""
    from tts.errors import CheckpointError
    from tts.onnx.manifest import check_export, default_export_dir
    from tts.voices import find_voice

    acoustic = find_voice(args.voice).acoustic
    args.onnx_dir = Path(args.onnx_dir) if args.onnx_dir else default_export_dir(acoustic)
    try:
        check_export(acoustic, folder=args.onnx_dir, voice=args.voice)
    except CheckpointError:
        if args.no_export:
            raise
        _note(f"exporting {acoustic.name} to {args.onnx_dir} (a minute or two)")
        # in a child: this process must not grow (its children inherit its peak memory)
        done = subprocess.run([sys.executable, "-m", "tts.cli", "export", "--onnx", "-q",
                               "--voice", args.voice, str(args.onnx_dir)], env=_env(2),
                              capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise CheckpointError((done.stderr.strip().splitlines() or ["export failed"])[-1]) \
                from None


def _ready(row: dict) -> float:
    """Seconds from the first import to the first sentence spoken, in the process."""
    return row["import_seconds"] + row["load_seconds"] + row["first_hi_seconds"]


def _ratio(onnx: float | None, torch: float | None) -> str:
    return cell(None if onnx is None or not torch else onnx / torch, 2)


def _speed_table(report: dict) -> str:
    rows = []
    for item in report["speed"]:
        threads = str(item.get("threads", ""))
        if "error" in item:
            rows.append(["–", threads, item["error"], "", ""])
            continue
        speed = item["speed"]
        for runtime in RUNTIMES:
            long = speed[runtime]["long"]["rtf"]
            rows.append([runtime, threads, cell(speed[runtime]["short"]["rtf"], 3),
                         cell(long, 3), cell(1 / long, 1)])
        rows.append(["onnx / torch", threads, *[
            _ratio(speed["onnx"][name]["rtf"], speed["torch"][name]["rtf"])
            for name in ("short", "long")], ""])
    return markdown_table(["speed (one process, interleaved)", "threads", "RTF short",
                           "RTF long", "x real time (long)"], rows, "llrrr")


def _startup_table(report: dict) -> str:
    rows, ready = [], {}
    for runtime in RUNTIMES:
        item = report["startup"][runtime]
        if "error" in item:
            rows.append([runtime, item["error"], *[""] * 5])
            continue
        ready[runtime] = _ready(item)
        rows.append([runtime, cell(item["import_seconds"], 2), cell(item["load_seconds"], 2),
                     cell(item["first_hi_seconds"], 2), cell(ready[runtime], 2),
                     cell(item["memory_mib"], 0), "yes" if item["torch_imported"] else "no"])
    if len(ready) == 2:
        torch, onnx = report["startup"]["torch"], report["startup"]["onnx"]
        rows.append(["onnx / torch", _ratio(onnx["import_seconds"], torch["import_seconds"]),
                     _ratio(onnx["load_seconds"], torch["load_seconds"]),
                     _ratio(onnx["first_hi_seconds"], torch["first_hi_seconds"]),
                     _ratio(ready["onnx"], ready["torch"]),
                     _ratio(onnx["memory_mib"], torch["memory_mib"]), ""])
    return markdown_table(["start-up (in process, 1 thread)", "imports s", "load s",
                           "first 'Hi.' s", "ready s", "peak MiB", "torch loaded"], rows,
                          "lrrrrrl")


def _whole_table(report: dict) -> str:
    rows = []
    for path in COLD:
        cold = {runtime: report["cold"][runtime][path] for runtime in RUNTIMES}
        for runtime in RUNTIMES:
            item = cold[runtime]
            rows.append([path, runtime, item.get("error") or cell(item["seconds"], 2),
                         cell(item.get("memory_mib"), 0),
                         "" if "error" in item else ("yes" if item["torch_imported"] else "no")])
        if not any("error" in item for item in cold.values()):
            rows.append([path, "onnx / torch", _ratio(cold["onnx"]["seconds"],
                                                      cold["torch"]["seconds"]),
                         _ratio(cold["onnx"]["memory_mib"], cold["torch"]["memory_mib"]), ""])
    return markdown_table(["whole process ('Hi.')", "runtime", "wall s", "peak MiB",
                           "torch loaded"], rows, "llrrl")


def report_tables(report: dict) -> str:
    """The Markdown tables of a ``run`` report."""
    floor = (f"RTF = compute / audio seconds (lower is faster), median of {report['repeats']}. "
             f"'ready' = imports + load + first 'Hi.'. A child's peak memory includes its "
             f"parent's at the start ({report['floor_mib']:.0f} MiB here).")
    return "\n\n".join([_speed_table(report), _startup_table(report), _whole_table(report),
                         floor])


def run(args: argparse.Namespace) -> dict:
    _ensure_export(args)
    report = {"voice": args.voice, "onnx_dir": str(args.onnx_dir), "repeats": args.repeats,
              "speed": [], "startup": {}, "cold": {},
              "floor_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    for threads in args.threads:
        _note(f"speed, {threads} thread(s)")
        report["speed"].append({"threads": threads, **_child("_speed", args, threads)})
    for runtime in RUNTIMES:
        _note(f"{runtime}: start-up, whole processes")
        report["startup"][runtime] = _child("_startup", args, runtime=runtime)
        report["cold"][runtime] = {path: _cold(runtime, path, args) for path in COLD}
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchmark_onnx.py", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="run", choices=("run", "_speed", "_startup"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--voice", default="kathleen", help="voice (default: %(default)s)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="thread counts (default: 1 2)")
    parser.add_argument("--runtime", choices=RUNTIMES, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3, help="timed syntheses per text")
    parser.add_argument("--cold-repeats", type=int, default=3,
                        help="whole-process runs per runtime and path")
    parser.add_argument("--onnx-dir", default=None, help="the export (default: the cache's)")
    parser.add_argument("--no-export", action="store_true",
                        help="refuse instead of exporting when the export is missing")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--out", default=None, help="also write the tables (or .json) there")
    return parser


def main(argv: list[str] | None = None) -> int:
    from tts.errors import VoxcloneError

    args = build_parser().parse_args(argv)
    if args.mode != "run":
        args.threads = args.threads[0]
        measured = measure_speed(args) if args.mode == "_speed" else measure_startup(args)
        print(json.dumps(measured))
        return 0
    try:
        report = run(args)
    except VoxcloneError as exc:
        print(f"benchmark_onnx.py: error: {exc}", file=sys.stderr)
        return 2
    print_table(report_tables(report), args.out, report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
