"""``Tacotron``: the acoustic model (phoneme ids -> log-mel frames) of voxclone.

One text encoder (embedding, convolutions, BiLSTM) conditioned on a speaker (an embedding from the
speaker encoder and/or a learned table of training speakers) and on a style (Global Style
Tokens), read by one of two decoders chosen in the config:

- ``"duration"``: predicted durations, Gaussian upsampling and a parallel convolutional decoder
  (``tts.models.duration_decoder``); alignments learned jointly, no attention at inference.
- ``"attention"``: the autoregressive Tacotron 2 decoder with location-sensitive attention and a
  stop token (``tts.models.attention_decoder``).

Both decoders have the one interface ``Decoder``; both end in the same postnet. ``forward`` is
the teacher-forced training path, ``infer`` the inference path, ``losses`` the training loss of
``forward``'s output; all take batches. Mels are ``(B, n_mels, frames)``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from tts.config import AudioConfig
from tts.errors import ConfigError
from tts.layers.alignment import monotonic_alignment_search
from tts.layers.style_tokens import ReferenceEncoder, StyleTokens
from tts.layers.tacotron_blocks import Postnet, TextEncoder, lengths_to_mask
from tts.models.acoustic_losses import AcousticLossConfig, mel_losses
from tts.models.attention_decoder import AttentionDecoder, AttentionDecoderConfig
from tts.models.duration_decoder import DurationDecoder, DurationDecoderConfig

DECODERS: dict[str, type[nn.Module]] = {"duration": DurationDecoder,
                                         "attention": AttentionDecoder}
"""``model.decoder`` -> the decoder class; each is built from its own config (``config_class``,
the ``TacotronConfig`` fields of the same names), ``n_mels`` and its output bias."""
BOS_ID, EOS_ID = 2, 3
"""Ids of ``<bos>`` and ``<eos>``: fixed in every ``SymbolTable``."""


@runtime_checkable
class Decoder(Protocol):
    """What ``Tacotron`` asks of its decoder. ``T`` tokens, ``F`` frames.

    ``has_aligner``: the decoder aligns the text with the target mel (its ``align(embedded,
    mask, mels, mel_lengths)``), so ``forward``'s frames follow the target's one for one; an
    aligner warm-up and ground-truth-aligned mels need it.
    """

    has_aligner: bool

    def forward(self, memory: torch.Tensor, embedded: torch.Tensor, mask: torch.Tensor,
                mels: torch.Tensor, mel_lengths: torch.Tensor,
                pitch: torch.Tensor | None = None,
                durations: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Teacher-forced pass. ``memory (B, T, encoder_dim)`` (text encodings plus
        conditioning), ``embedded (B, T, embedding_dim)`` (raw token embeddings), ``mask (B,
        T)``, ``mels (B, n_mels, F)``, ``mel_lengths (B,)``, ``pitch (B, F)`` frame F0 in Hz,
        ``durations (B, T)`` frames per token known beforehand (e.g. ``align_durations``: the
        aligner is then not run and its losses are left out; a decoder without an aligner
        raises ``ConfigError``). Returns ``mel (B, n_mels, F')`` and the decoder's own outputs,
        all that ``losses`` reads."""

    def infer(self, memory: torch.Tensor, mask: torch.Tensor, duration_scale: float = 1.0,
              pitch_shift: float = 0.0, durations: torch.Tensor | None = None,
              pitch: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Free-running pass: ``mel (B, n_mels, F)``, ``mel_lengths (B,)``, ``alignment (B, F
        or steps, T)``, ``durations (B, T)`` frames per token and, with pitch, ``f0 (B, F)`` Hz
        (0 = unvoiced).
        ``duration_scale`` > 1 speaks slower; ``pitch_shift`` moves the pitch in semitones;
        ``durations (B, T)`` frames per token and ``pitch (B, T, 2)`` token pitch features
        (``tts.models.pitch.token_pitch``) replace the predicted ones; a decoder that cannot
        raises ``ConfigError`` for any of these."""

    def losses(self, out: dict[str, torch.Tensor], token_lengths: torch.Tensor,
               mel_lengths: torch.Tensor, step: int, weights: AcousticLossConfig
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(weighted sum, named terms)`` of the decoder's own losses on ``forward``'s ``out``;
        ``step``: training steps of the whole model (after any aligner warm-up)."""


@dataclasses.dataclass(frozen=True)
class StyleConfig:
    """Global Style Tokens: ``num_tokens`` tokens read by ``num_heads`` heads into a ``dim``
    style vector; the reference encoder has one strided conv per ``reference_channels`` entry."""

    num_tokens: int = 10
    num_heads: int = 4
    dim: int = 128
    reference_channels: tuple[int, ...] = (32, 32, 64, 64, 128, 128)
    reference_dim: int = 128


@dataclasses.dataclass(frozen=True)
class TacotronConfig:
    """Sizes of a ``Tacotron``. The vocabulary size and ``n_mels`` are not here: they come from
    the symbol table and the audio config the model is built with."""

    decoder: str = "duration"
    boundary_tokens: bool = True
    """Wrap every utterance in ``<bos>``/``<eos>`` (ids 2 and 3 of every symbol table) inside the
    model: they take the leading and trailing silence, so the first and last phonemes align."""
    embedding_dim: int = 256
    encoder_dim: int = 256
    encoder_conv_layers: int = 3
    encoder_kernel_size: int = 5
    dropout: float = 0.5
    num_speakers: int = 0
    speaker_embedding_dim: int = 0
    speaker_dim: int = 64
    use_style: bool = True
    style: StyleConfig = StyleConfig()
    postnet_channels: int = 256
    postnet_layers: int = 5
    """0 = no postnet (the duration decoder's convolutions already refine the whole mel)."""
    postnet_kernel_size: int = 5
    # attention decoder
    reduction_factor: int = 2
    prenet_dims: tuple[int, ...] = (256, 256)
    attention_rnn_dim: int = 512
    decoder_rnn_dim: int = 512
    attention_dim: int = 128
    location_filters: int = 32
    location_kernel_size: int = 31
    max_frames_per_token: float = 15.0
    inference_window: tuple[int, ...] = (1, 3)
    # duration decoder
    decoder_dim: int = 256
    decoder_layers: int = 6
    decoder_kernel_size: int = 7
    duration_predictor_dim: int = 256
    duration_predictor_layers: int = 2
    aligner_dim: int = 80
    pitch: bool = False
    """Explicit pitch (``tts.models.pitch``): trained on frame F0 (``voxclone pitch DATA``),
    predicted per token at inference, shiftable in semitones. Duration decoder only."""

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ConfigError(f"model.decoder must be one of {', '.join(DECODERS)}, "
                              f"got {self.decoder!r}")
        if self.reduction_factor < 1 or len(self.inference_window) != 2:
            raise ConfigError("model: reduction_factor must be >= 1 and inference_window two ints")
        if self.pitch and self.decoder != "duration":
            raise ConfigError("model.pitch needs the duration decoder")

    def decoder_config(self) -> DurationDecoderConfig | AttentionDecoderConfig:
        """The chosen decoder's own config, from the fields of the same names."""
        config_class = DECODERS[self.decoder].config_class
        return config_class(**{field.name: getattr(self, field.name)
                               for field in dataclasses.fields(config_class)})


class Tacotron(nn.Module):
    """The acoustic model. See the module docstring; ``forward``/``infer`` document the shapes.

    Buffer ``mean_style_weights (num_heads, num_tokens)`` tracks (during training) the average
    token weights of the training data: the style used when none is asked for.
    """

    def __init__(self, config: TacotronConfig, num_symbols: int, audio: AudioConfig) -> None:
        super().__init__()
        self.config = config
        self.n_mels = audio.n_mels
        self.mel_floor = math.log(audio.log_floor)
        c = config
        self.encoder = TextEncoder(num_symbols, c.embedding_dim, c.encoder_dim,
                                   c.encoder_conv_layers, c.encoder_kernel_size, c.dropout)
        self.speaker_table = nn.Embedding(c.num_speakers, c.speaker_dim) if c.num_speakers else None
        self.speaker_projection = (nn.Linear(c.speaker_embedding_dim, c.speaker_dim)
                                   if c.speaker_embedding_dim else None)
        if c.num_speakers and c.speaker_embedding_dim:
            # each training speaker's mean encoder embedding (set from the data by training):
            # the embedding used when a training speaker is asked for by name
            self.register_buffer("speaker_means", torch.zeros(c.num_speakers,
                                                              c.speaker_embedding_dim))
        cond_dim = c.speaker_dim if (c.num_speakers or c.speaker_embedding_dim) else 0
        if c.use_style:
            self.reference_encoder = ReferenceEncoder(audio.n_mels, c.style.reference_channels,
                                                      c.style.reference_dim)
            self.style_tokens = StyleTokens(c.style.reference_dim, c.style.dim,
                                            c.style.num_tokens, c.style.num_heads)
            self.register_buffer("mean_style_weights", torch.full(
                (c.style.num_heads, c.style.num_tokens), 1.0 / c.style.num_tokens))
            cond_dim += c.style.dim
        self.condition = nn.Linear(cond_dim, c.encoder_dim) if cond_dim else None
        self.decoder = DECODERS[c.decoder](c.decoder_config(), audio.n_mels,
                                           output_bias=self.mel_floor / 2)
        self.postnet = (Postnet(audio.n_mels, c.postnet_channels, c.postnet_layers,
                                c.postnet_kernel_size) if c.postnet_layers else None)

    # -- conditioning ----------------------------------------------------------------------
    def speaker_vector(self, batch: int, device: torch.device, speakers: torch.Tensor | None,
                       speaker_embeddings: torch.Tensor | None) -> torch.Tensor | None:
        """``(B, speaker_dim)``: table entry (index -1 = none) plus projected embedding; without
        ``speaker_embeddings``, table speakers use their stored mean embedding (``speaker_means``)."""
        if self.speaker_table is None and self.speaker_projection is None:
            return None
        vector = torch.zeros(batch, self.config.speaker_dim, device=device)
        if self.speaker_table is not None and speakers is not None:
            known = speakers >= 0
            vector = vector + self.speaker_table(speakers.clamp(min=0)) * known.unsqueeze(1)
        if self.speaker_projection is not None:
            if (speaker_embeddings is None and speakers is not None
                    and hasattr(self, "speaker_means") and bool((speakers >= 0).all())):
                speaker_embeddings = self.speaker_means[speakers]
            if speaker_embeddings is None:
                raise ConfigError("this model is conditioned on speaker embeddings: give one "
                                  "(a voice profile or reference audio)")
            if speaker_embeddings.shape[-1] != self.config.speaker_embedding_dim:
                raise ConfigError(f"speaker embedding has size {speaker_embeddings.shape[-1]}, "
                                  f"the model expects {self.config.speaker_embedding_dim}")
            vector = vector + self.speaker_projection(speaker_embeddings)
        return vector

    def style_vector(self, batch: int, reference_mels: torch.Tensor | None = None,
                     reference_lengths: torch.Tensor | None = None,
                     style_weights: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(style (B, style.dim), weights (B, heads, tokens))`` from explicit weights, else a
        reference mel, else the training average; ``(None, None)`` without style tokens."""
        if not self.config.use_style:
            return None, None
        if style_weights is None and reference_mels is not None:
            reference = self.reference_encoder(reference_mels, reference_lengths)
            return self.style_tokens(reference)
        if style_weights is None:
            style_weights = self.mean_style_weights.unsqueeze(0).expand(batch, -1, -1)
        return self.style_tokens.from_weights(style_weights), style_weights

    def encode(self, tokens: torch.Tensor, token_lengths: torch.Tensor,
               speaker: torch.Tensor | None, style: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(memory (B, T, encoder_dim), mask (B, T))``: text encodings plus conditioning."""
        mask = lengths_to_mask(token_lengths, tokens.shape[1])
        memory = self.encoder(tokens, token_lengths)
        parts = [p for p in (speaker, style) if p is not None]
        if parts:
            memory = memory + self.condition(torch.cat(parts, dim=-1)).unsqueeze(1)
        return memory * mask.unsqueeze(-1), mask

    def refine(self, mel: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """``mel`` plus the postnet's residual (``mel`` itself without a postnet)."""
        return mel if self.postnet is None else mel + self.postnet(mel, frame_mask)

    def add_boundaries(self, tokens: torch.Tensor, token_lengths: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T)`` ids -> ``(B, T + 2)`` with ``<bos>`` first and ``<eos>`` after each
        utterance's last id (when ``boundary_tokens``); lengths grow by 2."""
        if not self.config.boundary_tokens:
            return tokens, token_lengths
        batch, length = tokens.shape
        wrapped = tokens.new_zeros(batch, length + 2)
        wrapped[:, 0] = BOS_ID
        wrapped[:, 1:length + 1] = tokens
        wrapped[torch.arange(batch, device=tokens.device), token_lengths + 1] = EOS_ID
        return wrapped, token_lengths + 2

    # -- paths -----------------------------------------------------------------------------
    def forward(self, tokens: torch.Tensor, token_lengths: torch.Tensor, mels: torch.Tensor,
                mel_lengths: torch.Tensor, speakers: torch.Tensor | None = None,
                speaker_embeddings: torch.Tensor | None = None,
                pitch: torch.Tensor | None = None,
                style_weights: torch.Tensor | None = None,
                durations: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Teacher-forced pass. ``tokens (B, T)``, ``mels (B, n_mels, F)``, lengths ``(B,)``,
        ``speakers (B,)`` table indices, ``speaker_embeddings (B, speaker_embedding_dim)``,
        ``pitch (B, F)`` frame F0 in Hz, 0 = unvoiced (needed with ``config.pitch``),
        ``style_weights (B, heads, tokens)`` instead of the style the reference encoder reads
        from ``mels`` (e.g. a voice's fixed style, ``cloning.quick``), ``durations (B, T')``
        frames per token over the tokens with boundaries (e.g. ``align_durations``), which
        spares the aligner (``Decoder.forward``).

        Returns ``token_lengths (B,)`` as read (boundaries included), ``mel`` and ``mel_postnet`` ``(B, n_mels, F')`` (``F' = F`` for the duration
        decoder, ``F`` rounded up to the reduction factor for attention), ``style_weights`` and
        the decoder's own outputs (over ``T + 2`` tokens with ``boundary_tokens``): ``durations``, ``log_durations``, ``alignment_log_probs``,
        ``soft_alignment`` (duration; with ``config.pitch`` also ``pitch`` and ``pitch_target``
        ``(B, T, 2)``) or ``stop_logits (B, S)``, ``alignments (B, S, T)`` (attention).
        """
        batch = tokens.shape[0]
        tokens, token_lengths = self.add_boundaries(tokens, token_lengths)
        speaker = self.speaker_vector(batch, tokens.device, speakers, speaker_embeddings)
        given = style_weights is not None
        style, style_weights = self.style_vector(batch, mels, mel_lengths, style_weights)
        if style_weights is not None and self.training and not given:
            with torch.no_grad():
                self.mean_style_weights.lerp_(style_weights.mean(0).float(), 0.01)
        memory, mask = self.encode(tokens, token_lengths, speaker, style)
        out = self.decoder(memory, self.encoder.embed(tokens), mask, mels, mel_lengths,
                           pitch=pitch, durations=durations)
        frame_mask = lengths_to_mask(mel_lengths, out["mel"].shape[-1])
        out["mel_postnet"] = self.refine(out["mel"], frame_mask)
        out["style_weights"] = style_weights
        out["token_lengths"] = token_lengths
        return out

    def losses(self, out: dict[str, torch.Tensor], mels: torch.Tensor,
               mel_lengths: torch.Tensor, step: int, weights: AcousticLossConfig
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(total, named losses)`` of ``forward``'s ``out`` against the target ``mels (B,
        n_mels, F)``: the mel L1 of the decoder and the postnet, plus the decoder's own
        (``Decoder.losses``; ``step`` counts whole-model training steps)."""
        named = mel_losses(out, mels, mel_lengths)
        total = sum(named.values())
        decoder_total, decoder_named = self.decoder.losses(out, out["token_lengths"],
                                                           mel_lengths, step, weights)
        named.update(decoder_named)
        return total + decoder_total, named

    def align(self, tokens: torch.Tensor, token_lengths: torch.Tensor, mels: torch.Tensor,
              mel_lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """Only the decoder's aligner (text embeddings against mel frames), for a cheap
        alignment warm-up at the start of training: ``soft_alignment`` and
        ``alignment_log_probs`` ``(B, F, T')``, ``token_lengths (B,)`` with boundaries."""
        if not self.decoder.has_aligner:
            raise ConfigError("only the duration decoder has an aligner")
        tokens, token_lengths = self.add_boundaries(tokens, token_lengths)
        mask = lengths_to_mask(token_lengths, tokens.shape[1])
        soft, log_probs = self.decoder.align(self.encoder.embed(tokens), mask, mels, mel_lengths)
        return {"soft_alignment": soft, "alignment_log_probs": log_probs,
                "token_lengths": token_lengths}

    @torch.no_grad()
    def align_durations(self, tokens: torch.Tensor, token_lengths: torch.Tensor,
                        mels: torch.Tensor, mel_lengths: torch.Tensor) -> torch.Tensor:
        """Frames per token ``(B, T')`` (boundaries included) where the aligner places the text
        on ``mels (B, n_mels, F)``: the hard alignment of training (monotonic alignment search),
        each row summing to its ``mel_lengths``. ``infer(durations=...)`` speaks with it."""
        out = self.align(tokens, token_lengths, mels, mel_lengths)
        return monotonic_alignment_search(out["alignment_log_probs"], out["token_lengths"],
                                          mel_lengths)

    @torch.no_grad()
    def infer(self, tokens: torch.Tensor, token_lengths: torch.Tensor,
              speakers: torch.Tensor | None = None,
              speaker_embeddings: torch.Tensor | None = None,
              reference_mels: torch.Tensor | None = None,
              reference_lengths: torch.Tensor | None = None,
              style_weights: torch.Tensor | None = None,
              duration_scale: float = 1.0, pitch_shift: float = 0.0,
              durations: torch.Tensor | None = None,
              pitch: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Synthesize a batch. Style: ``style_weights (B, heads, tokens)`` or ``(B, tokens)``,
        else ``reference_mels (B, n_mels, F_ref)``, else the training average.
        ``duration_scale`` > 1 speaks slower (duration decoder only); ``pitch_shift`` moves the
        pitch by that many semitones (models with ``config.pitch`` only). Given timing and
        intonation (duration decoder only; speech-to-speech, ``tts.convert``): ``durations (B,
        T')`` frames per token, e.g. from ``align_durations``, and ``pitch (B, T', 2)`` token
        pitch features (``tts.models.pitch.token_pitch``; models with ``config.pitch``), both
        over the tokens with boundaries.

        Returns ``mel (B, n_mels, F)`` (frames past ``mel_lengths`` hold the silence floor),
        ``mel_lengths (B,)``, ``alignment`` (``(B, F, T')`` for duration, ``(B, S, T')`` for
        attention; ``T' = T + 2`` with ``boundary_tokens``) and ``durations (B, T')`` frames per
        token; models with ``config.pitch`` also
        return ``f0 (B, F)``, Hz, 0 = unvoiced, with the shift applied (for pitch-driven
        vocoders).
        """
        batch = tokens.shape[0]
        tokens, token_lengths = self.add_boundaries(tokens, token_lengths)
        speaker = self.speaker_vector(batch, tokens.device, speakers, speaker_embeddings)
        style, _ = self.style_vector(batch, reference_mels, reference_lengths, style_weights)
        memory, mask = self.encode(tokens, token_lengths, speaker, style)
        out = self.decoder.infer(memory, mask, duration_scale, pitch_shift, durations, pitch)
        frame_mask = lengths_to_mask(out["mel_lengths"], out["mel"].shape[-1])
        mel = self.refine(out["mel"], frame_mask)
        out["mel"] = mel.masked_fill(~frame_mask.unsqueeze(1), self.mel_floor)
        return out
