"""tts.text.g2p and tts.text.nltk_data: offline g2p-en, homographs, espeak, errors."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tts.errors import TextError
from tts.text import nltk_data
from tts.text.g2p import HOMOGRAPH_FIXES, to_phonemes

REPO = Path(__file__).resolve().parents[1]
PUNCT = {",", ".", "?", "!", ";", ":", "-"}


@pytest.fixture(scope="module")
def g2p():
    """to_phonemes with the g2p-en engine loaded once for the module (~2-4 s)."""
    to_phonemes("warm up", normalize_text=False)
    return to_phonemes


@pytest.fixture(scope="module")
def fresh_nltk_data(tmp_path_factory) -> Path:
    """A fresh data folder built by ensure_nltk_data (not the repo's .cache)."""
    return nltk_data.ensure_nltk_data(tmp_path_factory.mktemp("cache") / "nltk_data")


def words_of(tokens: list[str]) -> list[str]:
    """Tokens back to space-joined phoneme strings per word, punctuation dropped."""
    words: list[list[str]] = [[]]
    for tok in tokens:
        if tok == " ":
            words.append([])
        elif tok not in PUNCT:
            words[-1].append(tok)
    return [" ".join(w) for w in words]


def word_pron(tokens: list[str], sentence: str, word: str) -> str:
    plain = re.findall(r"[A-Za-z]+(?:'[A-Za-z]+)*", sentence)
    index = [w.lower() for w in plain].index(word)
    return words_of(tokens)[index]


# --------------------------------------------------------------------------------------------
# token shape
# --------------------------------------------------------------------------------------------
def test_hello_world_tokens(g2p):
    assert g2p("Hello, world.") == ["HH", "AH0", "L", "OW1", ",", " ", "W", "ER1", "L", "D", "."]


def test_question_mark_survives(g2p):
    tokens = g2p("Are you there?")
    assert tokens[-1] == "?"
    assert g2p("Really?!")[-1] == "?"  # a run of marks keeps the strongest


def test_punctuation_mapping(g2p):
    tokens = g2p('Wait... "quoted" (aside) -- then; yes: no!', normalize_text=False)
    marks = [t for t in tokens if t in PUNCT]
    assert marks == [".", ",", "-", ";", ":", "!"]
    assert '"' not in tokens and "(" not in tokens
    # marks are glued to the word before and followed by a single word separator
    assert tokens[tokens.index(".") + 1] == " "
    assert not any(a == " " and b == " " for a, b in zip(tokens, tokens[1:], strict=False))


def test_leading_punctuation_dropped_and_no_double_spaces(g2p):
    tokens = g2p("-- well, ok", normalize_text=False)
    assert tokens[0] not in PUNCT and tokens[0] != " "
    assert tokens[-1] != " "


def test_stress_digits_and_word_separator(g2p):
    tokens = g2p("The quick brown fox jumps over the lazy dog")
    assert tokens.count(" ") == 8
    vowels = [t for t in tokens if t[:2] in {"AA", "AE", "AH", "AO", "IY", "UW", "OW", "AY"}]
    assert vowels and all(t[-1] in "012" for t in vowels)


def test_oov_word_uses_neural_model(g2p):
    (word,) = words_of(g2p("Blorptastic", normalize_text=False))
    phones = word.split()
    assert len(phones) >= 5
    assert all(re.fullmatch(r"[A-Z]{1,2}[012]?", p) for p in phones)


def test_possessive_of_known_word(g2p):
    assert words_of(g2p("Brandt's", normalize_text=False))[0].endswith("T S")


def test_hyphenated_words_are_split(g2p):
    assert len(words_of(g2p("a well-known fact", normalize_text=False))) == 4


def test_normalization_spells_numbers(g2p):
    assert "T UW1" in words_of(g2p("I have 2 cats."))


def test_normalize_text_false_keeps_text(g2p):
    assert words_of(g2p("doctor who", normalize_text=False)) == words_of(g2p("doctor who"))


# --------------------------------------------------------------------------------------------
# homographs
# --------------------------------------------------------------------------------------------
HOMOGRAPH_CASES = [
    ("I read it yesterday.", "read", "R EH1 D"),
    ("I will read it.", "read", "R IY1 D"),
    ("I have read that book.", "read", "R EH1 D"),
    ("They read books every day.", "read", "R IY1 D"),
    ("She read the letter last night.", "read", "R EH1 D"),
    ("Read the manual.", "read", "R IY1 D"),
    ("Does he read books?", "read", "R IY1 D"),
    ("He read it twice.", "read", "R EH1 D"),
    ("They lead the way.", "lead", "L IY1 D"),
    ("The pipe is made of lead.", "lead", "L EH1 D"),
    ("I live here.", "live", "L IH1 V"),
    ("We watched a live concert.", "live", "L AY1 V"),
    ("Cats have nine lives.", "lives", "L AY1 V Z"),
    ("She lives in Paris.", "lives", "L IH1 V Z"),
    ("The wind is strong.", "wind", "W IH1 N D"),
    ("Wind the clock.", "wind", "W AY1 N D"),
    ("A tear rolled down her cheek.", "tear", "T IH1 R"),
    ("Do not tear the paper.", "tear", "T EH1 R"),
    ("He wound the clock.", "wound", "W AW1 N D"),
    ("The wound healed slowly.", "wound", "W UW1 N D"),
    ("Wait a minute.", "minute", "M IH1 N AH0 T"),
    ("The password is invalid.", "invalid", "IH0 N V AE1 L AH0 D"),
    ("Polish the silver.", "polish", "P AA1 L IH0 SH"),
    ("He speaks Polish.", "polish", "P OW1 L IH0 SH"),
    ("The actors bow to the audience.", "bow", "B AW1"),
    ("She tied a bow.", "bow", "B OW1"),
    ("They sow the seeds.", "sow", "S OW1"),
    ("The sow fed her piglets.", "sow", "S AW1"),
    ("A dove flew by.", "dove", "D AH1 V"),
    ("She dove into the pool.", "dove", "D OW1 V"),
    ("I refuse to go.", "refuse", "R IH0 F Y UW1 Z"),
    ("Collect the refuse.", "refuse", "R EH1 F Y UW2 S"),
    ("The object is heavy.", "object", "AA1 B JH EH0 K T"),
    ("I object to that.", "object", "AH0 B JH EH1 K T"),
    ("We record the song.", "record", "R IH0 K AO1 R D"),
    ("He broke the record.", "record", "R EH1 K ER0 D"),
    ("They present the award.", "present", "P R IY0 Z EH1 N T"),
    ("The present was nice.", "present", "P R EH1 Z AH0 N T"),
    ("I am content.", "content", "K AH0 N T EH1 N T"),
    ("The content is good.", "content", "K AA1 N T EH0 N T"),
    ("Close the door.", "close", "K L OW1 Z"),
    ("She is a close friend.", "close", "K L OW1 S"),
    ("I used to live there.", "used", "Y UW1 S T"),
    ("I used the pen.", "used", "Y UW1 Z D"),
    ("It is used to cut bread.", "used", "Y UW1 Z D"),
    ("He will use it.", "use", "Y UW1 Z"),
    ("The use of force is wrong.", "use", "Y UW1 S"),
    ("The soldiers desert the army.", "desert", "D IH0 Z ER1 T"),
    ("The desert is hot.", "desert", "D EH1 Z ER0 T"),
    ("The analyses were complete.", "analyses", "AH0 N AE1 L AH0 S IY2 Z"),
    ("He analyses data.", "analyses", "AE1 N AH0 L AY2 Z IH0 Z"),
    ("We process the data.", "process", "P R AA1 S EH2 S"),
    ("He blessed the food.", "blessed", "B L EH1 S T"),
    ("We are blessed.", "blessed", "B L EH1 S IH0 D"),
    ("I learned a lot.", "learned", "L ER1 N D"),
    ("He is a learned man.", "learned", "L ER1 N IH0 D"),
    ("He dogged her steps.", "dogged", "D AO1 G D"),
    ("With dogged determination.", "dogged", "D AO1 G IH0 D"),
    ("They rebel against the king.", "rebel", "R IH0 B EH1 L"),
    ("The rebel fled.", "rebel", "R EH1 B AH0 L"),
    ("The pain may torment him.", "torment", "T AO0 R M EH1 N T"),
    ("His torment was great.", "torment", "T AO1 R M EH2 N T"),
    ("Open your mouth.", "mouth", "M AW1 TH"),
    ("Mouth the words.", "mouth", "M AW1 DH"),
    ("Do not misuse it.", "misuse", "M IH0 S Y UW1 Z"),
    ("The misuse of funds.", "misuse", "M IH0 S Y UW1 S"),
    ("They will articulate the plan.", "articulate", "AA0 R T IH1 K Y AH0 L EY2 T"),
    ("She is articulate.", "articulate", "AA0 R T IH1 K Y AH0 L AH0 T"),
    ("The complex problem.", "complex", "K AH0 M P L EH1 K S"),
    ("The housing complex.", "complex", "K AA1 M P L EH0 K S"),
    ("Exploit the weakness.", "exploit", "IH0 K S P L OY1 T"),
    ("A daring exploit.", "exploit", "EH1 K S P L OY2 T"),
    ("A fragment of glass.", "fragment", "F R AE1 G M AH0 N T"),
    ("A segment of the show.", "segment", "S EH1 G M AH0 N T"),
    ("Put it in an envelope.", "envelope", "EH1 N V AH0 L OW2 P"),
]


@pytest.mark.parametrize(("sentence", "word", "expected"), HOMOGRAPH_CASES)
def test_homographs(g2p, sentence, word, expected):
    assert word_pron(g2p(sentence), sentence, word) == expected


def test_homograph_fixes_are_well_formed():
    from tts.text.symbols import ARPABET

    for word, (pron1, pron2, pos) in HOMOGRAPH_FIXES.items():
        assert word == word.lower()
        for pron in (pron1, pron2):
            assert pron.split() and all(p in ARPABET for p in pron.split()), (word, pron)
        assert isinstance(pos, (str, tuple)) and pos


def test_homograph_table_is_patched_on_the_instance(g2p):
    from tts.text.g2p import _g2p_en

    table = _g2p_en().g2p.homograph2features
    assert table["read"] == (["R", "EH1", "D"], ["R", "IY1", "D"], ("VBD", "VBN"))
    assert table["complex"][2] == "JJ"


# --------------------------------------------------------------------------------------------
# espeak
# --------------------------------------------------------------------------------------------
def test_espeak_english():
    tokens = to_phonemes("Hello, world?", backend="espeak", language="en-us")
    assert tokens[-1] == "?"
    assert "," in tokens and " " in tokens and "ˈ" in tokens
    assert all(len(t) == 1 for t in tokens)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("de", "Über die Brücke gehen wir schön langsam."),
        ("fr-fr", "Le cœur a ses raisons, que la raison ne connaît point."),
        ("fr", "Un bon vin blanc."),
        ("es", "¿Dónde está la biblioteca?"),
        ("it", "Il gatto dorme sul divano."),
    ],
)
def test_espeak_other_languages(language, text):
    tokens = to_phonemes(text, backend="espeak", language=language)
    assert tokens[-1] in {".", "?"}
    assert " " in tokens and "-" not in tokens


