"""The detector's experiment config (``configs/spoof/*.yaml``): front end, network, scoring
and training, read strictly (``tts.config.load_yaml``). The checkpoint stores all but
``training``, so scoring needs nothing but the checkpoint and its calibration file."""

from __future__ import annotations

import dataclasses

from tts.spoof.features import FrontEndConfig
from tts.spoof.model import DetectorConfig


@dataclasses.dataclass(frozen=True)
class ScoringConfig:
    """How a recording is cut into windows and which windows are judged."""

    window_seconds: float = 2.0
    hop_seconds: float = 1.0
    min_seconds: float = 0.5
    """A recording shorter than this is "too short to judge"."""
    min_speech_fraction: float = 0.3
    """A window is judged when at least this share of its frames passes the energy gate ..."""
    min_dynamics_db: float = 3.0
    """... and the level of those frames varies by at least this (standard deviation, dB):
    steady noise or a tone does not."""
    batch_windows: int = 16


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """The training loop (``tts.spoof.train``)."""

    steps: int = 2000
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-3
    min_frames: int = 100
    max_frames: int = 200
    clean_share: float = 0.4
    """Share of training crops as recorded; the rest go evenly through one of ``conditions``."""
    conditions: tuple[str, ...] = ("mp3", "8k", "noise")
    """Channel conditions training crops go through (``tts.spoof.conditions``: ``CONDITIONS``
    and the training-only ``TRAINING_CONDITIONS``)."""
    real_only_conditions: tuple[str, ...] = ()
    """Those of ``conditions`` that only real crops go through (synthetic crops draw evenly
    from the others): to widen what counts as real speech rather than teach invariance."""
    val_every: int = 250
    seed: int = 0
    target_fpr: float = 0.01
    held_out_generators: tuple[str, ...] = ("festival", "world", "copy-istft-small")


@dataclasses.dataclass(frozen=True)
class SpoofConfig:
    """A whole detector experiment."""

    features: FrontEndConfig = FrontEndConfig()
    model: DetectorConfig = DetectorConfig()
    scoring: ScoringConfig = ScoringConfig()
    training: TrainingConfig = TrainingConfig()
