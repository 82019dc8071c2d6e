"""Tests for tts.text.normalize: table-driven (input, expected) cases per category."""

from __future__ import annotations

import random
import re
import time
import warnings

import pytest

from tts.text.normalize import UnknownCharacterWarning, normalize

CARDINALS = [
    ("0", "zero"),
    ("13", "thirteen"),
    ("105", "one hundred five"),
    ("1,234,567", "one million two hundred thirty four thousand five hundred sixty seven"),
    ("7,000,000,000", "seven billion"),
    ("3,000,000,000,000", "three trillion"),
    ("There are 42 cats.", "There are forty two cats."),
    ("007", "zero zero seven"),
]

ORDINALS = [
    ("1st", "first"),
    ("2nd", "second"),
    ("3rd", "third"),
    ("12th", "twelfth"),
    ("22nd", "twenty second"),
    ("101st", "one hundred first"),
    ("the 21st century", "the twenty first century"),
]

DECIMALS_NEGATIVES = [
    ("3.14", "three point one four"),
    ("0.5", "zero point five"),
    ("-5", "minus five"),
    ("-2.75", "minus two point seven five"),
    ("version 1.2.3", "version one dot two dot three"),
]

FRACTIONS = [
    ("1/2", "one half"),
    ("3/4", "three quarters"),
    ("2/3", "two thirds"),
    ("1/3", "one third"),
    ("5/8", "five eighths"),
    ("5 1/2", "five and a half"),
    ("2 3/4", "two and three quarters"),
    ("1/2 kg", "one half of a kilogram"),
    ("open 24/7", "open twenty four seven"),
]

PERCENTAGES = [
    ("50%", "fifty percent"),
    ("3.5%", "three point five percent"),
    ("-2%", "minus two percent"),
]

MONEY = [
    ("$5.50", "five dollars fifty cents"),
    ("$1", "one dollar"),
    ("$0.99", "ninety nine cents"),
    ("$1.01", "one dollar one cent"),
    ("\u00a33.20", "three pounds twenty pence"),
    ("\u00a31", "one pound"),
    ("\u20ac10", "ten euros"),
    ("\u20ac1.01", "one euro one cent"),
    ("10\u20ac", "ten euros"),
    ("$1.2 million", "one point two million dollars"),
    ("$3bn", "three billion dollars"),
    ("$5k", "five thousand dollars"),
    ("$1,000,000", "one million dollars"),
    ("It cost 75\u00a2.", "It cost seventy five cents."),
    ("$5-$10", "five dollars to ten dollars"),
]

YEARS = [
    ("in 1990", "in nineteen ninety"),
    ("2005", "two thousand five"),
    ("1900", "nineteen hundred"),
    ("2010", "twenty ten"),
    ("1905", "nineteen oh five"),
    ("the 1980s", "the nineteen eighties"),
    ("the '90s", "the nineties"),
    ("in her 30s", "in her thirties"),
    ("since 1776,", "since seventeen seventy six,"),
    ("1990 apples", "one thousand nine hundred ninety apples"),
    ("1,990", "one thousand nine hundred ninety"),
    ("from 1990 to 2000", "from nineteen ninety to two thousand"),
    ("1990-1995", "nineteen ninety to nineteen ninety five"),
    ("1990 was great.", "nineteen ninety was great."),
    ("It was May 2020.", "It was May twenty twenty."),
]

DATES = [
    ("Jan. 5th", "january fifth"),
    ("January 5, 2021", "January fifth, twenty twenty one"),
    ("12/25/1990", "december twenty fifth nineteen ninety"),
    ("25/12/1990", "december twenty fifth nineteen ninety"),
    ("12/25/05", "december twenty fifth oh five"),
    ("2021-03-04", "march fourth twenty twenty one"),
    ("on 5 January 2021", "on the fifth of January twenty twenty one"),
    ("the 4th of July", "the fourth of July"),
]

