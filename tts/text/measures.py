"""Normalization rules for phone numbers, money, fractions, units and plain numbers.

* phone numbers ("555-123-4567", "(555) 123-4567", "+1 555 123 4567"): digits one by one,
  groups separated by commas;
* money: $, EUR, GBP, JPY signs with cents/pence and scales ("$1.2 million", "$3bn");
* dotted versions/IP addresses, fractions ("3/4", "5 1/2"), "3x4" -> "3 times 4";
* numbers with units ("5 km", "1 kg", "50%", "-5 °C"); "in" is read as inches only when
  attached ("12in") or at the end of a clause ("12 in.");
* ordinals ("22nd"), then every remaining number (negatives, decimals, "1,234,567").

Each group is exported as a tuple of rules; :mod:`tts.text.normalize` decides the order.
"""

from __future__ import annotations

import re

from tts.text.dates import month_day
from tts.text.numbers import cardinal, digits, fraction, number, ordinal
from tts.text.rules import Rule, too_long

__all__ = [
    "FRACTION_RULES",
    "LOCAL_PHONE_RULES",
    "MONEY_RULES",
    "NUMBER_RULES",
    "PHONE_RULES",
    "UNIT_RULES",
]

_NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+"
_INT = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"

# ---------------------------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![\w+])(?:(\+\d{1,3})[\s.-]?)?(?:\((\d{3})\)\s?|(\d{3})[\s.-])(\d{3})[\s.-](\d{4})(?![\w-])"
)
_PHONE_INTL = re.compile(r"(?<![\w+])\+(\d{1,3})((?:[\s.-]\d{2,4}){2,5})(?![\w-])")
_PHONE_LOCAL = re.compile(r"(?<![\w.,-])(\d{3})-(\d{4})(?![\w-]|[.,]\d)")


def _phone(m: re.Match[str]) -> str:
    groups = [g for g in m.groups() if g]
    return ", ".join(("plus " + digits(g)) if g.startswith("+") else digits(g) for g in groups)


def _phone_intl(m: re.Match[str]) -> str:
    groups = re.split(r"[\s.-]+", m.group(2).strip(" .-"))
    return ", ".join(["plus " + digits(m.group(1))] + [digits(g) for g in groups])


PHONE_RULES: tuple[Rule, ...] = ((_PHONE, _phone), (_PHONE_INTL, _phone_intl))
#: A bare local number ("867-5309"); the pipeline applies it after the date rules.
LOCAL_PHONE_RULES: tuple[Rule, ...] = ((_PHONE_LOCAL, _phone),)

# ---------------------------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------------------------

_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "\u20ac": ("euro", "euros", "cent", "cents"),
    "\u00a3": ("pound", "pounds", "penny", "pence"),
    "\u00a5": ("yen", "yen", None, None),
}
_SCALE_WORDS = {
    "thousand": "thousand", "k": "thousand", "million": "million", "m": "million",
    "mn": "million", "billion": "billion", "b": "billion", "bn": "billion",
    "trillion": "trillion", "tn": "trillion",
}  # fmt: skip
_MONEY_PREFIX = re.compile(
    rf"(?<![\w.])(-)?([$\u20ac\u00a3\u00a5])\s?({_INT})(?:\.(\d+))?"
    r"(?:\s?((?i:thousand|million|billion|trillion|bn|mn|tn|k|m|b))(?!\w))?"
)
_MONEY_SUFFIX = re.compile(rf"(?<![\w.])(-)?({_INT})(?:\.(\d+))?\s?([\u20ac\u00a3\u00a5\u00a2])")


def _money_words(
    sign: str | None, symbol: str, whole: str, frac: str | None, scale: str | None
) -> str:
    one, many, sub_one, sub_many = _CURRENCIES[symbol]
    amount = whole + ("." + frac if frac else "")
    minus = "minus " if sign else ""
    if scale:
        return f"{minus}{number(amount)} {_SCALE_WORDS[scale.lower()]} {many}"
    if frac and (len(frac) > 2 or sub_one is None):
        return f"{minus}{number(amount)} {many}"
    units = int(whole.replace(",", ""))
    cents = int(frac.ljust(2, "0")) if frac else 0
    parts = []
    if units or not cents:
        parts.append(f"{number(whole)} {one if units == 1 else many}")
    if cents:
        parts.append(f"{cardinal(cents)} {sub_one if cents == 1 else sub_many}")
    return minus + " ".join(parts)


def _money_prefix(m: re.Match[str]) -> str | None:
    sign, symbol, whole, frac, scale = m.groups()
    if too_long(whole.replace(",", ""), frac):
        return None
    return _money_words(sign, symbol, whole, frac, scale)


def _money_suffix(m: re.Match[str]) -> str | None:
    sign, whole, frac, symbol = m.groups()
    if too_long(whole.replace(",", ""), frac):
        return None
    if symbol == "\u00a2":
        amount = whole + ("." + frac if frac else "")
        return f"{'minus ' if sign else ''}{number(amount)} cent{'' if amount == '1' else 's'}"
    return _money_words(sign, symbol, whole, frac, None)


MONEY_RULES: tuple[Rule, ...] = ((_MONEY_PREFIX, _money_prefix), (_MONEY_SUFFIX, _money_suffix))

# ---------------------------------------------------------------------------------------------
# Versions, fractions, multiplication
# ---------------------------------------------------------------------------------------------

