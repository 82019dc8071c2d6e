"""Vocoder training losses (HiFi-GAN): least-squares GAN, feature matching, mel L1, a
multi-resolution STFT loss and, for vocoders that predict an STFT, anti-wrapping phase losses.

GAN losses take the ``(logits, features)`` lists returned by the discriminators in
``tts.models.discriminators`` (one entry per sub-discriminator) and *sum* over the
sub-discriminators, as published. Waveform losses accept ``(batch, samples)`` or
``(batch, 1, samples)``; real and generated waveforms must have the same shape.

Published generator objective: ``adv + FEATURE_MATCHING_WEIGHT * fm + MEL_WEIGHT * mel``;
the weights are applied by the caller (the training task), not inside these functions.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from tts.audio import MelSpectrogram
from tts.config import AudioConfig

FEATURE_MATCHING_WEIGHT = 2.0
"""Published weight of ``feature_matching_loss`` in the generator objective."""

MEL_WEIGHT = 45.0
"""Published weight of ``MelLoss`` in the generator objective."""


def _check_pairs(real: list, fake: list, what: str) -> None:
    if len(real) != len(fake):
        raise ValueError(f"{what}: {len(real)} real entries but {len(fake)} generated ones")
    if not real:
        raise ValueError(f"{what}: no sub-discriminator outputs")


def discriminator_loss(real_logits: list[torch.Tensor],
                       fake_logits: list[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN discriminator loss: ``sum_i mean((1 - D_i(x))^2) + mean(D_i(G(s))^2)``.

    ``real_logits[i]`` / ``fake_logits[i]``: ``(batch, n_i)`` scores of sub-discriminator ``i``
    on real and generated audio (detach the generated audio before the discriminator). Returns a
    scalar; 0 when every real score is 1 and every generated one is 0.
    """
    _check_pairs(real_logits, fake_logits, "discriminator_loss")
    loss = real_logits[0].new_zeros(())
    for real, fake in zip(real_logits, fake_logits, strict=True):
        loss = loss + torch.mean((1.0 - real) ** 2) + torch.mean(fake ** 2)
    return loss


