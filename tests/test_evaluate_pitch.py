"""scripts/evaluate.py pitch (scripts/evaluate_pitch.py, tts/pitch_stats.py): the table's
arithmetic and marks on made-up numbers, the recordings' median from a tiny prepared folder, one
in-process run with the bundled kathleen voices, and bad input."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from data_fixtures import make_arctic
from vocoder_fixtures import load_script

from tts.neural_engine import DEFAULT_ACOUSTIC
from tts.pitch_stats import semitones, voiced_median


@pytest.fixture(scope="module")
def evaluate():
    return load_script("evaluate")


@pytest.fixture(scope="module")
def part(evaluate):
    """The ``evaluate_pitch`` module that ``evaluate.py`` imported."""
    return sys.modules["evaluate_pitch"]


@pytest.fixture(scope="module")
def arctic(tmp_path_factory):
    """A prepared ARCTIC folder with pitch.npz: speaker kathleen's two clips are harmonic tones
    at 125 and 140 Hz, bdl's at 140 and 155 Hz (``data_fixtures.write_clip``)."""
    from data.pitch import pitch_prepared
    from data.prepare import prepare

    root = tmp_path_factory.mktemp("evalpitch")
    out = root / "prepared" / "arctic"
    prepare("arctic", make_arctic(root, speakers=("kathleen", "bdl")), out, workers=1,
            progress=False, val_fraction=0.5, min_duration=0.2)
    pitch_prepared(out)
    return out


