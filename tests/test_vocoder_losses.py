"""Vocoder losses, and tiny HiFi-GAN training: every parameter learns, the mel loss falls."""

from __future__ import annotations

import math

import pytest
import torch
from audio_fixtures import voiced_signal
from vocoder_fixtures import TINY, TINY_AUDIO

from tts.audio import MelSpectrogram
from tts.models.discriminators import CombinedDiscriminator
from tts.models.hifigan import HiFiGANGenerator
from tts.models.istft_vocoder import ISTFTVocoder, ISTFTVocoderConfig
from tts.models.losses import (
    FEATURE_MATCHING_WEIGHT,
    MEL_WEIGHT,
    MelLoss,
    MultiResolutionSTFTLoss,
    PhaseLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)

SMALL_STFT = ((128, 32, 128), (256, 64, 256))


def harmonic(samples: int, f0: float = 220.0, sample_rate: int = 16000) -> torch.Tensor:
    """A harmonic test tone ``(samples,)``: 8 partials with 1/k amplitudes, peak ~0.5."""
    t = torch.arange(samples) / sample_rate
    wav = sum(torch.sin(2 * math.pi * k * f0 * t) / k for k in range(1, 9))
    return 0.5 * wav / wav.abs().max()


def tiny_discriminator() -> CombinedDiscriminator:
    return CombinedDiscriminator(period_channels=(4, 8, 8, 16, 16),
                                 scale_channels=(8, 8, 16, 16, 32, 32, 32))


def logits_like(values: list[float]) -> list[torch.Tensor]:
    return [torch.full((2, 5 + i), v) for i, v in enumerate(values)]


def test_gan_losses_zero_at_their_optimum_and_positive_otherwise():
    ones, zeros = logits_like([1.0] * 3), logits_like([0.0] * 3)
    assert discriminator_loss(ones, zeros).item() == 0.0
    assert generator_adversarial_loss(ones).item() == 0.0
    # every sub-discriminator counts: (1 - 0)^2 + 0.5^2 per entry, summed over 3 entries
    assert discriminator_loss(zeros, logits_like([0.5] * 3)).item() == pytest.approx(3 * 1.25)
    assert generator_adversarial_loss(zeros).item() == pytest.approx(3.0)
    with pytest.raises(ValueError):
        discriminator_loss(ones, zeros[:2])


def test_feature_matching_zero_for_identical_and_detaches_real():
    torch.manual_seed(0)
    real = [[torch.randn(2, 4, 10, requires_grad=True), torch.randn(2, 1, 5)] for _ in range(2)]
    same = [[f.detach().clone() for f in maps] for maps in real]
    assert feature_matching_loss(real, same).item() == 0.0
    fake = [[(f + 0.1 * torch.randn_like(f)).requires_grad_() for f in maps] for maps in same]
    loss = feature_matching_loss(real, fake)
    assert loss.item() > 0
    loss.backward()
    assert real[0][0].grad is None  # the real branch is not trained by feature matching
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for maps in fake for f in maps)


@pytest.mark.parametrize("make_loss", [lambda: MelLoss(TINY_AUDIO),
                                       lambda: MultiResolutionSTFTLoss(SMALL_STFT),
                                       lambda: MultiResolutionSTFTLoss()],
                         ids=["mel", "stft-small", "stft-published"])
def test_waveform_losses(make_loss):
    loss_fn = make_loss()
    torch.manual_seed(0)
    real = harmonic(2000).repeat(2, 1)
    assert loss_fn(real, real.clone()).item() == pytest.approx(0.0, abs=1e-6)
    fake = (real + 0.05 * torch.randn_like(real)).requires_grad_()
    loss = loss_fn(real, fake)
    assert loss.item() > 0.01
    # (batch, 1, samples) works the same
    torch.testing.assert_close(loss_fn(real.unsqueeze(1), fake.unsqueeze(1)), loss)
    loss.backward()
    assert torch.isfinite(fake.grad).all() and fake.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="same shape"):
        loss_fn(real, real[:, :-1])


def test_mel_loss_uses_the_one_mel():
    real, fake = harmonic(1024).unsqueeze(0), harmonic(1024, f0=300.0).unsqueeze(0)
    mel = MelSpectrogram(TINY_AUDIO)
    expected = (mel(real) - mel(fake)).abs().mean()
    torch.testing.assert_close(MelLoss(TINY_AUDIO)(real, fake), expected)


def test_stft_loss_handles_silence_and_short_clips():
    loss_fn = MultiResolutionSTFTLoss()
    silence = torch.zeros(1, 300, requires_grad=True)
    loss = loss_fn(harmonic(300).unsqueeze(0), silence)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(silence.grad).all()


