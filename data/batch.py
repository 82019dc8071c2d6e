"""Typed batches, what the data loaders yield: ``TTSBatch`` (acoustic model), ``VocoderBatch`` and
``EncoderBatch`` (speaker encoder).

A batch is a dataclass (read its fields as attributes) that also reads like the dict loaders
used to yield: ``batch["mels"]``, ``batch.get("pitch")``, ``"pitch" in batch``, ``set(batch)``;
an optional field that is ``None`` is absent as a key. Lightning moves a batch to the device
field by field (it handles dataclasses), and ``DataLoader(pin_memory=True)`` calls its
``pin_memory``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import torch

__all__ = ["TTSBatch", "VocoderBatch", "EncoderBatch"]


class _Batch(Mapping):
    """Read-only dict view of a batch dataclass's fields; a ``None`` field is no key."""

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, key) if key in self.__dataclass_fields__ else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (f.name for f in dataclasses.fields(self) if getattr(self, f.name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def pin_memory(self) -> Any:
        """A copy whose tensors are in pinned memory."""
        return dataclasses.replace(self, **{key: value.pin_memory() for key, value in self.items()
                                            if isinstance(value, torch.Tensor)})


@dataclasses.dataclass(eq=False)
class TTSBatch(_Batch):
    """B utterances padded for the acoustic model (``data.dataset.collate_batch``).

    - ``tokens`` LongTensor ``(B, T_max)``, padded with 0; ``token_lengths`` ``(B,)``
    - ``mels`` FloatTensor ``(B, n_mels, F_max)``, padded with the log of the mel floor
      (silence); ``mel_lengths`` ``(B,)``
    - ``speakers`` LongTensor ``(B,)``; ``emotions`` LongTensor ``(B,)``, -1 = none
    - ``ids`` list of B utterance ids
    - ``speaker_embeddings`` FloatTensor ``(B, D)``, or None (data without embeddings)
    - ``pitch`` FloatTensor ``(B, F_max)`` frame F0 in Hz, padded with 0 = unvoiced, or None
      (data without pitch)
    """

    tokens: torch.Tensor
    token_lengths: torch.Tensor
    mels: torch.Tensor
    mel_lengths: torch.Tensor
    speakers: torch.Tensor
    emotions: torch.Tensor
    ids: list[str]
    speaker_embeddings: torch.Tensor | None = None
    pitch: torch.Tensor | None = None


@dataclasses.dataclass(eq=False)
class VocoderBatch(_Batch):
    """B waveform pieces for the vocoder (``data.vocoder_data.collate_segments``).

    - ``ids`` list of B utterance ids
    - ``wav`` FloatTensor ``(B, samples)``, shorter pieces zero-padded; ``lengths`` LongTensor
      ``(B,)`` in samples
    - ``mel`` FloatTensor ``(B, n_mels, frames)`` stored (e.g. ground-truth-aligned) mels, or
      None (the task computes mels from ``wav``)
    - ``f0`` FloatTensor ``(B, frames)`` frame F0 in Hz, 0 = unvoiced, or None (no pitch)
    """

    ids: list[str]
    wav: torch.Tensor
    lengths: torch.Tensor
    mel: torch.Tensor | None = None
    f0: torch.Tensor | None = None


@dataclasses.dataclass(eq=False)
class EncoderBatch(_Batch):
    """N speakers x M windows for the GE2E speaker encoder (``cloning.encoder_data``).

    - ``mel`` FloatTensor ``(N * M, n_mels, partial_frames)``, speaker-major
    - ``speaker`` LongTensor ``(N * M,)`` speaker index of each window
    """

    mel: torch.Tensor
    speaker: torch.Tensor
