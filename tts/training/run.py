"""Running training: Trainer, TensorBoard, periodic checkpoints, resume.

Layout of a run folder ``OUT``::

    OUT/config.yaml                     the experiment config as run
    OUT/checkpoints/stepNNNNNNN.ckpt    every ``checkpoint_every`` steps (the newest two kept)
    OUT/checkpoints/last.ckpt           the newest, also written at the end
    OUT/tensorboard/                    TensorBoard logs (``tensorboard --logdir OUT``)

``--resume`` continues from the newest checkpoint that loads (a run killed, even with SIGKILL
while saving, loses at most ``checkpoint_every`` steps).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tts import checkpoint
from tts.config import AudioConfig, load_yaml, to_dict
from tts.errors import CheckpointError, ConfigError, VoxcloneError


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How to run (not what to train): hardware, scale-out and overrides from the command line."""

    resume: bool = False
    max_steps: int | None = None
    accelerator: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str | None = None
    fast_dev_run: bool = False
    progress: bool = True
    max_seconds: float | None = None
    """Stop training after this much wall time (a time budget, e.g. few-shot cloning)."""


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """Bookkeeping every ``*TrainingConfig`` shares (their base class): how long, how often to
    checkpoint, validate and log, loader workers, seed and precision."""

    max_steps: int = 100_000
    checkpoint_every: int = 500
    val_every: int = 500
    log_every: int = 25
    num_workers: int = 0
    seed: int = 0
    precision: str = "32-true"


def find_resume_checkpoint(out: Path) -> Path | None:
    """The newest checkpoint in ``out/checkpoints`` that loads; None when there is none."""
    folder = out / "checkpoints"
    candidates = sorted(folder.glob("step*.ckpt"), reverse=True)
    if (folder / "last.ckpt").exists():
        candidates.insert(0, folder / "last.ckpt")
    for path in candidates:
        try:
            checkpoint.load(path)
        except CheckpointError:
            continue
        return path
    return None


def _trainer(out: Path, schedule: ScheduleConfig, options: RunOptions, **extra: Any):
    import lightning as L
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
    from lightning.pytorch.loggers import TensorBoardLogger

    checkpoints = ModelCheckpoint(dirpath=out / "checkpoints", filename="step{train_step:07.0f}",
                                  auto_insert_metric_name=False, monitor="train_step", mode="max",
                                  save_top_k=2, every_n_train_steps=schedule.checkpoint_every,
                                  save_last=True)
    if options.max_seconds is not None:
        import datetime

        extra.setdefault("max_time", datetime.timedelta(seconds=max(1.0, options.max_seconds)))
    return L.Trainer(
        default_root_dir=out, max_steps=options.max_steps or schedule.max_steps,
        accelerator=options.accelerator, devices=options.devices, strategy=options.strategy,
        num_nodes=options.num_nodes, precision=options.precision or schedule.precision,
        logger=TensorBoardLogger(out, name="tensorboard"),
        callbacks=[checkpoints, LearningRateMonitor("step")],
        log_every_n_steps=schedule.log_every, val_check_interval=schedule.val_every,
        check_val_every_n_epoch=None, fast_dev_run=options.fast_dev_run,
        enable_progress_bar=options.progress, num_sanity_val_steps=0, **extra)


def start_run(out: Path, config: Any, options: RunOptions,
              init_from: str | Path | None = None) -> Path | None:
    """Set up run folder ``out`` for experiment ``config`` (its ``config.yaml``, the seed) and
    return the checkpoint to resume from (None for a new run)."""
    import lightning as L

    resume_from = _resume_path(out, options.resume)
    if init_from is not None and resume_from is not None:
        raise VoxcloneError("--init starts a new run; --resume continues one: pass only one")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
    L.seed_everything(config.training.seed, workers=True, verbose=False)
    return resume_from


def fit(task, datamodule, out: Path, schedule: ScheduleConfig, options: RunOptions,
        resume_from: Path | None, **trainer_options: Any) -> Path:
    """Run Lightning on ``task``; returns the final checkpoint (``checkpoints/last.ckpt``, or
    ``fast_dev_run.ckpt`` for a fast dev run)."""
    trainer = _trainer(out, schedule, options, **trainer_options)
    trainer.fit(task, datamodule=datamodule, ckpt_path=str(resume_from) if resume_from else None)
    final = out / ("fast_dev_run.ckpt" if options.fast_dev_run else "checkpoints/last.ckpt")
    trainer.save_checkpoint(final)
    return final


