"""Ground-truth-aligned (GTA) mels: what the acoustic model predicts for each training clip when
it is given the clip's own alignment, so that a vocoder can be fine-tuned on the acoustic model's
mels instead of real ones (``voxclone train vocoder --mel-dir``), the usual cure for the
mismatch between predicted and real mels (buzz, muffled harmonics).

``write_gta_mels(acoustic, data, out)`` writes ``out/ID.npy`` ``(n_mels, frames)`` float32 for
every utterance of ``data``'s train and val manifests, frame for frame with the real mel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from data.dataset import TTSDataset
from tts.acoustic import load_acoustic
from tts.errors import ConfigError

__all__ = ["write_gta_mels"]


def write_gta_mels(acoustic_path: str | Path, data: str | Path, out: str | Path,
                   batch_size: int = 16, progress=None) -> int:
    """Teacher-forced mels of ``acoustic_path`` for prepared folder ``data`` into ``out``;
    returns how many were written. The data's speakers must be training speakers of the model
    (a model conditioned on speaker embeddings needs ``voxclone embed`` run on ``data``, one
    with pitch ``voxclone pitch``)."""
    acoustic = load_acoustic(acoustic_path)
    model = acoustic.model.eval()
    if not model.decoder.has_aligner:
        raise ConfigError("ground-truth-aligned mels need the duration decoder (its frames "
                          "follow the real mel one for one)")
    data, out = Path(data), Path(out)
    dataset = TTSDataset([data / "train.jsonl", data / "val.jsonl"], acoustic.symbols,
                         speakers=acoustic.speakers or None,
                         embeddings=model.config.speaker_embedding_dim > 0,
                         pitch=model.config.pitch)
    if dataset.audio != acoustic.audio:
        raise ConfigError(f"{data} was prepared with another audio config than the model's")
    out.mkdir(parents=True, exist_ok=True)
    order = np.argsort(dataset.mel_lengths)
    written = 0
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            items = [dataset[int(i)] for i in order[start:start + batch_size]]
            batch = dataset.collate(items)
            result = model(batch.tokens, batch.token_lengths, batch.mels, batch.mel_lengths,
                           speakers=batch.speakers, speaker_embeddings=batch.speaker_embeddings,
                           pitch=batch.pitch)
            mels = result["mel_postnet"]
            for row, uid in enumerate(batch.ids):
                frames = int(batch.mel_lengths[row])
                np.save(out / f"{uid}.npy", mels[row, :, :frames].numpy().astype(np.float32))
                written += 1
            if progress is not None:
                progress(written, len(order))
    return written
