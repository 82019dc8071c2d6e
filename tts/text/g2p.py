"""Grapheme-to-phoneme conversion: text -> list of symbol tokens.

Two backends:

* ``"g2p_en"`` (English only): ARPAbet phonemes with stress digits (``"HH", "AH0", "L", "OW1"``)
  from the CMU dictionary, g2p-en's neural model for out-of-vocabulary words, and a POS-tagged
  homograph table (g2p-en's, with its inverted and wrong entries corrected, see
  :data:`HOMOGRAPH_FIXES`).
* ``"espeak"`` (any espeak-ng language): IPA from phonemizer's espeak backend, one token per
  Unicode character (stress marks ``ˈ ˌ`` and the length mark ``ː`` are tokens of their own).

Both backends return the same token shape: words separated by the token ``" "``, and the
prosody punctuation tokens ``, . ? ! ; : -`` attached to the word before them (a run of marks
is reduced to the strongest, so a sentence-final ``?`` always survives; ``...`` becomes ``.``,
brackets become ``,``, quotes are dropped).

Nothing heavy is imported here at module import: g2p-en, nltk and phonemizer load on first use.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import types
import unicodedata
from typing import NamedTuple

from tts.errors import TextError

__all__ = ["to_phonemes", "BACKENDS", "PUNCTUATION", "WORD_SEPARATOR", "HOMOGRAPH_FIXES"]

BACKENDS = ("g2p_en", "espeak")
WORD_SEPARATOR = " "
# Prosody punctuation tokens, strongest first: a run of marks collapses to the strongest one.
PUNCTUATION = ("?", "!", ".", ";", ":", "-", ",")
_PUNCT_RANK = {p: i for i, p in enumerate(PUNCTUATION)}
_SENTENCE_END = {"?", "!", "."}
_G2P_EN_LANGUAGES = ("en", "en-us", "en_us", "en-gb", "en_gb", "en-uk")

# ---------------------------------------------------------------------------------------------
# Homographs
#
# g2p-en resolves a homograph with a table ``word -> (pron1, pron2, pos1)``: pron1 when the
# Penn-Treebank tag starts with pos1, pron2 otherwise. ``str.startswith`` also takes a tuple, so
# pos1 may be a tuple of prefixes. These entries replace or extend g2p-en's homographs.en on the
# G2p instance (the installed package is not modified).
# ---------------------------------------------------------------------------------------------
_V = "V"  # any verb tag: VB VBD VBG VBN VBP VBZ
HOMOGRAPH_FIXES: dict[str, tuple[str, str, str | tuple[str, ...]]] = {
    # -- inverted in g2p-en (the verb reading was given to the noun/adjective) --
    "read": ("R EH1 D", "R IY1 D", ("VBD", "VBN")),  # was: VBD -> R IY1 D (inverted)
    "analyses": ("AE1 N AH0 L AY2 Z IH0 Z", "AH0 N AE1 L AH0 S IY2 Z", _V),
    "articulate": ("AA0 R T IH1 K Y AH0 L EY2 T", "AA0 R T IH1 K Y AH0 L AH0 T", _V),
    "blessed": ("B L EH1 S T", "B L EH1 S IH0 D", "VBD"),
    "certificate": ("S ER0 T IH1 F IH0 K EY2 T", "S ER0 T IH1 F IH0 K AH0 T", _V),
    "counterbalance": ("K AW2 N T ER0 B AE1 L AH0 N S", "K AW1 N T ER0 B AE2 L AH0 N S", _V),
    "dogged": ("D AO1 G D", "D AO1 G IH0 D", _V),
    "exploit": ("IH0 K S P L OY1 T", "EH1 K S P L OY2 T", _V),
    "exploits": ("IH0 K S P L OY1 T S", "EH1 K S P L OY2 T S", _V),
    "fragment": ("F R AE0 G M EH1 N T", "F R AE1 G M AH0 N T", _V),
    "imprint": ("IH2 M P R IH1 N T", "IH1 M P R IH0 N T", _V),
    "learned": ("L ER1 N D", "L ER1 N IH0 D", _V),
    "misconduct": ("M IH2 S K AH0 N D AH1 K T", "M IH0 S K AA1 N D AH0 K T", _V),
    "misuse": ("M IH0 S Y UW1 Z", "M IH0 S Y UW1 S", _V),
    "mouth": ("M AW1 DH", "M AW1 TH", _V),
    "object": ("AH0 B JH EH1 K T", "AA1 B JH EH0 K T", _V),
    "pontificate": ("P AA0 N T IH1 F AH0 K EY2 T", "P AA0 N T IH1 F AH0 K AH0 T", _V),
    "precipitate": ("P R IH0 S IH1 P IH0 T EY2 T", "P R IH0 S IH1 P IH0 T AH0 T", _V),
    "predicate": ("P R EH1 D IH0 K EY2 T", "P R EH1 D IH0 K AH0 T", _V),
    "rebel": ("R IH0 B EH1 L", "R EH1 B AH0 L", _V),
    "segment": ("S EH0 G M EH1 N T", "S EH1 G M AH0 N T", _V),
    "subcontract": ("S AH2 B K AA0 N T R AE1 K T", "S AH1 B K AA2 N T R AE0 K T", _V),
    "torment": ("T AO0 R M EH1 N T", "T AO1 R M EH2 N T", _V),
    # -- wrong phonemes or tags in g2p-en --
    "absent": ("AE0 B S EH1 N T", "AE1 B S AH0 N T", _V),  # verb had two primary stresses
    "aggregate": ("AE1 G R AH0 G EY2 T", "AE1 G R AH0 G AH0 T", _V),
    "alternate": ("AO1 L T ER0 N EY2 T", "AO1 L T ER0 N AH0 T", _V),  # US adjective
    "combats": ("K AH0 M B AE1 T S", "K AA1 M B AE0 T S", _V),
    "complex": ("K AH0 M P L EH1 K S", "K AA1 M P L EH0 K S", "JJ"),  # tag was "ADJ": never hit
    "curate": ("K Y UH0 R EY1 T", "K Y UH1 R AH0 T", _V),
    "diagnoses": ("D AY2 AH0 G N OW1 S IH0 Z", "D AY2 AH0 G N OW1 S IY2 Z", _V),
    "entrance": ("IH0 N T R AE1 N S", "EH1 N T R AH0 N S", _V),
    "entrances": ("IH0 N T R AE1 N S IH0 Z", "EH1 N T R AH0 N S IH0 Z", _V),
    "envelope": ("EH1 N V AH0 L OW2 P", "EH1 N V AH0 L OW2 P", _V),  # verb reading is "envelop"
    "envelopes": ("EH1 N V AH0 L OW2 P S", "EH1 N V AH0 L OW2 P S", _V),
    "excise": ("IH0 K S AY1 Z", "EH1 K S AY2 Z", _V),
    "frequent": ("F R IY0 K W EH1 N T", "F R IY1 K W AH0 N T", _V),
    "interchange": ("IH2 N T ER0 CH EY1 N JH", "IH1 N T ER0 CH EY2 N JH", _V),  # lacked N
    "interchanges": ("IH2 N T ER0 CH EY1 N JH IH0 Z", "IH1 N T ER0 CH EY2 N JH IH0 Z", _V),
    "mandate": ("M AE1 N D EY2 T", "M AE1 N D EY2 T", _V),
    "perfect": ("P ER0 F EH1 K T", "P ER1 F IH0 K T", _V),
    "prefixes": ("P R IY2 F IH1 K S IH0 Z", "P R IY1 F IH0 K S IH0 Z", _V),  # ended in JH
    "presage": ("P R IH0 S EY1 JH", "P R EH1 S IH0 JH", _V),
    "presages": ("P R IH0 S EY1 JH IH0 Z", "P R EH1 S IH0 JH IH0 Z", _V),  # ended in JH
    "process": ("P R AA1 S EH2 S", "P R AA1 S EH2 S", _V),  # verb "to process" is not pro-CESS
    "processes": ("P R AA1 S EH0 S AH0 Z", "P R AA1 S EH0 S AH0 Z", _V),
    "processing": ("P R AA1 S EH0 S IH0 NG", "P R AA1 S EH0 S IH0 NG", _V),
    "recount": ("R IY2 K AW1 N T", "R IY1 K AW2 N T", _V),
    "recounts": ("R IY2 K AW1 N T S", "R IY1 K AW2 N T S", _V),
    "refuse": ("R IH0 F Y UW1 Z", "R EH1 F Y UW2 S", _V),  # the noun ends in S
    "underestimate": ("AH2 N D ER0 EH1 S T AH0 M EY2 T", "AH2 N D ER0 EH1 S T AH0 M AH0 T", _V),
    "underestimates": (
        "AH2 N D ER0 EH1 S T AH0 M EY2 T S",
        "AH2 N D ER0 EH1 S T AH0 M AH0 T S",
        _V,
    ),
    "unused": ("AH0 N Y UW1 Z D", "AH0 N Y UW1 Z D", _V),  # adjective is tagged JJ: was S T
    "used": ("Y UW1 Z D", "Y UW1 Z D", _V),  # "used to" is handled in context
    # -- homographs g2p-en does not know (the CMU dictionary's first entry is often wrong) --
    "bow": ("B AW1", "B OW1", _V),
    "bows": ("B AW1 Z", "B OW1 Z", _V),
    "dove": ("D OW1 V", "D AH1 V", ("VBD", "VBN")),
    "invalid": ("IH1 N V AH0 L IH0 D", "IH0 N V AE1 L AH0 D", "NN"),
    "lead": ("L IY1 D", "L EH1 D", (_V, "JJ")),
    "live": ("L IH1 V", "L AY1 V", _V),
    "lives": ("L IH1 V Z", "L AY1 V Z", _V),
    "minute": ("M AY0 N UW1 T", "M IH1 N AH0 T", "JJ"),
    "polish": ("P AA1 L IH0 SH", "P AA1 L IH0 SH", _V),  # "Polish" is handled in context
    "sow": ("S OW1", "S AW1", _V),
    "sows": ("S OW1 Z", "S AW1 Z", _V),
    "tear": ("T EH1 R", "T IH1 R", _V),
    "tears": ("T EH1 R Z", "T IH1 R Z", _V),
    "wind": ("W AY1 N D", "W IH1 N D", _V),
    "winds": ("W AY1 N D Z", "W IH1 N D Z", _V),
    "wound": ("W AW1 N D", "W UW1 N D", ("VBD", "VBN")),
}

# A sentence-initial homograph followed by one of these is an imperative verb ("Close the
# door.", "Wind the clock."); the tagger often calls it a noun or a proper noun.
_IMPERATIVE_NEXT = frozenset(
    "the a an this that these those my your his her its our their it them him me us "
    "every each some all".split()
)
_MODAL_BEFORE = frozenset(
    "to will would can could shall should may might must do does did don't doesn't didn't "
    "won't wouldn't can't cannot couldn't shouldn't let's please 'll".split()
)
_PAST_MARKERS = frozenset("yesterday ago last earlier previously formerly".split())
_HAVE = frozenset("have has had having 've 'd".split())
_BE_GET = frozenset(
    "am is are was were be been being 'm 're 's get gets got gotten getting become became".split()
)
_THIRD_PERSON = frozenset("he she it".split())


# ---------------------------------------------------------------------------------------------
# Shared segmentation: text -> [("text", chunk) | ("punct", mark)]
# ---------------------------------------------------------------------------------------------
_PUNCT_RE = re.compile(
    r"""
    (?P<ellipsis>\.{2,}|…)
  | (?P<dash>\s-+(?=\s|$)|^-+(?=\s)|-{2,}|[—–―])
  | (?P<mark>[?!;]|(?<!\d)[.,:]|[.,:](?!\d))
  | (?P<bracket>[()\[\]{}])
    """,
    re.VERBOSE,
)
_QUOTES_RE = re.compile(r"[\"“”„‟«»‹›`´¿¡]|(?<![^\W\d_])['’‘]|['’‘](?![^\W\d_])")
_SPACE_RE = re.compile(r"\s+")


def _segment(text: str) -> list[tuple[str, str]]:
    """Split text into text chunks and prosody punctuation marks (runs collapsed)."""
    pieces: list[tuple[str, str]] = []

    def add_text(raw: str) -> None:
        chunk = _SPACE_RE.sub(" ", _QUOTES_RE.sub(" ", raw)).strip()
        if chunk:
            pieces.append(("text", chunk))

    def add_mark(mark: str) -> None:
        if not pieces:
            return  # nothing to attach a leading mark to
        kind, prev = pieces[-1]
        if kind == "punct":
            if _PUNCT_RANK[mark] < _PUNCT_RANK[prev]:
                pieces[-1] = ("punct", mark)
            return
        pieces.append(("punct", mark))

    pos = 0
    for m in _PUNCT_RE.finditer(text):
        add_text(text[pos : m.start()])
        pos = m.end()
        if m.group("ellipsis"):
            add_mark(".")
        elif m.group("dash"):
            add_mark("-")
        elif m.group("bracket"):
            add_mark(",")
        else:
            add_mark(m.group("mark"))
    add_text(text[pos:])
    return pieces


def _assemble(groups: list[tuple[str, list[list[str]] | str]]) -> list[str]:
    """Join word groups and marks: words split by " ", marks glued to the word before."""
    out: list[str] = []
    for kind, value in groups:
        if kind == "punct":
            if out:
                out.append(value)  # type: ignore[arg-type]
            continue
        for word in value:  # type: ignore[union-attr]
            if not word:
                continue
            if out:
                out.append(WORD_SEPARATOR)
            out.extend(word)
    return out


# ---------------------------------------------------------------------------------------------
# g2p-en backend
# ---------------------------------------------------------------------------------------------
class _G2pEn(NamedTuple):
    g2p: object  # g2p_en.G2p
    tagger: object  # nltk.tag.perceptron.PerceptronTagger


def _read_lexicon(root) -> dict[str, list[list[str]]]:
    lexicon: dict[str, list[list[str]]] = {}
    with open(root / "corpora" / "cmudict" / "cmudict", encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 3:
                lexicon.setdefault(parts[0].lower(), []).append(parts[2:])
    return lexicon


def _real_normalize_numbers(text: str) -> str:
    import importlib

    return importlib.import_module("g2p_en.expand").normalize_numbers(text)


def _import_g2p_en_module():
    """Import ``g2p_en.g2p`` without paying for ``inflect`` (seconds of typeguard set-up).

    g2p-en imports ``normalize_numbers`` from its ``expand`` module only for ``G2p.__call__``,
    which voxclone does not use. While ``g2p_en.g2p`` is imported a stand-in ``expand`` module
    is registered whose function imports the real one on first call; it is unregistered
    straight after, so a later ``import g2p_en.expand`` gets the real module.
    """
    if "g2p_en.g2p" in sys.modules:
        return sys.modules["g2p_en.g2p"]
    stub = None
    if "g2p_en.expand" not in sys.modules:
        stub = types.ModuleType("g2p_en.expand")
        stub.normalize_numbers = _real_normalize_numbers
        sys.modules["g2p_en.expand"] = stub
    try:
        import g2p_en.g2p as module
    finally:
        if stub is not None and sys.modules.get("g2p_en.expand") is stub:
            del sys.modules["g2p_en.expand"]
    return module


@functools.lru_cache(maxsize=1)
def _g2p_en() -> _G2pEn:
    """Build the g2p-en converter and the POS tagger once per process (offline)."""
    from tts.text.nltk_data import activate

    root = activate()  # builds the data if needed; NLTK_DATA and nltk.data.path point at it
    module = _import_g2p_en_module()
    # G2p() reads the lexicon through nltk's corpus reader (slow); hand it the same entries.
    lexicon = _read_lexicon(root)
    nltk_cmudict = module.cmudict
    module.cmudict = types.SimpleNamespace(dict=lambda: lexicon)
    try:
        g2p = module.G2p()
    finally:
        module.cmudict = nltk_cmudict
    g2p.homograph2features.update(
        {word: (p1.split(), p2.split(), pos) for word, (p1, p2, pos) in HOMOGRAPH_FIXES.items()}
    )
    from nltk.tag.perceptron import PerceptronTagger

    return _G2pEn(g2p=g2p, tagger=PerceptronTagger())


_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
_ARPA_VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())


def _ascii_fold(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _context_tag(words: list[tuple[str, str]], i: int, sentence_start: bool) -> str:
    """The tag to use for homograph ``i``, with the imperative correction."""
    tag = words[i][1]
    if sentence_start and i + 1 < len(words) and words[i + 1][0].lower() in _IMPERATIVE_NEXT:
        return "VB"
    return tag


def _resolve_context(
    lower: str, original: str, tag: str, prev: str, nxt: str, after_tag: str, sentence: list[str]
) -> str | None:
    """Context rules the tag alone cannot decide; None falls through to the table.

    ``prev``/``nxt`` are the neighbouring words (lower case, "" at punctuation), ``after_tag``
    the tag of the word after ``nxt`` and ``sentence`` the words of the whole sentence.
    """
    if lower == "read":
        if prev in _MODAL_BEFORE or prev.endswith("'ll"):
            return "R IY1 D"
        if tag.startswith(("VBD", "VBN")):
            return "R EH1 D"
        if prev in _THIRD_PERSON and tag not in ("VB", "VBZ", "VBG"):
            return "R EH1 D"  # "he read" is past ("he reads"; "does he read" is tagged VB)
        if tag.startswith(("VBP", "NN")) and _PAST_MARKERS.intersection(sentence):
            return "R EH1 D"  # "I read it yesterday": tagged present, but the time is past
        return None
    if lower == "used":
        if nxt == "to":
            if prev in _BE_GET and after_tag == "VB":
                return "Y UW1 Z D"  # "it is used to cut bread"
            return "Y UW1 S T"  # "I used to live", "I am used to it"
        return "Y UW1 Z D"
    if lower == "blessed" and tag.startswith("VBN") and prev in _HAVE:
        return "B L EH1 S T"
    if lower == "polish":
        if original[:1] == "P" and not tag.startswith("VB"):
            return "P OW1 L IH0 SH"
        return "P AA1 L IH0 SH"
    return None


def _possessive(engine: _G2pEn, word: str) -> list[str] | None:
    """Pronounce ``<word>'s`` from ``<word>`` when only the base is in the dictionary."""
    if not word.endswith("'s") or len(word) < 3:
        return None
    base = engine.g2p.cmu.get(word[:-2])
    if not base:
        return None
    pron = list(base[0])
    last = pron[-1]
    if last in ("S", "Z", "SH", "ZH", "CH", "JH"):
        return pron + ["IH0", "Z"]
    if last in ("P", "T", "K", "F", "TH"):
        return pron + ["S"]
    return pron + ["Z"]


