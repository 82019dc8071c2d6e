"""Normalization rules for addresses, abbreviations and words written in capitals.

* e-mail addresses and URLs ("john.doe@example.com" -> "john dot doe at example dot com",
  the scheme "https://" is dropped, "www" is spelled);
* abbreviations: titles (Dr., Mr., Mrs., Ms., Prof., Gen., Capt., Lt., Col., Sgt., Mt., ...),
  "St."/"Dr." as saint/doctor or street/drive (see :func:`_saint_or_street`), Jr., Sr.,
  etc., e.g., i.e., vs., approx., "No. 5"/"#5" -> "number five", dotted initialisms
  ("U.S." -> "u s");
* shouted runs (three or more all-caps words in a row, one of them a common word such as
  "THE" or "YOU", or six letters or longer) are lower-cased as plain words;
* roman numerals after names and section words ("Henry VIII", "Chapter IV");
* acronyms: 2-5 capitals are spelled ("FBI" -> "f b i", "CDs" -> "c d's") unless listed
  in :data:`WORD_ACRONYMS` ("NASA" -> "nasa").

Each group is exported as a tuple of rules; :mod:`tts.text.normalize` decides the order.
"""

from __future__ import annotations

import re

from tts.text.numbers import cardinal, digits, ordinal
from tts.text.rules import Rule, ends_sentence, previous_word

__all__ = ["ABBREVIATION_RULES", "ADDRESS_RULES", "CAPITALS_RULES", "WORD_ACRONYMS"]


def _spell(letters: str) -> str:
    return " ".join(letters.lower())


# ---------------------------------------------------------------------------------------------
# E-mail addresses and URLs
# ---------------------------------------------------------------------------------------------

_ADDRESS_SYMBOLS = {
    ".": "dot", "/": "slash", "-": "dash", "_": "underscore", ":": "colon",
    "?": "question mark", "=": "equals", "&": "and", "#": "hash", "~": "tilde",
    "%": "percent", "+": "plus", "@": "at", ",": "comma",
}  # fmt: skip
_ADDRESS_TOKEN = re.compile(r"[a-z]+|\d+|.")
_TLDS = r"com|org|net|edu|gov|mil|int|io|ai|dev|app|info|biz|co|uk|us|ca|de|fr|eu|au|jp"
_EMAIL = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+-]*)@"
    r"([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+)"
)
_URL = re.compile(
    r"(?i)(?<![\w@./])(?:(?:https?|ftp)://|www\.)[^\s<>\"'()\[\]{}]+"
    rf"|(?<![\w@./-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b(?:/[^\s<>\"'()\[\]{{}}]*)?"
)
_SCHEME = re.compile(r"^[a-z]+://")


def _speak_address(s: str) -> str:
    """Read an address fragment: letter runs as words ("www" spelled), digits one by one."""
    words = []
    for tok in _ADDRESS_TOKEN.findall(s.lower()):
        if tok.isdigit():
            words.append(digits(tok))
        elif tok.isalpha():
            words.append(_spell(tok) if tok == "www" else tok)
        elif tok in _ADDRESS_SYMBOLS:
            words.append(_ADDRESS_SYMBOLS[tok])
    return " ".join(words)


def _speak_host(host: str) -> str:
    labels = host.lower().split(".")
    words = [_speak_address(label) for label in labels]
    if labels[-1].isalpha() and len(labels[-1]) <= 2:  # country codes are spelled: "u k"
        words[-1] = _spell(labels[-1])
    return " dot ".join(w for w in words if w)


def _email(m: re.Match[str]) -> str:
    return f"{_speak_address(m.group(1))} at {_speak_host(m.group(2))}"


def _url(m: re.Match[str]) -> str:
    url = m.group()
    body = url.rstrip(".,;:!?")
    trail = url[len(body) :]
    body = _SCHEME.sub("", body.lower()).rstrip("/")
    host, slash, path = body.partition("/")
    spoken = _speak_host(host)
    if slash and path:
        spoken += " slash " + _speak_address(path)
    return spoken + trail


ADDRESS_RULES: tuple[Rule, ...] = ((_EMAIL, _email), (_URL, _url))

# ---------------------------------------------------------------------------------------------
# Abbreviations
# ---------------------------------------------------------------------------------------------

