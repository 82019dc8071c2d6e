"""``AcousticTask``: training of the ``Tacotron`` acoustic model with Lightning.

The task wraps the same ``Tacotron`` that the synthesizer loads (``tts.acoustic``); its
checkpoints are voxclone checkpoints of kind ``"acoustic"`` (weights under ``model.``), carrying
the symbol table, the speaker and emotion lists and, once learned, per-emotion style weights.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import lightning as L
import torch

from tts import checkpoint
from tts.config import AudioConfig, to_dict
from tts.models.tacotron import Tacotron, TacotronConfig
from tts.text import SymbolTable
from tts.training.run import ScheduleConfig


@dataclasses.dataclass(frozen=True)
class AcousticTrainingConfig(ScheduleConfig):
    """Optimisation, loss weights and bookkeeping of an acoustic-model run."""

    batch_size: int = 16
    learning_rate: float = 1e-3
    betas: tuple[float, ...] = (0.9, 0.98)
    weight_decay: float = 1e-6
    warmup_steps: int = 500
    lr_decay_per_1k_steps: float = 0.97
    grad_clip: float = 1.0
    aligner_warmup_steps: int = 0
    """Duration decoder: the first N steps train only the aligner (and the text embedding) at
    ``aligner_lr_scale`` x the learning rate; they are cheap, and the decoder then starts on
    sensible durations instead of learning from the aligner's early guesses."""
    aligner_lr_scale: float = 4.0
    duration_weight: float = 1.0
    pitch_weight: float = 1.0
    """Weight of the token pitch and voicing losses (models with ``model.pitch``)."""
    align_weight: float = 1.0
    binarization_start_step: int = 1_000
    """Steps after the aligner warm-up before the soft alignment is pulled onto the hard one."""
    binarization_weight: float = 1.0
    stop_weight: float = 1.0
    stop_pos_weight: float = 5.0
    guided_attention_weight: float = 10.0
    guided_attention_decay_steps: int = 5_000
    speaker_table_dropout: float = 0.0
    """Share of training items whose speaker-table row is withheld, so that a model with both a
    table and speaker embeddings learns to speak from the embedding alone (unseen voices)."""
    hold_out_fraction: float = 0.0
    """Keep ``data.holdout``'s held-out speakers (this share) out of training, for evaluation."""
    frozen: tuple[str, ...] = ()
    """Parameter-name prefixes that are not trained (e.g. ``encoder.`` when fine-tuning a voice
    on a few minutes of speech, so that the text side keeps what it learned)."""
    hold_out_speakers: tuple[str, ...] = ()
    """Named speakers kept out of training too (e.g. the few-shot cloning evaluation voice)."""
    val_examples: int = 2
    num_workers: int = 1


@dataclasses.dataclass(frozen=True)
class AcousticExperimentConfig:
    """A whole acoustic experiment, as read from ``configs/acoustic/*.yaml``."""

    audio: AudioConfig = AudioConfig()
    model: TacotronConfig = TacotronConfig()
    training: AcousticTrainingConfig = AcousticTrainingConfig()