def test_espeak_dash_becomes_token():
    tokens = to_phonemes("Wait - now", backend="espeak", language="en-us")
    assert "-" in tokens


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
def test_unknown_backend():
    with pytest.raises(TextError, match="g2p_en, espeak"):
        to_phonemes("hello", backend="festival")


def test_g2p_en_is_english_only():
    with pytest.raises(TextError, match="English only"):
        to_phonemes("hallo", backend="g2p_en", language="de")


def test_unsupported_espeak_language():
    with pytest.raises(TextError, match="unsupported espeak language 'xx-zz'.*en-us"):
        to_phonemes("hello", backend="espeak", language="xx-zz")


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text(text):
    with pytest.raises(TextError, match="text is empty after normalization"):
        to_phonemes(text)


def test_only_punctuation(g2p):
    with pytest.raises(TextError, match="nothing to pronounce"):
        g2p("?! ...", normalize_text=False)


# --------------------------------------------------------------------------------------------
# offline NLTK data
# --------------------------------------------------------------------------------------------
def test_nltk_data_layout(fresh_nltk_data):
    root = fresh_nltk_data
    tagger = root / "taggers" / "averaged_perceptron_tagger_eng"
    for suffix in ("weights", "tagdict", "classes"):
        assert (tagger / f"averaged_perceptron_tagger_eng.{suffix}.json").is_file()
    classes = json.loads((tagger / "averaged_perceptron_tagger_eng.classes.json").read_text())
    assert {"NN", "VBD", "JJ"} <= set(classes)
    assert (root / "taggers" / "averaged_perceptron_tagger.zip").is_file()
    assert (root / "corpora" / "cmudict.zip").is_file()
    lines = (root / "corpora" / "cmudict" / "cmudict").read_text(encoding="utf-8").splitlines()
    assert len(lines) > 100_000
    assert any(re.fullmatch(r"hello \d+ HH AH0 L OW1", line) for line in lines)
    assert json.loads((root / ".complete").read_text())["layout"] >= 1
    # NLTK refuses group/world-writable data
    assert not (root.stat().st_mode & 0o022)


