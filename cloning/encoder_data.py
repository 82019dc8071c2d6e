"""Speaker-encoder data: utterances of many prepared folders, speaker-batched (N x M) sampling.

Speakers are named ``"RECIPE/SPEAKER"`` (the recipe from each folder's ``prepare.json``), so
speakers of different corpora never merge. Speakers of the ``holdout_recipes`` for which
``cloning.verification.held_out`` is true form the held-out subset (evaluation); all others are
for training. Every utterance of a folder's ``manifest.jsonl`` is used (train and val alike: the
held-out split is by speaker, not by utterance).

``EncoderDataset`` preprocesses each clip once like ``SpeakerEncoder.embed_utterance`` does
(16 kHz, trimmed, fixed RMS) and keeps its features in memory as float16; an item is one window
of ``partial_frames`` frames, at a random place (training) or the middle (evaluation).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset, Sampler

from cloning.encoder import ENCODER_AUDIO, SpeakerEncoder, SpeakerEncoderConfig, preprocess_wav
from cloning.verification import HOLDOUT_FRACTION, HOLDOUT_RECIPES, held_out
from data.batch import EncoderBatch
from data.dataset import read_prepare_info
from data.manifest import read_manifest
from tts.config import AudioConfig
from tts.errors import AudioError, DataError


@dataclasses.dataclass(frozen=True)
class SpeakerClip:
    """One recording of a speaker: ``speaker`` is ``"RECIPE/SPEAKER"``."""

    speaker: str
    path: str
    id: str


def collect_clips(folders: Sequence[str | Path], subset: str,
                  holdout_recipes: Sequence[str] = HOLDOUT_RECIPES,
                  holdout_fraction: float = HOLDOUT_FRACTION) -> list[SpeakerClip]:
    """Clips of the ``"train"`` or ``"heldout"`` speakers (or ``"all"``) of prepared ``folders``."""
    if subset not in ("train", "heldout", "all"):
        raise DataError(f"subset must be 'train', 'heldout' or 'all', got {subset!r}")
    if not folders:
        raise DataError("no prepared folder given")
    clips = []
    for folder in folders:
        folder = Path(folder)
        recipe = read_prepare_info(folder).get("recipe") or folder.name
        for utt in read_manifest(folder / "manifest.jsonl"):
            key = f"{recipe}/{utt.speaker}"
            out = recipe in holdout_recipes and held_out(key, holdout_fraction)
            if subset == "all" or out == (subset == "heldout"):
                clips.append(SpeakerClip(key, utt.audio_path, utt.id))
    return clips


class EncoderDataset(Dataset):
    """Windows of encoder features of ``clips``; item ``i`` is clip ``i``.

    Clips shorter than ``partial_frames`` frames, unreadable clips and speakers with less than
    ``min_speaker_seconds`` of audio in total are dropped (``dropped`` counts them). Items are
    dicts: ``mel`` FloatTensor ``(n_mels, partial_frames)``, ``speaker`` int (index into
    ``speakers``).
    """

    def __init__(self, clips: Sequence[SpeakerClip], config: SpeakerEncoderConfig,
                 audio: AudioConfig = ENCODER_AUDIO, min_speaker_seconds: float = 0.0,
                 random_crops: bool = True) -> None:
        self.config = config
        self.audio = audio
        self.random_crops = random_crops
        front_end = SpeakerEncoder(config, audio)
        frames = config.partial_frames
        by_speaker: dict[str, list[np.ndarray]] = defaultdict(list)
        self.dropped = 0
        for clip in clips:
            try:
                data, rate = sf.read(clip.path, dtype="float32", always_2d=True)
                wav = preprocess_wav(data, rate, config, audio)
            except (AudioError, sf.LibsndfileError, RuntimeError, ValueError):
                self.dropped += 1
                continue
            with torch.no_grad():
                mel = front_end.features(torch.from_numpy(wav)).numpy()
            if mel.shape[1] < frames:
                self.dropped += 1
                continue
            by_speaker[clip.speaker].append(mel.astype(np.float16))
        min_frames = min_speaker_seconds * audio.frames_per_second
        self.speakers = sorted(s for s, mels in by_speaker.items()
                               if sum(m.shape[1] for m in mels) >= min_frames)
        self.dropped += sum(len(by_speaker[s]) for s in set(by_speaker) - set(self.speakers))
        self.mels: list[np.ndarray] = []
        self.speaker_ids: list[int] = []
        for index, speaker in enumerate(self.speakers):
            self.mels += by_speaker[speaker]
            self.speaker_ids += [index] * len(by_speaker[speaker])

    def __len__(self) -> int:
        return len(self.mels)

    @property
    def seconds(self) -> float:
        return sum(m.shape[1] for m in self.mels) / self.audio.frames_per_second

    def __getitem__(self, index: int) -> dict:
        mel = self.mels[index]
        span = mel.shape[1] - self.config.partial_frames
        if self.random_crops:
            start = int(torch.randint(0, span + 1, ()).item())
        else:
            start = span // 2
        window = mel[:, start:start + self.config.partial_frames].astype(np.float32)
        return {"mel": torch.from_numpy(window), "speaker": self.speaker_ids[index]}


def collate_windows(batch: Sequence[dict]) -> EncoderBatch:
    """``mel`` ``(B, n_mels, partial_frames)`` and ``speaker`` ``(B,)``, in sampler order."""
    return EncoderBatch(mel=torch.stack([item["mel"] for item in batch]),
                        speaker=torch.tensor([item["speaker"] for item in batch],
                                             dtype=torch.long))


class SpeakerBatchSampler(Sampler[list[int]]):
    """Batches of ``speakers_per_batch`` (N) speakers x ``utterances_per_speaker`` (M) items,
    speaker-major (items ``j*M .. j*M+M-1`` belong to speaker ``j``), for GE2E.

    Speakers are shuffled and cut into groups of N; the remainder of a pass is dropped and the
    next group starts a new shuffle, so no batch has a speaker twice. A speaker with at least M items gives M distinct
    ones; one with fewer gives repeats (the dataset crops each at a different place). The order
    depends only on ``(seed, epoch)``; without ``shuffle`` it depends on ``seed`` alone, so
    evaluation batches are the same every time. ``num_batches`` fixes the epoch length.
    """

    def __init__(self, speaker_ids: Sequence[int], speakers_per_batch: int,
                 utterances_per_speaker: int, seed: int = 0, shuffle: bool = True,
                 num_batches: int | None = None) -> None:
        if speakers_per_batch < 2 or utterances_per_speaker < 2:
            raise DataError("GE2E batches need at least 2 speakers x 2 utterances")
        self.items: dict[int, list[int]] = defaultdict(list)
        for index, speaker in enumerate(speaker_ids):
            self.items[int(speaker)].append(index)
        if len(self.items) < speakers_per_batch:
            raise DataError(f"only {len(self.items)} speaker(s) with usable audio, but a batch "
                            f"needs {speakers_per_batch} (lower speakers_per_batch or add data)")
        self.n = speakers_per_batch
        self.m = utterances_per_speaker
        self.seed = seed
        self.shuffle = shuffle
        self.num_batches = num_batches
        self.epoch = 0

    @property
    def sampler(self) -> SpeakerBatchSampler:
        """``self``: Lightning calls ``set_epoch`` on ``dataloader.batch_sampler.sampler``."""
        return self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_batches or len(self.items) // self.n

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed % 2**32, self.epoch if self.shuffle else 0])
        speakers = sorted(self.items)
        order: list[int] = []
        for _ in range(len(self)):
            if len(order) < self.n:
                order = [speakers[i] for i in rng.permutation(len(speakers))]
            group, order = order[:self.n], order[self.n:]
            batch = []
            for speaker in group:
                items = self.items[speaker]
                picks = rng.choice(len(items), self.m, replace=len(items) < self.m)
                batch += [items[int(p)] for p in picks]
            yield batch
