"""tts.text.symbols: stable ids, round trips, strictness, coverage of both G2P backends."""

from __future__ import annotations

import json
import random
import warnings

import pytest

from tts.errors import CheckpointError, TextError
from tts.text import SymbolTable, UnknownCharacterWarning, to_phonemes
from tts.text.nltk_data import ensure_nltk_data


@pytest.fixture(scope="module")
def arpa() -> SymbolTable:
    return SymbolTable.for_backend("g2p_en")


@pytest.fixture(scope="module")
def ipa() -> SymbolTable:
    return SymbolTable.for_backend("espeak")


@pytest.fixture(scope="module")
def lexicon_words() -> list[str]:
    """A fixed sample of a few hundred plain words from the CMU dictionary."""
    path = ensure_nltk_data() / "corpora" / "cmudict" / "cmudict"
    words = sorted({line.split()[0] for line in path.read_text(encoding="utf-8").splitlines()})
    words = [w for w in words if w.isalpha() and len(w) > 1]
    return random.Random(1234).sample(words, 400)


# --------------------------------------------------------------------------------------------
# ids are part of the checkpoint contract: these must never change
# --------------------------------------------------------------------------------------------
def test_stable_ids_g2p_en(arpa):
    assert len(arpa) == 81
    expected = {
        "<pad>": 0, "<unk>": 1, "<bos>": 2, "<eos>": 3, " ": 4,
        "?": 5, "!": 6, ".": 7, ";": 8, ":": 9, "-": 10, ",": 11,
        "AA0": 12, "AH0": 18, "B": 30, "HH": 45, "IY1": 50, "UW2": 75, "ZH": 80,
    }  # fmt: skip
    assert {s: arpa.id(s) for s in expected} == expected
    assert (arpa.pad_id, arpa.unk_id, arpa.bos_id, arpa.eos_id) == (0, 1, 2, 3)


def test_stable_ids_espeak(ipa):
    assert len(ipa) == 209
    expected = {
        "<pad>": 0, " ": 4, "?": 5, ",": 11, "a": 12, "z": 37, "æ": 38, "ə": 44, "ɚ": 45,
        "ŋ": 67, "ʃ": 98, "ˈ": 142, "ˌ": 143, "ː": 144, "\u0303": 157, "5": 192, "|": 206,
    }  # fmt: skip
    assert {s: ipa.id(s) for s in expected} == expected


def test_arpabet_inventory(arpa):
    phonemes = [s for s in arpa.symbols[12:]]
    assert len(phonemes) == 69
    vowels = {p[:-1] for p in phonemes if p[-1] in "012"}
    consonants = {p for p in phonemes if p[-1] not in "012"}
    assert len(vowels) == 15 and len(consonants) == 24


# --------------------------------------------------------------------------------------------
# encode / decode / serialization
# --------------------------------------------------------------------------------------------
def test_round_trip(arpa):
    tokens = ["HH", "AH0", "L", "OW1", ",", " ", "W", "ER1", "L", "D", "?"]
    ids = arpa.encode(tokens)
    assert all(isinstance(i, int) for i in ids)
    assert arpa.decode(ids) == tokens


def test_to_dict_from_dict_gives_same_ids(arpa, ipa):
    for table in (arpa, ipa):
        d = json.loads(json.dumps(table.to_dict()))
        assert set(d) == {"backend", "symbols"}
        restored = SymbolTable.from_dict(d)
        assert restored == table
        assert hash(restored) == hash(table)
        assert restored.symbols == table.symbols


def test_from_dict_keeps_a_stored_table_as_is(arpa):
    # An older checkpoint's shorter list still loads with its own ids.
    d = {"backend": "g2p_en", "symbols": list(arpa.symbols[:20])}
    old = SymbolTable.from_dict(d)
    assert len(old) == 20 and old != arpa
    assert old.id("AA0") == arpa.id("AA0")


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"backend": "g2p_en"},
        {"backend": "g2p_en", "symbols": ["<pad>"], "extra": 1},
        {"backend": "festival", "symbols": ["<pad>", "<unk>", "<bos>", "<eos>"]},
        {"backend": "g2p_en", "symbols": "abc"},
        {"backend": "g2p_en", "symbols": ["<unk>", "<pad>", "<bos>", "<eos>", "A"]},
        {"backend": "g2p_en", "symbols": ["<pad>", "<unk>", "<bos>", "<eos>", "B", "B"]},
        {"backend": "g2p_en", "symbols": ["<pad>", "<unk>", "<bos>", "<eos>", ""]},
        {"backend": "g2p_en", "symbols": ["<pad>", "<unk>", "<bos>", "<eos>", 3]},
    ],
)
def test_from_dict_is_strict(bad):
    with pytest.raises(CheckpointError):
        SymbolTable.from_dict(bad)


