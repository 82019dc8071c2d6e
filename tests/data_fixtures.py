"""Tiny corpora in the published and shared layouts, generated at test time (for tests/test_*.py
of the data package). Clips are short speech-like harmonic tones; transcripts are plain text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from audio_fixtures import voiced_signal

_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "OPUS"),
            ".mp3": ("MP3", None)}


def write_clip(path: Path, sample_rate: int, duration: float = 0.7, seed: int = 0,
               silent: bool = False) -> Path:
    """Write a voiced (or all-zero) clip; the format follows the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wav = np.zeros(int(duration * sample_rate), np.float32) if silent else voiced_signal(
        duration, sample_rate, f0=110.0 + 15 * (seed % 7), seed=seed)
    fmt, subtype = _FORMATS[path.suffix.lower()]
    sf.write(str(path), wav, sample_rate, format=fmt, subtype=subtype)
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


SENTENCES = ("A small boat crossed the quiet harbour.", "Please put the green folder on my desk.",
             "The train to the coast leaves at noon.", "Our neighbours painted their fence yellow.")


def make_ljspeech(root: Path) -> Path:
    src = root / "LJSpeech-1.1"
    rows = [("LJ001-0001", "Printing, in 1455, was new.", "Printing, in fourteen fifty-five, was new."),
            ("LJ001-0002", "in being comparatively modern.", "in being comparatively modern."),
            ("LJ001-0003", "Mr. Smith's press.", "Mister Smith's press.")]
    write_text(src / "metadata.csv", "".join("|".join(r) + "\n" for r in rows))
    for i, (uid, *_) in enumerate(rows):
        write_clip(src / "wavs" / f"{uid}.wav", 22050, seed=i)
    return src


def make_vctk(root: Path, old: bool = False) -> Path:
    """VCTK 0.92 (flac, mic1 + mic2) or 0.80 (wav48/*.wav); p315 has no transcripts."""
    src = root / ("VCTK-Corpus" if old else "VCTK-Corpus-0.92")
    for s, speaker in enumerate(("p225", "p226", "p315")):
        for n in (1, 2):
            stem = f"{speaker}_{n:03d}"
            if old:
                write_clip(src / "wav48" / speaker / f"{stem}.wav", 48000, 0.3, seed=s * 2 + n)
            else:
                for mic in ("mic1", "mic2"):
                    write_clip(src / "wav48_silence_trimmed" / speaker / f"{stem}_{mic}.flac",
                               48000, 0.3, seed=s * 2 + n)
            if speaker != "p315":
                write_text(src / "txt" / speaker / f"{stem}.txt", SENTENCES[n] + "\n")
    return src


def make_libritts(root: Path) -> Path:
    src = root / "LibriTTS"
    layout = [("train-clean-100", "19", "198", 0), ("train-clean-100", "19", "198", 1),
              ("train-clean-100", "26", "495", 0), ("dev-clean", "84", "121123", 0)]
    for subset, spk, chapter, n in layout:
        stem = f"{spk}_{chapter}_000000_00000{n}"
        folder = src / subset / spk / chapter
        write_clip(folder / f"{stem}.wav", 24000, 0.4, seed=n)
        write_text(folder / f"{stem}.normalized.txt", SENTENCES[n])
        write_text(folder / f"{stem}.original.txt", SENTENCES[n].upper())
    return src


def make_arctic(root: Path, speakers: tuple[str, ...] = ("slt", "bdl")) -> Path:
    src = root / "arctic"
    for s, speaker in enumerate(speakers):
        folder = src / f"cmu_us_{speaker}_arctic"
        lines = []
        for n in (1, 2):
            stem = f"arctic_a{n:04d}"
            write_clip(folder / "wav" / f"{stem}.wav", 16000, 0.4, seed=s + n)
            lines.append(f'( {stem} "{SENTENCES[n]}" )\n')
        write_text(folder / "etc" / "txt.done.data", "".join(lines))
    return src


def _shared(root: Path, name: str, header: str, rows: list[tuple[str, ...]], audio: list[str],
            sample_rate: int) -> Path:
    src = root / name
    write_text(src / "metadata.csv", header + "\n" + "".join("|".join(r) + "\n" for r in rows))
    for i, relative in enumerate(audio):
        write_clip(src / relative, sample_rate, 0.6, seed=i)
    write_text(src / "README.md", f"# {name}\n")
    return src


