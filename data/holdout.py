"""Which speakers are held out of training: a hash rule shared by every model and evaluation.

``held_out(speaker_key, fraction)`` decides from a hash of ``"recipe/speaker"`` alone, so the
speaker encoder, the acoustic model and the evaluation scripts agree on the unseen speakers
without a shared list. Only multi-speaker corpora with varied recordings hold speakers out.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from data.manifest import read_manifest
from data.prepared import PreparedFolder

__all__ = ["HOLDOUT_RECIPES", "HOLDOUT_FRACTION", "held_out", "recipe_name", "held_out_speakers"]

HOLDOUT_RECIPES = ("commonvoice-en", "librispeech-251", "speechocean762-adults")
"""Corpora whose held-out speakers evaluate encoder and cloning (multi-speaker, varied)."""

HOLDOUT_FRACTION = 0.2


def held_out(speaker_key: str, fraction: float = HOLDOUT_FRACTION) -> bool:
    """True for about ``fraction`` of speaker keys (``"recipe/speaker"``), deterministically."""
    digest = hashlib.sha256(speaker_key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def recipe_name(folder: str | Path) -> str:
    """The corpus name of a prepared folder: its prepare.json ``recipe``, else the folder name."""
    return PreparedFolder(folder).recipe or Path(folder).name


def held_out_speakers(folder: str | Path, fraction: float = HOLDOUT_FRACTION) -> set[str]:
    """Speaker names of prepared ``folder`` that ``held_out`` keeps out of training."""
    recipe = recipe_name(folder)
    if recipe not in HOLDOUT_RECIPES or fraction <= 0:
        return set()
    speakers = {u.speaker for u in read_manifest(PreparedFolder(folder).manifest())}
    return {s for s in speakers if held_out(f"{recipe}/{s}", fraction)}
