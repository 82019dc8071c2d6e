"""Lightning data modules over a prepared folder (the only data file importing Lightning).

``TTSDataModule`` feeds the acoustic model (tokens and mels); ``VocoderDataModule`` feeds the
vocoder (waveform segments, optionally with ground-truth-aligned predicted mels).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

from data.balance import FolderShare, item_weights
from data.dataset import LengthBucketSampler, TTSDataset
from data.holdout import held_out_speakers
from data.prepared import PreparedFolder, check_same_preparation
from data.vocoder_data import VocoderDataset, collate_segments
from tts.config import AudioConfig
from tts.errors import DataError
from tts.text import SymbolTable

__all__ = ["TTSDataModule", "VocoderDataModule"]


def _folders(roots: str | Path | Sequence[str | Path]) -> list[PreparedFolder]:
    """The prepared folder(s) ``roots`` names; at least one."""
    paths = [roots] if isinstance(roots, (str, Path)) else list(roots)
    if not paths:
        raise DataError("no prepared folder given")
    return [PreparedFolder(path) for path in paths]


class TTSDataModule(L.LightningDataModule):
    """Train/val loaders over one or more prepared folders ``roots`` (train.jsonl, val.jsonl,
    prepare.json, speakers.json each), yielding ``data.batch.TTSBatch``.

    The symbol table, speaker list (all folders' speakers, in order; a name in two folders is an
    error), emotion list (union) and audio config come from the folders (which must agree) and
    are exposed (``symbols``, ``speakers``, ``emotions``, ``audio``) for building the model.
    ``embeddings`` adds per-utterance speaker embeddings (``voxclone embed``), ``pitch`` frame
    F0 (``voxclone pitch``); ``hold_out``
    drops the speakers ``data.holdout`` keeps for evaluation (``held_out_speakers``), and
    ``hold_out_names`` these named speakers too (e.g. a voice kept for few-shot evaluation);
    ``folder_shares`` fixes the share of training draws of the folders its patterns name
    (``data.balance``).

    The train loader uses ``LengthBucketSampler`` (reshuffled per epoch: Lightning calls its
    ``set_epoch``); under DDP it shards batches by the trainer's world size and rank itself, so
    create the ``Trainer`` with ``use_distributed_sampler=False``. The val loader is sequential.
    """

    def __init__(self, roots: str | Path | Sequence[str | Path], batch_size: int = 16,
                 num_workers: int = 0, seed: int = 0, pin_memory: bool = False,
                 embeddings: bool = False, hold_out: float = 0.0,
                 hold_out_names: Sequence[str] = (), pitch: bool = False,
                 folder_shares: Sequence[FolderShare] = ()) -> None:
        super().__init__()
        self.folders = _folders(roots)
        if batch_size < 1:
            raise DataError(f"batch_size must be positive, got {batch_size}")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.pin_memory = pin_memory
        self.embeddings = embeddings
        self.pitch = pitch
        self.folder_shares = tuple(folder_shares)
        item_weights([folder.path.name for folder in self.folders], self.folder_shares)  # checks
        self.audio: AudioConfig = self.folders[0].audio
        self.symbols: SymbolTable = self.folders[0].symbols
        check_same_preparation(self.folders, symbols=True)
        self.emotions: list[str] = []
        self.speakers: list[str] = []
        self.held_out: set[str] = set()
        owner: dict[str, Path] = {}
        for folder in self.folders:
            self.emotions += [e for e in folder.emotions if e not in self.emotions]
            names = folder.speakers
            skip = held_out_speakers(folder.path, hold_out) if hold_out > 0 else set()
            skip |= set(hold_out_names)
            self.held_out |= skip
            for name in names:
                if name in owner:
                    raise DataError(f"speaker {name!r} is in both {owner[name]} and "
                                    f"{folder.path}")
                owner[name] = folder.path
                if name not in skip:
                    self.speakers.append(name)
        self.train_set: TTSDataset | None = None
        self.val_set: TTSDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = self._dataset("train")
            self.val_set = self._dataset("val")

    def _dataset(self, name: str) -> TTSDataset:
        manifests = [folder.manifest(name) for folder in self.folders]
        return TTSDataset(manifests, self.symbols, self.speakers, self.emotions,
                          embeddings=self.embeddings, exclude=frozenset(self.held_out),
                          pitch=self.pitch)

    def speaker_means(self) -> torch.Tensor:
        """``(num_speakers, D)``: each speaker's normalised mean embedding over its training
        utterances (zeros for a speaker without any); needs ``embeddings``."""
        self.setup()
        if not self.embeddings:
            raise DataError("speaker_means needs the data module built with embeddings=True")
        sums: dict[int, torch.Tensor] = {}
        for index in range(len(self.train_set)):
            row = self.train_set.speaker_of(index)
            vector = self.train_set.embedding_of(index)
            sums[row] = sums.get(row, 0) + vector
        size = len(next(iter(sums.values()))) if sums else 0
        means = torch.zeros(len(self.speakers), size)
        for row, total in sums.items():
            means[row] = torch.nn.functional.normalize(total, dim=0)
        return means

    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None or trainer.world_size <= 1:
            return 1, 0
        return trainer.world_size, trainer.global_rank

    def train_dataloader(self) -> DataLoader:
        self.setup()
        replicas, rank = self._world()
        weights = item_weights(self.train_set.item_folders, self.folder_shares)
        sampler = LengthBucketSampler(self.train_set.mel_lengths, self.batch_size, shuffle=True,
                                      seed=self.seed, num_replicas=replicas, rank=rank,
                                      weights=weights)
        return DataLoader(self.train_set, batch_sampler=sampler, collate_fn=self.train_set.collate,
                          num_workers=self.num_workers, pin_memory=self.pin_memory,
                          persistent_workers=self.num_workers > 0)

    def val_dataloader(self) -> DataLoader:
        self.setup()
        return DataLoader(self.val_set, batch_size=self.batch_size, shuffle=False,
                          collate_fn=self.val_set.collate, num_workers=self.num_workers,
                          pin_memory=self.pin_memory, persistent_workers=self.num_workers > 0)


class VocoderDataModule(L.LightningDataModule):
    """Random waveform segments for training and whole clips (cut to ``val_max_frames``) for
    validation, from one or more prepared folders ``roots`` (all with one audio config), as
    ``data.batch.VocoderBatch``; see ``data.vocoder_data``. Training draws uniformly over the
    clips of all folders; validation takes ``val_clips`` clips in turn from each folder's
    val.jsonl.

    ``audio`` (from prepare.json) is exposed so that the task can refuse a model whose audio
    config differs from the data's. ``pitch=True`` adds each folder's frame F0 to the items
    (pitch-driven vocoders); ``hold_out=True`` leaves ``data.holdout``'s speakers out of training
    and validation, so that copy synthesis can be measured on speakers the vocoder never heard.
    """

    def __init__(self, roots: str | Path | Sequence[str | Path], batch_size: int = 16,
                 segment_frames: int = 32, num_workers: int = 0,
                 mel_dir: str | Path | None = None, val_max_frames: int = 400,
                 val_clips: int = 8, pitch: bool = False, hold_out: bool = False) -> None:
        super().__init__()
        self.folders = _folders(roots)
        if mel_dir is not None and len(self.folders) > 1:
            raise DataError("--mel-dir needs a single prepared folder (its mels are by clip id)")
        check_same_preparation(self.folders)
        self.audio: AudioConfig = self.folders[0].audio
        self.batch_size = batch_size
        self.segment_frames = segment_frames
        self.num_workers = num_workers
        self.mel_dir = mel_dir
        self.val_max_frames = val_max_frames
        self.val_clips = val_clips
        self.pitch = pitch
        self.hold_out = hold_out
        self.train_set: torch.utils.data.Dataset | None = None
        self.val_set: VocoderDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            hop = self.audio.hop_length
            held = {folder: held_out_speakers(folder.path) if self.hold_out else set()
                    for folder in self.folders}
            parts = [VocoderDataset(folder.manifest("train"), hop, self.segment_frames,
                                    train=True, mel_dir=self.mel_dir, pitch=self.pitch,
                                    exclude_speakers=held[folder]) for folder in self.folders]
            self.train_set = parts[0] if len(parts) == 1 else torch.utils.data.ConcatDataset(parts)
            vals = [VocoderDataset(folder.manifest("val"), hop, self.segment_frames, train=False,
                                   mel_dir=self.mel_dir, max_frames=self.val_max_frames,
                                   pitch=self.pitch, exclude_speakers=held[folder])
                    for folder in self.folders]
            turns = [u for group in itertools.zip_longest(*(v.utterances for v in vals))
                     for u in group if u is not None]
            self.val_set = vals[0]
            self.val_set.utterances = turns[:self.val_clips]
            if self.pitch:  # the turns come from every folder: so must their pitch tracks
                self.val_set.pitch = {key: track for v in vals for key, track in v.pitch.items()}

    def train_dataloader(self) -> DataLoader:
        self.setup()
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True,
                          drop_last=len(self.train_set) >= self.batch_size,
                          collate_fn=collate_segments, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)

    def val_dataloader(self) -> DataLoader:
        self.setup()
        return DataLoader(self.val_set, batch_size=1, shuffle=False, collate_fn=collate_segments)
