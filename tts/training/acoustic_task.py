"""``AcousticTask``: training of the ``Tacotron`` acoustic model with Lightning, and its run
(``train``).

The task wraps the same ``Tacotron`` that the synthesizer loads (``tts.acoustic``); its
checkpoints are voxclone checkpoints of kind ``"acoustic"`` (weights under ``model.``), carrying
the symbol table, the speaker and emotion lists and, once learned, per-emotion style weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch

from data.balance import FolderShare
from data.batch import TTSBatch
from data.datamodule import TTSDataModule
from tts import checkpoint
from tts.config import AudioConfig, to_dict
from tts.errors import ConfigError
from tts.models.acoustic_losses import AcousticLossConfig
from tts.models.tacotron import Tacotron, TacotronConfig
from tts.text import SymbolTable
from tts.training.run import RunOptions, ScheduleConfig, check_audio, fit, start_run


@dataclasses.dataclass(frozen=True)
class AcousticTrainingConfig(ScheduleConfig, AcousticLossConfig):
    """Optimisation, loss weights (``AcousticLossConfig``) and bookkeeping of an acoustic-model
    run."""

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
    folder_shares: tuple[FolderShare, ...] = ()
    """Shares of the training draws for the data folders matching each pattern, whatever their
    size (``data.balance``; e.g. a synthetic corpus kept at half the batches)."""
    val_examples: int = 2
    num_workers: int = 1


@dataclasses.dataclass(frozen=True)
class AcousticExperimentConfig:
    """A whole acoustic experiment, as read from ``configs/acoustic/*.yaml``."""

    audio: AudioConfig = AudioConfig()
    model: TacotronConfig = TacotronConfig()
    training: AcousticTrainingConfig = AcousticTrainingConfig()


class AcousticTask(L.LightningModule):
    """Batches are ``data.batch.TTSBatch`` (``data.dataset.collate_batch``)."""

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
    def _speakers(self, batch: TTSBatch) -> torch.Tensor:
        """``(B,)`` table rows, each withheld (-1) at ``speaker_table_dropout`` in training."""
        speakers = batch.speakers
        rate = self.config.training.speaker_table_dropout
        if self.training and rate > 0:
            dropped = torch.rand(speakers.shape, device=speakers.device) < rate
            speakers = speakers.masked_fill(dropped, -1)
        return speakers

    def losses(self, batch: TTSBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict]:
        """``(total, named losses, model outputs)`` of one batch, teacher-forced."""
        if self.aligning_only:
            from tts.layers.alignment import forward_sum_loss

            out = self.model.align(batch.tokens, batch.token_lengths, batch.mels,
                                   batch.mel_lengths)
            loss = forward_sum_loss(out["alignment_log_probs"], out["token_lengths"],
                                    batch.mel_lengths)
            return loss, {"align_loss": loss}, out
        out = self.model(batch.tokens, batch.token_lengths, batch.mels, batch.mel_lengths,
                         speakers=self._speakers(batch),
                         speaker_embeddings=batch.speaker_embeddings, pitch=batch.pitch)
        if self.training:
            self._track_emotions(batch, out["style_weights"])
        total, named = self.model.losses(out, batch.mels, batch.mel_lengths,
                                         self.global_step - self.aligner_warmup_steps,
                                         self.config.training)
        return total, named, out

    @torch.no_grad()
    def _track_emotions(self, batch: TTSBatch, style_weights: torch.Tensor | None) -> None:
        """Add the batch's style weights to the running per-emotion means (decayed, so that
        the means follow the tokens as they train)."""
        if style_weights is None or not hasattr(self, "emotion_count"):
            return
        labels = batch.emotions
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
    def aligner_warmup_steps(self) -> int:
        """Steps of the aligner warm-up: ``training.aligner_warmup_steps`` for a decoder with an
        aligner, else 0."""
        return self.config.training.aligner_warmup_steps if self.model.decoder.has_aligner else 0

    @property
    def aligning_only(self) -> bool:
        """True during the aligner warm-up (training steps only)."""
        return self.training and self.global_step < self.aligner_warmup_steps

    def training_step(self, batch: TTSBatch, batch_idx: int) -> torch.Tensor:
        total, named, _ = self.losses(batch)
        size = batch.tokens.shape[0]
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

    def on_train_batch_start(self, batch: TTSBatch, batch_idx: int) -> None:
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
        aligning = self.aligner_warmup_steps

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
    def validation_step(self, batch: TTSBatch, batch_idx: int) -> None:
        total, named, out = self.losses(batch)
        size = batch.tokens.shape[0]
        self.log("val/loss", total, on_epoch=True, batch_size=size, sync_dist=True)
        for name, value in named.items():
            self.log(f"val/{name}", value, on_epoch=True, batch_size=size, sync_dist=True)
        if batch_idx == 0:
            self._log_examples(batch, out)

    def _log_examples(self, batch: TTSBatch, out: dict) -> None:
        experiment = getattr(self.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_figure") or self.global_rank != 0:
            return
        from tts.models.griffinlim import GriffinLim
        from tts.training.plots import alignment_figure, mel_figure

        step = self.global_step
        count = min(self.config.training.val_examples, batch.tokens.shape[0])
        embeddings = batch.speaker_embeddings
        inferred = self.model.infer(batch.tokens[:count], batch.token_lengths[:count],
                                    speakers=batch.speakers[:count],
                                    speaker_embeddings=(None if embeddings is None
                                                        else embeddings[:count]))
        vocoder = GriffinLim(self.config.audio, n_iter=16)
        alignment = out.get("alignments", out.get("soft_alignment"))
        for i in range(count):
            frames = int(batch.mel_lengths[i])
            target = batch.mels[i, :, :frames]
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
    def init_from(self, path: str | Path) -> None:
        """Start ``self.model`` from acoustic checkpoint ``path`` (fine-tuning): same
        architecture and symbols needed. Speaker-table rows are matched by speaker name (new
        speakers start at the mean row); a speaker-embedding projection or pitch embedding the
        source lacks starts at zero (the source's behaviour), its pitch predictor fresh; the
        source's named style weights are kept. ``speaker_means`` is left to the caller (it
        comes from the data)."""
        from tts.acoustic import load_acoustic

        source = load_acoustic(path)
        wanted = dataclasses.replace(self.config.model,
                                     num_speakers=source.model.config.num_speakers)
        adding_embeddings = (source.model.config.speaker_embedding_dim == 0
                             and wanted.speaker_embedding_dim > 0)
        if adding_embeddings:
            wanted = dataclasses.replace(wanted, speaker_embedding_dim=0)
        adding_pitch = wanted.pitch and not source.model.config.pitch
        if adding_pitch:
            wanted = dataclasses.replace(wanted, pitch=False)
        if source.model.config != wanted:
            raise ConfigError(f"{path} holds a different acoustic model than the config asks for")
        if source.audio != self.config.audio or source.symbols.to_dict() != self.symbols.to_dict():
            raise ConfigError(f"{path} was trained with another audio config or symbol set")
        state = source.model.state_dict()
        state.pop("speaker_means", None)
        if hasattr(self.model, "speaker_means"):
            state["speaker_means"] = self.model.speaker_means
        if self.model.speaker_table is not None and "speaker_table.weight" in state:
            old = state.pop("speaker_table.weight")
            new = old.mean(0, keepdim=True).repeat(len(self.speakers), 1)
            for row, name in enumerate(self.speakers):
                if name in source.speakers:
                    new[row] = old[source.speakers.index(name)]
            state["speaker_table.weight"] = new
        if adding_embeddings:
            projection = self.model.speaker_projection
            torch.nn.init.zeros_(projection.weight)
            torch.nn.init.zeros_(projection.bias)
            state.update({f"speaker_projection.{k}": v for k, v in projection.state_dict().items()})
        if adding_pitch:  # the pitch predictor starts fresh, the embedding at zero (no effect)
            fresh = ("decoder.pitch_predictor.", "decoder.pitch_embedding.")
            state.update({k: v for k, v in self.model.state_dict().items()
                          if k.startswith(fresh)})
        self.model.load_state_dict(state)
        self.emotion_weights = {k: v.tolist() for k, v in source.emotions.items()}

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


def train(config: AcousticExperimentConfig, data: str | Path | Sequence[str | Path],
          out: str | Path, options: RunOptions | None = None,
          init_from: str | Path | None = None) -> Path:
    """Train (or resume) the acoustic model of ``config`` on prepared folder(s) ``data`` into
    run folder ``out``; returns the path of the final checkpoint.

    A model with ``speaker_embedding_dim`` reads the folders' per-utterance speaker embeddings
    (``voxclone embed``), one with ``pitch`` their frame F0 (``voxclone pitch``);
    ``training.hold_out_fraction`` keeps ``data.holdout``'s speakers out, and ``num_speakers``
    (when set) becomes the data's speaker count. ``init_from`` fine-tunes from an acoustic
    checkpoint (new data, new speakers: ``AcousticTask.init_from``); optimizer state starts
    fresh.
    """
    out, options = Path(out), options or RunOptions()
    cfg = config.training
    datamodule = TTSDataModule(data, batch_size=cfg.batch_size, num_workers=cfg.num_workers,
                               seed=cfg.seed, embeddings=config.model.speaker_embedding_dim > 0,
                               hold_out=cfg.hold_out_fraction,
                               hold_out_names=cfg.hold_out_speakers, pitch=config.model.pitch,
                               folder_shares=cfg.folder_shares)
    check_audio(datamodule.audio, config.audio)
    if config.model.num_speakers and config.model.num_speakers != len(datamodule.speakers):
        config = dataclasses.replace(config, model=dataclasses.replace(
            config.model, num_speakers=len(datamodule.speakers)))
    resume_from = start_run(out, config, options, init_from)
    task = AcousticTask(config, datamodule.symbols, datamodule.speakers, datamodule.emotions)
    if init_from is not None:
        task.init_from(init_from)
    if hasattr(task.model, "speaker_means"):
        task.model.speaker_means.copy_(datamodule.speaker_means())
    return fit(task, datamodule, out, cfg, options, resume_from, use_distributed_sampler=False)