def _canonical(phones: list[str]) -> list[str]:
    """Drop the model's special symbols and give a stressless vowel stress 0."""
    out = []
    for p in phones:
        if p.startswith("<"):
            continue
        if p in _ARPA_VOWELS:
            p += "0"
        out.append(p)
    return out


def _pronounce(engine: _G2pEn, lower: str) -> list[str]:
    g2p = engine.g2p
    if lower in g2p.cmu:
        return list(g2p.cmu[lower][0])
    poss = _possessive(engine, lower)
    if poss is not None:
        return poss
    letters = lower.replace("'", "")
    if letters in g2p.cmu:
        return list(g2p.cmu[letters][0])
    return _canonical(g2p.predict(letters))


def _g2p_en_tokens(pieces: list[tuple[str, str]]) -> list[str]:
    engine = _g2p_en()
    # Flatten to (token, is_word) with punctuation kept: the tagger uses it as context.
    flat: list[tuple[str, bool]] = []
    for kind, value in pieces:
        if kind == "punct":
            flat.append((value, False))
            continue
        if re.search(r"\d", value):
            value = _real_normalize_numbers(value)
        for w in _WORD_RE.findall(_ascii_fold(value)):
            flat.append((w, True))
    if not any(is_word for _, is_word in flat):
        return []
    tagged = engine.tagger.tag([tok for tok, _ in flat])
    homographs = engine.g2p.homograph2features

    # Sentence word lists (lower-cased) for the context rules.
    sentence_of: list[int] = []
    sentences: list[list[str]] = [[]]
    for tok, is_word in flat:
        sentence_of.append(len(sentences) - 1)
        if is_word:
            sentences[-1].append(tok.lower())
        elif tok in _SENTENCE_END:
            sentences.append([])

    groups: list[tuple[str, list[list[str]] | str]] = []
    sentence_start = True
    for i, (tok, is_word) in enumerate(flat):
        if not is_word:
            groups.append(("punct", tok))
            sentence_start = tok in _SENTENCE_END
            continue
        lower = tok.lower()
        pron: list[str] | None = None
        if lower in homographs or lower in ("read", "used", "polish"):
            ctx_tag = _context_tag(tagged, i, sentence_start)
            prev = flat[i - 1][0].lower() if i > 0 and flat[i - 1][1] else ""
            nxt = flat[i + 1][0].lower() if i + 1 < len(flat) and flat[i + 1][1] else ""
            after_tag = tagged[i + 2][1] if nxt and i + 2 < len(tagged) else ""
            special = _resolve_context(
                lower, tok, ctx_tag, prev, nxt, after_tag, sentences[sentence_of[i]]
            )
            if special is not None:
                pron = special.split()
            elif lower in homographs:
                pron1, pron2, pos1 = homographs[lower]
                pron = list(pron1 if ctx_tag.startswith(pos1) else pron2)
        if pron is None:
            pron = _pronounce(engine, lower)
        if not groups or groups[-1][0] != "text":
            groups.append(("text", []))
        groups[-1][1].append(pron)  # type: ignore[union-attr]
        sentence_start = False
    return _assemble(groups)


