"""Recipes for the published corpora in their release layouts: LJSpeech, VCTK, LibriTTS, ARCTIC."""

from __future__ import annotations

import re
from pathlib import Path

from data.manifest import Utterance
from data.recipes.common import (
    audio_files,
    read_text,
    report_untranscribed,
    require_dir,
    require_file,
    subfolders,
)
from tts.errors import DataError


def ljspeech(src: Path, *, speaker: str = "LJ") -> list[Utterance]:
    """LJSpeech-1.1: headerless ``metadata.csv`` ``id|text|normalized_text`` and ``wavs/ID.wav``.

    The normalized text is used (numbers and abbreviations spelled out by the corpus authors);
    the raw text where the normalized column is empty.
    """
    expected = "LJSpeech-1.1 with metadata.csv (id|text|normalized_text) and wavs/"
    require_dir(src, "ljspeech", expected)
    metadata = require_file(src / "metadata.csv", "ljspeech", expected)
    require_dir(src / "wavs", "ljspeech", expected)
    utterances = []
    for number, line in enumerate(metadata.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) not in (2, 3):
            raise DataError(f"{metadata}:{number}: expected 'id|text|normalized_text', "
                            f"got {len(fields)} field(s)")
        uid = fields[0].strip()
        text = fields[2].strip() if len(fields) == 3 and fields[2].strip() else fields[1].strip()
        utterances.append(Utterance(id=uid, audio_path=str(src / "wavs" / f"{uid}.wav"),
                                    text=text, speaker=speaker))
    return utterances


def vctk(src: Path, *, mic: str | None = None) -> list[Utterance]:
    """VCTK: 0.92 (``wav48_silence_trimmed/pNNN/pNNN_MMM_mic1.flac``; ``mic`` = mic1 (default)
    or mic2) or 0.80 (``wav48/pNNN/pNNN_MMM.wav``), with ``txt/pNNN/pNNN_MMM.txt`` transcripts.

    Ids drop the microphone suffix (``p225_001``). Recordings without a transcript (all of
    p315, a few others) are kept with empty text and reported; preparation skips them by name.
    """
    expected = "VCTK-Corpus with wav48_silence_trimmed/ (0.92) or wav48/ (0.80), and txt/"
    require_dir(src, "vctk", expected)
    if (src / "wav48_silence_trimmed").is_dir():
        wav_root, suffix = src / "wav48_silence_trimmed", f"_{mic or 'mic1'}"
        if suffix not in ("_mic1", "_mic2"):
            raise DataError(f"vctk: mic must be 'mic1' or 'mic2', got {mic!r}")
    elif (src / "wav48").is_dir():
        if mic is not None:
            raise DataError("vctk: the 0.80 layout (wav48/) has one microphone; "
                            "the mic option applies to VCTK 0.92 (wav48_silence_trimmed/)")
        wav_root, suffix = src / "wav48", ""
    else:
        raise DataError(f"vctk: no wav48_silence_trimmed/ or wav48/ in {src} (expected {expected})")
    require_dir(src / "txt", "vctk", expected)
    utterances = []
    for speaker_dir in subfolders(wav_root):
        for audio in audio_files(speaker_dir):
            stem = audio.stem
            if suffix:
                if not stem.endswith(suffix):
                    continue
                stem = stem[: -len(suffix)]
            transcript = src / "txt" / speaker_dir.name / f"{stem}.txt"
            text = read_text(transcript) if transcript.is_file() else ""
            utterances.append(Utterance(id=stem, audio_path=str(audio), text=text,
                                        speaker=speaker_dir.name))
    report_untranscribed("vctk", utterances)
    return utterances


def _is_libritts_subset(folder: Path) -> bool:
    return any(p.name.isdigit() for p in subfolders(folder))


def libritts(src: Path) -> list[Utterance]:
    """LibriTTS / LibriTTS-R: ``SUBSET/SPEAKER/CHAPTER/SPK_CHAP_X_Y.wav`` + ``.normalized.txt``.

    ``src`` is one subset (``train-clean-100/``) or a root holding several; every subset found is
    read. A missing ``.normalized.txt`` gives empty text (reported, then skipped).
    """
    expected = "LibriTTS subset folders (e.g. train-clean-100/SPEAKER/CHAPTER/*.wav) or one subset"
    require_dir(src, "libritts", expected)
    if _is_libritts_subset(src):
        subsets = [src]
    else:
        subsets = [p for p in subfolders(src) if _is_libritts_subset(p)]
    if not subsets:
        raise DataError(f"libritts: no subset with SPEAKER/CHAPTER/ folders in {src} "
                        f"(expected {expected})")
    utterances = []
    for subset in subsets:
        for speaker_dir in (p for p in subfolders(subset) if p.name.isdigit()):
            for chapter in subfolders(speaker_dir):
                for audio in audio_files(chapter):
                    transcript = audio.with_name(audio.stem + ".normalized.txt")
                    text = read_text(transcript) if transcript.is_file() else ""
                    utterances.append(Utterance(id=audio.stem, audio_path=str(audio), text=text,
                                                speaker=speaker_dir.name))
    report_untranscribed("libritts", utterances)
    return utterances


_ARCTIC_FOLDER = re.compile(r"^cmu_[a-z]+_([A-Za-z0-9]+)_arctic")
_ARCTIC_LINE = re.compile(r'^\(\s*(\S+)\s+"(.*)"\s*\)\s*$')


def _arctic_prompts(path: Path) -> dict[str, str]:
    prompts = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        match = _ARCTIC_LINE.match(line.strip())
        if not match:
            raise DataError(f'{path}:{number}: expected \'( arctic_a0001 "text" )\', got {line!r}')
        prompts[match.group(1)] = " ".join(match.group(2).split())
    return prompts


def arctic(src: Path) -> list[Utterance]:
    """CMU ARCTIC: ``cmu_us_XXX_arctic/wav/arctic_a0001.wav`` + ``etc/txt.done.data``.

    ``src`` is one speaker folder or a folder holding several. Speaker = ``XXX``; ids are
    ``XXX_arctic_a0001`` so that several speakers can share one prepared folder. Prompts without
    audio stay in the list (preparation reports the missing file); audio without a prompt gets
    empty text (reported, then skipped).
    """
    expected = "cmu_us_XXX_arctic/ folder(s) with wav/ and etc/txt.done.data"
    require_dir(src, "arctic", expected)
    folders = [src] if _ARCTIC_FOLDER.match(src.name) else [
        p for p in subfolders(src) if _ARCTIC_FOLDER.match(p.name)]
    if not folders:
        raise DataError(f"arctic: no cmu_us_XXX_arctic folder in {src} (expected {expected})")
    utterances = []
    for folder in folders:
        speaker = _ARCTIC_FOLDER.match(folder.name).group(1)
        prompts = _arctic_prompts(require_file(folder / "etc" / "txt.done.data", "arctic", expected))
        wav_dir = require_dir(folder / "wav", "arctic", expected)
        audio = {p.stem: p for p in audio_files(wav_dir)}
        for stem in sorted(set(prompts) | set(audio)):
            path = audio.get(stem, wav_dir / f"{stem}.wav")
            utterances.append(Utterance(id=f"{speaker}_{stem}", audio_path=str(path),
                                        text=prompts.get(stem, ""), speaker=speaker))
    report_untranscribed("arctic", utterances)
    return utterances
