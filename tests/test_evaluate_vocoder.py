"""scripts/evaluate.py vocoder (scripts/evaluate_vocoder.py) end to end, in-process, on tiny
prepared folders generated at test time."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from data_fixtures import make_arctic, make_ljspeech
from vocoder_fixtures import load_script

from data.prepare import prepare
from tts import metrics
from tts.pitch_metrics import PitchErrors


@pytest.fixture(scope="module")
def evaluate():
    return load_script("evaluate")


@pytest.fixture(scope="module")
def part(evaluate):
    """The ``evaluate_vocoder`` module that ``evaluate.py`` imported (to patch its judge)."""
    return sys.modules["evaluate_vocoder"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("evalvoc")
    lj, arctic = root / "prepared" / "lj", root / "prepared" / "arctic"
    prepare("ljspeech", make_ljspeech(root), lj, workers=1, progress=False, val_fraction=0.5)
    prepare("arctic", make_arctic(root), arctic, workers=1, progress=False, val_fraction=0.5,
            min_duration=0.2)
    return lj, arctic


def _tables(report: str) -> dict[str, dict[str, list[str]]]:
    """``{table title: {system: cells}}`` of a report; the title is the bold line before it."""
    tables, title = {}, None
    for line in report.splitlines():
        if line.startswith("**"):
            title = line.split("**")[1]
            tables[title] = {}
        elif line.startswith("| ") and not line.startswith("| system"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            tables[title][cells[0]] = cells[1:]
    return tables


def _header(report: str) -> list[str]:
    line = next(x for x in report.splitlines() if x.startswith("| system"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_griffinlim_world_and_recordings_per_corpus(evaluate, part, folders, tmp_path, capsys):
    lj, arctic = folders
    report_file, wavs = tmp_path / "report.md", tmp_path / "wavs"
    assert evaluate.main(["vocoder", "--data", str(lj), str(arctic), "--griffinlim", "--world",
                          "--clips", "2", "--asr", "pocketsphinx", "--out", str(report_file),
                          "--wavs", str(wavs)]) == 0
    out = capsys.readouterr().out
    assert report_file.read_text(encoding="utf-8").strip() == out.strip()
    assert "WER/CER judge: pocketsphinx " in out.splitlines()[0]
    header = _header(out)
    assert header[:2] == ["system", "clips"]
    for column in ("mel L1 ↓", "PESQ-WB ↑", "F0 GPE ↓", "VDE ↓", "DNSMOS OVRL ↑", "WER ↓"):
        assert column in header
    tables = _tables(out)
    assert list(tables) == ["all corpora", "ljspeech", "arctic"]
    systems = ["recordings", "griffinlim", part.WORLD]
    col = {name: i - 1 for i, name in enumerate(header)}
    clips = {}
    for title, rows in tables.items():
        assert list(rows) == systems, title
        clips[title] = int(rows["recordings"][0])
        rec = rows["recordings"]
        assert rec[col["mel L1 ↓"]] == "–" and rec[col["F0 GPE ↓"]] == "–"
        if metrics.dnsmos_available():
            assert 1.0 <= float(rec[col["DNSMOS OVRL ↑"]]) <= 5.0
        float(rec[col["WER ↓"]])  # measured on the recordings too
        for system in systems[1:]:
            cells = rows[system]
            assert float(cells[col["mel L1 ↓"]]) > 0 and float(cells[col["MR-STFT ↓"]]) > 0
            float(cells[col["VDE ↓"]])
    assert clips["all corpora"] == clips["ljspeech"] + clips["arctic"] and clips["arctic"] >= 1
    # WORLD keeps the pitch of the (harmonic, 0.7 s) LJSpeech clips
    assert float(tables["ljspeech"][part.WORLD][col["F0 GPE ↓"]]) <= 0.05
    ids = out.strip().splitlines()[-1]
    assert ids.startswith("Clips: ljspeech: LJ001-") and "; arctic: " in ids
    saved = [p.parent.name for p in wavs.rglob("*.wav")]
    assert len(saved) == 2 * clips["all corpora"] and saved.count("griffinlim") == len(saved) / 2


def test_one_folder_one_table_and_the_old_cli(evaluate, folders, capsys):
    lj, _ = folders
    # the pre-existing form: one --data, --griffinlim, --clips, --speaker
    assert evaluate.main(["vocoder", "--data", str(lj), "--griffinlim", "--clips", "1",
                          "--speaker", "LJ", "--asr", "none"]) == 0
    out = capsys.readouterr().out
    tables = _tables(out)
    assert list(tables) == ["ljspeech"]
    assert tables["ljspeech"]["griffinlim"][0] == "1"
    assert "WER/CER judge: none" in out
    assert tables["ljspeech"]["recordings"][-1] == "–"  # no judge, no WER
    assert evaluate.main(["vocoder", "--data", str(lj), "--griffinlim",
                          "--speaker", "nobody"]) == 2
    assert "of nobody" in capsys.readouterr().err


def test_unavailable_dnsmos_is_said_and_the_judge_is_named(evaluate, part, folders, monkeypatch,
                                                           capsys):
    class Judge:
        name = "whisper-base (faster-whisper)"

        def transcribe(self, wav, sample_rate):
            return "printing in fourteen fifty five was new"

    monkeypatch.setattr(metrics, "dnsmos_available", lambda: False)
    monkeypatch.setattr(part, "load_judge", lambda prefer: Judge())
    lj, _ = folders
    assert evaluate.main(["vocoder", "--data", str(lj), "--griffinlim", "--clips", "1"]) == 0
    captured = capsys.readouterr()
    assert "WER/CER judge: whisper-base (faster-whisper)." in captured.out
    assert "needs speechmos and onnxruntime" in captured.out
    assert "needs speechmos and onnxruntime" in captured.err
    header = _header(captured.out)
    for cells in _tables(captured.out)["ljspeech"].values():
        assert cells[header.index("DNSMOS OVRL ↑") - 1] == "n/a"


def test_heldout_split_takes_the_unseen_speakers(evaluate, part, folders, monkeypatch, capsys):
    import data.holdout

    lj, arctic = folders
    monkeypatch.setattr(data.holdout, "held_out_speakers",
                        lambda folder, fraction=0.2: {"bdl"} if Path(folder) == arctic else set())
    audio, clips = part.select_clips([lj, arctic], 5, "heldout")
    assert {c.corpus for c in clips} == {"ljspeech", "arctic"}
    held = [c for c in clips if c.corpus == "arctic"]
    assert held and {c.utterance.speaker for c in held} == {"bdl"}
    assert {c.source for c in held} == {"held-out speakers"}
    assert {c.source for c in clips if c.corpus == "ljspeech"} == {"val.jsonl"}
    assert "no held-out speakers" in capsys.readouterr().err
    assert audio.sample_rate == 22050


def test_clips_alternate_between_speakers(part):
    from data.manifest import Utterance

    utts = [Utterance(f"{s}{i}", "x.wav", "t", s) for s in "ab" for i in range(3)]
    assert [u.id for u in part._spread(utts, 4)] == ["a0", "b0", "a1", "b1"]
    assert [u.id for u in part._spread(utts[:3], 2)] == ["a0", "a1"]


def test_summaries_pool_frames_and_ignore_unscorable_clips(part):
    scores = [{"pesq": 2.0, "pitch": PitchErrors(1, 1, 0, 2), "dnsmos": 3.0, "heard": "a b"},
              {"pesq": math.nan, "pitch": PitchErrors(0, 9, 2, 18), "dnsmos": 2.0, "heard": "a"}]
    row = part.summarize(scores, ["a b", "a c"], [0, 1])
    assert row["clips"] == 2 and row["pesq"] == 2.0 and row["dnsmos"] == 2.5
    assert row["gpe"] == pytest.approx(0.1) and row["vde"] == pytest.approx(0.1)
    assert row["wer"] == pytest.approx(0.25)
    assert "mel_l1" not in row
    assert part.summarize(scores, ["a b", "a c"], [1])["wer"] == pytest.approx(0.5)


@pytest.mark.parametrize("problem", ["missing data", "bad checkpoint", "nothing to do",
                                     "no clips", "mixed audio"])
def test_bad_input_is_one_line(evaluate, folders, tmp_path, capsys, problem):
    import json

    lj, _ = folders
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    other = tmp_path / "other"
    other.mkdir()
    info = json.loads((lj / "prepare.json").read_text(encoding="utf-8"))
    info["audio"]["sample_rate"] = 16000
    (other / "prepare.json").write_text(json.dumps(info), encoding="utf-8")
    argv = {"missing data": ["--data", str(tmp_path / "nope"), "--griffinlim"],
            "bad checkpoint": ["--data", str(lj), "--vocoder", str(bad)],
            "nothing to do": ["--data", str(lj)],
            "no clips": ["--data", str(lj), "--griffinlim", "--clips", "0"],
            "mixed audio": ["--data", str(lj), str(other), "--griffinlim"]}[problem]
    assert evaluate.main(["vocoder", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evaluate.py: error: "), captured.err
