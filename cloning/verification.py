"""Speaker verification scoring: trials and equal error rate.

The held-out speaker rule (``held_out``) lives in ``data.holdout`` and is re-exported here:
encoder training, acoustic training and the evaluations call the same function, so they agree
on the unseen speakers without a shared list.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.holdout import HOLDOUT_FRACTION, HOLDOUT_RECIPES, held_out

__all__ = ["HOLDOUT_FRACTION", "HOLDOUT_RECIPES", "held_out", "VerificationScores",
           "equal_error_rate", "score_trials"]


@dataclasses.dataclass(frozen=True)
class VerificationScores:
    """EER and mean cosine of same- and different-speaker trials."""

    eer: float
    threshold: float
    same_mean: float
    different_mean: float
    same_trials: int
    different_trials: int


def equal_error_rate(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(eer, threshold)`` of similarity ``scores`` with boolean ``labels`` (True = same speaker).

    The EER is where the false-acceptance rate (different-speaker trials scoring at or above the
    threshold) equals the false-rejection rate (same-speaker trials below it), interpolated
    linearly between the two nearest thresholds.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("EER needs both same-speaker and different-speaker trials")
    order = np.argsort(-scores, kind="stable")
    sorted_labels = labels[order]
    # accepting the top k trials: false acceptances / false rejections after each k
    far = np.concatenate([[0.0], np.cumsum(~sorted_labels) / negatives])
    frr = np.concatenate([[1.0], 1.0 - np.cumsum(sorted_labels) / positives])
    diff = far - frr
    k = int(np.flatnonzero(diff >= 0)[0])  # first point where FAR >= FRR (diff starts at -1)
    if k == 0 or diff[k] == 0:
        eer = far[k]
    else:
        t = -diff[k - 1] / (diff[k] - diff[k - 1])
        eer = far[k - 1] + t * (far[k] - far[k - 1])
    sorted_scores = scores[order]
    threshold = float(sorted_scores[max(k - 1, 0)])
    return float(eer), threshold


def score_trials(embeddings: np.ndarray, speakers: list[str]) -> VerificationScores:
    """Every pair of unit ``embeddings (n, D)`` is a trial: same speaker or not (by ``speakers``)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    cos = embeddings @ embeddings.T
    i, j = np.triu_indices(len(speakers), k=1)
    names = np.asarray(speakers)
    same = names[i] == names[j]
    scores = cos[i, j]
    eer, threshold = equal_error_rate(scores, same)
    return VerificationScores(eer=eer, threshold=threshold, same_mean=float(scores[same].mean()),
                              different_mean=float(scores[~same].mean()),
                              same_trials=int(same.sum()), different_trials=int((~same).sum()))
