"""Watermark: embed/detect round trip, payload, attacks at small scale, CLI detect, bad input.

The marked audio is espeak-ng speech made at test time: a strictly periodic synthetic signal
(such as ``voiced_signal``'s fixed syllable rate) is exactly what the detector's guard against
hosts that repeat with the mark's block discounts, so it is no stand-in for speech here."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import voiced_signal

from tts.audio import resample
from tts.cli import main
from tts.errors import AudioError, VoxcloneError
from tts.watermark import DEFAULT_KEY, detect, embed, make_payload, split_payload
from tts.watermark import attacks as A

RATE = 22050
PAYLOAD = 0xBEEF


def speak(text: str) -> np.ndarray:
    from tts.synthesizer import EspeakEngine

    wav, rate = EspeakEngine("en-us", 150).speak(text)
    return resample(wav, rate, RATE)


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return speak("A small boat crossed the quiet harbour before the storm came in.")


@pytest.fixture(scope="module")
def marked(clean) -> np.ndarray:
    return embed(clean, RATE, PAYLOAD)


def test_round_trip_recovers_payload(marked):
    result = detect(marked, RATE)
    assert result.present and result.score > 2 * result.threshold
    assert result.payload == PAYLOAD
    end = len(marked) / RATE
    assert result.segments and result.segments[0][0] < 0.5 and result.segments[-1][1] > end - 0.5


def test_mark_is_quiet_and_shaped(clean, marked):
    assert marked.shape == clean.shape and marked.dtype == np.float32
    snr = 10 * np.log10(np.sum(clean ** 2) / np.sum((marked - clean) ** 2))
    assert snr >= 30.0
    spectrum = np.abs(np.fft.rfft(marked - clean))
    freqs = np.fft.rfftfreq(len(clean), 1 / RATE)
    assert spectrum[freqs > 4000].sum() < 0.01 * spectrum.sum()  # lives below 4 kHz


def test_unmarked_and_wrong_key_not_detected(clean, marked):
    assert not detect(clean, RATE).present
    assert not detect(marked, RATE, key="someone else's key").present
    assert not detect(np.zeros(RATE, np.float32), RATE).present


def test_periodic_and_noise_hosts_not_detected():
    """A tone pulsed twice a second repeats about every half block (0.512 s of the 1.024 s
    block): many block phases fit it, which the detector's phase-spread guard discounts; plain
    noise fits none."""
    t = np.arange(8 * RATE) / RATE
    pulses = (0.3 * np.sin(2 * np.pi * 1000 * t) * (np.sin(2 * np.pi * 2 * t) > 0.9))
    noise = 0.05 * np.random.default_rng(0).standard_normal(8 * RATE)
    for wav in (pulses, noise, voiced_signal(6.0, RATE, seed=3)):
        assert not detect(wav.astype(np.float32), RATE).present


def test_other_payloads_and_keys(clean):
    x = resample(clean, RATE, 16000)
    y = embed(x, 16000, make_payload(3, 200), key="private")
    result = detect(y, 16000, key="private")
    assert result.present and split_payload(result.payload) == (3, 200)


@pytest.mark.parametrize("name", ["gain -10 dB", "resample 16 kHz", "resample 8 kHz",
                                  "low-pass 4 kHz", "crop 2 s", "mp3 32 kbit/s"])
def test_survives_attack(marked, name):
    wav, rate = A.standard_attacks()[name](marked, RATE, np.random.default_rng(0))
    result = detect(wav, rate)
    assert result.present, result
    assert result.payload == PAYLOAD


@pytest.mark.parametrize("name", ["mp3 24 kbit/s", "ogg vorbis q0", "opus 24 kbit/s",
                                  "opus 16 kbit/s", "mp3 16 kbit/s",
                                  "noise 20 dB SNR", "gain +6 dB",
                                  pytest.param("stretch 0.97", marks=pytest.mark.slow),
                                  pytest.param("stretch 1.03", marks=pytest.mark.slow)])
def test_detected_after_attack(marked, name):
    """Found; the payload is either right or withheld as unreadable, never wrong. (+6 dB clips
    0.4% of this clip's samples, which spreads distortion into the weak tiles the payload
    lives in.) This clip is found after each of these; the rates over many clips, some below
    the 0.99 target (mp3 and Opus 16 kbit/s), are the benchmark's (docs/watermark.md)."""
    wav, rate = A.standard_attacks()[name](marked, RATE, np.random.default_rng(0))
    result = detect(wav, rate)
    assert result.present, result
    assert result.payload in (PAYLOAD, None), result


@pytest.mark.slow
@pytest.mark.xfail(reason="Opus at 12 kbit/s keeps too little of the mark: 0.35 of 144 clips "
                          "in scripts/benchmark.py watermark, and this clip scores just under "
                          "its threshold; see docs/watermark.md", strict=False)
