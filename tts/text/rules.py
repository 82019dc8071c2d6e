"""Building blocks shared by the normalization rules in :mod:`tts.text.normalize`.

A rule is a precompiled regular expression plus a pure replacement function (a
:data:`Replacer`) that returns the spoken form of a match, or ``None`` to leave the match
untouched. The rule modules (:mod:`tts.text.abbreviations`, :mod:`tts.text.dates`,
:mod:`tts.text.measures`) build their rules from the helpers here; :mod:`tts.text.normalize`
applies them in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tts.text.numbers import MAX_DIGITS

__all__ = ["Replacer", "Rule", "ends_sentence", "previous_word", "too_long"]

Replacer = Callable[[re.Match[str]], "str | None"]
Rule = tuple[re.Pattern[str], Replacer]

_SENTENCE_GOES_ON = re.compile(r"\s*$|\s+[\"'(]?[A-Z]")
_PREV_WORD = re.compile(r"([\w'-]+)(\.?)\s+$")


def ends_sentence(src: str, end: int) -> bool:
    """Whether a period just before ``end`` also ends the sentence (text end or capital next)."""
    return _SENTENCE_GOES_ON.match(src, end) is not None


def previous_word(src: str, start: int) -> tuple[str | None, bool]:
    """The word right before ``start`` (a trailing period allowed) and whether it begins a sentence."""
    window = src[max(0, start - 60) : start]
    m = _PREV_WORD.search(window)
    if m is None:
        return None, False
    before = window[: m.start()].rstrip()
    return m.group(1), (not before or before[-1] in ".!?")


def too_long(*parts: str | None) -> bool:
    """Whether any digit string is too long to convert to ``int`` (it is then read later)."""
    return any(p is not None and len(p) > MAX_DIGITS for p in parts)