def train_vocoder(config_path: str | Path, data: str | Path | Sequence[str | Path],
                  out: str | Path,
                  options: RunOptions = RunOptions(), mel_dir: str | Path | None = None,
                  init_from: str | Path | None = None) -> Path:
    """Train (or resume) a vocoder on prepared folder(s) ``data`` into run folder ``out``.

    ``init_from`` starts a new run from the weights of a vocoder checkpoint (fine-tuning: on
    other data, on predicted mels, or with the adversarial losses switched on); optimizer state
    starts fresh. Returns the path of the final checkpoint.
    """
    from data.datamodule import VocoderDataModule
    from tts.training.vocoder_task import VocoderExperimentConfig, VocoderTask
    from tts.vocoder import type_needs_f0

    out = Path(out)
    config = load_yaml(VocoderExperimentConfig, config_path)
    cfg = config.training
    datamodule = VocoderDataModule(data, batch_size=cfg.batch_size,
                                   segment_frames=cfg.segment_frames, num_workers=cfg.num_workers,
                                   mel_dir=mel_dir, val_clips=max(cfg.val_clips, 1),
                                   pitch=type_needs_f0(config.model.type),
                                   hold_out=cfg.hold_out)
    if datamodule.audio != config.audio:
        raise ConfigError(f"audio config of {config_path} differs from the data's prepare.json "
                          f"({datamodule.audio} vs {config.audio})")
    resume_from = start_run(out, config, options, init_from)
    task = VocoderTask(config)
    if init_from is not None:
        _load_weights(task.generator, init_from, "vocoder", task.model_config, config.audio)
    return fit(task, datamodule, out, cfg, options, resume_from)


def train_acoustic(config_path: str | Path, data: str | Path | Sequence[str | Path],
                   out: str | Path, options: RunOptions = RunOptions(),
                   init_from: str | Path | None = None) -> Path:
    """Train (or resume) the acoustic model on prepared folder(s) ``data`` into ``out``.

    A model with ``speaker_embedding_dim`` reads the folders' per-utterance speaker embeddings
    (``voxclone embed``), one with ``pitch`` their frame F0 (``voxclone pitch``);
    ``training.hold_out_fraction`` keeps ``data.holdout``'s speakers out.
    ``init_from`` fine-tunes from an acoustic checkpoint (new data, new speakers: the speaker
    table is re-sized to the data's speakers and the rows of speakers both know are kept; a
    speaker-embedding projection or pitch embedding the source lacks starts at zero, i.e. at
    the source's behaviour, and its pitch predictor starts fresh); optimizer state starts fresh. Returns the path of the final checkpoint.
    """
    from data.datamodule import TTSDataModule
    from tts.training.acoustic_task import AcousticExperimentConfig, AcousticTask

    out = Path(out)
    config = load_yaml(AcousticExperimentConfig, config_path)
    cfg = config.training
    datamodule = TTSDataModule(data, batch_size=cfg.batch_size, num_workers=cfg.num_workers,
                               seed=cfg.seed, embeddings=config.model.speaker_embedding_dim > 0,
                               hold_out=cfg.hold_out_fraction,
                               hold_out_names=cfg.hold_out_speakers, pitch=config.model.pitch)
    if datamodule.audio != config.audio:
        raise ConfigError(f"audio config of {config_path} differs from the data's prepare.json "
                          f"({datamodule.audio} vs {config.audio})")
    if config.model.num_speakers and config.model.num_speakers != len(datamodule.speakers):
        config = dataclasses.replace(config, model=dataclasses.replace(
            config.model, num_speakers=len(datamodule.speakers)))
    resume_from = start_run(out, config, options, init_from)
    task = AcousticTask(config, datamodule.symbols, datamodule.speakers, datamodule.emotions)
    if init_from is not None:
        _init_acoustic(task, init_from)
    if hasattr(task.model, "speaker_means"):
        task.model.speaker_means.copy_(datamodule.speaker_means())
    return fit(task, datamodule, out, cfg, options, resume_from, use_distributed_sampler=False)


