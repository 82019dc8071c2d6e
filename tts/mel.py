"""The one log-mel spectrogram of voxclone (torch), built from ``AudioConfig`` alone; also
reachable as ``tts.audio.MelSpectrogram``. Its filterbank is ``tts.mel_scale.mel_filterbank``."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tts.config import AudioConfig
from tts.mel_scale import mel_filterbank

__all__ = ["MelSpectrogram", "mel_spectrogram"]


class MelSpectrogram(nn.Module):
    """Log-mel spectrogram, the only one in voxclone.

    Input: waveform ``(batch, num_samples)`` or ``(num_samples,)``, float, in [-1, 1].
    Output: ``(batch, n_mels, frames)`` (or ``(n_mels, frames)`` for 1-D input), natural log of
    the mel magnitude floored at ``config.log_floor``; ``frames = 1 + num_samples // hop_length``.
    """

    def __init__(self, config: AudioConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)
        self.register_buffer("mel_basis", torch.from_numpy(mel_filterbank(config)).float(),
                             persistent=False)

    def spectrum(self, wav: torch.Tensor) -> torch.Tensor:
        """Complex STFT ``(batch, n_fft // 2 + 1, frames)`` of ``(batch, samples)``: frame ``i``
        is centred on sample ``i * hop_length`` (reflect padding), the frames the mel is made
        of and the frames an iSTFT vocoder synthesizes."""
        c = self.config
        pad = c.n_fft // 2
        mode = "reflect" if wav.shape[-1] > pad else "constant"
        wav = torch.nn.functional.pad(wav.unsqueeze(1), (pad, pad), mode=mode).squeeze(1)
        return torch.stft(wav, c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                          window=self.window, center=False, return_complex=True)

    def magnitude(self, wav: torch.Tensor) -> torch.Tensor:
        """Linear STFT magnitude ``(batch, n_fft // 2 + 1, frames)`` of ``(batch, samples)``."""
        return self.spectrum(wav).abs()

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        squeeze = wav.dim() == 1
        if squeeze:
            wav = wav.unsqueeze(0)
        mel = torch.matmul(self.mel_basis, self.magnitude(wav.float()))
        mel = torch.log(torch.clamp(mel, min=self.config.log_floor))
        return mel.squeeze(0) if squeeze else mel


def mel_spectrogram(wav: np.ndarray, config: AudioConfig) -> np.ndarray:
    """NumPy convenience: ``(num_samples,)`` -> ``(n_mels, frames)`` float32 via ``MelSpectrogram``."""
    with torch.no_grad():
        mel = MelSpectrogram(config)(torch.from_numpy(np.asarray(wav, dtype=np.float32)))
    return mel.numpy()