def _clip_and_mel(frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A speech-like harmonic clip ``(1, frames * hop)`` and its mel ``(1, n_mels, frames)``."""
    rate, samples = TINY_AUDIO.sample_rate, frames * TINY_AUDIO.hop_length
    wav = torch.from_numpy(voiced_signal((samples + 1) / rate, rate)[:samples])[None]
    mel = MelSpectrogram(TINY_AUDIO)(wav)[:, :, :frames]
    return wav, mel


def test_gan_training_steps_change_every_parameter():
    torch.manual_seed(0)
    generator = HiFiGANGenerator(TINY, TINY_AUDIO)
    discriminator = tiny_discriminator()
    mel_loss = MelLoss(TINY_AUDIO)
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.8, 0.99))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3, betas=(0.8, 0.99))
    before = {**{f"g.{n}": p.detach().clone() for n, p in generator.named_parameters()},
              **{f"d.{n}": p.detach().clone() for n, p in discriminator.named_parameters()}}
    wav, mel = _clip_and_mel(12)
    real = wav.unsqueeze(1)
    for _ in range(3):
        fake = generator(mel).unsqueeze(1)
        opt_d.zero_grad()
        real_logits, _ = discriminator(real)
        fake_logits, _ = discriminator(fake.detach())
        d_loss = discriminator_loss(real_logits, fake_logits)
        d_loss.backward()
        opt_d.step()

        opt_g.zero_grad()
        _, real_features = discriminator(real)
        fake_logits, fake_features = discriminator(fake)
        g_loss = (generator_adversarial_loss(fake_logits)
                  + FEATURE_MATCHING_WEIGHT * feature_matching_loss(real_features, fake_features)
                  + MEL_WEIGHT * mel_loss(real, fake))
        g_loss.backward()
        opt_g.step()
        assert torch.isfinite(d_loss) and torch.isfinite(g_loss)
    after = {**{f"g.{n}": p for n, p in generator.named_parameters()},
             **{f"d.{n}": p for n, p in discriminator.named_parameters()}}
    unchanged = [n for n, p in after.items() if torch.equal(p, before[n])]
    assert not unchanged
    assert any(n.startswith("g.") for n in after) and any(n.startswith("d.") for n in after)


def test_mel_loss_falls_when_overfitting_one_clip():
    torch.manual_seed(0)
    generator = HiFiGANGenerator(TINY, TINY_AUDIO)
    mel_loss = MelLoss(TINY_AUDIO)
    optimizer = torch.optim.Adam(generator.parameters(), lr=2e-3, betas=(0.8, 0.99))
    wav, mel = _clip_and_mel(16)
    losses = []
    for _ in range(50):
        optimizer.zero_grad()
        loss = mel_loss(wav, generator(mel))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    final = sum(losses[-5:]) / 5
    assert final < losses[0] / 3, [round(v, 3) for v in losses]


def test_phase_loss_is_zero_for_the_true_phase_and_ignores_whole_turns():
    wav = harmonic(4096, sample_rate=TINY_AUDIO.sample_rate).unsqueeze(0)
    target = MelSpectrogram(TINY_AUDIO).spectrum(wav).transpose(1, 2)
    true = torch.angle(target)
    loss = PhaseLoss()
    assert all(float(t) < 1e-5 for t in loss(true, target))
    assert all(float(t) < 1e-4 for t in loss(true + 2 * math.pi * torch.randint_like(true, -3, 4),
                                             target))
    shifted = loss(true + 0.5, target)  # a constant offset: only the absolute phase is wrong
    assert abs(float(shifted[0]) - 0.5) < 1e-4 and float(shifted[1]) < 1e-4
    assert float(shifted[2]) < 1e-4
    noisy = loss(true + 0.5 * torch.randn_like(true), target)
    assert all(float(t) > 0.2 for t in noisy)


def test_phase_targets_are_the_frames_the_istft_head_synthesizes():
    """The phase loss's target frames (``MelSpectrogram.spectrum``) put back through the iSTFT
    head rebuild the waveform: a vocoder that meets them reproduces the recording."""
    vocoder = ISTFTVocoder(ISTFTVocoderConfig(dim=8, intermediate_dim=8, num_layers=1),
                           TINY_AUDIO)
    wav = harmonic(TINY_AUDIO.hop_length * 20, sample_rate=TINY_AUDIO.sample_rate).unsqueeze(0)
    spec = MelSpectrogram(TINY_AUDIO).spectrum(wav)[..., :20].transpose(1, 2)
    rebuilt = vocoder.synthesize(spec.abs(), torch.angle(spec))
    assert rebuilt.shape == wav.shape
    assert torch.allclose(rebuilt, wav, atol=1e-4)


def test_phase_loss_needs_an_istft_vocoder():
    from tts.config import from_dict
    from tts.errors import ConfigError
    from tts.training.vocoder_task import VocoderExperimentConfig, VocoderTask

    config = from_dict(VocoderExperimentConfig, {
        "audio": {"n_mels": 80}, "model": {"type": "hifigan", "preset": "v2"},
        "training": {"adversarial": False, "phase_weight": 1.0}})
    with pytest.raises(ConfigError, match="phase_weight"):
        VocoderTask(config)
