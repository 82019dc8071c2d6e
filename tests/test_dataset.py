"""data.dataset and data.datamodule: items, collate padding, length-bucketing sampler, loaders."""

from __future__ import annotations

import json
import math

import lightning as L
import numpy as np
import pytest
import torch
from data_fixtures import make_shared

from data.datamodule import TTSDataModule
from data.dataset import LengthBucketSampler, TTSDataset
from data.manifest import read_manifest, write_manifest
from data.prepare import prepare
from tts.errors import DataError
from tts.text import SymbolTable


@pytest.fixture(scope="module")
def ravdess(tmp_path_factory):
    """A prepared 3-clip RAVDESS copy: Actor_01 (neutral), Actor_02 (angry, surprised)."""
    root = tmp_path_factory.mktemp("rav")
    out = root / "prepared"
    prepare("ravdess-speech", make_shared(root, "ravdess-speech"), out, workers=1,
            val_fraction=0.5, progress=False)
    return out


@pytest.fixture
def symbols():
    return SymbolTable.for_backend("g2p_en")


def test_items(ravdess, symbols):
    dataset = TTSDataset(ravdess / "manifest.jsonl", symbols)
    assert len(dataset) == 3
    assert dataset.speakers == ["Actor_01", "Actor_02"]
    assert dataset.emotions == ["angry", "neutral", "surprised"]
    manifest = read_manifest(ravdess / "manifest.jsonl")
    for i, utt in enumerate(manifest):
        item = dataset[i]
        assert item["id"] == utt.id
        assert item["tokens"].dtype == torch.long
        assert item["tokens"].tolist() == symbols.encode(list(utt.phonemes))
        assert item["mel"].dtype == torch.float32 and item["mel"].shape == (80, utt.num_frames)
        assert item["speaker"] == dataset.speakers.index(utt.speaker)
        assert item["emotion"] == dataset.emotions.index(utt.emotion)
    assert dataset.mel_lengths == [u.num_frames for u in manifest]


def test_collate_shapes_and_padding(ravdess, symbols):
    dataset = TTSDataset(ravdess / "manifest.jsonl", symbols)
    items = [dataset[i] for i in range(len(dataset))]
    batch = dataset.collate(items)
    t_max = max(len(i["tokens"]) for i in items)
    f_max = max(i["mel"].shape[1] for i in items)
    assert batch["tokens"].shape == (3, t_max) and batch["tokens"].dtype == torch.long
    assert batch["mels"].shape == (3, 80, f_max) and batch["mels"].dtype == torch.float32
    assert batch["ids"] == [i["id"] for i in items]
    floor = math.log(json.loads((ravdess / "prepare.json").read_text())["audio"]["log_floor"])
    for b, item in enumerate(items):
        n, f = len(item["tokens"]), item["mel"].shape[1]
        assert batch["token_lengths"][b] == n and batch["mel_lengths"][b] == f
        assert torch.equal(batch["tokens"][b, :n], item["tokens"])
        assert (batch["tokens"][b, n:] == 0).all()
        assert torch.equal(batch["mels"][b, :, :f], item["mel"])
        assert torch.allclose(batch["mels"][b, :, f:], torch.tensor(floor))
    assert batch["speakers"].tolist() == [i["speaker"] for i in items]
    assert batch["emotions"].tolist() == [i["emotion"] for i in items]


def test_no_emotion_is_minus_one_and_unknown_speaker_fails(ravdess, symbols):
    import dataclasses

    utts = [dataclasses.replace(u, emotion=None) for u in read_manifest(ravdess / "manifest.jsonl")]
    write_manifest(ravdess / "plain.jsonl", utts)
    assert TTSDataset(ravdess / "plain.jsonl", symbols)[0]["emotion"] == -1
    with pytest.raises(DataError, match="not in the speaker list"):
        TTSDataset(ravdess / "plain.jsonl", symbols, speakers=["Actor_01"])


def test_unprepared_folder(tmp_path, symbols):
    with pytest.raises(DataError, match="prepare.json not found"):
        TTSDataset(tmp_path / "manifest.jsonl", symbols)


def _epoch(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("shuffle", [True, False])
def test_sampler_covers_every_index_once(shuffle):
    lengths = np.random.default_rng(0).integers(10, 1000, size=1003).tolist()
    sampler = LengthBucketSampler(lengths, batch_size=10, shuffle=shuffle, seed=3)
    batches = _epoch(sampler, 0)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(1003))
    assert len(batches) == len(sampler) == 101
    assert sum(len(b) < 10 for b in batches) == 1
    dropped = LengthBucketSampler(lengths, batch_size=10, shuffle=shuffle, drop_last=True)
    assert len(list(dropped)) == len(dropped) == 100
    assert all(len(b) == 10 for b in dropped)


def test_sampler_groups_similar_lengths_and_is_deterministic():
    lengths = np.random.default_rng(1).permutation(2000).tolist()
    sampler = LengthBucketSampler(lengths, batch_size=8, seed=5)
    spans = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in _epoch(sampler, 0)]
    assert np.mean(spans) < 100  # random batches of 8 from 0..1999 span ~1500
    again = LengthBucketSampler(lengths, batch_size=8, seed=5)
    assert _epoch(again, 0) == _epoch(sampler, 0)
    assert _epoch(again, 1) == _epoch(sampler, 1)
    assert _epoch(sampler, 0) != _epoch(sampler, 1)
    other_seed = LengthBucketSampler(lengths, batch_size=8, seed=6)
    assert _epoch(other_seed, 0) != _epoch(sampler, 0)


