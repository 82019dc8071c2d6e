import librosa
import numpy as np
import pytest
import soundfile as sf
import torch
from audio_fixtures import voiced_signal

from tts.audio import (
    MelSpectrogram,
    load_audio,
    mel_spectrogram,
    normalize_loudness,
    save_audio,
    trim_silence,
)
from tts.config import AudioConfig
from tts.errors import AudioError


def test_mel_shape_and_frames(audio_config, voice):
    mel = MelSpectrogram(audio_config)(torch.from_numpy(voice).repeat(2, 1))
    assert mel.shape == (2, 80, audio_config.num_frames(len(voice)))
    assert mel.dtype == torch.float32


def test_mel_matches_an_independent_reference(audio_config, voice):
    """The one mel definition equals librosa's log-mel with the same parameters."""
    c = audio_config
    ref = librosa.feature.melspectrogram(y=voice, sr=c.sample_rate, n_fft=c.n_fft,
                                         hop_length=c.hop_length, win_length=c.win_length,
                                         n_mels=c.n_mels, fmin=c.f_min, fmax=c.f_max, power=1.0,
                                         center=True, pad_mode="reflect")
    np.testing.assert_allclose(mel_spectrogram(voice, c), np.log(np.maximum(ref, c.log_floor)),
                               atol=1e-4)


def test_batched_and_single_agree(audio_config, voice):
    module = MelSpectrogram(audio_config)
    batch = torch.stack([torch.from_numpy(voice), torch.from_numpy(voice[::-1].copy())])
    torch.testing.assert_close(module(batch)[0], module(torch.from_numpy(voice)))


def test_tiny_input_does_not_crash(audio_config):
    mel = mel_spectrogram(np.zeros(100, dtype=np.float32), audio_config)
    assert mel.shape == (80, 1) and np.allclose(mel, np.log(audio_config.log_floor))


def test_mel_is_differentiable(audio_config, voice):
    wav = torch.from_numpy(voice).requires_grad_()
    MelSpectrogram(audio_config)(wav).mean().backward()
    assert wav.grad is not None and torch.isfinite(wav.grad).all()


@pytest.mark.parametrize("suffix,subtype,rate,channels", [
    (".wav", "PCM_16", 44100, 2), (".wav", "PCM_U8", 16000, 1), (".wav", "PCM_24", 48000, 1),
    (".wav", "PCM_32", 22050, 1), (".wav", "FLOAT", 32000, 2), (".flac", "PCM_16", 48000, 1),
    (".ogg", "VORBIS", 44100, 1), (".mp3", "MPEG_LAYER_III", 24000, 1),
])
def test_formats_rates_channels_and_depths(tmp_path, suffix, subtype, rate, channels):
    wav = voiced_signal(1.0, rate)
    data = np.stack([wav] * channels, axis=1) if channels > 1 else wav
    path = tmp_path / f"clip{suffix}"
    sf.write(path, data, rate, subtype=subtype)
    out = load_audio(path, 22050, trim=False, normalize=False)
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(len(out) - 22050) < 0.03 * 22050  # mp3 adds encoder delay
    # the content survives: the mel correlates with that of the same signal made at 22050 Hz
    a, b = mel_spectrogram(out, AudioConfig()), mel_spectrogram(voiced_signal(1.0, 22050), AudioConfig())
    n = min(a.shape[1], b.shape[1]) - 4
    assert np.corrcoef(a[:, :n].ravel(), b[:, :n].ravel())[0, 1] > 0.9


def test_resampled_content_matches(tmp_path):
    wav = voiced_signal(1.0, 44100)
    sf.write(tmp_path / "a.wav", wav, 44100)
    direct = voiced_signal(1.0, 22050)
    out = load_audio(tmp_path / "a.wav", 22050, trim=False, normalize=False)
    c = AudioConfig()
    a, b = mel_spectrogram(out, c), mel_spectrogram(direct, c)
    n = min(a.shape[1], b.shape[1])
    assert np.corrcoef(a[:, :n].ravel(), b[:, :n].ravel())[0, 1] > 0.98


