"""Per-word error analysis of ASR transcripts against the text that was spoken.

The word error rate (``tts.metrics.word_error_rate``) says how many words were lost; this says
which: each reference word is aligned to what the recogniser heard in its place (jiwer's
alignment, after ``normalize_for_scoring``), and the errors are broken down by the word's place
in its sentence, its length in phonemes and the phonemes it holds. ``scripts/evaluate.py
acoustic --errors`` prints these tables for every model::

    errors = align_words(texts, heard)
    errors.wer, errors.phrases[:5]          # 0.087, [("call stella", "cole still then"), ...]
    phoneme_rows(errors, lambda word: to_phonemes(word))
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

CORRECT, SUBSTITUTED, DELETED = "correct", "substituted", "deleted"


@dataclass(frozen=True)
class WordOutcome:
    """One reference word: ``word`` as scored, ``heard`` (the recogniser's word in its place;
    ``""`` when deleted), ``kind`` (``CORRECT``, ``SUBSTITUTED`` or ``DELETED``), ``index``
    (its position in the sentence, from 0) and ``length`` (words in that sentence)."""

    word: str
    heard: str
    kind: str
    index: int
    length: int

    @property
    def wrong(self) -> bool:
        return self.kind != CORRECT


@dataclass
class WordErrors:
    """The alignment of a set of sentences: ``outcomes`` (every reference word, in order),
    ``insertions`` (words heard that stand for no reference word) and ``phrases``
    (``(reference words, heard words)`` of each maximal run of errors, e.g. ``("call stella",
    "cole still then")``)."""

    outcomes: list[WordOutcome] = field(default_factory=list)
    insertions: list[str] = field(default_factory=list)
    phrases: list[tuple[str, str]] = field(default_factory=list)

    @property
    def words(self) -> int:
        return len(self.outcomes)

    @property
    def errors(self) -> int:
        """Substitutions + deletions + insertions: the numerator of the WER."""
        return sum(o.wrong for o in self.outcomes) + len(self.insertions)

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else float("nan")


def align_words(refs: Sequence[str], hyps: Sequence[str]) -> WordErrors:
    """Align each text in ``refs`` to the transcript at the same place in ``hyps`` (both scored
    as ``tts.metrics.normalize_for_scoring`` does; its ``wer`` equals ``word_error_rate``'s).
    Sentences whose text holds no word add their transcript's words as insertions."""
    import jiwer

    from tts.metrics import normalize_for_scoring

    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    out = WordErrors()
    for ref, hyp in zip(refs, hyps, strict=True):
        ref_words = normalize_for_scoring(ref).split()
        hyp_words = normalize_for_scoring(hyp).split()
        if not ref_words:
            out.insertions.extend(hyp_words)
            continue
        if not hyp_words:  # jiwer refuses an empty transcript on either side
            out.outcomes.extend(WordOutcome(w, "", DELETED, i, len(ref_words))
                                for i, w in enumerate(ref_words))
            out.phrases.append((" ".join(ref_words), ""))
            continue
        chunks = jiwer.process_words(" ".join(ref_words), " ".join(hyp_words)).alignments[0]
        run_ref: list[str] = []
        run_hyp: list[str] = []
        for chunk in chunks:
            ref_span = ref_words[chunk.ref_start_idx:chunk.ref_end_idx]
            hyp_span = hyp_words[chunk.hyp_start_idx:chunk.hyp_end_idx]
            if chunk.type == "equal":
                if run_ref or run_hyp:
                    out.phrases.append((" ".join(run_ref), " ".join(run_hyp)))
                    run_ref, run_hyp = [], []
            else:
                run_ref += ref_span
                run_hyp += hyp_span
            if chunk.type == "insert":
                out.insertions.extend(hyp_span)
                continue
            kind = {"equal": CORRECT, "substitute": SUBSTITUTED, "delete": DELETED}[chunk.type]
            for k, word in enumerate(ref_span):
                heard = hyp_span[k] if kind != DELETED else ""
                out.outcomes.append(WordOutcome(word, heard, kind, chunk.ref_start_idx + k,
                                                len(ref_words)))
        if run_ref or run_hyp:
            out.phrases.append((" ".join(run_ref), " ".join(run_hyp)))
    return out


_STRESS = re.compile(r"\d+$")


def _rate_row(name: str, outcomes: list[WordOutcome], overall: float) -> list[str]:
    wrong = sum(o.wrong for o in outcomes)
    rate = wrong / len(outcomes) if outcomes else float("nan")
    ratio = f"{rate / overall:.1f}" if outcomes and overall > 0 else "–"
    return [name, str(len(outcomes)), str(wrong), f"{rate:.3f}" if outcomes else "–", ratio]


def position_rows(errors: WordErrors) -> list[list[str]]:
    """Rows ``[place, words, wrong, error rate, x overall]`` for the first word of each
    sentence, the last word, and the words between."""
    overall = _word_rate(errors.outcomes)
    places = {"first word": [], "middle words": [], "last word": []}
    for o in errors.outcomes:
        place = "first word" if o.index == 0 else (
            "last word" if o.index == o.length - 1 else "middle words")
        places[place].append(o)
    return [_rate_row(name, group, overall) for name, group in places.items()]


def _word_rate(outcomes: list[WordOutcome]) -> float:
    """Share of reference words substituted or deleted (insertions not counted)."""
    return sum(o.wrong for o in outcomes) / len(outcomes) if outcomes else float("nan")


def length_rows(errors: WordErrors, phonemes: Callable[[str], Sequence[str]]
                ) -> list[list[str]]:
    """Rows ``[phonemes in the word, words, wrong, error rate, x overall]`` in the bands
    1-2, 3-4, 5-6 and 7 or more."""
    overall = _word_rate(errors.outcomes)
    bands: dict[str, list[WordOutcome]] = {"1-2": [], "3-4": [], "5-6": [], "7+": []}
    for o in errors.outcomes:
        n = len(_word_phonemes(o.word, phonemes))
        band = "1-2" if n <= 2 else "3-4" if n <= 4 else "5-6" if n <= 6 else "7+"
        bands[band].append(o)
    return [_rate_row(name, group, overall) for name, group in bands.items()]


def _word_phonemes(word: str, phonemes: Callable[[str], Sequence[str]]) -> list[str]:
    """The phonemes of one word, stress digits dropped, spaces and punctuation left out."""
    try:
        tokens = phonemes(word)
    except Exception:  # noqa: BLE001 - a word the G2P cannot say counts as having no phonemes
        return []
    return [_STRESS.sub("", t) for t in tokens if any(c.isalpha() for c in t)]


def phoneme_rows(errors: WordErrors, phonemes: Callable[[str], Sequence[str]],
                 min_words: int = 5, top: int = 10) -> list[list[str]]:
    """Rows ``[phoneme, words holding it, wrong, error rate, x overall]`` for the ``top``
    phonemes whose words are most often wrong, among those in at least ``min_words`` words."""
    overall = _word_rate(errors.outcomes)
    holding: dict[str, list[WordOutcome]] = defaultdict(list)
    cache: dict[str, list[str]] = {}
    for o in errors.outcomes:
        if o.word not in cache:
            cache[o.word] = _word_phonemes(o.word, phonemes)
        for p in set(cache[o.word]):
            holding[p].append(o)
    ranked = sorted((p for p, group in holding.items() if len(group) >= min_words),
                    key=lambda p: (-_word_rate(holding[p]), p))
    return [_rate_row(p, holding[p], overall) for p in ranked[:top]]
