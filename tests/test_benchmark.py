"""scripts/benchmark.py: the quick vocoder benchmark end to end (one fresh process per vocoder)
and its one-line errors. Speeds are not checked: the machine may be busy."""

from __future__ import annotations

import json

import pytest
from vocoder_fixtures import load_script


@pytest.fixture(scope="module")
def benchmark():
    return load_script("benchmark")


@pytest.mark.slow  # three fresh torch processes: about 10 s on an idle 2-core machine
def test_quick_vocoder_benchmark(benchmark, tmp_path, capsys):
    table_file = tmp_path / "bench.md"
    assert benchmark.main(["vocoder", "--quick", "--threads", "1", "--json",
                           "--out", str(table_file)]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in report["results"]}
    assert list(rows) == ["hifigan-v2", "istft-small", "griffinlim"]
    assert report["baseline"] == "hifigan-v2" and report["repeats"] == 1
    assert report["frames"] == 64
    assert rows["hifigan-v2"]["vs_baseline"] == pytest.approx(1.0)
    assert 0.5e6 < rows["hifigan-v2"]["params"] < 1.5e6  # published V2: 0.93M
    assert rows["istft-small"]["context_frames"] == 23 and rows["griffinlim"]["params"] == 0
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
