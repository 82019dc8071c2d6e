"""Speech-to-speech (``tts.convert`` and ``voxclone convert``), with the bundled voices.

The source is the bundled male voice cv-372293 speaking a sentence between pauses; it is
converted into kathleen (female): the timing must stay, the pitch contour must follow the
source's, moved up into kathleen's range, and the result must be kathleen's pitch.
"""

import numpy as np
import pytest
import soundfile as sf

from tts.cli import main
from tts.errors import AudioError, ConfigError

TEXT = "The harbor lights flickered as the last ferry pulled away."


@pytest.fixture(scope="module")
def source():
    """``(wav, rate)``: cv-372293 saying TEXT with 0.6 s of faint noise before and after."""
    from tts.voices import voice_engine

    wav, rate = voice_engine("cv-372293").speak(TEXT)
    noise = np.random.default_rng(0).normal(0, 1e-4, int(0.6 * rate)).astype(np.float32)
    return np.concatenate([noise, wav, noise]), rate


@pytest.fixture(scope="module")
def kathleen():
    from tts.voices import voice_engine

    return voice_engine("kathleen")


def _median_f0(wav, rate):
    from tts.prosody import pitch_track

    f0, voiced = pitch_track(wav, rate)
    return float(np.median(f0[voiced])), f0, voiced


def test_speech_pieces_cut_at_pauses(source):
    from tts.convert import speech_pieces

    wav, rate = source
    gap = np.zeros(rate, np.float32)
    twice = np.concatenate([wav, gap, wav])
    whole = speech_pieces(twice, rate, max_seconds=30.0)
    cut = speech_pieces(twice, rate, max_seconds=len(wav) / rate)
    assert len(whole) == 1 and len(cut) == 2
    (a0, a1), (b0, b1) = cut
    assert 0 < a0 < a1 < len(wav) + rate // 2 and len(wav) + rate // 2 < b0 < b1 <= len(twice)


def test_share_timing_keeps_each_groups_time_and_the_voices_proportions():
    import torch

    from tts.convert import share_timing, word_groups

    symbols = ["<bos>", "HH", "AY1", " ", "DH", "EH1", "R", ".", "<eos>"]
    groups = word_groups(symbols)
    assert groups.tolist() == [0, 1, 1, 2, 3, 3, 3, 4, 5]
    aligned = torch.tensor([3, 1, 11, 4, 2, 2, 20, 5, 2])
    own = torch.tensor([1.0, 2, 4, 1, 1, 4, 3, 2, 1])
    out = share_timing(aligned, own, groups)
    assert out.sum() == aligned.sum() and out.tolist()[:4] == [3, 4, 8, 4]
    assert out[4:7].tolist() == [3, 12, 9] and out[7:].tolist() == [5, 2]


def test_share_timing_with_floors_stretches_vowels_more_than_consonants():
    import torch

    from tts.convert import ELASTIC_FLOORS, elastic_floors, share_timing

    symbols = ["<bos>", "S", "IY1", " ", "T", "UW1", "<eos>"]
    floors = elastic_floors(symbols)
    assert floors.tolist() == pytest.approx([0, 0.9, 0.3, 0, 0.9, 0.3, 0])
    assert ELASTIC_FLOORS == {"consonant": 0.9, "vowel": 0.3}
    groups = torch.tensor([0, 1, 1, 2, 3, 3, 4])
    own = torch.tensor([2.0, 4, 4, 1, 4, 4, 2])
    # stretched to 16 frames: the consonant keeps 3.6 of its 4 and takes 1.4 of the rest
    # (0.4 x 3.5), the vowel 1.2 + 2.8 x 3.5 = 11; in proportion both would get 8
    aligned = torch.tensor([2, 10, 6, 1, 3, 3, 2])
    out = share_timing(aligned, own, groups, floors)
    assert out[1:3].tolist() == [5, 11] and share_timing(aligned, own, groups)[1:3].tolist() == [8, 8]
    # shrunk to 6 frames: 3.6 + 0.4 x 0.375 and 1.2 + 2.8 x 0.375 -> [4, 2]; shorter than
    # the kept parts (4.8): in proportion
    assert out[4:6].tolist() == [4, 2]
    aligned[4], aligned[5] = 2, 2
    assert share_timing(aligned, own, groups, floors)[4:6].tolist() == [2, 2]
    assert out.sum() == 27
    assert out[[0, 3, 6]].tolist() == [2, 1, 2]  # one-token groups keep their time


