"""Speaker verification scoring: trials, equal error rate, and the held-out speaker rule.

``held_out(speaker_key, fraction)`` decides, from a hash of the name alone, whether a speaker is
kept out of encoder training; training (``cloning.encoder_data``) and evaluation
(``scripts/evaluate.py encoder``) call the same function, so they agree without a shared list.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

HOLDOUT_RECIPES = ("commonvoice-en", "librispeech-251", "speechocean762-adults")
"""Corpora whose held-out speakers evaluate the encoder (multi-speaker, varied recordings)."""

HOLDOUT_FRACTION = 0.2


def held_out(speaker_key: str, fraction: float = HOLDOUT_FRACTION) -> bool:
    """True for about ``fraction`` of speaker keys (``"recipe/speaker"``), deterministically."""
    digest = hashlib.sha256(speaker_key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


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
