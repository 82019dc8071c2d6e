"""Consent for cloning a voice: the speaker reads a fixed sentence naming the new voice.

``check_consent(recording, reference_audio, voice_name)`` accepts a consent recording only when

(a) **the sentence is in it**: an offline recogniser (``ConsentSentenceChecker``: Whisper base,
    the recogniser every other part of voxclone uses) transcribes the recording, and the score is
    the share of the sentence's phones in the longest in-order match between the words heard and
    the sentence's (as spoken words: "V2" is "v two"); the voice's name must be heard after
    "named" too. Reading another sentence, or only the voice name, matches almost nothing;
(b) **it is the same voice**: the cosine between the speaker-encoder embedding of the recording
    and the mean embedding of the reference audio reaches ``SPEAKER_THRESHOLD``.

The result is a ``ConsentRecord`` (``tts.profiles``: hashes of every file, the free transcript,
both scores and thresholds, the decision, the UTC date and the voxclone version) that a voice
profile keeps; a rejection raises ``ConsentError`` (one line: which check failed, score vs
threshold) with the rejected record in ``.record``. ``override_record(reason, note)`` is the one
way around the check, for a researcher's own voice or licensed data; the record says that it was
used and why.
Thresholds and measured rates: ``scripts/evaluate.py consent`` and docs/consent.md.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import math
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tts.asr import ASR_SAMPLE_RATE
from tts.audio import SILENCE_DBFS, load_audio, resample, to_mono, trim_silence
from tts.errors import AudioError, ConsentError, TextError
from tts.profiles import ConsentRecord, file_sha256

CONSENT_TEMPLATE = "I own this voice, and I allow voxclone to create a voice named {name}."
"""The sentence a consent recording reads; ``{name}`` is the voice name as spoken words."""

SENTENCE_THRESHOLD = 0.3
"""Least share of the sentence's phones in words heard in order. Measured with Whisper base
(``scripts/evaluate.py consent``, 2026-12-07): espeak-ng readings of the consent sentence
(4 voices x 2 speeds x 2 names) score 0.54 to 0.82, espeak readings of other sentences at most
0.04 and 40 real recordings of other text at most 0.09; the same 40 recordings checked against
their own text score 0.36 to 1.00 (median 1.00), against another clip's text at most 0.09 but
for RAVDESS's two near-identical sentences (0.50; see docs/consent.md)."""

NAME_THRESHOLD = 0.5
"""Share of the voice name's phones that must be heard, in order, after "named": the sentence
check alone accepted a recording that named another voice (most of the sentence matches)."""

SPEAKER_THRESHOLD = 0.78
"""Least cosine between the consent recording and the mean reference embedding of the default
encoder. Measured on 108 real speakers (Common Voice, RAVDESS, speechocean762; one clip against
the mean of 3 others): 0.5% of 11,556 different-speaker trials reach it (1.5% at 0.75), 12% of
same-speaker trials miss it (mostly acted emotional RAVDESS clips)."""

MIN_CONSENT_SECONDS = 1.5
"""A consent recording with less sound than this cannot hold the sentence."""

OVERRIDE_REASONS = {
    "own-voice": "the person cloning the voice is its speaker (a researcher's own voice)",
    "licensed-data": "the reference audio is licensed for voice cloning",
}
"""The only accepted reasons to skip the consent check, with what each asserts."""

_PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH "
           "UH UW V W Y Z ZH").split()


# -- the sentence ------------------------------------------------------------------------------
def spoken_words(text: str) -> list[str]:
    """``text`` as the lower-case words a person reads aloud: separators (``_-./``) become
    spaces, camelCase and letter-digit runs are split, numbers are spelled out
    (``"kathleen_v2"`` and ``"Kathleen V2."`` -> ``["kathleen", "v", "two"]``)."""
    from tts.text import normalize

    text = re.sub(r"[_\-./\\:+]+", " ", str(text))
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = normalize(text).lower() if text.strip() else ""
    return re.sub(r"[^a-z ]+", " ", text.replace("'", "")).split()


