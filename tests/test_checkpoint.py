import pytest
import torch

from tts import checkpoint
from tts.checkpoint import Checkpoint
from tts.config import AudioConfig
from tts.errors import CheckpointError


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))


def _ckpt(model, kind="acoustic"):
    return Checkpoint(kind=kind, model_config={"hidden": 8}, state_dict=model.state_dict(),
                      audio_config=AudioConfig(n_mels=64),
                      symbols={"backend": "g2p_en", "symbols": ["<pad>", "AA0"]},
                      metadata={"steps": 3})


def test_round_trip_gives_identical_outputs(tmp_path):
    model = _model()
    path = checkpoint.save(tmp_path / "m.pt", _ckpt(model))
    loaded = checkpoint.load(path, kind="acoustic")
    assert loaded.audio_config == AudioConfig(n_mels=64)
    assert loaded.symbols["symbols"] == ["<pad>", "AA0"] and loaded.metadata == {"steps": 3}
    other = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    other.load_state_dict(loaded.state_dict)
    x = torch.randn(3, 4)
    assert torch.equal(model(x), other(x))
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left behind


def test_half_precision_storage(tmp_path):
    path = checkpoint.save(tmp_path / "m.pt", _ckpt(_model()), half=True)
    assert all(v.dtype == torch.float16 for v in checkpoint.load(path).state_dict.values())


def test_wrong_kind(tmp_path):
    path = checkpoint.save(tmp_path / "m.pt", _ckpt(_model(), kind="vocoder"))
    with pytest.raises(CheckpointError, match="is a 'vocoder' checkpoint, expected 'acoustic'"):
        checkpoint.load(path, kind="acoustic")


def test_missing_corrupt_truncated_foreign_and_newer(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        checkpoint.load(tmp_path / "none.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="corrupt"):
        checkpoint.load(garbage)
    good = checkpoint.save(tmp_path / "good.pt", _ckpt(_model()))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="corrupt"):
        checkpoint.load(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save(_model().state_dict(), foreign)
    with pytest.raises(CheckpointError, match="not a voxclone checkpoint"):
        checkpoint.load(foreign)
    newer = tmp_path / "newer.pt"
    payload = torch.load(good, weights_only=True)
    payload["format_version"] = checkpoint.FORMAT_VERSION + 1
    torch.save(payload, newer)
    with pytest.raises(CheckpointError, match="upgrade voxclone"):
        checkpoint.load(newer)


def test_arbitrary_objects_are_never_unpickled(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "voxclone", "obj": Evil()}, path)
    with pytest.raises(CheckpointError, match="corrupt"):
        checkpoint.load(path)


def test_symbol_table_survives_a_checkpoint(tmp_path):
    from tts.text import SymbolTable

    table = SymbolTable.for_backend("g2p_en")
    ckpt = _ckpt(_model())
    ckpt.symbols = table.to_dict()
    loaded = checkpoint.load(checkpoint.save(tmp_path / "m.pt", ckpt))
    restored = SymbolTable.from_dict(loaded.symbols)
    assert restored == table
    tokens = ["HH", "AH0", "L", "OW1", " ", "W", "ER1", "L", "D", "?"]
    assert restored.encode(tokens) == table.encode(tokens)
