"""iSTFT vocoder (Vocos-style), its inverse STFT and the Griffin-Lim baseline."""

from __future__ import annotations

import pytest
import torch
from audio_fixtures import voiced_signal

from tts.audio import MelSpectrogram
from tts.config import AudioConfig, from_dict, to_dict
from tts.errors import ConfigError
from tts.layers.convnext import ConvNeXtBlock
from tts.models.griffinlim import GriffinLim
from tts.models.istft_vocoder import InverseSTFT, ISTFTVocoder, ISTFTVocoderConfig


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture
def clip_mel(audio_config: AudioConfig) -> torch.Tensor:
    """Mel (1, n_mels, 26) of 0.3 s of speech-like audio."""
    wav = torch.from_numpy(voiced_signal(0.3, audio_config.sample_rate))
    return MelSpectrogram(audio_config)(wav).unsqueeze(0)


@pytest.mark.parametrize(("preset", "batch", "frames"), [("small", 2, 20), ("base", 1, 5)])
def test_shapes(audio_config, preset, batch, frames):
    model = ISTFTVocoder(ISTFTVocoderConfig.preset(preset), audio_config).eval()
    mel = torch.randn(batch, audio_config.n_mels, frames) - 4
    wav = model(mel)
    assert wav.shape == (batch, frames * audio_config.hop_length)
    assert torch.isfinite(wav).all()
    assert model.hop_length == audio_config.hop_length
    assert model.infer(mel).shape == wav.shape
    assert model.infer(mel[0]).shape == (frames * audio_config.hop_length,)
    with pytest.raises(ValueError, match="n_mels|expects"):
        model(torch.randn(1, audio_config.n_mels + 1, frames))


def test_parameter_counts(audio_config):
    small = _count(ISTFTVocoder(ISTFTVocoderConfig.preset("small"), audio_config))
    base = _count(ISTFTVocoder(ISTFTVocoderConfig.preset("base"), audio_config))
    assert 2_000_000 <= small <= 4_000_000
    assert 11_000_000 <= base <= 15_000_000


