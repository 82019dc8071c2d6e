"""``voxclone say`` in pipes: text from standard input, WAV or raw PCM to standard output,
progress on a terminal only, and the output checked before anything is synthesized.

The pipes are real ones (the installed command in a subprocess); the refusals run in-process
with the synthesis replaced by a failure, so that a check that came too late would show."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tts.cli import main

EXE = Path(sys.executable).with_name("voxclone")
TWO = "Text can come through a pipe. This is its second sentence."


def _say(args: list[str], stdin: bytes | None = None,
         stderr=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(EXE), "say", *args], input=stdin, stdout=subprocess.PIPE,
                          stderr=stderr, timeout=300, env=env, check=False)


def test_piped_text_to_a_wav_on_standard_output(tmp_path):
    done = _say(["-o", "-"], stdin=TWO.encode())
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout[:4] == b"RIFF" and done.stdout[8:12] == b"WAVE"
    samples, rate = sf.read(io.BytesIO(done.stdout), dtype="int16")  # nothing else on stdout
    assert rate == 22050 and 2.0 < len(samples) / rate < 8.0
    err = done.stderr.decode().splitlines()
    assert err == [f"wrote standard output ({len(samples) / rate:.1f} s, 22050 Hz, 2 chunk(s), "
                   "engine voxclone)"]  # no progress: stderr is not a terminal
    raw = _say(["--raw", "-o", str(tmp_path / "speech.raw"), "-q"], stdin=TWO.encode())
    assert raw.returncode == 0 and raw.stdout == b"" and raw.stderr == b""
    pcm = np.frombuffer((tmp_path / "speech.raw").read_bytes(), dtype="<i2")
    assert np.array_equal(pcm, samples)  # the same speech, without the header


def test_raw_pcm_to_standard_output_and_progress_on_a_terminal(tmp_path):
    main_fd, term_fd = pty.openpty()
    try:
        done = _say([TWO, "--raw", "-o", "-"], stderr=term_fd)
        os.close(term_fd)
        shown = b""
        while True:
            try:
                data = os.read(main_fd, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not data:
                break
            shown += data
    finally:
        os.close(main_fd)
    assert done.returncode == 0
    pcm = np.frombuffer(done.stdout, dtype="<i2")
    assert len(done.stdout) % 2 == 0 and 2.0 < len(pcm) / 22050 < 8.0
    assert np.abs(pcm).max() > 1000  # speech, not silence
    text = shown.decode()
    assert "spoken 1/2 chunks" in text and "spoken 2/2 chunks" in text
    assert "16-bit PCM without header" in text


def test_standard_output_in_process(capsysbinary):
    assert main(["say", "Hi.", "-o", "-", "-q"]) == 0  # stdout without a file descriptor
    captured = capsysbinary.readouterr()
    samples, rate = sf.read(io.BytesIO(captured.out), dtype="int16")
    assert rate == 22050 and len(samples) > 0.2 * rate and captured.err == b""


@pytest.fixture
def no_synthesis(monkeypatch):
    """Fail the test if anything gets as far as synthesizing."""
    from tts.synthesizer import Synthesizer

    def refuse(*args, **kwargs):
        raise AssertionError("synthesis started before the output was checked")

    monkeypatch.setattr(Synthesizer, "speak", refuse)
    monkeypatch.setattr(Synthesizer, "synthesize", refuse)


@pytest.mark.parametrize(("output", "extra", "message"), [
    ("/proc/nowhere/x.wav", [], "cannot create folder /proc/nowhere"),
    ("DIR/speech.opus", [], "must end in .wav, .flac or .ogg"),
    ("DIR/speech", [], "must end in"),
    ("DIR", [], "it is a folder"),
    ("DIR/speech.wav", ["--raw"], "name the file .raw or .pcm"),
    ("DIR/file.txt/sub/x.wav", [], "Not a directory"),
])
def test_bad_output_is_refused_before_synthesis(tmp_path, capsys, no_synthesis, output, extra,
                                                message):
    (tmp_path / "file.txt").write_text("a file, not a folder")
    before = sorted(tmp_path.rglob("*"))
    output = output.replace("DIR", str(tmp_path))
    assert main(["say", "Hello.", "-o", output, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("voxclone: error: cannot write")
    assert message in err[0]
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, no folder left behind


def test_audio_is_not_written_to_a_terminal(capsys, monkeypatch, no_synthesis):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    assert main(["say", "Hello.", "-o", "-"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing to write audio to a terminal" in err[0]


def test_folders_made_for_the_output_go_when_synthesis_fails(tmp_path, capsys):
    target = tmp_path / "new" / "deeper" / "x.wav"
    assert main(["say", "🙂🙂", "-o", str(target)]) == 2  # nothing to say
    assert "nothing to say" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_no_text_and_no_pipe_is_one_line(tmp_path):
    done = subprocess.run([str(EXE), "say", "-o", str(tmp_path / "x.wav")],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False)
    assert done.returncode == 2 and not (tmp_path / "x.wav").exists()
    assert done.stderr.decode().strip().endswith("or pipe text into standard input")


@pytest.mark.slow  # a longer text, for a WAV larger than the pipe's buffer
def test_a_reader_that_leaves_early_is_one_line():
    proc = subprocess.Popen([str(EXE), "say", TWO * 3, "-o", "-", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.stdout.read(44)[:4] == b"RIFF"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 2
    assert err.strip().splitlines() == ["voxclone: error: standard output was closed before "
                                        "all the audio was written"]