def speakable_name(voice_name: str) -> str:
    """``voice_name`` as spoken words (``spoken_words``: ``"kathleen_v2"`` -> ``"kathleen v
    two"``). ``TextError`` when nothing speakable is left, or more than 8 words."""
    words = spoken_words(voice_name)
    if not words:
        raise TextError(f"voice name {voice_name!r} has no speakable words (use letters or digits)")
    if len(words) > 8:
        raise TextError(f"voice name {voice_name!r} is too long to read aloud "
                        f"({len(words)} words, at most 8)")
    return " ".join(words)


def consent_sentence(voice_name: str) -> str:
    """The consent sentence for ``voice_name``, e.g. ``"I own this voice, and I allow voxclone to
    create a voice named kathleen v two."``"""
    return CONSENT_TEMPLATE.format(name=speakable_name(voice_name))


# -- (a) the sentence check --------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SentenceMatch:
    """What ``ConsentSentenceChecker.check`` found: ``score`` (share of the sentence's phones in
    heard words, 0 to 1), the ``heard`` words in order, and the free ``transcript``."""

    score: float
    heard: tuple[str, ...]
    transcript: str
    name_score: float = 0.0
    """Share of the phones of the words after the sentence's last "named" (the voice name)
    heard in order after the last heard "named" (or in the last few heard words)."""


class ConsentSentenceChecker:
    """Finds a given sentence in a recording: an offline recogniser transcribes it
    (``tts.asr.load_transcriber``: Whisper base, else tiny.en, else pocketsphinx's free decoding,
    which ``version`` then names) and the words heard are matched in order against the
    sentence's (``_phone_share``). The recogniser is loaded once and reused.

    Words are compared as spoken words (``spoken_words``: "V2" is "v two") and by their
    pronunciation ("too" is "two"), and two heard words that make one sentence word ("vox
    clone") count as that word. About 0.45 s per second of audio with Whisper base on one
    thread (measured beside other jobs; the pocketsphinx grammar it replaced took 3.5 s).
    """

    def __init__(self, transcriber=None) -> None:
        from tts.asr import load_transcriber

        self._asr = transcriber if transcriber is not None else load_transcriber("whisper")
        self.version = self._asr.name
        if getattr(self._asr, "fallback", ""):
            self.version += f" (fallback: {self._asr.fallback})"
        self._phones: dict[str, list[str]] = {}

    def _pronunciation(self, word: str) -> list[str]:
        """ARPAbet phones of ``word`` without stress (at least one: the word's weight)."""
        if word not in self._phones:
            from tts.text import to_phonemes

            phones = [re.sub(r"\d", "", p) for p in to_phonemes(word)]
            self._phones[word] = [p for p in phones if p in _PHONES] or [word]
        return self._phones[word]

    def transcribe(self, wav: np.ndarray, sample_rate: int) -> str:
        """The recogniser's words for mono ``wav``."""
        return self._asr.transcribe(wav, sample_rate)

    def check(self, wav: np.ndarray, sample_rate: int, sentence: str) -> SentenceMatch:
        """Score how much of ``sentence`` is read, in order, in mono ``wav (samples,)``."""
        words = spoken_words(sentence)  # the same form as the words heard
        if not words:
            raise TextError("the consent sentence has no words")
        transcript = self.transcribe(wav, sample_rate)
        heard = _join_compounds(spoken_words(transcript), set(words))
        score = _phone_share(heard, words, self._pronunciation)
        name_words = words[len(words) - words[::-1].index("named"):] if "named" in words else []
        if "named" in heard:
            tail = heard[len(heard) - heard[::-1].index("named"):]
        else:
            tail = heard[-(len(name_words) + 1):]
        name_score = _phone_share(tail, name_words, self._pronunciation) if name_words else 1.0
        return SentenceMatch(score=score, heard=tuple(heard), transcript=transcript,
                             name_score=name_score)


def _join_compounds(heard: list[str], wanted: set[str]) -> list[str]:
    """``heard`` with each pair of neighbours that spells a ``wanted`` word, and is not two
    wanted words itself, joined ("vox", "clone" -> "voxclone")."""
    joined: list[str] = []
    i = 0
    while i < len(heard):
        pair = heard[i] + heard[i + 1] if i + 1 < len(heard) else ""
        if pair in wanted and not (heard[i] in wanted and heard[i + 1] in wanted):
            joined.append(pair)
            i += 2
        else:
            joined.append(heard[i])
            i += 1
    return joined


