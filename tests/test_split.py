"""tts.text.split.split_text: sentences, clauses, words; nothing lost; fast."""

from __future__ import annotations

import random
import string
import time

import pytest

from tts.text import split_text


def collapse(text: str) -> str:
    return " ".join(text.split())


def test_sentences():
    text = "Hello there. How are you? I am fine! Thanks."
    assert split_text(text) == ["Hello there.", "How are you?", "I am fine!", "Thanks."]


def test_blank_text():
    assert split_text("") == []
    assert split_text(" \n\t ") == []


def test_whitespace_is_collapsed():
    assert split_text("One\n\ntwo   three.\tFour.") == ["One two three.", "Four."]


@pytest.mark.parametrize(
    "text",
    [
        "Dr. Smith met Mr. Jones and Mrs. Brown at St. Mary's.",
        "Bring fruit, e.g. apples or pears, i.e. something fresh.",
        "Pi is about 3.14 and e is about 2.72 today.",
        "The meeting is at 10 a.m. tomorrow.",
        "J. R. R. Tolkien wrote it.",
        "Wait... what did you say?",
        "It costs approx. five dollars vs. six.",
    ],
)
def test_no_split_inside_sentence(text):
    assert split_text(text) == [text]


def test_split_after_ambiguous_abbreviation_before_capital():
    text = "We sold apples, pears, etc. Then we went home."
    assert split_text(text) == ["We sold apples, pears, etc.", "Then we went home."]


def test_quotes_and_brackets_close_sentences():
    text = 'He said "stop." She stopped. (It was late.) Then rain.'
    assert split_text(text) == ['He said "stop."', "She stopped.", "(It was late.)", "Then rain."]


def test_long_sentence_splits_at_clauses_first():
    text = (
        "First part of the sentence goes here; second part is right here, and a third part follows."
    )
    chunks = split_text(text, max_chars=60)
    assert chunks[0] == "First part of the sentence goes here;"
    assert all(len(c) <= 60 for c in chunks)
    assert collapse(" ".join(chunks)) == collapse(text)


def test_long_sentence_splits_at_commas_then_words():
    text = "alpha beta gamma delta, epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi"
    chunks = split_text(text, max_chars=25)
    assert chunks[0] == "alpha beta gamma delta,"
    assert all(len(c) <= 25 for c in chunks)
    assert " ".join(chunks) == text


def test_clause_pieces_are_packed_greedily():
    text = "a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t."
    chunks = split_text(text, max_chars=20)
    assert all(len(c) <= 20 for c in chunks)
    assert all(
        len(a) + 1 + len(b.split()[0]) > 20 for a, b in zip(chunks, chunks[1:], strict=False)
    )
    assert " ".join(chunks) == text


def test_word_longer_than_max_is_cut():
    word = "x" * 45
    chunks = split_text(f"short {word} end", max_chars=20)
    assert all(len(c) <= 20 for c in chunks)
    assert chunks == ["short", "x" * 20, "x" * 20, "x" * 5, "end"]


def test_invalid_max_chars():
    with pytest.raises(ValueError):
        split_text("hello", max_chars=0)


def _random_text(rng: random.Random, max_word: int) -> str:
    parts = []
    for _ in range(rng.randint(0, 120)):
        word = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, max_word)))
        roll = rng.random()
        if roll < 0.08:
            word += rng.choice([".", "!", "?", "...", '."'])
        elif roll < 0.2:
            word += rng.choice([",", ";", ":"])
        elif roll < 0.23:
            word = rng.choice(["Dr.", "e.g.", "3.14", "Mr.", "—", "-", "etc."])
        parts.append(word)
        parts.append(rng.choice([" ", " ", " ", "  ", "\n", "\t "]))
    return "".join(parts)


@pytest.mark.parametrize("max_chars", [10, 25, 80, 200])
def test_property_nothing_lost_and_limits_hold(max_chars):
    rng = random.Random(max_chars)
    for _ in range(150):
        text = _random_text(rng, max_word=min(max_chars - 3, 12))  # room for "..."
        chunks = split_text(text, max_chars=max_chars)
        assert " ".join(chunks) == collapse(text)
        assert all(chunk and chunk == chunk.strip() for chunk in chunks)
        assert all(len(chunk) <= max_chars for chunk in chunks)


def test_property_with_overlong_words():
    rng = random.Random(7)
    for _ in range(100):
        text = _random_text(rng, max_word=30)
        chunks = split_text(text, max_chars=12)
        assert all(0 < len(chunk) <= 12 for chunk in chunks)
        assert "".join(chunks).replace(" ", "") == "".join(text.split())


def test_ten_thousand_characters_split_quickly():
    rng = random.Random(3)
    sentence_words = ["the", "voice", "model", "speaks", "clearly", "today", "and", "tomorrow"]
    text = ""
    while len(text) < 10_000:
        n = rng.randint(3, 80)
        text += " ".join(rng.choice(sentence_words) for _ in range(n)).capitalize()
        text += rng.choice([". ", "; ", ", ", "? "])
    start = time.perf_counter()
    chunks = split_text(text, max_chars=200)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5
    assert all(len(c) <= 200 for c in chunks)
    assert " ".join(chunks) == collapse(text)
