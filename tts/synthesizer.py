"""``Synthesizer``: the one inference front end used by the CLI, the server, scripts, tests and
the Python API (``from tts import Synthesizer``, see docs/api.md).

Text path: ``text -> split into chunks -> normalize -> engine -> waveform -> loudness ->
watermark``. Importing this module loads no torch: the audio back end (``tts.audio``) and the
engines load when first used. ``speak`` (alias ``synthesize``) returns the whole text as one ``SynthesisResult``;
``stream`` yields it chunk by chunk (a sentence or clause each) as each is made. Both run the
same loop over the chunks (``_spoken``). ``convert`` gives a recording the voice
(speech-to-speech, ``tts.convert``) and returns the same kind of result.

The engine is a voice's ``NeuralEngine`` (``Synthesizer(voice="kathleen")``, a bundled voice or
a cloned one), any engine given (``engine=``), or by default the bundled default voice; without
any trained model, the espeak-ng formant synthesizer (``EspeakEngine``), which the synthesizer
names in ``Synthesizer.note``. It still runs voxclone's own text front end and audio back end.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tts.config import AudioConfig
from tts.errors import AudioError, ConfigError, TextError, VoxcloneError

MAX_TEXT_CHARS = 100_000
"""Longest text one call accepts (about an hour of speech); longer input is refused, not cut."""

SENTENCE_PAUSE_S = 0.12
"""Silence inserted between synthesized chunks."""

NOTHING_TO_SAY = "nothing to say: the text has no speakable words after normalization"


ENCODINGS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"),
             ".raw": ("RAW", "PCM_16"), ".pcm": ("RAW", "PCM_16")}
"""What ``SynthesisResult.save`` and ``encode`` write, by file suffix: libsndfile container and
sample type. ``.raw`` and ``.pcm`` are headerless 16-bit little-endian mono PCM."""
RAW_SUFFIXES = (".raw", ".pcm")


def watermark_comment(marked: bool) -> str:
    """The comment tag saved with generated audio: says whether the watermark is in it."""
    from tts import __version__

    if marked:
        return f"voxclone {__version__}; watermark: on (voxclone detect FILE)"
    return f"voxclone {__version__}; watermark: OFF (--no-watermark)"


@dataclasses.dataclass(repr=False)
class SynthesisResult:
    """Speech made by ``Synthesizer.speak``: ``wav`` (also ``samples``) float32 ``(num_samples,)``
    in [-1, 1] at ``sample_rate`` Hz; ``save(path)`` writes it, ``encode(fmt)`` gives the bytes."""

    wav: np.ndarray
    sample_rate: int
    engine: str
    num_chunks: int
    watermarked: bool = False
    """Whether ``wav`` carries the voxclone watermark (``tts.watermark``)."""

    @property
    def samples(self) -> np.ndarray:
        """The waveform, float32 ``(num_samples,)`` in [-1, 1] (the same array as ``wav``)."""
        return self.wav

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.wav) / self.sample_rate

    def save(self, path: str | Path) -> Path:
        """Write ``path``: .wav and .flac as 16-bit PCM and .ogg as Vorbis, each with a comment
        tag that says whether the watermark is in it, or .raw/.pcm as headerless 16-bit PCM.
        ``AudioError`` for another suffix or a failed write (which leaves no partial file).
        Returns the path written."""
        from tts.audio import save_audio

        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in ENCODINGS:
            raise AudioError(f"cannot write {path}: the file name must end in "
                             f"{', '.join(ENCODINGS)}")
        if suffix not in RAW_SUFFIXES:
            return save_audio(path, self.wav, self.sample_rate,
                              comment=watermark_comment(self.watermarked))
        partial = path.with_name(f".{path.stem}.partial{path.suffix}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(self.encode("raw"))
            partial.replace(path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise AudioError(f"cannot write {path}: {exc.strerror or exc}") from None
        return path

    def encode(self, fmt: str = "wav") -> bytes:
        """The audio as the bytes of a ``fmt`` file: ``wav``, ``flac``, ``ogg`` (what ``save``
        writes, comment tag included) or ``raw`` (16-bit little-endian mono PCM at
        ``sample_rate``, no header)."""
        import soundfile as sf

        key = "." + fmt.lower().lstrip(".")
        if key not in ENCODINGS:
            raise AudioError(f"unknown audio format {fmt!r}; choose one of: "
                             f"{', '.join(k[1:] for k in ENCODINGS)}")
        if not np.isfinite(self.wav).all():
            raise AudioError("refusing to encode audio with NaN or infinite samples")
        container, subtype = ENCODINGS[key]
        buffer = io.BytesIO()
        endian = "LITTLE" if container == "RAW" else "FILE"
        with sf.SoundFile(buffer, "w", self.sample_rate, 1, format=container, subtype=subtype,
                          endian=endian) as out:
            if container != "RAW":
                out.comment = watermark_comment(self.watermarked)
            out.write(np.clip(self.wav, -1.0, 1.0))
        return buffer.getvalue()

    def __repr__(self) -> str:
        mark = "watermarked" if self.watermarked else "not watermarked"
        return (f"SynthesisResult({self.duration:.2f} s at {self.sample_rate} Hz, "
                f"{self.num_chunks} chunk(s), engine {self.engine}, {mark})")


class EspeakEngine:
    """Formant synthesis with the espeak-ng program (Debian package ``espeak-ng``)."""

    name = "espeak-ng"

    def __init__(self, voice: str = "en-us", words_per_minute: int = 160) -> None:
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.program = shutil.which("espeak-ng")
        if self.program is None:
            raise VoxcloneError("espeak-ng is not installed: run `sudo apt-get install espeak-ng`")

    def speak(self, text: str) -> tuple[np.ndarray, int]:
        """Speak ``text`` (already normalized); returns ``(wav (num_samples,), sample_rate)``."""
        with tempfile.TemporaryDirectory(prefix="voxclone-") as tmp:
            out = Path(tmp) / "chunk.wav"
            cmd = [self.program, "-v", self.voice, "-s", str(self.words_per_minute), "-b", "1",
                   "-w", str(out)]
            proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True,
                                  timeout=120, check=False)
            if proc.returncode != 0 or not out.exists():
                reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
                raise VoxcloneError(f"espeak-ng failed: {reason[0] if reason else 'no output'}")
            from tts.audio import read_audio, to_mono

            data, rate = read_audio(out)
        return to_mono(data), rate


def default_engine():
    """The bundled default voice (``tts.voices.DEFAULT_VOICE``, or the default model's first
    speaker) when its checkpoint is present, else the espeak-ng fallback."""
    from tts.bundled import DEFAULT_ACOUSTIC

    if DEFAULT_ACOUSTIC.is_file():
        from tts.voices import default_voice_engine

        return default_voice_engine()
    return EspeakEngine()


STYLE_DEFAULTS = {"emotion": None, "intensity": 1.0, "speed": 1.0, "pitch": 0.0}
"""The style options of ``speak``/``stream`` (as ``voxclone say`` has them) and their neutral
values: a learned emotion at an intensity (0 to 2), speaking rate (0.25 to 4), pitch in
semitones (-12 to 12, models trained with pitch)."""


def restyle(base, emotion: str | None = None, intensity: float = 1.0, speed: float = 1.0,
            pitch: float = 0.0):
    """``base`` (a ``NeuralEngine`` built with the neutral style, e.g. by
    ``tts.voices.voice_engine``) speaking with another style: the same models, speaker,
    embedding, voice style weights, voice pitch offset (``base.pitch_shift``) and mel offset,
    ``pitch`` semitones on top, as ``voice_engine`` would build it. ``ConfigError`` for a style
    the model cannot do (unknown emotion, values out of range). An engine with its own ``restyled``
    (``tts.onnx.runtime.OnnxEngine``) makes it, sharing its loaded graphs."""
    from tts.neural_engine import NeuralEngine

    if hasattr(base, "restyled"):
        return base.restyled(emotion=emotion, intensity=intensity, speed=speed, pitch=pitch)
    if not isinstance(base, NeuralEngine):
        raise ConfigError(f"emotion, intensity, speed and pitch need a neural voice; the "
                          f"{getattr(base, 'name', 'given')} engine has none")
    speaker = base.acoustic.speakers[base.speaker] if base.speaker >= 0 else None
    embedding = None if base.speaker_embedding is None else base.speaker_embedding[0]
    style = None if base.style_weights is None else base.style_weights[0]
    return NeuralEngine(base.acoustic, base.vocoder, base.audio, speaker=speaker,
                        speaker_embedding=embedding, style_weights=style, emotion=emotion,
                        intensity=intensity, speed=speed, pitch=pitch + base.pitch_shift,
                        voice=base.voice, mel_offset=None if base.mel_offset is None
                        else base.mel_offset.numpy())


class Synthesizer:
    """Turns text of any length into speech at ``audio.sample_rate`` (``sample_rate``).

    ``Synthesizer(voice="kathleen")`` speaks with a voice by name: a bundled voice or a cloned
    one under ``voices_dir`` (default ``tts.profiles.voices_dir()``), with the voice's own
    vocoder unless ``vocoder`` names a checkpoint; ``Synthesizer(engine=...)`` with an engine
    already built; ``Synthesizer()`` with the bundled default voice (espeak-ng when there is
    none). ``emotion``, ``intensity``, ``speed`` and ``pitch`` set the style of every call
    (``STYLE_DEFAULTS``); ``speak`` and ``stream`` take them too, for one call. An unknown voice
    or style is a ``VoxcloneError`` with a one-line message.

    The text is split into chunks of at most ``max_chunk_chars`` characters at sentence and
    clause boundaries, each normalized (numbers, dates, abbreviations...) and spoken; the
    output is loudness-normalized and watermarked (``watermark=False`` to leave the mark out).
    """

    def __init__(self, engine=None, audio: AudioConfig | None = None,
                 max_chunk_chars: int = 200, watermark: bool = True,
                 watermark_payload: int = 0, watermark_key: str | None = None, *,
                 voice: str | None = None, voices_dir: str | Path | None = None,
                 vocoder: str | Path | None = None, emotion: str | None = None,
                 intensity: float = 1.0, speed: float = 1.0, pitch: float = 0.0) -> None:
        style = {"emotion": emotion, "intensity": intensity, "speed": speed, "pitch": pitch}
        self._voice: tuple | None = None  # (name, voices folder, vocoder) of a voice by name
        if voice is not None:
            if engine is not None:
                raise ConfigError("give a voice name or an engine, not both")
            from tts.voices import voice_engine

            root = Path(voices_dir) if voices_dir is not None else None
            self._base = voice_engine(voice, root, vocoder)
            self._voice = (voice, root, vocoder)
            engine = self._base if style == STYLE_DEFAULTS else restyle(self._base, **style)
        elif voices_dir is not None or vocoder is not None or style != STYLE_DEFAULTS:
            raise ConfigError("voices_dir, vocoder, emotion, intensity, speed and pitch go with "
                              "voice=: name the voice to speak with")
        else:
            if engine is None:
                engine = default_engine()
                if not isinstance(engine, EspeakEngine):
                    from tts.voices import DEFAULT_VOICE

                    self._voice = (DEFAULT_VOICE, None, None)
            self._base = engine
        self.engine = engine
        self._converter = None  # convert's PyTorch engine of the voice, built on first use
        self._transcriber = None  # convert's ASR, loaded on first use
        self.style = style
        """The style of every call (``STYLE_DEFAULTS``' keys) unless a call gives its own."""
        self.audio = audio or getattr(engine, "audio", None) or AudioConfig()
        self.watermark = watermark
        """Mark every returned waveform (``tts.watermark.embed``); off only when asked."""
        self.watermark_payload = watermark_payload
        self.watermark_key = watermark_key
        self.max_chunk_chars = max_chunk_chars
        self.note = (None if not isinstance(self.engine, EspeakEngine) else
                     "no neural voice is available: speaking with the espeak-ng fallback "
                     "through voxclone's text front end")

    @property
    def sample_rate(self) -> int:
        """Hz of every waveform this synthesizer returns."""
        return self.audio.sample_rate

    @property
    def voice(self) -> str:
        """The name of the voice speaking (``"default"`` when the engine does not say)."""
        return getattr(self.engine, "voice", None) or getattr(self.engine, "name", "default")

    def speakable_chunks(self, text: str) -> Iterator[str]:
        """The chunks ``speak`` speaks, in order and one at a time: ``text`` split at
        sentence and clause boundaries into at most ``max_chunk_chars`` characters
        (``tts.text.split_text``), each normalized, those without a letter or digit left out.
        ``TextError`` when ``text`` is empty or too long."""
        from tts.text import normalize, split_text

        if not isinstance(text, str):
            raise TextError(f"text must be a string, not {type(text).__name__}")
        if not text or not text.strip():
            raise TextError("text is empty: give something to say")
        if len(text) > MAX_TEXT_CHARS:
            raise TextError(f"text is too long ({len(text):,} characters; the limit is "
                            f"{MAX_TEXT_CHARS:,}): split it into several files")
        for chunk in split_text(text, max_chars=self.max_chunk_chars):
            words = normalize(chunk)
            if any(ch.isalnum() for ch in words):
                yield words

    def _engine_for(self, options: dict[str, Any]):
        """The engine of one call: this synthesizer's, restyled when ``options`` (style
        keywords, ``None`` = this synthesizer's own) ask for another style."""
        unknown = sorted(set(options) - set(STYLE_DEFAULTS))
        if unknown:
            raise ConfigError(f"unknown option {unknown[0]!r}; the style options are: "
                              f"{', '.join(STYLE_DEFAULTS)}")
        style = {**self.style, **{k: v for k, v in options.items() if v is not None}}
        return self.engine if style == self.style else restyle(self._base, **style)

    def _spoken(self, chunks: Iterable[str], engine) -> Iterator[np.ndarray]:
        """Each chunk of normalized text spoken by ``engine``, float32 ``(num_samples,)`` at
        ``sample_rate``: the one inference loop of ``speak`` and ``stream``."""
        from tts.audio import resample

        rate = self.audio.sample_rate
        for words in chunks:
            wav, engine_rate = engine.speak(words)
            yield resample(wav, engine_rate, rate)

    def _finish(self, wav: np.ndarray) -> np.ndarray:
        """Loudness normalization, then the watermark (unless turned off)."""
        from tts.audio import normalize_loudness

        return self._mark(normalize_loudness(wav, self.audio.sample_rate))

    def _mark(self, wav: np.ndarray) -> np.ndarray:
        """The watermark with this synthesizer's payload and key (unless turned off)."""
        if not self.watermark:
            return wav
        from tts.watermark import DEFAULT_KEY, embed

        return embed(wav, self.audio.sample_rate, self.watermark_payload,
                     key=self.watermark_key or DEFAULT_KEY)

    def speak(self, text: str, *, progress: Callable[[int, int], None] | None = None,
              **options: Any) -> SynthesisResult:
        """Speak ``text`` (any length) into one ``SynthesisResult``.

        ``options``: ``emotion``, ``intensity``, ``speed``, ``pitch`` for this call only.
        ``progress(done, total)`` is called after each chunk. ``TextError`` when the text is
        empty, too long or has nothing to say; ``ConfigError`` for a style the voice cannot do.
        """
        engine = self._engine_for(options)
        chunks = list(self.speakable_chunks(text))
        if not chunks:
            raise TextError(NOTHING_TO_SAY)
        pause = np.zeros(int(SENTENCE_PAUSE_S * self.audio.sample_rate), dtype=np.float32)
        pieces: list[np.ndarray] = []
        for done, wav in enumerate(self._spoken(chunks, engine), 1):
            pieces += [wav, pause]
            if progress is not None:
                progress(done, len(chunks))
        wav = self._finish(np.concatenate(pieces[:-1]))
        return SynthesisResult(wav=wav, sample_rate=self.audio.sample_rate, engine=engine.name,
                               num_chunks=len(chunks), watermarked=self.watermark)

    synthesize = speak
    """The name the CLI, the server and the scripts call ``speak`` by."""

    def convert(self, source: str | Path | np.ndarray, sample_rate: int | None = None, *,
                transcript: str | None = None, timing: str = "phrase",
                keep_pitch: bool = True, pitch: float = 0.0,
                progress: Callable[[int, int], None] | None = None) -> SynthesisResult:
        """Speech-to-speech (``voxclone convert``, ``tts.convert``): the words, timing and
        intonation of ``source`` (an audio file, or float ``(num_samples,)`` samples at
        ``sample_rate`` Hz) in this synthesizer's voice.

        ``transcript``: the words, when known (at most 30 s of speech); otherwise Whisper finds
        them piece by piece. ``timing``: ``"phrase"`` keeps the source's pauses and phrase
        lengths, ``"word"`` each word's length, ``"own"`` the voice's own timing (see
        ``tts.convert``); ``keep_pitch=False``: its own intonation; ``pitch``: semitones added.
        ``progress(done, total)`` after each piece. Returns a ``SynthesisResult``
        (``num_chunks``: the pieces) watermarked like ``speak``'s. ``AudioError`` for an
        unreadable source or one without speech or words; ``ConfigError`` for a voice whose
        model has no aligner or pitch, or an unknown ``timing``.
        """
        from tts.audio import load_audio, resample
        from tts.convert import convert

        engine = self._conversion_engine()
        rate = engine.audio.sample_rate
        if isinstance(source, (str, Path)):
            wav = load_audio(source, rate, trim=False, normalize=False)
        else:
            if sample_rate is None:
                raise ConfigError("give sample_rate= with samples to convert")
            wav = np.asarray(source, dtype=np.float32)
            if wav.ndim != 1 or not np.isfinite(wav).all():
                raise AudioError("samples to convert must be one channel of finite values")
            wav = resample(wav, sample_rate, rate)
        if transcript is None and self._transcriber is None:
            from tts.asr import load_transcriber

            self._transcriber = load_transcriber()
        result = convert(engine, wav, rate, transcript=transcript,
                         transcriber=self._transcriber, timing=timing,
                         keep_pitch=keep_pitch, pitch=pitch, watermark=False, progress=progress)
        wav = self._mark(resample(result.wav, rate, self.audio.sample_rate))
        return SynthesisResult(wav=wav, sample_rate=self.audio.sample_rate, engine=engine.name,
                               num_chunks=result.pieces, watermarked=self.watermark)

    def _conversion_engine(self):
        """The voice's PyTorch engine (the aligner and forced timing and pitch have no ONNX
        graph): this synthesizer's own when it runs on PyTorch, else one built once."""
        if hasattr(self._base, "acoustic"):
            return self._base
        if self._converter is None:
            if self._voice is None:
                raise ConfigError("speech-to-speech needs a neural voice: build the "
                                  "synthesizer with voice=NAME")
            from tts.voices import voice_engine

            name, root, vocoder = self._voice
            self._converter = voice_engine(name, root, vocoder, runtime="torch")
        return self._converter

    def stream(self, text: str, **options: Any) -> Iterator[np.ndarray]:
        """Speak ``text`` chunk by chunk (a sentence or clause each): yields float32
        ``(num_samples,)`` waveforms at ``sample_rate`` as each chunk is made, every one after
        the first led by the pause ``speak`` puts between chunks. Each chunk is
        loudness-normalized and watermarked on its own, so the pieces joined are close to, not
        identical with, ``speak``'s result. Same ``options`` and errors as ``speak`` (raised
        when the iteration starts)."""
        engine = self._engine_for(options)
        pause = np.zeros(int(SENTENCE_PAUSE_S * self.audio.sample_rate), dtype=np.float32)
        spoken = 0
        for wav in self._spoken(self.speakable_chunks(text), engine):
            wav = self._finish(wav)
            yield np.concatenate([pause, wav]) if spoken else wav
            spoken += 1
        if not spoken:
            raise TextError(NOTHING_TO_SAY)
