"""Location-sensitive attention (Chorowski et al., 2015; Tacotron 2) with an optional monotonic
window at inference and the guided-attention loss (Tachibana et al., 2018) for training.

Shapes: ``memory (B, T, memory_dim)``, ``query (B, query_dim)``, attention weights ``(B, T)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

NEG_INF = -1e9


class LocationSensitiveAttention(nn.Module):
    """Additive attention whose energies also see the previous and cumulative weights through a
    1-D convolution, which pushes the alignment forward along the text.

    ``prepare(memory)`` once per utterance, then ``forward(query, processed, memory, mask,
    previous, cumulative, window)`` per decoder step -> ``(context (B, memory_dim), weights
    (B, T))``. ``window = (back, ahead)`` restricts the weights at inference to tokens around the
    previous peak (``back`` before it, ``ahead`` after), so the attention cannot jump or return.
    """

    def __init__(self, query_dim: int, memory_dim: int, dim: int, location_filters: int,
                 location_kernel: int) -> None:
        super().__init__()
        self.query_layer = nn.Linear(query_dim, dim, bias=False)
        self.memory_layer = nn.Linear(memory_dim, dim, bias=False)
        self.location_conv = nn.Conv1d(2, location_filters, location_kernel,
                                       padding=location_kernel // 2, bias=False)
        self.location_layer = nn.Linear(location_filters, dim, bias=False)
        self.energy = nn.Linear(dim, 1, bias=True)

    def prepare(self, memory: torch.Tensor) -> torch.Tensor:
        """``memory (B, T, memory_dim)`` -> processed keys ``(B, T, dim)``."""
        return self.memory_layer(memory)

    def forward(self, query: torch.Tensor, processed: torch.Tensor, memory: torch.Tensor,
                mask: torch.Tensor, previous: torch.Tensor, cumulative: torch.Tensor,
                window: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        location = self.location_conv(torch.stack([previous, cumulative], dim=1))
        location = self.location_layer(location.transpose(1, 2))
        energies = self.energy(torch.tanh(self.query_layer(query).unsqueeze(1) + location
                                          + processed)).squeeze(-1)  # (B, T)
        allowed = mask
        if window is not None:
            back, ahead = window
            peak = previous.argmax(dim=1, keepdim=True)
            positions = torch.arange(mask.shape[1], device=mask.device).unsqueeze(0)
            allowed = mask & (positions >= peak - back) & (positions <= peak + ahead)
        energies = energies.masked_fill(~allowed, NEG_INF)
        weights = F.softmax(energies, dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights


def guided_attention_loss(alignments: torch.Tensor, text_lengths: torch.Tensor,
                          frame_lengths: torch.Tensor, sigma: float = 0.2) -> torch.Tensor:
    """Penalty on attention far from the diagonal: mean of ``A * (1 - exp(-(n/N - t/T)^2 /
    (2 sigma^2)))`` over valid cells. ``alignments (B, steps, T)``; ``frame_lengths`` counts
    decoder steps. Returns a scalar."""
    batch, steps, tokens = alignments.shape
    n = torch.arange(tokens, device=alignments.device).view(1, 1, tokens).float()
    t = torch.arange(steps, device=alignments.device).view(1, steps, 1).float()
    big_n = text_lengths.view(batch, 1, 1).float()
    big_t = frame_lengths.view(batch, 1, 1).float()
    weight = 1.0 - torch.exp(-((n / big_n - t / big_t) ** 2) / (2 * sigma ** 2))
    valid = (n < big_n) & (t < big_t)
    return (alignments * weight * valid).sum() / valid.sum().clamp(min=1)
