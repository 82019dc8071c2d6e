"""A pitch-driven vocoder: an F0-given excitation shaped by filters a network predicts from the mel.

The family of neural source-filter and DDSP harmonic-plus-noise vocoders (NSF, DDSP, the
ultra-lightweight DDSP vocoder): the pitch is not learned, it is *given*, so a voice comes out
at the F0 it is asked for and ``--pitch N`` moves it by exactly N semitones.

    f0 (batch, frames), Hz, 0 = unvoiced
      -> continuous F0 (unvoiced gaps bridged in log F0) and a voicing flag
      -> sources at the sample rate: a band-limited pulse train (all harmonics under Nyquist,
         each with the power density of unit white noise) and white noise
      -> STFT of each (``synthesis_hop = hop_length / subframes``, ``n_fft = 4 * synthesis_hop``)
    mel (batch, n_mels, frames) + log F0 + voicing
      -> Conv1d -> num_layers x ConvNeXtBlock -> Linear: per synthesis frame, two log-magnitude
         responses (harmonic, noise) as residuals on the mel's own envelope (the log-mel
         interpolated onto the synthesis bins, relative to unit white noise's log-mel)
      -> minimum-phase filters from the log-magnitudes (folded real cepstrum; the harmonic
         filter's cepstrum is cut at ``harmonic_lifter_ms``, so it is an envelope and never
         carries the recording's harmonic comb, which would fight a shifted F0)
    harmonic STFT x H_harmonic + noise STFT x H_noise -> inverse STFT -> wav (batch, frames * hop)

Streaming: the sources depend on the whole F0 track (phase accumulates from the start), so
``excitation(f0)`` is made once per utterance (cheap: O(samples)) and ``synthesize`` runs on
frame windows of mel and excitation. The network and the synthesis window see
``receptive_field`` frames on each side, so windows with that much context give the whole
utterance's samples (``tts.vocoder.vocode_stream``). Inference noise is seeded: the same input gives
the same waveform.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from torch import nn

from tts.audio import MelSpectrogram
from tts.config import AudioConfig
from tts.errors import ConfigError
from tts.layers.convnext import ConvNeXtBlock
from tts.models.istft_vocoder import InverseSTFT

UNVOICED_F0_HZ = 120.0
"""Oscillator frequency of an utterance with no voiced frame at all (its harmonic filter is
then closed by the network: the voicing flag is one of its inputs)."""

LOG_F0_CENTRE, LOG_F0_SCALE = math.log(150.0), 0.5
"""The network reads ``(log f0 - LOG_F0_CENTRE) / LOG_F0_SCALE``."""

MAX_LOG_GAIN = 3.0
"""Upper clamp of a filter's log-magnitude: keeps ``exp`` finite early in training."""


@dataclasses.dataclass(frozen=True)
class SourceFilterConfig:
    """Hyper-parameters of ``SourceFilterVocoder`` (n_mels and the hop come from AudioConfig).

    Presets: ``preset("small")`` (the shipped size) and ``preset("tiny")`` (tests).
    """

    dim: int = 256
    intermediate_dim: int = 768
    num_layers: int = 6
    kernel_size: int = 7
    subframes: int = 2
    """Synthesis frames per mel frame: the filters change ``subframes`` times per mel hop, which
    keeps plosives and onsets sharp."""
    harmonic_lifter_ms: float = 2.5
    """Quefrency cut of the harmonic filter (ms): 2.5 ms smooths over 400 Hz, above the F0 of
    speech, so the filter is an envelope. 0 keeps the whole cepstrum."""
    noise_init_db: float = -20.0
    """The noise filter starts this far under the mel's envelope."""

    def __post_init__(self) -> None:
        if min(self.dim, self.intermediate_dim, self.num_layers, self.subframes) < 1:
            raise ConfigError("SourceFilterConfig: dim, intermediate_dim, num_layers and "
                              "subframes must be positive")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"SourceFilterConfig: kernel_size must be odd and positive, got "
                              f"{self.kernel_size}")
        if self.harmonic_lifter_ms < 0:
            raise ConfigError("SourceFilterConfig: harmonic_lifter_ms must be >= 0")

    @classmethod
    def preset(cls, name: str) -> SourceFilterConfig:
        """``"small"`` (about 2M parameters) or ``"tiny"`` (tests)."""
        if name not in _PRESETS:
            raise ConfigError(f"unknown source-filter vocoder preset {name!r}; known: "
                              f"{', '.join(_PRESETS)}")
        return cls(**_PRESETS[name])


