"""Audio bytes for HTTP responses: whole files in five formats, and the streamed forms.

Whole responses: ``encode(wav, rate, fmt)`` writes ``wav`` (mono float32 in [-1, 1], shape
``(num_samples,)``) with libsndfile (``soundfile``) into memory: wav (16-bit PCM), flac (16-bit),
ogg (Vorbis), mp3 (MPEG layer III; libsndfile >= 1.1) or pcm (raw 16-bit little-endian mono,
no header); the files carry the CLI's comment tag. (``SynthesisResult.encode`` writes no mp3,
and OpenAI's pcm is resampled first, hence this module.)

Streamed responses carry 16-bit PCM as it is made: ``pcm`` is the raw samples; ``wav`` is
``streaming_wav_header`` (RIFF and data sizes set to 0xFFFFFFFF, "length unknown", which
libsndfile, browsers and most players read to the end of the stream) followed by the samples.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import soundfile as sf

from tts.synthesizer import watermark_comment

MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac",
               "ogg": "audio/ogg", "pcm": "audio/L16"}
"""Content types of the formats ``encode`` writes (``audio/L16`` carries ``rate`` and
``channels`` parameters, added by ``media_type``)."""

STREAM_FORMATS = ("wav", "pcm")
"""The formats a response can stream sentence by sentence."""

_SOUNDFILE = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"),
              "mp3": ("MP3", "MPEG_LAYER_III")}

WATERMARK_COMMENT = watermark_comment(True)
"""The comment tag of served files (every one is watermarked): the CLI's."""


def media_type(fmt: str, sample_rate: int) -> str:
    """The Content-Type of ``fmt`` audio at ``sample_rate``."""
    if fmt == "pcm":
        return f"audio/L16; rate={sample_rate}; channels=1"
    return MEDIA_TYPES[fmt]


def pcm16(wav: np.ndarray) -> bytes:
    """``wav (num_samples,)`` float in [-1, 1] -> 16-bit little-endian PCM bytes (clipped)."""
    samples = np.clip(np.asarray(wav, dtype=np.float32).reshape(-1), -1.0, 1.0)
    return np.round(samples * 32767.0).astype("<i2").tobytes()


def encode(wav: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """``wav (num_samples,)`` as a whole ``fmt`` file (``MEDIA_TYPES``'s keys)."""
    if fmt == "pcm":
        return pcm16(wav)
    container, subtype = _SOUNDFILE[fmt]
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", sample_rate, 1, format=container, subtype=subtype) as out:
        out.comment = WATERMARK_COMMENT
        out.write(np.clip(np.asarray(wav, dtype=np.float32).reshape(-1), -1.0, 1.0))
    return buffer.getvalue()


def streaming_wav_header(sample_rate: int) -> bytes:
    """The 44-byte header of a 16-bit mono WAV stream whose length is not known yet."""
    unknown = 0xFFFFFFFF
    fmt_chunk = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
    return (struct.pack("<4sI4s", b"RIFF", unknown, b"WAVE") + fmt_chunk
            + struct.pack("<4sI", b"data", unknown))