# ---------------------------------------------------------------------------------------------
# espeak backend
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _espeak_languages() -> dict[str, str]:
    from phonemizer.backend import EspeakBackend

    try:
        return dict(EspeakBackend.supported_languages())
    except RuntimeError as exc:  # espeak-ng library not found
        raise TextError(f"the espeak backend is unavailable: {exc}") from exc


def _resolve_espeak_language(language: str) -> str:
    """Map a language code to an espeak-ng voice: exact, case-insensitive, or a bare code
    (``fr`` -> ``fr-fr``, ``en`` -> ``en-us``); TextError listing the voices otherwise."""
    supported = _espeak_languages()
    if language in supported:
        return language
    by_lower = {code.lower(): code for code in supported}
    key = language.lower().replace("_", "-")
    if key in by_lower:
        return by_lower[key]
    for candidate in ({"en": "en-us"}.get(key, ""), f"{key}-{key}"):
        if candidate in by_lower:
            return by_lower[candidate]
    regional = sorted(code for low, code in by_lower.items() if low.startswith(key + "-"))
    if key and regional:
        return regional[0]
    raise TextError(
        f"unsupported espeak language {language!r}; supported: {', '.join(sorted(supported))}"
    )


def _quiet_logger() -> logging.Logger:
    """A logger for phonemizer that drops its warnings (word-count mismatches, flags)."""
    logger = logging.getLogger(__name__ + ".phonemizer")
    logger.setLevel(logging.ERROR)
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


