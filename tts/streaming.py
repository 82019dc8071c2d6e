"""Model-agnostic streaming vocoding: audio out chunk by chunk while the mel is still long.

``stream_vocode`` cuts a mel into chunks of ``chunk_frames`` frames, vocodes each with up to
``context_frames`` frames of real mel on either side (fewer at the utterance edges), throws the
context's samples away and yields the chunk's. The first audio is out after one small vocoder
call, and memory does not grow with the utterance.

Exactness: a vocoder whose output hop ``t`` depends only on mel frames ``t - r .. t + r`` (its
receptive field ``r``) gives, with ``context_frames >= r``, the same samples chunked as whole
(to float rounding): every kept sample sees the same mel as in the whole-utterance run, and the
zero padding at a window's cut edge never reaches a kept sample. ``receptive_field_frames``
measures ``r`` for any vocoder; measured with the default AudioConfig (hop 256, n_fft 1024):

- ``ISTFTVocoder``: ``(num_layers + 1) * (kernel_size // 2) + ceil(win_length / (2 * hop))``,
  23 frames for the "small" preset (6 layers), 29 for "base" (8 layers);
- HiFi-GAN (``tts.models.hifigan``), any width: about 14 frames for the "v1"/"v2" layout
  (``conv_pre`` 3, first upsampling 1.4, first MRF 7.5, the later stages about 2) and about 12 for
  "v3"; the measurement gives 13 and 11 with weights of trained-like size, but only 4 with the
  tiny published initialisation, whose residual branches barely reach float32 resolution.

So the default ``context_frames=16`` is exact for HiFi-GAN; pass
``context_frames=model.receptive_field`` for ``ISTFTVocoder`` (bit-exact there). Influence fades
towards the edge of a receptive field: for the randomly initialised "small" iSTFT vocoder,
16 frames of context already agree with the whole-utterance output to about 1e-7 and 8 frames
to about 1e-5 (4 frames: 5e-3); a trained model's tails have to be measured on it.

With less context, chunks disagree slightly near their joins, and a vocoder whose receptive
field is unbounded (recurrent, global) can never be exact. ``overlap_frames > 0`` then
cross-fades consecutive chunks over ``overlap_frames`` frames, so the joins do not click.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch

Vocode = Callable[[torch.Tensor], torch.Tensor]
"""``mel (1, n_mels, frames) -> wav (1, frames * hop_length)`` (or ``(frames * hop_length,)``)."""

WindowVocode = Callable[[int, int], torch.Tensor]
"""``(start, end) -> wav`` of the utterance's frames ``[start, end)``: ``(end - start) *
hop_length`` samples (any shape). Lets a vocoder with inputs besides the mel (a pitch-driven
one's excitation) be streamed: it slices all of them itself."""


def _as_mel(mel: torch.Tensor) -> torch.Tensor:
    """``(n_mels, frames)`` or ``(1, n_mels, frames)`` -> ``(1, n_mels, frames)``."""
    if mel.dim() == 2:
        return mel.unsqueeze(0)
    if mel.dim() == 3 and mel.shape[0] == 1:
        return mel
    raise ValueError(f"stream_vocode expects one mel (n_mels, frames) or (1, n_mels, frames), "
                     f"got shape {tuple(mel.shape)}")


def _vocode_window(vocode_window: WindowVocode, start: int, end: int, keep_start: int,
                   keep_end: int, hop_length: int) -> torch.Tensor:
    """Vocode frames ``[start, end)`` and return the samples of frames ``[keep_start,
    keep_end)`` as ``(samples,)``."""
    with torch.no_grad():
        wav = vocode_window(start, end)
    wav = wav.reshape(-1)
    expected = (end - start) * hop_length
    if wav.numel() != expected:
        raise ValueError(f"the vocoder returned {wav.numel()} samples for {end - start} frames; "
                         f"expected frames * hop_length = {expected}")
    return wav[(keep_start - start) * hop_length:(keep_end - start) * hop_length]


def _fades(samples: int, fade: str, device: torch.device,
           dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``(fade_in, fade_out)`` ramps of ``samples`` values, each ``(samples,)``."""
    x = (torch.arange(samples, device=device, dtype=torch.float64) + 0.5) / samples
    if fade == "linear":  # sums to 1: right for two near-identical (correlated) signals
        fade_in = x
        fade_out = 1.0 - x
    elif fade == "equal_power":  # squares sum to 1: right for uncorrelated signals
        fade_in = torch.sin(0.5 * math.pi * x)
        fade_out = torch.cos(0.5 * math.pi * x)
    else:
        raise ValueError(f'fade must be "linear" or "equal_power", got {fade!r}')
    return fade_in.to(dtype), fade_out.to(dtype)


def stream_vocode(vocode: Vocode, mel: torch.Tensor, hop_length: int, chunk_frames: int = 32,
                  context_frames: int = 16, overlap_frames: int = 0,
                  fade: str = "linear") -> Iterator[torch.Tensor]:
    """Vocode ``mel (n_mels, frames)`` or ``(1, n_mels, frames)`` chunk by chunk.

    Yields 1-D sample tensors whose concatenation has ``frames * hop_length`` samples. The
    vocoder is called under ``torch.no_grad`` with ``(1, n_mels, window_frames)`` mels (put a
    module in eval mode first) and must return ``window_frames * hop_length`` samples.

    Args:
        vocode: e.g. ``model.infer`` or ``model``.
        hop_length: samples per mel frame (``audio.hop_length``).
        chunk_frames: new frames per step (the streaming granularity / latency).
        context_frames: extra mel frames vocoded on each side of a chunk and then discarded; at
            least the vocoder's receptive field for exact output (see the module notes).
        overlap_frames: if > 0, every chunk is also vocoded ``overlap_frames`` frames further
            (with its own context beyond) and that tail is cross-faded into the next chunk's
            head. Use it when the receptive field exceeds the affordable context. Must be
            smaller than ``chunk_frames``.
        fade: ``"linear"`` (default; consecutive chunks are near-identical there, so gains
            summing to one keep the level) or ``"equal_power"``.
    """
    mel = _as_mel(mel)
    return stream_windows(lambda start, end: vocode(mel[:, :, start:end]), mel.shape[-1],
                          hop_length, chunk_frames, context_frames, overlap_frames, fade)


def stream_windows(vocode_window: WindowVocode, total: int, hop_length: int,
                   chunk_frames: int = 32, context_frames: int = 16, overlap_frames: int = 0,
                   fade: str = "linear") -> Iterator[torch.Tensor]:
    """``stream_vocode`` for any vocoder input: ``vocode_window(start, end)`` vocodes frames
    ``[start, end)`` of an utterance of ``total`` frames. Same chunks, context and cross-fades."""
    if chunk_frames < 1 or context_frames < 0 or hop_length < 1:
        raise ValueError("stream_vocode needs chunk_frames >= 1, context_frames >= 0 and "
                         "hop_length >= 1")
    if not 0 <= overlap_frames < chunk_frames:
        raise ValueError(f"overlap_frames must be in [0, chunk_frames); got {overlap_frames} "
                         f"with chunk_frames={chunk_frames}")
    tail: torch.Tensor | None = None  # vocoded samples of the previous chunk's overlap
    for begin in range(0, total, chunk_frames):
        end = min(begin + chunk_frames, total)
        stop = min(end + overlap_frames, total)  # frames vocoded for this step
        wav = _vocode_window(vocode_window, max(0, begin - context_frames),
                             min(total, stop + context_frames), begin, stop, hop_length)
        if tail is not None and tail.numel():
            fade_in, fade_out = _fades(tail.numel(), fade, wav.device, wav.dtype)
            head = wav[:tail.numel()] * fade_in + tail * fade_out
            wav = torch.cat([head, wav[tail.numel():]])
        keep = (end - begin) * hop_length
        tail = wav[keep:]
        yield wav[:keep]


def receptive_field_frames(vocode: Vocode, n_mels: int, hop_length: int, frames: int = 160,
                           seed: int = 0) -> int:
    """Measure how many mel frames on each side influence a hop of ``vocode``'s output.

    Vocodes a random mel ``(1, n_mels, frames)``, changes the middle frame, and finds the
    farthest output hop (either side) whose samples changed at all. This is the
    ``context_frames`` that makes ``stream_vocode`` exact. ``frames`` must exceed twice the
    answer (``ValueError`` if the change reaches the edge).
    """
    generator = torch.Generator().manual_seed(seed)
    mel = torch.randn(1, n_mels, frames, generator=generator) - 4.0
    middle = frames // 2
    changed = mel.clone()
    changed[:, :, middle] += 2.0 * torch.randn(n_mels, generator=generator)
    with torch.no_grad():
        a = vocode(mel).reshape(-1)
        b = vocode(changed).reshape(-1)
    hops = (a != b).reshape(frames, hop_length).any(dim=1).nonzero().flatten()
    if hops.numel() == 0:
        return 0
    first, last = int(hops[0]), int(hops[-1])
    if first == 0 or last == frames - 1:
        raise ValueError(f"the receptive field reaches the edge of {frames} frames; "
                         f"measure with more frames")
    return max(middle - first, last - middle)
