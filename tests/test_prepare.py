"""data.prepare end to end on a tiny generated corpus: counts, skip reasons, split, mel cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from data_fixtures import make_messy_folder, make_shared

from data.manifest import Utterance, read_manifest
from data.prepare import prepare, split_by_speaker
from tts.audio import mel_spectrogram
from tts.config import AudioConfig
from tts.errors import DataError
from tts.text import to_phonemes

GOOD = {"spk_a_a0", "spk_a_a1", "spk_a_a2", "spk_a_a3", "spk_b_b0", "spk_b_b1"}
SKIPS = {"spk_b_long": "too long", "spk_c_corrupt": "unreadable audio",
         "spk_c_silent": "silent", "spk_c_short": "too short", "spk_c_notext": "empty transcript",
         "spk_c_nophonemes": "phonemization failed"}
OPTIONS = dict(val_fraction=0.3, max_duration=1.2, progress=False)


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    return make_messy_folder(tmp_path_factory.mktemp("src"))


@pytest.fixture(scope="module")
def prepared(messy, tmp_path_factory):
    out = tmp_path_factory.mktemp("prep") / "out"
    summary = prepare("folder", messy, out, workers=1, **OPTIONS)
    return summary, out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_counts_and_skip_reasons(prepared):
    summary, out = prepared
    assert (summary.found, summary.kept, summary.skipped) == (12, 6, 6)
    assert summary.reasons == {reason: 1 for reason in SKIPS.values()}
    assert {(uid, reason) for uid, reason, _ in summary.skipped_utterances} == set(SKIPS.items())
    assert 0 < summary.hours < 0.01
    text = summary.format()
    for uid, reason in SKIPS.items():
        assert f"{reason}: {uid}" in text
    info = json.loads((out / "prepare.json").read_text())
    assert info["counts"] == {"found": 12, "kept": 6, "skipped": 6, "train": 4, "val": 2,
                              "speakers": 2}
    assert {s["id"]: s["reason"] for s in info["skipped"]} == SKIPS
    assert info["recipe"] == "folder" and info["backend"] == "g2p_en"
    assert info["audio"] == json.loads(json.dumps(AudioConfig().__dict__))
    assert info["emotions"] == [] and info["symbols"]


def test_outputs_and_manifest(prepared):
    _, out = prepared
    kept = read_manifest(out / "manifest.jsonl")
    assert {u.id for u in kept} == GOOD
    assert sorted(p.stem for p in (out / "wavs").iterdir()) == sorted(GOOD)
    assert sorted(p.stem for p in (out / "mels").iterdir()) == sorted(GOOD)
    assert json.loads((out / "speakers.json").read_text()) == ["spk_a", "spk_b"]
    for utt in kept:
        assert Path(utt.audio_path).parent == out / "wavs"
        assert utt.phonemes == tuple(to_phonemes(utt.text))
        info = sf.info(utt.audio_path)
        assert info.samplerate == 22050 and info.subtype == "PCM_16"
        assert utt.duration == pytest.approx(info.frames / info.samplerate, abs=1e-3)
    first = (out / "manifest.jsonl").read_text().splitlines()[0]
    assert '"audio_path": "wavs/' in first and '"mel_path": "mels/' in first
    assert not list(out.parent.glob(".*"))  # no staging leftovers


def test_split_is_speaker_stratified_and_disjoint(prepared):
    _, out = prepared
    train = read_manifest(out / "train.jsonl")
    val = read_manifest(out / "val.jsonl")
    assert {u.id for u in train}.isdisjoint({u.id for u in val})
    assert {u.id for u in train} | {u.id for u in val} == GOOD
    # spk_a: 4 utterances -> round(0.3 * 4) = 1 in val; spk_b: 2 -> round(0.6) = 1.
    assert sorted(u.speaker for u in val) == ["spk_a", "spk_b"]


def test_cached_mel_matches_saved_wav(prepared):
    _, out = prepared
    config = AudioConfig()
    for utt in read_manifest(out / "manifest.jsonl"):
        cached = np.load(utt.mel_path)
        assert cached.dtype == np.float16
        wav, rate = sf.read(utt.audio_path, dtype="float32")
        expected = mel_spectrogram(wav, config)
        assert cached.shape == expected.shape == (config.n_mels, utt.num_frames)
        np.testing.assert_allclose(cached.astype(np.float32), expected, atol=1e-2, rtol=1e-3)


def test_two_workers_give_the_same_folder_and_rerun_is_idempotent(prepared, messy, tmp_path):
    _, first = prepared
    out = tmp_path / "again"
    prepare("folder", messy, out, workers=2, **OPTIONS)
    before = _files(out)
    assert before == _files(first)  # relative paths: identical bytes, wherever the folder is
    prepare("folder", messy, out, workers=2, **OPTIONS)
    assert _files(out) == before
    # A smaller re-run replaces the folder: no stale files stay behind.
    summary = prepare("folder", messy, out, workers=1, limit=3, **OPTIONS)
    assert summary.found == 3 and summary.kept == 3
    assert sorted(p.stem for p in (out / "wavs").iterdir()) == ["spk_a_a0", "spk_a_a1", "spk_a_a2"]
    assert len(read_manifest(out / "manifest.jsonl")) == 3


def test_min_duration_keeps_short_real_clips(messy, tmp_path):
    summary = prepare("folder", messy, tmp_path / "o", workers=1, min_duration=0.1, **OPTIONS)
    assert "too short" not in summary.reasons and summary.kept == 7


def test_refuses_foreign_or_nested_output(messy, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="refusing to overwrite"):
        prepare("folder", messy, foreign, workers=1, progress=False)
    assert (foreign / "notes.txt").read_text() == "keep me"
    with pytest.raises(DataError, match="outside the source folder"):
        prepare("folder", messy, messy / "prepared", workers=1, progress=False)


def test_nothing_usable_is_an_error(tmp_path):
    src = make_shared(tmp_path, "ravdess-speech")
    with pytest.raises(DataError, match="3 too short"):
        prepare("ravdess-speech", src, tmp_path / "out", workers=1, min_duration=5.0,
                max_duration=10.0, progress=False)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_bad_arguments(messy, tmp_path):
    with pytest.raises(DataError, match="val_fraction"):
        prepare("folder", messy, tmp_path / "o", val_fraction=1.0, progress=False)
    with pytest.raises(DataError, match="min_duration"):
        prepare("folder", messy, tmp_path / "o", min_duration=3, max_duration=2, progress=False)
    with pytest.raises(DataError, match="unknown recipe"):
        prepare("nope", messy, tmp_path / "o", progress=False)
    with pytest.raises(DataError, match="has no option"):
        prepare("ljspeech-sample", messy, tmp_path / "o", mic="mic2", progress=False)


def _utts(counts: dict[str, int]) -> list[Utterance]:
    return [Utterance(f"{s}_{i}", f"{s}_{i}.wav", "x", s) for s, n in counts.items()
            for i in range(n)]


def test_split_by_speaker_rules():
    utts = _utts({"a": 20, "b": 10, "c": 1})
    train, val = split_by_speaker(utts, 0.05, seed=0)
    assert sorted(u.speaker for u in val) == ["a", "b"]  # 1.0 -> 1, 0.5 -> 1 (half up), c: none
    assert split_by_speaker(utts, 0.05, seed=0) == (train, val)
    seeds = {tuple(u.id for u in split_by_speaker(utts, 0.05, seed=s)[1]) for s in range(10)}
    assert len(seeds) > 1
    # One utterance per speaker: validation still gets one.
    train, val = split_by_speaker(_utts({f"s{i}": 1 for i in range(30)}), 0.05)
    assert len(val) == 1 and len(train) == 29
    # Small speakers keep at least one training utterance.
    train, val = split_by_speaker(_utts({"a": 2}), 0.9)
    assert len(train) == 1 and len(val) == 1
    assert split_by_speaker(utts, 0.0)[1] == []
    assert split_by_speaker(_utts({"a": 1}), 0.5) == (_utts({"a": 1}), [])
