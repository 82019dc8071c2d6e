"""data.balance: fixed shares of the training draws per folder, through the sampler and config."""

from __future__ import annotations

import numpy as np
import pytest
from data_fixtures import make_shared

from data.balance import FolderShare, item_weights
from data.datamodule import TTSDataModule
from data.dataset import LengthBucketSampler
from data.prepare import prepare
from tts.config import from_dict
from tts.errors import DataError
from tts.training.acoustic_task import AcousticTrainingConfig

FOLDERS = ["real"] * 10 + ["syn-1"] * 30 + ["syn-2"] * 60


def test_shares_are_split_evenly_within_a_pattern_and_the_rest():
    weights = item_weights(FOLDERS, [FolderShare("syn-*", 0.25)])
    names = np.array(FOLDERS)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[names != "real"].sum() == pytest.approx(0.25)
    assert weights[names == "real"].sum() == pytest.approx(0.75)
    assert len(set(np.round(weights[names != "real"], 12))) == 1  # each synthetic clip alike
    two = item_weights(FOLDERS, [FolderShare("syn-1", 0.2), FolderShare("syn-2", 0.3)])
    assert two[names == "syn-1"].sum() == pytest.approx(0.2)
    assert two[names == "syn-2"].sum() == pytest.approx(0.3)
    whole = item_weights(FOLDERS, [FolderShare("*", 1.0)])
    assert np.allclose(whole, 1 / len(FOLDERS))
    assert item_weights(FOLDERS, []) is None


@pytest.mark.parametrize("shares, message", [
    ([FolderShare("syn-*", 0.0)], "not in"),
    ([FolderShare("syn-*", 1.5)], "not in"),
    ([FolderShare("tts-*", 0.5)], "matches none"),
    ([FolderShare("syn-*", 0.3), FolderShare("syn-2", 0.2)], "matches both"),
    ([FolderShare("syn-*", 0.6), FolderShare("real", 0.6)], "add up to 1.2"),
    ([FolderShare("syn-*", 1.0)], "add up to 1"),      # nothing left for "real"
    ([FolderShare("syn-*", 0.5), FolderShare("real", 0.3)], "add up to 0.8"),  # nothing takes 0.2
])
def test_impossible_shares_are_refused(shares, message):
    with pytest.raises(DataError, match=message):
        item_weights(FOLDERS, shares)


def test_weighted_sampler_draws_the_shares_and_stays_deterministic():
    folders = ["real"] * 2000 + ["syn"] * 8000
    weights = item_weights(folders, [FolderShare("syn", 0.5)])
    lengths = np.random.default_rng(0).integers(50, 500, size=len(folders)).tolist()
    sampler = LengthBucketSampler(lengths, batch_size=16, seed=4, weights=weights)
    sampler.set_epoch(0)
    batches = list(sampler)
    drawn = np.array([i for batch in batches for i in batch])
    assert len(drawn) == len(folders) and len(batches) == len(sampler)
    assert (drawn >= 2000).mean() == pytest.approx(0.5, abs=0.03)  # unweighted: 0.8
    again = LengthBucketSampler(lengths, batch_size=16, seed=4, weights=weights)
    again.set_epoch(0)
    assert list(again) == batches
    sampler.set_epoch(1)
    assert list(sampler) != batches


@pytest.mark.parametrize("kwargs", [{"shuffle": False, "weights": [1.0] * 4},
                                    {"weights": [1.0] * 3}, {"weights": [1.0, -1.0, 1.0, 1.0]},
                                    {"weights": [0.0] * 4}])
def test_sampler_refuses_bad_weights(kwargs):
    with pytest.raises(DataError, match="sampling weights"):
        LengthBucketSampler([10, 20, 30, 40], 2, **kwargs)


def test_config_reads_folder_shares():
    config = from_dict(AcousticTrainingConfig, {"folder_shares": [
        {"pattern": "festival-slt*", "share": 0.5}]})
    assert config.folder_shares == (FolderShare("festival-slt*", 0.5),)


def test_datamodule_checks_shares_before_training_and_samples_by_them(tmp_path):
    out = tmp_path / "rav-prepared"
    prepare("ravdess-speech", make_shared(tmp_path, "ravdess-speech"), out, workers=1,
            val_fraction=0.5, progress=False)
    with pytest.raises(DataError, match="matches none"):
        TTSDataModule(out, batch_size=1, folder_shares=[FolderShare("festival-*", 0.5)])
    dm = TTSDataModule(out, batch_size=1, folder_shares=[FolderShare("rav-*", 1.0)])
    loader = dm.train_dataloader()
    assert np.allclose(loader.batch_sampler.weights, 1 / len(dm.train_set))
    assert dm.train_set.item_folders == ["rav-prepared"] * len(dm.train_set)
    assert len(list(loader)) == len(dm.train_set)