def test_opus_12_kbits(marked):
    wav, rate = A.standard_attacks()["opus 12 kbit/s"](marked, RATE, np.random.default_rng(0))
    assert detect(wav, rate).present


def test_attacks_keep_shape_and_rate(marked):
    rng = np.random.default_rng(0)
    assert A.mp3(marked, RATE, 32)[0].shape == marked.shape
    assert A.ogg(marked, RATE)[0].shape == marked.shape
    wav, rate = A.opus(marked, RATE, 16)
    assert rate == A.OPUS_RATE and abs(len(wav) / rate - len(marked) / RATE) < 0.01
    for kbps in (12, 16, 24):  # the attack's name is the stream's real bit rate
        real = len(A.opus_bytes(marked, RATE, kbps)) * 8 / (len(marked) / RATE) / 1000
        assert 0.85 * kbps < real < 1.15 * kbps + 1.5, (kbps, real)
    assert A.crop(marked, RATE, 2.0, rng)[0].shape == (2 * RATE,)
    noisy = A.add_noise(marked, 20.0, rng)
    snr = 10 * np.log10(np.sum(marked ** 2) / np.sum((noisy - marked) ** 2))
    assert 19.5 < snr < 20.5


def test_concatenation_reports_where(marked):
    other = speak("Please put the green folder on my desk when you leave the office.")
    joined, (start, end) = A.splice(marked, other, RATE, np.random.default_rng(2))
    result = detect(joined, RATE)
    assert result.present and result.payload == PAYLOAD
    (a, b), = result.segments
    assert abs(a - start) < 0.6 and abs(b - end) < 0.6


def test_long_file_is_searched_in_windows(marked):
    """A 40 s file (two overlapping 30 s windows) with the mark at 25.5 s, across where the
    first window ends: found in the second window, at the right time, with its payload."""
    other = speak("Please put the green folder on my desk when you leave the office. " * 3)
    background = np.resize(other, 40 * RATE)
    at = int(25.5 * RATE)
    joined = np.r_[background[:at], marked, background[at:]][:40 * RATE]
    result = detect(joined, RATE)
    assert result.present and result.payload == PAYLOAD
    (a, b), = result.segments
    assert abs(a - 25.5) < 0.6 and abs(b - (25.5 + len(marked) / RATE)) < 0.6
    assert not detect(background, RATE).present


def test_withheld_payload_is_reported(marked, tmp_path, monkeypatch, capsys):
    """Below ``PAYLOAD_MIN_MARGIN`` the mark is present but the payload ``None``, and the CLI
    says so."""
    import tts.watermark as W

    monkeypatch.setattr(W, "PAYLOAD_MIN_MARGIN", 1e9)
    result = detect(marked, RATE)
    assert result.present and result.payload is None and result.payload_margin > 2
    sf.write(tmp_path / "m.wav", marked, RATE)
    assert main(["detect", str(tmp_path / "m.wav")]) == 0
    assert "PRESENT" in (line := capsys.readouterr().out) and "payload unreadable" in line


def test_bad_input():
    with pytest.raises(AudioError):
        embed(np.zeros((2, 100), np.float32), RATE)
    with pytest.raises(AudioError):
        detect(np.full(100, np.nan, np.float32), RATE)
    with pytest.raises(AudioError):
        detect(np.zeros(100, np.float32), 4000)
    with pytest.raises(VoxcloneError):
        embed(np.zeros(100, np.float32), RATE, payload=1 << 16)
    assert not detect(np.zeros(10, np.float32), RATE).present  # too short: absent, no crash