def _phone_share(heard: Sequence[str], words: Sequence[str], pronounce) -> float:
    """Share of the phones of ``words`` in the best in-order match with ``heard`` (a longest
    common subsequence weighted by phone counts, so stray words heard in between do no harm);
    a heard word matches a sentence word spelled or pronounced the same (``pronounce``)."""
    weights = [len(pronounce(w)) for w in words]
    best = [0] * (len(heard) + 1)  # best[j]: matched phones of words[:i] against heard[:j]
    for word, weight in zip(words, weights, strict=True):
        previous, best = best, [0] * (len(heard) + 1)
        for j, token in enumerate(heard, start=1):
            same = token == word or pronounce(token) == pronounce(word)  # "too" is "two"
            best[j] = max(previous[j], best[j - 1], previous[j - 1] + weight if same else 0)
    total = sum(weights)
    return best[-1] / total if total else 0.0


# -- (b) the speaker check ---------------------------------------------------------------------
def speaker_similarity(encoder, recording: np.ndarray, reference: Sequence[np.ndarray],
                       sample_rate: int) -> float:
    """Cosine between the embedding of ``recording`` and the mean embedding of ``reference``
    (``cloning.encoder.SpeakerEncoder``); every clip mono at ``sample_rate``."""
    from cloning.encoder import average_embeddings

    embeddings = encoder.embed_many([recording, *reference], sample_rate)
    voice = average_embeddings(embeddings[1:])
    return float(np.dot(embeddings[0], voice))


# -- inputs ------------------------------------------------------------------------------------
AudioInput = str | Path | np.ndarray


def _sha256(item: AudioInput) -> str:
    if isinstance(item, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(item, dtype=np.float32).tobytes()).hexdigest()
    return file_sha256(item)


def _load(item: AudioInput, what: str, sample_rate: int | None, min_seconds: float) -> np.ndarray:
    """Mono float32 at ``ASR_SAMPLE_RATE``, silence trimmed (not loudness-normalised);
    ``AudioError``."""
    if isinstance(item, (str, Path)):
        try:
            return load_audio(item, ASR_SAMPLE_RATE, normalize=False, min_duration=min_seconds)
        except AudioError as exc:
            raise AudioError(f"{what}: {exc}") from None
    if not isinstance(item, np.ndarray):
        raise AudioError(f"{what}: expected a file path or a waveform array, "
                         f"got {type(item).__name__}")
    if sample_rate is None:
        raise AudioError(f"{what}: a waveform array needs sample_rate")
    wav = to_mono(item)
    if wav.size == 0 or not np.isfinite(wav).all():
        raise AudioError(f"{what}: audio is empty or has NaN/infinite samples")
    peak = float(np.abs(wav).max())
    if peak <= 0 or 20 * math.log10(peak) < SILENCE_DBFS:
        raise AudioError(f"{what}: audio is silent")
    wav = trim_silence(resample(wav, int(sample_rate), ASR_SAMPLE_RATE), ASR_SAMPLE_RATE)
    if len(wav) / ASR_SAMPLE_RATE < min_seconds:
        raise AudioError(f"{what}: audio too short: {len(wav) / ASR_SAMPLE_RATE:.2f} s of "
                         f"sound, need at least {min_seconds:.2f} s")
    return wav


def _voxclone_version() -> str:
    import tts

    return str(getattr(tts, "__version__", "unknown"))


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


