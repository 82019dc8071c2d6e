"""Generalized end-to-end (GE2E) loss, softmax variant (Wan et al., 2018).

For a batch of ``N`` speakers x ``M`` utterances with unit embeddings ``e_ji``, each embedding is
compared by cosine similarity with every speaker centroid; its own speaker's centroid leaves the
embedding itself out (the "exclusive" centroid, which keeps the trivial solution away). The
similarities are scaled and shifted, ``S = w * cos + b`` with learnable ``w > 0`` and ``b``, and
the loss is the cross-entropy of picking the right speaker, averaged over all ``N * M``
embeddings. ``w`` starts at 10 and ``b`` at -5, as in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from tts.errors import ConfigError


def similarity_matrix(embeddings: torch.Tensor) -> torch.Tensor:
    """Cosine similarities ``(N, M, N)`` of each embedding ``(N, M, D)`` with every speaker
    centroid, using the exclusive centroid (mean of the other ``M - 1``) for its own speaker."""
    n, m, _ = embeddings.shape
    if n < 2 or m < 2:
        raise ConfigError(f"GE2E needs at least 2 speakers x 2 utterances, got {n} x {m}")
    total = embeddings.sum(dim=1, keepdim=True)                      # (N, 1, D)
    inclusive = nn.functional.normalize(total / m, dim=2)            # (N, 1, D)
    exclusive = nn.functional.normalize((total - embeddings) / (m - 1), dim=2)  # (N, M, D)
    unit = nn.functional.normalize(embeddings, dim=2)
    cos = torch.einsum("jid,kd->jik", unit, inclusive.squeeze(1))    # (N, M, N)
    own = (unit * exclusive).sum(dim=2)                              # (N, M)
    mask = torch.eye(n, dtype=torch.bool, device=embeddings.device).unsqueeze(1).expand(n, m, n)
    return torch.where(mask, own.unsqueeze(2).expand(n, m, n), cos)


class GE2ELoss(nn.Module):
    """``loss(embeddings (N, M, D)) -> scalar``; parameters ``weight`` (w) and ``bias`` (b)."""

    def __init__(self, init_weight: float = 10.0, init_bias: float = -5.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(float(init_weight)))
        self.bias = nn.Parameter(torch.tensor(float(init_bias)))

    def logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Scaled similarities ``(N, M, N)``; ``w`` is clamped to stay positive."""
        return self.weight.clamp_min(1e-6) * similarity_matrix(embeddings) + self.bias

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        n, m, _ = embeddings.shape
        logits = self.logits(embeddings).reshape(n * m, n)
        target = torch.arange(n, device=embeddings.device).repeat_interleave(m)
        return nn.functional.cross_entropy(logits, target)