_TITLES = {
    "Mr": "mister", "Mrs": "misses", "Ms": "miz", "Prof": "professor", "Gen": "general",
    "Capt": "captain", "Lt": "lieutenant", "Col": "colonel", "Sgt": "sergeant",
    "Rev": "reverend", "Gov": "governor", "Sen": "senator", "Rep": "representative",
    "Hon": "honorable", "Pres": "president", "Mt": "mount", "Ft": "fort",
}  # fmt: skip
_TITLES_NO_DOT = frozenset({"Mr", "Mrs", "Ms", "Prof"})
_TITLE = re.compile(rf"\b({'|'.join(_TITLES)})\b(?:(\.)|(?=\s+[A-Z]))")
_ST_DR = re.compile(r"\b(St|Dr)\b(\.)?")
_PLAIN_ABBR = {
    "Jr": "junior", "Sr": "senior", "Ave": "avenue", "Blvd": "boulevard", "Rd": "road",
    "Inc": "incorporated", "Ltd": "limited", "Corp": "corporation", "Co": "company",
    "Dept": "department", "etc": "et cetera", "Etc": "et cetera", "approx": "approximately",
    "Approx": "approximately", "vs": "versus", "Vs": "versus",
}  # fmt: skip
_ABBR_NEEDS_DOT = frozenset({"Co", "Dept", "Approx", "Etc", "Ave", "Rd"})
_ABBR_ENDS_SENTENCE = frozenset("Jr Sr Ave Blvd Rd Inc Ltd Corp Co etc Etc".split())
_PLAIN = re.compile(rf"\b({'|'.join(_PLAIN_ABBR)})\b(\.)?")
_LATIN = re.compile(r"(?<![\w.])(?:([Ee])\.\s?[Gg]|([Ii])\.\s?[Ee]|([Aa])\.[Kk]\.[Aa])\.")
_NUMBER_SIGN = re.compile(r"(?<![\w.])(?:[Nn]o\.|#)\s?(?=\d)")
_INITIALISM = re.compile(r"(?<![\w.])((?:[A-Za-z]\.){2,})(?!\w)")


def _title(m: re.Match[str]) -> str | None:
    abbr, dot = m.groups()
    if not dot and abbr not in _TITLES_NO_DOT:
        return None
    at_end = dot is not None and m.string[m.end() :].strip() == ""
    return _TITLES[abbr] + ("." if at_end else "")


def _saint_or_street(m: re.Match[str]) -> str | None:
    """Read "St." as "saint" before a name, "street" after one; "Dr." as doctor or drive.

    It is a place ("Main St.", "42nd St.", "Elm Dr.") when the word before it starts with a
    capital or a digit, unless that word opens the sentence and a capitalised word follows
    ("Visit St. Louis"). Otherwise it is a title ("St. Louis", "I met Dr. Smith").
    """
    abbr, dot = m.groups()
    src = m.string
    next_is_name = re.match(r"\s+[A-Z]", src[m.end() : m.end() + 2]) is not None
    prev, initial = previous_word(src, m.start())
    place = prev is not None and (prev[0].isupper() or prev[0].isdigit())
    place = place and not (initial and next_is_name)
    if not (place or next_is_name or dot):
        return None
    if place:
        word = "street" if abbr == "St" else "drive"
        return word + ("." if dot and ends_sentence(src, m.end()) else "")
    return "saint" if abbr == "St" else "doctor"


def _plain_abbr(m: re.Match[str]) -> str | None:
    abbr, dot = m.groups()
    if not dot and abbr in _ABBR_NEEDS_DOT:
        return None
    keep = (
        dot
        and abbr in _ABBR_ENDS_SENTENCE
        and ends_sentence(m.string, m.end())
        and m.string[: m.start()].strip() != ""  # "Sr. Garcia" opens the text: a title
    )
    return _PLAIN_ABBR[abbr] + ("." if keep else "")


def _latin(m: re.Match[str]) -> str:
    if m.group(1):
        return "for example"
    return "that is" if m.group(2) else "also known as"


def _number_sign(m: re.Match[str]) -> str:
    return "number "


def _initialism(m: re.Match[str]) -> str:
    letters = m.group(1).replace(".", "")
    at_end = m.string[m.end() :].strip() == ""
    return _spell(letters) + ("." if at_end else "")


ABBREVIATION_RULES: tuple[Rule, ...] = (
    (_LATIN, _latin),
    (_TITLE, _title),
    (_ST_DR, _saint_or_street),
    (_PLAIN, _plain_abbr),
    (_NUMBER_SIGN, _number_sign),
    (_INITIALISM, _initialism),
)

# ---------------------------------------------------------------------------------------------
# Shouting, roman numerals, acronyms
# ---------------------------------------------------------------------------------------------

