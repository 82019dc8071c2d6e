"""Training data from a prepared folder: ``TTSDataset``, its ``collate`` and ``LengthBucketSampler``.

A prepared folder (see ``data.prepare``, read through ``data.prepared.PreparedFolder``) holds
manifests whose utterances carry phonemes and a cached log-mel; this module turns them into
padded tensor batches (``data.batch.TTSBatch``). No audio is decoded here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from data.batch import TTSBatch
from data.manifest import Utterance, read_manifest
from data.prepared import EMBEDDINGS_FILE, PreparedFolder, check_same_preparation
from tts.errors import DataError, TextError
from tts.text import SymbolTable

__all__ = ["TTSDataset", "LengthBucketSampler", "collate_batch", "read_prepare_info",
           "read_embeddings", "EMBEDDINGS_FILE"]


# read_prepare_info, read_embeddings and EMBEDDINGS_FILE stay importable from here for callers
# outside data (new code reads through data.prepared.PreparedFolder)
def read_prepare_info(folder: str | Path) -> dict[str, Any]:
    """``PreparedFolder(folder).info``: the ``prepare.json`` of a prepared folder."""
    return PreparedFolder(folder).info


def read_embeddings(folder: str | Path) -> dict[str, np.ndarray]:
    """``PreparedFolder(folder).embeddings``: utterance id -> speaker embedding ``(D,)``."""
    return PreparedFolder(folder).embeddings


def collate_batch(batch: Sequence[dict[str, Any]], mel_pad_value: float) -> TTSBatch:
    """Pad a list of ``TTSDataset`` items into one ``TTSBatch`` (B = ``len(batch)``; shapes
    there), mels padded with ``mel_pad_value``; ``speaker_embeddings`` and ``pitch`` are set
    when the items carry them."""
    if not batch:
        raise DataError("cannot collate an empty batch")
    token_lengths = torch.tensor([len(item["tokens"]) for item in batch], dtype=torch.long)
    mel_lengths = torch.tensor([item["mel"].shape[1] for item in batch], dtype=torch.long)
    n_mels = batch[0]["mel"].shape[0]
    tokens = torch.zeros(len(batch), int(token_lengths.max()), dtype=torch.long)
    mels = torch.full((len(batch), n_mels, int(mel_lengths.max())), mel_pad_value,
                      dtype=torch.float32)
    for i, item in enumerate(batch):
        tokens[i, : len(item["tokens"])] = item["tokens"]
        mels[i, :, : item["mel"].shape[1]] = item["mel"]
    out = TTSBatch(
        tokens=tokens,
        token_lengths=token_lengths,
        mels=mels,
        mel_lengths=mel_lengths,
        speakers=torch.tensor([item["speaker"] for item in batch], dtype=torch.long),
        emotions=torch.tensor([item["emotion"] for item in batch], dtype=torch.long),
        ids=[item["id"] for item in batch],
    )
    if "speaker_embedding" in batch[0]:
        out.speaker_embeddings = torch.stack([item["speaker_embedding"] for item in batch])
    if "pitch" in batch[0]:
        pitch = torch.zeros(len(batch), int(mel_lengths.max()))
        for i, item in enumerate(batch):
            pitch[i, : len(item["pitch"])] = item["pitch"]
        out.pitch = pitch
    return out


class TTSDataset(Dataset):
    """Utterances of one manifest of a prepared folder (or of several folders), as tensors.

    ``speakers`` / ``emotions`` fix the index of each name (pass the same lists to every split
    and to the model); by default they come from the folder's ``speakers.json`` and
    ``prepare.json``. The audio config (for the mel padding value) is always read from the
    folder's ``prepare.json``.

    Item ``i`` is a dict: ``id`` str, ``tokens`` LongTensor ``(T_text,)``, ``mel`` FloatTensor
    ``(n_mels, frames)`` from the cached npy, ``speaker`` int, ``emotion`` int (-1 if none) and,
    with ``embeddings``, ``speaker_embedding`` FloatTensor ``(D,)``
    (``PreparedFolder.embeddings``), with ``pitch``, ``pitch`` FloatTensor ``(frames,)`` F0 in
    Hz (``PreparedFolder.pitch``).
    ``exclude`` drops the utterances of those speakers (held-out voices).
    """

    def __init__(self, manifest_path: str | Path | Sequence[str | Path], symbols: SymbolTable,
                 speakers: list[str] | None = None, emotions: list[str] | None = None,
                 embeddings: bool = False, exclude: frozenset[str] = frozenset(),
                 pitch: bool = False) -> None:
        paths = ([Path(manifest_path)] if isinstance(manifest_path, (str, Path))
                 else [Path(p) for p in manifest_path])
        if not paths:
            raise DataError("no manifest given")
        folders = [PreparedFolder(path.parent) for path in paths]
        self.audio = folders[0].audio
        check_same_preparation(folders)
        self.mel_pad_value = math.log(self.audio.log_floor)
        """Value of padded mel frames: log of the floor, i.e. silence."""
        if speakers is None and len(folders) == 1 and folders[0].has_speakers:
            speakers = folders[0].speakers
        self.utterances: list[Utterance] = []
        self._sources: list[Path] = []  # per item, its manifest
        # Per item, by position: clip ids are unique only within a folder.
        self._embeddings: list[np.ndarray | None] | None = [] if embeddings else None
        self._pitch: list[np.ndarray | None] | None = [] if pitch else None
        for path, folder in zip(paths, folders, strict=True):
            kept = [u for u in read_manifest(path) if u.speaker not in exclude]
            self.utterances += kept
            self._sources += [path] * len(kept)
            if self._embeddings is not None:
                table = folder.embeddings
                self._embeddings += [table.get(u.id) for u in kept]
            if self._pitch is not None:
                tracks = folder.pitch
                self._pitch += [tracks.get(u.id) for u in kept]
        if speakers is None:
            speakers = sorted({u.speaker for u in self.utterances})
        self.speakers = list(speakers)
        self.emotions = folders[0].emotions if emotions is None else list(emotions)
        speaker_index = {name: i for i, name in enumerate(self.speakers)}
        emotion_index = {name: i for i, name in enumerate(self.emotions)}
        self._tokens: list[list[int]] = []
        self._speaker: list[int] = []
        self._emotion: list[int] = []
        for index, (utt, source) in enumerate(zip(self.utterances, self._sources, strict=True)):
            where = f"{source}: {utt.id}"
            if utt.phonemes is None or utt.mel_path is None or utt.num_frames is None:
                raise DataError(f"{where}: no phonemes/mel (manifest not prepared)")
            if utt.speaker not in speaker_index:
                raise DataError(f"{where}: speaker {utt.speaker!r} not in the speaker list")
            if utt.emotion is not None and utt.emotion not in emotion_index:
                raise DataError(f"{where}: emotion {utt.emotion!r} not in the emotion list")
            try:
                self._tokens.append(symbols.encode(list(utt.phonemes)))
            except TextError as exc:
                raise DataError(f"{where}: {exc}") from None
            if self._embeddings is not None and self._embeddings[index] is None:
                raise DataError(f"{where}: no speaker embedding (run 'voxclone embed' again)")
            if self._pitch is not None and (self._pitch[index] is None
                                            or len(self._pitch[index]) != utt.num_frames):
                raise DataError(f"{where}: no pitch track of its {utt.num_frames} frames (run "
                                f"'voxclone pitch {source.parent}' again)")
            self._speaker.append(speaker_index[utt.speaker])
            self._emotion.append(-1 if utt.emotion is None else emotion_index[utt.emotion])

    def __len__(self) -> int:
        return len(self.utterances)

    @property
    def item_folders(self) -> list[str]:
        """Per item, the name of its prepared folder (``data.balance.item_weights``)."""
        return [source.parent.name for source in self._sources]

    @property
    def mel_lengths(self) -> list[int]:
        """Mel frames per item (from the manifest), e.g. for ``LengthBucketSampler``."""
        return [int(u.num_frames) for u in self.utterances]

    @property
    def token_lengths(self) -> list[int]:
        return [len(t) for t in self._tokens]

    def speaker_of(self, index: int) -> int:
        """Speaker index of item ``index`` (no file read)."""
        return self._speaker[index]

    def embedding_of(self, index: int) -> torch.Tensor:
        """Speaker embedding ``(D,)`` of item ``index`` (needs ``embeddings``)."""
        if self._embeddings is None:
            raise DataError("this dataset was built without speaker embeddings")
        return torch.from_numpy(self._embeddings[index])

    def __getitem__(self, index: int) -> dict[str, Any]:
        utt = self.utterances[index]
        try:
            mel = np.load(utt.mel_path)
        except (OSError, ValueError) as exc:
            raise DataError(f"{utt.id}: cannot read cached mel {utt.mel_path} ({exc})") from None
        if mel.ndim != 2 or mel.shape[0] != self.audio.n_mels:
            raise DataError(f"{utt.id}: cached mel has shape {mel.shape}, expected "
                            f"({self.audio.n_mels}, frames)")
        item = {
            "id": utt.id,
            "tokens": torch.tensor(self._tokens[index], dtype=torch.long),
            "mel": torch.from_numpy(mel.astype(np.float32)),
            "speaker": self._speaker[index],
            "emotion": self._emotion[index],
        }
        if self._embeddings is not None:
            item["speaker_embedding"] = torch.from_numpy(self._embeddings[index])
        if self._pitch is not None:
            item["pitch"] = torch.from_numpy(self._pitch[index])
        return item

    def collate(self, batch: Sequence[dict[str, Any]]) -> TTSBatch:
        """``collate_batch`` with this dataset's mel padding value; see there for shapes."""
        return collate_batch(batch, self.mel_pad_value)


