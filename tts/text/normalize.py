"""English text normalization: turn written text into the words a reader would speak.

:func:`normalize` takes any ``str`` and returns a single-line ``str`` made only of ASCII
letters, spaces and the prosody punctuation ``. , ? ! ; : - ' " ( )`` (the phonemizer turns
punctuation into pauses). Ordinary words keep their case; everything the normalizer expands
(numbers, symbols, abbreviations, spelled acronyms) comes out in lower case, numbers without
hyphens or commas ("twenty one", "one thousand two hundred").

Pipeline (each step is a precompiled regular expression plus a pure replacement function,
applied in this order because earlier forms contain later ones, e.g. a phone number contains
digit groups and a URL contains dots). Steps 1 and 17 live here; the rules of the others live
in :mod:`tts.text.abbreviations` (2, 7, 14-16), :mod:`tts.text.measures` (3, 8, 11-13) and
:mod:`tts.text.dates` (4-6, 9-10), built from the helpers in :mod:`tts.text.rules`:

1. characters: curly quotes and dashes to ASCII, accented Latin letters transliterated
   through NFKD ("café" -> "cafe"), anything else outside ASCII (emoji, CJK, Cyrillic, Greek,
   Arabic, ...) dropped with an :class:`UnknownCharacterWarning`;
2. e-mail addresses and URLs ("john.doe@example.com" -> "john dot doe at example dot com",
   the scheme "https://" is dropped, "www" is spelled);
3. phone numbers ("555-123-4567", "(555) 123-4567", "+1 555 123 4567"): digits one by one,
   groups separated by commas;
4. dates: ISO "2021-03-04", numeric "12/25/1990" (month/day/year, day/month/year when the
   first field cannot be a month), "January 5, 2021", "Jan. 5th", "5 January 2021";
5. ranges: "1990-1995" (years), "5-10" -> "5 to 10"; "10 - 5 = 5" -> minus;
6. times: "10:30 am" -> "ten thirty a m", "7:00" -> "seven o'clock", "14:00" -> "fourteen
   hundred", "3:05 PM" -> "three oh five p m", "5pm" -> "five p m";
7. abbreviations: titles (Dr., Mr., Mrs., Ms., Prof., Gen., Capt., Lt., Col., Sgt., Mt., ...),
   "St."/"Dr." as saint/doctor or street/drive (see :func:`tts.text.abbreviations._saint_or_street`), Jr., Sr.,
   etc., e.g., i.e., vs., approx., "No. 5"/"#5" -> "number five", dotted initialisms
   ("U.S." -> "u s");
8. money: $, EUR, GBP, JPY signs with cents/pence and scales ("$1.2 million", "$3bn");
9. plurals of numbers and decades ("1980s" -> "nineteen eighties", "'90s", "20s");
10. years (see :func:`tts.text.dates._year_or_none` for the heuristic);
11. dotted versions/IP addresses, fractions ("3/4", "5 1/2"), "3x4" -> "3 times 4";
12. numbers with units ("5 km", "1 kg", "50%", "-5 °C");
13. ordinals ("22nd"), then every remaining number (negatives, decimals, "1,234,567");
14. shouted runs (three or more all-caps words in a row, one of them a common word such as
    "THE" or "YOU", or six letters or longer) are lower-cased as plain words;
15. roman numerals after names and section words ("Henry VIII", "Chapter IV");
16. acronyms: 2-5 capitals are spelled ("FBI" -> "f b i", "CDs" -> "c d's") unless listed
    in :data:`WORD_ACRONYMS` ("NASA" -> "nasa");
17. remaining symbols (& @ + = % ° ...) to words, then whitespace and punctuation tidied.

Known limits: the year and St./Dr. rules are heuristics (years only for 1100-2099, so
"1066" is a cardinal); "in" is read as inches only when attached ("12in") or at the end of a
clause ("12 in."); "5 - 3" without "=" is read as a range ("five to three"); single capital
letters other than roman numerals are left for the phonemizer.
"""

from __future__ import annotations

import re
import unicodedata
import warnings

from tts.text.abbreviations import ABBREVIATION_RULES, ADDRESS_RULES, CAPITALS_RULES, WORD_ACRONYMS
from tts.text.dates import DATE_RULES, RANGE_RULES, TIME_RULES, YEAR_RULES
from tts.text.measures import (
    FRACTION_RULES,
    LOCAL_PHONE_RULES,
    MONEY_RULES,
    NUMBER_RULES,
    PHONE_RULES,
    UNIT_RULES,
)
from tts.text.rules import Replacer, Rule

__all__ = ["UnknownCharacterWarning", "WORD_ACRONYMS", "normalize"]


class UnknownCharacterWarning(UserWarning):
    """Characters that cannot be spoken (emoji, non-Latin scripts) were dropped."""


# ---------------------------------------------------------------------------------------------
# 1. Characters
# ---------------------------------------------------------------------------------------------