def make_shared(root: Path, name: str) -> Path:
    """A 2-3 clip copy of the shared corpus folder ``name`` (same header, layout and format)."""
    if name == "kathleen-arctic":
        ids = ["arctic_a0001_1592748574", "arctic_a0002_1592748600"]
        return _shared(root, name, "id|text", [(i, SENTENCES[n]) for n, i in enumerate(ids)],
                       [f"wavs/{i}.ogg" for i in ids], 48000)
    if name == "commonvoice-en":
        rows = [("common_voice_en_1", "1b16cc0ee043", "male", "twenties", "us", SENTENCES[0],
                 "cv13.0-delta"),
                ("common_voice_en_2", "372293e65cda", "", "", "", SENTENCES[1], "cv6.1")]
        return _shared(root, name, "id|speaker|gender|age|accent|text|release", rows,
                       [f"wavs/{r[0]}.mp3" for r in rows], 32000)
    if name == "librispeech-251":
        rows = [("103-1240-0000", "103", "F", "Chapter 1 Mrs. Rachel Lind is surprised."),
                ("1034-121119-0000", "1034", "M", "chapter 99, the law.")]
        return _shared(root, name, "id|speaker|gender|text", rows,
                       [f"{r[1]}/{r[0]}.flac" for r in rows], 16000)
    if name == "ljspeech-sample":
        rows = [("LJ001-0007", "in 1455", "in fourteen fifty-five"),
                ("LJ001-0008", "has never been surpassed.", "has never been surpassed.")]
        return _shared(root, name, "id|text|normalized_text", rows,
                       [f"wavs/{r[0]}.flac" for r in rows], 22050)
    if name == "ravdess-speech":
        rows = [("03-01-01-01-01-01-01", "Actor_01", "M", "neutral", "normal",
                 "Kids are talking by the door"),
                ("03-01-05-02-02-01-02", "Actor_02", "F", "angry", "strong",
                 "Dogs are sitting by the door"),
                ("03-01-08-01-01-02-02", "Actor_02", "F", "surprised", "normal",
                 "Kids are talking by the door")]
        return _shared(root, name, "id|speaker|gender|emotion|intensity|text", rows,
                       [f"{r[1]}/{r[0]}.flac" for r in rows], 22050)
    if name == "speechocean762-adults":
        rows = [("000240010", "0024", "F", "25", "IT WAS GOOD FOR ME"),
                ("000250031", "0025", "M", "21", "I THINK I CAN DO IT")]
        return _shared(root, name, "id|speaker|gender|age|text", rows,
                       [f"wavs/{r[0]}.ogg" for r in rows], 16000)
    raise ValueError(name)


def make_messy_folder(root: Path) -> Path:
    """A ``folder``-recipe corpus with two good speakers and one clip per skip reason.

    spk_a: 4 good clips, spk_b: 3 good clips (one 1.5 s long, ids spk_b_long), plus in spk_c:
    ``corrupt`` (random bytes), ``silent`` (zeros), ``short`` (0.2 s), ``notext`` (empty .txt),
    ``nophonemes`` (text "?!").
    """
    src = root / "messy"
    for n in range(4):
        write_clip(src / "spk_a" / f"a{n}.wav", 16000, 0.7, seed=n)
        write_text(src / "spk_a" / f"a{n}.txt", SENTENCES[n])
    for n in range(2):
        write_clip(src / "spk_b" / f"b{n}.flac", 44100, 0.7, seed=10 + n)
        write_text(src / "spk_b" / f"b{n}.lab", SENTENCES[n + 1])
    write_clip(src / "spk_b" / "long.wav", 22050, 1.5, seed=20)
    write_text(src / "spk_b" / "long.txt", SENTENCES[3])
    bad = src / "spk_c"
    bad.mkdir(parents=True)
    (bad / "corrupt.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    write_text(bad / "corrupt.txt", SENTENCES[0])
    write_clip(bad / "silent.wav", 16000, 0.7, silent=True)
    write_text(bad / "silent.txt", SENTENCES[1])
    write_clip(bad / "short.wav", 16000, 0.2, seed=30)
    write_text(bad / "short.txt", SENTENCES[2])
    write_clip(bad / "notext.wav", 16000, 0.7, seed=31)
    write_text(bad / "notext.txt", "  \n")
    write_clip(bad / "nophonemes.wav", 16000, 0.7, seed=32)
    write_text(bad / "nophonemes.txt", "?!")
    return src
