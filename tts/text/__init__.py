"""Text front end: normalization, grapheme-to-phoneme conversion, symbol tables, splitting.

Importing this package is cheap: :func:`normalize` (plain regexes) is imported at once, so that
the function, not its submodule of the same name, is what ``tts.text.normalize`` names; the other
names load on first use, and the heavy dependencies (g2p-en, nltk, phonemizer) only when
:func:`to_phonemes` first runs. No torch or
model code is imported from here.

* :func:`normalize` - clean text and spell out numbers, abbreviations and symbols.
* :func:`to_phonemes` - text to phoneme tokens (``"g2p_en"`` ARPAbet or ``"espeak"`` IPA).
* :class:`SymbolTable` - phoneme tokens <-> ids (stored in checkpoints).
* :func:`split_text` - long text to sentence-sized chunks.
* :func:`ensure_nltk_data` - build the offline NLTK data g2p-en needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tts.text.normalize import UnknownCharacterWarning, normalize

__all__ = [
    "normalize",
    "to_phonemes",
    "phoneme_ids",
    "split_text",
    "SymbolTable",
    "UnknownCharacterWarning",
    "ensure_nltk_data",
]

_EXPORTS = {
    "to_phonemes": "tts.text.g2p",
    "phoneme_ids": "tts.text.g2p",
    "split_text": "tts.text.split",
    "SymbolTable": "tts.text.symbols",
    "ensure_nltk_data": "tts.text.nltk_data",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from tts.text.g2p import phoneme_ids, to_phonemes
    from tts.text.nltk_data import ensure_nltk_data
    from tts.text.split import split_text
    from tts.text.symbols import SymbolTable


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
