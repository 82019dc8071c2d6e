"""Where the checkpoints shipped in the repository live: the one place for their paths.

A leaf: imports nothing but ``pathlib``. Which vocoder a model is spoken with is
``tts.neural_engine.default_vocoder``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CHECKPOINTS", "DEFAULT_ACOUSTIC", "DEFAULT_ENCODER", "DEFAULT_VOCODER",
           "PITCH_VOCODER", "RESYNTHESIS_VOCODER", "BUNDLED_VOICES"]

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
DEFAULT_ACOUSTIC = CHECKPOINTS / "acoustic" / "multispeaker.pt"
"""The multi-speaker model with explicit pitch, conditioned on speaker embeddings: the default
voice's model, whose first training speaker is kathleen (it speaks her better than the
single-speaker kathleen.pt; see its card), and the base of cloned voices."""
DEFAULT_VOCODER = CHECKPOINTS / "vocoder" / "istft-small-kathleen.pt"
"""The vocoder of models without pitch (``default_vocoder``): it reads the pitch from the mel,
and on those models' mels puts out the frame rate (see checkpoints/vocoder/README.md)."""
PITCH_VOCODER = CHECKPOINTS / "vocoder" / "sourcefilter.pt"
"""The pitch-driven vocoder (``tts.models.source_filter``): given the F0, so voices keep their
pitch and ``--pitch`` moves it exactly. The vocoder of every model with pitch (``default_vocoder``)
and of ``voxclone vocode``."""
RESYNTHESIS_VOCODER = PITCH_VOCODER
"""The vocoder of ``voxclone vocode`` (copy synthesis, F0 tracked from the input): on held-out
clips of three corpora it beats both iSTFT vocoders on DNSMOS and pitch error at the same WER
(see checkpoints/vocoder/README.md)."""
DEFAULT_ENCODER = CHECKPOINTS / "encoder" / "ge2e.pt"
"""The shipped speaker encoder (``cloning.encoder.load_default``; card
checkpoints/encoder/README.md)."""
BUNDLED_VOICES = CHECKPOINTS / "voices.json"
"""The named bundled voices (``tts.voices.bundled_voices``)."""
