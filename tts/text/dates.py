"""Normalization rules for dates, year ranges, times of day, years and decades.

* dates: ISO "2021-03-04", numeric "12/25/1990" (month/day/year, day/month/year when the
  first field cannot be a month), "January 5, 2021", "Jan. 5th", "5 January 2021";
* ranges: "1990-1995" (years), "5-10" -> "5 to 10"; "10 - 5 = 5" -> minus;
* times: "10:30 am" -> "ten thirty a m", "7:00" -> "seven o'clock", "14:00" -> "fourteen
  hundred", "3:05 PM" -> "three oh five p m", "5pm" -> "five p m";
* plurals of numbers and decades ("1980s" -> "nineteen eighties", "'90s", "20s") and years
  (see :func:`_year_or_none` for the heuristic).

Each group is exported as a tuple of rules; :mod:`tts.text.normalize` decides the order.
"""

from __future__ import annotations

import re

from tts.text.numbers import cardinal, ordinal, plural, year
from tts.text.rules import Rule, ends_sentence, previous_word, too_long

__all__ = ["DATE_RULES", "RANGE_RULES", "TIME_RULES", "YEAR_RULES", "month_day"]

# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

_MONTHS = tuple(
    "january february march april may june july august september october november december".split()
)
_MONTH_ABBR = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
)
_ORD_SUFFIX = r"(?:st|nd|rd|th)?"
_DATE_ISO = re.compile(r"(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?![\w-])")
_DATE_NUMERIC = re.compile(r"(?<![\w/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\w/]|[.-]\d)")
_DATE_MONTH_FIRST = re.compile(
    rf"\b{_MONTH}(\.?)\s+(\d{{1,2}}){_ORD_SUFFIX}\b(?:(,?)\s+(\d{{4}})(?![\w,.]\d|[\w%]))?"
)
_DATE_DAY_FIRST = re.compile(
    rf"(?<![\w.,])(\d{{1,2}}){_ORD_SUFFIX}\s+(?:of\s+)?{_MONTH}\b(\.?)(?:,?\s+(\d{{4}})\b)?"
)
_MONTH_YEAR = re.compile(rf"\b{_MONTH}(\.?)\s+(\d{{4}})(?![\w%]|[.,]\d)")


def month_day(month: int, day: int) -> str:
    """Month and day as spoken: ``month_day(3, 4)`` is "march fourth" (``month`` in 1-12)."""
    return f"{_MONTHS[month - 1]} {ordinal(day)}"


def _month_word(name: str) -> str:
    """Full month names keep their case; abbreviations become the lower-case full name."""
    key = name.lower()
    return name if key in _MONTHS else _MONTHS[_MONTH_ABBR[key] - 1]


def _short_year(s: str) -> str:
    n = int(s)
    return year(n) if len(s) == 4 else ("oh " + cardinal(n) if n < 10 else cardinal(n))


