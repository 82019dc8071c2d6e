"""Turning the detector's raw logits into a calibrated score and a decision.

``Calibration`` maps a file's mean window logit ``z`` to ``p = sigmoid(scale * z + bias)`` (Platt
scaling, fitted on the calibration split), and holds the ``threshold`` on ``p`` above which a
file is called synthetic: chosen so that ``target_fpr`` of the calibration split's real
recordings (all channel conditions pooled) score above it. It is stored as JSON beside the
checkpoint (``detector.pt`` -> ``detector.json``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from tts.errors import CheckpointError

CALIBRATION_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Logit -> probability, and the decision threshold on the probability."""

    scale: float
    bias: float
    threshold: float
    target_fpr: float
    fitted_on: dict[str, Any] = dataclasses.field(default_factory=dict)
    """What it was fitted on (clip counts per class and condition), for the model card."""

    def probability(self, logits: np.ndarray | float) -> np.ndarray:
        """``sigmoid(scale * logits + bias)``, same shape as ``logits``."""
        z = self.scale * np.asarray(logits, dtype=np.float64) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))

    def save(self, path: str | Path) -> Path:
        """Write as JSON (through a temporary file)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_text(json.dumps({"format": CALIBRATION_FORMAT, **dataclasses.asdict(self)},
                                  indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        """Read ``path``; ``CheckpointError`` (one line) when it is missing or malformed."""
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"calibration file not found: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.pop("format") != CALIBRATION_FORMAT:
                raise ValueError("unknown format")
            cal = cls(**data)
            values = (cal.scale, cal.bias, cal.threshold, cal.target_fpr)
            if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
                raise ValueError("non-numeric field")
            if not 0.0 < cal.threshold < 1.0 or not 0.0 < cal.target_fpr < 1.0:
                raise ValueError("threshold and target_fpr must lie in (0, 1)")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CheckpointError(f"{path} is not a valid detector calibration ({exc})") from None
        return cal


def equal_error_rate(scores: np.ndarray, is_fake: np.ndarray) -> float:
    """The EER of ``scores (n,)`` (higher = more synthetic) against boolean ``is_fake (n,)``: the
    rate where real clips scoring at or above a threshold (false alarms) equal fake clips below
    it (misses), interpolated between the two nearest thresholds."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(is_fake, dtype=bool)
    fakes, reals = int(labels.sum()), int((~labels).sum())
    if fakes == 0 or reals == 0:
        raise ValueError("an EER needs both real and synthetic clips")
    ordered = labels[np.argsort(-scores, kind="stable")]
    false_alarms = np.concatenate([[0.0], np.cumsum(~ordered) / reals])
    misses = np.concatenate([[1.0], 1.0 - np.cumsum(ordered) / fakes])
    diff = false_alarms - misses
    k = int(np.flatnonzero(diff >= 0)[0])
    if k == 0 or diff[k] == 0:
        return float(false_alarms[k])
    t = -diff[k - 1] / (diff[k] - diff[k - 1])
    return float(false_alarms[k - 1] + t * (false_alarms[k] - false_alarms[k - 1]))


def fit(logits: np.ndarray, is_fake: np.ndarray, target_fpr: float = 0.01,
        fitted_on: dict[str, Any] | None = None) -> Calibration:
    """Platt scaling of file ``logits (n,)`` to the labels (Newton steps on the logistic loss,
    classes weighted equally), then the threshold: the ``1 - target_fpr`` quantile of the real
    clips' probabilities (the smallest value that at most ``target_fpr`` of them exceed)."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(is_fake, dtype=np.float64)
    weights = np.where(y > 0, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    params = np.array([1.0, 0.0])
    features = np.stack([z, np.ones_like(z)], axis=1)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(features @ params, -60, 60)))
        gradient = features.T @ (weights * (p - y)) + 1e-4 * params
        hessian = (features * (weights * p * (1 - p))[:, None]).T @ features + 1e-4 * np.eye(2)
        params -= np.linalg.solve(hessian, gradient)
    cal = Calibration(float(params[0]), float(params[1]), 0.5, target_fpr, fitted_on or {})
    real_p = np.sort(cal.probability(z[y == 0]))
    if real_p.size == 0:
        raise ValueError("calibration needs real clips")
    allowed = int(math.floor(target_fpr * real_p.size))  # real clips that may score above
    threshold = float(real_p[real_p.size - 1 - allowed])
    threshold = float(np.nextafter(threshold, 1.0))
    return dataclasses.replace(cal, threshold=min(max(threshold, 1e-6), 1 - 1e-6))
