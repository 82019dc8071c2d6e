"""HiFi-GAN discriminators: multi-period (MPD) and multi-scale (MSD).

Common contract: ``forward(wav (batch, 1, samples))`` (``(batch, samples)`` is accepted too)
returns ``(logits, features)`` with one entry per sub-discriminator: ``logits[i]`` is
``(batch, n_i)`` (a score per output position, flattened), ``features[i]`` the list of that
sub-discriminator's intermediate activations (after each leaky ReLU, plus the final
pre-flatten output), used by the feature-matching loss.

Defaults are the published sizes (MPD ~41M, MSD ~30M parameters); the ``channels`` arguments
shrink them for tests and small experiments.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from tts.models.hifigan import LRELU_SLOPE

Logits = list[torch.Tensor]
Features = list[list[torch.Tensor]]

PERIOD_CHANNELS = (32, 128, 512, 1024, 1024)
"""Published channels of each period sub-discriminator's convolutions."""

SCALE_CHANNELS = (128, 128, 256, 512, 1024, 1024, 1024)
"""Published channels of each scale sub-discriminator's convolutions."""

_SCALE_LAYERS = ((15, 1, 1), (41, 2, 4), (41, 2, 16), (41, 4, 16), (41, 4, 16), (41, 1, 16),
                 (5, 1, 1))
"""(kernel, stride, groups) of the scale sub-discriminator's convolutions, as published."""


def _as_batch_channel_time(wav: torch.Tensor) -> torch.Tensor:
    """``(batch, samples)`` or ``(batch, 1, samples)`` -> ``(batch, 1, samples)``."""
    if wav.dim() == 2:
        wav = wav.unsqueeze(1)
    if wav.dim() != 3 or wav.shape[1] != 1:
        raise ValueError(f"discriminators expect a waveform (batch, 1, samples) or "
                         f"(batch, samples), got shape {tuple(wav.shape)}")
    return wav


