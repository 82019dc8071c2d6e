import dataclasses

import pytest

from tts.config import AudioConfig, from_dict, load_yaml, to_dict
from tts.errors import ConfigError


def test_defaults_match_the_agreed_front_end():
    c = AudioConfig()
    assert (c.sample_rate, c.n_fft, c.hop_length, c.win_length, c.n_mels) == (22050, 1024, 256, 1024, 80)
    assert (c.f_min, c.f_max) == (0.0, 8000.0)
    assert c.num_frames(22050) == 87


def test_round_trip_through_dict():
    c = AudioConfig(sample_rate=16000, f_max=7600)
    assert from_dict(AudioConfig, to_dict(c)) == c


def test_unknown_key_is_an_error():
    with pytest.raises(ConfigError, match="unknown key.*hop_size"):
        from_dict(AudioConfig, {"hop_size": 256})


def test_wrong_type_is_an_error():
    with pytest.raises(ConfigError, match="sample_rate: expected int"):
        from_dict(AudioConfig, {"sample_rate": "22050"})


def test_ints_are_accepted_for_floats():
    assert from_dict(AudioConfig, {"f_max": 7000}).f_max == 7000.0


@pytest.mark.parametrize("kwargs", [{"f_max": 20000.0}, {"win_length": 2048}, {"n_mels": 0},
                                    {"log_floor": 0.0}])
def test_inconsistent_values_are_refused(kwargs):
    with pytest.raises(ConfigError):
        AudioConfig(**kwargs)


@dataclasses.dataclass(frozen=True)
class _Nested:
    audio: AudioConfig = AudioConfig()
    sizes: tuple[int, ...] = (1, 2)
    name: str | None = None


def test_nested_configs_and_tuples(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("audio: {n_mels: 64}\nsizes: [3, 4, 5]\n")
    c = load_yaml(_Nested, path)
    assert c.audio.n_mels == 64 and c.sizes == (3, 4, 5) and c.name is None
    with pytest.raises(ConfigError, match="audio: unknown key"):
        from_dict(_Nested, {"audio": {"n_mel": 64}})


def test_missing_and_broken_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(AudioConfig, tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(AudioConfig, bad)
