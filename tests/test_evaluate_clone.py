"""scripts/evaluate.py clone's arithmetic (cloning.evaluation.similarity_rows) on made-up
embeddings and transcripts, its ``--collection`` sentences for the WER, and bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from vocoder_fixtures import load_script

from cloning.evaluation import EvalVoice, similarity_rows


class _LoudnessEncoder:
    """Embeds a clip as one of two unit vectors: loud clips (peak > 0.5) and quiet ones."""

    def embed_many(self, wavs, sample_rate):
        return np.stack([np.array([1.0, 0.0] if np.max(np.abs(w)) > 0.5 else [0.0, 1.0],
                                  np.float32) for w in wavs])


class _Transcriber:
    """Hears every clip as "the cat sat"."""

    def transcribe(self, wav, sample_rate):
        return "the cat sat"


def _clip(path: Path, peak: float) -> Path:
    sf.write(path, (peak * np.sin(np.arange(8000) * 0.3)).astype(np.float32), 16000)
    return path


def test_similarity_uses_the_test_texts_and_the_wer_every_spoken_sentence(tmp_path):
    loud = [_clip(tmp_path / f"loud{i}.wav", 0.9) for i in range(4)]
    quiet = [_clip(tmp_path / f"quiet{i}.wav", 0.2) for i in range(4)]
    voices = [EvalVoice("a", loud[:2], loud[2:], ["the cat sat"] * 2, wer_texts=["a dog ran"]),
              EvalVoice("b", quiet[:2], quiet[2:], ["the cat sat"] * 2)]
    wav = {"a": 0.9 * np.ones(100, np.float32), "b": 0.2 * np.ones(100, np.float32)}

    def speak(voice):  # the test texts in the voice's own loudness, the WER texts in the other's
        other = wav["b" if voice.name == "a" else "a"]
        return [wav[voice.name]] * len(voice.texts) + [other] * len(voice.wer_texts)

    row = similarity_rows(voices, speak, 16000, _LoudnessEncoder(), _Transcriber())
    assert row["clone"] == pytest.approx(1.0)  # the WER sentence's "other" voice is not counted
    assert row["clone_vs_others"] == pytest.approx(0.0)
    assert row["real"] == pytest.approx(1.0) and row["different"] == pytest.approx(0.0)
    assert row["wer"] == pytest.approx(3 / 15)  # 4 x 3 words right, "a dog ran" all wrong

    with pytest.raises(ValueError, match="2 waveforms for 3 texts"):
        similarity_rows(voices[:1], lambda v: [wav["a"]] * 2, 16000, _LoudnessEncoder())


@pytest.fixture(scope="module")
def evaluate():
    return load_script("evaluate")


@pytest.fixture(scope="module")
def part(evaluate):
    """The ``evaluate_voices`` module that ``evaluate.py`` imported."""
    return sys.modules["evaluate_voices"]


def test_collection_gives_each_voice_its_own_unread_sentences(part, prepared_ljspeech, tmp_path):
    from data.manifest import read_manifest

    read = next(iter(read_manifest(prepared_ljspeech / "manifest.jsonl"))).text
    lines = [f"Sentence number {i} has a few more words in it today." for i in range(60)]
    collection = tmp_path / "collection.txt"
    collection.write_text("\n".join([read, *lines]) + "\n", encoding="utf-8")
    voices = [EvalVoice(n, [], [], ["x"]) for n in ("a", "b", "c")]
    args = part.argparse.Namespace(collection=str(collection), collection_count=2,
                                   data=[str(prepared_ljspeech)], exclude_data=[])
    part._add_wer_texts(args, voices)
    spoken = [t for v in voices for t in v.wer_texts]
    assert [len(v.wer_texts) for v in voices] == [2, 2, 2]
    assert len(set(spoken)) == 6 and read not in spoken and set(spoken) <= set(lines)
    args.collection = None
    part._add_wer_texts(args, voices)  # no --collection: nothing changes
    assert [len(v.wer_texts) for v in voices] == [2, 2, 2]


def test_bad_collection_options_are_one_line_and_exit_2(evaluate, prepared_ljspeech, tmp_path,
                                                        capsys):
    base = ["clone", "--data", str(prepared_ljspeech), "--collection", str(tmp_path / "c.txt")]
    assert evaluate.main(base) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "add --wer" in err
    assert evaluate.main([*base, "--wer", "--collection-count", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--collection-count must be at least 1" in err
    assert evaluate.main(["voices", "--data", str(prepared_ljspeech), "--collection",
                          str(tmp_path / "c.txt"), "--collection-count", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--collection-count must be at least 1, not 0" in err


def test_collection_sentences_come_from_a_draw_the_acoustic_evaluation_makes(
        part, prepared_ljspeech, tmp_path):
    from evaluate_acoustic import collection_sentences

    from tts.errors import ConfigError

    lines = [f"Sentence number {i} has a few more words in it today." for i in range(400)]
    collection = tmp_path / "collection.txt"
    collection.write_text("\n".join(lines) + "\n", encoding="utf-8")
    voices = [EvalVoice(str(n), [], [], ["x"]) for n in range(13)]
    args = part.argparse.Namespace(collection=str(collection), collection_count=6,
                                   data=[str(prepared_ljspeech)], exclude_data=[])
    part._add_wer_texts(args, voices)  # 78 sentences, spread over the draw of 100
    drawn = set(collection_sentences(str(collection), 100, [prepared_ljspeech]))
    spoken = [t for v in voices for t in v.wer_texts]
    assert len(set(spoken)) == 78 and set(spoken) <= drawn
    args.collection_count = 24  # 312 > 300
    with pytest.raises(ConfigError, match="at most 300 in all"):
        part._add_wer_texts(args, voices)