_PRESETS: dict[str, dict] = {
    "small": {},
    "tiny": {"dim": 32, "intermediate_dim": 64, "num_layers": 2},
}


def continuous_f0(f0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``f0 (batch, frames)`` Hz (0 = unvoiced) -> ``(f0c, voiced)``, each ``(batch, frames)``:
    unvoiced gaps bridged linearly in log F0 between their voiced neighbours (held at the
    edges; ``UNVOICED_F0_HZ`` for an item with no voiced frame), and the voicing flag as float."""
    voiced = f0 > 0
    frames = f0.shape[-1]
    index = torch.arange(frames, device=f0.device).expand_as(f0)
    minus = torch.full_like(index, -1)
    previous = torch.where(voiced, index, minus).cummax(dim=-1).values
    after = torch.where(voiced, index, torch.full_like(index, frames))
    following = after.flip(-1).cummin(dim=-1).values.flip(-1)
    log_f0 = torch.log(f0.clamp(min=1.0))
    has_prev, has_next = previous >= 0, following < frames
    left = torch.gather(log_f0, -1, previous.clamp(min=0))
    right = torch.gather(log_f0, -1, following.clamp(max=frames - 1))
    span = (following - previous).clamp(min=1).to(f0.dtype)
    weight = (index - previous).to(f0.dtype) / span
    bridged = torch.where(has_prev & has_next, left + weight * (right - left),
                          torch.where(has_prev, left, right))
    any_voiced = voiced.any(dim=-1, keepdim=True)
    bridged = torch.where(any_voiced, bridged, torch.full_like(bridged,
                                                               math.log(UNVOICED_F0_HZ)))
    return torch.where(voiced, f0, torch.exp(bridged)), voiced.to(f0.dtype)


def _upsample(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """``(batch, F)`` frame values (frame ``t`` centred on sample ``t * hop``) -> ``(batch,
    F * hop)`` samples, linear between frame centres, held after the last."""
    nxt = torch.cat([frames[:, 1:], frames[:, -1:]], dim=1)
    ramp = torch.arange(hop, device=frames.device, dtype=frames.dtype) / hop
    return (frames.unsqueeze(-1) + (nxt - frames).unsqueeze(-1) * ramp).reshape(frames.shape[0], -1)


def pulse_train(f0_samples: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Band-limited pulse train ``(batch, samples)`` following ``f0_samples (batch, samples)``
    Hz: the sum of every harmonic under Nyquist, each of amplitude ``2 sqrt(f0 / sample_rate)``
    (the power density of unit-variance white noise), in cosine phase from the accumulated
    phase. Closed form (Dirichlet kernel), so the cost does not grow with the harmonic count."""
    cycles = torch.cumsum(f0_samples.double() / sample_rate, dim=-1)  # float64: no drift
    theta = (2 * math.pi * (cycles - torch.floor(cycles))).float()
    f0 = f0_samples.float()
    harmonics = (torch.ceil(0.5 * sample_rate / f0) - 1).clamp(min=1)
    half = torch.sin(theta / 2)
    near_zero = half.abs() < 1e-4
    safe = torch.where(near_zero, torch.ones_like(half), half)
    kernel = torch.sin((harmonics + 0.5) * theta) / (2 * safe) - 0.5
    kernel = torch.where(near_zero, harmonics, kernel)
    return (kernel * 2 * torch.sqrt(f0 / sample_rate)).to(f0_samples.dtype)


def minimum_phase(log_magnitude: torch.Tensor, n_fft: int, lifter: int = 0) -> torch.Tensor:
    """Complex minimum-phase response ``(..., n_fft // 2 + 1)`` with the log-magnitude
    ``log_magnitude (..., n_fft // 2 + 1)`` (natural log), from the folded real cepstrum; with
    ``lifter`` > 0 only the first ``lifter`` quefrencies are kept (a smoothed envelope)."""
    cepstrum = torch.fft.irfft(log_magnitude, n=n_fft, dim=-1)
    fold = torch.zeros(n_fft, device=cepstrum.device, dtype=cepstrum.dtype)
    fold[0] = 1.0
    fold[1:n_fft // 2] = 2.0
    fold[n_fft // 2] = 1.0
    if lifter:
        fold[lifter:] = 0.0
    return torch.exp(torch.fft.rfft(cepstrum * fold, n=n_fft, dim=-1))


class SourceFilterVocoder(nn.Module):
    """``(mel (batch, n_mels, frames), f0 (batch, frames))`` -> ``wav (batch, frames * hop)``.

    ``needs_f0`` tells callers (``tts.vocoder``) to pass the F0 track; ``receptive_field`` is
    the context in mel frames that makes windowed synthesis exact.
    """

    needs_f0 = True

    def __init__(self, config: SourceFilterConfig, audio: AudioConfig) -> None:
        super().__init__()
        if audio.hop_length % config.subframes:
            raise ConfigError(f"SourceFilterVocoder: hop_length {audio.hop_length} is not a "
                              f"multiple of subframes {config.subframes}")
        self.config = config
        self.audio = audio
        self.n_mels = audio.n_mels
        self.hop_length = audio.hop_length
        self.synthesis_hop = audio.hop_length // config.subframes
        self.n_fft = 4 * self.synthesis_hop
        self.n_bins = self.n_fft // 2 + 1
        self.harmonic_lifter = (int(round(config.harmonic_lifter_ms * audio.sample_rate / 1000))
                                if config.harmonic_lifter_ms else 0)
        self.harmonic_lifter = min(self.harmonic_lifter, self.n_fft // 2)
        self.receptive_field = (config.num_layers + 1) * (config.kernel_size // 2) + 2
        k = config.kernel_size
        self.embed = nn.Conv1d(audio.n_mels + 2, config.dim, k, padding=k // 2)
        self.norm = nn.LayerNorm(config.dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(config.dim, config.intermediate_dim, k, 1.0 / config.num_layers)
            for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(config.dim, eps=1e-6)
        self.head = nn.Linear(config.dim, config.subframes * 2 * self.n_bins)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.bias = nn.Parameter(torch.stack([
            torch.zeros(self.n_bins),
            torch.full((self.n_bins,), config.noise_init_db / 20 * math.log(10))]))
        self.register_buffer("envelope", self._envelope_matrix(audio), persistent=False)
        self.register_buffer("noise_mel", self._noise_log_mel(audio), persistent=False)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        self.istft = InverseSTFT(self.n_fft, self.synthesis_hop, self.n_fft)
        for module in self.modules():
            if isinstance(module, nn.Conv1d) or (isinstance(module, nn.Linear)
                                                 and module is not self.head):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)

    def _envelope_matrix(self, audio: AudioConfig) -> torch.Tensor:
        """``(n_bins, n_mels)``: linear interpolation of mel bands (at their centre
        frequencies, on the mel scale) onto the synthesis STFT's bin frequencies."""
        from tts.audio import hz_to_mel, mel_frequencies

        centres = mel_frequencies(audio.n_mels + 2, audio.f_min, audio.f_max)
        centres = hz_to_mel(centres[1:-1])
        bins = hz_to_mel(np.linspace(0, audio.sample_rate / 2, self.n_bins))
        matrix = np.zeros((self.n_bins, audio.n_mels), np.float32)
        position = np.interp(bins, centres, np.arange(audio.n_mels))
        low = np.floor(position).astype(int).clip(0, audio.n_mels - 1)
        high = np.minimum(low + 1, audio.n_mels - 1)
        frac = position - low
        matrix[np.arange(self.n_bins), low] += 1 - frac
        matrix[np.arange(self.n_bins), high] += frac
        return torch.from_numpy(matrix)

    @staticmethod
    def _noise_log_mel(audio: AudioConfig) -> torch.Tensor:
        """``(n_mels,)``: the mean log-mel of unit-variance white noise (fixed seed): a mel
        minus it is, per band, the gain that turns the sources into that mel."""
        generator = torch.Generator().manual_seed(0)
        noise = torch.randn(1, 4 * audio.sample_rate, generator=generator)
        with torch.no_grad():
            return MelSpectrogram(audio)(noise)[0].mean(dim=-1)

    # -- sources ---------------------------------------------------------------------------
    def excitation(self, f0: torch.Tensor, seed: int | None = 0) -> torch.Tensor:
        """``f0 (batch, frames)`` -> ``(batch, 4, frames * hop)``: channels pulse train, noise,
        and (for windowing) the frame-rate network inputs log F0 and voicing repeated per
        sample. ``seed`` makes the noise reproducible; ``None`` draws from the global RNG
        (training)."""
        if f0.dim() != 2:
            raise ValueError(f"SourceFilterVocoder expects f0 (batch, frames), got "
                             f"{tuple(f0.shape)}")
        f0 = f0.float()
        f0c, voiced = continuous_f0(f0)
        harmonic = pulse_train(_upsample(f0c, self.hop_length), self.audio.sample_rate)
        generator = None if seed is None else torch.Generator(device=f0.device).manual_seed(seed)
        noise = torch.randn(harmonic.shape, generator=generator, device=f0.device)
        log_f0 = (torch.log(f0c) - LOG_F0_CENTRE) / LOG_F0_SCALE
        frame_features = torch.stack([log_f0, voiced], dim=1).repeat_interleave(self.hop_length, -1)
        return torch.cat([harmonic.unsqueeze(1), noise.unsqueeze(1), frame_features], dim=1)

    # -- filters ---------------------------------------------------------------------------
    def filters(self, mel: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Log-magnitude responses ``(batch, 2, frames * subframes, n_bins)`` (harmonic, noise)
        from ``mel (batch, n_mels, frames)`` and ``features (batch, 2, frames)`` (log F0,
        voicing)."""
        x = self.embed(torch.cat([mel, features], dim=1))
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        batch, frames = mel.shape[0], mel.shape[-1]
        sub = self.config.subframes
        residual = self.head(self.final_norm(x.transpose(1, 2)))  # (B, F, sub * 2 * bins)
        residual = residual.reshape(batch, frames * sub, 2, self.n_bins).transpose(1, 2)
        relative = mel - self.noise_mel[:, None]
        nxt = torch.cat([relative[..., 1:], relative[..., -1:]], dim=-1)
        steps = torch.arange(sub, device=mel.device, dtype=mel.dtype) / sub
        fine = relative.unsqueeze(-1) + (nxt - relative).unsqueeze(-1) * steps  # (B, M, F, sub)
        base = torch.einsum("km,bmt->btk", self.envelope, fine.reshape(batch, self.n_mels, -1))
        log_gain = base.unsqueeze(1) + residual + self.bias[None, :, None, :]
        return log_gain.clamp(max=MAX_LOG_GAIN)

    def synthesize(self, mel: torch.Tensor, excitation: torch.Tensor) -> torch.Tensor:
        """``mel (batch, n_mels, frames)`` and the matching slice of ``excitation`` ``(batch, 4,
        frames * hop)`` -> ``wav (batch, frames * hop)``."""
        if mel.dim() != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(f"SourceFilterVocoder expects a mel (batch, {self.n_mels}, frames), "
                             f"got shape {tuple(mel.shape)}")
        frames = mel.shape[-1]
        if excitation.shape[-1] != frames * self.hop_length:
            raise ValueError(f"excitation has {excitation.shape[-1]} samples for {frames} "
                             f"frames; expected {frames * self.hop_length}")
        features = excitation[:, 2:, ::self.hop_length]
        log_gain = self.filters(mel, features)
        response_h = minimum_phase(log_gain[:, 0], self.n_fft, self.harmonic_lifter)
        response_n = minimum_phase(log_gain[:, 1], self.n_fft)
        sources = excitation[:, :2].reshape(-1, excitation.shape[-1])
        spec = torch.stft(sources, self.n_fft, self.synthesis_hop, window=self.window,
                          center=True, return_complex=True)  # (B * 2, bins, sub * F + 1)
        spec = spec[..., :frames * self.config.subframes].transpose(1, 2)
        spec = spec.reshape(mel.shape[0], 2, -1, self.n_bins)
        out = spec[:, 0] * response_h + spec[:, 1] * response_n
        return self.istft(out.real, out.imag)

    def forward(self, mel: torch.Tensor, f0: torch.Tensor, seed: int | None = 0) -> torch.Tensor:
        """``mel (batch, n_mels, frames)``, ``f0 (batch, frames)`` Hz (0 = unvoiced) ->
        ``wav (batch, frames * hop_length)``. ``seed=None`` draws fresh noise (training)."""
        if f0.shape[0] != mel.shape[0] or f0.shape[-1] != mel.shape[-1]:
            raise ValueError(f"f0 {tuple(f0.shape)} does not match mel {tuple(mel.shape)}: "
                             "need one F0 value per mel frame")
        return self.synthesize(mel, self.excitation(f0, seed))

    @torch.no_grad()
    def infer(self, mel: torch.Tensor, f0: torch.Tensor) -> torch.Tensor:
        """Inference: ``forward`` without gradients; a single ``(n_mels, frames)`` mel with
        ``(frames,)`` F0 gives ``(samples,)``."""
        if mel.dim() == 2:
            return self.forward(mel.unsqueeze(0), f0.reshape(1, -1)).squeeze(0)
        return self.forward(mel, f0)

