"""The one decoder interface (``tts.models.tacotron.Decoder``): both decoders are built the same
way, take the same arguments and return the same types, so the model and the training task
never ask which decoder they hold."""

import inspect

import pytest
import torch
from test_tacotron import AUDIO, tiny_config

from tts.errors import ConfigError
from tts.models.acoustic_losses import AcousticLossConfig
from tts.models.attention_decoder import AttentionDecoder, AttentionDecoderConfig
from tts.models.duration_decoder import DurationDecoder, DurationDecoderConfig
from tts.models.tacotron import DECODERS, Decoder

BATCH, TOKENS, FRAMES = 2, 6, 20


def _decoder(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return DECODERS[name](tiny_config(name).decoder_config(), AUDIO.n_mels, output_bias=-5.0)


def _inputs(config) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    token_lengths = torch.tensor([TOKENS, TOKENS - 2])
    return {"memory": torch.randn(BATCH, TOKENS, config.encoder_dim, generator=g),
            "embedded": torch.randn(BATCH, TOKENS, config.embedding_dim, generator=g),
            "mask": torch.arange(TOKENS) < token_lengths.unsqueeze(1),
            "mels": torch.randn(BATCH, AUDIO.n_mels, FRAMES, generator=g) - 5.0,
            "mel_lengths": torch.tensor([FRAMES, FRAMES - 4]), "token_lengths": token_lengths}


def test_decoders_table_and_configs():
    assert DECODERS == {"duration": DurationDecoder, "attention": AttentionDecoder}
    duration = tiny_config("duration", pitch=True).decoder_config()
    attention = tiny_config("attention").decoder_config()
    assert isinstance(duration, DurationDecoderConfig) and duration.pitch
    assert duration.decoder_dim == 16 and duration.aligner_dim == 8
    assert isinstance(attention, AttentionDecoderConfig)
    assert attention.reduction_factor == 2 and attention.prenet_dims == (16, 16)


def test_both_decoders_have_the_same_methods_and_signatures():
    for name in DECODERS:
        assert isinstance(_decoder(name), Decoder), name
    for method in ("forward", "infer", "losses"):
        signatures = {str(inspect.signature(getattr(cls, method))) for cls in DECODERS.values()}
        assert len(signatures) == 1, (method, signatures)
    assert DurationDecoder.has_aligner and not AttentionDecoder.has_aligner


@pytest.mark.parametrize("name", list(DECODERS))
def test_forward_infer_and_losses_return_the_same_types(name):
    decoder = _decoder(name)
    x = _inputs(tiny_config(name))
    out = decoder(x["memory"], x["embedded"], x["mask"], x["mels"], x["mel_lengths"])
    assert isinstance(out, dict) and all(torch.is_tensor(v) for v in out.values())
    assert out["mel"].shape == (BATCH, AUDIO.n_mels, FRAMES)  # r = 2 divides FRAMES
    total, named = decoder.losses(out, x["token_lengths"], x["mel_lengths"], step=0,
                                  weights=AcousticLossConfig())
    assert total.shape == () and torch.isfinite(total)
    assert named and all(v.shape == () for v in named.values())
    decoder.eval()
    result = decoder.infer(x["memory"], x["mask"])
    assert set(result) == {"mel", "mel_lengths", "alignment", "durations"}
    assert torch.equal(result["durations"].sum(dim=1), result["mel_lengths"])
    assert result["mel"].shape[:2] == (BATCH, AUDIO.n_mels)
    assert result["mel_lengths"].shape == (BATCH,)
    assert result["alignment"].shape[::2] == (BATCH, TOKENS)


def test_only_the_duration_decoder_controls_speed_and_pitch():
    x = _inputs(tiny_config("attention"))
    attention = _decoder("attention").eval()
    with pytest.raises(ConfigError, match="duration decoder"):
        attention.infer(x["memory"], x["mask"], duration_scale=1.5)
    with pytest.raises(ConfigError, match="duration decoder"):
        attention.infer(x["memory"], x["mask"], pitch_shift=2.0)
    duration = _decoder("duration").eval()
    normal = duration.infer(x["memory"], x["mask"])
    slow = duration.infer(x["memory"], x["mask"], duration_scale=2.0)
    assert (slow["mel_lengths"] >= normal["mel_lengths"]).all()