class AcousticTask(L.LightningModule):
    """Batches come from ``data.dataset.collate_batch``: ``tokens``, ``token_lengths``, ``mels``,
    ``mel_lengths``, ``speakers`` (and optionally ``speaker_embeddings (B, D)`` and ``pitch (B,
    F)``)."""

    def __init__(self, config: AcousticExperimentConfig, symbols: SymbolTable,
                 speakers: list[str], emotions: list[str]) -> None:
        super().__init__()
        self.config = config
        self.symbols = symbols
        self.speakers = list(speakers)
        self.emotions = list(emotions)
        self.emotion_weights: dict[str, Any] = {}
        """Named style weights carried over from an ``--init`` checkpoint."""
        self.model = Tacotron(config.model, len(symbols), config.audio)
        style = config.model.style
        if config.model.use_style and self.emotions:
            # running mean of the style-token weights per emotion label of the data: what a
            # named emotion means at inference (saved in the checkpoint's metadata)
            self.register_buffer("emotion_style_sum", torch.zeros(
                len(self.emotions), style.num_heads, style.num_tokens))
            self.register_buffer("emotion_count", torch.zeros(len(self.emotions)))

    # -- training --------------------------------------------------------------------------
    def _speakers(self, batch: dict) -> torch.Tensor | None:
        speakers = batch.get("speakers")
        rate = self.config.training.speaker_table_dropout
        if speakers is not None and self.training and rate > 0:
            dropped = torch.rand(speakers.shape, device=speakers.device) < rate
            speakers = speakers.masked_fill(dropped, -1)
        return speakers

    def losses(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict]:
        """``(total, named losses, model outputs)`` of one batch, teacher-forced."""
        from tts.models.acoustic_losses import (
            attention_losses,
            duration_losses,
            mel_losses,
            pitch_losses,
        )

        cfg = self.config.training
        if self.aligning_only:
            from tts.layers.alignment import forward_sum_loss

            out = self.model.align(batch["tokens"], batch["token_lengths"], batch["mels"],
                                   batch["mel_lengths"])
            loss = forward_sum_loss(out["alignment_log_probs"], out["token_lengths"],
                                    batch["mel_lengths"])
            return loss, {"align_loss": loss}, out
        out = self.model(batch["tokens"], batch["token_lengths"], batch["mels"],
                         batch["mel_lengths"], speakers=self._speakers(batch),
                         speaker_embeddings=batch.get("speaker_embeddings"),
                         pitch=batch.get("pitch"))
        if self.training:
            self._track_emotions(batch, out["style_weights"])
        named = mel_losses(out, batch["mels"], batch["mel_lengths"])
        total = sum(named.values())
        if self.config.model.decoder == "duration":
            binarize = self.global_step >= cfg.aligner_warmup_steps + cfg.binarization_start_step
            extra = duration_losses(out, out["token_lengths"], batch["mel_lengths"], binarize)
            total = (total + cfg.duration_weight * extra["duration_loss"]
                     + cfg.align_weight * extra["align_loss"]
                     + cfg.binarization_weight * extra.get("bin_loss", 0.0))
            if "pitch" in out:
                extra.update(pitch_losses(out, out["token_lengths"]))
                total = total + cfg.pitch_weight * (extra["pitch_loss"] + extra["voicing_loss"])
        else:
            extra = attention_losses(out, out["token_lengths"], batch["mel_lengths"],
                                     self.config.model.reduction_factor, cfg.stop_pos_weight)
            decay = max(0.0, 1.0 - self.global_step / max(cfg.guided_attention_decay_steps, 1))
            total = (total + cfg.stop_weight * extra["stop_loss"]
                     + cfg.guided_attention_weight * decay * extra["guided_attention_loss"])
        named.update(extra)
        return total, named, out

    @torch.no_grad()
    def _track_emotions(self, batch: dict, style_weights: torch.Tensor | None) -> None:
        """Add the batch's style weights to the running per-emotion means (decayed, so that
        the means follow the tokens as they train)."""
        if style_weights is None or not hasattr(self, "emotion_count") or "emotions" not in batch:
            return
        labels = batch["emotions"]
        for index in labels[labels >= 0].unique().tolist():
            chosen = style_weights[labels == index].detach()
            self.emotion_style_sum[index] = 0.99 * self.emotion_style_sum[index] + chosen.sum(0)
            self.emotion_count[index] = 0.99 * self.emotion_count[index] + len(chosen)

    def named_style_weights(self) -> dict[str, list]:
        """``{emotion: (heads, tokens) weights as nested lists}`` for the checkpoint."""
        named = dict(self.emotion_weights)
        if hasattr(self, "emotion_count"):
            for index, name in enumerate(self.emotions):
                if float(self.emotion_count[index]) > 0:
                    mean = self.emotion_style_sum[index] / self.emotion_count[index]
                    named[name] = mean.cpu().tolist()
        return named

    @property
    def aligning_only(self) -> bool:
        """True during the aligner warm-up (training steps only)."""
        return (self.training and self.config.model.decoder == "duration"
                and self.global_step < self.config.training.aligner_warmup_steps)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        total, named, _ = self.losses(batch)
        size = batch["tokens"].shape[0]
        logs = {f"train/{k}": v.detach() for k, v in named.items()}
        logs.update({"train/loss": total.detach(),
                     "train_step": torch.tensor(float(self.global_step))})
        self.log_dict(logs, on_step=True, on_epoch=False, batch_size=size)
        self.log("loss", total.detach(), prog_bar=True, logger=False, batch_size=size)
        return total

    def on_before_optimizer_step(self, optimizer) -> None:
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(),
                                              self.config.training.grad_clip)
        self.log("train/grad_norm", norm, on_step=True, on_epoch=False)

    def on_train_batch_start(self, batch: dict, batch_idx: int) -> None:
        """Frozen parts (``training.frozen``) run in eval mode: their batch-norm statistics
        and dropout do not change either (set per batch: Lightning restores module modes
        after validation)."""
        frozen = tuple(self.config.training.frozen)
        if frozen:
            for name, module in self.model.named_modules():
                if name and (name + ".").startswith(frozen):
                    module.eval()

    def configure_optimizers(self):
        cfg = self.config.training
        trained = []
        for name, parameter in self.model.named_parameters():
            parameter.requires_grad_(not name.startswith(tuple(cfg.frozen)))
            if parameter.requires_grad:
                trained.append(parameter)
        optimizer = torch.optim.AdamW(trained, cfg.learning_rate,
                                      betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
        warmup, decay = max(cfg.warmup_steps, 1), cfg.lr_decay_per_1k_steps
        aligning = cfg.aligner_warmup_steps if self.config.model.decoder == "duration" else 0

        def factor(step: int) -> float:
            if step < aligning:
                return cfg.aligner_lr_scale
            step -= aligning
            if step < warmup:
                return (step + 1) / warmup
            return decay ** ((step - warmup) / 1000)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return [optimizer], [{"scheduler": scheduler, "interval": "step"}]

    # -- validation ------------------------------------------------------------------------
    def validation_step(self, batch: dict, batch_idx: int) -> None:
        total, named, out = self.losses(batch)
        size = batch["tokens"].shape[0]
        self.log("val/loss", total, on_epoch=True, batch_size=size, sync_dist=True)
        for name, value in named.items():
            self.log(f"val/{name}", value, on_epoch=True, batch_size=size, sync_dist=True)
        if batch_idx == 0:
            self._log_examples(batch, out)

    def _log_examples(self, batch: dict, out: dict) -> None:
        experiment = getattr(self.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_figure") or self.global_rank != 0:
            return
        from tts.models.griffinlim import GriffinLim
        from tts.training.plots import alignment_figure, mel_figure

        step = self.global_step
        count = min(self.config.training.val_examples, batch["tokens"].shape[0])
        inferred = self.model.infer(batch["tokens"][:count], batch["token_lengths"][:count],
                                    speakers=batch["speakers"][:count],
                                    speaker_embeddings=(batch["speaker_embeddings"][:count]
                                                        if "speaker_embeddings" in batch else None))
        vocoder = GriffinLim(self.config.audio, n_iter=16)
        alignment = out.get("alignments", out.get("soft_alignment"))
        for i in range(count):
            frames = int(batch["mel_lengths"][i])
            target = batch["mels"][i, :, :frames]
            taught = out["mel_postnet"][i, :, :frames]
            free = inferred["mel"][i, :, :int(inferred["mel_lengths"][i])]
            experiment.add_figure(f"val/{i}/mel", mel_figure(
                [target, taught, free], ("target", "teacher-forced", "inferred")), step)
            tokens = int(out["token_lengths"][i])
            experiment.add_figure(f"val/{i}/alignment", alignment_figure(
                [alignment[i, :, :tokens], inferred["alignment"][i, :, :tokens]],
                ("training", "inference")), step)
            wav = vocoder.infer(free.unsqueeze(0).float().cpu()).squeeze(0)
            experiment.add_audio(f"val/{i}/inferred", wav.clamp(-1, 1), step,
                                 self.config.audio.sample_rate)

    # -- checkpoints -----------------------------------------------------------------------
    def checkpoint_metadata(self) -> dict[str, Any]:
        return {"experiment": to_dict(self.config), "step": int(self.global_step),
                "speakers": self.speakers, "emotions": self.emotions,
                "emotion_weights": self.named_style_weights()}

    def on_save_checkpoint(self, lightning_checkpoint: dict) -> None:
        checkpoint.annotate(lightning_checkpoint, kind="acoustic", model_key="model",
                            model_config=to_dict(self.config.model),
                            audio_config=self.config.audio, symbols=self.symbols.to_dict(),
                            metadata=self.checkpoint_metadata())

    def on_load_checkpoint(self, lightning_checkpoint: dict) -> None:
        metadata = lightning_checkpoint.get("metadata") or {}
        self.emotion_weights = dict(metadata.get("emotion_weights") or {})
