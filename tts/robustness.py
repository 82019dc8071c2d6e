"""Detecting alignment failures of an acoustic model's output, for evaluation.

A synthesized utterance fails when its length is far from what its phonemes should take, or, for
the attention decoder, when the alignment shows the classic Tacotron errors: phonemes skipped,
the attention stuck on one phoneme (repeats, babbling), the decoder running to its step cap
without stopping, or stopping before the end of the text.
"""

from __future__ import annotations

import dataclasses

import torch

LENGTH_RATIO_RANGE = (0.5, 2.0)
"""Accepted output length relative to ``tokens x typical frames per token``."""
SKIP_MASS = 0.2
"""A phoneme whose total attention weight (in decoder steps) stays below this was skipped."""
STUCK_FRAMES = 40
"""A phoneme that holds the attention for more frames than this was repeated or stuck on."""


@dataclasses.dataclass
class AlignmentReport:
    """What went wrong in one utterance (all False/0 for a clean one)."""

    length_ratio: float
    skipped: int = 0
    stuck: int = 0
    no_stop: bool = False
    early_stop: bool = False

    @property
    def failed(self) -> bool:
        low, high = LENGTH_RATIO_RANGE
        return (not low <= self.length_ratio <= high or self.skipped > 0 or self.stuck > 0
                or self.no_stop or self.early_stop)

    @property
    def reasons(self) -> list[str]:
        low, high = LENGTH_RATIO_RANGE
        found = []
        if not low <= self.length_ratio <= high:
            found.append(f"length x{self.length_ratio:.2f}")
        found += [f"{self.skipped} skipped"] * bool(self.skipped)
        found += [f"{self.stuck} stuck"] * bool(self.stuck)
        found += ["no stop"] * self.no_stop + ["early stop"] * self.early_stop
        return found


def analyse_alignment(alignment: torch.Tensor, frames: int, tokens: list[int],
                      frames_per_token: float, decoder: str, reduction_factor: int = 1,
                      max_frames: int | None = None, punctuation_ids: frozenset[int] = frozenset()
                      ) -> AlignmentReport:
    """Check one utterance. ``alignment (steps, T)``: attention weights per decoder step
    (attention) or upsampling weights per frame (duration); ``frames``: output length;
    ``frames_per_token``: the typical rate of the training data; ``max_frames``: the decoder's
    cap; pauses (``punctuation_ids`` and word spaces) may legitimately hold long."""
    expected = max(len(tokens) * frames_per_token, 1.0)
    report = AlignmentReport(length_ratio=frames / expected)
    if decoder != "attention":
        return report
    mass = alignment.sum(dim=0)[:len(tokens)] * reduction_factor  # frames per token
    speech = torch.tensor([t not in punctuation_ids for t in tokens])
    report.skipped = int(((mass < SKIP_MASS * reduction_factor) & speech).sum())
    report.stuck = int(((mass > STUCK_FRAMES) & speech).sum())
    report.no_stop = max_frames is not None and frames >= max_frames
    report.early_stop = int(alignment[-1].argmax()) < len(tokens) - 3
    return report
