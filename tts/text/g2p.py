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

Nothing heavy is imported here at module import: phonemizer loads on first use of the espeak
backend; the g2p-en backend reads the CMU dictionary on first use and imports g2p-en and nltk
only for a word that needs them (a homograph's POS tag, an out-of-vocabulary word).
"""

from __future__ import annotations

import bisect
import functools
import importlib
import importlib.util
import logging
import re
import sys
import types
import unicodedata
from pathlib import Path

from tts.errors import TextError
from tts.text.homographs import HOMOGRAPH_FIXES, context_tag, resolve_context
from tts.text.symbols import ARPA_VOWELS

__all__ = ["to_phonemes", "phoneme_ids", "BACKENDS", "PUNCTUATION", "PUNCTUATION_END",
           "WORD_SEPARATOR", "HOMOGRAPH_FIXES"]

BACKENDS = ("g2p_en", "espeak")
WORD_SEPARATOR = " "
# Prosody punctuation tokens, strongest first: a run of marks collapses to the strongest one.
PUNCTUATION = ("?", "!", ".", ";", ":", "-", ",")
_PUNCT_RANK = {p: i for i, p in enumerate(PUNCTUATION)}
_SENTENCE_END = {"?", "!", "."}
_G2P_EN_LANGUAGES = ("en", "en-us", "en_us", "en-gb", "en_gb", "en-uk")

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
class _Lexicon:
    """The CMU dictionary (``corpora/cmudict/cmudict`` of the offline data, one ``word N PH1
    PH2 ...`` entry a line), looked up by binary search in its sorted lines.

    ``lexicon[word]`` is the list of ``word``'s pronunciations (each a list of phones) in the
    file's order, variant 1 first: what a dict of every entry would hold, without building one
    (opening it takes tens of milliseconds and about 10 MB instead of about 0.4 s and 60 MB).
    """

    def __init__(self, path) -> None:
        lines = path.read_text(encoding="utf-8").split("\n")
        lines.sort()  # nearly sorted already; a word's variants 1..4 stay in their order
        self._lines = lines

    def get(self, word: str, default=None):
        key = word + " "
        i = bisect.bisect_left(self._lines, key)
        found = []
        while i < len(self._lines) and self._lines[i].startswith(key):
            phones = self._lines[i].split()[2:]
            if phones:
                found.append(phones)
            i += 1
        return found or default

    def __contains__(self, word: str) -> bool:
        return self.get(word) is not None

    def __getitem__(self, word: str) -> list[list[str]]:
        found = self.get(word)
        if found is None:
            raise KeyError(word)
        return found


def _homograph_table() -> dict[str, tuple]:
    """g2p-en's homograph table (its data file ``homographs.en``, read without importing
    g2p-en, which imports nltk), with :data:`HOMOGRAPH_FIXES` replacing or adding entries:
    ``word -> (pron1 phones, pron2 phones, pos1)``, pron1 when the tag starts with pos1."""
    spec = importlib.util.find_spec("g2p_en")
    if spec is None or not spec.submodule_search_locations:
        raise TextError("the g2p_en backend needs the g2p-en package: pip install g2p-en")
    path = Path(list(spec.submodule_search_locations)[0]) / "homographs.en"
    table: dict[str, tuple] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            headword, pron1, pron2, pos1 = line.strip().split("|")
            table[headword.lower()] = (pron1.split(), pron2.split(), pos1)
    table.update(
        {word: (p1.split(), p2.split(), pos) for word, (p1, p2, pos) in HOMOGRAPH_FIXES.items()}
    )
    return table


def _real_normalize_numbers(text: str) -> str:
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


class _G2pEn:
    """The g2p-en backend's parts, each loaded when first needed.

    ``lexicon`` (the CMU dictionary) and ``homographs`` (the homograph table) at once; ``g2p``
    (g2p-en's ``G2p``, whose neural model spells out-of-vocabulary words) and ``tagger`` (NLTK's
    averaged-perceptron POS tagger, for homographs) only when a word needs them: both import
    nltk, which with the tagger's weights costs seconds and about 150 MB. Text without
    homographs and unknown words never loads them; the phonemes are the same either way.
    """

    def __init__(self, root) -> None:
        self.root = root
        self.lexicon = _Lexicon(root / "corpora" / "cmudict" / "cmudict")
        self.homographs = _homograph_table()

    @functools.cached_property
    def g2p(self):
        """g2p-en's ``G2p`` (``predict`` spells a word it is given)."""
        module = _import_g2p_en_module()
        # G2p() reads the lexicon through nltk's corpus reader (slow): hand it ours.
        nltk_cmudict = module.cmudict
        module.cmudict = types.SimpleNamespace(dict=lambda: self.lexicon)
        try:
            g2p = module.G2p()
        finally:
            module.cmudict = nltk_cmudict
        g2p.homograph2features = self.homographs  # the same table (with the fixes)
        return g2p

    @functools.cached_property
    def tagger(self):
        """NLTK's English POS tagger (``nltk.tag.perceptron.PerceptronTagger``)."""
        from nltk.tag.perceptron import PerceptronTagger

        return PerceptronTagger()