def generator_adversarial_loss(fake_logits: list[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN generator loss: ``sum_i mean((1 - D_i(G(s)))^2)``.

    ``fake_logits[i]``: ``(batch, n_i)``. Returns a scalar; 0 when every score is 1.
    """
    _check_pairs(fake_logits, fake_logits, "generator_adversarial_loss")
    loss = fake_logits[0].new_zeros(())
    for fake in fake_logits:
        loss = loss + torch.mean((1.0 - fake) ** 2)
    return loss


def feature_matching_loss(real_features: list[list[torch.Tensor]],
                          fake_features: list[list[torch.Tensor]]) -> torch.Tensor:
    """L1 distance between the discriminators' activations on real and generated audio:
    ``sum_i sum_l mean|F_il(x) - F_il(G(s))|``.

    ``real_features[i][l]`` and ``fake_features[i][l]`` are matching activations of any shape.
    Real activations are detached: this loss trains the generator only. Returns a scalar.
    """
    _check_pairs(real_features, fake_features, "feature_matching_loss")
    loss = fake_features[0][0].new_zeros(())
    for real_maps, fake_maps in zip(real_features, fake_features, strict=True):
        _check_pairs(real_maps, fake_maps, "feature_matching_loss (layers)")
        for real, fake in zip(real_maps, fake_maps, strict=True):
            loss = loss + F.l1_loss(fake, real.detach())
    return loss


def _waveforms(real: torch.Tensor, fake: torch.Tensor, what: str) -> tuple[torch.Tensor,
                                                                            torch.Tensor]:
    """Check and flatten a real/generated pair to ``(batch, samples)`` each."""
    if real.dim() == 3 and real.shape[1] == 1:
        real = real.squeeze(1)
    if fake.dim() == 3 and fake.shape[1] == 1:
        fake = fake.squeeze(1)
    if real.dim() != 2 or real.shape != fake.shape:
        raise ValueError(f"{what}: expected two waveforms of the same shape (batch, samples) or "
                         f"(batch, 1, samples), got {tuple(real.shape)} and {tuple(fake.shape)}")
    return real, fake


class MelLoss(nn.Module):
    """Mean absolute difference between the log-mels (``tts.audio.MelSpectrogram`` of ``audio``,
    the one mel definition) of real and generated waveforms.

    ``forward(real (batch, [1,] samples), fake (same shape))`` -> scalar; 0 for identical input.
    """

    def __init__(self, audio: AudioConfig) -> None:
        super().__init__()
        self.mel = MelSpectrogram(audio)

    def forward(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        real, fake = _waveforms(real, fake, "MelLoss")
        return F.l1_loss(self.mel(fake), self.mel(real))


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral convergence plus log-magnitude L1, averaged over STFT resolutions.

    ``resolutions``: ``(n_fft, hop_length, win_length)`` triples (Hann window, centred frames).
    Per resolution, with magnitudes ``X`` (real) and ``Y`` (generated), each
    ``(batch, n_fft // 2 + 1, frames)``: ``||X - Y||_F / ||X||_F + mean|log X - log Y|``.

    ``forward(real (batch, [1,] samples), fake (same shape))`` -> scalar; 0 for identical input.
    """

    def __init__(self, resolutions: tuple[tuple[int, int, int], ...] = (
            (512, 128, 512), (1024, 256, 1024), (2048, 512, 2048)), eps: float = 1e-7) -> None:
        super().__init__()
        if not resolutions:
            raise ValueError("MultiResolutionSTFTLoss needs at least one resolution")
        for n_fft, hop, win in resolutions:
            if not (0 < win <= n_fft and hop > 0):
                raise ValueError(f"STFT resolution {(n_fft, hop, win)}: need 0 < win_length <= "
                                 "n_fft and hop_length > 0")
        self.resolutions = tuple(tuple(r) for r in resolutions)
        self.eps = eps
        for i, (_, _, win) in enumerate(self.resolutions):
            self.register_buffer(f"window_{i}", torch.hann_window(win), persistent=False)

    def magnitude(self, wav: torch.Tensor, index: int) -> torch.Tensor:
        """STFT magnitude ``(batch, n_fft // 2 + 1, frames)`` of ``wav (batch, samples)`` at
        resolution ``index``, floored at ``sqrt(eps)`` so that logs and gradients stay finite."""
        n_fft, hop, win = self.resolutions[index]
        pad = n_fft // 2
        mode = "reflect" if wav.shape[-1] > pad else "constant"
        wav = F.pad(wav.unsqueeze(1), (pad, pad), mode=mode).squeeze(1)
        spec = torch.stft(wav, n_fft, hop_length=hop, win_length=win,
                          window=getattr(self, f"window_{index}"), center=False,
                          return_complex=True)
        return torch.sqrt(torch.clamp(spec.real ** 2 + spec.imag ** 2, min=self.eps))

    def forward(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        real, fake = _waveforms(real, fake, "MultiResolutionSTFTLoss")
        real, fake = real.float(), fake.float()
        total = real.new_zeros(())
        for i in range(len(self.resolutions)):
            x, y = self.magnitude(real, i), self.magnitude(fake, i)
            convergence = torch.linalg.norm(x - y) / torch.linalg.norm(x)
            log_magnitude = F.l1_loss(torch.log(y), torch.log(x))
            total = total + convergence + log_magnitude
        return total / len(self.resolutions)


def anti_wrap(x: torch.Tensor) -> torch.Tensor:
    """``|x|`` after wrapping ``x`` into ``[-pi, pi]``: the distance of two angles' difference."""
    return torch.abs(x - 2 * math.pi * torch.round(x / (2 * math.pi)))


class PhaseLoss(nn.Module):
    """Direct supervision of a predicted STFT phase, with anti-wrapping distances (the idea of
    APNet, Ai and Ling 2023): the instantaneous phase, its difference along frequency (group
    delay) and its difference along time (instantaneous frequency).

    Magnitude losses alone leave the phase of an iSTFT vocoder free; without a discriminator it
    then drifts into a frame-periodic pattern that is heard as a buzz at the frame rate. Each
    term is weighted by the target's magnitude (relative to its mean per item), so the phase of
    near-silent bins, which is noise, counts little.

    ``forward(phase (B, frames, bins), target (B, frames, bins) complex)`` ->
    ``(instantaneous, group_delay, instantaneous_frequency)``, three scalars; all 0 when the
    angles agree.
    """

    def forward(self, phase: torch.Tensor, target: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if phase.shape != target.shape:
            raise ValueError(f"PhaseLoss: phase {tuple(phase.shape)} and target "
                             f"{tuple(target.shape)} differ")
        true = torch.angle(target)
        weight = target.abs()
        weight = weight / weight.mean(dim=(1, 2), keepdim=True).clamp(min=1e-5)
        phase = phase.float()

        def mean(distance: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return (distance * w).sum() / w.sum().clamp(min=1e-5)

        instantaneous = mean(anti_wrap(phase - true), weight)
        group_delay = mean(anti_wrap(phase.diff(dim=2) - true.diff(dim=2)),
                           torch.minimum(weight[..., 1:], weight[..., :-1]))
        frequency = mean(anti_wrap(phase.diff(dim=1) - true.diff(dim=1)),
                         torch.minimum(weight[:, 1:], weight[:, :-1]))
        return instantaneous, group_delay, frequency
