"""The detector's corpus: its manifest rows, its splits and how clips are cut.

A corpus folder (``scripts/make_spoof_corpus.py``) holds ``wavs/GENERATOR/ID.wav`` (mono 16-bit
at 16 kHz, silence trimmed, at most ``MAX_SECONDS``) and ``manifest.jsonl``, one ``Clip`` a line.
``label`` is ``"real"`` or ``"fake"``; ``generator`` is ``"real"`` for recordings; ``source`` is the
real corpus (recordings, copy synthesis) or the voice (text to speech); ``split`` is ``train``,
``val`` (calibration and model selection) or ``test``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from tts.audio import normalize_loudness, resample, trim_silence
from tts.errors import DataError
from tts.spoof.features import SAMPLE_RATE

MAX_SECONDS = 4.0
MIN_SECONDS = 1.0

HELD_OUT_CORPORA = ("ravdess-speech", "speechocean762-adults")
"""Real corpora no training clip comes from: their microphones, rooms and speakers are new."""

HELD_OUT_GENERATORS = ("festival", "copy-istft-small")
"""Generators the corpus makes test clips only for: no detector can train on them (issue 22's
generalisation test). A config may hold out more (``TrainingConfig.held_out_generators``)."""


@dataclasses.dataclass(frozen=True)
class Clip:
    """One manifest row."""

    id: str
    path: str
    label: str
    generator: str
    source: str
    speaker: str
    split: str
    duration: float

    @property
    def is_fake(self) -> bool:
        return self.label == "fake"


def fraction_of(key: str) -> float:
    """A stable number in [0, 1) from ``key`` (sha256), for deterministic splits."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64


def noise_seed(clip: Clip) -> int:
    """The seed of the clip's noise condition: the same noise in training and evaluation."""
    return int(fraction_of(clip.id) * 2**32)


def split_by_fraction(key: str, val: float = 0.1, test: float = 0.1) -> str:
    """``val`` / ``test`` / ``train`` for ``key`` with the given shares."""
    x = fraction_of("spoof/" + key)
    return "val" if x < val else "test" if x < val + test else "train"


def crops(wav: np.ndarray, rate: int, rng: np.random.Generator, most: int = 1) -> list[np.ndarray]:
    """Cut a recording into up to ``most`` pieces for the corpus: silence trimmed at both ends,
    resampled to 16 kHz, consecutive pieces of ``MAX_SECONDS`` (the last one kept when at least
    ``MIN_SECONDS``), loudness-normalised; a single piece starts at a random offset. Returns
    ``(samples,)`` float32 arrays (none when the sound is shorter than ``MIN_SECONDS``)."""
    x = resample(trim_silence(np.asarray(wav, dtype=np.float32), rate), rate, SAMPLE_RATE)
    size, least = int(MAX_SECONDS * SAMPLE_RATE), int(MIN_SECONDS * SAMPLE_RATE)
    if len(x) < least:
        return []
    if most == 1 and len(x) > size:
        start = int(rng.integers(0, len(x) - size + 1))
        pieces = [x[start:start + size]]
    else:
        pieces = [x[i:i + size] for i in range(0, len(x), size)]
        pieces = [p for p in pieces if len(p) >= least][:most]
    out = []
    for p in pieces:
        if np.abs(p).max() < 1e-4:
            continue
        out.append(np.clip(normalize_loudness(p, SAMPLE_RATE), -1.0, 1.0).astype(np.float32))
    return out


def read_clips(folder: str | Path) -> list[Clip]:
    """The rows of ``folder/manifest.jsonl``; ``DataError`` when it is missing or malformed."""
    path = Path(folder) / "manifest.jsonl"
    if not path.is_file():
        raise DataError(f"no spoof corpus at {folder} (missing manifest.jsonl): build it with "
                        "scripts/make_spoof_corpus.py")
    return read_rows(path)


def read_rows(path: Path) -> list[Clip]:
    """The ``Clip`` rows of one JSON-lines file (a manifest or a generator's part)."""
    clips = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            clips.append(Clip(**json.loads(line)))
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path}:{number}: bad row ({exc})") from None
    return clips


def write_rows(path: Path, clips: list[Clip]) -> None:
    """Write ``clips`` as JSON lines to ``path`` (through a temporary file)."""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text("".join(json.dumps(dataclasses.asdict(c)) + "\n" for c in clips),
                   encoding="utf-8")
    tmp.replace(path)