def test_ensure_nltk_data_is_idempotent(fresh_nltk_data):
    stamp = fresh_nltk_data / ".complete"
    before = stamp.stat().st_mtime_ns
    assert nltk_data.ensure_nltk_data(fresh_nltk_data) == fresh_nltk_data
    assert stamp.stat().st_mtime_ns == before
    leftovers = [p for p in fresh_nltk_data.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_default_root_honours_voxclone_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("VOXCLONE_CACHE", str(tmp_path))
    assert nltk_data.default_root() == tmp_path.resolve() / "nltk_data"
    monkeypatch.delenv("VOXCLONE_CACHE")
    assert nltk_data.default_root() == REPO / ".cache" / "nltk_data"


def test_restricted_unpickler_refuses_globals():
    evil = pickle.dumps(os.system)  # a reference to os.system (protocol-level global)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        nltk_data._RestrictedUnpickler(io.BytesIO(evil)).load()
    ok = pickle.dumps(({"f": {"NN": 1.0}}, {"the": "DT"}, {"NN", "DT"}), protocol=2)
    assert nltk_data._RestrictedUnpickler(io.BytesIO(ok)).load()[2] == {"NN", "DT"}


def _run_python(code: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("NLTK_DATA", "VOXCLONE_CACHE")}
    env.update(env_extra)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def test_offline_import_attempts_no_download(fresh_nltk_data, tmp_path):
    code = """
        import socket, sys, urllib.request
        import nltk

        def refuse(*args, **kwargs):
            raise RuntimeError(f"network/download attempted: {args!r}")

        nltk.download = refuse
        nltk.downloader.download = refuse
        urllib.request.urlopen = refuse
        socket.create_connection = refuse
        socket.socket.connect = refuse

        from tts.text import to_phonemes  # imports g2p_en: its import-time checks must pass
        print(" ".join(to_phonemes("I read it yesterday.")))
        print("inflect" in sys.modules)
    """
    result = _run_python(
        code,
        {"NLTK_DATA": str(fresh_nltk_data), "VOXCLONE_CACHE": str(fresh_nltk_data.parent)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "AY1   R EH1 D   IH1 T   Y EH1 S T ER0 D EY2 ."
    assert lines[1] == "False"  # g2p-en's inflect dependency is not loaded


def test_package_import_is_light():
    code = """
        import sys
        from tts.text import normalize, to_phonemes, split_text, SymbolTable
        heavy = [m for m in ("nltk", "g2p_en", "phonemizer", "torch", "inflect") if m in sys.modules]
        print(heavy)
    """
    result = _run_python(code, {})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"