TIMES = [
    ("10:30 am", "ten thirty a m"),
    ("3:05 PM", "three oh five p m"),
    ("7:00", "seven o'clock"),
    ("14:45", "fourteen forty five"),
    ("14:00", "fourteen hundred"),
    ("at 5pm.", "at five p m."),
    ("We left at 9 a.m. Then it rained.", "We left at nine a m. Then it rained."),
]

PHONES = [
    ("555-123-4567", "five five five, one two three, four five six seven"),
    ("(555) 123-4567", "five five five, one two three, four five six seven"),
    ("+1 555 123 4567", "plus one, five five five, one two three, four five six seven"),
    ("Call 555-1234 now", "Call five five five, one two three four now"),
]

UNITS = [
    ("1 kg", "one kilogram"),
    ("5 km", "five kilometers"),
    ("2.5 m", "two point five meters"),
    ("10 cm", "ten centimeters"),
    ("5 mm", "five millimeters"),
    ("3 mi", "three miles"),
    ("6 ft", "six feet"),
    ("1 ft", "one foot"),
    ("12in", "twelve inches"),
    ("The screen is 15 in.", "The screen is fifteen inches."),
    ("Count to 5 in French.", "Count to five in French."),
    ("1 lb", "one pound"),
    ("150 lbs", "one hundred fifty pounds"),
    ("60 mph", "sixty miles per hour"),
    ("100 km/h", "one hundred kilometers per hour"),
    ("25 \u00b0C", "twenty five degrees celsius"),
    ("-1 \u00b0C", "minus one degree celsius"),
    ("98.6\u00b0F", "ninety eight point six degrees fahrenheit"),
    ("250 ml", "two hundred fifty milliliters"),
    ("2 l", "two liters"),
    ("1 s", "one second"),
    ("500 ms", "five hundred milliseconds"),
    ("5 min", "five minutes"),
    ("2 h", "two hours"),
    ("16 GB", "sixteen gigabytes"),
    ("512 MB", "five hundred twelve megabytes"),
    ("44.1 kHz", "forty four point one kilohertz"),
    ("60 Hz", "sixty hertz"),
    ("5-10 kg", "five to ten kilograms"),
]

ABBREVIATIONS = [
    ("Dr. Smith", "doctor Smith"),
    ("Mr. and Mrs. Jones", "mister and misses Jones"),
    ("Ms. Lee", "miz Lee"),
    ("St. Louis", "saint Louis"),
    ("Main St.", "Main street."),
    ("Visit St. Louis today.", "Visit saint Louis today."),
    (
        "He lives at 42nd St. and Elm Dr. in Boston.",
        "He lives at forty second street and Elm drive in Boston.",
    ),
    ("Prof. Xavier", "professor Xavier"),
    ("Gen. Grant", "general Grant"),
    ("Capt. Kirk", "captain Kirk"),
    ("Lt. Dan", "lieutenant Dan"),
    ("Col. Sanders", "colonel Sanders"),
    ("Sgt. Pepper", "sergeant Pepper"),
    ("Mt. Everest", "mount Everest"),
    (
        "Martin Luther King Jr. was born in 1929.",
        "Martin Luther King junior was born in nineteen twenty nine.",
    ),
    ("Sammy Davis Sr.", "Sammy Davis senior."),
    ("Lakers vs. Celtics", "Lakers versus Celtics"),
    ("apples, pears, etc.", "apples, pears, et cetera."),
    ("fruits, e.g., apples", "fruits, for example, apples"),
    ("one thing, i.e., this", "one thing, that is, this"),
    ("approx. 5 kg", "approximately five kilograms"),
    ("No. 5", "number five"),
    ("The U.S. economy grew.", "The u s economy grew."),
]