def test_trim_removes_leading_and_trailing_silence():
    rate = 22050
    wav = np.concatenate([np.zeros(rate), voiced_signal(0.5, rate), np.zeros(rate)])
    trimmed = trim_silence(wav, rate)
    assert 0.5 * rate <= len(trimmed) <= 0.6 * rate


def test_loudness_normalization_removes_gain_differences(tmp_path):
    rate = 22050
    outs = []
    for gain in (0.02, 0.5):
        sf.write(tmp_path / f"g{gain}.wav", gain * voiced_signal(1.0, rate) / 0.3, rate)
        outs.append(load_audio(tmp_path / f"g{gain}.wav", rate))
    rms = [np.sqrt(np.mean(o ** 2)) for o in outs]
    assert abs(20 * np.log10(rms[0] / rms[1])) < 0.5
    assert max(np.abs(o).max() for o in outs) <= 0.95 + 1e-6


def test_loudness_peak_limit():
    loud = np.sign(voiced_signal(1.0, 22050)).astype(np.float32)  # square-ish: high crest
    assert np.abs(normalize_loudness(loud, 22050, target_lufs=-5)).max() <= 0.95 + 1e-6


def test_save_round_trip(tmp_path, voice):
    path = save_audio(tmp_path / "sub" / "x.wav", voice, 22050)
    back, rate = sf.read(path, dtype="float32")
    assert rate == 22050 and np.abs(back - voice).max() < 1e-3
    with pytest.raises(AudioError, match="NaN"):
        save_audio(tmp_path / "nan.wav", np.array([np.nan], dtype=np.float32), 22050)


def _write(path, wav, rate=22050):
    sf.write(path, wav, rate)
    return path


def _write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make,message", [
    (lambda p: p / "missing.wav", "not found"),
    (lambda p: p, "got a folder"),
    (lambda p: _write_bytes(p / "empty.wav", b""), "empty"),
    (lambda p: _write_bytes(p / "corrupt.wav", b"RIFF\x00\x01garbage" * 50), "unsupported or corrupt"),
    (lambda p: _write_bytes(p / "text.mp3", b"not audio at all"), "unsupported or corrupt"),
    (lambda p: _write(p / "silent.wav", np.zeros(22050, dtype=np.float32)), "silent"),
    (lambda p: _write(p / "hiss.wav", 1e-5 * np.ones(22050, dtype=np.float32)), "silent"),
    (lambda p: _write(p / "short.wav", voiced_signal(0.05, 22050)), "too short"),
    (lambda p: _write(p / "zero.wav", np.zeros(0, dtype=np.float32)), "no samples"),
    (lambda p: _write(p / "lowrate.wav", voiced_signal(1.0, 4000), 4000), "too low"),
])
def test_bad_audio_gives_one_clear_error(tmp_path, make, message):
    with pytest.raises(AudioError, match=message) as info:
        load_audio(make(tmp_path), 22050)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("config", [
    AudioConfig(),
    AudioConfig(sample_rate=16000, n_fft=512, win_length=512, hop_length=160, n_mels=64,
                f_max=7600.0),
    AudioConfig(sample_rate=24000, n_fft=1024, n_mels=100, f_min=50.0, f_max=12000.0),
])
def test_mel_filterbank_is_librosas_without_librosa(config):
    from tts.audio import hz_to_mel, mel_filterbank, mel_frequencies

    expected = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft,
                                   n_mels=config.n_mels, fmin=config.f_min, fmax=config.f_max,
                                   htk=False, norm="slaney")
    assert np.array_equal(mel_filterbank(config), expected)  # bit for bit
    hz = np.linspace(0, config.sample_rate / 2, 97)
    assert np.array_equal(hz_to_mel(hz), librosa.hz_to_mel(hz))
    assert np.array_equal(mel_frequencies(config.n_mels + 2, config.f_min, config.f_max),
                          librosa.mel_frequencies(config.n_mels + 2, fmin=config.f_min,
                                                  fmax=config.f_max))