@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_shards_for_ddp(drop_last):
    lengths = list(range(95))
    shards = [LengthBucketSampler(lengths, 10, seed=1, drop_last=drop_last, num_replicas=3,
                                  rank=r) for r in range(3)]
    per_rank = [_epoch(s, 2) for s in shards]
    assert len({len(p) for p in per_rank}) == 1 and len(per_rank[0]) == len(shards[0])
    flat = [i for p in per_rank for b in p for i in b]
    full = [i for b in _epoch(LengthBucketSampler(lengths, 10, seed=1, drop_last=drop_last), 2)
            for i in b]
    if drop_last:  # 9 full batches -> 3 per rank, no repeats
        assert len(flat) == len(set(flat)) == 90
    else:  # 10 batches padded to 12: every index at least once
        assert set(flat) == set(range(95)) and set(full) == set(range(95))
    with pytest.raises(DataError, match="rank"):
        LengthBucketSampler(lengths, 10, num_replicas=2, rank=2)


def test_sampler_refuses_a_sampler_as_lengths():
    with pytest.raises(DataError, match="use_distributed_sampler=False"):
        LengthBucketSampler(torch.utils.data.SequentialSampler(range(4)), 2)


def test_datamodule_yields_batches(ravdess):
    dm = TTSDataModule(ravdess, batch_size=2)
    dm.setup("fit")
    assert dm.speakers == ["Actor_01", "Actor_02"] and dm.audio.n_mels == 80
    assert len(dm.train_set) == 2 and len(dm.val_set) == 1
    batch = next(iter(dm.train_dataloader()))
    assert batch["tokens"].shape[0] == 2 and batch["mels"].shape[:2] == (2, 80)
    assert set(batch) == {"tokens", "token_lengths", "mels", "mel_lengths", "speakers",
                          "emotions", "ids"}
    val = list(dm.val_dataloader())
    assert len(val) == 1 and val[0]["mels"].shape[0] == 1


class _Probe(L.LightningModule):
    """Records the train sampler's epoch and the batch ids seen in each epoch."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[tuple[int, int, list[str]]] = []

    def training_step(self, batch, batch_idx):
        sampler = self.trainer.train_dataloader.batch_sampler
        self.seen.append((self.current_epoch, sampler.epoch, batch["ids"]))
        return (self.weight * batch["mels"].mean()).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.mark.filterwarnings("ignore:You passed in a `val_dataloader`", "ignore::FutureWarning",
                            "ignore:.*treespec")
def test_trainer_sets_sampler_epoch(ravdess):
    probe = _Probe()
    trainer = L.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0)
    trainer.fit(probe, datamodule=TTSDataModule(ravdess, batch_size=1))
    assert [(e, s) for e, s, _ in probe.seen] == [(0, 0), (0, 0), (1, 1), (1, 1)]


def _write_tracks(folder, value):
    """Give every clip of ``folder`` the F0 ``value`` Hz on each frame and the embedding
    ``[value] * 4``, in the files ``voxclone pitch`` and ``voxclone embed`` write."""
    utterances = read_manifest(folder / "manifest.jsonl")
    ids = np.array([u.id for u in utterances])
    frames = [u.num_frames for u in utterances]
    np.savez(folder / "pitch.npz", ids=ids, offsets=np.cumsum([0, *frames]),
             values=np.full(sum(frames), value, np.float16))
    np.savez(folder / "speaker_embeddings.npz", ids=ids,
             vectors=np.full((len(ids), 4), value, np.float16))


def test_folders_sharing_clip_ids_keep_their_own_pitch_and_embeddings(ravdess, symbols,
                                                                       tmp_path):
    """Clip ids are unique only within a folder (two corpora made by one recipe both start
    at the same name): each item must carry its own folder's F0 track and embedding."""
    import shutil

    first, second = tmp_path / "first", tmp_path / "second"
    for folder, value in ((first, 100.0), (second, 200.0)):
        shutil.copytree(ravdess, folder)
        _write_tracks(folder, value)
    dataset = TTSDataset([first / "manifest.jsonl", second / "manifest.jsonl"], symbols,
                         embeddings=True, pitch=True)
    assert len(dataset) == 6
    assert [dataset[i]["id"] for i in range(3)] == [dataset[i]["id"] for i in range(3, 6)]
    for index, value in ((0, 100.0), (2, 100.0), (3, 200.0), (5, 200.0)):
        item = dataset[index]
        assert torch.all(item["pitch"] == value) and torch.all(item["speaker_embedding"] == value)
        assert torch.all(dataset.embedding_of(index) == value)
    with np.load(second / "pitch.npz") as stored:  # one clip's track one frame short
        values, offsets, ids = stored["values"], stored["offsets"], stored["ids"]
    offsets[-1] -= 1
    np.savez(second / "pitch.npz", ids=ids, offsets=offsets, values=values[:-1])
    with pytest.raises(DataError, match="no pitch track"):
        TTSDataset([first / "manifest.jsonl", second / "manifest.jsonl"], symbols, pitch=True)
