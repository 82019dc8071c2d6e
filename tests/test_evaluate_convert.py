"""scripts/evaluate.py convert: its options for clone targets, and their bad input."""

from __future__ import annotations

import sys

import pytest
from vocoder_fixtures import load_script


@pytest.fixture(scope="module")
def evaluate():
    return load_script("evaluate")


@pytest.mark.parametrize("extra, message", [
    (["--voice"], "nothing to convert into: give --voice NAME... or --clone SPEAKER"),
    (["--clone", "x", "--clone-clips", "0"], "--clone-clips must be at least 1, got 0"),
])
def test_bad_targets_are_one_line_and_exit_2(evaluate, prepared_ljspeech, capsys, extra,
                                             message):
    args = ["convert", "--data", str(prepared_ljspeech), "--target-data",
            str(prepared_ljspeech), *extra]
    assert evaluate.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err


def test_a_clone_target_needs_clips_to_clone_from_and_to_compare_with(evaluate,
                                                                      prepared_ljspeech,
                                                                      tmp_path):
    from data.manifest import read_manifest
    from tts.errors import DataError

    part = sys.modules["evaluate_convert"]
    speaker = next(iter(read_manifest(prepared_ljspeech / "manifest.jsonl"))).speaker
    with pytest.raises(DataError, match=rf"--clone {speaker}: 3 clips in --target-data, 7 "
                                        r"needed \(3 to clone from, 4 to compare with\)"):
        part._clone_target(speaker, [str(prepared_ljspeech)], 3, 8, tmp_path, "c1")
    with pytest.raises(DataError, match="--clone nobody: 0 clips"):
        part._clone_target("nobody", [str(prepared_ljspeech)], 1, 8, tmp_path, "c2")
    assert not any(tmp_path.iterdir())  # nothing cloned
