"""data.prepared (reading a prepared folder, without torch) and data.batch (typed batches that
still read like the dicts the loaders used to yield)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from data.batch import TTSBatch, VocoderBatch
from data.manifest import read_manifest
from data.prepared import EMBEDDINGS_FILE, PITCH_FILE, PreparedFolder, check_same_preparation
from tts.config import AudioConfig, from_dict
from tts.errors import DataError
from tts.text import SymbolTable

ROOT = Path(__file__).resolve().parents[1]


def test_reads_a_prepared_folder(prepared_ljspeech):
    folder = PreparedFolder(prepared_ljspeech)
    info = json.loads((prepared_ljspeech / "prepare.json").read_text())
    assert folder.info == info and folder.recipe == "ljspeech"
    assert folder.audio == from_dict(AudioConfig, info["audio"])
    assert isinstance(folder.symbols, SymbolTable)
    assert folder.symbols.to_dict() == info["symbols"]
    assert folder.emotions == info["emotions"] == []
    assert folder.has_speakers and folder.speakers == ["LJ"]
    assert folder.manifest() == prepared_ljspeech / "manifest.jsonl"
    assert folder.manifest("train") == prepared_ljspeech / "train.jsonl"
    assert list(folder.utterances()) == [u.id for u in read_manifest(folder.manifest())]
    with pytest.raises(DataError, match="voxclone embed"):
        _ = folder.embeddings
    with pytest.raises(DataError, match="voxclone pitch"):
        _ = folder.pitch


def test_missing_files_are_clear_errors(tmp_path):
    folder = PreparedFolder(tmp_path / "nowhere")  # nothing is read yet
    with pytest.raises(DataError, match="not a prepared folder: prepare.json not found"):
        _ = folder.info
    (tmp_path / "prepare.json").write_text("{")
    with pytest.raises(DataError, match="not valid JSON"):
        _ = PreparedFolder(tmp_path).info
    (tmp_path / "prepare.json").write_text('{"audio": {}, "emotions": []}')
    with pytest.raises(DataError, match="missing key 'symbols'"):
        _ = PreparedFolder(tmp_path).recipe
    assert not PreparedFolder(tmp_path).has_speakers
    with pytest.raises(DataError, match="not a prepared folder: speakers.json not found"):
        _ = PreparedFolder(tmp_path).speakers


def test_embeddings_and_pitch(tmp_path):
    np.savez(tmp_path / EMBEDDINGS_FILE, ids=np.array(["a", "b"]),
             vectors=np.arange(6, dtype=np.float64).reshape(2, 3))
    np.savez(tmp_path / PITCH_FILE, ids=np.array(["a", "b"]), offsets=np.array([0, 2, 5]),
             values=np.array([0, 100, 110, 0, 120], np.float16))
    folder = PreparedFolder(tmp_path)
    assert folder.embeddings["b"].dtype == np.float32
    assert folder.embeddings["b"].tolist() == [3.0, 4.0, 5.0]
    assert {k: v.tolist() for k, v in folder.pitch.items()} == {"a": [0, 100],
                                                                "b": [110, 0, 120]}
    assert folder.pitch["a"].dtype == np.float32
    (tmp_path / PITCH_FILE).write_bytes(b"not a zip")
    with pytest.raises(DataError, match="unreadable pitch track"):
        _ = PreparedFolder(tmp_path).pitch


def test_folders_must_be_prepared_alike(prepared_ljspeech, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(prepared_ljspeech, other)
    folders = [PreparedFolder(prepared_ljspeech), PreparedFolder(other)]
    check_same_preparation(folders, symbols=True)
    info = json.loads((other / "prepare.json").read_text())
    info["symbols"] = {**info["symbols"], "backend": "other"}
    (other / "prepare.json").write_text(json.dumps(info))
    folders = [PreparedFolder(prepared_ljspeech), PreparedFolder(other)]
    check_same_preparation(folders)
    with pytest.raises(DataError, match="another audio config or symbol set than"):
        check_same_preparation(folders, symbols=True)
    info["audio"]["n_mels"] = 40
    (other / "prepare.json").write_text(json.dumps(info))
    with pytest.raises(DataError, match=f"{other} was prepared with another audio config than"):
        check_same_preparation([PreparedFolder(prepared_ljspeech), PreparedFolder(other)])


@pytest.mark.parametrize("module", ["data.prepared", "data.holdout", "data.pitch"])
def test_light_modules_do_not_import_torch(module):
    code = f"import {module}, sys; assert 'torch' not in sys.modules, sorted(sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def _tts_batch(**optional) -> TTSBatch:
    return TTSBatch(tokens=torch.zeros(2, 4, dtype=torch.long),
                    token_lengths=torch.tensor([4, 3]), mels=torch.zeros(2, 80, 6),
                    mel_lengths=torch.tensor([6, 5]), speakers=torch.tensor([0, 1]),
                    emotions=torch.tensor([-1, -1]), ids=["a", "b"], **optional)


def test_batch_reads_like_the_old_dict():
    batch = _tts_batch()
    assert batch["mels"] is batch.mels and batch["ids"] == ["a", "b"]
    assert list(batch) == list(batch.keys()) == ["tokens", "token_lengths", "mels", "mel_lengths",
                                                 "speakers", "emotions", "ids"]
    assert len(batch) == 7
    for absent in ("pitch", "speaker_embeddings", "pin_memory", "nothing"):
        assert absent not in batch and batch.get(absent) is None
        assert batch.get(absent, 3) == 3
        with pytest.raises(KeyError):
            batch[absent]
    full = _tts_batch(pitch=torch.zeros(2, 6), speaker_embeddings=torch.ones(2, 8))
    assert "pitch" in full and full.get("speaker_embeddings").shape == (2, 8)
    assert list(full)[-2:] == ["speaker_embeddings", "pitch"]
    vocoder = VocoderBatch(ids=["a"], wav=torch.zeros(1, 256), lengths=torch.tensor([256]),
                           f0=torch.zeros(1, 1))
    assert set(vocoder) == {"ids", "wav", "lengths", "f0"} and "mel" not in vocoder


@pytest.mark.filterwarnings("ignore:Trying to infer the `batch_size`")  # ids: as with a dict
def test_batch_moves_and_pins_as_a_batch(monkeypatch):
    from lightning.fabric.utilities.apply_func import move_data_to_device
    from lightning.pytorch.utilities.data import extract_batch_size

    batch = _tts_batch(pitch=torch.zeros(2, 6))
    moved = move_data_to_device(batch, torch.device("cpu"))
    assert isinstance(moved, TTSBatch) and list(moved) == list(batch)
    assert torch.equal(moved.pitch, batch.pitch) and moved.speaker_embeddings is None
    assert extract_batch_size(batch) == 2
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self, *args: self.clone())
    pinned = batch.pin_memory()  # what DataLoader(pin_memory=True) calls
    assert isinstance(pinned, TTSBatch) and pinned.ids == batch.ids
    assert torch.equal(pinned.mels, batch.mels) and pinned.mels is not batch.mels


def test_collate_functions_return_typed_batches(prepared_ljspeech):
    from data.dataset import TTSDataset
    from data.vocoder_data import VocoderDataset, collate_segments

    folder = PreparedFolder(prepared_ljspeech)
    dataset = TTSDataset(folder.manifest(), folder.symbols)
    batch = dataset.collate([dataset[0], dataset[1]])
    assert isinstance(batch, TTSBatch) and batch.mels.shape[:2] == (2, folder.audio.n_mels)
    assert "pitch" not in batch and "speaker_embeddings" not in batch
    clips = VocoderDataset(folder.manifest(), folder.audio.hop_length, segment_frames=4)
    segments = collate_segments([clips[0], clips[1]])
    assert isinstance(segments, VocoderBatch)
    assert segments.wav.shape == (2, 4 * folder.audio.hop_length) and "mel" not in segments