class LengthBucketSampler(Sampler[list[int]]):
    """Batches of indices with similar lengths, for ``DataLoader(batch_sampler=...)``.

    With ``shuffle``, each epoch shuffles all indices, cuts them into pools of ``pool_batches``
    batches, sorts each pool by length, cuts it into batches and shuffles the batch order; the
    result depends only on ``(seed, epoch)`` (call ``set_epoch`` before each epoch). Without
    ``shuffle``, batches follow ascending length. Every index appears exactly once per epoch; only
    the last batch may be smaller (dropped with ``drop_last``). With ``weights`` (one per index,
    ``data.balance.item_weights``; shuffle only) an epoch is as many draws with replacement, each
    index drawn in proportion to its weight, and batched the same way.

    Distributed: with ``num_replicas > 1`` each ``rank`` takes every ``num_replicas``-th batch of
    the same epoch order; the batch list is first padded by repeating batches from its start (or
    cut, with ``drop_last``) so that every rank gets the same number of batches.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False, num_replicas: int = 1, rank: int = 0,
                 pool_batches: int = 50, weights: Sequence[float] | None = None) -> None:
        if isinstance(lengths, Sampler):
            raise DataError("LengthBucketSampler needs per-item lengths, got a sampler (Lightning "
                            "injecting a DistributedSampler? create the Trainer with "
                            "use_distributed_sampler=False; the sampler shards batches itself)")
        if batch_size < 1 or pool_batches < 1:
            raise DataError("batch_size and pool_batches must be positive")
        if not 0 <= rank < num_replicas:
            raise DataError(f"need 0 <= rank < num_replicas, got rank {rank} of {num_replicas}")
        self.lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.num_replicas = num_replicas
        self.rank = rank
        self.pool_batches = pool_batches
        self.epoch = 0
        self.weights = None
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64).reshape(-1)
            if (not shuffle or len(weights) != len(self.lengths) or not np.isfinite(weights).all()
                    or (weights < 0).any() or weights.sum() <= 0):
                raise DataError("sampling weights need shuffle and one finite, non-negative weight "
                                f"per item ({len(weights)} for {len(self.lengths)} items)")
            self.weights = weights / weights.sum()

    @property
    def sampler(self) -> LengthBucketSampler:
        """``self``: Lightning calls ``set_epoch`` on ``dataloader.batch_sampler.sampler``."""
        return self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _all_batches(self) -> list[np.ndarray]:
        size = self.batch_size
        if self.shuffle:
            rng = np.random.default_rng([self.seed % 2**32, self.epoch])
            order = (rng.permutation(len(self.lengths)) if self.weights is None else
                     rng.choice(len(self.lengths), size=len(self.lengths), p=self.weights))
            pool = size * self.pool_batches
            batches = []
            for start in range(0, len(order), pool):
                chunk = order[start:start + pool]
                chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
                batches += [chunk[i:i + size] for i in range(0, len(chunk), size)]
            batches = [batches[i] for i in rng.permutation(len(batches))]
        else:
            order = np.argsort(self.lengths, kind="stable")
            batches = [order[i:i + size] for i in range(0, len(order), size)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == size]
        return batches

    def _total(self) -> int:
        full, rest = divmod(len(self.lengths), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __len__(self) -> int:
        total = self._total()
        if self.drop_last:
            return total // self.num_replicas
        return math.ceil(total / self.num_replicas)

    def __iter__(self):
        batches = self._all_batches()
        if self.num_replicas > 1 and batches:
            per_rank = len(self)
            wanted = per_rank * self.num_replicas
            while len(batches) < wanted:
                batches += batches[: wanted - len(batches)]
            batches = batches[:wanted][self.rank::self.num_replicas]
        for batch in batches:
            yield batch.tolist()