def test_phone_class_knows_both_inventories():
    from tts.text.symbols import ARPABET, phone_class

    assert [phone_class(s) for s in ("AA1", "ER0", "T", "NG", "a", "ə", "ʃ", "t")] == \
        ["vowel", "vowel", "consonant", "consonant", "vowel", "vowel", "consonant", "consonant"]
    assert [phone_class(s) for s in ("<bos>", " ", ",", "ˈ", "ː", "AA")] == [None] * 6
    assert sum(phone_class(s) == "vowel" for s in ARPABET) == 45


def test_phrase_groups_cut_only_at_long_quiet_non_words():
    import torch

    from tts.convert import phrase_groups

    symbols = ["<bos>", "HH", "AY1", " ", "DH", "EH1", "R", ",", " ", "Y", "UW1", ".", "<eos>"]
    aligned = torch.tensor([20, 5, 9, 30, 4, 6, 8, 15, 3, 6, 12, 40, 1])
    quiet = torch.tensor([1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1], dtype=torch.bool)
    # the leading quiet boundary and the quiet comma are pauses; the space of 30 frames holds
    # speech (not quiet), the quiet space of 3 frames is too short: both stay in their phrase
    groups = phrase_groups(symbols, aligned, quiet, pause_frames=13)
    assert groups.tolist() == [0, 1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 4, 5]


def test_quiet_tokens_finds_the_silent_frames():
    import torch

    from tts.convert import quiet_tokens

    hop, rate = 256, 22050
    t = np.arange(40 * hop) / rate
    wav = np.concatenate([np.zeros(20 * hop), 0.3 * np.sin(2 * np.pi * 200 * t),
                          np.zeros(20 * hop)]).astype(np.float32)
    quiet = quiet_tokens(wav, torch.tensor([20, 15, 25, 18, 2, 0]), hop)
    assert quiet.tolist() == [True, False, False, True, True, False]


