"""Data preparation: a corpus in a recipe's layout -> a prepared folder ready for training.

``prepare(recipe, src, out)`` reads every utterance the recipe lists, in worker processes, and
writes::

    OUT/wavs/ID.wav        processed audio: mono, AudioConfig.sample_rate, trimmed, loudness-
                           normalised, 16-bit PCM
    OUT/mels/ID.npy        log-mel (n_mels, frames) of exactly that saved wav, stored as float16
                           (half the size; the rounding, < 0.01 in log-mel, is far below what a
                           model resolves); loaders convert to float32
    OUT/manifest.jsonl     every kept utterance with duration, phonemes, mel path and frame count
    OUT/train.jsonl        speaker-stratified split of manifest.jsonl ...
    OUT/val.jsonl          ... (disjoint; see ``split_by_speaker``)
    OUT/speakers.json      sorted speaker names
    OUT/prepare.json       how it was made: recipe, source, audio config, text backend and symbol
                           table, thresholds, counts, every skipped utterance with its reason

Nothing is dropped silently: an utterance is either kept or listed as skipped with a reason
(empty transcript, phonemization failed, missing/unreadable audio, silent, too short, too long).
The folder is built next to OUT under a hidden name and swapped in at the end, so a re-run
replaces a previous one cleanly and an interrupted run leaves the old one intact.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import multiprocessing
import os
import random
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from data.manifest import Utterance, write_manifest
from data.recipes import get_recipe
from tts.audio import load_audio, mel_spectrogram, save_audio
from tts.config import AudioConfig, to_dict
from tts.errors import AudioError, DataError, TextError
from tts.text import SymbolTable, to_phonemes

__all__ = ["PrepareSummary", "prepare", "split_by_speaker", "FORMAT_VERSION", "SKIP_REASONS"]

FORMAT_VERSION = 1
"""Version of the prepared-folder layout, stored in prepare.json."""

SKIP_REASONS = ("empty transcript", "phonemization failed", "missing audio", "unreadable audio",
                "sample rate too low", "silent", "too short", "too long")
"""Every reason an utterance can be skipped for, in the order summaries list them."""

MEL_DTYPE = np.float16

DEFAULT_AUDIO = AudioConfig()
"""The default audio front end (a frozen config, safe to share)."""


@dataclasses.dataclass(frozen=True)
class PrepareSummary:
    """What ``prepare`` did. ``skipped_utterances`` holds ``(id, reason, detail)`` per skip."""

    recipe: str
    source: str
    out: str
    found: int
    kept: int
    skipped: int
    reasons: dict[str, int]
    hours: float
    train: int
    val: int
    speakers: int
    seconds: float
    skipped_utterances: tuple[tuple[str, str, str], ...] = ()

    def format(self, examples: int = 3) -> str:
        """A short human summary: counts, hours, split, and each skip reason with example ids."""
        lines = [
            f"prepared {self.recipe}: {self.found} found, {self.kept} kept ({self.hours:.2f} h), "
            f"{self.skipped} skipped in {self.seconds:.1f} s -> {self.out}",
            f"  train {self.train}, val {self.val}, {self.speakers} speaker(s)",
        ]
        for reason, count in self.reasons.items():
            ids = [uid for uid, r, _ in self.skipped_utterances if r == reason]
            shown = ", ".join(ids[:examples]) + (", ..." if len(ids) > examples else "")
            lines.append(f"  skipped {count} x {reason}: {shown}")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class _Settings:
    """Everything a worker needs besides the utterance itself (small; sent with each chunk)."""

    out: str
    audio: AudioConfig
    backend: str
    language: str
    min_duration: float
    max_duration: float


@dataclasses.dataclass(frozen=True)
class _Result:
    id: str
    utterance: Utterance | None = None
    reason: str | None = None
    detail: str = ""


def _audio_reason(error: AudioError) -> str:
    """Map an ``AudioError`` message from ``tts.audio`` to one of ``SKIP_REASONS``."""
    message = str(error)
    for needle, reason in (("not found", "missing audio"), ("silent", "silent"),
                           ("too short", "too short"), ("sample rate", "sample rate too low")):
        if needle in message:
            return reason
    return "unreadable audio"


def _raw_duration(path: str) -> float | None:
    try:
        info = sf.info(path)
    except Exception:  # noqa: BLE001 - load_audio gives the proper reason below
        return None
    return info.frames / info.samplerate if info.samplerate else None


def _process(settings: _Settings, utt: Utterance) -> _Result:
    """Phonemize, load, check and cache one utterance; a skip is a result, never an exception."""
    text = utt.text.strip()
    if not text:
        return _Result(utt.id, reason="empty transcript", detail="no transcript text")
    try:
        phonemes = tuple(to_phonemes(text, backend=settings.backend, language=settings.language))
    except TextError as exc:
        return _Result(utt.id, reason="phonemization failed", detail=str(exc))
    if not any(p.strip() for p in phonemes):
        return _Result(utt.id, reason="phonemization failed", detail=f"no phonemes for {text!r}")

    # Refuse absurdly long files before decoding them, to keep worker memory bounded.
    raw = _raw_duration(utt.audio_path)
    if raw is not None and raw > 10 * settings.max_duration:
        return _Result(utt.id, reason="too long",
                       detail=f"{raw:.1f} s file, limit {settings.max_duration:g} s")
    audio = settings.audio
    try:
        wav = load_audio(utt.audio_path, audio.sample_rate, min_duration=settings.min_duration)
    except AudioError as exc:
        return _Result(utt.id, reason=_audio_reason(exc), detail=str(exc))
    duration = len(wav) / audio.sample_rate
    if duration > settings.max_duration:
        return _Result(utt.id, reason="too long",
                       detail=f"{duration:.1f} s after trimming, limit {settings.max_duration:g} s")

    wav_path = os.path.join(settings.out, "wavs", f"{utt.id}.wav")
    mel_path = os.path.join(settings.out, "mels", f"{utt.id}.npy")
    save_audio(wav_path, wav, audio.sample_rate)
    # The mel is computed from the file as saved (16-bit), so cache and wav agree exactly.
    saved, _ = sf.read(wav_path, dtype="float32")
    mel = mel_spectrogram(saved, audio)
    np.save(mel_path, mel.astype(MEL_DTYPE))
    kept = dataclasses.replace(utt, audio_path=wav_path, text=text,
                               duration=round(len(saved) / audio.sample_rate, 4),
                               mel_path=mel_path, phonemes=phonemes, num_frames=int(mel.shape[1]))
    return _Result(utt.id, utterance=kept)


def _init_worker() -> None:
    """Worker processes run single-threaded torch (the pool is the parallelism)."""
    import torch

    torch.set_num_threads(1)


def _run(settings: _Settings, utterances: Sequence[Utterance], workers: int,
         progress: bool, desc: str) -> Iterator[_Result]:
    """Yield one result per utterance (in completion order), in ``workers`` processes."""
    task = functools.partial(_process, settings)
    bar = tqdm(total=len(utterances), desc=desc, unit="utt", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    with bar:
        if workers <= 1:
            for utt in utterances:
                yield task(utt)
                bar.update()
            return
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        chunk = max(1, min(16, len(utterances) // (workers * 8)))
        with multiprocessing.get_context(method).Pool(workers, initializer=_init_worker) as pool:
            for result in pool.imap_unordered(task, utterances, chunksize=chunk):
                yield result
                bar.update()


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def split_by_speaker(utterances: Sequence[Utterance], val_fraction: float,
                     seed: int = 0) -> tuple[list[Utterance], list[Utterance]]:
    """Split into disjoint ``(train, val)``, stratified by speaker, deterministic for ``seed``.

    Per speaker with ``n >= 2`` utterances, ``round(val_fraction * n)`` (half up, at most
    ``n - 1``) random ones go to validation; speakers with one utterance stay in training. If
    that leaves validation empty while ``val_fraction > 0`` and there are >= 2 utterances, one
    utterance moves there: from the speaker with most utterances (a single-utterance speaker only
    when all have one). Both lists keep the input order.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    by_speaker: dict[str, list[Utterance]] = defaultdict(list)
    for utt in utterances:
        by_speaker[utt.speaker].append(utt)
    val_ids: set[str] = set()
    for speaker in sorted(by_speaker):
        group = by_speaker[speaker]
        if len(group) < 2:
            continue
        count = min(_round_half_up(val_fraction * len(group)), len(group) - 1)
        ids = sorted(u.id for u in group)
        val_ids.update(random.Random(f"{seed}/{speaker}").sample(ids, count))
    if not val_ids and val_fraction > 0 and len(utterances) >= 2:
        largest = max(len(g) for g in by_speaker.values())
        speaker = min(s for s, g in by_speaker.items() if len(g) == largest)
        pool = sorted(u.id for u in (by_speaker[speaker] if largest > 1 else utterances))
        val_ids.add(random.Random(f"{seed}/fallback").choice(pool))
    train = [u for u in utterances if u.id not in val_ids]
    val = [u for u in utterances if u.id in val_ids]
    return train, val