def test_config_is_strict_and_derived(audio_config):
    config = ISTFTVocoderConfig.preset("small")
    assert from_dict(ISTFTVocoderConfig, to_dict(config)) == config
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(ISTFTVocoderConfig, {"dim": 64, "n_mels": 80})
    with pytest.raises(ConfigError, match="preset"):
        ISTFTVocoderConfig.preset("huge")
    with pytest.raises(ConfigError, match="kernel_size"):
        ISTFTVocoderConfig(kernel_size=4)
    audio = AudioConfig(n_mels=64, n_fft=512, win_length=512, hop_length=128)
    model = ISTFTVocoder(ISTFTVocoderConfig(dim=32, intermediate_dim=64, num_layers=2), audio)
    assert model.embed.in_channels == 64
    assert model.head.out_features == 2 * (512 // 2 + 1)
    assert model(torch.randn(1, 64, 7)).shape == (1, 7 * 128)
    assert model.receptive_field == 3 * 3 + 2


@pytest.mark.parametrize(("n_fft", "hop", "win"), [(1024, 256, 1024), (512, 100, 400)])
def test_inverse_stft_matches_torch_istft(n_fft, hop, win):
    frames = 13
    generator = torch.Generator().manual_seed(0)
    spec = torch.randn(2, n_fft // 2 + 1, frames, dtype=torch.complex64, generator=generator)
    window = torch.hann_window(win)
    expected = torch.istft(spec, n_fft, hop, win, window, center=True, length=frames * hop)
    ours = InverseSTFT(n_fft, hop, win)(spec.real.transpose(1, 2), spec.imag.transpose(1, 2))
    assert ours.shape == expected.shape
    assert torch.allclose(ours, expected, atol=1e-5 * expected.abs().max().item())


def test_convnext_block_keeps_shape_and_starts_near_identity():
    block = ConvNeXtBlock(16, 48, kernel_size=7, layer_scale_init=1e-6)
    x = torch.randn(2, 16, 9)
    y = block(x)
    assert y.shape == x.shape
    assert (y - x).abs().max() < 1e-3


def test_gradients_reach_every_parameter(audio_config, clip_mel):
    model = ISTFTVocoder(ISTFTVocoderConfig.preset("small"), audio_config)
    mel_fn = MelSpectrogram(audio_config)
    frames = clip_mel.shape[-1]
    loss = (mel_fn(model(clip_mel))[..., :frames] - clip_mel).abs().mean()
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


def test_overfits_one_clip(audio_config, clip_mel):
    torch.manual_seed(0)
    config = ISTFTVocoderConfig(dim=64, intermediate_dim=192, num_layers=2)  # fast on 2 cores
    model = ISTFTVocoder(config, audio_config)
    mel_fn = MelSpectrogram(audio_config)
    frames = clip_mel.shape[-1]
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = (mel_fn(model(clip_mel))[..., :frames] - clip_mel).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 2.5, losses[::10]


def test_exports_with_a_dynamic_number_of_frames():
    audio = AudioConfig(n_mels=16, n_fft=256, win_length=256, hop_length=64)
    model = ISTFTVocoder(ISTFTVocoderConfig(dim=16, intermediate_dim=32, num_layers=1), audio)
    model.eval()
    frames = torch.export.Dim("frames", min=8, max=4096)
    program = torch.export.export(model, (torch.randn(1, 16, 20),),
                                  dynamic_shapes=({2: frames},))
    mel = torch.randn(1, 16, 33)
    assert torch.allclose(program.module()(mel), model(mel), atol=1e-6)


def test_griffin_lim_reconstructs_a_harmonic_signal(audio_config):
    mel_fn = MelSpectrogram(audio_config)
    wav = torch.from_numpy(voiced_signal(0.5, audio_config.sample_rate))
    mel = mel_fn(wav).unsqueeze(0)
    frames = mel.shape[-1]
    vocoder = GriffinLim(audio_config, n_iter=16)
    assert not list(vocoder.parameters())
    out = vocoder(mel)
    assert out.shape == (1, frames * audio_config.hop_length) and out.dtype == torch.float32
    assert vocoder.infer(mel[0]).shape == (frames * audio_config.hop_length,)
    error = (mel_fn(out)[..., :frames] - mel).abs().mean().item()
    noise = 0.1 * torch.randn(wav.shape, generator=torch.Generator().manual_seed(0))
    noise_error = (mel_fn(noise) - mel[0]).abs().mean().item()
    assert error < 0.2 * noise_error, (error, noise_error)


def test_griffin_lim_batches(audio_config):
    mel = torch.randn(2, audio_config.n_mels, 6) - 5
    assert GriffinLim(audio_config, n_iter=2)(mel).shape == (2, 6 * audio_config.hop_length)


def test_phase_iterations_make_the_phase_consistent(audio_config):
    """Griffin-Lim steps from a wrong phase bring the synthesized STFT magnitude closer to the
    predicted one; gradients pass through them, and a negative count is a config error."""
    wav = torch.from_numpy(voiced_signal(0.5, audio_config.sample_rate)).unsqueeze(0)
    analysis = MelSpectrogram(audio_config)
    frames = wav.shape[-1] // audio_config.hop_length
    spec = analysis.spectrum(wav)[..., :frames].transpose(1, 2)
    magnitude = spec.abs()
    model = ISTFTVocoder(ISTFTVocoderConfig(dim=8, intermediate_dim=8, num_layers=1,
                                            phase_iterations=4), audio_config)
    wrong = torch.rand(magnitude.shape, generator=torch.Generator().manual_seed(0)) * 6.28

    def inconsistency(phase: torch.Tensor) -> float:
        out = analysis.spectrum(model.synthesize(magnitude, phase))[..., :frames]
        return float((out.transpose(1, 2).abs() - magnitude).norm() / magnitude.norm())

    before = inconsistency(wrong)
    after = inconsistency(model.refine_phase(magnitude, wrong, 4))
    assert after < 0.6 * before, (before, after)
    assert inconsistency(torch.angle(spec)) < 0.01  # the true phase is already consistent
    mel = analysis(wav)[..., :frames]
    with torch.no_grad():
        unrefined = model.synthesize(*model.spectrogram(mel))
        assert not torch.allclose(model(mel), unrefined, atol=1e-4)
    model(mel).sum().backward()  # differentiable: trained with the phase it is heard with
    assert model.head.weight.grad is not None
    with pytest.raises(ConfigError, match="phase_iterations"):
        ISTFTVocoderConfig(phase_iterations=-1)
