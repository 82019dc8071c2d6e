"""CLI tests: in-process ``main([...])`` calls, plus one run of the installed command."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tts import __version__
from tts.cli import main


def _wav(path):
    data, rate = sf.read(path, dtype="float32")
    return data, rate


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and __version__ in capsys.readouterr().out


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("say", "text", "prepare"):
        assert command in out


def test_say_writes_speech(tmp_path, capsys):
    out = tmp_path / "hello.wav"
    assert main(["say", "Hello world, this is a test.", "-o", str(out)]) == 0
    data, rate = _wav(out)
    assert rate == 22050 and 1.0 < len(data) / rate < 5.0
    assert np.sqrt(np.mean(data ** 2)) > 0.01
    assert "engine voxclone" in capsys.readouterr().out  # the bundled neural voice spoke
    assert main(["say", "Hello world.", "-o", str(out), "--espeak"]) == 0
    assert "espeak-ng fallback" in capsys.readouterr().err  # says which path spoke


def test_say_normalizes_numbers_before_speaking(tmp_path):
    short, long = tmp_path / "a.wav", tmp_path / "b.wav"
    main(["say", "-q", "I paid 5 dollars.", "-o", str(short)])
    main(["say", "-q", "I paid $1,234,567.89.", "-o", str(long)])
    assert len(_wav(long)[0]) > 2 * len(_wav(short)[0])


def test_say_from_file_and_stdin(tmp_path, monkeypatch):
    text = tmp_path / "t.txt"
    text.write_text("Reading from a file.", encoding="utf-8")
    assert main(["say", "-q", "-f", str(text), "-o", str(tmp_path / "f.wav")]) == 0
    monkeypatch.setattr(sys, "stdin", open(text, encoding="utf-8"))  # noqa: SIM115
    assert main(["say", "-q", "-", "-o", str(tmp_path / "s.wav")]) == 0
    assert (tmp_path / "s.wav").stat().st_size > 1000


@pytest.mark.parametrize("argv,message", [
    (["say", "   "], "text is empty"),
    (["say"], "nothing to say"),
    (["say", "-f", "/nonexistent/t.txt"], "text file not found"),
    (["say", "x" * 100_001], "too long"),
    (["say", "🙂🙂 ☃"], "nothing to say"),
    (["say", "hi", "-f", "x.txt"], "not both"),
])
def test_bad_input_is_one_line_and_non_zero(tmp_path, capsys, argv, message):
    out = tmp_path / "never.wav"
    assert main([*argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("voxclone: error:") and message in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert not out.exists()


def test_unknown_characters_are_dropped_with_a_warning(tmp_path, capsys):
    assert main(["say", "-q", "Good morning 🙂 everyone.", "-o", str(tmp_path / "w.wav")]) == 0
    assert "voxclone: warning:" in capsys.readouterr().err


@pytest.mark.slow
def test_say_ten_thousand_characters(tmp_path):
    sentence = "On May 3rd, 1999, Dr. Smith walked 12 km to buy 3 apples for $4.50; it rained. "
    text = (sentence * (10_000 // len(sentence) + 1))[:10_000]
    out = tmp_path / "long.wav"
    assert main(["say", "-q", text, "-o", str(out)]) == 0
    data, rate = _wav(out)
    assert len(data) / rate > 400  # ~10 minutes of speech, nothing dropped


def test_text_shows_normalization_and_phonemes(capsys):
    assert main(["text", "-p", "Dr. Smith read 2 books."]) == 0
    words, phonemes = capsys.readouterr().out.strip().splitlines()
    assert "doctor" in words.lower() and "two" in words.lower()
    assert "R EH1 D" in phonemes


def test_installed_command_end_to_end(tmp_path):
    exe = Path(sys.executable).with_name("voxclone")
    assert exe.exists(), "the voxclone console script is not installed (pip install -e .)"
    out = tmp_path / "e2e.wav"
    proc = subprocess.run([str(exe), "say", "End to end.", "-o", str(out)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 1000
    bad = subprocess.run([str(exe), "say", ""], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_prepare_through_the_cli(tmp_path, capsys):
    from data_fixtures import make_ljspeech

    src, out = make_ljspeech(tmp_path), tmp_path / "prepared"
    assert main(["prepare", "ljspeech", str(src), str(out), "--workers", "1", "-q"]) == 0
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 3
    assert "kept" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["prepare", "no-such-recipe", "SRC", "OUT"], "unknown recipe"),
    (["prepare", "ljspeech", "/nonexistent/corpus", "OUT"], "/nonexistent/corpus"),
])
def test_prepare_bad_input(tmp_path, capsys, argv, message):
    argv = [a.replace("OUT", str(tmp_path / "out")).replace("SRC", str(tmp_path)) for a in argv]
    assert main([*argv, "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("voxclone: error:") and message in err[0].lower()


def test_vocode_griffinlim_and_bad_inputs(tmp_path, capsys):
    from audio_fixtures import voiced_signal

    src = tmp_path / "in.wav"
    sf.write(src, voiced_signal(1.0, 44100), 44100)
    out = tmp_path / "out.wav"
    assert main(["vocode", str(src), "-o", str(out), "-q"]) == 0
    data, rate = _wav(out)
    assert rate == 22050 and abs(len(data) - 22050) < 2 * 256
    for argv, message in ((["vocode", str(tmp_path / "missing.wav")], "not found"),
                          (["vocode", str(src), "--vocoder", str(src)], "corrupt")):
        assert main([*argv, "-o", str(tmp_path / "x.wav")]) == 2
        assert message in capsys.readouterr().err