def _check_ids(utterances: Sequence[Utterance], recipe: str) -> None:
    counts = Counter(u.id for u in utterances)
    duplicates = sorted(uid for uid, n in counts.items() if n > 1)
    if duplicates:
        raise DataError(f"{recipe}: {len(duplicates)} duplicate id(s), e.g. "
                        f"{', '.join(duplicates[:3])}; ids name the prepared files and must be unique")
    for uid in counts:
        if not uid or "/" in uid or "\\" in uid or uid.startswith("."):
            raise DataError(f"{recipe}: id {uid!r} cannot be used as a file name")


def _check_out(src: Path, out: Path) -> None:
    src_full, out_full = src.resolve(), out.resolve()
    if out_full == src_full or out_full.is_relative_to(src_full) or src_full.is_relative_to(out_full):
        raise DataError(f"output folder {out} must be outside the source folder {src} (and not "
                        f"contain it)")
    if out.exists():
        if not out.is_dir():
            raise DataError(f"output {out} exists and is not a folder")
        if any(out.iterdir()) and not (out / "prepare.json").is_file():
            raise DataError(f"output folder {out} is not empty and holds no prepare.json: "
                            f"refusing to overwrite it (choose a new or empty folder)")


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _swap_in(staging: Path, out: Path) -> None:
    """Replace ``out`` (a previous prepared folder, or empty, or absent) by ``staging``."""
    old = out.with_name(f".{out.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        os.replace(out, old)
    os.replace(staging, out)
    if old.exists():
        shutil.rmtree(old)


def prepare(recipe: str, src: str | Path, out: str | Path, *, audio: AudioConfig = DEFAULT_AUDIO,
            backend: str = "g2p_en", language: str = "en-us", workers: int = 2,
            val_fraction: float = 0.05, min_duration: float = 0.5, max_duration: float = 30.0,
            seed: int = 0, limit: int | None = None, progress: bool = True,
            **recipe_options: object) -> PrepareSummary:
    """Prepare corpus ``src`` (read with recipe ``recipe``) into folder ``out``; see the module doc.

    ``workers`` processes do the work (``<= 1``: in this process). Durations are those of the
    trimmed audio. ``limit`` keeps the first ``limit`` utterances in id order (for quick trials).
    ``recipe_options`` go to the recipe (``None`` values are ignored). Raises ``DataError`` for a
    bad source, a bad output folder or when no utterance survives.
    """
    started = time.perf_counter()
    if workers < 0:
        raise DataError(f"workers must be >= 0, got {workers}")
    if not 0 < min_duration < max_duration:
        raise DataError(f"need 0 < min_duration < max_duration, got {min_duration} and {max_duration}")
    if limit is not None and limit < 1:
        raise DataError(f"limit must be a positive number of utterances, got {limit}")
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    src, out = Path(src), Path(out)
    recipe_obj = get_recipe(recipe)
    utterances = recipe_obj(src, **recipe_options)
    if not utterances:
        raise DataError(f"{recipe}: no utterances found in {src}")
    _check_ids(utterances, recipe)
    found = len(utterances) if limit is None else min(limit, len(utterances))
    utterances = utterances[:found]
    _check_out(src, out)
    symbols = SymbolTable.for_backend(backend)
    to_phonemes("Hello.", backend=backend, language=language)  # fail fast on a broken backend

    staging = out.with_name(f".{out.name}.partial")
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "wavs").mkdir(parents=True)
    (staging / "mels").mkdir()
    settings = _Settings(os.path.abspath(staging), audio, backend, language, min_duration,
                         max_duration)
    kept: list[Utterance] = []
    skipped: list[tuple[str, str, str]] = []
    try:
        for result in _run(settings, utterances, workers, progress, f"prepare {recipe}"):
            if result.utterance is not None:
                kept.append(result.utterance)
            else:
                skipped.append((result.id, result.reason, result.detail))
        kept.sort(key=lambda u: u.id)
        skipped.sort()
        reasons = {r: n for r in SKIP_REASONS if (n := sum(s[1] == r for s in skipped))}
        if not kept:
            detail = "; ".join(f"{n} {r}" for r, n in reasons.items())
            raise DataError(f"{recipe}: none of {found} utterance(s) in {src} could be used ({detail})")
        train, val = split_by_speaker(kept, val_fraction, seed)
        # Paths inside the staging folder are written relative to it, so they hold in OUT.
        write_manifest(staging / "manifest.jsonl", kept)
        write_manifest(staging / "train.jsonl", train)
        write_manifest(staging / "val.jsonl", val)
        speakers = sorted({u.speaker for u in kept})
        emotions = sorted({u.emotion for u in kept if u.emotion is not None})
        hours = sum(u.duration or 0.0 for u in kept) / 3600
        _write_json(staging / "speakers.json", speakers)
        _write_json(staging / "prepare.json", {
            "format": FORMAT_VERSION,
            "recipe": recipe,
            "source": str(src.resolve()),
            "recipe_options": {k: v for k, v in recipe_options.items() if v is not None},
            "audio": to_dict(audio),
            "mel_dtype": np.dtype(MEL_DTYPE).name,
            "backend": backend,
            "language": language,
            "symbols": symbols.to_dict(),
            "min_duration": min_duration,
            "max_duration": max_duration,
            "val_fraction": val_fraction,
            "seed": seed,
            "limit": limit,
            "counts": {"found": found, "kept": len(kept), "skipped": len(skipped),
                       "train": len(train), "val": len(val), "speakers": len(speakers)},
            "hours": round(hours, 4),
            "reasons": reasons,
            "emotions": emotions,
            "skipped": [{"id": i, "reason": r, "detail": d} for i, r, d in skipped],
        })
        _swap_in(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return PrepareSummary(recipe=recipe, source=str(src), out=str(out), found=found,
                          kept=len(kept), skipped=len(skipped), reasons=reasons, hours=hours,
                          train=len(train), val=len(val), speakers=len(speakers),
                          seconds=time.perf_counter() - started,
                          skipped_utterances=tuple(skipped))

