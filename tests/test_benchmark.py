"""scripts/benchmark.py: the quick vocoder benchmark end to end (one fresh process per vocoder)
and its one-line errors. Speeds are not checked: the machine may be busy."""

from __future__ import annotations

import json

import pytest
from vocoder_fixtures import load_script


@pytest.fixture(scope="module")
def benchmark():
    return load_script("benchmark")


@pytest.mark.slow  # four fresh torch processes: about 10 s on an idle 2-core machine
def test_quick_vocoder_benchmark(benchmark, tmp_path, capsys):
    table_file = tmp_path / "bench.md"
    assert benchmark.main(["vocoder", "--quick", "--threads", "1", "--json",
                           "--out", str(table_file)]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in report["results"]}
    assert list(rows) == ["hifigan-v2", "istft-small", "griffinlim", "sourcefilter-small"]
    assert report["baseline"] == "hifigan-v2" and report["repeats"] == 1
    assert report["frames"] == 64
    assert rows["hifigan-v2"]["vs_baseline"] == pytest.approx(1.0)
    assert 0.5e6 < rows["hifigan-v2"]["params"] < 1.5e6  # published V2: 0.93M
    assert rows["istft-small"]["context_frames"] == 23 and rows["griffinlim"]["params"] == 0
    assert rows["sourcefilter-small"]["context_frames"] == 23  # (6 + 1) * 3 + 2
    for row in rows.values():
        assert row["rtf"] > 0 and row["vs_baseline"] > 0 and row["first_chunk_seconds"] > 0
        # measured in its own process: a whole torch process, of which a part is the vocoder's
        assert row["memory_total_mib"] > 100 and 0 <= row["memory_mib"] < row["memory_total_mib"]
        assert row["audio_seconds"] == pytest.approx(64 * 256 / 22050)
    table = table_file.read_text(encoding="utf-8").splitlines()
    header = next(line for line in table if line.startswith("| vocoder"))
    assert "RTF" in header and "vs hifigan-v2" in header and "first chunk" in header
    assert "peak +MiB" in header
    body = [line for line in table if line.startswith("| ")][1:]
    assert [line.split("|")[1].strip() for line in body] == list(rows)
    assert "| 1.00x |" in body[0]


