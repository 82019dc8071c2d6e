"""Global Style Tokens (Wang et al., 2018): a reference encoder and attention over learned tokens.

The reference encoder squeezes a mel of any length into one vector; multi-head attention of that
vector over a small bank of learned tokens gives per-head token weights, and the style embedding
is the weighted sum of the tokens' values. At inference the weights can be given directly
(``StyleTokens.from_weights``), which is how named emotions and intensities are applied.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ReferenceEncoder(nn.Module):
    """Mel -> one vector: strided 2-D convolutions (3x3, stride 2) and a GRU over time.

    ``forward(mel (B, n_mels, F), lengths (B,) | None)`` -> ``(B, gru_dim)``.
    """

    def __init__(self, n_mels: int, channels: tuple[int, ...], gru_dim: int) -> None:
        super().__init__()
        sizes = (1, *channels)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, stride=2, padding=1)
                                   for a, b in zip(sizes[:-1], sizes[1:], strict=False))
        self.norms = nn.ModuleList(nn.BatchNorm2d(b) for b in channels)
        freq = n_mels
        for _ in channels:
            freq = (freq + 1) // 2
        self.gru = nn.GRU(channels[-1] * freq, gru_dim, batch_first=True)
        self.num_convs = len(channels)

    def forward(self, mel: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = mel.transpose(1, 2).unsqueeze(1)  # (B, 1, F, n_mels)
        for conv, norm in zip(self.convs, self.norms, strict=False):
            x = F.relu(norm(conv(x)))
        batch, channels, frames, freq = x.shape
        x = x.transpose(1, 2).reshape(batch, frames, channels * freq)
        if lengths is None:
            _, hidden = self.gru(x)
            return hidden[-1]
        reduced = lengths.clone()
        for _ in range(self.num_convs):
            reduced = (reduced + 1) // 2
        reduced = reduced.clamp(1, frames)
        packed = nn.utils.rnn.pack_padded_sequence(x, reduced.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        _, hidden = self.gru(packed)
        return hidden[-1]


class StyleTokens(nn.Module):
    """A bank of ``num_tokens`` learned tokens read by ``num_heads``-head attention.

    ``forward(reference (B, query_dim))`` -> ``(style (B, dim), weights (B, num_heads,
    num_tokens))``; ``from_weights(weights (B, num_heads, num_tokens) or (B, num_tokens))`` ->
    ``(B, dim)``.
    """

    def __init__(self, query_dim: int, dim: int, num_tokens: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"StyleTokens: dim {dim} is not divisible by {num_heads} heads")
        self.tokens = nn.Parameter(torch.randn(num_tokens, dim // num_heads) * 0.5)
        self.query = nn.Linear(query_dim, dim, bias=False)
        self.key = nn.Linear(dim // num_heads, dim, bias=False)
        self.value = nn.Linear(dim // num_heads, dim, bias=False)
        self.num_heads = num_heads
        self.num_tokens = num_tokens
        self.dim = dim

    def _values(self) -> torch.Tensor:
        """``(num_heads, num_tokens, dim // num_heads)``."""
        values = self.value(torch.tanh(self.tokens))
        return values.view(self.num_tokens, self.num_heads, -1).transpose(0, 1)

    def forward(self, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = reference.shape[0]
        head_dim = self.dim // self.num_heads
        query = self.query(reference).view(batch, self.num_heads, 1, head_dim)
        keys = self.key(torch.tanh(self.tokens)).view(self.num_tokens, self.num_heads, head_dim)
        keys = keys.transpose(0, 1)  # (heads, tokens, head_dim)
        scores = (query @ keys.transpose(1, 2).unsqueeze(0)).squeeze(2) / head_dim ** 0.5
        weights = scores.softmax(dim=-1)  # (B, heads, tokens)
        return self.from_weights(weights), weights

    def from_weights(self, weights: torch.Tensor) -> torch.Tensor:
        if weights.dim() == 2:
            weights = weights.unsqueeze(1).expand(-1, self.num_heads, -1)
        if weights.shape[1:] != (self.num_heads, self.num_tokens):
            raise ValueError(f"style weights must be (B, {self.num_heads}, {self.num_tokens}) or "
                             f"(B, {self.num_tokens}), got {tuple(weights.shape)}")
        style = torch.einsum("bht,htd->bhd", weights, self._values())
        return style.reshape(weights.shape[0], self.dim)
