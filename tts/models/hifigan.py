"""HiFi-GAN generator: mel spectrogram -> waveform (Kong, Kim and Bae, 2020).

The generator upsamples a mel ``(batch, n_mels, frames)`` with a stack of transposed
convolutions whose strides multiply to the hop length, each followed by a multi-receptive-field
fusion (MRF) block: the mean of several residual blocks with different kernel sizes and
dilations. A final convolution and ``tanh`` give a waveform ``(batch, frames * hop_length)`` in
[-1, 1].

``HiFiGANConfig`` holds only the generator's own hyper-parameters; the number of input channels
(``audio.n_mels``) and the hop length come from the shared ``AudioConfig``.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from tts.config import AudioConfig
from tts.errors import ConfigError

LRELU_SLOPE = 0.1
"""Negative slope of the leaky ReLUs inside the generator (and the discriminators)."""

INIT_STD = 0.01
"""Standard deviation of the normal initialisation of upsampling and residual convolutions."""


@dataclasses.dataclass(frozen=True)
class HiFiGANConfig:
    """Generator hyper-parameters; defaults are the published "v1".

    ``upsample_rates[i]`` is the stride of upsampling stage ``i`` and ``upsample_kernel_sizes[i]``
    its kernel (``kernel - rate`` must be even and non-negative, so each stage multiplies the
    length exactly by its rate). Stage ``i`` has ``upsample_initial_channel // 2 ** (i + 1)``
    output channels. Every stage ends in an MRF block of ``len(resblock_kernel_sizes)`` residual
    blocks of type ``resblock`` ("1": two convolutions per dilation, "2": one), block ``j`` using
    kernel ``resblock_kernel_sizes[j]`` and dilations ``resblock_dilation_sizes[j]``.
    """

    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock: str = "1"
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))

    def __post_init__(self) -> None:
        name = "HiFiGANConfig"
        if self.resblock not in ("1", "2"):
            raise ConfigError(f'{name}: resblock must be "1" or "2", got {self.resblock!r}')
        if not self.upsample_rates or len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ConfigError(f"{name}: upsample_rates and upsample_kernel_sizes need the same "
                              "non-zero length")
        for rate, kernel in zip(self.upsample_rates, self.upsample_kernel_sizes, strict=True):
            if rate < 1 or kernel < rate or (kernel - rate) % 2:
                raise ConfigError(f"{name}: upsample kernel {kernel} with rate {rate}: need "
                                  "rate >= 1, kernel >= rate and kernel - rate even")
        if (not self.resblock_kernel_sizes
                or len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes)):
            raise ConfigError(f"{name}: resblock_kernel_sizes and resblock_dilation_sizes need "
                              "the same non-zero length")
        for kernel, dilations in zip(self.resblock_kernel_sizes, self.resblock_dilation_sizes,
                                     strict=True):
            if kernel < 1 or kernel % 2 == 0 or not dilations or min(dilations) < 1:
                raise ConfigError(f"{name}: resblock kernel {kernel} with dilations {dilations}: "
                                  "need an odd kernel and at least one positive dilation")
        if self.upsample_initial_channel < 2 ** len(self.upsample_rates):
            raise ConfigError(f"{name}: upsample_initial_channel {self.upsample_initial_channel} "
                              f"is too small to halve {len(self.upsample_rates)} times")

    @property
    def total_upsampling(self) -> int:
        """Product of the upsampling rates: waveform samples per mel frame."""
        return math.prod(self.upsample_rates)

    @classmethod
    def preset(cls, name: str) -> HiFiGANConfig:
        """The published configurations: ``"v1"`` (best quality), ``"v2"`` (small), ``"v3"``
        (fast). All three upsample by 256."""
        if name not in _PRESETS:
            raise ConfigError(f"unknown HiFi-GAN preset {name!r}; known: {', '.join(_PRESETS)}")
        return cls(**_PRESETS[name])


_PRESETS: dict[str, dict] = {
    "v1": {},
    "v2": {"upsample_initial_channel": 128},
    "v3": {
        "upsample_rates": (8, 8, 4),
        "upsample_kernel_sizes": (16, 16, 8),
        "upsample_initial_channel": 256,
        "resblock": "2",
        "resblock_kernel_sizes": (3, 5, 7),
        "resblock_dilation_sizes": ((1, 2), (2, 6), (3, 12)),
    },
}


def _conv(in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1) -> nn.Conv1d:
    """Length-preserving 1-D convolution, weights ~ N(0, INIT_STD), with weight norm."""
    conv = nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation,
                     padding=dilation * (kernel_size - 1) // 2)
    nn.init.normal_(conv.weight, 0.0, INIT_STD)
    return weight_norm(conv)


class ResBlock1(nn.Module):
    """Residual block type "1": per dilation ``d``,
    ``x = x + conv_1(lrelu(conv_d(lrelu(x))))``.

    Input and output: ``(batch, channels, samples)``.
    """

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(_conv(channels, channels, kernel_size, d) for d in dilations)
        self.convs2 = nn.ModuleList(_conv(channels, channels, kernel_size) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv1, conv2 in zip(self.convs1, self.convs2, strict=True):
            y = conv1(F.leaky_relu(x, LRELU_SLOPE))
            x = x + conv2(F.leaky_relu(y, LRELU_SLOPE))
        return x


class ResBlock2(nn.Module):
    """Residual block type "2": per dilation ``d``, ``x = x + conv_d(lrelu(x))``.

    Input and output: ``(batch, channels, samples)``.
    """

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(_conv(channels, channels, kernel_size, d) for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = x + conv(F.leaky_relu(x, LRELU_SLOPE))
        return x


class HiFiGANGenerator(nn.Module):
    """Mel ``(batch, n_mels, frames)`` -> waveform ``(batch, frames * hop_length)`` in [-1, 1].

    Built from ``config`` (own hyper-parameters) and ``audio`` (input channels ``audio.n_mels``;
    ``prod(config.upsample_rates)`` must equal ``audio.hop_length``, else ``ConfigError``). All
    convolutions use weight norm; ``remove_weight_norm()`` folds it into plain weights for
    inference without changing the output.
    """

    def __init__(self, config: HiFiGANConfig, audio: AudioConfig) -> None:
        super().__init__()
        if config.total_upsampling != audio.hop_length:
            raise ConfigError(
                f"HiFi-GAN upsample_rates {config.upsample_rates} multiply to "
                f"{config.total_upsampling}, but the audio hop_length is {audio.hop_length}")
        self.config = config
        self.audio = audio
        self.hop_length = audio.hop_length
        self.n_mels = audio.n_mels
        channels = config.upsample_initial_channel
        self.conv_pre = weight_norm(nn.Conv1d(audio.n_mels, channels, 7, padding=3))
        block = ResBlock1 if config.resblock == "1" else ResBlock2
        self.ups = nn.ModuleList()
        self.mrfs = nn.ModuleList()
        for rate, kernel in zip(config.upsample_rates, config.upsample_kernel_sizes, strict=True):
            up = nn.ConvTranspose1d(channels, channels // 2, kernel, stride=rate,
                                    padding=(kernel - rate) // 2)
            nn.init.normal_(up.weight, 0.0, INIT_STD)
            self.ups.append(weight_norm(up))
            channels //= 2
            self.mrfs.append(nn.ModuleList(
                block(channels, k, d)
                for k, d in zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes,
                                strict=True)))
        self.conv_post = weight_norm(nn.Conv1d(channels, 1, 7, padding=3))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``mel (batch, n_mels, frames)`` -> ``wav (batch, frames * hop_length)``, tanh-bounded."""
        if mel.dim() != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(f"HiFiGANGenerator expects a mel (batch, {self.n_mels}, frames), "
                             f"got shape {tuple(mel.shape)}")
        x = self.conv_pre(mel)
        for up, mrf in zip(self.ups, self.mrfs, strict=True):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            x = sum(block(x) for block in mrf) / len(mrf)
        x = self.conv_post(F.leaky_relu(x))  # default slope 0.01 here, as published
        return torch.tanh(x).squeeze(1)

    @torch.no_grad()
    def infer(self, mel: torch.Tensor) -> torch.Tensor:
        """Inference: the same path as ``forward`` without gradients.

        ``(batch, n_mels, frames)`` -> ``(batch, frames * hop_length)``; a single
        ``(n_mels, frames)`` mel gives ``(frames * hop_length,)``.
        """
        if mel.dim() == 2:
            return self.forward(mel.unsqueeze(0)).squeeze(0)
        return self.forward(mel)

    def remove_weight_norm(self) -> None:
        """Fold every weight-norm parametrisation into a plain weight (for inference/export).

        The output is unchanged up to float rounding; afterwards ``g`` and ``v`` are gone and
        each convolution has an ordinary ``weight`` parameter. Calling it twice is harmless.
        """
        for module in self.modules():
            if parametrize.is_parametrized(module, "weight"):
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)

    @property
    def has_weight_norm(self) -> bool:
        """Whether any convolution still carries its weight-norm parametrisation."""
        return any(parametrize.is_parametrized(m, "weight") for m in self.modules())