def _conv_stack(convs: nn.ModuleList, conv_post: nn.Module,
                x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Leaky-ReLU convolutions then the output layer: ``(logits (batch, n), feature maps)``."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LRELU_SLOPE)
        features.append(x)
    x = conv_post(x)
    features.append(x)
    return x.flatten(1), features


class PeriodDiscriminator(nn.Module):
    """Looks at every ``period``-th sample: the waveform ``(batch, 1, samples)`` is reflect-padded
    to a multiple of ``period`` and folded to ``(batch, 1, samples / period, period)``; 2-D
    convolutions with ``(k, 1)`` kernels then treat each phase separately.

    Output: logits ``(batch, n)`` and ``len(channels) + 1`` feature maps.
    """

    def __init__(self, period: int, channels: tuple[int, ...] = PERIOD_CHANNELS,
                 kernel_size: int = 5, stride: int = 3) -> None:
        super().__init__()
        if period < 1 or not channels:
            raise ValueError("PeriodDiscriminator needs period >= 1 and at least one channel size")
        self.period = period
        pad = (kernel_size - 1) // 2
        ins = (1, *channels[:-1])
        strides = [stride] * (len(channels) - 1) + [1]
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(i, o, (kernel_size, 1), (s, 1), padding=(pad, 0)))
            for i, o, s in zip(ins, channels, strides, strict=True))
        self.conv_post = weight_norm(nn.Conv2d(channels[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``wav (batch, 1, samples)`` -> ``(logits (batch, n), features)``."""
        batch, _, samples = wav.shape
        extra = -samples % self.period
        if extra:
            # reflect needs more samples than the padding; very short inputs are zero-padded
            mode = "reflect" if extra < samples else "constant"
            wav = F.pad(wav, (0, extra), mode=mode)
        return _conv_stack(self.convs, self.conv_post, wav.reshape(batch, 1, -1, self.period))


class ScaleDiscriminator(nn.Module):
    """Strided, grouped 1-D convolutions over a (possibly average-pooled) waveform
    ``(batch, 1, samples)``; ``spectral`` selects spectral norm instead of weight norm.

    Output: logits ``(batch, n)`` and 8 feature maps (7 convolutions + the output layer).
    Groups are the published ones, reduced where ``channels`` would not be divisible.
    """

    def __init__(self, channels: tuple[int, ...] = SCALE_CHANNELS, spectral: bool = False) -> None:
        super().__init__()
        if len(channels) != len(_SCALE_LAYERS):
            raise ValueError(f"ScaleDiscriminator needs {len(_SCALE_LAYERS)} channel sizes, "
                             f"got {len(channels)}")
        norm = spectral_norm if spectral else weight_norm
        ins = (1, *channels[:-1])
        self.convs = nn.ModuleList()
        for i, o, (kernel, stride, groups) in zip(ins, channels, _SCALE_LAYERS, strict=True):
            groups = math.gcd(groups, i, o)
            self.convs.append(norm(nn.Conv1d(i, o, kernel, stride, groups=groups,
                                             padding=(kernel - 1) // 2)))
        self.conv_post = norm(nn.Conv1d(channels[-1], 1, 3, 1, padding=1))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``wav (batch, 1, samples)`` -> ``(logits (batch, n), features)``."""
        return _conv_stack(self.convs, self.conv_post, wav)


class MultiPeriodDiscriminator(nn.Module):
    """One ``PeriodDiscriminator`` per period (published: 2, 3, 5, 7, 11).

    ``forward(wav (batch, 1, samples))`` -> ``(logits, features)``, one entry per period; any
    number of samples is accepted (reflect padding to each period).
    """

    def __init__(self, periods: tuple[int, ...] = (2, 3, 5, 7, 11),
                 channels: tuple[int, ...] = PERIOD_CHANNELS) -> None:
        super().__init__()
        self.periods = tuple(periods)
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, channels) for p in periods)

    def forward(self, wav: torch.Tensor) -> tuple[Logits, Features]:
        wav = _as_batch_channel_time(wav)
        logits, features = [], []
        for disc in self.discriminators:
            out, feats = disc(wav)
            logits.append(out)
            features.append(feats)
        return logits, features


class MultiScaleDiscriminator(nn.Module):
    """``scales`` scale sub-discriminators: the first on the raw waveform, each next one on a copy
    average-pooled once more (pool 4, stride 2: half the rate). The first uses spectral norm,
    the others weight norm.

    ``forward(wav (batch, 1, samples))`` -> ``(logits, features)``, one entry per scale.
    """

    def __init__(self, scales: int = 3, channels: tuple[int, ...] = SCALE_CHANNELS) -> None:
        super().__init__()
        if scales < 1:
            raise ValueError("MultiScaleDiscriminator needs at least one scale")
        self.scales = scales
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(channels, spectral=(i == 0)) for i in range(scales))
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, wav: torch.Tensor) -> tuple[Logits, Features]:
        x = _as_batch_channel_time(wav)
        logits, features = [], []
        for i, disc in enumerate(self.discriminators):
            if i:
                x = self.pool(x)
            out, feats = disc(x)
            logits.append(out)
            features.append(feats)
        return logits, features


class CombinedDiscriminator(nn.Module):
    """The HiFi-GAN discriminator: a ``MultiPeriodDiscriminator`` and a
    ``MultiScaleDiscriminator`` side by side.

    ``forward(wav (batch, 1, samples))`` -> ``(logits, features)`` with the ``len(periods)``
    period entries first, then the ``scales`` scale entries.
    """

    def __init__(self, periods: tuple[int, ...] = (2, 3, 5, 7, 11), scales: int = 3,
                 period_channels: tuple[int, ...] = PERIOD_CHANNELS,
                 scale_channels: tuple[int, ...] = SCALE_CHANNELS) -> None:
        super().__init__()
        self.mpd = MultiPeriodDiscriminator(periods, period_channels)
        self.msd = MultiScaleDiscriminator(scales, scale_channels)

    def forward(self, wav: torch.Tensor) -> tuple[Logits, Features]:
        wav = _as_batch_channel_time(wav)
        period_logits, period_features = self.mpd(wav)
        scale_logits, scale_features = self.msd(wav)
        return period_logits + scale_logits, period_features + scale_features