@functools.lru_cache(maxsize=16)
def _espeak_backend(language: str):
    from phonemizer.backend import EspeakBackend

    return EspeakBackend(
        language,
        preserve_punctuation=False,
        with_stress=True,
        language_switch="remove-flags",
        words_mismatch="ignore",
        logger=_quiet_logger(),
    )


# Marks espeak leaks into its phoneme output (clitic hyphens, syllable dots, mnemonics); the
# text's own punctuation was split off before phonemizing, so these carry no prosody.
_ESPEAK_NOISE = frozenset("-.,?!;:\"'#[]^`")


def _espeak_tokens(pieces: list[tuple[str, str]], language: str) -> list[str]:
    from phonemizer.separator import Separator

    chunks = [value for kind, value in pieces if kind == "text"]
    if not chunks:
        return []
    backend = _espeak_backend(language)
    ipa = backend.phonemize(
        chunks, separator=Separator(phone="", syllable="", word=" "), strip=True, njobs=1
    )
    groups: list[tuple[str, list[list[str]] | str]] = []
    it = iter(ipa)
    for kind, value in pieces:
        if kind == "punct":
            groups.append(("punct", value))
            continue
        text = unicodedata.normalize("NFC", next(it))
        words = [[c for c in w if c not in _ESPEAK_NOISE] for w in text.split()]
        if words:
            groups.append(("text", words))
    return _assemble(groups)


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------
def _normalize(text: str, backend: str, language: str) -> str:
    from tts.text.normalize import normalize

    if backend == "espeak" and not language.lower().startswith("en"):
        # normalize() spells numbers and abbreviations out in English; espeak reads them in
        # the text's own language, so other languages only get whitespace clean-up here.
        return _SPACE_RE.sub(" ", unicodedata.normalize("NFC", text)).strip()
    return normalize(text)