def _init_acoustic(task, path: str | Path) -> None:
    """Start ``task.model`` from an acoustic checkpoint: same architecture and symbols needed;
    speaker-table rows are matched by speaker name (new speakers start at the mean row)."""
    from tts.acoustic import load_acoustic

    source = load_acoustic(path)
    wanted = dataclasses.replace(task.config.model, num_speakers=source.model.config.num_speakers)
    adding_embeddings = (source.model.config.speaker_embedding_dim == 0
                         and wanted.speaker_embedding_dim > 0)
    if adding_embeddings:
        wanted = dataclasses.replace(wanted, speaker_embedding_dim=0)
    adding_pitch = wanted.pitch and not source.model.config.pitch
    if adding_pitch:
        wanted = dataclasses.replace(wanted, pitch=False)
    if source.model.config != wanted:
        raise ConfigError(f"{path} holds a different acoustic model than the config asks for")
    if source.audio != task.config.audio or source.symbols.to_dict() != task.symbols.to_dict():
        raise ConfigError(f"{path} was trained with another audio config or symbol set")
    state = source.model.state_dict()
    state.pop("speaker_means", None)
    if hasattr(task.model, "speaker_means"):
        state["speaker_means"] = task.model.speaker_means  # set from the data by the caller
    if task.model.speaker_table is not None and "speaker_table.weight" in state:
        old = state.pop("speaker_table.weight")
        new = old.mean(0, keepdim=True).repeat(len(task.speakers), 1)
        for row, name in enumerate(task.speakers):
            if name in source.speakers:
                new[row] = old[source.speakers.index(name)]
        state["speaker_table.weight"] = new
    if adding_embeddings:
        import torch

        projection = task.model.speaker_projection
        torch.nn.init.zeros_(projection.weight)
        torch.nn.init.zeros_(projection.bias)
        state.update({f"speaker_projection.{k}": v for k, v in projection.state_dict().items()})
    if adding_pitch:  # the pitch predictor starts fresh, the embedding at zero (no effect)
        state.update({k: v for k, v in task.model.state_dict().items()
                      if k.startswith(("decoder.pitch_predictor.", "decoder.pitch_embedding."))})
    task.model.load_state_dict(state)
    task.emotion_weights = {k: v.tolist() for k, v in source.emotions.items()}


def _load_weights(model, path: str | Path, kind: str, model_config: dict[str, Any],
                  audio: AudioConfig) -> None:
    """Copy the weights of checkpoint ``path`` into ``model`` after checking that they fit."""
    from tts.vocoder import same_weights

    ckpt = checkpoint.load(path, kind=kind)
    if ckpt.model_config != model_config and not (kind == "vocoder"
                                                  and same_weights(ckpt.model_config,
                                                                   model_config)):
        raise ConfigError(f"{path} holds a different model ({ckpt.model_config.get('type')} "
                          f"{ckpt.model_config.get('config')}) than the config asks for")
    if ckpt.audio_config != audio:
        raise ConfigError(f"{path} was trained with another audio config ({ckpt.audio_config})")
    model.load_state_dict({k: v.float() for k, v in ckpt.state_dict.items()})


def _resume_path(out: Path, resume: bool) -> Path | None:
    if not resume:
        if (out / "checkpoints").exists() and any((out / "checkpoints").glob("*.ckpt")):
            raise VoxcloneError(f"{out} already holds a run: pass --resume to continue it, or "
                                "choose another output folder")
        return None
    path = find_resume_checkpoint(out)
    if path is None:
        raise VoxcloneError(f"nothing to resume in {out}: no readable checkpoint in "
                            f"{out / 'checkpoints'}")
    return path


def export(source: str | Path, target: str | Path, half: bool = True) -> Path:
    """Write an inference checkpoint (weights only, fp16 by default) from a training one."""
    ckpt = checkpoint.load(source)
    compact = checkpoint.Checkpoint(kind=ckpt.kind, model_config=ckpt.model_config,
                                    state_dict=ckpt.state_dict, audio_config=ckpt.audio_config,
                                    symbols=ckpt.symbols, metadata=ckpt.metadata)
    return checkpoint.save(target, compact, half=half)
