"""Figures for TensorBoard: mel spectrograms and attention alignments (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def mel_figure(mels: Sequence[torch.Tensor], titles: Sequence[str]):
    """One row per mel ``(n_mels, frames)``; returns a matplotlib ``Figure``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 2.2 * len(mels)))
    axes = figure.subplots(len(mels), 1, squeeze=False)[:, 0]
    for ax, mel, title in zip(axes, mels, titles, strict=True):
        ax.imshow(mel.detach().cpu().float().numpy(), origin="lower", aspect="auto",
                  interpolation="none")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("mel bin")
    axes[-1].set_xlabel("frame")
    figure.tight_layout()
    return figure


def alignment_figure(alignments: Sequence[torch.Tensor], titles: Sequence[str]):
    """One panel per alignment ``(decoder steps or frames, tokens)``, tokens on the y axis."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5 * len(alignments), 3))
    axes = figure.subplots(1, len(alignments), squeeze=False)[0]
    for ax, alignment, title in zip(axes, alignments, titles, strict=True):
        ax.imshow(alignment.detach().cpu().float().numpy().T, origin="lower", aspect="auto",
                  interpolation="none")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("frame / decoder step")
        ax.set_ylabel("token")
    figure.tight_layout()
    return figure
