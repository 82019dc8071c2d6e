"""Configuration dataclasses. ``AudioConfig`` is THE definition of the mel spectrogram.

Every model, the data preparation and the training losses build their mel from one
``AudioConfig`` (via ``tts.audio.MelSpectrogram``), so a checkpoint's audio config says exactly
which features it consumes or produces.

Configs are frozen dataclasses read strictly: an unknown key is an error, never dropped.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tts.errors import ConfigError

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    """Build the (possibly nested) frozen dataclass ``cls`` from a plain dict, strictly.

    Unknown keys, missing required keys and values of the wrong type raise ``ConfigError``.
    Nested dataclass fields accept dicts; tuple fields accept lists.
    """
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, f"{where}.{name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise ConfigError(f"{where}: {exc}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """Check ``value`` against the type ``hint``; convert dicts to dataclasses, lists to tuples."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool):
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
        return value
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """Plain-data (JSON/YAML-able) form of a config dataclass; ``from_dict`` inverts it."""
    return _plain(dataclasses.asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def load_yaml(cls: type[T], path: str | Path) -> T:
    """Read a YAML file strictly into the config class ``cls``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return from_dict(cls, data or {}, where=path.name)


@dataclasses.dataclass(frozen=True)
class AudioConfig:
    """The audio front end shared by every model.

    Mels are natural-log magnitudes of a Slaney-scale, Slaney-normalised mel filterbank applied to
    the STFT magnitude (Hann window, centred frames with reflect padding), floored at
    ``log_floor`` before the log. A clip of ``n`` samples gives ``1 + n // hop_length`` frames.
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    f_min: float = 0.0
    f_max: float = 8000.0
    log_floor: float = 1e-5

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.n_mels <= 0 or self.hop_length <= 0:
            raise ConfigError("AudioConfig: sample_rate, n_mels and hop_length must be positive")
        if not 0 < self.win_length <= self.n_fft:
            raise ConfigError("AudioConfig: need 0 < win_length <= n_fft")
        if not 0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            raise ConfigError(
                f"AudioConfig: need 0 <= f_min < f_max <= sample_rate/2 ({self.sample_rate / 2:g})"
            )
        if self.log_floor <= 0:
            raise ConfigError("AudioConfig: log_floor must be positive")

    @property
    def frames_per_second(self) -> float:
        """Mel frames per second of audio."""
        return self.sample_rate / self.hop_length

    def num_frames(self, num_samples: int) -> int:
        """Number of mel frames for a clip of ``num_samples`` samples."""
        return 1 + num_samples // self.hop_length