def test_equality(arpa, ipa):
    assert arpa == SymbolTable.for_backend("g2p_en")
    assert arpa != ipa
    assert arpa != arpa.to_dict()


def test_unknown_token_is_an_error_naming_it(arpa):
    with pytest.raises(TextError, match="'XX9'"):
        arpa.encode(["HH", "XX9"])


def test_unknown_token_skip_warns(arpa):
    with pytest.warns(UnknownCharacterWarning, match="'XX9'"):
        ids = arpa.encode(["HH", "XX9", "AH0"], unknown="skip")
    assert arpa.decode(ids) == ["HH", "AH0"]


def test_unknown_token_unk(arpa):
    assert arpa.encode(["XX9"], unknown="unk") == [arpa.unk_id]
    with pytest.raises(ValueError):
        arpa.encode(["HH"], unknown="ignore")


def test_decode_out_of_range(arpa):
    with pytest.raises(TextError, match="out of range"):
        arpa.decode([0, len(arpa)])


def test_unknown_backend():
    with pytest.raises(TextError, match="g2p_en, espeak"):
        SymbolTable.for_backend("festival")


# --------------------------------------------------------------------------------------------
# coverage: everything the backends emit has an id
# --------------------------------------------------------------------------------------------
def test_whole_cmu_lexicon_is_covered(arpa):
    path = ensure_nltk_data() / "corpora" / "cmudict" / "cmudict"
    phones = {p for line in path.read_text(encoding="utf-8").splitlines() for p in line.split()[2:]}
    assert phones and phones <= set(arpa.symbols)


def test_g2p_en_output_is_covered(arpa, lexicon_words):
    invented = ["blorptastic", "zyxwent", "quarnify", "schmoopledoo", "vexillophobe", "ptangular"]
    words = lexicon_words + invented
    text = " ".join(
        w + random.Random(i).choice([",", ".", "?", "!", ";", ":", " -", ""])
        for i, w in enumerate(words)
    )
    tokens = to_phonemes(text, normalize_text=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ids = arpa.encode(tokens)
    assert len(ids) == len(tokens) > 1000


def _english_sentences(words: list[str]) -> list[str]:
    rng = random.Random(99)
    handwritten = [
        "The quick brown fox jumps over the lazy dog.",
        "She sells seashells by the seashore, doesn't she?",
        "Thirty-three thousand people watched the measure with pleasure.",
        "Is it the judge's choice, or the church's vision?",
        "Whether the weather is warm or cold, we'll go outside!",
        "Bottled water and a button: little things matter.",
    ]
    generated = [" ".join(rng.choice(words) for _ in range(10)) + "." for _ in range(300)]
    return handwritten + generated


def test_espeak_output_is_covered(ipa, lexicon_words):
    samples = {
        "en-us": _english_sentences(lexicon_words),
        "en-gb": _english_sentences(lexicon_words)[:50],
        "de": [
            "Über die Brücke gehen wir schön langsam.",
            "Ich möchte zwei Brötchen und einen Kaffee, bitte.",
            "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
            "Das Mädchen lächelt, während der Hund bellt.",
        ],
        "fr-fr": [
            "Le cœur a ses raisons que la raison ne connaît point.",
            "Voix ambiguë d'un cœur qui au zéphyr préfère les jattes de kiwis.",
            "Un bon vin blanc, et un gros chien brun.",
            "Je voudrais un croissant et un café au lait, s'il vous plaît.",
        ],
        "es": [
            "El veloz murciélago hindú comía feliz cardillo y kiwi.",
            "¿Dónde está la biblioteca? Quiero leer un libro.",
            "La cigüeña tocaba el saxofón detrás del palenque de paja.",
            "Mañana vamos a la playa con nuestros amigos.",
        ],
        "it": [
            "Quel vituperabile xenofobo zelante assaggia il whisky ed esclama: alleluja!",
            "Gli gnomi sciocchi mangiano zucchero e pizza.",
            "Vorrei un bicchiere d'acqua, per favore.",
            "Il gatto dorme sul divano vicino alla finestra.",
        ],
    }
    for language, sentences in samples.items():
        tokens = to_phonemes(" ".join(sentences), backend="espeak", language=language)
        missing = sorted({t for t in tokens if t not in ipa})
        assert missing == [], (language, [f"U+{ord(t):04X}" for t in missing])


def test_punctuation_matches_g2p():
    from tts.text import g2p, symbols

    assert symbols.PUNCTUATION == g2p.PUNCTUATION
    assert symbols.SPACE == g2p.WORD_SEPARATOR
