"""A loaded detector: front end, network, scoring settings and calibration, from one checkpoint
file (kind ``"spoof"``) and the calibration JSON beside it.

``Detector.window_logits`` is the one path from audio to raw scores, used by scoring
(``tts.spoof.score``), training's validation and the evaluation script alike.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from tts import checkpoint
from tts.bundled import CHECKPOINTS
from tts.config import from_dict, to_dict
from tts.errors import CheckpointError, ConfigError
from tts.spoof.calibration import Calibration
from tts.spoof.config import ScoringConfig
from tts.spoof.features import FrontEndConfig, LogFilterbank, normalize, speech_frames
from tts.spoof.model import MIN_FRAMES, DetectorConfig, SpoofDetector

KIND = "spoof"
DEFAULT_DETECTOR = CHECKPOINTS / "spoof" / "detector.pt"
"""The shipped detector (card: checkpoints/spoof/README.md); its calibration is
``detector.json`` beside it."""


def calibration_path(path: str | Path) -> Path:
    """The calibration file of checkpoint ``path``: the same name with ``.json``."""
    return Path(path).with_suffix(".json")


@dataclasses.dataclass
class Detector:
    """Everything scoring needs. ``calibration`` is None for a model not yet calibrated."""

    model: SpoofDetector
    front_end: LogFilterbank
    scoring: ScoringConfig
    calibration: Calibration | None = None
    metadata: dict = dataclasses.field(default_factory=dict)
    """The checkpoint's metadata (training config, log, corpus)."""

    @property
    def features(self) -> FrontEndConfig:
        return self.front_end.config

    def judged(self, window: np.ndarray) -> bool:
        """Whether ``window (samples,)`` at 16 kHz holds enough speech-like sound to judge."""
        gate = speech_frames(window, self.features)
        if gate.mean() < self.scoring.min_speech_fraction:
            return False
        hop, win = self.features.hop_length, self.features.win_length
        padded = np.pad(window.astype(np.float64), (win // 2, win))
        idx = np.arange(win)[None, :] + hop * np.flatnonzero(gate)[:, None]
        level = 10 * np.log10(np.mean(padded[idx] ** 2, axis=1) + 1e-20)
        return float(level.std()) >= self.scoring.min_dynamics_db

    @torch.no_grad()
    def window_logits(self, windows: list[np.ndarray]) -> np.ndarray:
        """Raw logits ``(len(windows),)`` of 16 kHz windows (each ``(samples,)``, at least
        ``MIN_FRAMES`` frames long); windows of equal length are scored in batches."""
        self.model.eval()
        out = np.zeros(len(windows), dtype=np.float64)
        by_length: dict[int, list[int]] = {}
        for i, w in enumerate(windows):
            by_length.setdefault(len(w), []).append(i)
        step = self.scoring.batch_windows
        for indices in by_length.values():
            for start in range(0, len(indices), step):
                chosen = indices[start:start + step]
                wav = torch.from_numpy(np.stack([windows[i] for i in chosen]).astype(np.float32))
                logits = self.model(normalize(self.front_end(wav)))
                out[chosen] = logits.double().numpy()
        return out


def min_window_samples(features: FrontEndConfig) -> int:
    """The fewest samples that give ``MIN_FRAMES`` frames."""
    return (MIN_FRAMES - 1) * features.hop_length


def save_detector(path: str | Path, model: SpoofDetector, features: FrontEndConfig,
                  scoring: ScoringConfig, *, metadata: dict | None = None, half: bool = False,
                  training_state: dict | None = None) -> Path:
    """Write a ``"spoof"`` checkpoint (``tts.checkpoint.save``); ``half`` stores fp16 weights."""
    config = {"features": to_dict(features), "model": to_dict(model.config),
              "scoring": to_dict(scoring)}
    return checkpoint.save(path, checkpoint.Checkpoint(
        kind=KIND, model_config=config, state_dict=model.state_dict(),
        metadata=metadata or {}, training_state=training_state), half=half)


def load_detector(path: str | Path = DEFAULT_DETECTOR, calibrated: bool = True) -> Detector:
    """Load a detector checkpoint and (``calibrated``) its calibration file; every problem is one
    ``CheckpointError`` line."""
    path = Path(path)
    ckpt = checkpoint.load(path, kind=KIND)
    try:
        cfg = ckpt.model_config
        features = from_dict(FrontEndConfig, cfg["features"])
        network = from_dict(DetectorConfig, cfg["model"])
        scoring = from_dict(ScoringConfig, cfg["scoring"])
    except (ConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: bad detector config ({exc})") from None
    model = checkpoint.load_into(path, ckpt, lambda: SpoofDetector(network, features.n_bands),
                                 "detector")
    calibration = Calibration.load(calibration_path(path)) if calibrated else None
    return Detector(model.eval(), LogFilterbank(features), scoring, calibration, ckpt.metadata)