# -- the check ---------------------------------------------------------------------------------
def check_consent(recording: AudioInput, reference_audio: Sequence[AudioInput], voice_name: str,
                  *, sample_rate: int | None = None, encoder=None,
                  checker: ConsentSentenceChecker | None = None,
                  sentence_threshold: float = SENTENCE_THRESHOLD,
                  speaker_threshold: float = SPEAKER_THRESHOLD) -> ConsentRecord:
    """Check a consent recording against ``consent_sentence(voice_name)`` and the reference audio.

    ``recording`` and each of ``reference_audio`` are file paths or mono waveforms at
    ``sample_rate``. ``encoder`` defaults to ``cloning.encoder.load_default()``, ``checker`` to a
    new ``ConsentSentenceChecker`` (pass both to check many recordings). Returns the accepted
    ``ConsentRecord``; raises ``ConsentError`` (with ``.record``) when a check fails and
    ``AudioError`` / ``TextError`` for unusable input.
    """
    sentence = consent_sentence(voice_name)
    if isinstance(reference_audio, (str, Path, np.ndarray)):
        reference_audio = [reference_audio]
    if len(reference_audio) == 0:
        raise AudioError("no reference audio given: the consent recording is compared with it")
    wav = _load(recording, "consent recording", sample_rate, MIN_CONSENT_SECONDS)
    from cloning.encoder import load_default

    encoder = encoder if encoder is not None else load_default()
    min_ref = encoder.config.min_seconds
    refs = [_load(item, f"reference audio {i + 1}", sample_rate, min_ref)
            for i, item in enumerate(reference_audio)]
    checker = checker if checker is not None else ConsentSentenceChecker()
    match = checker.check(wav, ASR_SAMPLE_RATE, sentence)
    similarity = speaker_similarity(encoder, wav, refs, ASR_SAMPLE_RATE)
    failures = []
    if not match.score >= sentence_threshold:
        failures.append(f"the consent sentence was not found in the recording (sentence match "
                        f"{match.score:.2f} < threshold {sentence_threshold:.2f})")
    elif not match.name_score >= NAME_THRESHOLD:
        failures.append(f"the recording does not name the voice {speakable_name(voice_name)!r} "
                        f"(name match {match.name_score:.2f} < threshold {NAME_THRESHOLD:.2f})")
    if not similarity >= speaker_threshold:
        failures.append(f"the recording's voice does not match the reference audio (speaker "
                        f"similarity {similarity:.2f} < threshold {speaker_threshold:.2f})")
    record = ConsentRecord(
        voice_name=voice_name, sentence=sentence,
        decision="rejected" if failures else "accepted", date=_now(),
        voxclone_version=_voxclone_version(), recording_sha256=_sha256(recording),
        reference_sha256=tuple(_sha256(item) for item in reference_audio),
        transcript=match.transcript, heard=" ".join(match.heard),
        sentence_score=round(match.score, 4), sentence_threshold=sentence_threshold,
        name_score=round(match.name_score, 4),
        speaker_similarity=round(similarity, 4), speaker_threshold=speaker_threshold,
        asr=checker.version, encoder=_encoder_name(encoder))
    if failures:
        error = ConsentError("consent rejected: " + "; and ".join(failures))
        error.record = record
        raise error
    return record


def _encoder_name(encoder) -> str:
    """Which speaker encoder scored the voice: its class and a hash of its weights."""
    from cloning.corpus_embeddings import encoder_fingerprint

    return f"{type(encoder).__name__} weights sha256:{encoder_fingerprint(encoder)}"


def override_record(reason: str, note: str, *, voice_name: str = "",
                    reference_audio: Sequence[str | Path] = ()) -> ConsentRecord:
    """A record that the consent check was **bypassed**, and why: ``reason`` is one of
    ``OVERRIDE_REASONS`` (``"own-voice"``, ``"licensed-data"``), ``note`` says who or which
    licence (required). ``ConsentError`` for another reason or an empty note."""
    if reason not in OVERRIDE_REASONS:
        raise ConsentError(f"unknown consent override {reason!r} (choose from "
                           f"{', '.join(sorted(OVERRIDE_REASONS))})")
    note = " ".join(str(note).split())
    if not note:
        raise ConsentError(f"the consent override {reason!r} needs a note saying whose voice or "
                           "which licence")
    missing = [str(p) for p in reference_audio if not Path(p).is_file()]
    if missing:
        raise AudioError(f"reference audio not found: {missing[0]}")
    return ConsentRecord(
        voice_name=voice_name,
        sentence=consent_sentence(voice_name) if voice_name else "", decision="override",
        date=_now(), voxclone_version=_voxclone_version(),
        reference_sha256=tuple(_sha256(p) for p in reference_audio),
        override=reason, override_note=note)