ACRONYMS = [
    ("FBI", "f b i"),
    ("USA", "u s a"),
    ("NASA", "nasa"),
    ("NATO", "nato"),
    ("UNESCO", "unesco"),
    ("CDs", "c d's"),
    ("the FBI's report", "the f b i's report"),
    ("I think A is right", "I think A is right"),
    ("TV and DVD", "t v and d v d"),
    ("FBI, CIA and NSA", "f b i, c i a and n s a"),
    ("I LOVE YOU SO MUCH", "i love you so much"),
    ("5 GB of RAM", "five gigabytes of ram"),
]

SYMBOLS = [
    ("Tom & Jerry", "Tom and Jerry"),
    ("email me @ home", "email me at home"),
    ("2 + 2 = 4", "two plus two equals four"),
    ("10 - 5 = 5", "ten minus five equals five"),
    ("#1 fan", "number one fan"),
    ("3x4", "three times four"),
    ("2x faster", "two times faster"),
    ("pages 5-10", "pages five to ten"),
]

ROMAN = [
    ("Henry VIII", "Henry the eighth"),
    ("Louis XIV", "Louis the fourteenth"),
    ("Elizabeth II", "Elizabeth the second"),
    ("Chapter IV", "Chapter four"),
    ("King Henry VIII's wives", "King Henry the eighth's wives"),
    ("World War II", "World War two"),
    ("Elizabeth I.", "Elizabeth the first."),
    ("Then I left.", "Then I left."),
    ("Mary I love you", "Mary I love you"),
    ("Charles V was emperor.", "Charles the fifth was emperor."),
    ("a MIX of CIVIL rights", "a m i x of c i v i l rights"),
    ("Henry MIX", "Henry m i x"),
]

ADDRESSES = [
    ("john.doe@example.com", "john dot doe at example dot com"),
    ("jane_doe99@mail.co.uk", "jane underscore doe nine nine at mail dot co dot u k"),
    ("https://www.example.org/path", "w w w dot example dot org slash path"),
    (
        "http://example.com/a-b/c_d?x=1",
        "example dot com slash a dash b slash c underscore d question mark x equals one",
    ),
    ("Visit example.com today.", "Visit example dot com today."),
]

TEXT = [
    ("caf\u00e9", "cafe"),
    ("se\u00f1or", "senor"),
    ("\u00dcber", "Uber"),
    ("na\u00efve fa\u00e7ade", "naive facade"),
    ("stra\u00dfe", "strasse"),
    (
        "\u201cquoted\u201d \u2018single\u2019 \u2013 dash \u2014 em",
        "\"quoted\" 'single' - dash - em",
    ),
    ("Wait\u2026 what?!", "Wait... what?!"),
    ("Hello, world; fine: yes!", "Hello, world; fine: yes!"),
    ("(parenthetical)", "(parenthetical)"),
    ("  lots \t of\n\n space  ", "lots of space"),
    ("well-known", "well-known"),
]

SENTENCES = [
    (
        "On Jan. 5th, 2021 at 10:30 am, Dr. Smith paid $1,234.56 for 3.5 kg of apples.",
        "On january fifth, twenty twenty one at ten thirty a m, doctor Smith paid one thousand "
        "two hundred thirty four dollars fifty six cents for three point five kilograms of apples.",
    ),
    (
        "The FBI and NASA met in 1990; call 555-123-4567.",
        "The f b i and nasa met in nineteen ninety; call five five five, one two three, "
        "four five six seven.",
    ),
]

CASES = (
    CARDINALS
    + ORDINALS
    + DECIMALS_NEGATIVES
    + FRACTIONS
    + PERCENTAGES
    + MONEY
    + YEARS
    + DATES
    + TIMES
    + PHONES
    + UNITS
    + ABBREVIATIONS
    + ACRONYMS
    + SYMBOLS
    + ROMAN
    + ADDRESSES
    + TEXT
    + SENTENCES
)

# Only letters, spaces and the prosody punctuation may come out.
_OUTPUT_ALPHABET = re.compile(r"[A-Za-z .,?!;:'\"()-]*")


