"""Number words for text normalization (English, American style, no hyphens, no commas).

Every function returns plain lower-case words separated by single spaces, so that a
downstream grapheme-to-phoneme step sees ordinary dictionary words:

* ``cardinal(1234)`` -> ``"one thousand two hundred thirty four"``
* ``ordinal(22)`` -> ``"twenty second"``
* ``digits("0042")`` -> ``"zero zero four two"``
* ``number("-1,234.05")`` -> ``"minus one thousand two hundred thirty four point zero five"``
* ``year(1990)`` -> ``"nineteen ninety"``
* ``fraction(3, 4)`` -> ``"three quarters"``

Pure functions of their arguments; no module state besides constant tables.
"""

from __future__ import annotations

__all__ = [
    "MAX_CARDINAL",
    "MAX_DIGITS",
    "cardinal",
    "digits",
    "fraction",
    "number",
    "ordinal",
    "plural",
    "year",
]

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion")

#: Largest integer :func:`cardinal` spells as words; larger ones are read digit by digit.
MAX_CARDINAL = 10 ** (3 * len(_SCALES)) - 1
#: Digit count of :data:`MAX_CARDINAL`; longer digit strings are never converted to ``int``.
MAX_DIGITS = len(str(MAX_CARDINAL))

_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}

_DENOMINATORS = {2: ("half", "halves"), 4: ("quarter", "quarters")}


def _below_thousand(n: int) -> list[str]:
    """Words for 0 < n < 1000 (no "and": "one hundred five")."""
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest:
        words.append(_ONES[rest])
    return words


def cardinal(n: int) -> str:
    """Cardinal words for an integer: ``-21`` -> ``"minus twenty one"``.

    Integers beyond :data:`MAX_CARDINAL` in magnitude are read digit by digit.
    """
    if n < 0:
        return "minus " + cardinal(-n)
    if n == 0:
        return "zero"
    if n > MAX_CARDINAL:
        return digits(str(n))
    words: list[str] = []
    for scale in range(len(_SCALES) - 1, -1, -1):
        group = (n // 1000**scale) % 1000
        if group:
            words += _below_thousand(group)
            if _SCALES[scale]:
                words.append(_SCALES[scale])
    return " ".join(words)


def _ordinal_word(word: str) -> str:
    if word in _ORDINAL_IRREGULAR:
        return _ORDINAL_IRREGULAR[word]
    if word.endswith("y"):
        return word[:-1] + "ieth"
    return word + "th"


def ordinal(n: int) -> str:
    """Ordinal words: ``1`` -> ``"first"``, ``101`` -> ``"one hundred first"``."""
    words = cardinal(n).split()
    words[-1] = _ordinal_word(words[-1])
    return " ".join(words)


def digits(s: str) -> str:
    """Read every decimal digit of ``s`` on its own (other characters are ignored)."""
    return " ".join(_ONES[int(c)] for c in s if "0" <= c <= "9")


def plural(phrase: str) -> str:
    """Pluralise the last word of ``phrase``: ``"twenty"`` -> ``"twenties"``, ``"six"`` -> ``"sixes"``."""
    head, _, last = phrase.rpartition(" ")
    if last.endswith("y"):
        last = last[:-1] + "ies"
    elif last.endswith(("x", "s")):
        last += "es"
    elif last == "half":
        last = "halves"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def _integer_words(s: str) -> str:
    """Words for a string of digits (thousands commas allowed); leading zeros -> digit by digit."""
    s = s.replace(",", "")
    if not s:
        return ""
    if (len(s) > 1 and s[0] == "0") or len(s) > MAX_DIGITS:
        return digits(s)
    return cardinal(int(s))


def number(s: str) -> str:
    """Words for a written number: optional sign, thousands commas, decimal part.

    ``"3.14"`` -> ``"three point one four"``, ``".5"`` -> ``"point five"``,
    ``"-1,000"`` -> ``"minus one thousand"``, ``"007"`` -> ``"zero zero seven"``.
    """
    s = s.strip()
    sign = ""
    if s[:1] in "-+" and len(s) > 1:
        sign = "minus " if s[0] == "-" else "plus "
        s = s[1:]
    whole, dot, frac = s.partition(".")
    parts = []
    if whole:
        parts.append(_integer_words(whole))
    if dot and frac:
        parts.append("point " + digits(frac))
    return sign + " ".join(p for p in parts if p)


def year(n: int) -> str:
    """Words for a calendar year, the way years are usually spoken.

    ``1990`` -> ``"nineteen ninety"``, ``1905`` -> ``"nineteen oh five"``,
    ``1900`` -> ``"nineteen hundred"``, ``2005`` -> ``"two thousand five"``,
    ``2021`` -> ``"twenty twenty one"``; other values fall back to :func:`cardinal`.
    """
    if not 1000 <= n <= 9999:
        return cardinal(n)
    if 2000 <= n <= 2009 or n % 1000 == 0:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return cardinal(high) + " hundred"
    if low < 10:
        return cardinal(high) + " oh " + _ONES[low]
    return cardinal(high) + " " + cardinal(low)


def fraction(num: int, den: int) -> str:
    """Words for a common fraction: ``1/2`` -> ``"one half"``, ``2/3`` -> ``"two thirds"``."""
    if den in _DENOMINATORS:
        singular, plural_form = _DENOMINATORS[den]
    else:
        singular = ordinal(den)
        plural_form = plural(singular)
    return f"{cardinal(num)} {singular if num == 1 else plural_form}"
