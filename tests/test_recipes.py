"""data.recipes: every layout on a tiny generated copy, plus errors for wrong folders."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from data_fixtures import (
    SENTENCES,
    make_arctic,
    make_libritts,
    make_ljspeech,
    make_shared,
    make_vctk,
    write_clip,
    write_text,
)

from data.recipes import RECIPES, get_recipe, recipe_descriptions
from tts.errors import DataError

SHARED = ("kathleen-arctic", "commonvoice-en", "librispeech-251", "ljspeech-sample",
          "ravdess-speech", "speechocean762-adults")


def _by_id(utterances):
    return {u.id: u for u in utterances}


def test_registry_lists_every_recipe_with_description():
    assert set(RECIPES) == {"ljspeech", "vctk", "libritts", "arctic", "folder", *SHARED}
    text = recipe_descriptions()
    for name, recipe in RECIPES.items():
        assert name in text and recipe.description and "\n" not in recipe.description
    assert RECIPES["vctk"].options == ("mic",)
    assert RECIPES["folder"].options == ("speaker",)
    with pytest.raises(DataError, match="unknown recipe 'nope'"):
        get_recipe("nope")


def test_unknown_option_is_an_error_and_none_is_ignored(tmp_path):
    src = make_ljspeech(tmp_path)
    assert len(RECIPES["ljspeech"](src, mic=None)) == 3
    with pytest.raises(DataError, match="has no option"):
        RECIPES["ljspeech"](src, mic="mic1")


def test_ljspeech_uses_normalized_text(tmp_path):
    utts = _by_id(RECIPES["ljspeech"](make_ljspeech(tmp_path)))
    assert list(utts) == ["LJ001-0001", "LJ001-0002", "LJ001-0003"]
    assert utts["LJ001-0001"].text == "Printing, in fourteen fifty-five, was new."
    assert utts["LJ001-0003"].text == "Mister Smith's press."
    assert {u.speaker for u in utts.values()} == {"LJ"}
    assert all(Path(u.audio_path).is_file() and u.duration is None for u in utts.values())


def test_vctk_092_mics_and_missing_transcripts(tmp_path, caplog):
    src = make_vctk(tmp_path)
    with caplog.at_level(logging.WARNING, logger="data.recipes"):
        utts = _by_id(RECIPES["vctk"](src))
    assert list(utts) == ["p225_001", "p225_002", "p226_001", "p226_002", "p315_001", "p315_002"]
    assert utts["p225_002"].text == SENTENCES[2]
    assert utts["p226_001"].speaker == "p226"
    assert utts["p225_001"].audio_path.endswith("p225_001_mic1.flac")
    assert utts["p315_001"].text == "" and utts["p315_002"].text == ""
    assert "2 utterance(s) have no transcript" in caplog.text and "p315" in caplog.text
    mic2 = RECIPES["vctk"](src, mic="mic2")
    assert all(u.audio_path.endswith("_mic2.flac") for u in mic2) and len(mic2) == 6
    with pytest.raises(DataError, match="mic1' or 'mic2"):
        RECIPES["vctk"](src, mic="mic3")


def test_vctk_080_layout(tmp_path):
    src = make_vctk(tmp_path, old=True)
    utts = _by_id(RECIPES["vctk"](src))
    assert len(utts) == 6 and utts["p226_002"].audio_path.endswith("wav48/p226/p226_002.wav")
    with pytest.raises(DataError, match="one microphone"):
        RECIPES["vctk"](src, mic="mic2")


def test_libritts_root_with_subsets_and_single_subset(tmp_path):
    src = make_libritts(tmp_path)
    utts = _by_id(RECIPES["libritts"](src))
    assert len(utts) == 4
    u = utts["19_198_000000_000001"]
    assert u.speaker == "19" and u.text == SENTENCES[1]
    assert utts["84_121123_000000_000000"].speaker == "84"
    only = RECIPES["libritts"](src / "dev-clean")
    assert [u.id for u in only] == ["84_121123_000000_000000"]


def test_arctic_one_or_several_speakers(tmp_path):
    src = make_arctic(tmp_path)
    utts = _by_id(RECIPES["arctic"](src))
    assert list(utts) == ["bdl_arctic_a0001", "bdl_arctic_a0002", "slt_arctic_a0001",
                          "slt_arctic_a0002"]
    assert utts["slt_arctic_a0002"].text == SENTENCES[2]
    assert utts["bdl_arctic_a0001"].speaker == "bdl"
    single = RECIPES["arctic"](src / "cmu_us_slt_arctic")
    assert {u.speaker for u in single} == {"slt"} and len(single) == 2


def test_arctic_bad_prompt_line(tmp_path):
    src = make_arctic(tmp_path, speakers=("slt",))
    write_text(src / "cmu_us_slt_arctic" / "etc" / "txt.done.data", "arctic_a0001 no parens\n")
    with pytest.raises(DataError, match=r"txt.done.data:1"):
        RECIPES["arctic"](src)


def test_folder_sidecars_with_speaker_subfolders(tmp_path):
    src = tmp_path / "mine"
    write_clip(src / "alice" / "one.wav", 16000)
    write_text(src / "alice" / "one.txt", "Hello.")
    write_clip(src / "bob" / "wavs" / "two.flac", 22050)
    write_text(src / "bob" / "wavs" / "two.lab", "Hi\nthere.")
    write_clip(src / "bob" / "three.ogg", 48000)  # no transcript: kept with empty text
    utts = _by_id(RECIPES["folder"](src))
    assert utts["alice_one"].speaker == "alice" and utts["alice_one"].text == "Hello."
    assert utts["bob_wavs_two"].text == "Hi there." and utts["bob_wavs_two"].speaker == "bob"
    assert utts["bob_three"].text == ""
    forced = RECIPES["folder"](src, speaker="carol")
    assert {u.speaker for u in forced} == {"carol"}


def test_folder_flat_uses_folder_name_as_speaker(tmp_path):
    src = tmp_path / "narrator"
    write_clip(src / "wavs" / "x1.mp3", 32000)
    write_text(src / "wavs" / "x1.txt", "Flat.")
    [utt] = RECIPES["folder"](src)
    assert utt.id == "x1" and utt.speaker == "narrator"


@pytest.mark.parametrize("content", [
    "file|text|speaker\nwavs/c1.wav|First clip.|zed\nc2|Second, clip.|zed\n",
    "c1.wav|First clip.|zed\nwavs/c2.wav|Second, clip.|zed\n",
    'file,text,speaker\nc1.wav,First clip.,zed\nc2,"Second, clip.",zed\n',
    'c1,First clip.,zed\nc2.wav,"Second, clip.",zed\n',
])
def test_folder_metadata_variants(tmp_path, content):
    src = tmp_path / "meta"
    write_clip(src / "wavs" / "c1.wav", 16000)
    write_clip(src / "wavs" / "c2.wav", 16000)
    write_text(src / "metadata.csv", content)
    utts = _by_id(RECIPES["folder"](src))
    assert list(utts) == ["c1", "c2"]
    assert utts["c2"].text == "Second, clip."
    assert utts["c1"].speaker == "zed"
    assert all(Path(u.audio_path).is_file() for u in utts.values())


def test_folder_metadata_without_speaker_column(tmp_path):
    src = tmp_path / "solo"
    write_clip(src / "c1.wav", 16000)
    write_text(src / "metadata.csv", "c1.wav|Only one.\n")
    [utt] = RECIPES["folder"](src)
    assert utt.speaker == "solo" and utt.text == "Only one."
    write_text(src / "metadata.csv", "c1.wav|a|b|c|d\n")
    with pytest.raises(DataError, match="metadata.csv:1"):
        RECIPES["folder"](src)


EXPECTED_SHARED = {
    "kathleen-arctic": ({"kathleen"}, None),
    "commonvoice-en": ({"1b16cc0ee043", "372293e65cda"}, None),
    "librispeech-251": ({"103", "1034"}, None),
    "ljspeech-sample": ({"LJ"}, None),
    "ravdess-speech": ({"Actor_01", "Actor_02"}, {"neutral", "angry", "surprised"}),
    "speechocean762-adults": ({"0024", "0025"}, None),
}


@pytest.mark.parametrize("name", SHARED)
def test_shared_corpora(tmp_path, name):
    src = make_shared(tmp_path, name)
    utts = RECIPES[name](src)
    speakers, emotions = EXPECTED_SHARED[name]
    assert {u.speaker for u in utts} == speakers
    assert all(Path(u.audio_path).is_file() for u in utts)
    assert all(u.text and u.language == "en" for u in utts)
    if emotions is None:
        assert all(u.emotion is None for u in utts)
    else:
        assert {u.emotion for u in utts} == emotions


def test_shared_texts(tmp_path):
    lj = _by_id(RECIPES["ljspeech-sample"](make_shared(tmp_path, "ljspeech-sample")))
    assert lj["LJ001-0007"].text == "in fourteen fifty-five"
    so = _by_id(RECIPES["speechocean762-adults"](make_shared(tmp_path, "speechocean762-adults")))
    assert so["000240010"].text == "It was good for me"
    assert so["000250031"].text == "I think I can do it"
    rav = _by_id(RECIPES["ravdess-speech"](make_shared(tmp_path, "ravdess-speech")))
    assert rav["03-01-05-02-02-01-02"].emotion == "angry"
    assert rav["03-01-05-02-02-01-02"].text == "Dogs are sitting by the door"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_missing_source_folder(tmp_path, name):
    with pytest.raises(DataError, match="not found") as info:
        RECIPES[name](tmp_path / "does-not-exist")
    assert "\n" not in str(info.value) and "expected" in str(info.value)


@pytest.mark.parametrize("name", ["ljspeech", "vctk", "libritts", "arctic", *SHARED])
def test_empty_folder_says_what_was_expected(tmp_path, name):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="expected") as info:
        RECIPES[name](tmp_path / "empty")
    assert "\n" not in str(info.value)


def test_shared_recipe_on_wrong_folder(tmp_path):
    src = make_shared(tmp_path, "commonvoice-en")
    with pytest.raises(DataError, match=re.escape("but expected 'id|text'")):
        RECIPES["kathleen-arctic"](src)


def test_shared_metadata_row_with_wrong_field_count(tmp_path):
    src = make_shared(tmp_path, "kathleen-arctic")
    with open(src / "metadata.csv", "a") as f:
        f.write("broken_row\n")
    with pytest.raises(DataError, match="metadata.csv:4"):
        RECIPES["kathleen-arctic"](src)


def test_folder_without_audio(tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError, match="no audio files"):
        RECIPES["folder"](tmp_path / "nothing")
