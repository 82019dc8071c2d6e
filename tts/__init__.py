"""voxclone: multi-speaker text-to-speech with few-shot voice cloning.

The Python API (docs/api.md)::

    from tts import Synthesizer

    audio = Synthesizer(voice="kathleen").speak("Hello there.")
    audio.save("hello.wav")

``import tts`` stays cheap (no torch, no models): the names below load their module on first
use, so ``import tts.cli`` or ``import tts.text`` pays only for what it uses.

* :class:`Synthesizer` - text to speech with a bundled or cloned voice (``tts.synthesizer``).
* :class:`SynthesisResult` - what ``Synthesizer.speak`` returns: ``samples``, ``sample_rate``,
  ``save(path)``.
* :class:`VoxcloneError` - the base class of every error voxclone raises for bad input.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Synthesizer", "SynthesisResult", "VoxcloneError", "__version__"]

_EXPORTS = {
    "Synthesizer": "tts.synthesizer",
    "SynthesisResult": "tts.synthesizer",
    "VoxcloneError": "tts.errors",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from tts.errors import VoxcloneError
    from tts.synthesizer import SynthesisResult, Synthesizer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
