"""HiFi-GAN generator and discriminators: configs, shapes, weight norm, output structure."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F
from torch.nn.utils import parametrize
from vocoder_fixtures import TINY, TINY_AUDIO

from tts.config import AudioConfig, from_dict, to_dict
from tts.errors import ConfigError
from tts.models.discriminators import (
    CombinedDiscriminator,
    MultiPeriodDiscriminator,
    MultiScaleDiscriminator,
    PeriodDiscriminator,
)
from tts.models.hifigan import HiFiGANConfig, HiFiGANGenerator

TINY_PERIOD_CHANNELS = (4, 8, 8, 16, 16)
TINY_SCALE_CHANNELS = (8, 8, 16, 16, 32, 32, 32)

PUBLISHED_PARAMETERS = {"v1": 13.92e6, "v2": 0.92e6, "v3": 1.46e6}


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", ["v1", "v2", "v3"])
def test_presets_shapes_and_published_sizes(name):
    torch.manual_seed(0)
    generator = HiFiGANGenerator(HiFiGANConfig.preset(name), AudioConfig())
    assert generator.hop_length == 256
    assert generator.conv_pre.in_channels == 80  # derived from the audio config
    frames = 2 if name == "v1" else 3
    wav = generator(torch.randn(2, 80, frames))
    assert wav.shape == (2, frames * 256)
    assert wav.abs().max() <= 1.0
    assert count(generator) == pytest.approx(PUBLISHED_PARAMETERS[name], rel=0.01)


def test_preset_values_and_unknown_preset():
    v3 = HiFiGANConfig.preset("v3")
    assert v3.upsample_rates == (8, 8, 4) and v3.resblock == "2"
    assert v3.resblock_dilation_sizes == ((1, 2), (2, 6), (3, 12))
    assert HiFiGANConfig.preset("v1") == HiFiGANConfig()
    assert HiFiGANConfig.preset("v2").upsample_initial_channel == 128
    with pytest.raises(ConfigError, match="unknown HiFi-GAN preset"):
        HiFiGANConfig.preset("v4")


def test_config_round_trips_strictly():
    assert from_dict(HiFiGANConfig, to_dict(TINY)) == TINY
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(HiFiGANConfig, {"upsample_rate": [4, 4, 4]})


@pytest.mark.parametrize("changes", [
    {"resblock": "3"},
    {"upsample_kernel_sizes": (8, 8)},
    {"upsample_kernel_sizes": (8, 8, 7)},
    {"resblock_dilation_sizes": ((1, 3),)},
    {"resblock_kernel_sizes": (3, 4)},
    {"upsample_initial_channel": 4},
])
def test_invalid_configs_are_refused(changes):
    with pytest.raises(ConfigError):
        HiFiGANConfig(**{**to_dict(TINY), **changes})


def test_hop_mismatch_is_a_one_line_config_error():
    with pytest.raises(ConfigError) as info:
        HiFiGANGenerator(TINY, AudioConfig())  # rates multiply to 64, hop is 256
    message = str(info.value)
    assert "\n" not in message and "64" in message and "256" in message


def test_tiny_forward_infer_shapes():
    torch.manual_seed(0)
    generator = HiFiGANGenerator(TINY, TINY_AUDIO)
    mel = torch.randn(3, 80, 5)
    wav = generator(mel)
    assert wav.shape == (3, 5 * 64) and wav.requires_grad
    inferred = generator.infer(mel)
    assert not inferred.requires_grad
    torch.testing.assert_close(inferred, wav.detach())
    assert generator.infer(mel[0]).shape == (5 * 64,)
    with pytest.raises(ValueError, match="n_mels|80"):
        generator(torch.randn(1, 40, 5))


def test_remove_weight_norm_keeps_outputs():
    torch.manual_seed(0)
    generator = HiFiGANGenerator(TINY, TINY_AUDIO).eval()
    mel = torch.randn(2, 80, 6)
    before = generator.infer(mel)
    assert generator.has_weight_norm
    generator.remove_weight_norm()
    assert not generator.has_weight_norm
    assert not any("parametrizations" in name for name, _ in generator.named_parameters())
    torch.testing.assert_close(generator.infer(mel), before, atol=1e-5, rtol=0)
    generator.remove_weight_norm()  # harmless the second time


# ---------------------------------------------------------------- discriminators


def _is_weight_norm(conv: torch.nn.Module) -> bool:
    return hasattr(conv.parametrizations.weight, "original0")  # weight norm: g and v


def _is_spectral_norm(conv: torch.nn.Module) -> bool:
    return parametrize.is_parametrized(conv, "weight") and not _is_weight_norm(conv)


@pytest.mark.parametrize("samples", [1024, 1001, 1013, 7])
def test_multi_period_structure_and_any_length(samples):
    mpd = MultiPeriodDiscriminator(channels=TINY_PERIOD_CHANNELS)
    logits, features = mpd(torch.randn(2, 1, samples))
    assert len(logits) == len(features) == 5
    for period, out, feats in zip(mpd.periods, logits, features, strict=True):
        assert out.dim() == 2 and out.shape[0] == 2
        assert len(feats) == len(TINY_PERIOD_CHANNELS) + 1
        assert feats[0].shape[-1] == period  # folded (batch, channels, samples / period, period)
        assert feats[0].shape[1] == TINY_PERIOD_CHANNELS[0]


def test_period_padding_is_reflect():
    torch.manual_seed(0)
    disc = PeriodDiscriminator(5, TINY_PERIOD_CHANNELS)
    wav = torch.randn(1, 1, 103)
    padded = F.pad(wav, (0, 2), mode="reflect")
    torch.testing.assert_close(disc(wav)[0], disc(padded)[0])


def test_multi_scale_structure_norms_and_pooling():
    msd = MultiScaleDiscriminator(scales=3, channels=TINY_SCALE_CHANNELS)
    assert all(_is_spectral_norm(c) for c in msd.discriminators[0].convs)
    for disc in msd.discriminators[1:]:
        assert all(_is_weight_norm(c) for c in disc.convs)
    logits, features = msd(torch.randn(2, 1, 1001))
    assert len(logits) == len(features) == 3
    assert all(len(f) == 8 and out.shape[0] == 2 for out, f in zip(logits, features, strict=True))
    lengths = [f[0].shape[-1] for f in features]
    assert lengths[0] == 1001 and lengths[1] == 1001 // 2 + 1 and lengths[2] < lengths[1]


def test_combined_order_and_2d_input():
    torch.manual_seed(0)
    disc = CombinedDiscriminator(period_channels=TINY_PERIOD_CHANNELS,
                                 scale_channels=TINY_SCALE_CHANNELS).eval()
    wav = torch.randn(2, 777)
    logits, features = disc(wav.unsqueeze(1))
    assert len(logits) == len(features) == 8
    assert [len(f) for f in features] == [6] * 5 + [8] * 3
    again, _ = disc(wav)  # (batch, samples) is accepted too
    for a, b in zip(logits, again, strict=True):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="waveform"):
        disc(torch.randn(2, 2, 100))


def test_published_discriminator_sizes():
    disc = CombinedDiscriminator()
    assert count(disc.mpd) == pytest.approx(41.1e6, rel=0.01)
    assert count(disc.msd) == pytest.approx(29.6e6, rel=0.01)