_VERSION = re.compile(r"(?<![\w.])\d+(?:\.\d+){2,}(?![\w]|\.\d)")
_FRACTION = re.compile(r"(?<![\w/.,])(?:(\d+)\s+)?(\d+)/(\d+)(?![\w/]|[.,]\d)")
_FRACTION_DENOMINATORS = frozenset({2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 32, 64, 100})
_FRACTION_IDIOMS = {"24/7": "twenty four seven", "50/50": "fifty fifty", "9/11": "nine eleven"}
_TIMES = re.compile(r"(?<=\d)\s?[x\u00d7]\s?(?=\.?\d)|(?<=\d)[x\u00d7](?!\w)")


def _version(m: re.Match[str]) -> str:
    return " dot ".join(number(part) for part in m.group().split("."))


def _fraction(m: re.Match[str]) -> str | None:
    if too_long(*m.groups()):
        return None
    return _fraction_words(*m.groups())


def _fraction_words(whole: str | None, num_s: str, den_s: str) -> str:
    """Words for "3/4" (three quarters) or "5 1/2" (five and a half).

    Denominators outside the common ones read "9/25" as a month/day date, else "3 over 45".
    """
    num, den = int(num_s), int(den_s)
    key = f"{num_s}/{den_s}"
    if whole is None and key in _FRACTION_IDIOMS:
        return _FRACTION_IDIOMS[key]
    if den in _FRACTION_DENOMINATORS:
        if whole is None:
            return fraction(num, den)
        part = fraction(num, den)
        if num == 1:
            part = "a " + part.split(" ", 1)[1]
        return f"{number(whole)} and {part}"
    prefix = number(whole) + " " if whole else ""
    if whole is None and 1 <= num <= 12 and 1 <= den <= 31:
        return month_day(num, den)
    return f"{prefix}{cardinal(num)} over {cardinal(den)}"


def _times(m: re.Match[str]) -> str:
    return " times "


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------

_UNITS = {
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "m/s": ("meter per second", "meters per second"),
    "\u00b0C": ("degree celsius", "degrees celsius"),
    "\u00b0F": ("degree fahrenheit", "degrees fahrenheit"),
    "\u00b0": ("degree", "degrees"),
    "%": ("percent", "percent"),
    "kg": ("kilogram", "kilograms"),
    "g": ("gram", "grams"),
    "mg": ("milligram", "milligrams"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "km": ("kilometer", "kilometers"),
    "m": ("meter", "meters"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "mi": ("mile", "miles"),
    "ft": ("foot", "feet"),
    "yd": ("yard", "yards"),
    "m\u00b2": ("square meter", "square meters"),
    "km\u00b2": ("square kilometer", "square kilometers"),
    "cm\u00b2": ("square centimeter", "square centimeters"),
    "ft\u00b2": ("square foot", "square feet"),
    "m\u00b3": ("cubic meter", "cubic meters"),
    "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"),
    "l": ("liter", "liters"),
    "L": ("liter", "liters"),
    "s": ("second", "seconds"),
    "sec": ("second", "seconds"),
    "ms": ("millisecond", "milliseconds"),
    "min": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "KB": ("kilobyte", "kilobytes"),
    "kB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "kW": ("kilowatt", "kilowatts"),
    "kcal": ("kilocalorie", "kilocalories"),
}
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_UNIT = re.compile(
    rf"(?<![\w./])((?:(?<![\w.-])-)?(?:{_NUM}))\s?({_UNIT_ALT})(?![\w/\u00b2\u00b3])"
)
_INCH = re.compile(rf"(?<![\w./])((?:(?<![\w.-])-)?(?:{_NUM}))(?:in\b|\s?in(?=\s*(?:[.,;:!?)]|$)))")
_FRACTION_UNIT = re.compile(
    rf"(?<![\w/.,])(?:(\d+)\s+)?(\d+)/(\d+)\s?({_UNIT_ALT})(?![\w/\u00b2\u00b3])"
)


def _quantity(num: str, one: str, many: str) -> str:
    return f"{number(num)} {one if num.lstrip('-') == '1' else many}"


def _unit(m: re.Match[str]) -> str:
    return _quantity(m.group(1), *_UNITS[m.group(2)])


def _inch(m: re.Match[str]) -> str:
    return _quantity(m.group(1), "inch", "inches")


def _fraction_unit(m: re.Match[str]) -> str | None:
    """Fraction with a unit: "1/2 kg" -> "one half of a kilogram", "2 1/2 km" -> "... kilometers"."""
    whole, num, den, unit = m.groups()
    if too_long(whole, num, den) or int(den) not in _FRACTION_DENOMINATORS:
        return None
    one, many = _UNITS[unit]
    amount = _fraction_words(whole, num, den)
    if whole or unit == "%":
        return f"{amount} {many}"
    article = "an" if one[0] in "aeiou" or one.startswith("hour") else "a"
    return f"{amount} of {article} {one}"


#: Versions, fractions (with a unit first) and multiplication, before units and numbers.
FRACTION_RULES: tuple[Rule, ...] = (
    (_VERSION, _version),
    (_FRACTION_UNIT, _fraction_unit),
    (_FRACTION, _fraction),
    (_TIMES, _times),
)
UNIT_RULES: tuple[Rule, ...] = ((_UNIT, _unit), (_INCH, _inch))

# ---------------------------------------------------------------------------------------------
# Ordinals and plain numbers
# ---------------------------------------------------------------------------------------------

_ORDINAL = re.compile(rf"(?<![\w.])({_INT})(?i:st|nd|rd|th)\b")
_NUMBER = re.compile(rf"(?:(?<![\w.-])-)?(?:{_NUM})")


def _ordinal(m: re.Match[str]) -> str | None:
    n = m.group(1).replace(",", "")
    return None if too_long(n) else ordinal(int(n))


def _number(m: re.Match[str]) -> str:
    return number(m.group())


NUMBER_RULES: tuple[Rule, ...] = ((_ORDINAL, _ordinal), (_NUMBER, _number))
