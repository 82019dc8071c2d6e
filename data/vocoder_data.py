"""Waveform segments for vocoder training, read from a prepared folder.

A training item is a random segment of ``segment_frames`` mel frames of one utterance: its
waveform ``(segment_frames * hop_length,)`` and, when ``mel_dir`` is given, the aligned slice
``(n_mels, segment_frames)`` of a stored mel (``mel_dir/ID.npy``): ground-truth-aligned mels
predicted by the acoustic model, for fine-tuning the vocoder on what it will really be fed.
Without ``mel_dir`` the training task computes the mel from the waveform with the one
``MelSpectrogram``. With ``pitch=True`` an item also carries the aligned slice of the folder's
frame F0 (``data.pitch``), which pitch-driven vocoders are given.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset

from data.batch import VocoderBatch
from data.manifest import read_manifest
from data.prepared import PITCH_FILE, PreparedFolder
from tts.errors import DataError


class VocoderDataset(Dataset):
    """Segments (``train=True``) or whole clips cut to ``max_frames`` (validation).

    Items: ``{"id": str, "wav": (segment_frames * hop_length,) float32,
    "mel": (n_mels, segment_frames) float32, "f0": (segment_frames,) float32 Hz}`` (``"mel"``
    only with ``mel_dir``, ``"f0"`` only with ``pitch``, read from the folder that holds
    ``manifest_path``). Clips shorter than a segment are zero-padded (their mel padded with its
    minimum value, their F0 with 0 = unvoiced). Speakers in ``exclude_speakers`` are left out.
    """

    def __init__(self, manifest_path: str | Path, hop_length: int, segment_frames: int,
                 train: bool = True, mel_dir: str | Path | None = None,
                 max_frames: int | None = None, pitch: bool = False,
                 exclude_speakers: Collection[str] = ()) -> None:
        self.utterances = [u for u in read_manifest(manifest_path)
                           if u.speaker not in exclude_speakers]
        if not self.utterances:
            raise DataError(f"{manifest_path}: no utterances")
        folder = PreparedFolder(Path(manifest_path).parent)
        self.pitch: dict[str, np.ndarray] | None = None
        """Frame F0 by clip audio path (unique across folders, unlike clip ids)."""
        if pitch:
            tracks = folder.pitch
            missing = [u.id for u in self.utterances if u.id not in tracks]
            if missing:
                raise DataError(f"{folder.path / PITCH_FILE} has no track for "
                                f"{len(missing)} utterance(s), e.g. {missing[0]}: run "
                                "'voxclone pitch' again")
            self.pitch = {str(u.audio_path): tracks[u.id] for u in self.utterances}
        if segment_frames < 1 or hop_length < 1:
            raise DataError("segment_frames and hop_length must be positive")
        self.hop_length = hop_length
        self.segment_frames = segment_frames
        self.train = train
        self.mel_dir = Path(mel_dir) if mel_dir is not None else None
        self.max_frames = max_frames
        if self.mel_dir is not None:
            missing = [u.id for u in self.utterances if not (self.mel_dir / f"{u.id}.npy").is_file()]
            if missing:
                raise DataError(f"{self.mel_dir}: no mel for {len(missing)} utterance(s), "
                                f"e.g. {missing[0]}.npy")

    def __len__(self) -> int:
        return len(self.utterances)

    def _frames(self, num_samples: int, mel: np.ndarray | None) -> int:
        frames = num_samples // self.hop_length
        if mel is not None:
            frames = min(frames, mel.shape[1])
        return frames

    def __getitem__(self, index: int) -> dict[str, Any]:
        utt = self.utterances[index]
        wav, _ = sf.read(utt.audio_path, dtype="float32", always_2d=False)
        mel = np.load(self.mel_dir / f"{utt.id}.npy").astype(np.float32) if self.mel_dir else None
        frames = self._frames(len(wav), mel)
        want = self.segment_frames if self.train else min(frames, self.max_frames or frames)
        start = 0
        if self.train and frames > want:
            start = int(torch.randint(0, frames - want + 1, ()).item())
        hop = self.hop_length
        piece = wav[start * hop:(start + want) * hop]
        piece = np.pad(piece, (0, want * hop - len(piece)))
        item: dict[str, Any] = {"id": utt.id, "wav": torch.from_numpy(np.ascontiguousarray(piece))}
        if mel is not None:
            cut = mel[:, start:start + want]
            if cut.shape[1] < want:
                cut = np.pad(cut, ((0, 0), (0, want - cut.shape[1])), constant_values=mel.min())
            item["mel"] = torch.from_numpy(np.ascontiguousarray(cut))
        if self.pitch is not None:
            track = self.pitch[str(utt.audio_path)][start:start + want]
            item["f0"] = torch.from_numpy(np.pad(track, (0, want - len(track))))
        return item


def collate_segments(batch: Sequence[dict[str, Any]]) -> VocoderBatch:
    """Stack items into one ``VocoderBatch`` (shapes there), ``mel`` and ``f0`` when the items
    carry them; shorter items (validation) are zero-padded to the longest."""
    longest = max(item["wav"].shape[0] for item in batch)
    wavs = torch.zeros(len(batch), longest)
    for i, item in enumerate(batch):
        wavs[i, :item["wav"].shape[0]] = item["wav"]
    out = VocoderBatch(ids=[item["id"] for item in batch], wav=wavs,
                       lengths=torch.tensor([item["wav"].shape[0] for item in batch]))
    if "mel" in batch[0]:
        frames = max(item["mel"].shape[1] for item in batch)
        mels = torch.stack([torch.nn.functional.pad(item["mel"], (0, frames - item["mel"].shape[1]),
                                                    value=float(item["mel"].min()))
                            for item in batch])
        out.mel = mels
    if "f0" in batch[0]:
        frames = max(item["f0"].shape[0] for item in batch)
        out.f0 = torch.stack([torch.nn.functional.pad(item["f0"], (0, frames - len(item["f0"])))
                              for item in batch])
    return out