def _date_iso(m: re.Match[str]) -> str | None:
    y, mo, d = (int(g) for g in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{month_day(mo, d)} {year(y)}"


def _date_numeric(m: re.Match[str]) -> str | None:
    a, sep, b, y = m.groups()
    if sep != "/" and len(y) != 4:
        return None
    a_i, b_i = int(a), int(b)
    if 1 <= a_i <= 12 and 1 <= b_i <= 31:
        mo, d = a_i, b_i
    elif 1 <= b_i <= 12 and 1 <= a_i <= 31:
        mo, d = b_i, a_i
    else:
        return None
    return f"{month_day(mo, d)} {_short_year(y)}"


def _date_month_first(m: re.Match[str]) -> str | None:
    month, _dot, day, comma, yr = m.groups()
    if not 1 <= int(day) <= 31:
        return None
    out = f"{_month_word(month)} {ordinal(int(day))}"
    return out + (f"{comma} {year(int(yr))}" if yr else "")


def _date_day_first(m: re.Match[str]) -> str | None:
    day, month, dot, yr = m.groups()
    if not 1 <= int(day) <= 31:
        return None
    prev, _ = previous_word(m.string, m.start())
    article = "" if prev is not None and prev.lower() == "the" else "the "
    out = f"{article}{ordinal(int(day))} of {_month_word(month)}"
    if yr:
        return out + " " + year(int(yr))
    return out + ("." if dot and ends_sentence(m.string, m.end()) else "")


def _month_year(m: re.Match[str]) -> str:
    return f"{_month_word(m.group(1))} {year(int(m.group(3)))}"


DATE_RULES: tuple[Rule, ...] = (
    (_DATE_ISO, _date_iso),
    (_DATE_NUMERIC, _date_numeric),
    (_DATE_MONTH_FIRST, _date_month_first),
    (_DATE_DAY_FIRST, _date_day_first),
    (_MONTH_YEAR, _month_year),
)

# ---------------------------------------------------------------------------------------------
# Ranges
# ---------------------------------------------------------------------------------------------

_YEAR_NUM = r"1[1-9]\d\d|20\d\d"
_YEAR_RANGE = re.compile(
    rf"(?<![\w$\u20ac\u00a3\u00a5.,:/-])({_YEAR_NUM})\s?-\s?({_YEAR_NUM}|\d\d)(?![\w%\u00b0-]|[.,/:]\d)"
)
_RANGE = re.compile(r"(?<=\d)(\s?-\s?)(?=([$\u20ac\u00a3\u00a5]?\.?\d[\d,.]*)(\s*=)?)")


def _year_range(m: re.Match[str]) -> str | None:
    first, second = m.groups()
    if len(second) == 2:
        if int(second) <= int(first[2:]):
            return None
        return f"{year(int(first))} to {_short_year(second)}"
    return f"{year(int(first))} to {year(int(second))}"


def _range(m: re.Match[str]) -> str:
    return " minus " if m.group(3) else " to "


RANGE_RULES: tuple[Rule, ...] = ((_YEAR_RANGE, _year_range), (_RANGE, _range))

# ---------------------------------------------------------------------------------------------
# Times
# ---------------------------------------------------------------------------------------------

_AMPM = r"(?:\s?([AaPp])\.?[Mm]\b(\.?))"
_TIME = re.compile(rf"(?<![\d:.])([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(?![\d:]){_AMPM}?")
_TIME_HOUR = re.compile(rf"(?<![\w:.,])(1[0-2]|0?[1-9]){_AMPM}")


def _ampm(m: re.Match[str], letter: str | None, dot: str | None) -> str:
    if not letter:
        return ""
    period = "." if dot and ends_sentence(m.string, m.end()) else ""
    return f" {letter.lower()} m{period}"


def _time(m: re.Match[str]) -> str:
    hour, minute, second, letter, dot = m.groups()
    h, mi = int(hour), int(minute)
    words = cardinal(h)
    if mi == 0:
        if not letter:
            if h == 0:
                words = "midnight"
            else:
                words += " o'clock" if h <= 12 else " hundred"
    elif mi < 10:
        words += " oh " + cardinal(mi)
    else:
        words += " " + cardinal(mi)
    if second and int(second):
        s = int(second)
        words += f" and {cardinal(s)} second{'' if s == 1 else 's'}"
    return words + _ampm(m, letter, dot)


def _time_hour(m: re.Match[str]) -> str:
    return cardinal(int(m.group(1))) + _ampm(m, m.group(2), m.group(3))


TIME_RULES: tuple[Rule, ...] = ((_TIME, _time), (_TIME_HOUR, _time_hour))

# ---------------------------------------------------------------------------------------------
# Plurals and decades, years
# ---------------------------------------------------------------------------------------------

_NUMBER_PLURAL = re.compile(r"(?<![\w.,$])(')?(\d+)'?s\b")
_ROUND_PLURALS = {100: "hundreds", 1000: "thousands", 10**6: "millions", 10**9: "billions"}

_YEAR = re.compile(rf"(?<![\w$\u20ac\u00a3\u00a5.,:/-])({_YEAR_NUM})(?![\w%\u00b0]|[.,/:-]\d)")
_YEAR_BEFORE = frozenset(
    "in since by year of from until till to through between and during before after around "
    "circa c ca early late mid the summer spring autumn fall winter".split()
)
_YEAR_AFTER = re.compile(
    r"\s*(?:$|[.,;:!?)\"']|(?:was|is|were|will|saw|had|has|brought|began|ended|marked"
    r"|AD|BC|CE|BCE)\b)"
)


def _number_plural(m: re.Match[str]) -> str | None:
    quote, num = m.groups()
    if too_long(num):
        return None
    n = int(num)
    if len(num) == 4 and 1100 <= n <= 2099 and n % 10 == 0:
        return plural(year(n))
    if n in _ROUND_PLURALS and not quote:
        return _ROUND_PLURALS[n]
    return plural(cardinal(n))


def _year_or_none(m: re.Match[str]) -> str | None:
    """Read a 4-digit number in 1100-2099 (written without a comma) as a year, or leave it.

    It is a year when the word before it is one of :data:`_YEAR_BEFORE` (in, since, by,
    year, of, from, until, the, ...) or when it stands alone: nothing but punctuation or the
    end of the text follows, or a verb such as "was" ("1990 was a good year"). Otherwise
    ("1990 apples") it is left for the cardinal rule. "1,990" never reaches this rule.
    Month names before a year are handled by the date rules.
    """
    prev, _ = previous_word(m.string, m.start())
    if (prev is not None and prev.lower() in _YEAR_BEFORE) or _YEAR_AFTER.match(m.string, m.end()):
        return year(int(m.group(1)))
    return None


YEAR_RULES: tuple[Rule, ...] = ((_NUMBER_PLURAL, _number_plural), (_YEAR, _year_or_none))
