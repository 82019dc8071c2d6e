"""Speech-to-speech: a recording's words, timing and intonation, spoken in another voice.

``convert(engine, wav, sample_rate)`` re-voices a performance with the voice of ``engine`` (a
``tts.neural_engine.NeuralEngine``: a bundled voice, a zero-shot or a few-shot clone):

1. **Pieces.** The Silero voice-activity detector finds the speech; the recording is cut at its
   pauses into pieces of at most ``MAX_PIECE_SECONDS``. What lies between pieces (pauses,
   breaths, noise) becomes silence of the same length, so the output keeps the source's timing.
2. **Words.** A given transcript (then the speech is one piece, at most
   ``MAX_TRANSCRIPT_SECONDS``), else an offline ASR per piece (``tts.asr``: Whisper from a PyPI
   package, falling back to pocketsphinx). A piece where no words are found stays silent.
3. **Timing.** The acoustic model's own aligner places the phonemes on the source's mel frames
   (``Tacotron.align_durations``). With ``timing="phrase"`` (the default) the source's pauses
   keep their length and place (a space, a punctuation mark or a boundary that the aligner gives
   at least ``PAUSE_SECONDS`` of quiet frames), and the words between two pauses share the
   phrase's time by the durations the voice itself would give them, its vowels stretching or
   shrinking more than its consonants (``phrase_groups``, ``share_timing``,
   ``ELASTIC_FLOORS``). ``timing="word"`` keeps each word's aligned time (closer lip sync, more
   words lost: the aligner has not heard the source speaker, and a word boundary it misplaces
   squeezes a word); ``timing="own"`` the voice's own predicted durations. Whisper WER on 40
   held-out clips into kathleen: see ``docs/convert.md``.
4. **Pitch.** The source's frame F0 (pYIN, ``tts.prosody.frame_pitch``) is moved by the
   semitones between the source's median F0 and the voice's (the voice's own predicted F0 on the
   same words), plus ``pitch``. The model reads it per phoneme (``tts.models.pitch.token_pitch``)
   and a pitch-driven vocoder gets the frame contour itself. With ``keep_pitch=False`` the voice's
   own predicted intonation is used (moved by ``pitch``).
5. **Voice.** The acoustic model decodes with the voice's speaker conditioning and style, the
   vocoder makes the waveform, and the whole is loudness-normalised and watermarked.

The design follows the "recognise, then re-synthesise with forced prosody" family (as in
text-based voice conversion and TTS-based dubbing), rather than a content-feature converter such
as kNN-VC or FreeVC: it reuses the project's one acoustic model, vocoder and voices, runs on a CPU
faster than real time, and every voice that ``say`` speaks can convert.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import torch

from tts.errors import AudioError, ConfigError

__all__ = ["Conversion", "convert", "speech_pieces", "word_groups", "phrase_groups",
           "share_timing", "elastic_floors", "ELASTIC_FLOORS", "quiet_tokens", "TIMINGS",
           "MAX_PIECE_SECONDS", "MAX_TRANSCRIPT_SECONDS"]

TIMINGS = ("phrase", "word", "own")
"""What the output's timing keeps of the source: its pauses and phrase lengths, each word's
length, or nothing (the voice's own timing)."""

MAX_PIECE_SECONDS = 12.0
"""Speech is converted in pieces of at most this length, cut at pauses."""
MAX_TRANSCRIPT_SECONDS = 30.0
"""A given transcript covers the whole recording, which is then aligned as one piece: at most
this much speech (longer recordings: let the ASR find the words piece by piece)."""
PIECE_MARGIN_SECONDS = 0.05
"""Kept on each side of a piece's detected speech, so that onsets and releases are not cut."""
MIN_PIECE_SECONDS = 0.3
"""Detected speech shorter than this (a click, a breath) is left silent."""
PAUSE_SECONDS = 0.15
"""A non-word token that the aligner gives at least this much quiet source is a pause."""
ELASTIC_FLOORS = {"consonant": 0.9, "vowel": 0.3}
"""Phrase timing fits the voice's own durations to each phrase of the source by stretching or
shrinking only part of each phoneme: it keeps this share of a consonant's or vowel's own
duration fixed (``share_timing``). As in Klatt's duration rules, where each segment has a
minimum, vowels take up most of a change of tempo, and consonants keep the length the voice
articulates them in. The sources here are mostly slower than a voice's own speech (phrases 1.15
times its length at the median, a third over 1.25). On 40 held-out clips into instant clones of
three unseen speakers (given transcripts), Whisper WER 0.081 / 0.074 / 0.094 against 0.105 /
0.085 / 0.110 with proportional sharing, and into kathleen / cv-372293 / lj 0.081 / 0.253 /
0.087 against 0.085 / 0.277 / 0.107; F0 correlation within 0.01 (docs/convert.md)."""
QUIET_LEVEL = 0.25
"""A token's frames are quiet when their median level (dB) lies in the lowest quarter of the
way from the piece's 10th to its 90th percentile frame level: the aligner also hands speech it
cannot place to spaces, and those must not count as pauses."""


@dataclasses.dataclass
class Conversion:
    """The converted ``wav (num_samples,)`` float32 at ``sample_rate``; ``pieces`` converted,
    ``words`` each piece's transcript, ``semitones`` the shift applied to the source's pitch
    (0 with ``keep_pitch=False``), ``watermarked`` whether ``wav`` carries the mark."""

    wav: np.ndarray
    sample_rate: int
    pieces: int
    words: list[str]
    semitones: float
    watermarked: bool

    @property
    def duration(self) -> float:
        return len(self.wav) / self.sample_rate


def speech_pieces(wav: np.ndarray, sample_rate: int, max_seconds: float = MAX_PIECE_SECONDS
                  ) -> list[tuple[int, int]]:
    """``(start, end)`` sample ranges of ``wav (num_samples,)`` holding speech: the Silero
    detector's spans, merged across pauses while a piece stays within ``max_seconds``, widened by
    ``PIECE_MARGIN_SECONDS``; spans shorter than ``MIN_PIECE_SECONDS`` are dropped."""
    from tts.audio import resample
    from tts.vad import VAD_RATE, SpeechDetector

    scale = sample_rate / VAD_RATE
    spans = [(int(s * scale), int(e * scale))
             for s, e in SpeechDetector().spans(resample(wav, sample_rate, VAD_RATE))]
    limit, margin = int(max_seconds * sample_rate), int(PIECE_MARGIN_SECONDS * sample_rate)
    pieces: list[list[int]] = []
    for start, end in spans:
        if pieces and end - pieces[-1][0] <= limit:
            pieces[-1][1] = end
        else:
            pieces.append([start, end])
    cut = []
    for start, end in pieces:
        while end - start > limit:  # one span longer than a piece: cut hard
            cut.append((start, start + limit))
            start += limit
        cut.append((start, end))
    return [(max(0, s - margin), min(len(wav), e + margin)) for s, e in cut
            if e - s >= MIN_PIECE_SECONDS * sample_rate]


def convert(engine, wav: np.ndarray, sample_rate: int, transcript: str | None = None,
            transcriber=None, timing: str = "phrase", keep_pitch: bool = True,
            pitch: float = 0.0, watermark: bool = True,
            progress: Callable[[int, int], None] | None = None) -> Conversion:
    """Re-voice mono ``wav (num_samples,)`` at ``sample_rate`` with ``engine``'s voice (see the
    module docstring). ``transcriber``: anything with ``transcribe(wav, rate)``, e.g.
    ``tts.asr.load_transcriber()`` (the default, Whisper, loaded when no ``transcript`` is
    given); ``timing``: one of ``TIMINGS``; ``pitch``: semitones added on top;
    ``progress(done, total)`` is called after each piece. Raises ``AudioError`` when no speech
    or no words are found, ``ConfigError`` when the voice's model cannot be driven by pitch and
    timing (or ``timing`` is unknown)."""
    from tts.audio import normalize_loudness, resample
    from tts.pitch_stats import semitones, voiced_median
    from tts.prosody import frame_pitch
    from tts.text import normalize

    if not hasattr(engine, "acoustic"):
        raise ConfigError("speech-to-speech runs on the PyTorch runtime: build the voice with "
                          "voice_engine(name, runtime='torch')")
    model = engine.acoustic.model
    if not model.config.pitch or not model.decoder.has_aligner:
        raise ConfigError("speech-to-speech needs a voice whose model has pitch and the duration "
                          "decoder (every bundled voice has)")
    if timing not in TIMINGS:
        raise ConfigError(f"timing must be one of {', '.join(TIMINGS)}, got {timing!r}")
    if not -12.0 <= pitch <= 12.0:
        raise ConfigError(f"pitch must be between -12 and 12 semitones, got {pitch:g}")
    audio = engine.audio
    rate = audio.sample_rate
    wav = resample(np.asarray(wav, dtype=np.float32).reshape(-1), sample_rate, rate)
    pieces = speech_pieces(wav, rate, MAX_TRANSCRIPT_SECONDS if transcript else MAX_PIECE_SECONDS)
    if not pieces:
        raise AudioError("no speech found in the source (silence, noise or music?)")
    if transcript is not None:
        if not transcript.strip():
            raise AudioError("the transcript is empty")
        if len(pieces) > 1 or pieces[0][1] - pieces[0][0] > MAX_TRANSCRIPT_SECONDS * rate:
            raise AudioError(f"a transcript covers at most {MAX_TRANSCRIPT_SECONDS:g} s of speech "
                             "(this source has more): leave --transcript out and the ASR finds "
                             "the words piece by piece")
        words = [transcript.strip()]
    else:
        if transcriber is None:
            from tts.asr import load_transcriber

            transcriber = load_transcriber()
        words = [transcriber.transcribe(wav[s:e], rate).strip() for s, e in pieces]
    kept = [(span, text) for span, text in zip(pieces, words, strict=True) if text]
    if not kept:
        raise AudioError("no words found in the source: is it speech, and in English?")

    ids = [engine.tokens(normalize(text)) for _, text in kept]
    # the voice's own speech of each piece: its pitch range and its phonemes' proportions
    own = [engine.mel_from_tokens(piece_ids) if timing != "own" or keep_pitch else None
           for piece_ids in ids]
    tracks = [frame_pitch(wav[s:e], audio)[: (e - s) // audio.hop_length] for (s, e), _ in kept]
    shift = engine.pitch_shift + pitch  # with keep_pitch=False: the voice's own offset and --pitch
    if keep_pitch:
        source_hz = voiced_median(tracks).median_hz
        if math.isnan(source_hz):
            raise AudioError("no voiced speech found in the source to take the pitch from")
        shift = semitones(_voice_hz(engine, own), source_hz) + pitch

    out = np.zeros(len(wav), dtype=np.float32)
    end_of_last = 0
    for i, (((start, end), _), piece_ids, voice, f0) in enumerate(
            zip(kept, ids, own, tracks, strict=True)):
        piece = _convert_piece(engine, wav[start:end], piece_ids, voice, f0, timing,
                               keep_pitch, shift)
        start = max(start, end_of_last)
        if start + len(piece) > len(out):
            out = np.concatenate([out, np.zeros(start + len(piece) - len(out), np.float32)])
        out[start:start + len(piece)] = piece
        end_of_last = start + len(piece)
        if progress is not None:
            progress(i + 1, len(kept))
    out = normalize_loudness(out, rate)
    if watermark:
        from tts.watermark import embed

        out = embed(out, rate)
    return Conversion(wav=out, sample_rate=rate, pieces=len(kept), words=[t for _, t in kept],
                      semitones=shift if keep_pitch else 0.0, watermarked=watermark)


def word_groups(symbols: list[str]) -> torch.Tensor:
    """``(T,)`` group index of each token of ``symbols`` (the model's tokens, boundaries
    included): the phonemes of one word share an index; a space, a punctuation mark or a
    boundary token has its own."""
    from tts.text.symbols import PUNCTUATION, SPACE

    groups, group, in_word = [], -1, False
    for symbol in symbols:
        word = symbol != SPACE and symbol not in PUNCTUATION and not symbol.startswith("<")
        if not (word and in_word):
            group += 1
        groups.append(group)
        in_word = word
    return torch.tensor(groups)


def phrase_groups(symbols: list[str], aligned: torch.Tensor, quiet: torch.Tensor,
                  pause_frames: int) -> torch.Tensor:
    """``(T,)`` group index of each token of ``symbols`` (boundaries included): a pause (a
    space, punctuation mark or boundary token with at least ``pause_frames`` aligned frames,
    ``aligned (T,)``, that are ``quiet (T,)`` bool) has its own index; the tokens between two
    pauses share one."""
    from tts.text.symbols import PUNCTUATION, SPACE

    groups, group, after_pause = [], -1, True
    for symbol, frames, still in zip(symbols, aligned.tolist(), quiet.tolist(), strict=True):
        word = symbol != SPACE and symbol not in PUNCTUATION and not symbol.startswith("<")
        pause = not word and still and frames >= pause_frames
        if pause or after_pause:
            group += 1
        groups.append(group)
        after_pause = pause
    return torch.tensor(groups)


def quiet_tokens(wav: np.ndarray, aligned: torch.Tensor, hop_length: int) -> torch.Tensor:
    """``(T,)`` bool: whether the source frames that ``aligned (T,)`` gives each token are quiet
    (``QUIET_LEVEL``) in ``wav (samples,)``; a token with no frames is not."""
    frames = int(aligned.sum())
    wav = np.pad(wav[: frames * hop_length], (0, max(0, frames * hop_length - len(wav))))
    level = 10.0 * np.log10(np.square(wav.reshape(frames, hop_length)).mean(1) + 1e-10)
    low, high = np.percentile(level, 10), np.percentile(level, 90)
    ends = np.cumsum(aligned.long().numpy())
    quiet = [count > 0 and np.median(level[end - count:end]) <= low + QUIET_LEVEL * (high - low)
             for end, count in zip(ends, aligned.long().tolist(), strict=True)]
    return torch.tensor(quiet)


def elastic_floors(symbols: list[str]) -> torch.Tensor:
    """``(T,)`` the share of each token's own duration that ``share_timing`` keeps fixed:
    ``ELASTIC_FLOORS`` by ``tts.text.symbols.phone_class``, 0 for spaces, punctuation,
    boundaries and marks."""
    from tts.text.symbols import phone_class

    return torch.tensor([ELASTIC_FLOORS.get(phone_class(s), 0.0) for s in symbols])


def share_timing(aligned: torch.Tensor, own: torch.Tensor, groups: torch.Tensor,
                 floors: torch.Tensor | None = None) -> torch.Tensor:
    """Frames per token ``(T,)``: each group (``word_groups``, ``phrase_groups``) lasts as long
    as the aligner found in the source (``aligned (T,)``), and its tokens share that time by the
    voice's own predicted durations (``own (T,)``): in their proportions, or with ``floors (T,)``
    (``elastic_floors``) each token keeps that share of its own duration and only the rest
    stretches or shrinks (in proportion when the group's time is shorter than the kept
    parts). Whole frames; each group's total is kept."""
    out = torch.zeros_like(aligned, dtype=torch.float32)
    own = own.float().clamp(min=0.5)
    kept = torch.zeros_like(own) if floors is None else floors.float() * own
    for group in groups.unique():
        index = (groups == group).nonzero().flatten()
        total = aligned[index].sum().float()
        fixed, rest = kept[index], own[index] - kept[index]
        if floors is not None and total > fixed.sum() and rest.sum() > 0:
            ends = torch.round(torch.cumsum(fixed + (total - fixed.sum()) / rest.sum() * rest, 0))
        else:
            ends = torch.round(torch.cumsum(own[index], 0) / own[index].sum() * total)
        out[index] = torch.diff(ends, prepend=ends.new_zeros(1))
    return out


def _voice_hz(engine, own: list) -> float:
    """The median F0 (Hz) at which ``engine``'s voice speaks: over its own speech of the
    source's words (``own``, ``MelResult``s), else, when the model predicted none of that voiced
    (it happens on a few sentences with the low male voice cv-372293), over the sentences its
    pitch offset was calibrated on. ``ConfigError`` when neither has a voiced frame."""
    from tts.pitch_stats import voiced_median
    from tts.voices import spoken_pitch

    hz = voiced_median(r.f0.numpy() for r in own).median_hz
    if math.isnan(hz):
        hz = spoken_pitch(engine).median_hz
    if math.isnan(hz):
        raise ConfigError("the voice's model speaks nothing voiced: its pitch range is unknown, "
                          "so the source's pitch cannot be moved into it (try --own-pitch)")
    return hz


@torch.no_grad()
def source_durations(engine, wav: np.ndarray, ids: list[int]) -> torch.Tensor:
    """Frames per token ``(T',)`` (boundaries included) where ``engine``'s model aligner places
    the phoneme ``ids`` on ``wav (samples,)`` at the model's rate; they sum to
    ``len(wav) // hop_length``."""
    from tts.audio import MelSpectrogram

    frames = len(wav) // engine.audio.hop_length
    mel = MelSpectrogram(engine.audio)(torch.from_numpy(wav))[:, :frames].unsqueeze(0)
    return engine.acoustic.model.align_durations(torch.tensor([ids]), torch.tensor([len(ids)]),
                                                 mel, torch.tensor([frames]))[0]


@torch.no_grad()
def _convert_piece(engine, wav: np.ndarray, ids: list[int], own, f0: np.ndarray,
                   timing: str, keep_pitch: bool, semitones: float) -> np.ndarray:
    """One piece: ``wav (samples,)`` at the model's rate, its phoneme ``ids``, the voice's own
    speech of them (``own``, a ``MelResult``; None when neither timing nor pitch is kept) and
    the source's frame ``f0 (frames,)`` Hz -> the voice's ``(samples',)`` (``samples' = frames *
    hop`` unless ``timing="own"``). ``semitones``: the shift of the source's contour
    (``keep_pitch``), else of the voice's own predicted pitch."""
    from tts.models.pitch import token_pitch

    hop = engine.audio.hop_length
    frames = len(wav) // hop
    source_f0 = torch.from_numpy(f0[:frames] * 2.0 ** (semitones / 12.0)).float()
    aligned = source_durations(engine, wav, ids)
    durations = None
    if timing != "own":
        symbols = engine.acoustic.symbols.decode(own.tokens)
        groups = word_groups(symbols) if timing == "word" else phrase_groups(
            symbols, aligned, quiet_tokens(wav, aligned, hop),
            round(PAUSE_SECONDS * engine.audio.sample_rate / hop))
        durations = share_timing(aligned, own.durations, groups,
                                 elastic_floors(symbols) if timing == "phrase" else None)
    # the source's F0 over each token where it is spoken: in the output's timing, else as aligned
    pitch = token_pitch(source_f0[None], (aligned if durations is None else durations)[None])[0] \
        if keep_pitch else None
    result = engine.mel_from_tokens(ids, durations, pitch,
                                    pitch_shift=0.0 if keep_pitch else semitones)
    return engine.vocode(result.mel, source_f0 if durations is not None and keep_pitch
                         else result.f0)
