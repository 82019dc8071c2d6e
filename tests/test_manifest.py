"""data.manifest: JSONL round trip, relative/absolute paths, strict reading."""

from __future__ import annotations

import json
import os

import pytest

from data.manifest import Utterance, read_manifest, write_manifest
from tts.errors import DataError


def test_round_trip_all_fields(tmp_path):
    utts = [
        Utterance("a", str(tmp_path / "wavs" / "a.wav"), "Hello there.", "spk1"),
        Utterance("b", str(tmp_path / "wavs" / "b.wav"), "Bye.", "spk2", language="en",
                  duration=1.25, emotion="happy", mel_path=str(tmp_path / "mels" / "b.npy"),
                  phonemes=("B", "AY1", "."), num_frames=108),
    ]
    path = write_manifest(tmp_path / "manifest.jsonl", utts)
    assert read_manifest(path) == utts
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"id", "audio_path", "text", "speaker", "language"}  # None left out


def test_paths_relative_inside_absolute_outside(tmp_path):
    outside = tmp_path / "elsewhere" / "c.flac"
    utts = [Utterance("a", str(tmp_path / "out" / "wavs" / "a.wav"), "x", "s"),
            Utterance("c", str(outside), "y", "s")]
    path = write_manifest(tmp_path / "out" / "m.jsonl", utts)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records[0]["audio_path"] == "wavs/a.wav"
    assert records[1]["audio_path"] == str(outside)
    # Moving the folder keeps the inside paths valid.
    os.rename(tmp_path / "out", tmp_path / "moved")
    back = read_manifest(tmp_path / "moved" / "m.jsonl")
    assert back[0].audio_path == str(tmp_path / "moved" / "wavs" / "a.wav")
    assert back[1].audio_path == str(outside)


def test_relative_path_given_is_resolved_against_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_manifest("m.jsonl", [Utterance("a", "wavs/a.wav", "x", "s")])
    assert read_manifest(path)[0].audio_path == str(tmp_path / "wavs" / "a.wav")


@pytest.mark.parametrize("line, message", [
    ("{not json", "not valid JSON"),
    ('["a"]', "expected a JSON object"),
    ('{"id": "a", "audio_path": "a.wav", "text": "x", "speaker": "s", "pitch": 1}',
     "unknown key(s) pitch"),
    ('{"id": "a", "audio_path": "a.wav", "text": "x"}', "missing required key(s) speaker"),
    ('{"id": "a", "audio_path": "a.wav", "text": "x", "speaker": 3}', "'speaker' must be a string"),
    ('{"id": "a", "audio_path": "a.wav", "text": "x", "speaker": "s", "duration": "1"}',
     "'duration' must be a number"),
    ('{"id": "a", "audio_path": "a.wav", "text": "x", "speaker": "s", "phonemes": "AH"}',
     "'phonemes' must be a list"),
])
def test_strict_reading_names_file_and_line(tmp_path, line, message):
    good = '{"id": "ok", "audio_path": "ok.wav", "text": "fine", "speaker": "s"}'
    path = tmp_path / "bad.jsonl"
    path.write_text(good + "\n\n" + line + "\n")
    with pytest.raises(DataError) as info:
        read_manifest(path)
    assert f"{path}:3:" in str(info.value)
    assert message in str(info.value)


def test_missing_manifest(tmp_path):
    with pytest.raises(DataError, match="manifest not found"):
        read_manifest(tmp_path / "nope.jsonl")
