"""Learning text-to-frame alignments without an autoregressive decoder.

The duration decoder needs per-phoneme durations to train on. Rather than take them from an
external aligner or from a first attention model, it learns them on the fly in the manner of
unsupervised alignment learning for parallel TTS (Badlani et al., 2022): a small ``Aligner``
scores every (frame, phoneme) pair by the distance of their projections, a beta-binomial prior
favours the diagonal, a forward-sum (CTC) loss makes the soft alignment monotonic, and monotonic
alignment search (``monotonic_alignment_search``) reads hard durations off it.

Shapes: alignments are ``(B, frames, tokens)``; durations ``(B, tokens)`` in frames.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

NEG_INF = -1e9


class Aligner(nn.Module):
    """Soft alignment of mel frames to text embeddings.

    ``forward(text (B, T, text_dim), mel (B, n_mels, F), text_mask (B, T), log_prior (B, F, T))``
    -> ``(soft (B, F, T), log_probs (B, F, T))``: ``log_probs`` are per-frame log-softmax scores
    over the text plus the prior (for the forward-sum loss and the search); ``soft`` is their
    softmax over valid tokens.
    """

    def __init__(self, text_dim: int, n_mels: int, dim: int, temperature: float = 5e-4) -> None:
        super().__init__()
        self.keys = nn.Sequential(
            nn.Conv1d(text_dim, 2 * text_dim, 3, padding=1), nn.ReLU(),
            nn.Conv1d(2 * text_dim, dim, 1))
        self.queries = nn.Sequential(
            nn.Conv1d(n_mels, 2 * n_mels, 3, padding=1), nn.ReLU(),
            nn.Conv1d(2 * n_mels, n_mels, 1), nn.ReLU(),
            nn.Conv1d(n_mels, dim, 1))
        self.temperature = temperature

    def forward(self, text: torch.Tensor, mel: torch.Tensor, text_mask: torch.Tensor,
                log_prior: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        keys = self.keys(text.transpose(1, 2))  # (B, dim, T)
        queries = self.queries(mel)  # (B, dim, F)
        distance = ((queries ** 2).sum(1).unsqueeze(2) + (keys ** 2).sum(1).unsqueeze(1)
                    - 2 * queries.transpose(1, 2) @ keys)  # (B, F, T)
        scores = -self.temperature * distance
        scores = scores.masked_fill(~text_mask.unsqueeze(1), NEG_INF)
        log_probs = scores.log_softmax(dim=-1)
        if log_prior is not None:
            log_probs = log_probs + log_prior
        log_probs = log_probs.masked_fill(~text_mask.unsqueeze(1), NEG_INF)
        return log_probs.softmax(dim=-1), log_probs


def beta_binomial_log_prior(text_lengths: torch.Tensor, mel_lengths: torch.Tensor,
                            scale: float = 1.0) -> torch.Tensor:
    """Log of a beta-binomial prior over tokens for every frame: frame ``t`` of ``F`` is a priori
    near token ``t / F * T`` (a soft diagonal). -> ``(B, F_max, T_max)``; 0 outside valid areas.
    """
    batch = text_lengths.shape[0]
    t_max, f_max = int(text_lengths.max()), int(mel_lengths.max())
    device = text_lengths.device
    k = torch.arange(t_max, device=device, dtype=torch.float32).view(1, 1, t_max)
    t = torch.arange(f_max, device=device, dtype=torch.float32).view(1, f_max, 1)
    n = (text_lengths.float() - 1).view(batch, 1, 1)
    frames = mel_lengths.float().view(batch, 1, 1)
    a = scale * (t + 1)
    b = scale * (frames - t).clamp(min=1)
    kk = torch.minimum(k, n)

    def log_beta(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.lgamma(x) + torch.lgamma(y) - torch.lgamma(x + y)

    log_pmf = (torch.lgamma(n + 1) - torch.lgamma(kk + 1) - torch.lgamma(n - kk + 1)
               + log_beta(kk + a, n - kk + b) - log_beta(a, b))
    valid = (k < text_lengths.view(batch, 1, 1)) & (t < frames)
    return torch.where(valid, log_pmf, torch.zeros_like(log_pmf))


def forward_sum_loss(log_probs: torch.Tensor, text_lengths: torch.Tensor,
                     mel_lengths: torch.Tensor, blank_log_prob: float = -1.0) -> torch.Tensor:
    """CTC loss that every token is visited in order (the monotonic alignment objective).

    ``log_probs (B, F, T)`` from ``Aligner``; returns the mean over the batch of the loss per
    token, a scalar.
    """
    batch, _, t_max = log_probs.shape
    padded = F.pad(log_probs, (1, 0), value=blank_log_prob)  # blank is class 0
    mask = torch.cat([torch.ones(batch, 1, dtype=torch.bool, device=log_probs.device),
                      torch.arange(t_max, device=log_probs.device).unsqueeze(0)
                      < text_lengths.unsqueeze(1)], dim=1)
    padded = padded.masked_fill(~mask.unsqueeze(1), NEG_INF).log_softmax(dim=-1)
    targets = torch.arange(1, t_max + 1, device=log_probs.device).unsqueeze(0).expand(batch, -1)
    loss = F.ctc_loss(padded.transpose(0, 1), targets, mel_lengths, text_lengths, blank=0,
                      reduction="none", zero_infinity=True)
    return (loss / text_lengths.float()).mean()


def monotonic_alignment_search(log_probs: torch.Tensor, text_lengths: torch.Tensor,
                               mel_lengths: torch.Tensor) -> torch.Tensor:
    """The most likely monotonic path (each frame on one token, tokens in order, none skipped).

    ``log_probs (B, F, T)`` -> durations ``(B, T)`` (long) with ``durations[b].sum() ==
    mel_lengths[b]`` and every valid token at least one frame when ``F_b >= T_b``.
    """
    scores = log_probs.detach().float().cpu().numpy()
    t_lens = text_lengths.cpu().numpy()
    f_lens = mel_lengths.cpu().numpy()
    batch, f_max, t_max = scores.shape
    for b in range(batch):
        scores[b, :, t_lens[b]:] = NEG_INF
    best = np.full((batch, t_max), NEG_INF)
    best[:, 0] = scores[:, 0, 0]
    advanced = np.zeros((batch, f_max, t_max), dtype=bool)
    for t in range(1, f_max):
        shifted = np.concatenate([np.full((batch, 1), NEG_INF), best[:, :-1]], axis=1)
        move = shifted > best
        advanced[:, t] = move
        best = np.where(move, shifted, best) + scores[:, t]
    durations = np.zeros((batch, t_max), dtype=np.int64)
    for b in range(batch):
        token = int(t_lens[b]) - 1
        for t in range(int(f_lens[b]) - 1, -1, -1):
            durations[b, token] += 1
            if t > 0 and token > 0 and (advanced[b, t, token] or token > t - 1):
                token -= 1
    return torch.from_numpy(durations).to(log_probs.device)


def durations_to_alignment(durations: torch.Tensor, frames: int) -> torch.Tensor:
    """Hard alignment from durations: ``(B, T)`` -> one-hot ``(B, frames, T)`` (float)."""
    ends = durations.cumsum(dim=1)
    starts = ends - durations
    t = torch.arange(frames, device=durations.device).view(1, frames, 1)
    return ((t >= starts.unsqueeze(1)) & (t < ends.unsqueeze(1))).float()
