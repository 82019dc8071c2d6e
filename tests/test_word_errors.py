"""tts.word_errors: per-word alignment of transcripts and the breakdowns of issue 20's error
analysis (scripts/evaluate.py acoustic --errors)."""

import math

import pytest

from tts.metrics import word_error_rate
from tts.word_errors import (
    CORRECT,
    DELETED,
    SUBSTITUTED,
    align_words,
    length_rows,
    phoneme_rows,
    position_rows,
)

REFS = ["Please call Stella, ask her to bring these things.", "The cat sat.", "Ten on Sundays.",
        "Nothing was heard."]
HYPS = ["please cole still then ask her to bring things", "the cat sat down", "tan on sunnies",
        ""]


def _letters(word: str) -> list[str]:
    """A stand-in G2P: one 'phoneme' per letter, upper case with a stress digit on vowels."""
    return [c.upper() + ("1" if c in "aeiou" else "") for c in word]


def test_alignment_matches_the_word_error_rate_and_names_the_phrases():
    errors = align_words(REFS, HYPS)
    assert errors.words == 9 + 3 + 3 + 3
    assert errors.wer == pytest.approx(word_error_rate(REFS, HYPS))
    assert errors.phrases == [("call stella", "cole still then"), ("these", ""), ("", "down"),
                              ("ten", "tan"), ("sundays", "sunnies"),
                              ("nothing was heard", "")]
    assert len(errors.insertions) == 2 and errors.insertions[-1] == "down"
    by_word = {o.word: o for o in errors.outcomes}
    assert by_word["these"].kind == DELETED and by_word["these"].heard == ""
    assert by_word["ten"].kind == SUBSTITUTED and by_word["ten"].heard == "tan"
    assert by_word["bring"].kind == CORRECT and by_word["bring"].index == 6
    assert all(o.length == 9 for o in errors.outcomes[:9])


@pytest.mark.parametrize("refs,hyps", [(["a b c"], ["a b c"]), (["a b c"], ["x"]),
                                       (["one two", "three"], ["one too three", "three four"])])
def test_wer_agrees_with_the_metric(refs, hyps):
    assert align_words(refs, hyps).wer == pytest.approx(word_error_rate(refs, hyps))


def test_empty_reference_counts_insertions_and_mismatch_is_refused():
    errors = align_words([""], ["hello there"])
    assert errors.insertions == ["hello", "there"] and math.isnan(errors.wer)
    with pytest.raises(ValueError, match="2 references but 1"):
        align_words(["a", "b"], ["a"])


def test_position_and_length_rows_count_the_wrong_words():
    errors = align_words(REFS, HYPS)
    rows = {r[0]: r for r in position_rows(errors)}
    # first words: please (right), the (right), ten (wrong), nothing (wrong)
    assert rows["first word"][1:4] == ["4", "2", "0.500"]
    # last words: things, sat, sundays, heard: two wrong
    assert rows["last word"][1:3] == ["4", "2"]
    assert sum(int(r[1]) for r in rows.values()) == errors.words
    lengths = {r[0]: r for r in length_rows(errors, _letters)}
    assert sum(int(r[1]) for r in lengths.values()) == errors.words
    assert lengths["7+"][1:3] == ["2", "2"]  # "sundays" misheard, "nothing" deleted


def test_phoneme_rows_rank_the_phonemes_of_wrong_words_first():
    errors = align_words(["sit sit sit sit sat sat sat sat"], ["sit sit sit sit set set set set"])
    rows = phoneme_rows(errors, _letters, min_words=4)
    assert rows[0][0] == "A" and rows[0][1:4] == ["4", "4", "1.000"]
    assert rows[0][4] == "2.0"  # half the words are wrong overall
    assert {r[0] for r in rows} == {"A", "I", "S", "T"}
    assert rows[-1][0] == "I" and rows[-1][2] == "0"
    # stress digits are dropped: A1 and A count as one phoneme
    assert not any(r[0].endswith("1") for r in rows)
