"""``Synthesizer``: the one inference front end used by the CLI, scripts and tests.

Text path: ``text -> split into chunks -> normalize -> engine -> waveform -> file``.

Until a trained acoustic model and vocoder are bundled, the only engine is the espeak-ng
formant synthesizer (``EspeakEngine``); the synthesizer says so in ``Synthesizer.note``. It still
runs voxclone's own text front end (splitting, number/abbreviation expansion, unknown-character
handling) and audio back end (model sample rate, loudness normalisation), so the CLI behaves as
it will with the neural voice.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tts.audio import normalize_loudness, read_audio, resample, to_mono
from tts.config import AudioConfig
from tts.errors import TextError, VoxcloneError

MAX_TEXT_CHARS = 100_000
"""Longest text one call accepts (about an hour of speech); longer input is refused, not cut."""

SENTENCE_PAUSE_S = 0.12
"""Silence inserted between synthesized chunks."""

NOTHING_TO_SAY = "nothing to say: the text has no speakable words after normalization"


@dataclasses.dataclass
class SynthesisResult:
    """A synthesized waveform ``wav`` of shape ``(num_samples,)``, float32 in [-1, 1]."""

    wav: np.ndarray
    sample_rate: int
    engine: str
    num_chunks: int
    watermarked: bool = False
    """Whether ``wav`` carries the voxclone watermark (``tts.watermark``)."""

    @property
    def duration(self) -> float:
        return len(self.wav) / self.sample_rate


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


class Synthesizer:
    """Turns text of any length into a waveform at ``audio.sample_rate``.

    ``synthesize`` splits the text into chunks of at most ``max_chunk_chars`` characters at
    sentence and clause boundaries, normalizes each (numbers, dates, abbreviations...), speaks it
    and joins the chunks with short pauses.
    """

    def __init__(self, engine=None, audio: AudioConfig | None = None,
                 max_chunk_chars: int = 200, watermark: bool = True,
                 watermark_payload: int = 0, watermark_key: str | None = None) -> None:
        self.audio = audio or AudioConfig()
        self.watermark = watermark
        """Mark every returned waveform (``tts.watermark.embed``); off only when asked."""
        self.watermark_payload = watermark_payload
        self.watermark_key = watermark_key
        self.engine = engine or default_engine()
        self.max_chunk_chars = max_chunk_chars
        self.note = (None if not isinstance(self.engine, EspeakEngine) else
                     "no neural voice is available: speaking with the espeak-ng fallback "
                     "through voxclone's text front end")

    def speakable_chunks(self, text: str) -> Iterator[str]:
        """The chunks ``synthesize`` speaks, in order and one at a time: ``text`` split at
        sentence and clause boundaries into at most ``max_chunk_chars`` characters
        (``tts.text.split_text``), each normalized, those without a letter or digit left out.
        ``TextError`` when ``text`` is empty or too long."""
        from tts.text import normalize, split_text

        if not text or not text.strip():
            raise TextError("text is empty: give something to say")
        if len(text) > MAX_TEXT_CHARS:
            raise TextError(f"text is too long ({len(text):,} characters; the limit is "
                            f"{MAX_TEXT_CHARS:,}): split it into several files")
        for chunk in split_text(text, max_chars=self.max_chunk_chars):
            words = normalize(chunk)
            if any(ch.isalnum() for ch in words):
                yield words

    def synthesize(self, text: str) -> SynthesisResult:
        """Speak ``text``; raises ``TextError`` when it is empty, too long or has nothing to say."""
        rate = self.audio.sample_rate
        pause = np.zeros(int(SENTENCE_PAUSE_S * rate), dtype=np.float32)
        pieces: list[np.ndarray] = []
        for words in self.speakable_chunks(text):
            wav, engine_rate = self.engine.speak(words)
            pieces += [resample(wav, engine_rate, rate), pause]
        if not pieces:
            raise TextError(NOTHING_TO_SAY)
        wav = normalize_loudness(np.concatenate(pieces[:-1]), rate)
        if self.watermark:
            from tts.watermark import DEFAULT_KEY, embed

            wav = embed(wav, rate, self.watermark_payload, key=self.watermark_key or DEFAULT_KEY)
        return SynthesisResult(wav=wav, sample_rate=rate, engine=self.engine.name,
                               num_chunks=len(pieces) // 2, watermarked=self.watermark)
