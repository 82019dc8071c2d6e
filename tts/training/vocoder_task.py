"""``VocoderTask``: GAN training of a vocoder (generator + discriminators) with Lightning.

Manual optimization: each step updates the discriminators (least-squares GAN, once the
adversarial phase has started) and then the generator (mel L1 x ``mel_weight`` + multi-resolution
STFT x ``stft_weight`` + adversarial + feature matching x ``feature_weight``, plus, for an iSTFT
vocoder with ``phase_weight`` > 0, the three anti-wrapping phase losses x ``phase_weight``).
The generator is the same ``nn.Module`` that ``tts.vocoder.load_vocoder`` returns; checkpoints
are voxclone checkpoints (see ``tts.checkpoint.annotate``). ``train`` runs it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import lightning as L
import torch

from data.batch import VocoderBatch
from data.datamodule import VocoderDataModule
from tts import checkpoint
from tts.audio import MelSpectrogram
from tts.config import AudioConfig, to_dict
from tts.errors import ConfigError
from tts.models.discriminators import PERIOD_CHANNELS, SCALE_CHANNELS
from tts.training.run import (
    RunOptions,
    ScheduleConfig,
    check_audio,
    fit,
    load_weights,
    start_run,
)
from tts.vocoder import build_vocoder, needs_f0, same_weights, type_needs_f0, vocoder_model_config


@dataclasses.dataclass(frozen=True)
class VocoderModelConfig:
    """Which vocoder: ``type`` in ``tts.vocoder.VOCODER_TYPES`` and a named ``preset``."""

    type: str = "istft"
    preset: str = "small"
    phase_iterations: int = 0
    """iSTFT only: Griffin-Lim steps on the predicted phase, in training and inference alike
    (``ISTFTVocoderConfig.phase_iterations``)."""


@dataclasses.dataclass(frozen=True)
class VocoderTrainingConfig(ScheduleConfig):
    """Optimisation, losses and bookkeeping of a vocoder run (steps = generator updates)."""

    batch_size: int = 16
    segment_frames: int = 32
    hold_out: bool = True
    """Leave ``data.holdout``'s speakers out, so that copy synthesis is measured on voices the
    vocoder never heard."""
    stft_resolutions: tuple[tuple[int, ...], ...] = ((512, 128, 512), (1024, 256, 1024),
                                                     (2048, 512, 2048))
    """``(n_fft, hop_length, win_length)`` of the multi-resolution STFT loss."""
    learning_rate: float = 2e-4
    betas: tuple[float, ...] = (0.8, 0.99)
    lr_decay_per_1k_steps: float = 0.99
    adversarial: bool = True
    gan_start_step: int = 0
    period_channels: tuple[int, ...] = PERIOD_CHANNELS
    scale_channels: tuple[int, ...] = SCALE_CHANNELS
    mel_weight: float = 45.0
    stft_weight: float = 2.0
    feature_weight: float = 2.0
    phase_weight: float = 0.0
    """Weight of each ``PhaseLoss`` term (iSTFT vocoders only): the phase is then learned from
    the recordings' own STFT phase, which a run without a discriminator needs (see
    ``tts.models.losses.PhaseLoss``)."""
    grad_clip: float = 100.0
    val_clips: int = 4
    num_workers: int = 2


@dataclasses.dataclass(frozen=True)
class VocoderExperimentConfig:
    """A whole vocoder experiment, as read from ``configs/vocoder/*.yaml``."""

    audio: AudioConfig = AudioConfig()
    model: VocoderModelConfig = VocoderModelConfig()
    training: VocoderTrainingConfig = VocoderTrainingConfig()


class VocoderTask(L.LightningModule):
    """Wraps ``generator`` (the vocoder) and, when adversarial, ``discriminator``.

    Batches are ``data.batch.VocoderBatch`` (``data.vocoder_data.collate_segments``): ``wav (B,
    samples)`` and optionally ``mel (B, n_mels, samples // hop_length)``; without ``mel`` the
    input mel is computed from ``wav`` with the one ``MelSpectrogram``.
    """

    def __init__(self, config: VocoderExperimentConfig) -> None:
        super().__init__()
        from tts.models.losses import MelLoss, MultiResolutionSTFTLoss, PhaseLoss

        self.automatic_optimization = False
        self.config = config
        self.model_config = vocoder_model_config(config.model.type, config.model.preset,
                                                 config.model.phase_iterations)
        self.generator = build_vocoder(self.model_config, config.audio)
        self.discriminator = None
        if config.training.adversarial:
            from tts.models.discriminators import CombinedDiscriminator

            self.discriminator = CombinedDiscriminator(
                period_channels=config.training.period_channels,
                scale_channels=config.training.scale_channels)
        self.mel = MelSpectrogram(config.audio)
        self.mel_loss = MelLoss(config.audio)
        self.stft_loss = MultiResolutionSTFTLoss(
            tuple(tuple(r) for r in config.training.stft_resolutions))
        self.phase_loss = PhaseLoss()
        if config.training.phase_weight and not hasattr(self.generator, "forward_with_phase"):
            raise ConfigError(f"training.phase_weight needs a vocoder that predicts an STFT "
                              f"(istft), not {config.model.type!r}")

    # -- helpers ---------------------------------------------------------------------------
    def input_mel(self, batch: VocoderBatch) -> torch.Tensor:
        """``(B, n_mels, frames)`` with ``frames = samples // hop_length``."""
        if batch.mel is not None:
            return batch.mel
        frames = batch.wav.shape[-1] // self.config.audio.hop_length
        with torch.no_grad():
            return self.mel(batch.wav)[..., :frames]

    def generate(self, batch: VocoderBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(fake (B, samples), phase losses)``: the generator's waveform for the batch, cut to
        the real one's length, and, with ``phase_weight``, the ``PhaseLoss`` terms by name."""
        wav = batch.wav
        mel = self.input_mel(batch)
        if needs_f0(self.generator):
            if batch.f0 is None:
                raise ConfigError("this vocoder is given the pitch: its data needs an F0 track "
                                  "(voxclone pitch DATA)")
            seed = None if self.training else 0
            return self.generator(mel, batch.f0[..., :mel.shape[-1]], seed=seed)[
                ..., :wav.shape[-1]], {}
        if not self.config.training.phase_weight:
            return self.generator(mel)[..., :wav.shape[-1]], {}
        fake, phase = self.generator.forward_with_phase(mel)
        target = self.mel.spectrum(wav.float())[..., :phase.shape[1]].transpose(1, 2)
        terms = dict(zip(("phase_ip", "phase_gd", "phase_iaf"), self.phase_loss(phase, target),
                         strict=True))
        return fake[..., :wav.shape[-1]], terms

    def _gan_active(self) -> bool:
        return self.discriminator is not None and self.global_step >= self.config.training.gan_start_step

    # -- training --------------------------------------------------------------------------
    def training_step(self, batch: VocoderBatch, batch_idx: int) -> None:
        from tts.models.losses import (
            discriminator_loss,
            feature_matching_loss,
            generator_adversarial_loss,
        )

        cfg = self.config.training
        optimizers = self.optimizers()
        opt_g = optimizers[0] if isinstance(optimizers, list) else optimizers
        wav = batch.wav
        fake, phase = self.generate(batch)
        logs = {f"train/{name}": value.detach() for name, value in phase.items()}
        gan = self._gan_active()
        if gan:
            opt_d = optimizers[1]
            real_logits, _ = self.discriminator(wav.unsqueeze(1))
            fake_logits, _ = self.discriminator(fake.detach().unsqueeze(1))
            d_loss = discriminator_loss(real_logits, fake_logits)
            opt_d.zero_grad()
            self.manual_backward(d_loss)
            torch.nn.utils.clip_grad_norm_(self.discriminator.parameters(), cfg.grad_clip)
            opt_d.optimizer.step()  # the raw optimizer: global_step counts generator steps only
            logs["train/d_loss"] = d_loss.detach()
        mel_l1 = self.mel_loss(fake, wav)
        stft = self.stft_loss(fake, wav)
        g_loss = cfg.mel_weight * mel_l1 + cfg.stft_weight * stft
        g_loss = g_loss + cfg.phase_weight * sum(phase.values(), torch.zeros_like(mel_l1))
        if gan:
            fake_logits, fake_features = self.discriminator(fake.unsqueeze(1))
            with torch.no_grad():
                _, real_features = self.discriminator(wav.unsqueeze(1))
            adv = generator_adversarial_loss(fake_logits)
            fm = feature_matching_loss(real_features, fake_features)
            g_loss = g_loss + adv + cfg.feature_weight * fm
            logs.update({"train/adv_loss": adv.detach(), "train/fm_loss": fm.detach()})
        opt_g.zero_grad()
        self.manual_backward(g_loss)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.generator.parameters(), cfg.grad_clip)
        opt_g.step()
        for scheduler in self._schedulers():
            scheduler.step()
        logs.update({"train/g_loss": g_loss.detach(), "train/mel_l1": mel_l1.detach(),
                     "train/stft_loss": stft.detach(), "train/grad_norm": grad_norm,
                     "train/lr": torch.tensor(opt_g.param_groups[0]["lr"]),
                     "train_step": torch.tensor(float(self.global_step))})
        self.log_dict(logs, prog_bar=False, on_step=True, on_epoch=False, batch_size=wav.shape[0])
        self.log("mel_l1", mel_l1.detach(), prog_bar=True, on_step=True, logger=False,
                 batch_size=wav.shape[0])

    def _schedulers(self) -> list:
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return []
        schedulers = schedulers if isinstance(schedulers, list) else [schedulers]
        return schedulers[:2] if self._gan_active() else schedulers[:1]

    def configure_optimizers(self):
        cfg = self.config.training
        gamma = cfg.lr_decay_per_1k_steps ** (1 / 1000)
        opt_g = torch.optim.AdamW(self.generator.parameters(), cfg.learning_rate,
                                  betas=tuple(cfg.betas))
        optimizers = [opt_g]
        if self.discriminator is not None:
            optimizers.append(torch.optim.AdamW(self.discriminator.parameters(), cfg.learning_rate,
                                                betas=tuple(cfg.betas)))
        schedulers = [torch.optim.lr_scheduler.ExponentialLR(o, gamma) for o in optimizers]
        return optimizers, schedulers

    # -- validation ------------------------------------------------------------------------
    def validation_step(self, batch: VocoderBatch, batch_idx: int) -> None:
        wav = batch.wav
        fake, phase = self.generate(batch)
        for name, value in phase.items():
            self.log(f"val/{name}", value, on_epoch=True, batch_size=wav.shape[0], sync_dist=True)
        mel_l1 = self.mel_loss(fake, wav)
        self.log("val/mel_l1", mel_l1, on_epoch=True, batch_size=wav.shape[0], sync_dist=True)
        self.log("val/stft_loss", self.stft_loss(fake, wav), on_epoch=True,
                 batch_size=wav.shape[0], sync_dist=True)
        if batch_idx < self.config.training.val_clips:
            self._log_example(batch_idx, wav[0], fake[0])

    def _log_example(self, index: int, real: torch.Tensor, fake: torch.Tensor) -> None:
        experiment = getattr(self.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_audio") or self.global_rank != 0:
            return
        from tts.training.plots import mel_figure

        rate = self.config.audio.sample_rate
        step = self.global_step
        experiment.add_audio(f"val/{index}/generated", fake.clamp(-1, 1).cpu().float(), step, rate)
        if step == 0 or not getattr(self, "_logged_real", False):
            experiment.add_audio(f"val/{index}/real", real.cpu().float(), step, rate)
        with torch.no_grad():
            mels = [self.mel(x.float()).cpu() for x in (real, fake)]
        experiment.add_figure(f"val/{index}/mel", mel_figure(mels, ("real", "generated")), step)

    def on_validation_epoch_end(self) -> None:
        self._logged_real = True

    # -- checkpoints -----------------------------------------------------------------------
    def init_from(self, path: str | Path) -> None:
        """Start the generator from the weights of vocoder checkpoint ``path``: the same
        weights needed (settings without weights, e.g. ``phase_iterations``, may differ)."""
        load_weights(self.generator, path, "vocoder", self.model_config, self.config.audio,
                     same_model=same_weights)

    def on_save_checkpoint(self, lightning_checkpoint: dict) -> None:
        checkpoint.annotate(lightning_checkpoint, kind="vocoder", model_key="generator",
                            model_config=self.model_config, audio_config=self.config.audio,
                            metadata={"experiment": to_dict(self.config),
                                      "step": int(self.global_step)})


def num_parameters(module: torch.nn.Module) -> int:
    """Trainable parameter count."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def train(config: VocoderExperimentConfig, data: str | Path | Sequence[str | Path],
          out: str | Path, options: RunOptions | None = None, mel_dir: str | Path | None = None,
          init_from: str | Path | None = None) -> Path:
    """Train (or resume) the vocoder of ``config`` on prepared folder(s) ``data`` into run
    folder ``out``; returns the path of the final checkpoint.

    ``mel_dir`` holds the input mels (``ID.npy``, e.g. ground-truth-aligned ones) instead of
    the recordings' own. ``init_from`` starts a new run from the weights of a vocoder checkpoint
    (fine-tuning: on other data, on predicted mels, or with the adversarial losses switched
    on); optimizer state starts fresh.
    """
    out, options = Path(out), options or RunOptions()
    cfg = config.training
    datamodule = VocoderDataModule(data, batch_size=cfg.batch_size,
                                   segment_frames=cfg.segment_frames, num_workers=cfg.num_workers,
                                   mel_dir=mel_dir, val_clips=max(cfg.val_clips, 1),
                                   pitch=type_needs_f0(config.model.type),
                                   hold_out=cfg.hold_out)
    check_audio(datamodule.audio, config.audio)
    resume_from = start_run(out, config, options, init_from)
    task = VocoderTask(config)
    if init_from is not None:
        task.init_from(init_from)
    return fit(task, datamodule, out, cfg, options, resume_from)