@functools.lru_cache(maxsize=1)
def _g2p_en() -> _G2pEn:
    """The g2p-en backend, once per process (offline)."""
    from tts.text.nltk_data import activate

    root = activate()  # builds the data if needed; NLTK_DATA and nltk.data.path point at it
    return _G2pEn(root)


_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")


def _ascii_fold(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _possessive(engine: _G2pEn, word: str) -> list[str] | None:
    """Pronounce ``<word>'s`` from ``<word>`` when only the base is in the dictionary."""
    if not word.endswith("'s") or len(word) < 3:
        return None
    base = engine.lexicon.get(word[:-2])
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
        if p in ARPA_VOWELS:
            p += "0"
        out.append(p)
    return out


def _pronounce(engine: _G2pEn, lower: str) -> list[str]:
    known = engine.lexicon.get(lower)
    if known:
        return list(known[0])
    poss = _possessive(engine, lower)
    if poss is not None:
        return poss
    letters = lower.replace("'", "")
    known = engine.lexicon.get(letters)
    if known:
        return list(known[0])
    return _canonical(engine.g2p.predict(letters))


def _is_homograph(lower: str, homographs: dict[str, tuple]) -> bool:
    """Whether the pronunciation of ``lower`` depends on its POS tag or its context."""
    return lower in homographs or lower in ("read", "used", "polish")


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
    homographs = engine.homographs
    # The tags matter only for homographs: the tagger (nltk) is loaded and run only for them.
    needs_tags = any(is_word and _is_homograph(tok.lower(), homographs) for tok, is_word in flat)
    tagged = engine.tagger.tag([tok for tok, _ in flat]) if needs_tags else []

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
        if _is_homograph(lower, homographs):
            ctx_tag = context_tag(tagged, i, sentence_start)
            prev = flat[i - 1][0].lower() if i > 0 and flat[i - 1][1] else ""
            nxt = flat[i + 1][0].lower() if i + 1 < len(flat) and flat[i + 1][1] else ""
            after_tag = tagged[i + 2][1] if nxt and i + 2 < len(tagged) else ""
            special = resolve_context(
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


PUNCTUATION_END = {".", "?", "!"}
"""A chunk the models speak is closed with "." unless it ends in one of these."""


def phoneme_ids(text: str, symbols) -> list[int]:
    """The ids a model reads for normalized ``text``: its phonemes in ``symbols``' backend
    (a ``SymbolTable``), trailing spaces dropped, closed with "." unless it ends in sentence
    punctuation; ``TextError`` when nothing is left to say. What both runtimes (torch and
    ONNX) speak from."""
    phonemes = to_phonemes(text, backend=symbols.backend, normalize_text=False)
    while phonemes and phonemes[-1] == " ":
        phonemes.pop()
    if not phonemes:
        raise TextError(f"nothing to say in {text!r}")
    if phonemes[-1] not in PUNCTUATION_END:
        phonemes.append(".")
    return symbols.encode(phonemes)
