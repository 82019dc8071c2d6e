"""Latency and throughput of ``voxclone serve``, measured over HTTP against the real command.

    python scripts/benchmark_serve.py                       # 1 worker, 1 and 4 clients
    python scripts/benchmark_serve.py --workers 1 2 --clients 1 4 --json

For each ``--workers`` count it starts ``voxclone serve --port 0`` (``python -m tts.cli``,
default voice preloaded) in a subprocess, waits for its "serving on" line, then measures, after
``--warmup`` requests:

- **first audio vs whole**: a three-sentence text (``THREE``) through ``POST /api/tts`` streamed
  (``stream: true``, raw pcm: the first body byte is audio) and whole (a wav file), alternating,
  ``--repeats`` times each. Reported: median seconds to the first audio byte and to the last,
  and whole / streamed first-byte time (how much sooner a player can start).
- **requests per second** for short texts (``SHORT``, one sentence each, in turn) through the
  OpenAI endpoint (wav), ``--requests`` requests per row from each of ``--clients`` concurrent
  clients; median and 95th-percentile latency. The server's ``--max-queue`` is set high enough
  that none is refused.

Like every script, it holds no model or DSP logic. The figures depend on the machine's load:
the two rows of a table are measured side by side, in the same run. ``benchmark.py`` can
include this as a ``serve`` subcommand (``add_parser``).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from _common import markdown_table, note, print_table

PROG = "benchmark_serve.py"
THREE = ("The birch canoe slid on the smooth planks. Glue the sheet to the dark blue "
         "background. It is easy to tell the depth of a well.")
SHORT = ("Hello there.", "The box was thrown beside the parked truck.", "Turn left at the light.",
         "Rice is often served in round bowls.", "We will be there soon.")


class Server:
    """``voxclone serve`` in a subprocess on a free loopback port; a context manager."""

    def __init__(self, workers: int, threads: int | None, max_queue: int) -> None:
        self.command = [sys.executable, "-m", "tts.cli", "serve", "--port", "0",
                        "--log-level", "warning", "--workers", str(workers),
                        "--max-queue", str(max_queue)]
        if threads:
            self.command += ["--threads", str(threads)]
        self.env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
        self.url = ""
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        from tts.errors import VoxcloneError

        started = time.perf_counter()
        self.process = subprocess.Popen(self.command, stderr=subprocess.PIPE, text=True,
                                        env=self.env)
        line = self.process.stderr.readline()
        match = re.search(r"serving on (http://\S+?)/ ", line)
        if not match:
            self.process.kill()
            raise VoxcloneError(f"voxclone serve did not start: {line.strip() or 'no output'}")
        self.url = match.group(1)
        self.start_seconds = time.perf_counter() - started
        # keep reading its stderr so that a full pipe never blocks the server
        threading.Thread(target=self.process.stderr.read, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _check(response) -> None:
    if response.status_code != 200:
        from tts.errors import VoxcloneError

        raise VoxcloneError(f"the server answered {response.status_code}: {response.text[:200]}")


def streamed(client, url: str, text: str) -> tuple[float, float]:
    """Seconds to the first audio byte and to the last of a streamed raw-pcm request."""
    start = time.perf_counter()
    first = None
    with client.stream("POST", f"{url}/api/tts",
                       json={"text": text, "format": "pcm", "stream": True}) as response:
        _check(response)
        for piece in response.iter_raw():
            if piece and first is None:
                first = time.perf_counter() - start
    return first, time.perf_counter() - start


def whole(client, url: str, text: str) -> tuple[float, float, float]:
    """Seconds to the first byte and to the last of a whole wav file, and its audio seconds."""
    start = time.perf_counter()
    first = None
    with client.stream("POST", f"{url}/api/tts", json={"text": text, "format": "wav"}) as r:
        _check(r)
        for piece in r.iter_raw():
            if piece and first is None:
                first = time.perf_counter() - start
    return first, time.perf_counter() - start, float(r.headers["x-audio-seconds"])


def first_audio(url: str, repeats: int) -> dict:
    """Medians of ``streamed`` and ``whole`` on ``THREE``, run alternately."""
    import httpx

    runs = {"streamed": [], "whole": []}
    with httpx.Client(timeout=300) as client:
        for _ in range(repeats):
            runs["streamed"].append(streamed(client, url, THREE))
            runs["whole"].append(whole(client, url, THREE))
    result = {kind: {"first_byte_s": statistics.median(r[0] for r in rows),
                     "last_byte_s": statistics.median(r[1] for r in rows)}
              for kind, rows in runs.items()}
    result["audio_s"] = runs["whole"][0][2]
    return result


def throughput(url: str, clients: int, requests: int) -> dict:
    """``clients`` threads each sending ``requests`` short OpenAI requests back to back."""
    import httpx

    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def client_loop(offset: int) -> None:
        with httpx.Client(timeout=300) as client:
            for i in range(requests):
                text = SHORT[(offset + i) % len(SHORT)]
                start = time.perf_counter()
                response = client.post(f"{url}/v1/audio/speech", json={
                    "input": text, "voice": "kathleen", "response_format": "wav"})
                took = time.perf_counter() - start
                with lock:
                    if response.status_code == 200:
                        latencies.append(took)
                    else:
                        errors.append(f"{response.status_code}: {response.text[:120]}")

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if errors:
        from tts.errors import VoxcloneError

        raise VoxcloneError(f"{len(errors)} request(s) failed, e.g. {errors[0]}")
    latencies.sort()
    return {"clients": clients, "requests": len(latencies), "wall_s": wall,
            "requests_per_s": len(latencies) / wall,
            "median_latency_s": statistics.median(latencies),
            "p95_latency_s": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]}


def measure_server(args: argparse.Namespace, workers: int) -> dict:
    """Everything measured against one server with ``workers`` workers."""
    import httpx

    max_queue = max(8, max(args.clients) * 2)
    note(f"starting voxclone serve ({workers} worker(s), threads {args.threads or 'torch'})")
    with Server(workers, args.threads, max_queue) as server:
        note(f"  up in {server.start_seconds:.1f} s at {server.url}; warming up")
        with httpx.Client(timeout=300) as client:
            for _ in range(args.warmup):
                streamed(client, server.url, THREE)
                whole(client, server.url, THREE)
        note(f"  first audio: {args.repeats} streamed and {args.repeats} whole requests")
        latency = first_audio(server.url, args.repeats)
        rows = []
        for clients in args.clients:
            note(f"  throughput: {clients} client(s) x {args.requests} short requests")
            rows.append(throughput(server.url, clients, args.requests))
    return {"workers": workers, "start_seconds": server.start_seconds, "first_audio": latency,
            "throughput": rows}


def measure(args: argparse.Namespace) -> dict:
    servers = [measure_server(args, workers) for workers in args.workers]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"machine": f"{platform.machine()}, {os.cpu_count()} CPU(s)", "load_average": load,
            "threads": args.threads, "text": THREE, "servers": servers}


def report_table(report: dict) -> str:
    first_rows, rate_rows = [], []
    for server in report["servers"]:
        latency = server["first_audio"]
        ratio = latency["whole"]["first_byte_s"] / latency["streamed"]["first_byte_s"]
        for kind, row in (("streamed (pcm)", latency["streamed"]),
                          ("whole file (wav)", latency["whole"])):
            first_rows.append([kind, str(server["workers"]), f"{row['first_byte_s']:.3f}",
                               f"{row['last_byte_s']:.3f}",
                               f"{ratio:.2f}" if kind.startswith("whole") else ""])
        rate_rows += [[f"{row['clients']} client(s)", str(server["workers"]),
                       str(row["requests"]), f"{row['requests_per_s']:.2f}",
                       f"{row['median_latency_s']:.3f}", f"{row['p95_latency_s']:.3f}"]
                      for row in server["throughput"]]
    audio = report["servers"][0]["first_audio"]["audio_s"]
    first = markdown_table([f"3 sentences ({audio:.1f} s), POST /api/tts", "workers", "first audio byte (s) ↓",
                            "last byte (s)", "whole / streamed first byte"], first_rows)
    second = markdown_table(["short texts, /v1/audio/speech", "workers", "requests",
                             "requests/s ↑", "median latency (s)", "p95 latency (s)"], rate_rows)
    load = report["load_average"]
    starts = ", ".join(f"{s['start_seconds']:.1f} s" for s in report["servers"])
    head = (f"{report['machine']}, load {load:.1f}; server threads "
            f"{report['threads'] or 'torch default'}; started (default voice loaded and warm) "
            f"in {starts}.")
    return f"{head}\n\n{first}\n\n{second}"


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=5,
                        help="streamed and whole requests each (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up pairs (default: 2)")
    parser.add_argument("--requests", type=int, default=20,
                        help="short requests per client (default: %(default)s)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4],
                        help="concurrent clients, one row each (default: 1 4)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1],
                        help="server workers, one server each, side by side (default: 1)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of the server (default: 1; 0: torch's)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--out", metavar="FILE", help="also write the table (or .json) here")
    parser.set_defaults(func=run_benchmark)


def run_benchmark(args: argparse.Namespace) -> int:
    if min(args.repeats, args.requests, *args.workers, *args.clients) < 1 or args.warmup < 0:
        from tts.errors import VoxcloneError

        raise VoxcloneError("--repeats, --requests, --workers and --clients must be at least 1")
    report = measure(args)
    print_table(report_table(report), args.out, report, args.json)
    return 0


def add_parser(sub) -> None:
    """``serve``, a subcommand of ``benchmark.py``."""
    add_options(sub.add_parser("serve", help="latency and throughput of voxclone serve",
                               description=__doc__.split("\n\n")[0]))


def main(argv: Sequence[str] | None = None) -> int:
    from _common import run

    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add_options(parser)
    return run(PROG, parser, argv)


if __name__ == "__main__":
    raise SystemExit(main())
