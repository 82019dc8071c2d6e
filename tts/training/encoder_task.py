"""``EncoderTask``: GE2E training of the speaker encoder with Lightning, and its run (``train``).

Batches are N speakers x M windows (``cloning.encoder_data.SpeakerBatchSampler``) from any
number of prepared folders; the loss is ``cloning.ge2e.GE2ELoss`` (learnable ``w``, ``b``).
Validation runs on the held-out speakers (same rule as ``scripts/evaluate.py encoder``): GE2E
loss and the EER of embedding-vs-centroid trials within each batch, for monitoring only.
The run folder, checkpoints (voxclone checkpoints of kind ``"encoder"``, model key
``"encoder"``), ``--resume`` and ``--init`` work as for the vocoder (``tts.training.run``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

from cloning.encoder import ENCODER_AUDIO, KIND, SpeakerEncoder, SpeakerEncoderConfig
from cloning.encoder_data import (
    EncoderDataset,
    SpeakerBatchSampler,
    collate_windows,
    collect_clips,
)
from cloning.ge2e import GE2ELoss, similarity_matrix
from cloning.verification import HOLDOUT_FRACTION, HOLDOUT_RECIPES, equal_error_rate
from tts import checkpoint
from tts.config import AudioConfig, to_dict
from tts.training.run import RunOptions, ScheduleConfig, fit, load_weights, start_run


@dataclasses.dataclass(frozen=True)
class EncoderTrainingConfig(ScheduleConfig):
    """Optimisation, batches and bookkeeping of an encoder run."""

    speakers_per_batch: int = 32
    utterances_per_speaker: int = 5
    learning_rate: float = 1e-4
    lr_decay_per_1k_steps: float = 1.0
    grad_clip: float = 3.0
    min_speaker_seconds: float = 4.0
    holdout_recipes: tuple[str, ...] = HOLDOUT_RECIPES
    holdout_fraction: float = HOLDOUT_FRACTION
    val_batches: int = 4


@dataclasses.dataclass(frozen=True)
class EncoderExperimentConfig:
    """A whole encoder experiment, as read from ``configs/encoder/*.yaml``."""

    audio: AudioConfig = ENCODER_AUDIO
    model: SpeakerEncoderConfig = SpeakerEncoderConfig()
    training: EncoderTrainingConfig = EncoderTrainingConfig()


class EncoderDataModule(L.LightningDataModule):
    """Train batches from the training speakers of ``folders``, validation batches (fixed) from
    their held-out speakers; no validation when fewer than 2 speakers are held out."""

    def __init__(self, folders: Sequence[str | Path], config: EncoderExperimentConfig) -> None:
        super().__init__()
        self.folders = [Path(f) for f in folders]
        self.config = config
        self.train_set: EncoderDataset | None = None
        self.val_set: EncoderDataset | None = None

    def _dataset(self, subset: str, random_crops: bool) -> EncoderDataset:
        cfg = self.config.training
        clips = collect_clips(self.folders, subset, cfg.holdout_recipes, cfg.holdout_fraction)
        return EncoderDataset(clips, self.config.model, self.config.audio,
                              cfg.min_speaker_seconds if subset == "train" else 0.0,
                              random_crops=random_crops)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = self._dataset("train", True)
            self.val_set = self._dataset("heldout", False)

    def train_dataloader(self) -> DataLoader:
        self.setup()
        cfg = self.config.training
        sampler = SpeakerBatchSampler(self.train_set.speaker_ids, cfg.speakers_per_batch,
                                      cfg.utterances_per_speaker, seed=cfg.seed)
        return DataLoader(self.train_set, batch_sampler=sampler, collate_fn=collate_windows,
                          num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0)

    def val_dataloader(self):
        self.setup()
        cfg = self.config.training
        speakers = len(set(self.val_set.speaker_ids))
        if speakers < 2 or cfg.val_batches < 1:
            return []
        sampler = SpeakerBatchSampler(self.val_set.speaker_ids, min(cfg.speakers_per_batch, speakers),
                                      cfg.utterances_per_speaker, seed=cfg.seed + 1, shuffle=False,
                                      num_batches=cfg.val_batches)
        return DataLoader(self.val_set, batch_sampler=sampler, collate_fn=collate_windows)


class EncoderTask(L.LightningModule):
    """Wraps ``encoder`` (the ``SpeakerEncoder``) and ``ge2e`` (the loss with its ``w``, ``b``).

    Batches: ``mel (N*M, n_mels, partial_frames)`` speaker-major, ``speaker (N*M,)``.
    """

    def __init__(self, config: EncoderExperimentConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = SpeakerEncoder(config.model, config.audio)
        self.ge2e = GE2ELoss()
        self.model_config = self.encoder.model_config

    def _embeddings(self, batch: dict) -> torch.Tensor:
        n = int(batch.speaker.unique_consecutive().numel())
        embeds = self.encoder(batch.mel)
        return embeds.reshape(n, embeds.shape[0] // n, -1)

    @staticmethod
    def batch_eer(embeddings: torch.Tensor) -> float:
        """EER of every embedding against every (exclusive own) centroid in an N x M batch."""
        with torch.no_grad():
            sim = similarity_matrix(embeddings.detach().float())
        n, m, _ = sim.shape
        labels = torch.eye(n, dtype=torch.bool).unsqueeze(1).expand(n, m, n)
        return equal_error_rate(sim.cpu().reshape(-1).numpy(), labels.reshape(-1).numpy())[0]

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        embeddings = self._embeddings(batch)
        loss = self.ge2e(embeddings)
        size = batch.mel.shape[0]
        self.log_dict({"train/loss": loss.detach(), "train/eer": self.batch_eer(embeddings),
                       "train/w": self.ge2e.weight.detach(), "train/b": self.ge2e.bias.detach(),
                       "train_step": float(self.global_step)},
                      on_step=True, on_epoch=False, batch_size=size)
        self.log("loss", loss.detach(), prog_bar=True, logger=False, batch_size=size)
        return loss

    def on_before_optimizer_step(self, optimizer) -> None:
        norms = [p.grad.detach().norm() for p in self.parameters() if p.grad is not None]
        if norms:
            self.log("train/grad_norm", torch.stack(norms).norm(), on_step=True, on_epoch=False)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        embeddings = self._embeddings(batch)
        size = batch.mel.shape[0]
        self.log("val/loss", self.ge2e(embeddings), on_epoch=True, batch_size=size)
        self.log("val/eer", self.batch_eer(embeddings), on_epoch=True, batch_size=size)

    def configure_optimizers(self):
        cfg = self.config.training
        optimizer = torch.optim.Adam(self.parameters(), cfg.learning_rate)
        gamma = cfg.lr_decay_per_1k_steps ** (1 / 1000)
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def init_from(self, path: str | Path) -> None:
        """Start from the weights of encoder checkpoint ``path`` (the same model needed) and,
        when it stores them, its GE2E ``w``, ``b``."""
        ge2e = load_weights(self.encoder, path, KIND, self.model_config,
                            self.config.audio).metadata.get("ge2e")
        if isinstance(ge2e, dict) and {"weight", "bias"} <= set(ge2e):
            with torch.no_grad():
                self.ge2e.weight.fill_(float(ge2e["weight"]))
                self.ge2e.bias.fill_(float(ge2e["bias"]))

    def on_save_checkpoint(self, lightning_checkpoint: dict) -> None:
        checkpoint.annotate(lightning_checkpoint, kind=KIND, model_key="encoder",
                            model_config=self.model_config, audio_config=self.config.audio,
                            metadata={"experiment": to_dict(self.config),
                                      "step": int(self.global_step),
                                      "ge2e": {"weight": self.ge2e.weight.item(),
                                               "bias": self.ge2e.bias.item()}})


def train(config: EncoderExperimentConfig, data: Sequence[str | Path], out: str | Path,
          options: RunOptions | None = None, init_from: str | Path | None = None) -> Path:
    """Train (or resume) the speaker encoder of ``config`` on prepared folders ``data`` into run
    folder ``out``; returns the path of the final checkpoint.

    ``init_from`` starts a new run from an encoder checkpoint's weights (fine-tuning, e.g. the
    converted Resemblyzer weights; ``EncoderTask.init_from``).
    """
    out, options = Path(out), options or RunOptions()
    cfg = config.training
    datamodule = EncoderDataModule(data, config)
    datamodule.setup()
    resume_from = start_run(out, config, options, init_from)
    task = EncoderTask(config)
    if init_from is not None:
        task.init_from(init_from)
    return fit(task, datamodule, out, cfg, options, resume_from, gradient_clip_val=cfg.grad_clip)
