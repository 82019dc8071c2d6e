"""Building blocks of the Tacotron family: text encoder, prenet, postnet and masks.

All sequence tensors are ``(batch, time, channels)`` inside the encoder/decoders, and mels are
``(batch, n_mels, frames)`` at the model's boundary, as everywhere in voxclone.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def lengths_to_mask(lengths: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """``lengths (B,)`` -> bool ``(B, max_length)``, True on valid positions."""
    max_length = int(lengths.max()) if max_length is None else int(max_length)
    positions = torch.arange(max_length, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)


class ConvStack(nn.Module):
    """``layers`` x (Conv1d 'same' -> BatchNorm -> ReLU -> dropout) on ``(B, channels, T)``.

    Padded positions are zeroed before every convolution so that they never leak into valid ones.
    """

    def __init__(self, in_channels: int, channels: int, layers: int, kernel_size: int,
                 dropout: float) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for i in range(layers):
            self.convs.append(nn.Conv1d(in_channels if i == 0 else channels, channels,
                                        kernel_size, padding=kernel_size // 2))
            self.norms.append(nn.BatchNorm1d(channels))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, in_channels, T)``, ``mask (B, T)`` -> ``(B, channels, T)``."""
        for conv, norm in zip(self.convs, self.norms, strict=False):
            if mask is not None:
                x = x * mask.unsqueeze(1)
            x = F.dropout(F.relu(norm(conv(x))), self.dropout, self.training)
        return x


class TextEncoder(nn.Module):
    """Phoneme ids -> encodings: embedding, a convolution stack and a bidirectional LSTM.

    ``forward(tokens (B, T), lengths (B,))`` -> ``(B, T, dim)``; padded steps are zero.
    """

    def __init__(self, num_symbols: int, embedding_dim: int, dim: int, conv_layers: int,
                 kernel_size: int, dropout: float) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"TextEncoder: dim must be even (two LSTM directions), got {dim}")
        self.embedding = nn.Embedding(num_symbols, embedding_dim, padding_idx=0)
        nn.init.normal_(self.embedding.weight, 0.0, embedding_dim ** -0.5)
        self.convs = ConvStack(embedding_dim, embedding_dim, conv_layers, kernel_size, dropout)
        self.lstm = nn.LSTM(embedding_dim, dim // 2, batch_first=True, bidirectional=True)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens (B, T)`` -> raw embeddings ``(B, T, embedding_dim)`` (the aligner's keys)."""
        return self.embedding(tokens)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = lengths_to_mask(lengths, tokens.shape[1])
        x = self.convs(self.embedding(tokens).transpose(1, 2), mask).transpose(1, 2)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                  total_length=tokens.shape[1])
        return out


class Prenet(nn.Module):
    """Two (or more) Linear -> ReLU -> dropout layers; dropout stays on at inference too (as in
    Tacotron 2), which keeps the autoregressive decoder from copying its own output.

    ``(..., in_dim)`` -> ``(..., dims[-1])``.
    """

    def __init__(self, in_dim: int, dims: tuple[int, ...], dropout: float = 0.5) -> None:
        super().__init__()
        sizes = (in_dim, *dims)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=False))
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = F.dropout(F.relu(layer(x)), self.dropout, training=True)
        return x


class Postnet(nn.Module):
    """Residual refinement of a mel: ``layers`` convolutions (tanh between them, none after the
    last), as in Tacotron 2. ``(B, n_mels, F)`` -> residual ``(B, n_mels, F)``."""

    def __init__(self, n_mels: int, channels: int, layers: int, kernel_size: int,
                 dropout: float = 0.5) -> None:
        super().__init__()
        if layers < 2:
            raise ValueError(f"Postnet: need at least 2 layers, got {layers}")
        sizes = [n_mels] + [channels] * (layers - 1) + [n_mels]
        self.convs = nn.ModuleList(
            nn.Conv1d(a, b, kernel_size, padding=kernel_size // 2) for a, b in zip(sizes[:-1],
                                                                                  sizes[1:], strict=False))
        self.norms = nn.ModuleList(nn.BatchNorm1d(b) for b in sizes[1:])
        self.dropout = dropout

    def forward(self, mel: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = mel
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=False)):
            if mask is not None:
                x = x * mask.unsqueeze(1)
            x = norm(conv(x))
            if i < last:
                x = torch.tanh(x)
            x = F.dropout(x, self.dropout, self.training)
        return x