def test_enough_cases() -> None:
    assert len(CASES) >= 100
    assert len({text for text, _ in CASES}) == len(CASES), "duplicate inputs in the tables"


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_normalize(text: str, expected: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownCharacterWarning)
        assert normalize(text) == expected


@pytest.mark.parametrize("text", ["", " ", "\t\n  \r\n"])
def test_empty_input(text: str) -> None:
    assert normalize(text) == ""


@pytest.mark.parametrize(
    ("text", "expected", "dropped"),
    [
        ("Hello \U0001f600 world", "Hello world", ["\U0001f600"]),
        ("Tokyo \u6771\u4eac", "Tokyo", ["\u6771", "\u4eac"]),
        ("\u041c\u043e\u0441\u043a\u0432\u0430 is Moscow", "is Moscow", ["\u041c", "\u043e"]),
        ("\u0645\u0631\u062d\u0628\u0627 hi", "hi", ["\u0645"]),
        ("only \U0001f44d\U0001f3fd", "only", ["\U0001f44d", "\U0001f3fd"]),
    ],
)
def test_unknown_characters_warn(text: str, expected: str, dropped: list[str]) -> None:
    with pytest.warns(UnknownCharacterWarning) as record:
        assert normalize(text) == expected
    message = str(record[0].message)
    for char in dropped:
        assert char in message
        assert f"U+{ord(char):04X}" in message


def test_unknown_character_warning_is_user_warning() -> None:
    assert issubclass(UnknownCharacterWarning, UserWarning)


def test_known_characters_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        normalize(
            "Cr\u00e8me br\u00fbl\u00e9e \u2014 \u201cna\u00efve\u201d \u2026 25 \u00b0C, \u20ac5, \u00a33"
        )


def test_rejects_non_string() -> None:
    with pytest.raises(TypeError):
        normalize(None)  # type: ignore[arg-type]


def _random_string(rng: random.Random) -> str:
    pieces = "abcXYZ 0123456789.,:;/-$\u20ac\u00a3%\u00b0@#&+=()'\"!?xIVMCD\t\n"
    out = []
    for _ in range(rng.randint(0, 80)):
        roll = rng.random()
        if roll < 0.25:
            out.append(chr(rng.randint(0, 0x10FFFF)))  # any code point, surrogates included
        elif roll < 0.35:
            out.append(chr(rng.randint(0x80, 0x2FFF)))  # Latin-1, Greek, Cyrillic, symbols, CJK
        else:
            out.append(rng.choice(pieces))
    return "".join(out)


def test_fuzz_never_crashes() -> None:
    rng = random.Random(1234)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownCharacterWarning)
        for _ in range(500):
            text = _random_string(rng)
            out = normalize(text)
            assert isinstance(out, str)
            assert _OUTPUT_ALPHABET.fullmatch(out), (text, out)
            assert out == out.strip() and "  " not in out


@pytest.mark.parametrize(
    "text",
    ["1" * 5000, "$" + "9" * 5000, "1" * 30 + "st", "1/" * 2000, "a." * 3000, "AB " * 2000],
)
def test_pathological_inputs(text: str) -> None:
    out = normalize(text)
    assert _OUTPUT_ALPHABET.fullmatch(out)


def test_long_text_is_fast() -> None:
    paragraph = (
        "On Jan. 5th, 2021 at 10:30 am, Dr. Smith paid $1,234.56 for 3.5 kg of apples at "
        "42nd St. The FBI and NASA met in 1990; call 555-123-4567 or visit "
        "https://www.example.org/path. Henry VIII had 6 wives, approx. 50% of them unlucky! "
    )
    text = (paragraph * (10_000 // len(paragraph) + 1))[:10_000]
    assert len(text) == 10_000
    normalize(text[:500])  # warm up
    start = time.perf_counter()
    out = normalize(text)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"10,000 characters took {elapsed:.2f} s"
    assert not re.search(r"\d", out)
    assert _OUTPUT_ALPHABET.fullmatch(out)
