"""scripts/make_synthetic_corpus.py: which sentences may be spoken (length, lexicon, digits,
abbreviations, never an evaluation sentence or a training text) and its errors; festival itself
is not needed (the synthesis is exercised only where festival is installed)."""

from __future__ import annotations

import random
import shutil

import pytest
from vocoder_fixtures import load_script

from data.manifest import Utterance, write_manifest
from tts.metrics import normalize_for_scoring

WORDS = ("the old man walked slowly down to the harbor where small boats were resting "
         "under a gray sky and children played near water while birds called over quiet "
         "houses").split()


@pytest.fixture(scope="module")
def corpus():
    return load_script("make_synthetic_corpus")


@pytest.fixture
def collection(tmp_path):
    """A sentence file of 1,200 speakable sentences of 6-20 words and a few that are not."""
    rng = random.Random(0)
    lines = []
    for i in range(1200):
        words = rng.choices(WORDS, k=rng.randint(6, 20))
        lines.append(f"X{i:04d}|{' '.join(words).capitalize()}.")
    bad = ["The old man walked 12 miles down to the harbor today.",
           "Mr. Smith walked slowly down to the harbor where boats were.",
           "The old man walked slowly to the zzyxqv harbor of boats.",
           "The old man walked.",
           'The old man said "children played near water" to the birds.']
    lines += [f"B{i}|{t}" for i, t in enumerate(bad)]
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, bad


def test_eligible_sentences_skip_evaluation_and_training_texts(corpus, collection, tmp_path):
    path, bad = collection
    evaluate = __import__("evaluate_acoustic")
    first = path.read_text().splitlines()[7].split("|")[1]
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    write_manifest(prepared / "train.jsonl",
                   [Utterance(id="u1", audio_path="a.wav", text=first, speaker="s")])

    kept = corpus.eligible_sentences(path, [prepared])
    keys = [normalize_for_scoring(t) for t in kept]
    assert len(keys) == len(set(keys)) > 100
    assert not set(bad) & set(kept)
    assert normalize_for_scoring(first) not in keys
    for count in corpus.EVALUATION_COUNTS:
        drawn = evaluate.collection_sentences(str(path), count, [prepared])
        assert not {normalize_for_scoring(t) for t in drawn} & set(keys)
    # without the training text excluded, the evaluation draws other sentences, which then
    # may be spoken: the exclusion follows the folders given
    assert kept != corpus.eligible_sentences(path, [])
    # a skipped folder's texts are not spoken, and the evaluation's draw stays the one without it
    skipped = corpus.eligible_sentences(path, [], [prepared])
    assert normalize_for_scoring(first) not in {normalize_for_scoring(t) for t in skipped}
    drawn = {normalize_for_scoring(t) for t in evaluate.collection_sentences(str(path), 50, [])}
    assert not drawn & {normalize_for_scoring(t) for t in skipped}


def test_errors_are_one_line(corpus, collection, tmp_path, monkeypatch, capsys):
    path, _ = collection
    assert corpus.main([str(tmp_path / "missing.txt"), str(tmp_path / "out")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert corpus.main([str(path), str(tmp_path / "out"), "--count", "100000"]) == 2
    assert "eligible sentences" in capsys.readouterr().err
    monkeypatch.setattr(corpus.shutil, "which", lambda name: None)
    assert corpus.main([str(path), str(tmp_path / "out"), "--count", "10"]) == 2
    assert "festival is not installed" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    (tmp_path / "other").mkdir()  # a folder this command did not make is never written into
    monkeypatch.setattr(corpus.shutil, "which", lambda name: "/usr/bin/festival")
    assert corpus.main([str(path), str(tmp_path / "other"), "--count", "10"]) == 2
    assert "was not made by this command" in capsys.readouterr().err
    assert list((tmp_path / "other").iterdir()) == []


@pytest.mark.skipif(shutil.which("festival") is None, reason="festival is not installed")
def test_festival_speaks_a_batch(corpus, collection, tmp_path):
    path, _ = collection
    out = tmp_path / "out"
    args = [str(path), str(out), "--count", "2", "--batch", "2", "--speaker", "synth"]
    assert corpus.main(args) == 0
    assert corpus.main(args) == 0  # resumed
    assert corpus.main([str(path), str(out), "--count", "3"]) == 2  # other texts: refused
    rows = (out / "metadata.csv").read_text().splitlines()
    assert rows[0] == "file|text|speaker" and len(rows) == 3
    assert all(row.endswith("|synth") for row in rows[1:])
    import soundfile

    audio, rate = soundfile.read(out / rows[1].split("|")[0])
    assert rate > 8000 and len(audio) > rate  # a sentence of 6+ words lasts over a second