def _rows(report: str) -> dict[str, list[str]]:
    """``{voice: cells after the voice}`` of the report's table."""
    rows = {}
    for line in report.splitlines():
        if line.startswith("| ") and not line.startswith("| voice"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_semitones_and_the_pooled_median():
    assert semitones(220.0, 110.0) == pytest.approx(12.0)
    assert semitones(100.0, 200.0) == pytest.approx(-12.0)
    assert semitones(100.0 * 2 ** (4 / 12), 100.0) == pytest.approx(4.0)
    for missing in ((math.nan, 100.0), (100.0, math.nan), (0.0, 100.0), (100.0, -1.0)):
        assert math.isnan(semitones(*missing))
    # pooled over clips, unvoiced (0 or NaN) frames left out: median of 100, 200, 300, 310
    pooled = voiced_median([np.array([0.0, 100.0, 200.0, np.nan]), np.array([300.0, 0.0, 310.0])])
    assert pooled.median_hz == pytest.approx(250.0)
    assert (pooled.voiced_frames, pooled.clips) == (4, 2)
    silent = voiced_median([np.zeros(5)])
    assert math.isnan(silent.median_hz) and (silent.voiced_frames, silent.clips) == (0, 1)


def _speech(base: float, down: float, up: float) -> dict[float, float]:
    """Median F0 at shift 0, -4 and +4 when the shifts realise ``down`` and ``up`` semitones."""
    return {0.0: base, -4.0: base * 2 ** (down / 12), 4.0: base * 2 ** (up / 12)}


def test_table_differences_and_marks_on_made_up_numbers(part):
    row = part.VoiceRow
    rows = [
        row("good", 200.0, 30, _speech(200.0 * 2 ** (0.9 / 12), -4.4, 3.6)),
        row("on-the-edge", 200.0, 30, _speech(200.0 * 2 ** (1.004 / 12), -4.5, 3.5)),
        row("just-over", 200.0, 30, _speech(200.0 * 2 ** (1.006 / 12), -4.506, 3.494)),
        row("far", 100.0, 5, _speech(100.0 * 2 ** (-1.1 / 12), -4.0, 4.0)),
        row("short-shift", 150.0, 5, _speech(150.0, -4.0, 3.4)),
        row("frame-rate", 160.0, 8, _speech(86.0, 0.0, 0.0)),
        row("unrecorded", None, 0, _speech(120.0, -4.1, 4.2)),
        row("no-pitch", 150.0, 9, {0.0: 151.0}, pitch_control=False),
        row("silent", 150.0, 9, {0.0: math.nan, -4.0: math.nan, 4.0: math.nan}),
        row("unpaired", 150.0, 9, note="not spoken: the vocoder is pitch-driven"),
    ]
    report = part.pitch_table(rows, [-4.0, 4.0], "checkpoints/vocoder/x.pt", 3, ["prep/a"])
    assert report.splitlines()[0].startswith("**Pitch of the voices** (vocoder: "
                                             "checkpoints/vocoder/x.pt; 3 sentences")
    header = next(x for x in report.splitlines() if x.startswith("| voice"))
    assert header.count("|") == 8  # 7 columns: no stray pipe in a heading
    assert "prep/a" in report.splitlines()[-1]
    cells = _rows(report)
    assert list(cells) == [r.voice for r in rows]
    assert cells["good"] == ["200 (30)", "211", "+0.90 ✓", "-4.40 ✓", "+3.60 ✓", "pass"]
    # judged at the printed precision: a mark never contradicts its value
    assert cells["on-the-edge"][2:] == ["+1.00 ✓", "-4.50 ✓", "+3.50 ✓", "pass"]
    assert cells["just-over"][2:] == ["+1.01 ✗", "-4.51 ✗", "+3.49 ✗", "fail"]
    assert cells["far"][2:] == ["-1.10 ✗", "-4.00 ✓", "+4.00 ✓", "fail"]
    assert cells["short-shift"][2:] == ["+0.00 ✓", "-4.00 ✓", "+3.40 ✗", "fail"]
    # say's old vocoder: 86 Hz whatever the voice or shift
    assert cells["frame-rate"][1:] == ["86", "-10.75 ✗", "+0.00 ✗", "+0.00 ✗", "fail"]
    assert cells["unrecorded"] == ["no recordings in --data", "120", "–", "-4.10 ✓", "+4.20 ✓",
                                   "incomplete"]
    assert cells["no-pitch"] == ["150 (9)", "151", "+0.12 ✓", "no pitch control",
                                 "no pitch control", "pass"]
    assert cells["silent"] == ["150 (9)", "n/a", "n/a ✗", "n/a ✗", "n/a ✗", "fail"]
    assert cells["unpaired"] == ["150 (9)", "not spoken: the vocoder is pitch-driven", "–", "–",
                                 "–", "–"]
    assert "WER" not in header
    rows[0].wer = {0.0: 0.1, -4.0: 0.2, 4.0: 0.25}
    with_wer = part.pitch_table(rows[:1], [-4.0, 4.0], "v", 1, [])
    assert _rows(with_wer)["good"][-1] == "0.100 / 0.200 / 0.250"
    assert "1 sentence per" in with_wer


def test_recordings_median_per_speaker_from_pitch_npz(part, arctic):
    found = part.recordings_f0([arctic], {"kathleen", "bdl", "nobody"})
    assert set(found) == {"kathleen", "bdl"}  # no clip of nobody: left out
    kathleen, bdl = found["kathleen"], found["bdl"]
    assert kathleen.clips == 2 and bdl.clips == 2 and kathleen.voiced_frames > 30
    assert 120.0 < kathleen.median_hz < 145.0  # tones at 125 and 140 Hz
    assert 135.0 < bdl.median_hz < 160.0  # tones at 140 and 155 Hz
    assert semitones(bdl.median_hz, kathleen.median_hz) > 1.0


@pytest.mark.skipif(not DEFAULT_ACOUSTIC.is_file(), reason="bundled checkpoints absent")
def test_kathleen_voices_end_to_end(evaluate, arctic, tmp_path, capsys):
    out_file = tmp_path / "pitch.md"
    assert evaluate.main(["pitch", "--voice", "kathleen", "--voice", "kathleen-expressive",
                          "--vocoder", "griffinlim", "--sentences", "1", "--text",
                          "Good morning.", "--text", "unused: one sentence only",
                          "--data", str(arctic), "--out", str(out_file), "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert out_file.read_text(encoding="utf-8").strip() == out.strip()
    assert "(vocoder: griffinlim; 1 sentence per voice" in out.splitlines()[0]
    rows = _rows(out)
    assert list(rows) == ["kathleen", "kathleen-expressive"]
    recordings, speech, offset, down, up, result = rows["kathleen"]
    assert recordings.endswith(" (2)") and 120 < float(recordings.split()[0]) < 145
    assert 60 <= float(speech) <= 500
    assert offset.split()[1] in ("✓", "✗")
    assert float(offset.split()[0]) == pytest.approx(
        semitones(float(speech), float(recordings.split()[0])), abs=0.06)  # from rounded Hz
    # the pitch model moves kathleen down and up (realised: about -3.7 and +3.3)
    assert -6.0 < float(down.split()[0]) < -2.0 and 2.0 < float(up.split()[0]) < 6.0
    assert result in ("pass", "fail")
    # expressive.pt has pitch too: it moves as well
    down, up = rows["kathleen-expressive"][3:5]
    assert -6.0 < float(down.split()[0]) < -2.0 and 2.0 < float(up.split()[0]) < 6.0
    assert 60 <= float(rows["kathleen-expressive"][1]) <= 500


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err  # one line
    return err


def test_bad_input_is_one_line_and_exit_2(evaluate, arctic, prepared_ljspeech, tmp_path,
                                          capsys):
    base = ["pitch", "--vocoder", "griffinlim", "--sentences", "1"]
    assert evaluate.main([*base, "--voice", "no-such-voice", "--data", str(arctic)]) == 2
    assert "no voice named 'no-such-voice'" in _error(capsys)
    assert evaluate.main([*base, "--voice", "kathleen", "--data", str(tmp_path / "none")]) == 2
    assert "no such prepared folder" in _error(capsys)
    # prepared, but no pitch track yet
    assert evaluate.main([*base, "--voice", "kathleen", "--data", str(prepared_ljspeech)]) == 2
    assert "voxclone pitch" in _error(capsys)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    assert evaluate.main(["pitch", "--voice", "kathleen", "--vocoder", str(broken)]) == 2
    assert str(broken) in _error(capsys)
    assert evaluate.main(["pitch", "--voice", "kathleen", "--vocoder",
                          str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt" in _error(capsys)
    assert evaluate.main([*base, "--voice", "kathleen", "--text-file",
                          str(tmp_path / "none.txt")]) == 2
    assert "--text-file" in _error(capsys)
    assert evaluate.main([*base, "--voice", "kathleen", "--shifts", "0", "4"]) == 2
    assert "--shifts" in _error(capsys)
    assert capsys.readouterr().out == ""  # nothing measured, no table


def test_calibrate_offsets_for_own_and_candidate_models(part, tmp_path):
    """The offset written is the one the voice was spoken with minus the measured difference;
    a candidate model (``--acoustic``) speaks bundled voices with no offset at all."""
    from tts.voices import Voice

    own = tmp_path / "own.pt"
    voices = [Voice("a", "bundled", own, "CC0-1.0", "", speaker="a", pitch_offset=-1.0),
              Voice("b", "bundled", own, "CC0-1.0", "", speaker="b", pitch_offset=2.0)]
    rows = [part.VoiceRow("a", 200.0, 10, {0.0: 200.0 * 2 ** (1.5 / 12)}),   # 1.5 st high
            part.VoiceRow("b", 100.0, 10, {0.0: 100.0 * 2 ** (-0.5 / 12)}),  # 0.5 st low
            part.VoiceRow("c", None, 0, {0.0: 150.0})]                       # no recordings
    written = []
    offsets = part._calibrate(rows, voices, None, write=written.append)
    assert offsets == pytest.approx({"a": -2.5, "b": 2.5}) and written == [offsets]
    offsets = part._calibrate(rows, voices, str(own), write=written.append)
    assert offsets == pytest.approx({"a": -2.5, "b": 2.5})
    offsets = part._calibrate(rows, voices, str(tmp_path / "candidate.pt"), write=written.append)
    assert offsets == pytest.approx({"a": -1.5, "b": 0.5})
