"""Data balance across prepared folders: the share of training draws each folder gets.

By default every training utterance is drawn once per epoch, so a folder's share of the batches
is its share of the utterances. A synthetic text-coverage corpus (``scripts/make_synthetic_corpus.py``)
can then crowd out the real speakers as more of it is made. ``FolderShare`` fixes the share of
the draws that the folders matching a name pattern get, whatever their size:

    training:
      folder_shares:
        - {pattern: "festival-slt*", share: 0.5}

``item_weights`` turns the shares into one sampling weight per utterance (equal within a
pattern's folders, and among the utterances no pattern matches); ``LengthBucketSampler`` then
draws an epoch's utterances with replacement by those weights.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Sequence

import numpy as np

from tts.errors import DataError

__all__ = ["FolderShare", "item_weights"]


@dataclasses.dataclass(frozen=True)
class FolderShare:
    """``share`` (0-1) of the training draws for the prepared folders whose directory name
    matches ``pattern`` (``fnmatch``: ``festival-slt*``)."""

    pattern: str
    share: float


def item_weights(folders: Sequence[str], shares: Sequence[FolderShare]) -> np.ndarray | None:
    """Sampling weights ``(n_items,)`` (summing to 1) for utterances whose folder names are
    ``folders`` (one per utterance), or ``None`` without ``shares`` (every utterance once).

    Each pattern's utterances get its ``share`` in equal parts; utterances that no pattern
    matches share the rest. ``DataError`` when a share is outside (0, 1], a pattern matches no
    folder, a folder matches two patterns, or the shares cannot add up (over 1, or under 1 with
    nothing left to take the rest).
    """
    if not shares:
        return None
    names = sorted(set(folders))
    owner: dict[str, int] = {}
    for index, rule in enumerate(shares):
        if not 0.0 < rule.share <= 1.0:
            raise DataError(f"folder share {rule.pattern!r}: {rule.share} is not in (0, 1]")
        matched = fnmatch.filter(names, rule.pattern)
        if not matched:
            raise DataError(f"folder share {rule.pattern!r} matches none of the training "
                            f"folders ({', '.join(names)})")
        for name in matched:
            if name in owner:
                raise DataError(f"folder {name!r} matches both {shares[owner[name]].pattern!r} "
                                f"and {rule.pattern!r}")
            owner[name] = index
    total = sum(rule.share for rule in shares)
    rest = [name for name in names if name not in owner]
    if total > 1.0 + 1e-9 or (rest and total >= 1.0) or (not rest and total < 1.0 - 1e-9):
        raise DataError(f"folder shares add up to {total:g}: they must leave a share for the "
                        f"other folders ({', '.join(rest) or 'none'}), or be 1 when none is left")
    group = np.array([owner.get(name, -1) for name in folders])
    share = np.array([rule.share for rule in shares] + [1.0 - total])  # [-1]: the rest
    counts = np.bincount(group + 1, minlength=len(shares) + 1)  # counts[0]: the rest
    weights = share[group] / counts[group + 1]
    return weights / weights.sum()
