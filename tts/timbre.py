"""A voice's colour: the long-term average spectrum of its speech, and the offset that moves a
model's rendering of a voice onto that of its recordings.

An acoustic model that speaks an unseen voice from a speaker embedding gets its pitch and much of
its timbre, but its average spectrum (the sum of the speaker's vocal tract, voice quality and
microphone) stays closer to the training speakers it knows. ``timbre_offset`` measures how far
apart the two are, per mel band: the recordings' mean log-mel over their speech frames minus the
model's over the same kind of frames of its own speech (calibration sentences), smoothed
across bands and limited. Added to every frame the model predicts (``NeuralEngine(mel_offset=)``)
it is a fixed equaliser in the log-mel domain that the vocoder turns into sound; an instant
clone keeps it in its profile (``cloning.clone``; the fitted tiers' adapters learn their own).

Measured (``docs/cloning.md``): 13 held-out speakers cloned from 3 clips, similarity to their
held-out recordings 0.684 -> 0.738 while similarity to *other* speakers stays 0.553-0.554, at a
cost of about 0.02 Whisper WER (5 bands, 13 dB). Chosen on 24 other unseen speakers (RAVDESS
actors, evaluation only): 3 bands and 26 dB, which the 13 then measured at 0.751 (0.743 with 5
bands and 13 dB), WER 0.066 (0.068) on 117 sentences.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tts.errors import ConfigError

__all__ = ["check_mel_offset", "SPEECH_SHARE", "SMOOTH_BANDS", "LIMIT", "speech_frames",
           "long_term_spectrum", "timbre_offset", "spoken_spectrum"]

SPEECH_SHARE = 0.6
"""The loudest share of a clip's frames (by mean log-mel) that count as speech: pauses, breaths
and the noise floor would otherwise weigh with the microphone's noise, not the voice."""

SMOOTH_BANDS = 3
"""Width (mel bands) of the moving average over the offset: the envelope, not single harmonics,
the phonemes that ten seconds of reference happen to hold, or a narrow hum of its microphone.
On 24 unseen speakers (docs/cloning.md) 1, 3 and 5 bands gave similarity 0.690, 0.688 and
0.684; 3 keeps most of the gain with a guard against narrow peaks."""

LIMIT = 3.0
"""Largest offset per band (natural log of the mel magnitude; 3.0 is 26 dB; 13 dB held 7 of 13
unseen voices at the limit)."""


def check_mel_offset(offset: np.ndarray, n_mels: int) -> np.ndarray:
    """``offset`` as float32 ``(n_mels,)``; ``ConfigError`` when it has another shape or is not
    finite (a voice profile made for a model with other mels)."""
    offset = np.asarray(offset, dtype=np.float32)
    if offset.shape != (n_mels,) or not np.isfinite(offset).all():
        raise ConfigError(f"the voice's mel offset has shape {offset.shape} and the model has "
                          f"{n_mels} mel bands: the voice was made for another model")
    return offset


def speech_frames(mel: np.ndarray, share: float = SPEECH_SHARE) -> np.ndarray:
    """The loudest ``share`` of ``mel (n_mels, frames)``'s frames: ``(n_mels, frames')``."""
    mel = np.asarray(mel, dtype=np.float64)
    if mel.ndim != 2 or mel.shape[1] == 0:
        raise ValueError(f"expected a mel (n_mels, frames), got shape {mel.shape}")
    energy = mel.mean(axis=0)
    return mel[:, energy >= np.quantile(energy, 1.0 - share)]


def long_term_spectrum(mels: Iterable[np.ndarray]) -> np.ndarray:
    """Mean log-mel ``(n_mels,)`` over the speech frames of all ``mels`` (each ``(n_mels,
    frames)``), pooled: a long clip weighs more than a short one."""
    frames = [speech_frames(m) for m in mels]
    if not frames:
        raise ValueError("no mels to average")
    return np.concatenate(frames, axis=1).mean(axis=1)


def timbre_offset(target: np.ndarray, spoken: np.ndarray, smooth: int = SMOOTH_BANDS,
                  limit: float = LIMIT) -> np.ndarray:
    """``(n_mels,)`` float32 to add to every frame of the model's mels so that their long-term
    spectrum ``spoken (n_mels,)`` becomes ``target (n_mels,)`` (both ``long_term_spectrum``),
    smoothed over ``smooth`` bands and limited to +-``limit``."""
    target, spoken = np.asarray(target, dtype=np.float64), np.asarray(spoken, dtype=np.float64)
    if target.shape != spoken.shape or target.ndim != 1:
        raise ValueError(f"spectra differ in shape: {target.shape} vs {spoken.shape}")
    difference = target - spoken
    padded = np.pad(difference, smooth // 2, mode="edge")
    smoothed = np.convolve(padded, np.ones(smooth) / smooth, mode="valid")
    return np.clip(smoothed, -limit, limit).astype(np.float32)


def spoken_spectrum(engine, texts: Iterable[str]) -> np.ndarray:
    """``long_term_spectrum`` of ``engine``'s predicted mels (no vocoder) of ``texts`` (e.g.
    ``tts.voices.CALIBRATION_SENTENCES``), with the engine's voice, pitch and own offset."""
    from tts.text import normalize

    return long_term_spectrum(np.asarray(engine.mel(normalize(text)).mel) for text in texts)