_CHAR_MAP = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc\u2039\u203a", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2212", "-"),
    **dict.fromkeys("\u2014\u2015", " - "),
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff\u2122\u00ae\u00a9\u00bf\u00a1", ""),
    **dict.fromkeys("\u00b7\u2022\u2023\u25e6\u00b6", " "),
    "\u2026": "...",
    "\u2044": "/",
    "\u00ba": "\u00b0",
    "\u00a7": " section ",
    "\u00df": "ss",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00f8": "o",
    "\u00d8": "O",
    "\u0111": "d",
    "\u0110": "D",
    "\u0142": "l",
    "\u0141": "L",
    "\u00fe": "th",
    "\u00de": "Th",
    "\u00f0": "d",
    "\u00d0": "D",
    "\u0131": "i",
    "\u0127": "h",
}
#: Non-ASCII characters that survive step 1 because later steps read them.
_KEEP = frozenset("\u20ac\u00a3\u00a5\u00a2\u00b0\u00b2\u00b3\u00d7\u00f7")
_NON_PLAIN = re.compile(r"[^\t\n\r\x20-\x7e]")


def _speakable(s: str) -> bool:
    return bool(s) and all(" " <= c <= "~" or c in _KEEP for c in s)


def _clean_characters(text: str) -> str:
    """Map every character to ASCII (or a kept symbol); warn about the ones dropped."""
    dropped: list[str] = []

    def repl(m: re.Match[str]) -> str:
        c = m.group()
        if c in _CHAR_MAP:
            return _CHAR_MAP[c]
        if c in _KEEP:
            return c
        if c.isspace():
            return " "
        if unicodedata.category(c) == "Mn":  # stray combining mark, variation selector
            return ""
        decomposed = unicodedata.normalize("NFKD", c).replace("\u2044", "/")
        stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        if _speakable(stripped):
            return f" {stripped} " if "/" in stripped and c != "/" else stripped
        dropped.append(c)
        return " "

    text = _NON_PLAIN.sub(repl, text)
    if dropped:
        unique = list(dict.fromkeys(dropped))
        listed = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in unique)
        warnings.warn(
            f"normalize: dropped {len(unique)} unsupported character(s): {listed}",
            UnknownCharacterWarning,
            stacklevel=3,
        )
    return text


# ---------------------------------------------------------------------------------------------
# 17. Symbols and tidying
# ---------------------------------------------------------------------------------------------

_SYMBOL_WORDS = {
    "&": " and ", "@": " at ", "+": " plus ", "=": " equals ", "%": " percent ",
    "\u00b0": " degrees ", "$": " dollars ", "\u20ac": " euros ", "\u00a3": " pounds ",
    "\u00a5": " yen ", "\u00a2": " cents ", "\u00b2": " squared ", "\u00b3": " cubed ",
    "\u00d7": " times ", "\u00f7": " divided by ", "[": " (", "]": ") ", "{": " (", "}": ") ",
}  # fmt: skip
_SYMBOL = re.compile(r"[^A-Za-z .,?!;:'\"()-]")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r" +([.,?!;:)])")
_SPACE_AFTER_PAREN = re.compile(r"\( +")


def _symbol(m: re.Match[str]) -> str:
    return _SYMBOL_WORDS.get(m.group(), " ")


def _tidy(text: str) -> str:
    text = _SYMBOL.sub(_symbol, text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _SPACE_AFTER_PAREN.sub("(", text)
    return text.strip()


# ---------------------------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------------------------

#: Steps 2-16 in the order they are applied (see the module docstring).
_RULES: tuple[Rule, ...] = (
    *ADDRESS_RULES,
    *PHONE_RULES,
    *DATE_RULES,
    *LOCAL_PHONE_RULES,
    *RANGE_RULES,
    *TIME_RULES,
    *ABBREVIATION_RULES,
    *MONEY_RULES,
    *YEAR_RULES,
    *FRACTION_RULES,
    *UNIT_RULES,
    *NUMBER_RULES,
    *CAPITALS_RULES,
)


def _sub(pattern: re.Pattern[str], func: Replacer, text: str) -> str:
    """``pattern.sub`` whose replacement is padded with a space where it would touch a word.

    ``func`` returns the spoken form, or ``None`` to leave the match untouched.
    """

    def wrapper(m: re.Match[str]) -> str:
        out = func(m)
        if out is None:
            return m.group()
        start, end = m.span()
        src = m.string
        if out and start > 0 and src[start - 1].isalnum() and out[0].isalnum():
            out = " " + out
        if out and end < len(src) and src[end].isalnum() and out[-1].isalnum():
            out += " "
        return out

    return pattern.sub(wrapper, text)


def normalize(text: str) -> str:
    """Return ``text`` as words to be spoken, keeping prosody punctuation.

    Args:
        text: any string (English expected). Characters that cannot be spoken are dropped
            with an :class:`UnknownCharacterWarning`.

    Returns:
        A single line of ASCII words and ``. , ? ! ; : - ' " ( )``, whitespace collapsed and
        stripped; ``""`` for empty or whitespace-only input.

    Raises:
        TypeError: ``text`` is not a ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize() expects str, got {type(text).__name__}")
    if not text or text.isspace():
        return ""
    text = _clean_characters(text)
    for pattern, func in _RULES:
        text = _sub(pattern, func, text)
    return _tidy(text)
