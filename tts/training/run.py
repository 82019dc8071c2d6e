"""Running training: Trainer, TensorBoard, periodic checkpoints, resume, export.

Generic: each task module (``acoustic_task``, ``vocoder_task``, ``encoder_task``) has a
``train(config, data, out, options, ...)`` that builds its data module and LightningModule,
calls ``start_run`` and ``fit``, and starts ``--init`` runs with ``load_weights``; nothing here
knows a task.

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
import operator
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from tts import checkpoint
from tts.config import AudioConfig, to_dict
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


def check_audio(data: AudioConfig, config: AudioConfig) -> None:
    """``ConfigError`` unless the experiment's audio config is the one the data was prepared
    with (its ``prepare.json``)."""
    if data != config:
        raise ConfigError(f"the config's audio section differs from the data's prepare.json "
                          f"({data} vs {config})")


def load_weights(model, path: str | Path, kind: str, model_config: dict[str, Any],
                 audio: AudioConfig,
                 same_model: Callable[[dict[str, Any], dict[str, Any]], bool] = operator.eq
                 ) -> checkpoint.Checkpoint:
    """Copy the weights of checkpoint ``path`` (of ``kind``) into ``model`` after checking that
    they fit: ``same_model(stored model config, model_config)`` and the same audio config.
    Returns the checkpoint (its metadata may hold more to take over)."""
    ckpt = checkpoint.load(path, kind=kind)
    if not same_model(ckpt.model_config, model_config):
        raise ConfigError(f"{path} holds a different model ({ckpt.model_config.get('type')} "
                          f"{ckpt.model_config.get('config')}) than the config asks for")
    if ckpt.audio_config != audio:
        raise ConfigError(f"{path} was trained with another audio config ({ckpt.audio_config})")
    model.load_state_dict({k: v.float() for k, v in ckpt.state_dict.items()})
    return ckpt


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


def export(source: str | Path, target: str | Path, half: bool = True,
           average: Sequence[str | Path] = ()) -> Path:
    """Write an inference checkpoint (weights only, fp16 by default) from a training one.

    ``average``: more checkpoints of the same model (the last few of one run); the weights
    written are then the uniform mean of all of them (model averaging, as ESPnet averages its
    best checkpoints: it evens out the noise of the last steps). ``CheckpointError`` when one of
    them is another model (its config, weight names or shapes differ)."""
    ckpt = checkpoint.load(source)
    state, metadata = ckpt.state_dict, ckpt.metadata
    if average:
        state = average_weights(ckpt, [(Path(p), checkpoint.load(p, kind=ckpt.kind))
                                       for p in average])
        metadata = {**metadata, "averaged": [Path(p).name for p in (source, *average)]}
    compact = checkpoint.Checkpoint(kind=ckpt.kind, model_config=ckpt.model_config,
                                    state_dict=state, audio_config=ckpt.audio_config,
                                    symbols=ckpt.symbols, metadata=metadata)
    return checkpoint.save(target, compact, half=half)


def average_weights(first: checkpoint.Checkpoint,
                    others: Sequence[tuple[Path, checkpoint.Checkpoint]]) -> dict[str, Any]:
    """The uniform mean of ``first``'s floating-point weights and those of ``others`` (``(path,
    Checkpoint)``, the same model), computed in float32 and stored in ``first``'s dtypes;
    integer buffers (batch-norm step counts) are ``first``'s."""
    for path, other in others:
        if other.model_config != first.model_config:
            raise CheckpointError(f"{path} is another model (its config differs): only "
                                  "checkpoints of one model can be averaged")
        for key, value in first.state_dict.items():
            theirs = other.state_dict.get(key)
            if theirs is None or theirs.shape != value.shape:
                raise CheckpointError(f"{path} is another model (weight {key!r} "
                                      f"{'missing' if theirs is None else 'has another shape'}): "
                                      "only checkpoints of one model can be averaged")
    state = {}
    for key, value in first.state_dict.items():
        if not value.is_floating_point():
            state[key] = value
            continue
        total = value.float().clone()
        for _, other in others:
            total += other.state_dict[key].float()
        state[key] = (total / (1 + len(others))).to(value.dtype)
    return state