def test_phrase_timing_keeps_the_sources_pause(kathleen):
    """A pause inside one transcript piece stays where the source has it, silent, in phrase
    timing (the default) and in word timing."""
    from tts.convert import convert
    from tts.voices import voice_engine

    source = voice_engine("cv-372293")
    first, rate = source.speak("The harbor lights flickered.")
    second, _ = source.speak("The last ferry pulled away.")
    gap = np.random.default_rng(1).normal(0, 1e-4, int(0.8 * rate)).astype(np.float32)
    wav = np.concatenate([gap[:rate // 4], first, gap, second, gap[:rate // 4]])
    text = "The harbor lights flickered. The last ferry pulled away."
    middle = slice(rate // 4 + len(first) + int(0.2 * rate),
                   rate // 4 + len(first) + int(0.6 * rate))
    # where the source's first sentence stops being loud (its clip may end in near-silence)
    spoken_end = rate // 4 + np.flatnonzero(np.abs(first) > 0.1 * np.abs(first).max())[-1]
    for timing in ("phrase", "word"):
        result = convert(kathleen, wav, rate, transcript=text, timing=timing, watermark=False)
        assert result.pieces == 1 and abs(len(result.wav) - len(wav)) < 2 * 256
        out = result.wav
        assert np.abs(out[middle]).max() < 0.02 * np.abs(out).max(), timing
        assert np.abs(out[spoken_end - int(0.4 * rate):spoken_end]).max() > 0.1 * np.abs(
            out).max(), timing  # the first sentence is spoken before the pause, up to its end


def test_convert_keeps_timing_and_contour_and_takes_the_voices_pitch(source, kathleen):
    from tts.convert import convert

    wav, rate = source
    result = convert(kathleen, wav, rate, transcript=TEXT, watermark=False)
    assert result.sample_rate == kathleen.audio.sample_rate
    assert abs(len(result.wav) - len(wav)) < 2 * kathleen.audio.hop_length
    assert result.pieces == 1 and result.words == [TEXT]
    source_hz, f_src, v_src = _median_f0(wav, rate)
    out_hz, f_out, v_out = _median_f0(result.wav, result.sample_rate)
    voice_hz, _, _ = _median_f0(*kathleen.speak(TEXT))
    assert result.semitones > 3.0  # a male source into a female voice goes up
    assert abs(12 * np.log2(out_hz / voice_hz)) < 1.5
    both = v_src & v_out[: len(v_src)]
    corr = np.corrcoef(np.log2(f_src[both]), np.log2(f_out[: len(v_src)][both]))[0, 1]
    assert both.sum() > 50 and corr > 0.6
    quiet = result.wav[: int(0.4 * rate)]
    assert np.abs(quiet).max() < 1e-3  # the pause before the speech stays silent


def test_pitch_option_moves_the_output(source, kathleen):
    from tts.convert import convert

    wav, rate = source
    base = convert(kathleen, wav, rate, transcript=TEXT, watermark=False)
    up = convert(kathleen, wav, rate, transcript=TEXT, pitch=3.0, watermark=False)
    shift = 12 * np.log2(_median_f0(up.wav, up.sample_rate)[0]
                         / _median_f0(base.wav, base.sample_rate)[0])
    assert abs(up.semitones - base.semitones - 3.0) < 1e-6 and abs(shift - 3.0) < 0.6


def test_own_timing_and_pitch_and_the_asr_path(source, kathleen):
    """Without a transcript the transcriber gives the words; the voice's own timing and
    intonation can replace the source's."""
    from tts.convert import convert

    class Heard:
        calls = 0

        def transcribe(self, wav, rate):
            Heard.calls += 1
            return TEXT

    wav, rate = source
    result = convert(kathleen, wav, rate, transcriber=Heard(), timing="own",
                     keep_pitch=False, watermark=False)
    voice_hz, _, _ = _median_f0(*kathleen.speak(TEXT))
    assert Heard.calls == 1 and result.words == [TEXT] and result.semitones == 0.0
    assert abs(12 * np.log2(_median_f0(result.wav, result.sample_rate)[0] / voice_hz)) < 1.0


def test_a_voice_unvoiced_on_the_words_takes_its_calibrated_range(source, kathleen,
                                                                   monkeypatch):
    """When the voice's own speech of the source's words comes out unvoiced (cv-372293 on a
    few sentences), its pitch range comes from its calibration sentences instead."""
    import dataclasses

    import torch

    from tts.convert import convert
    from tts.text import normalize

    wav, rate = source
    expected = convert(kathleen, wav, rate, transcript=TEXT, watermark=False).semitones
    words = kathleen.tokens(normalize(TEXT))
    real = kathleen.mel_from_tokens

    def unvoiced_on_the_words(ids, durations=None, pitch=None, pitch_shift=None):
        result = real(ids, durations, pitch, pitch_shift)
        if list(ids) == list(words) and durations is None and pitch is None:
            return dataclasses.replace(result, f0=torch.zeros_like(result.f0))
        return result

    monkeypatch.setattr(kathleen, "mel_from_tokens", unvoiced_on_the_words)
    result = convert(kathleen, wav, rate, transcript=TEXT, watermark=False)
    assert np.isfinite(result.semitones) and abs(result.semitones - expected) < 2.0
    monkeypatch.setattr(kathleen, "mel_from_tokens", lambda *a, **k: dataclasses.replace(
        real(*a, **k), f0=torch.zeros_like(real(*a, **k).f0)))
    with pytest.raises(ConfigError, match="speaks nothing voiced"):
        convert(kathleen, wav, rate, transcript=TEXT, watermark=False)


def test_output_is_watermarked(source, kathleen):
    from tts.convert import convert
    from tts.watermark import detect

    wav, rate = source
    result = convert(kathleen, wav, rate, transcript=TEXT)
    assert result.watermarked and detect(result.wav, result.sample_rate).present


def test_refusals(source, kathleen):
    from tts.convert import convert
    wav, rate = source
    with pytest.raises(AudioError, match="no speech"):
        convert(kathleen, np.zeros(3 * rate, np.float32), rate, transcript=TEXT)
    with pytest.raises(AudioError, match="transcript is empty"):
        convert(kathleen, wav, rate, transcript="  ")

    class Nothing:
        def transcribe(self, wav, rate):
            return ""

    with pytest.raises(AudioError, match="no words"):
        convert(kathleen, wav, rate, transcriber=Nothing())
    from tts.bundled import CHECKPOINTS
    from tts.neural_engine import NeuralEngine

    without_pitch = NeuralEngine.load(CHECKPOINTS / "acoustic" / "kathleen.pt")
    with pytest.raises(ConfigError, match="pitch"):
        convert(without_pitch, wav, rate, transcript=TEXT)
    with pytest.raises(ConfigError, match="timing must be one of"):
        convert(kathleen, wav, rate, transcript=TEXT, timing="phone")
    with pytest.raises(ConfigError, match="semitones"):
        convert(kathleen, wav, rate, transcript=TEXT, pitch=20.0)


def test_cli_converts_a_file_and_a_folder(source, tmp_path, capsys):
    wav, rate = source
    src = tmp_path / "in"
    src.mkdir()
    sf.write(src / "a.wav", wav, rate)
    sf.write(src / "b.flac", wav, rate)
    out = tmp_path / "one.wav"
    assert main(["convert", str(src / "a.wav"), "--voice", "kathleen", "--transcript", TEXT,
                 "-o", str(out)]) == 0
    data, out_rate = sf.read(out)
    assert out_rate == 22050 and abs(len(data) / out_rate - len(wav) / rate) < 0.05
    assert "wrote" in capsys.readouterr().out
    text = tmp_path / "words.txt"
    text.write_text(TEXT + "\n", encoding="utf-8")
    from vocoder_fixtures import load_script

    script = load_script("convert")  # scripts/convert.py: the same command
    assert script.main([str(src / "b.flac"), "--voice", "kathleen", "--transcript",
                        str(text), "-o", str(tmp_path / "two.flac"), "-q", "--timing", "word"]) == 0
    assert sf.info(tmp_path / "two.flac").format == "FLAC"


def test_the_asr_finds_the_words_and_the_cli_converts_a_folder(source, kathleen, tmp_path,
                                                               capsys):
    """No transcript: the offline ASR (Whisper, else pocketsphinx) finds the words (of a clear
    source: kathleen's own speech; cv-372293 is the least intelligible bundled voice)."""
    from tts.convert import convert
    from tts.metrics import Transcriber, word_error_rate

    clear, clear_rate = kathleen.speak(TEXT)
    result = convert(kathleen, clear, clear_rate, transcriber=Transcriber(), watermark=False)
    assert result.pieces == 1 and word_error_rate(TEXT, result.words[0]) < 0.3
    wav, rate = source
    src = tmp_path / "in"
    src.mkdir()
    sf.write(src / "a.wav", wav, rate)
    sf.write(src / "b.flac", wav[: len(wav) // 2], rate)
    assert main(["convert", str(src), "--voice", "kathleen", "-o", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.wav", "b.wav"]
    assert capsys.readouterr().out.count("wrote") == 2
    assert abs(sf.info(tmp_path / "out" / "b.wav").duration - len(wav) / 2 / rate) < 0.05


def test_cli_bad_input_is_one_line_and_writes_nothing(source, tmp_path, capsys):
    wav, rate = source
    good = tmp_path / "good.wav"
    sf.write(good, wav, rate)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(2 * rate, np.float32), rate)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    out = tmp_path / "out.wav"
    cases = [[str(silent), "--voice", "kathleen", "--transcript", TEXT],
             [str(broken), "--voice", "kathleen", "--transcript", TEXT],
             [str(tmp_path / "missing.wav"), "--voice", "kathleen", "--transcript", TEXT],
             [str(good), "--voice", "nobody-by-that-name", "--transcript", TEXT],
             [str(good), "--voice", "kathleen", "--transcript", TEXT, "--pitch", "40"],
             [str(good), str(good), "--voice", "kathleen", "--transcript", TEXT]]
    for argv in cases:
        capsys.readouterr()
        assert main(["convert", *argv, "-o", str(out)]) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert not out.exists()
    odd = tmp_path / "x.xyz"
    assert main(["convert", str(good), "--voice", "kathleen", "--transcript", TEXT,
                 "-o", str(odd)]) == 2
    assert "must end in" in capsys.readouterr().err and not odd.exists()