@pytest.mark.parametrize("argv,message", [
    (["--checkpoint", "hifigan-v2=/no/such.ckpt"], "checkpoint not found"),
    (["--checkpoint", "hifigan-v2"], "NAME=PATH"),
    (["--data", "/no/such/folder"], "prepare.json not found"),
])
def test_bad_input_is_one_line(benchmark, capsys, argv, message):
    assert benchmark.main(["vocoder", "--quick", *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("benchmark.py: error: ") and message in lines[0]
    assert captured.out == ""


def test_acoustic_benchmark_compares_decoders(benchmark, capsys):
    from pathlib import Path

    configs = Path(__file__).resolve().parents[1] / "configs" / "acoustic" / "tiny"
    assert benchmark.main(["acoustic", "--configs", str(configs / "duration.yaml"),
                       str(configs / "attention.yaml"), "--tokens", "5", "--repeats", "1",
                       "--threads", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| config | decoder |") and len(lines) == 4
    assert "| duration |" in lines[2] and "| attention |" in lines[3]


# --- say: voxclone end to end, next to piper ------------------------------------------------

@pytest.fixture(scope="module")
def say_bench():
    return load_script("benchmark_say")


def test_missing_piper_venv_is_one_line(say_bench, tmp_path):
    python, note = say_bench.piper_python(tmp_path / "no-venv")
    assert python is None and "\n" not in note
    assert note.startswith("piper not available") and "voxclone alone" in note


def test_piper_venv_without_piper_is_one_line(say_bench, tmp_path):
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
                      "echo \"ModuleNotFoundError: No module named 'piper'\" >&2\nexit 1\n")
    python.chmod(0o755)
    found, note = say_bench.piper_python(tmp_path / "venv")
    assert found is None and "\n" not in note
    assert note.startswith("piper not available") and "No module named 'piper'" in note


def test_piper_driver_without_piper_is_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    driver = Path(__file__).resolve().parents[1] / "scripts" / "bench_piper.py"
    texts = tmp_path / "texts.json"
    texts.write_text('{"short": "Hi."}')
    done = subprocess.run([sys.executable, "-S", str(driver), "measure", "--texts", str(texts)],
                          capture_output=True, text=True, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("bench_piper.py: ")


def _report(say_bench, with_piper: bool) -> dict:
    def run(name, rtf, first, **extra):
        row = {"audio_seconds": 2.0, "compute_seconds": 2.0 * rtf, "first_audio_seconds": first}
        return {"name": name, "threads": 1, "memory_total_mib": 300.0,
                "texts": {"short": row}, **extra}

    runs = [run("voxclone", 0.05, 0.08)]
    if with_piper:
        runs.append(run("piper", 0.2, 0.4, version="1.8.0", voice="en_US-joe-medium"))
    args = type("Args", (), {"repeats": 3, "warmup": 1, "chunk_frames": 32})()

    def process(system, text, seconds, audio, memory):
        return {"system": system, "text": text, "threads": 1, "seconds": seconds,
                "cpu_seconds": seconds / 2, "audio_seconds": audio,
                "seconds_per_audio_second": seconds / audio, "memory_total_mib": memory,
                "repeats": 3}

    whole = [process("voxclone", "hi", 1.5, 0.6, 350.0), process("voxclone", "long", 8.0, 32.0,
                                                                  390.0)]
    if with_piper:
        whole += [process("voxclone onnx", "long", 5.0, 32.0, 200.0),
                  process("piper", "hi", 1.0, 0.5, 250.0),
                  process("piper", "long", 10.0, 25.0, 260.0)]
    return say_bench._report(args, {"short": "Hi there."}, [1], runs, whole,
                             None if with_piper else "piper not available: test")


def test_say_table_compares_with_piper(say_bench):
    report = _report(say_bench, with_piper=True)
    (ratio,) = report["ratios"]
    assert ratio["rtf_ratio"] == pytest.approx(0.25) and ratio["speed_ratio"] == pytest.approx(4)
    assert ratio["first_audio_ratio"] == pytest.approx(0.2)
    table = say_bench.format_table(report)
    assert "| voxclone | short | 1 | 2.0 | 0.050 | 20.0 | 80 | 300 |" in table
    assert "| piper 1.8.0 (en_US-joe-medium) | short | 1 | 2.0 | 0.200 | 5.0 | 400 | 300 |" in table
    assert "| short | 1 | 0.25 | 4.00x | 0.20 |" in table and "not available" not in table


def test_say_table_compares_whole_processes_with_piper(say_bench):
    report = _report(say_bench, with_piper=True)
    hi, long, onnx = report["process_ratios"]
    assert (hi["text"], long["text"], onnx["text"]) == ("hi", "long", "long")
    assert onnx["system"] == "voxclone onnx"
    assert onnx["per_audio_second_ratio"] == pytest.approx((5.0 / 32.0) / 0.4)
    assert hi["seconds_ratio"] == pytest.approx(1.5) and hi["memory_ratio"] == pytest.approx(1.4)
    assert long["per_audio_second_ratio"] == pytest.approx(0.25 / 0.4)
    assert report["process_texts"] == {"hi": "Hi.", "long": say_bench.SENTENCES["long"]}
    table = say_bench.format_table(report)
    assert "| voxclone | hi | 1 | 1.50 | 0.75 | 0.6 | 2.500 | 350 |" in table
    assert "| piper | long | 1 | 10.00 | 5.00 | 25.0 | 0.400 | 260 |" in table
    assert "| voxclone | long | 1 | 0.80 | 0.80 | 0.62 | 1.50 |" in table
    assert "| voxclone onnx | long | 1 | 0.50 | 0.50 | 0.39 | 0.77 |" in table
    assert "hi = 3 characters" in table


def test_say_table_without_piper_says_so(say_bench):
    report = _report(say_bench, with_piper=False)
    table = say_bench.format_table(report)
    assert report["ratios"] == [] and "RTF voxclone / piper" not in table
    assert report["process_ratios"] == [] and "voxclone / piper" not in table
    assert "| voxclone | long | 1 | 8.00 | 4.00 | 32.0 | 0.250 | 390 |" in table
    assert table.splitlines()[-1] == "piper not available: test"


@pytest.mark.parametrize("argv", [["--threads", "0"], ["--repeats", "0"],
                                  ["--cold-repeats", "-1"]])
def test_say_bad_numbers_are_one_line(benchmark, capsys, argv):
    assert benchmark.main(["say", "--no-piper", *argv]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("benchmark.py: error: need --repeats")


def test_say_process_only_needs_process_runs(benchmark, capsys):
    assert benchmark.main(["say", "--no-piper", "--process-only", "--cold-repeats", "0"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--process-only" in lines[0]


@pytest.mark.slow  # a fresh process loads torch, the default voice and g2p-en: 10 to 20 s
def test_say_benchmark_without_piper_reports_voxclone(benchmark, tmp_path, capsys):
    out = tmp_path / "say.json"
    assert benchmark.main(["say", "--sentences", "short", "--threads", "1", "--repeats", "1",
                           "--warmup", "0", "--cold-repeats", "0", "--piper-venv",
                           str(tmp_path / "no-venv"), "--json", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert json.loads(out.read_text()) == report
    notes = [line for line in captured.err.splitlines() if "piper" in line]
    assert len(notes) == 1 and notes[0].startswith("piper not available")
    (run,) = report["runs"]
    row = run["texts"]["short"]
    assert run["name"] == "voxclone" and run["threads"] == 1 and run["memory_total_mib"] > 100
    assert 1.0 < row["audio_seconds"] < 6.0 and row["rtf"] > 0
    assert 0 < row["first_audio_seconds"] < row["compute_seconds"] * 5
    assert report["ratios"] == [] and report["whole_process"] == []


@pytest.mark.slow  # two fresh `voxclone say` processes: "Hi." and the long paragraph
def test_say_process_only_measures_whole_processes(benchmark, capsys):
    assert benchmark.main(["say", "--process-only", "--threads", "1", "--cold-repeats", "1",
                           "--runtime", "torch", "--no-piper", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    hi, long = report["whole_process"]
    assert (hi["text"], long["text"]) == ("hi", "long") and report["runs"] == []
    assert 0.2 < hi["audio_seconds"] < 2.0 and 15.0 < long["audio_seconds"] < 45.0
    for row in (hi, long):
        assert row["system"] == "voxclone" and row["memory_total_mib"] > 100
        assert 0 < row["cpu_seconds"] and row["seconds_per_audio_second"] > 0
    assert report["process_ratios"] == []
