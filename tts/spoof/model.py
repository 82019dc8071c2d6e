"""The detector network: a light CNN (LCNN) over the log filterbank, Max-Feature-Map
activations, and mean/standard-deviation pooling over time to one logit per window.

Input ``features (batch, n_bands, frames)`` (``tts.spoof.features``, window-normalised), output
``logits (batch,)``: higher means more likely synthetic. Any window length of at least
``MIN_FRAMES`` frames works (pooling is global over time). The stem has stride 2 (cheaper
than a full-resolution convolution and pooling: it halves the scoring time on one thread);
it and three 2x2 poolings leave ``n_bands / 16`` bands, which are kept as channels of the
frame embedding so that *where* in frequency a trace lies still counts.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

MIN_FRAMES = 32
"""The shortest window the network takes (0.32 s at hop 10 ms)."""


@dataclasses.dataclass(frozen=True)
class DetectorConfig:
    """Network size (strict YAML ``model:`` section); ``n_bands`` comes from the front end."""

    channels: tuple[int, ...] = (16, 24, 32, 32)
    """Output channels of the stem and of each block (after Max-Feature-Map)."""
    embedding: int = 64
    dropout: float = 0.2


class MaxFeatureMap(nn.Module):
    """A convolution with twice the channels, then the elementwise max of its two halves."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 2 * out_channels, kernel, stride=stride,
                              padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.conv(x).chunk(2, dim=1)
        return torch.maximum(a, b)


class Block(nn.Module):
    """1x1 MFM, batch norm, 3x3 MFM, batch norm, 2x2 max pooling: ``(B, cin, F, T) -> (B, cout,
    F // 2, T // 2)``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            MaxFeatureMap(in_channels, in_channels, 1), nn.BatchNorm2d(in_channels),
            MaxFeatureMap(in_channels, out_channels, 3), nn.BatchNorm2d(out_channels),
            nn.MaxPool2d(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class SpoofDetector(nn.Module):
    """``features (B, n_bands, frames) -> logits (B,)``; ``n_bands`` divisible by ``2 **
    len(config.channels)`` (16 by default)."""

    def __init__(self, config: DetectorConfig, n_bands: int) -> None:
        super().__init__()
        c = config.channels
        if not c or n_bands % 2 ** len(c):
            raise ValueError(f"n_bands ({n_bands}) must be divisible by 2 ** len(channels) "
                             f"({2 ** len(c)})")
        self.config = config
        self.n_bands = n_bands
        self.stem = MaxFeatureMap(1, c[0], 5, stride=2)
        self.blocks = nn.Sequential(*(Block(a, b) for a, b in zip(c[:-1], c[1:], strict=True)))
        bands = n_bands // 2 ** len(c)
        self.frame = nn.Sequential(nn.Conv1d(c[-1] * bands, config.embedding, 1),
                                   nn.BatchNorm1d(config.embedding), nn.GELU())
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(2 * config.embedding, 1)

    def frame_embeddings(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, n_bands, frames) -> (B, embedding, frames // 2 ** len(channels))``."""
        x = self.blocks(self.stem(features.unsqueeze(1)))
        return self.frame(x.flatten(1, 2))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        h = self.frame_embeddings(features)
        pooled = torch.cat([h.mean(-1), h.std(-1, unbiased=False)], dim=1)
        return self.out(self.dropout(pooled)).squeeze(1)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
