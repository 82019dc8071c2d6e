"""1-D ConvNeXt block (Liu et al., 2022, adapted to sequences as in Vocos, Siuzdak 2023).

A block mixes time with one depthwise convolution and channels with a two-layer pointwise MLP:

    x -> depthwise conv (kernel k, per channel) -> LayerNorm over channels
      -> Linear(dim, intermediate_dim) -> GELU -> Linear(intermediate_dim, dim)
      -> * layer scale (a learned per-channel gain, started small) -> + x

It keeps the sequence length, so a stack of blocks runs at the mel frame rate. Its receptive field
is ``kernel_size // 2`` frames on each side.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ConvNeXtBlock(nn.Module):
    """Residual ConvNeXt block on ``(batch, dim, frames)``; output has the same shape.

    Args:
        dim: channels in and out.
        intermediate_dim: hidden width of the pointwise MLP (typically ``3 * dim``).
        kernel_size: odd width of the depthwise convolution, in frames.
        layer_scale_init: initial value of the per-channel gain on the residual branch; a small
            value (``1 / num_layers`` in a stack) makes a deep stack start close to identity.
    """

    def __init__(self, dim: int, intermediate_dim: int, kernel_size: int = 7,
                 layer_scale_init: float = 1e-6) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"ConvNeXtBlock: kernel_size must be odd and positive, got {kernel_size}")
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (batch, dim, frames)`` -> ``(batch, dim, frames)``."""
        residual = x
        y = self.dwconv(x).transpose(1, 2)  # (batch, frames, dim)
        y = self.pwconv2(F.gelu(self.pwconv1(self.norm(y))))
        y = y * self.gamma
        return residual + y.transpose(1, 2)
