"""The three exportable graphs of a voice: torch modules built from the loaded models' own layers.

The inference path of ``Tacotron.infer`` (duration decoder) and a vocoder, cut where the length
becomes data-dependent (the frame count is the sum of the predicted durations):

- ``EncoderGraph``: ``tokens (1, T)`` and the voice (speaker, embedding, style weights), speed
  and pitch shift -> ``memory (1, T', encoder_dim)``, ``durations (1, T')`` whole frames per
  token, ``pitch (1, T', 2)`` token pitch features (``T' = T + 2`` with boundary tokens).
- ``DecoderGraph``: memory, durations, pitch and ``frame_mask (1, F)`` (ones; its length ``F``
  is the sum of the durations, made by the caller) -> ``mel (1, n_mels, F)``, ``alignment (1,
  F, T')``, ``f0 (1, F)`` Hz.
- ``SourceFilterGraph`` / ``ISTFTGraph``: ``mel (1, n_mels, F)`` [with ``f0 (1, F)`` and
  ``noise (1, F * hop)``] -> ``wav (1, F * hop)``.

They call the models' own layers and functions (``Tacotron.speaker_vector``, ``style_vector``,
``DurationDecoder.predict_durations``, ``predict_pitch``, ``decode``, ``frame_f0``, the
vocoders' networks, ``continuous_f0``, ``pulse_train``), for a batch of one utterance without
padding, so every mask is all ones. Only what ONNX or ``torch.export`` cannot take is
reformulated, each checked against the original in ``tests/test_onnx.py``:

- the text encoder's packed BiLSTM runs unpacked (one unpadded utterance: nothing to pack), and
  under ``torch.onnx.export`` becomes one ONNX ``LSTM`` node (``torch.export`` unrolls
  ``nn.LSTM`` over time and loses the dynamic length);
- ``cummax``/``cummin`` (``continuous_f0``), which ONNX lacks, are replaced at export by a
  log-step prefix scan (``prefix_scan``; exact: integers and comparisons only);
- the STFT-domain synthesis (minimum-phase filters from the folded cepstrum, the sources' STFT,
  the inverse STFT) is done with real DFT matrices (``dft_matrices``): complex tensors do not
  export, and onnxruntime's DFT/STFT kernels are several times slower than these products.
- the noise of the source-filter vocoder is an input (``tts.onnx.noise`` makes the same numbers
  as the torch vocoder's seeded ``torch.randn``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from tts.errors import ConfigError
from tts.models.pitch import frame_f0
from tts.models.tacotron import BOS_ID, EOS_ID, Tacotron

SCAN_STEPS = 17
"""Steps of ``prefix_scan``: exact for sequences up to ``2 ** SCAN_STEPS`` frames (25 minutes
of audio in one chunk)."""
MAX_FRAMES = 2 ** SCAN_STEPS


class BiLSTM(nn.Module):
    """The text encoder's bidirectional ``nn.LSTM`` on one unpadded utterance: ``x (1, T, in)``
    -> ``(1, T, 2 * hidden)``. Eagerly the module itself; under ``torch.onnx.export`` one ONNX
    ``LSTM`` node with the same weights (gates reordered from PyTorch's i, f, g, o to ONNX's
    i, o, f, c)."""

    def __init__(self, lstm: nn.LSTM) -> None:
        super().__init__()
        if not (lstm.bidirectional and lstm.batch_first and lstm.num_layers == 1
                and lstm.proj_size == 0 and lstm.bias):
            raise ConfigError("ONNX export supports the text encoder's one-layer BiLSTM only")
        self.lstm = lstm
        self.hidden = lstm.hidden_size

    def _onnx_weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``W (2, 4H, in)``, ``R (2, 4H, H)``, ``B (2, 8H)`` in ONNX's gate order."""
        def reorder(w: torch.Tensor) -> torch.Tensor:
            i, f, g, o = w.chunk(4, dim=0)
            return torch.cat([i, o, f, g], dim=0)

        lstm, weights = self.lstm, ([], [], [])
        for suffix in ("", "_reverse"):
            weights[0].append(reorder(getattr(lstm, f"weight_ih_l0{suffix}")))
            weights[1].append(reorder(getattr(lstm, f"weight_hh_l0{suffix}")))
            weights[2].append(torch.cat([reorder(getattr(lstm, f"bias_ih_l0{suffix}")),
                                         reorder(getattr(lstm, f"bias_hh_l0{suffix}"))]))
        return tuple(torch.stack(w) for w in weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.onnx.is_in_onnx_export():
            return self.lstm(x)[0]
        w, r, b = self._onnx_weights()
        steps = x.shape[1]
        y = torch.onnx.ops.symbolic(
            "LSTM", [x.transpose(0, 1), w, r, b],
            {"direction": "bidirectional", "hidden_size": self.hidden},
            dtype=x.dtype, shape=[steps, 2, 1, self.hidden], version=14)  # (T, dirs, 1, H)
        return y.permute(2, 0, 1, 3).reshape(1, steps, 2 * self.hidden)


class EncoderGraph(nn.Module):
    """Graph 1 (see the module doc): text encoder, conditioning, duration and pitch predictors.

    ``forward(tokens (1, T) int64, speaker (1,) int64 table row or -1, speaker_embedding (1,
    D), style_weights (1, heads, tokens), duration_scale () float, pitch_shift () semitones)``;
    inputs the model does not use are ignored (and left out of the ONNX graph)."""

    def __init__(self, model: Tacotron) -> None:
        super().__init__()
        if model.config.decoder != "duration":
            raise ConfigError("ONNX export supports acoustic models with the duration decoder; "
                              "this one has the attention decoder")
        self.model = model
        self.lstm = BiLSTM(model.encoder.lstm)

    def forward(self, tokens: torch.Tensor, speaker: torch.Tensor,
                speaker_embedding: torch.Tensor, style_weights: torch.Tensor,
                duration_scale: torch.Tensor, pitch_shift: torch.Tensor
                ) -> tuple[torch.Tensor, ...]:
        m = self.model
        if m.config.boundary_tokens:
            tokens = torch.cat([torch.full_like(tokens[:, :1], BOS_ID), tokens,
                                torch.full_like(tokens[:, :1], EOS_ID)], dim=1)
        mask = torch.ones_like(tokens, dtype=torch.bool)
        vector = m.speaker_vector(
            1, tokens.device, speaker if m.speaker_table is not None else None,
            speaker_embedding if m.speaker_projection is not None else None)
        style, _ = m.style_vector(1, style_weights=style_weights)
        encoder = m.encoder
        x = encoder.convs(encoder.embedding(tokens).transpose(1, 2)).transpose(1, 2)
        memory = self.lstm(x)
        parts = [p for p in (vector, style) if p is not None]
        if parts:
            memory = memory + m.condition(torch.cat(parts, dim=-1)).unsqueeze(1)
        durations = m.decoder.predict_durations(memory, mask, duration_scale)
        if m.decoder.pitch_predictor is None:
            return memory, durations
        return memory, durations, m.decoder.predict_pitch(memory, mask, pitch_shift)


class DecoderGraph(nn.Module):
    """Graph 2: ``forward(memory (1, T', D), durations (1, T'), frame_mask (1, F), pitch (1, T',
    2))`` -> ``mel (1, n_mels, F)``, ``alignment (1, F, T')`` and, with pitch, ``f0 (1, F)``
    Hz (0 = unvoiced)."""

    def __init__(self, model: Tacotron) -> None:
        super().__init__()
        self.model = model

    def forward(self, memory: torch.Tensor, durations: torch.Tensor, frame_mask: torch.Tensor,
                pitch: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        decoder = self.model.decoder
        mask = torch.ones_like(durations, dtype=torch.bool)
        frames = frame_mask > 0
        if pitch is not None:
            memory = memory + decoder.pitch_embedding(pitch, mask)
        mel, weights = decoder.decode(memory, durations, mask, frames)
        mel = self.model.refine(mel, frames)
        if pitch is None:
            return mel, weights
        return mel, weights, frame_f0(pitch, weights) * frames


# -- real-valued STFT-domain synthesis ----------------------------------------------------------
def dft_matrices(n_fft: int, window: torch.Tensor, lifter: int = 0
                 ) -> dict[str, torch.Tensor]:
    """Real matrices (float64 in, float32 out) for ``n_fft``-point transforms with ``bins =
    n_fft // 2 + 1``:

    - ``phase_real``, ``phase_imag`` ``(bins, bins)``: the log-magnitude ``L (..., bins)`` ->
      ``log H = L @ phase_real + i L @ phase_imag`` of ``source_filter.minimum_phase`` (folded
      real cepstrum, kept up to ``lifter`` quefrencies when > 0), which is linear in ``L``;
    - ``analysis`` ``(2 * bins, 1, n_fft)``: conv1d kernels of the STFT with ``window`` (real
      parts, then imaginary), as ``torch.stft`` without its centre padding;
    - ``synthesis_real``, ``synthesis_imag`` ``(bins, len(window))``: ``irfft`` of a one-sided
      spectrum (``n_fft`` samples, zero-padded to the window's length) times ``window``.
    """
    bins = n_fft // 2 + 1
    eye = torch.eye(bins, dtype=torch.float64)
    fold = torch.zeros(n_fft, dtype=torch.float64)
    fold[0], fold[1:n_fft // 2], fold[n_fft // 2] = 1.0, 2.0, 1.0
    if lifter:
        fold[lifter:] = 0.0
    log_response = torch.fft.rfft(torch.fft.irfft(eye, n=n_fft) * fold, n=n_fft)
    n = torch.arange(n_fft, dtype=torch.float64)
    angle = 2 * math.pi * torch.arange(bins, dtype=torch.float64)[:, None] * n / n_fft
    analysis_window = window.double()[:n_fft]
    analysis = torch.cat([torch.cos(angle) * analysis_window, -torch.sin(angle) * analysis_window])
    pad = window.numel() - n_fft
    synthesis = [F.pad(torch.fft.irfft(part, n=n_fft), (0, pad)) * window.double()
                 for part in (eye.to(torch.complex128), 1j * eye.to(torch.complex128))]
    return {"phase_real": log_response.real.float(), "phase_imag": log_response.imag.float(),
            "analysis": analysis.float().unsqueeze(1),
            "synthesis_real": synthesis[0].float(), "synthesis_imag": synthesis[1].float()}


def stft_frames(signal: torch.Tensor, analysis: torch.Tensor, hop: int, frames: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.stft(center=True, pad_mode="reflect")`` of ``signal (B, samples)``, its first
    ``frames`` frames: ``(real, imag)``, each ``(B, frames, bins)``."""
    n_fft = analysis.shape[-1]
    padded = F.pad(signal.unsqueeze(1), (n_fft // 2, n_fft // 2), mode="reflect")
    spec = F.conv1d(padded, analysis, stride=hop)[..., :frames].transpose(1, 2)
    return spec.chunk(2, dim=-1)


def inverse_stft(istft: nn.Module, real: torch.Tensor, imag: torch.Tensor,
                 synthesis_real: torch.Tensor, synthesis_imag: torch.Tensor) -> torch.Tensor:
    """``istft`` (a ``tts.models.istft_vocoder.InverseSTFT``) of ``real, imag (B, frames,
    bins)`` with its ``irfft`` and window done by the ``dft_matrices`` synthesis products; the
    overlap-add and the window-envelope division are the module's own. -> ``(B, frames *
    hop)``."""
    num = real.shape[1]
    windowed = real @ synthesis_real + imag @ synthesis_imag
    wav = istft._overlap_add(windowed)
    envelope = istft._overlap_add((istft.window ** 2).expand(1, num, -1))
    start = istft.n_fft // 2
    end = start + num * istft.hop_length
    return wav[:, start:end] / envelope[:, start:end]


class SourceFilterGraph(nn.Module):
    """Graph 3 for ``SourceFilterVocoder``: ``forward(mel (1, n_mels, F), f0 (1, F) Hz, noise
    (1, F * hop))`` -> ``wav (1, F * hop)``; ``noise`` is what ``excitation`` draws with its
    seed (``tts.onnx.noise.torch_randn``)."""

    def __init__(self, vocoder: nn.Module) -> None:
        super().__init__()
        self.vocoder = vocoder
        for name, matrix in dft_matrices(vocoder.n_fft, vocoder.window,
                                         vocoder.harmonic_lifter).items():
            self.register_buffer(f"harmonic_{name}", matrix, persistent=False)
        noise = dft_matrices(vocoder.n_fft, vocoder.window)
        self.register_buffer("noise_phase_real", noise["phase_real"], persistent=False)
        self.register_buffer("noise_phase_imag", noise["phase_imag"], persistent=False)
        synthesis = dft_matrices(vocoder.n_fft, vocoder.istft.window)
        self.register_buffer("synthesis_real", synthesis["synthesis_real"], persistent=False)
        self.register_buffer("synthesis_imag", synthesis["synthesis_imag"], persistent=False)

    @staticmethod
    def _response(log_gain: torch.Tensor, real: torch.Tensor, imag: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """``minimum_phase``: ``(real, imag)`` of ``exp(log H)``, each like ``log_gain``."""
        log_magnitude, phase = log_gain @ real, log_gain @ imag
        magnitude = torch.exp(log_magnitude)
        return magnitude * torch.cos(phase), magnitude * torch.sin(phase)

    def forward(self, mel: torch.Tensor, f0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        from tts.models.source_filter import (
            LOG_F0_CENTRE,
            LOG_F0_SCALE,
            _upsample,
            continuous_f0,
            pulse_train,
        )

        v = self.vocoder
        f0c, voiced = continuous_f0(f0)  # SourceFilterVocoder.excitation, noise given
        harmonic = pulse_train(_upsample(f0c, v.hop_length), v.audio.sample_rate)
        features = torch.stack([(torch.log(f0c) - LOG_F0_CENTRE) / LOG_F0_SCALE, voiced], dim=1)
        log_gain = v.filters(mel, features)  # SourceFilterVocoder.synthesize
        h_real, h_imag = self._response(log_gain[:, 0], self.harmonic_phase_real,
                                        self.harmonic_phase_imag)
        n_real, n_imag = self._response(log_gain[:, 1], self.noise_phase_real,
                                        self.noise_phase_imag)
        steps = mel.shape[-1] * v.config.subframes
        sources = torch.cat([harmonic, noise], dim=0)
        s_real, s_imag = stft_frames(sources, self.harmonic_analysis, v.synthesis_hop, steps)
        real = (s_real[:1] * h_real - s_imag[:1] * h_imag
                + s_real[1:] * n_real - s_imag[1:] * n_imag)
        imag = (s_real[:1] * h_imag + s_imag[:1] * h_real
                + s_real[1:] * n_imag + s_imag[1:] * n_real)
        return inverse_stft(v.istft, real, imag, self.synthesis_real, self.synthesis_imag)


class ISTFTGraph(nn.Module):
    """Graph 3 for ``ISTFTVocoder`` (without phase iterations): ``forward(mel (1, n_mels, F))``
    -> ``wav (1, F * hop)``."""

    def __init__(self, vocoder: nn.Module) -> None:
        super().__init__()
        if vocoder.config.phase_iterations:
            raise ConfigError("ONNX export supports iSTFT vocoders without phase_iterations")
        self.vocoder = vocoder
        synthesis = dft_matrices(vocoder.audio.n_fft, vocoder.istft.window)
        self.register_buffer("synthesis_real", synthesis["synthesis_real"], persistent=False)
        self.register_buffer("synthesis_imag", synthesis["synthesis_imag"], persistent=False)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        magnitude, phase = self.vocoder.spectrogram(mel)
        return inverse_stft(self.vocoder.istft, magnitude * torch.cos(phase),
                            magnitude * torch.sin(phase), self.synthesis_real,
                            self.synthesis_imag)


def vocoder_graph(vocoder: nn.Module) -> nn.Module:
    """The graph of a loaded vocoder; ``ConfigError`` for a kind ONNX export does not cover."""
    from tts.models.istft_vocoder import ISTFTVocoder
    from tts.models.source_filter import SourceFilterVocoder

    if isinstance(vocoder, SourceFilterVocoder):
        return SourceFilterGraph(vocoder)
    if isinstance(vocoder, ISTFTVocoder):
        return ISTFTGraph(vocoder)
    raise ConfigError(f"ONNX export supports the sourcefilter and istft vocoders, not "
                      f"{type(vocoder).__name__}")


# -- cummax / cummin ----------------------------------------------------------------------------
def prefix_scan(x: torch.Tensor, dim: int, largest: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.cummax`` (``largest``) or ``torch.cummin`` along the last dimension as a
    Hillis-Steele scan of ``SCAN_STEPS`` shifts (no cumulative-extreme op in ONNX): ``(values,
    indices)`` like torch's, ties going to the later index. Exact up to ``MAX_FRAMES``."""
    if dim not in (-1, x.dim() - 1):
        raise ValueError("prefix_scan works along the last dimension only")
    n = x.shape[-1]
    values = x
    index = torch.arange(n, device=x.device).expand_as(x)
    fill = (torch.finfo(x.dtype) if x.is_floating_point() else torch.iinfo(x.dtype))
    fill = fill.min if largest else fill.max
    step = 1
    for _ in range(SCAN_STEPS):
        before = (*x.shape[:-1], step)
        earlier = torch.cat([values.new_full(before, fill), values], dim=-1)[..., :n]
        earlier_index = torch.cat([index.new_zeros(before), index], dim=-1)[..., :n]
        better = earlier > values if largest else earlier < values
        values = torch.where(better, earlier, values)
        index = torch.where(better, earlier_index, index)
        step *= 2
    return values, index


def _cummax(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    return prefix_scan(x, dim, largest=True)


def _cummin(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    return prefix_scan(x, dim, largest=False)


EXPORT_DECOMPOSITIONS = {torch.ops.aten.cummax.default: _cummax,
                         torch.ops.aten.cummin.default: _cummin}
"""Applied to the exported program before it is translated to ONNX."""
