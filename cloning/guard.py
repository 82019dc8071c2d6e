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
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["GUARD_SENTENCES", "TierCheck", "check_voice", "guard_sentences", "held_out_target",
           "worse", "judge", "wer_tolerance", "WER_TOLERANCE", "SIMILARITY_TOLERANCE"]

GUARD_SENTENCES = (
    "The children ran down to the beach as soon as the rain stopped.",
    "Please put the green folder back on the shelf by the door.",
    "He said the bus would be late because of the snow on the hill.",
    "We bought fresh bread, two lemons and a jar of honey at the market.",
    "My sister called to say that her flight landed an hour early.",
    "The old bridge was closed, so we drove the long way around the lake.",
    "Could you turn the music down a little while I finish this letter?",
    "Every morning the baker opens his shop before the sun comes up.",
    "The kettle began to whistle just as the guests knocked at the door.",
    "She keeps her spare keys in a small tin under the kitchen sink.",
    "Our friends painted their fence blue and planted roses along the path.",
    "If the train is full, we will wait for the next one.",
    "The teacher asked everyone to bring a pencil, a ruler and some paper.",
    "A young fox crossed the field and vanished into the tall grass.",
    "They moved the meeting to Thursday because the manager was away.",
    "Wash the cups and plates, then dry them with a clean towel.",
    "The library will stay open late on Friday for the book sale.",
    "He fixed the broken chair with glue and a few small nails.",
    "When the wind changed, the boats turned slowly back toward the shore.",
    "Mother wrapped the cheese in paper and put it in the cool cellar.",
    "Three boys were playing football in the street after school.",
    "I think the weather will be warm and dry for most of the week.",
    "Turn left at the church, and the post office is on your right.",
    "The doctor told him to rest his knee and drink plenty of water.",
)
"""What a voice says for the guard (24 everyday sentences written for it, 301 words as scored). A
quick clone's guard speaks the first four (53 words: its budget is two minutes); a few-shot
clone's, all of them (``guard_sentences``)."""
QUICK_GUARD_SENTENCES = 4

WER_TOLERANCE = 0.05
"""How much more WER a higher tier may lose than the tier below on ``TOLERANCE_WORDS`` words or
fewer (two or three words of 53, five of 104: Whisper's own spread on one voice's re-synthesis)
before it counts as worse; on more words the allowance shrinks with the square root of their
number (``wer_tolerance``), as the spread of a word error rate does. With four sentences a
few-shot voice that heard 4 words wrong against the instant voice's 2 was refused, although on
10 other sentences the two scored 0.177 and 0.168: hence more for few-shot. With eight (104
words) a few-shot voice 0.048 worse passed, yet lost 0.062 more over 370 other words (session
24): hence 24, whose allowance is 0.029."""
TOLERANCE_WORDS = 104


def wer_tolerance(words: int) -> float:
    """The WER a higher tier may lose over ``words`` reference words (``WER_TOLERANCE``; 0:
    unknown, the full allowance)."""
    return WER_TOLERANCE * math.sqrt(TOLERANCE_WORDS / max(words, TOLERANCE_WORDS))


MIN_SECONDS = 0.5
"""A spoken guard sentence shorter than this is not embedded (too short for the encoder)."""
SIMILARITY_TOLERANCE = 0.01
"""A higher tier may be this much less similar to the held-out speech before it counts as
worse."""


@dataclasses.dataclass
class TierCheck:
    """What the guard measured of one tier's voice: ``wer`` of the guard sentences (NaN without
    Whisper) over their ``words`` reference words (0: unknown), mean ``similarity`` to the
    held-out reference speech (NaN when no sentence came out long enough to embed), what
    Whisper ``heard``."""

    tier: str
    wer: float
    similarity: float
    heard: list[str]
    words: int = 0

    def to_dict(self) -> dict:
        return {"tier": self.tier, "wer": None if np.isnan(self.wer) else round(self.wer, 3),
                "words": self.words,
                "similarity": None if np.isnan(self.similarity) else round(self.similarity, 3),
                "heard": self.heard}

    def summary(self) -> str:
        wer = "WER not measured" if np.isnan(self.wer) else f"WER {self.wer:.3f}" + (
            f" over {self.words} words" if self.words else "")
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
    from tts.metrics import normalize_for_scoring, word_error_rate
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
    words = sum(len(normalize_for_scoring(text).split()) for text in sentences)
    return TierCheck(tier, wer, similarity, heard, words)


def worse(candidate: TierCheck, below: TierCheck) -> str | None:
    """Why ``candidate`` speaks worse than ``below`` (the tier under it, measured on the same
    sentences), or None."""
    reasons = []
    if not np.isnan(candidate.wer) and not np.isnan(below.wer) \
            and candidate.wer > below.wer + wer_tolerance(candidate.words):
        reasons.append(f"WER {candidate.wer:.3f} against {below.wer:.3f}")
    if np.isnan(candidate.similarity) and not np.isnan(below.similarity):
        reasons.append("no speech long enough to compare")
    elif candidate.similarity < below.similarity - SIMILARITY_TOLERANCE:
        reasons.append(f"similarity {candidate.similarity:.3f} against {below.similarity:.3f}")
    return "; ".join(reasons) or None
