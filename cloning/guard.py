"""The cloning guard: every tier measures the voice it made before it is saved.

A voice is checked by speaking ``GUARD_SENTENCES`` (everyday sentences no reference reads):
Whisper (``tts.asr``) transcribes them (word error rate against the text), and the speaker
encoder compares them with held-out reference speech (mean cosine of each utterance's embedding
to the mean embedding of the held-out clips). ``clone_voice`` measures the instant voice and each
higher tier it builds, and keeps a higher tier only when it does not speak worse than the one
below it (``worse``): more words lost, or further from the speaker.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["GUARD_SENTENCES", "TierCheck", "check_voice", "guard_sentences", "held_out_target",
           "worse", "judge", "WER_TOLERANCE", "SIMILARITY_TOLERANCE"]

GUARD_SENTENCES = (
    "The children ran down to the beach as soon as the rain stopped.",
    "Please put the green folder back on the shelf by the door.",
    "He said the bus would be late because of the snow on the hill.",
    "We bought fresh bread, two lemons and a jar of honey at the market.",
    "My sister called to say that her flight landed an hour early.",
    "The old bridge was closed, so we drove the long way around the lake.",
    "Could you turn the music down a little while I finish this letter?",
    "Every morning the baker opens his shop before the sun comes up.",
)
"""What a voice says for the guard (95 words). A quick clone's guard speaks the first four (43
words: its budget is two minutes); a few-shot clone's, all eight (``guard_sentences``)."""
QUICK_GUARD_SENTENCES = 4

WER_TOLERANCE = 0.05
"""A higher tier may lose this much more WER than the tier below (two words of 43, four or five
of 95: Whisper's own spread on one voice's re-synthesis) before it counts as worse. With four
sentences a few-shot voice that heard 4 words wrong against the instant voice's 2 was refused,
although on 10 other sentences the two scored 0.177 and 0.168: hence eight for few-shot."""
MIN_SECONDS = 0.5
"""A spoken guard sentence shorter than this is not embedded (too short for the encoder)."""
SIMILARITY_TOLERANCE = 0.01
"""A higher tier may be this much less similar to the held-out speech before it counts as
worse."""


@dataclasses.dataclass
class TierCheck:
    """What the guard measured of one tier's voice: ``wer`` of the guard sentences (NaN without
    Whisper), mean ``similarity`` to the held-out reference speech (NaN when no sentence came
    out long enough to embed), what Whisper ``heard``."""

    tier: str
    wer: float
    similarity: float
    heard: list[str]

    def to_dict(self) -> dict:
        return {"tier": self.tier, "wer": None if np.isnan(self.wer) else round(self.wer, 3),
                "similarity": None if np.isnan(self.similarity) else round(self.similarity, 3),
                "heard": self.heard}

    def summary(self) -> str:
        wer = "WER not measured" if np.isnan(self.wer) else f"WER {self.wer:.3f}"
        similarity = ("no speech long enough to compare" if np.isnan(self.similarity)
                      else f"similarity {self.similarity:.3f} to held-out speech")
        return f"{self.tier}: {wer}, {similarity}"


def judge(report) -> object | None:
    """The guard's recogniser: Whisper (``tts.asr``), or None (with a line to ``report``) when
    only pocketsphinx is there, whose errors on clean speech would drown the differences."""
    from tts.asr import load_transcriber

    transcriber = load_transcriber("whisper")
    if not transcriber.name.startswith("whisper"):
        report(f"guard: intelligibility not measured ({transcriber.fallback})")
        return None
    return transcriber


def held_out_target(paths: Sequence[Path], encoder) -> np.ndarray:
    """Unit mean embedding ``(D,)`` of the audio files ``paths`` (the held-out reference)."""
    from cloning.encoder import average_embeddings, embed_files

    return average_embeddings(embed_files(encoder, paths))


def guard_sentences(tier: str) -> tuple[str, ...]:
    """The sentences every voice of a clone whose highest tier is ``tier`` speaks."""
    return GUARD_SENTENCES[:QUICK_GUARD_SENTENCES] if tier == "quick" else GUARD_SENTENCES


def check_voice(tier: str, engine, target: np.ndarray, encoder, transcriber=None,
                sentences: Sequence[str] = GUARD_SENTENCES) -> TierCheck:
    """Speak ``sentences`` with ``engine`` (a ``tts.neural_engine.NeuralEngine`` with the
    tier's voice) and measure them: WER by ``transcriber`` (a ``tts.asr`` Whisper transcriber;
    None: not measured) and similarity to ``target`` (``held_out_target``)."""
    from cloning.reference import REFERENCE_RATE
    from tts.audio import resample
    from tts.metrics import word_error_rate
    from tts.text import normalize

    spoken = [engine.speak(normalize(text)) for text in sentences]
    wavs = [resample(np.asarray(w, np.float32), rate, REFERENCE_RATE) for w, rate in spoken]
    long_enough = [w for w in wavs if len(w) >= MIN_SECONDS * REFERENCE_RATE]
    similarity = float("nan")  # a voice that says (almost) nothing has no similarity
    if long_enough:
        similarity = float(np.mean(encoder.embed_many(long_enough, REFERENCE_RATE) @ target))
    heard: list[str] = []
    wer = float("nan")
    if transcriber is not None:
        heard = [transcriber.transcribe(w, REFERENCE_RATE) for w in wavs]
        wer = word_error_rate(list(sentences), heard)
    return TierCheck(tier, wer, similarity, heard)


def worse(candidate: TierCheck, below: TierCheck) -> str | None:
    """Why ``candidate`` speaks worse than ``below`` (the tier under it), or None."""
    reasons = []
    if not np.isnan(candidate.wer) and not np.isnan(below.wer) \
            and candidate.wer > below.wer + WER_TOLERANCE:
        reasons.append(f"WER {candidate.wer:.3f} against {below.wer:.3f}")
    if np.isnan(candidate.similarity) and not np.isnan(below.similarity):
        reasons.append("no speech long enough to compare")
    elif candidate.similarity < below.similarity - SIMILARITY_TOLERANCE:
        reasons.append(f"similarity {candidate.similarity:.3f} against {below.similarity:.3f}")
    return "; ".join(reasons) or None
