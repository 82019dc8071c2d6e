"""Losses of the acoustic model, per decoder; each returns a dict of named scalar tensors.

Mels are ``(B, n_mels, F)``; every loss counts valid (unpadded) frames or tokens only. The
weights that sum them (``AcousticLossConfig``) are applied by each decoder's ``losses``.
"""

from __future__ import annotations

import dataclasses

import torch
from torch.nn import functional as F

from tts.layers.alignment import durations_to_alignment, forward_sum_loss
from tts.layers.attention import guided_attention_loss
from tts.layers.tacotron_blocks import lengths_to_mask


@dataclasses.dataclass(frozen=True)
class AcousticLossConfig:
    """Weights and schedule of the decoders' losses (beside the mel L1, weight 1): a base of
    ``AcousticTrainingConfig``, so these are keys of an acoustic config's ``training``."""

    duration_weight: float = 1.0
    pitch_weight: float = 1.0
    """Weight of the token pitch and voicing losses (models with ``model.pitch``)."""
    align_weight: float = 1.0
    binarization_start_step: int = 1_000
    """Steps after the aligner warm-up before the soft alignment is pulled onto the hard one."""
    binarization_weight: float = 1.0
    stop_weight: float = 1.0
    stop_pos_weight: float = 5.0
    guided_attention_weight: float = 10.0
    guided_attention_decay_steps: int = 5_000


def masked_l1(prediction: torch.Tensor, target: torch.Tensor,
              frame_mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over valid frames; ``frame_mask (B, F)``."""
    frames = min(prediction.shape[-1], target.shape[-1], frame_mask.shape[-1])
    diff = (prediction[..., :frames] - target[..., :frames]).abs()
    mask = frame_mask[:, :frames].unsqueeze(1).float()
    return (diff * mask).sum() / (mask.sum() * prediction.shape[1]).clamp(min=1)


def mel_losses(out: dict[str, torch.Tensor], mels: torch.Tensor,
               mel_lengths: torch.Tensor) -> dict[str, torch.Tensor]:
    """L1 of the decoder mel and (when different) of the postnet mel against the target."""
    frame_mask = lengths_to_mask(mel_lengths, mels.shape[-1])
    losses = {"mel_loss": masked_l1(out["mel"], mels, frame_mask)}
    if out["mel_postnet"] is not out["mel"]:
        losses["postnet_loss"] = masked_l1(out["mel_postnet"], mels, frame_mask)
    return losses


def duration_losses(out: dict[str, torch.Tensor], token_lengths: torch.Tensor,
                    mel_lengths: torch.Tensor, binarization: bool) -> dict[str, torch.Tensor]:
    """Duration MSE (log domain), forward-sum alignment loss and (once ``binarization``) the
    loss pulling the soft alignment onto the hard one; the last two only when the aligner ran
    (``out`` holds ``alignment_log_probs``; not with given durations)."""
    mask = lengths_to_mask(token_lengths, out["durations"].shape[1]).float()
    target = torch.log1p(out["durations"].float())
    duration = (((out["log_durations"] - target) ** 2) * mask).sum() / mask.sum()
    losses = {"duration_loss": duration}
    if "alignment_log_probs" not in out:
        return losses
    losses["align_loss"] = forward_sum_loss(out["alignment_log_probs"], token_lengths,
                                            mel_lengths)
    if binarization:
        hard = durations_to_alignment(out["durations"], out["soft_alignment"].shape[1])
        picked = (out["soft_alignment"].clamp(min=1e-8).log() * hard).sum()
        losses["bin_loss"] = -picked / hard.sum().clamp(min=1)
    return losses


def pitch_losses(out: dict[str, torch.Tensor], token_lengths: torch.Tensor
                 ) -> dict[str, torch.Tensor]:
    """Squared error of the predicted token pitch (``tts.models.pitch``): the log F0 over
    tokens with voiced frames (weighted by their voiced share), the voiced share over all."""
    mask = lengths_to_mask(token_lengths, out["pitch"].shape[1]).float()
    predicted, target = out["pitch"], out["pitch_target"]
    weight = target[..., 1] * mask
    pitch = (((predicted[..., 0] - target[..., 0]) ** 2) * weight).sum() / weight.sum().clamp(
        min=1e-3)
    voicing = (((predicted[..., 1] - target[..., 1]) ** 2) * mask).sum() / mask.sum()
    return {"pitch_loss": pitch, "voicing_loss": voicing}


def attention_losses(out: dict[str, torch.Tensor], token_lengths: torch.Tensor,
                     mel_lengths: torch.Tensor, reduction_factor: int,
                     stop_pos_weight: float) -> dict[str, torch.Tensor]:
    """Stop-token BCE (positive from the step holding the last frame on) and guided attention."""
    steps = out["stop_logits"].shape[1]
    last_step = (mel_lengths + reduction_factor - 1) // reduction_factor - 1
    positions = torch.arange(steps, device=mel_lengths.device).unsqueeze(0)
    stop_target = (positions >= last_step.unsqueeze(1)).float()
    stop = F.binary_cross_entropy_with_logits(
        out["stop_logits"], stop_target,
        pos_weight=torch.tensor(stop_pos_weight, device=mel_lengths.device))
    guided = guided_attention_loss(out["alignments"], token_lengths, last_step + 1)
    return {"stop_loss": stop, "guided_attention_loss": guided}
