"""Lightning data modules over a prepared folder (the only data file importing Lightning).

``TTSDataModule`` feeds the acoustic model (tokens and mels); ``VocoderDataModule`` feeds the
vocoder (waveform segments, optionally with ground-truth-aligned predicted mels).
"""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader

from data.dataset import LengthBucketSampler, TTSDataset, read_prepare_info
from data.vocoder_data import VocoderDataset, collate_segments
from tts.config import AudioConfig, from_dict
from tts.errors import DataError
from tts.text import SymbolTable

__all__ = ["TTSDataModule", "VocoderDataModule"]


class TTSDataModule(L.LightningDataModule):
    """Train/val loaders over a prepared folder ``root`` (train.jsonl, val.jsonl, prepare.json,
    speakers.json), batches as described in ``data.dataset.collate_batch``.

    The symbol table, speaker list, emotion list and audio config come from the folder and are
    exposed (``symbols``, ``speakers``, ``emotions``, ``audio``) for building the model. The train
    loader uses ``LengthBucketSampler`` (reshuffled per epoch: Lightning calls its ``set_epoch``);
    under DDP it shards batches by the trainer's world size and rank itself, so create the
    ``Trainer`` with ``use_distributed_sampler=False``. The val loader is sequential.
    """

    def __init__(self, root: str | Path, batch_size: int = 16, num_workers: int = 0,
                 seed: int = 0, pin_memory: bool = False) -> None:
        super().__init__()
        self.root = Path(root)
        if batch_size < 1:
            raise DataError(f"batch_size must be positive, got {batch_size}")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.pin_memory = pin_memory
        info = read_prepare_info(self.root)
        self.audio: AudioConfig = from_dict(AudioConfig, info["audio"], where="prepare.json audio")
        self.symbols = SymbolTable.from_dict(info["symbols"])
        self.emotions: list[str] = list(info["emotions"])
        speakers_file = self.root / "speakers.json"
        if not speakers_file.is_file():
            raise DataError(f"{self.root} is not a prepared folder: speakers.json not found")
        self.speakers: list[str] = json.loads(speakers_file.read_text(encoding="utf-8"))
        self.train_set: TTSDataset | None = None
        self.val_set: TTSDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = self._dataset("train.jsonl")
            self.val_set = self._dataset("val.jsonl")

    def _dataset(self, name: str) -> TTSDataset:
        return TTSDataset(self.root / name, self.symbols, self.speakers, self.emotions)

    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None or trainer.world_size <= 1:
            return 1, 0
        return trainer.world_size, trainer.global_rank

    def train_dataloader(self) -> DataLoader:
        self.setup()
        replicas, rank = self._world()
        sampler = LengthBucketSampler(self.train_set.mel_lengths, self.batch_size, shuffle=True,
                                      seed=self.seed, num_replicas=replicas, rank=rank)
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
    validation, from a prepared folder ``root``; see ``data.vocoder_data``.

    ``audio`` (from prepare.json) is exposed so that the task can refuse a model whose audio
    config differs from the data's.
    """

    def __init__(self, root: str | Path, batch_size: int = 16, segment_frames: int = 32,
                 num_workers: int = 0, mel_dir: str | Path | None = None,
                 val_max_frames: int = 400, val_clips: int = 8) -> None:
        super().__init__()
        self.root = Path(root)
        info = read_prepare_info(self.root)
        self.audio: AudioConfig = from_dict(AudioConfig, info["audio"], where="prepare.json audio")
        self.batch_size = batch_size
        self.segment_frames = segment_frames
        self.num_workers = num_workers
        self.mel_dir = mel_dir
        self.val_max_frames = val_max_frames
        self.val_clips = val_clips
        self.train_set: VocoderDataset | None = None
        self.val_set: VocoderDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            hop = self.audio.hop_length
            self.train_set = VocoderDataset(self.root / "train.jsonl", hop, self.segment_frames,
                                            train=True, mel_dir=self.mel_dir)
            self.val_set = VocoderDataset(self.root / "val.jsonl", hop, self.segment_frames,
                                          train=False, mel_dir=self.mel_dir,
                                          max_frames=self.val_max_frames)
            self.val_set.utterances = self.val_set.utterances[:self.val_clips]

    def train_dataloader(self) -> DataLoader:
        self.setup()
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True,
                          drop_last=len(self.train_set) >= self.batch_size,
                          collate_fn=collate_segments, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)

    def val_dataloader(self) -> DataLoader:
        self.setup()
        return DataLoader(self.val_set, batch_size=1, shuffle=False, collate_fn=collate_segments)
