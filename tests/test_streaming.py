"""Chunked (streaming) vocoding equals whole-utterance vocoding, and cross-fades do not click."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from tts.config import AudioConfig
from tts.models.istft_vocoder import ISTFTVocoder, ISTFTVocoderConfig
from tts.streaming import receptive_field_frames, stream_vocode

HOP = 256


def _mel(frames: int, n_mels: int = 80, seed: int = 0) -> torch.Tensor:
    """A random log-mel-like (n_mels, frames)."""
    return torch.randn(n_mels, frames, generator=torch.Generator().manual_seed(seed)) - 4.0


@pytest.fixture(scope="module")
def istft_vocoder() -> ISTFTVocoder:
    torch.manual_seed(0)
    return ISTFTVocoder(ISTFTVocoderConfig.preset("small"), AudioConfig()).eval()


def test_istft_vocoder_streams_exactly_with_its_receptive_field(istft_vocoder):
    rf = istft_vocoder.receptive_field
    assert rf == 23  # (6 layers + embedding) * 3 frames + 2 frames of overlapping windows
    # measured: the outermost frame's influence is at float32 resolution, and on some CPUs
    # (seen on a Xeon @ 2.80GHz with torch 2.13.0) it rounds away: 22 is measured there
    assert rf - 1 <= receptive_field_frames(istft_vocoder.infer, 80, HOP, frames=64) <= rf
    mel = _mel(100)
    whole = istft_vocoder.infer(mel)
    chunks = list(stream_vocode(istft_vocoder.infer, mel, HOP, chunk_frames=24,
                                context_frames=rf))
    assert [c.numel() for c in chunks] == [24 * HOP] * 4 + [4 * HOP]
    assert (torch.cat(chunks) - whole).abs().max() < 1e-4
    # the test can fail: with too little context the joins differ (here the far end of the
    # receptive field contributes little: 16 frames of context already agree to about 1e-7)
    short = torch.cat(list(stream_vocode(istft_vocoder.infer, mel, HOP, chunk_frames=24,
                                         context_frames=4)))
    assert (short - whole).abs().max() > 1e-4


def test_first_audio_comes_after_one_call(istft_vocoder):
    calls = []

    def vocode(mel):
        calls.append(mel.shape[-1])
        return istft_vocoder.infer(mel)

    stream = stream_vocode(vocode, _mel(200).unsqueeze(0), HOP, chunk_frames=32,
                           context_frames=16)
    first = next(stream)
    assert first.shape == (32 * HOP,)
    assert calls == [32 + 16]
    assert sum(c.numel() for c in stream) + first.numel() == 200 * HOP


def test_hifigan_streams_exactly_with_default_context():
    hifigan = pytest.importorskip("tts.models.hifigan")
    torch.manual_seed(0)
    config = dataclasses.replace(hifigan.HiFiGANConfig(), upsample_initial_channel=16)
    model = hifigan.HiFiGANGenerator(config, AudioConfig()).eval()
    model.remove_weight_norm()
    with torch.no_grad():  # trained-like weight sizes, so that the whole receptive field acts
        for module in model.modules():
            if isinstance(module, torch.nn.Conv1d | torch.nn.ConvTranspose1d):
                module.weight.normal_(0.0, 0.1)
    rf = receptive_field_frames(model.infer, 80, HOP, frames=48)
    assert 10 <= rf <= 16
    mel = _mel(80, seed=1)
    whole = model.infer(mel)
    chunked = torch.cat(list(stream_vocode(model.infer, mel, HOP, chunk_frames=20)))
    assert chunked.shape == whole.shape
    assert (chunked - whole).abs().max() < 1e-4


def _drifting_sine(mel: torch.Tensor) -> torch.Tensor:
    """A stand-in for a vocoder with an unbounded receptive field: a 220 Hz tone whose phase
    depends on where its input window starts (like a phase that drifts with context), and whose
    level follows the mel. ``(1, n_mels, frames) -> (1, frames * HOP)``."""
    frames = mel.shape[-1]
    t = torch.arange(frames * HOP, dtype=torch.float64) / 22050
    level = 0.3 + 0.02 * torch.tanh(mel.mean(dim=1) + 4.0).repeat_interleave(HOP, dim=-1)
    start_phase = 0.37 * float(mel[0, 0, 0] * 10 % 17)
    return (level * torch.sin(2 * math.pi * 220 * t + start_phase)).float()


def _jumps(wav: torch.Tensor) -> torch.Tensor:
    return (wav[1:] - wav[:-1]).abs()


def test_crossfade_removes_clicks_at_chunk_joins():
    mel = _mel(120, seed=2)
    chunk, overlap = 30, 4
    hard = torch.cat(list(stream_vocode(_drifting_sine, mel, HOP, chunk_frames=chunk,
                                        context_frames=4)))
    soft = torch.cat(list(stream_vocode(_drifting_sine, mel, HOP, chunk_frames=chunk,
                                        context_frames=4, overlap_frames=overlap)))
    assert hard.shape == soft.shape == (120 * HOP,)
    joins = torch.zeros(soft.numel() - 1, dtype=torch.bool)
    for begin in range(chunk, 120, chunk):  # the cross-faded span of every join, plus a margin
        joins[begin * HOP - 2:(begin + overlap) * HOP + 2] = True
    inside = _jumps(soft)[~joins].max()
    assert _jumps(hard)[joins].max() > 3 * inside  # without cross-fade, the joins click
    assert _jumps(soft)[joins].max() < 1.2 * inside


@pytest.mark.parametrize("fade", ["linear", "equal_power"])
def test_crossfade_keeps_an_exact_stream_exact_where_chunks_agree(istft_vocoder, fade):
    mel = _mel(70, seed=3)
    whole = istft_vocoder.infer(mel)
    stream = stream_vocode(istft_vocoder.infer, mel, HOP, chunk_frames=20,
                           context_frames=istft_vocoder.receptive_field, overlap_frames=5,
                           fade=fade)
    chunked = torch.cat(list(stream))
    assert chunked.shape == whole.shape
    blended = torch.zeros(whole.numel(), dtype=torch.bool)
    for begin in range(20, 70, 20):
        blended[begin * HOP:(begin + 5) * HOP] = True
    assert (chunked - whole)[~blended].abs().max() < 1e-4
    if fade == "linear":  # gains sum to one: identical chunks blend to themselves
        assert (chunked - whole).abs().max() < 1e-4


def test_rejects_bad_arguments(istft_vocoder):
    mel = _mel(10)
    with pytest.raises(ValueError, match="overlap_frames"):
        next(stream_vocode(istft_vocoder.infer, mel, HOP, chunk_frames=4, overlap_frames=4))
    with pytest.raises(ValueError, match="one mel"):
        next(stream_vocode(istft_vocoder.infer, mel.expand(2, 80, 10), HOP))
    with pytest.raises(ValueError, match="samples"):
        next(stream_vocode(istft_vocoder.infer, mel, HOP + 1))
    with pytest.raises(ValueError, match="fade"):
        list(stream_vocode(istft_vocoder.infer, mel, HOP, chunk_frames=4, overlap_frames=1,
                           fade="cubic"))


def test_phase_iterations_widen_the_receptive_field_and_still_stream_exactly(istft_vocoder):
    config = dataclasses.replace(istft_vocoder.config, phase_iterations=2)
    refined = ISTFTVocoder(config, AudioConfig()).eval()
    refined.load_state_dict(istft_vocoder.state_dict())
    assert refined.receptive_field == istft_vocoder.receptive_field + 2 * 2 * 2
    mel = _mel(100, seed=1)
    whole = refined.infer(mel)
    assert (whole - istft_vocoder.infer(mel)).abs().max() > 1e-3  # the refinement changes it
    chunks = torch.cat(list(stream_vocode(refined.infer, mel, HOP, chunk_frames=24,
                                          context_frames=refined.receptive_field)))
    assert (chunks - whole).abs().max() < 1e-4