def to_phonemes(
    text: str,
    backend: str = "g2p_en",
    language: str = "en-us",
    normalize_text: bool = True,
) -> list[str]:
    """Convert text to a list of phoneme tokens.

    Args:
        text: the text to speak.
        backend: ``"g2p_en"`` (English ARPAbet with stress digits) or ``"espeak"`` (IPA, one
            token per character, any espeak-ng language).
        language: for ``"g2p_en"`` only English (``en``, ``en-us``, ``en-gb``; the CMU
            dictionary is General American whichever is named); for
            ``"espeak"`` any espeak-ng language code (``en-us``, ``de``, ``fr-fr``, ...).
        normalize_text: run :func:`tts.text.normalize.normalize` first (numbers, abbreviations,
            symbols). For espeak with a non-English language only whitespace is normalized.

    Returns:
        Tokens: phonemes, ``" "`` between words, and the punctuation tokens
        ``, . ? ! ; : -`` right after the word they follow.

    Raises:
        TextError: unknown backend, unsupported language, empty text after normalization, or
            text with nothing to pronounce.
    """
    if backend not in BACKENDS:
        raise TextError(f"unknown G2P backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if not isinstance(text, str):
        raise TextError(f"text must be a string, not {type(text).__name__}")
    lang = language.strip()
    if backend == "g2p_en":
        if lang.lower() not in _G2P_EN_LANGUAGES:
            raise TextError(
                f"the g2p_en backend speaks English only (language {language!r}); "
                f"use language='en-us' or backend='espeak'"
            )
    else:
        lang = _resolve_espeak_language(lang)

    if normalize_text:
        text = _normalize(text, backend, lang)
    if not text.strip():
        raise TextError("text is empty after normalization")
    pieces = _segment(unicodedata.normalize("NFC", text))
    if backend == "g2p_en":
        tokens = _g2p_en_tokens(pieces)
    else:
        tokens = _espeak_tokens(pieces, lang)
    if not any(t != WORD_SEPARATOR and t not in _PUNCT_RANK for t in tokens):
        raise TextError(f"text has nothing to pronounce: {text[:60]!r}")
    return tokens
