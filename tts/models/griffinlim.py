"""Griffin-Lim vocoder: the non-neural baseline and fallback.

A log-mel (as ``tts.audio.MelSpectrogram`` makes it: natural log of the mel magnitude) is mapped
back to a linear STFT magnitude by the least-squares (pseudo-)inverse of the very filterbank that
made it (``tts.audio.mel_filterbank``), clipped at zero, and a phase is found by Griffin-Lim iterations
(``librosa.griffinlim``, fast variant with momentum) with the AudioConfig's STFT. No parameters,
no training; quality is "intelligible but phasey".

On speech-like mels, ``librosa.util.nnls`` (L-BFGS-B started from the clipped pseudo-inverse)
returned the clipped pseudo-inverse unchanged (to 1e-15), at many times the cost, so the
pseudo-inverse is used directly.
"""

from __future__ import annotations

import librosa
import numpy as np
import torch
from torch import nn

from tts.audio import mel_filterbank
from tts.config import AudioConfig


class GriffinLim(nn.Module):
    """Mel ``(batch, n_mels, frames)`` -> waveform ``(batch, frames * hop_length)``.

    Args:
        audio: the shared AudioConfig (filterbank, STFT sizes, window, hop).
        n_iter: Griffin-Lim iterations (more is slower and slightly cleaner).
        power: exponent applied to the recovered linear magnitude before phase recovery; 1.0 is
            the exact inverse, values around 1.2 to 1.5 sharpen harmonics (as in Tacotron).
        seed: seed of the random initial phase, so that outputs are reproducible.

    The module has no parameters; it runs in NumPy/librosa on the CPU and returns a float32
    tensor on the input's device.
    """

    def __init__(self, audio: AudioConfig, n_iter: int = 32, power: float = 1.0,
                 seed: int = 0) -> None:
        super().__init__()
        if n_iter < 1 or power <= 0:
            raise ValueError("GriffinLim needs n_iter >= 1 and power > 0")
        self.audio = audio
        self.n_mels = audio.n_mels
        self.hop_length = audio.hop_length
        self.n_iter = n_iter
        self.power = power
        self.seed = seed
        # (n_fft // 2 + 1, n_mels): least-squares inverse of the (n_mels, bins) filterbank
        self._inverse_basis = np.linalg.pinv(mel_filterbank(audio).astype(np.float64))

    def magnitude(self, mel: np.ndarray) -> np.ndarray:
        """Log-mel ``(n_mels, frames)`` -> linear STFT magnitude ``(n_fft // 2 + 1, frames)``."""
        linear = np.maximum(self._inverse_basis @ np.exp(mel.astype(np.float64)), 0.0)
        return linear ** self.power if self.power != 1.0 else linear

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``mel (batch, n_mels, frames)`` -> ``wav (batch, frames * hop_length)`` float32."""
        if mel.dim() != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(f"GriffinLim expects a mel (batch, {self.n_mels}, frames), "
                             f"got shape {tuple(mel.shape)}")
        a = self.audio
        frames = mel.shape[-1]
        mels = mel.detach().cpu().double().numpy()
        wavs = []
        for m in mels:
            linear = self.magnitude(m)
            # ``frames * hop`` samples have ``frames + 1`` centred STFT frames: repeat the last
            # one, so that librosa's re-analysis of the requested length matches the magnitude.
            linear = np.concatenate([linear, linear[:, -1:]], axis=1)
            wavs.append(librosa.griffinlim(
                linear, n_iter=self.n_iter, hop_length=a.hop_length, win_length=a.win_length,
                n_fft=a.n_fft, window="hann", center=True, pad_mode="reflect",
                length=frames * a.hop_length, random_state=self.seed))
        out = np.stack(wavs).astype(np.float32) if wavs else np.zeros((0, frames * a.hop_length),
                                                                        np.float32)
        return torch.from_numpy(out).to(mel.device)

    @torch.no_grad()
    def infer(self, mel: torch.Tensor) -> torch.Tensor:
        """Same as ``forward``; a single ``(n_mels, frames)`` mel gives ``(samples,)``."""
        if mel.dim() == 2:
            return self.forward(mel.unsqueeze(0)).squeeze(0)
        return self.forward(mel)