_SHOUT = re.compile(r"(?<![\w'])[A-Z][A-Z']*(?:[ ,;:-]+[A-Z][A-Z']*){2,}(?![\w'])")
_SHOUT_TOKEN = re.compile(r"[A-Z']+")
#: Short words whose presence marks a run of capitals as shouted text rather than acronyms.
_SHOUT_WORDS = frozenset(
    "I A THE AND OR BUT IS ARE WAS WERE BE TO OF IN ON AT FOR WITH YOU ME MY WE OUR "
    "THIS THAT NOT NO YES DO DONT I'M IT'S CAN ALL NOW SO GET GO STOP HELP WHAT WHY HOW LOVE".split()
)

_ROMAN = re.compile(r"(?<![\w'-])([IVXLCDM]{1,7})(?=(?:'s)?(?![\w']))")
_ROMAN_VALID = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_SECTION_WORDS = frozenset(
    "chapter part volume vol book act scene section article phase episode season appendix "
    "round level war stage type class grade title bowl unit lesson psalm canto tier category "
    "amendment step".split()
)
_REGNAL_NAMES = frozenset(
    "Henry Edward George William Elizabeth Charles James Richard Mary Louis Philip Peter "
    "Catherine Alexander Nicholas Frederick John Paul Pius Leo Gregory Benedict Innocent "
    "Clement Napoleon Victor Ferdinand Francis Joseph Anne Alfonso Carlos Juan Felipe Harald "
    "Olaf Gustav Christian Wilhelm Otto Rudolf Stephen Ivan Ramesses Ptolemy Constantine".split()
)
_CLAUSE_END = re.compile(r"\s*(?:$|[.,;:!?)'\"])")
_ROMAN_NOT_AFTER_NAMES = frozenset({"XL", "LI", "LV"})

#: All-caps words read as words, not spelled letter by letter (output in lower case).
WORD_ACRONYMS = frozenset(
    "NASA NATO UNESCO SCUBA LASER RADAR SONAR AIDS OPEC FIFA UNICEF COVID SARS MERS NAFTA "
    "DARPA FEMA OSHA NASDAQ ASCII IKEA LEGO UNIX GIF JPEG PNG CAPTCHA ASEAN INTERPOL "
    "BAFTA OFCOM NIMBY YOLO ZIP RAM ROM LAN WAN SIM GIS TESOL TOEFL".split()
)
_ACRONYM = re.compile(r"(?<![\w'])([A-Z]{2,})('s|s)?(?![\w'])")


def _shout(m: re.Match[str]) -> str | None:
    tokens = _SHOUT_TOKEN.findall(m.group())
    if not any(t in _SHOUT_WORDS or (len(t) >= 6 and t not in WORD_ACRONYMS) for t in tokens):
        return None
    return _SHOUT_TOKEN.sub(
        lambda t: (
            t.group() if len(t.group()) > 1 and _roman_value(t.group()) else t.group().lower()
        ),
        m.group(),
    )


def _roman_value(tok: str) -> int:
    """Value of a strictly written roman numeral, 0 if ``tok`` is not one."""
    if not tok or _ROMAN_VALID.fullmatch(tok) is None:
        return 0
    total = 0
    for i, c in enumerate(tok):
        v = _ROMAN_VALUES[c]
        total += -v if i + 1 < len(tok) and _ROMAN_VALUES[tok[i + 1]] > v else v
    return total


def _roman(m: re.Match[str]) -> str | None:
    tok = m.group(1)
    value = _roman_value(tok)
    if not value:
        return None
    prev, _ = previous_word(m.string, m.start())
    if prev is None:
        return None
    if prev.lower() in _SECTION_WORDS and (len(tok) > 1 or tok in "IVX"):
        return cardinal(value)
    if prev == "the" and len(tok) > 1 and set(tok) <= set("IVXL"):
        return ordinal(value)
    if not (prev[0].isupper() and not prev.isupper()):
        return None
    if len(tok) == 1:
        # "Charles V", "Elizabeth I." but not the pronoun in "Mary I love you".
        pronoun = tok == "I" and _CLAUSE_END.match(m.string, m.end()) is None
        regnal = prev in _REGNAL_NAMES and tok in "IVX" and not pronoun
        return "the " + ordinal(value) if regnal else None
    if set(tok) <= set("IVXL") and tok not in _ROMAN_NOT_AFTER_NAMES:
        return "the " + ordinal(value)
    return None


def _acronym(m: re.Match[str]) -> str | None:
    letters, suffix = m.groups()
    if letters in WORD_ACRONYMS:
        return letters.lower() + (suffix or "")
    if len(letters) > 5:
        return None
    return _spell(letters) + ("'s" if suffix else "")


#: Shouted runs are lower-cased first, so that their words are not spelled as acronyms.
CAPITALS_RULES: tuple[Rule, ...] = ((_SHOUT, _shout), (_ROMAN, _roman), (_ACRONYM, _acronym))
