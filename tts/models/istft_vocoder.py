"""A fast frame-rate vocoder that synthesizes with an inverse STFT (the Vocos / iSTFTNet idea).

Instead of upsampling the mel to the sample rate with many convolutions (HiFi-GAN), the network
stays at the mel frame rate and predicts one STFT frame per mel frame; an inverse STFT turns the
frames into a waveform:

    mel (batch, n_mels, frames)
      -> Conv1d(n_mels, dim, kernel_size) -> LayerNorm
      -> num_layers x ConvNeXtBlock(dim, intermediate_dim, kernel_size)
      -> LayerNorm -> Linear(dim, 2 * (n_fft // 2 + 1))
      -> log-magnitude (exp, clamped) and phase (cos/sin of a predicted angle)
      -> [``phase_iterations`` fast Griffin-Lim steps, started from that phase]
      -> inverse STFT (Hann window, centred frames) -> wav (batch, frames * hop_length)

The STFT of the head (``n_fft``, ``hop_length``, ``win_length``) is the shared ``AudioConfig``'s,
so a mel frame and a synthesized STFT frame are the same frame.

``InverseSTFT`` is a small overlap-add implementation equal to ``torch.istft(center=True)`` (to
float rounding) that is faster on CPU and traces with a dynamic number of frames
(``torch.export``), which ``torch.istft`` does not: it loops over the ``ceil(n_fft / hop)``
window segments, never over frames.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn
from torch.nn import functional as F

from tts.audio import MelSpectrogram
from tts.config import AudioConfig
from tts.errors import ConfigError
from tts.layers.convnext import ConvNeXtBlock


@dataclasses.dataclass(frozen=True)
class ISTFTVocoderConfig:
    """Hyper-parameters of ``ISTFTVocoder`` (its own; n_mels and the STFT come from AudioConfig).

    ``layer_scale_init`` is the starting residual gain of every ConvNeXt block; ``None`` means
    ``1 / num_layers``. Presets: ``preset("small")`` (2.8M parameters, about 150x real time on
    2 CPU cores) and ``preset("base")`` (13.5M, the Vocos size). The plain defaults (7.7M) sit in
    between.
    """

    dim: int = 384
    intermediate_dim: int = 1152
    num_layers: int = 8
    kernel_size: int = 7
    layer_scale_init: float | None = None
    phase_iterations: int = 0
    """Fast Griffin-Lim iterations (momentum 0.99) that make the predicted phase consistent
    across overlapping frames, started from the network's phase and keeping its magnitude. A
    phase learned without a discriminator is not consistent, and the overlap-add then buzzes at
    the frame rate; two iterations remove that (see the vocoder card). They run in training
    too (differentiably), so that the magnitude is learned for the phase it will be heard with.
    Each iteration costs one STFT and one inverse STFT and widens the receptive field by
    ``2 * ceil(n_fft / (2 * hop_length))`` frames."""

    def __post_init__(self) -> None:
        if self.phase_iterations < 0:
            raise ConfigError(f"ISTFTVocoderConfig: phase_iterations must be >= 0, got "
                              f"{self.phase_iterations}")
        if min(self.dim, self.intermediate_dim, self.num_layers) < 1:
            raise ConfigError("ISTFTVocoderConfig: dim, intermediate_dim and num_layers must be "
                              "positive")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"ISTFTVocoderConfig: kernel_size must be odd and positive, got "
                              f"{self.kernel_size}")

    @classmethod
    def preset(cls, name: str) -> ISTFTVocoderConfig:
        """``"small"`` (fast on CPU) or ``"base"`` (the Vocos size)."""
        if name not in _PRESETS:
            raise ConfigError(f"unknown iSTFT vocoder preset {name!r}; known: {', '.join(_PRESETS)}")
        return cls(**_PRESETS[name])


_PRESETS: dict[str, dict] = {
    "small": {"dim": 256, "intermediate_dim": 768, "num_layers": 6},
    "base": {"dim": 512, "intermediate_dim": 1536, "num_layers": 8},
}


class InverseSTFT(nn.Module):
    """Inverse STFT with a Hann window and centred frames, like ``torch.istft(center=True)``.

    Input: ``real, imag`` of shape ``(batch, frames, n_fft // 2 + 1)`` (frame-major, as a linear
    head produces them). Output: ``(batch, frames * hop_length)``, the samples of the original
    signal's ``frames * hop_length`` first positions. Needs ``hop_length <= win_length // 2`` so
    that every output sample is covered by a window (``ValueError`` otherwise).
    """

    def __init__(self, n_fft: int, hop_length: int, win_length: int) -> None:
        super().__init__()
        if not 0 < hop_length <= win_length // 2 or win_length > n_fft:
            raise ValueError(f"InverseSTFT needs 0 < hop_length <= win_length // 2 and "
                             f"win_length <= n_fft; got n_fft={n_fft}, hop_length={hop_length}, "
                             f"win_length={win_length}")
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.segments = math.ceil(n_fft / hop_length)
        window = torch.zeros(self.segments * hop_length)
        left = (n_fft - win_length) // 2  # torch.istft centres a short window inside n_fft
        window[left:left + win_length] = torch.hann_window(win_length)
        self.register_buffer("window", window, persistent=False)

    def _overlap_add(self, frames: torch.Tensor) -> torch.Tensor:
        """``(batch, frames, segments * hop)`` -> ``(batch, (frames + segments - 1) * hop)``."""
        batch, num = frames.shape[0], frames.shape[1]
        k, hop = self.segments, self.hop_length
        parts = frames.reshape(batch, num, k, hop)
        out = F.pad(parts[:, :, 0], (0, 0, 0, k - 1))
        for i in range(1, k):  # k = ceil(n_fft / hop) segments, not a loop over frames
            out = out + F.pad(parts[:, :, i], (0, 0, i, k - 1 - i))
        return out.reshape(batch, (num + k - 1) * hop)

    def forward(self, real: torch.Tensor, imag: torch.Tensor) -> torch.Tensor:
        num = real.shape[1]
        frames = torch.fft.irfft(torch.complex(real, imag), n=self.n_fft, dim=-1)
        if self.window.numel() > self.n_fft:  # hop does not divide n_fft: pad to whole segments
            frames = F.pad(frames, (0, self.window.numel() - self.n_fft))
        frames = frames * self.window
        wav = self._overlap_add(frames)
        square = (self.window ** 2).expand(1, num, -1)
        envelope = self._overlap_add(square)
        start = self.n_fft // 2
        end = start + num * self.hop_length
        return wav[:, start:end] / envelope[:, start:end]


class ISTFTVocoder(nn.Module):
    """Mel ``(batch, n_mels, frames)`` -> waveform ``(batch, frames * hop_length)``.

    ``config`` holds the network's own sizes; ``audio`` gives ``n_mels`` and the STFT
    (``n_fft``, ``hop_length``, ``win_length``) of the synthesis head. The waveform is not
    bounded (train it with mel/adversarial losses; clip when saving).

    ``receptive_field`` is how many mel frames on each side can influence a hop of output:
    ``(num_layers + 1) * (kernel_size // 2)`` from the convolutions plus
    ``ceil(win_length / (2 * hop_length))`` from the overlapping synthesis windows plus
    ``2 * ceil(n_fft / (2 * hop_length))`` per phase iteration. Streaming with at least that
    much context (``tts.streaming.stream_vocode``) is exact.
    """

    def __init__(self, config: ISTFTVocoderConfig, audio: AudioConfig) -> None:
        super().__init__()
        if audio.hop_length > audio.win_length // 2:
            raise ConfigError(f"ISTFTVocoder needs hop_length <= win_length // 2 to overlap-add; "
                              f"got hop_length={audio.hop_length}, win_length={audio.win_length}")
        self.config = config
        self.audio = audio
        self.n_mels = audio.n_mels
        self.hop_length = audio.hop_length
        self.n_bins = audio.n_fft // 2 + 1
        # No Hann-windowed frame of a signal in [-1, 1] exceeds win_length / 2 in magnitude;
        # clamping the log-magnitude at log(win_length) keeps exp() finite with a 2x margin.
        self.max_log_magnitude = math.log(audio.win_length)
        self.receptive_field = ((config.num_layers + 1) * (config.kernel_size // 2)
                                + math.ceil(audio.win_length / (2 * audio.hop_length))
                                + config.phase_iterations * 2
                                * math.ceil(audio.n_fft / (2 * audio.hop_length)))
        scale = config.layer_scale_init
        if scale is None:
            scale = 1.0 / config.num_layers
        self.embed = nn.Conv1d(audio.n_mels, config.dim, config.kernel_size,
                               padding=config.kernel_size // 2)
        self.norm = nn.LayerNorm(config.dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(config.dim, config.intermediate_dim, config.kernel_size, scale)
            for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(config.dim, eps=1e-6)
        self.head = nn.Linear(config.dim, 2 * self.n_bins)
        self.istft = InverseSTFT(audio.n_fft, audio.hop_length, audio.win_length)
        self.analysis = MelSpectrogram(audio)  # its ``spectrum``: the one STFT
        self.apply(_init_weights)

    def spectrogram(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Predicted STFT: ``(magnitude, phase)``, each ``(batch, frames, n_fft // 2 + 1)``."""
        if mel.dim() != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(f"ISTFTVocoder expects a mel (batch, {self.n_mels}, frames), "
                             f"got shape {tuple(mel.shape)}")
        x = self.embed(mel)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        x = self.head(self.final_norm(x.transpose(1, 2)))  # (batch, frames, 2 * bins)
        log_magnitude, phase = x.split(self.n_bins, dim=-1)
        magnitude = torch.exp(torch.clamp(log_magnitude, max=self.max_log_magnitude))
        return magnitude, phase

    def synthesize(self, magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        """``spectrogram``'s output -> ``wav (batch, frames * hop_length)``."""
        return self.istft(magnitude * torch.cos(phase), magnitude * torch.sin(phase))

    def refine_phase(self, magnitude: torch.Tensor, phase: torch.Tensor,
                     iterations: int, momentum: float = 0.99) -> torch.Tensor:
        """Fast Griffin-Lim (Perraudin et al., 2013) from ``phase``: ``iterations`` rounds of
        synthesis and re-analysis that keep ``magnitude`` and take the re-analysed phase,
        extrapolated with ``momentum``. ``(batch, frames, bins)`` each -> refined phase, same
        shape."""
        frames = magnitude.shape[1]
        spec = torch.polar(magnitude, phase)
        previous = None
        for _ in range(iterations):
            wav = self.istft(spec.real, spec.imag)
            rebuilt = self.analysis.spectrum(wav)[..., :frames].transpose(1, 2)
            target = rebuilt if previous is None else rebuilt - momentum / (1 + momentum) * previous
            previous = rebuilt
            spec = torch.polar(magnitude, torch.angle(target))
        return torch.angle(spec)

    def forward_with_phase(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(wav (batch, frames * hop_length), phase (batch, frames, bins))``: ``forward``'s
        waveform and the network's own phase before ``refine_phase`` (what ``PhaseLoss``
        trains)."""
        magnitude, phase = self.spectrogram(mel)
        refined = phase
        if self.config.phase_iterations:
            refined = self.refine_phase(magnitude, phase, self.config.phase_iterations)
        return self.synthesize(magnitude, refined), phase

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``mel (batch, n_mels, frames)`` -> ``wav (batch, frames * hop_length)``; with
        ``phase_iterations`` > 0 the phase is refined first (``refine_phase``)."""
        return self.forward_with_phase(mel)[0]

    @torch.no_grad()
    def infer(self, mel: torch.Tensor) -> torch.Tensor:
        """Inference: ``forward`` without gradients. ``(batch, n_mels, frames)`` ->
        ``(batch, frames * hop_length)``; a single ``(n_mels, frames)`` gives ``(samples,)``."""
        if mel.dim() == 2:
            return self.forward(mel.unsqueeze(0)).squeeze(0)
        return self.forward(mel)


def _init_weights(module: nn.Module) -> None:
    """Truncated-normal(0.02) weights and zero biases for convolutions and linear layers."""
    if isinstance(module, nn.Conv1d | nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