def test_cli_detect(tmp_path, marked, clean, capsys):
    sf.write(tmp_path / "m.wav", marked, RATE, subtype="PCM_16")
    sf.write(tmp_path / "c.flac", clean, RATE)
    assert main(["detect", str(tmp_path / "m.wav"), str(tmp_path / "c.flac")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "PRESENT" in out[0] and f"payload {PAYLOAD}" in out[0]
    assert "no watermark" in out[1]
    assert main(["detect", "--json", str(tmp_path / "m.wav"), "--key", DEFAULT_KEY]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["present"] and report["payload"] == PAYLOAD and report["segments"]
    assert report["threshold"] == round(report["threshold"], 3)
    assert report["score"] >= report["threshold"]


def test_cli_detect_bad_files(tmp_path, capsys):
    (tmp_path / "bad.wav").write_bytes(b"not audio at all")
    assert main(["detect", str(tmp_path / "bad.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("voxclone: error:")
    assert main(["detect", str(tmp_path / "missing.wav")]) == 2


@pytest.mark.slow
def test_cli_vocode_records_watermark_off(tmp_path, clean):
    sf.write(tmp_path / "in.wav", clean, RATE)
    out = tmp_path / "out.wav"
    assert main(["vocode", str(tmp_path / "in.wav"), "-o", str(out), "-q",
                 "--no-watermark"]) == 0
    assert "watermark: OFF" in sf.SoundFile(str(out)).comment
    assert main(["vocode", str(tmp_path / "in.wav"), "-o", str(out), "-q"]) == 0
    assert "watermark: on" in sf.SoundFile(str(out)).comment


def test_benchmark_false_positives_split_into_parts(tmp_path, capsys):
    """``benchmark.py watermark --clips 0``: the false-positive run split in two parts that
    append to one scores file reports the same as one run over every item."""
    from vocoder_fixtures import load_script

    benchmark = load_script("benchmark")
    rng = np.random.default_rng(0)
    for corpus in ("a", "b"):
        (tmp_path / "shared" / corpus).mkdir(parents=True)
        for k in range(3):
            wav = voiced_signal(float(rng.uniform(1.5, 6.0)), 16000, f0=100.0 + 30 * k, seed=k)
            sf.write(tmp_path / "shared" / corpus / f"{k}.wav", wav, 16000)
    common = ["watermark", "--clips", "0", "--fp-clips", "6", "--json",
              "--shared", str(tmp_path / "shared")]
    assert benchmark.main(common) == 0
    whole = json.loads(capsys.readouterr().out)
    scores = tmp_path / "scores.jsonl"
    for part in ("0:4", "4:"):
        assert benchmark.main([*common, "--fp-range", part, "--fp-scores", str(scores)]) == 0
        parts = json.loads(capsys.readouterr().out)
    assert whole["unmarked_clips"] == parts["unmarked_clips"] == 6
    assert whole["unmarked_score_max"] == pytest.approx(parts["unmarked_score_max"])
    assert whole["false_positives"] == parts["false_positives"] == 0


def test_benchmark_attack_rows_search_with_the_given_key(clean):
    """``benchmark.py watermark --key K``: clips marked with K are found when the attack loop
    searches with K, and not with the default key (so the key really reaches ``detect``)."""
    from vocoder_fixtures import load_script

    benchmark = load_script("benchmark")
    speech = [("espeak-ng", clean, embed(clean, RATE, PAYLOAD, key="k2"), RATE)]
    rng = np.random.default_rng(0)
    (row,) = benchmark._attack_rows(speech, PAYLOAD, rng, ["gain -10 dB"], "k2")
    assert row["detected"] == 1.0 and row["payload_right"] == 1.0
    (row,) = benchmark._attack_rows(speech, PAYLOAD, rng, ["gain -10 dB"], DEFAULT_KEY)
    assert row["detected"] == 0.0


def test_benchmark_missing_shared_folder_is_one_line(tmp_path, capsys):
    from vocoder_fixtures import load_script

    benchmark = load_script("benchmark")
    missing = tmp_path / "nowhere"
    assert benchmark.main(["watermark", "--clips", "0", "--fp-clips", "4",
                           "--shared", str(missing)]) != 0
    err = capsys.readouterr().err.strip()
    assert str(missing) in err and "no such folder" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_benchmark_marked_sentences_warn_without_the_text_file(tmp_path, capsys):
    from vocoder_fixtures import load_script

    benchmark = load_script("benchmark")
    assert len(benchmark._marked_sentences(tmp_path, 6)) == 1
    err = capsys.readouterr().err
    assert "ljspeech-transcripts.txt" in err and "not comparable" in err
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "ljspeech-transcripts.txt").write_text("LJ1|short\n", encoding="utf-8")
    assert len(benchmark._marked_sentences(tmp_path, 6)) == 1
    assert "not comparable" in capsys.readouterr().err
    long, short = "x" * 80, "y" * 20
    (tmp_path / "text" / "ljspeech-transcripts.txt").write_text(
        "".join(f"LJ{k}|{long if k % 3 else short}\n" for k in range(12)), encoding="utf-8")
    assert benchmark._marked_sentences(tmp_path, 6) == [long] * 6
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("names", ["mp3 7 kbit/s", "none,,stretch 2", ","])
def test_benchmark_unknown_attack_is_one_line(capsys, names):
    from vocoder_fixtures import load_script

    benchmark = load_script("benchmark")
    assert benchmark.main(["watermark", "--clips", "1", "--attacks", names]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "--attacks: unknown attack" in lines[0], lines
    assert "mp3 16 kbit/s" in lines[0]  # the known names are listed


def test_audio_shorter_than_one_tile_passes_through_unmarked():
    from tts.watermark import detect, embed

    short = np.full(256, 0.01, np.float32)  # what an untrained model may say: 12 ms
    assert embed(short, 22050, 1).shape == (256,)
    assert not detect(short, 22050).present
