"""Speaker embeddings of every utterance of a prepared folder, for multi-speaker acoustic training.

``embed_prepared(folder, encoder)`` writes ``folder/speaker_embeddings.npz``: ``ids`` (utterance
ids, str), ``vectors`` (``(N, D)`` float16 unit vectors) and ``encoder`` (a fingerprint of the
encoder's weights). ``data.dataset`` reads it back with ``read_embeddings``; the acoustic model
is trained on per-utterance embeddings (so that it sees the spread of one voice's embeddings,
as cloning does) and speaks a voice from the mean of its clips' embeddings.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from cloning.encoder import SpeakerEncoder
from data.dataset import EMBEDDINGS_FILE
from data.manifest import read_prepared
from tts.audio import load_audio
from tts.errors import AudioError, DataError

__all__ = ["embed_prepared", "encoder_fingerprint"]


def encoder_fingerprint(encoder: SpeakerEncoder) -> str:
    """Short hash of the encoder's weights: which encoder made a set of embeddings."""
    digest = hashlib.sha256()
    for name, tensor in sorted(encoder.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def embed_prepared(folder: str | Path, encoder: SpeakerEncoder, batch: int = 32,
                   progress=None) -> Path:
    """Embed every utterance of ``folder``'s ``manifest.jsonl`` (or train+val manifests) and
    write ``speaker_embeddings.npz``; returns its path. A clip the encoder cannot use (too short
    after trimming) gets the mean embedding of its speaker's other clips."""
    folder = Path(folder)
    utterances = read_prepared(folder)
    ids = list(utterances)
    vectors = np.zeros((len(ids), encoder.config.embedding_size), np.float32)
    failed: list[int] = []
    rate = encoder.audio.sample_rate
    with torch.inference_mode():
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            wavs, rows = [], []
            for row, uid in enumerate(chunk, start):
                try:
                    wavs.append(load_audio(utterances[uid].audio_path, rate, normalize=False))
                    rows.append(row)
                except AudioError:
                    failed.append(row)
            for row, wav in zip(rows, wavs, strict=True):
                try:
                    vectors[row] = encoder.embed_utterance(wav, rate)
                except AudioError:
                    failed.append(row)
            if progress is not None:
                progress(min(start + batch, len(ids)), len(ids))
    by_speaker: dict[str, list[int]] = {}
    for row, uid in enumerate(ids):
        if row not in failed:
            by_speaker.setdefault(utterances[uid].speaker, []).append(row)
    for row in failed:
        same = by_speaker.get(utterances[ids[row]].speaker)
        if not same:
            raise DataError(f"{folder}: no usable clip of speaker "
                            f"{utterances[ids[row]].speaker!r} to embed")
        mean = vectors[same].mean(0)
        vectors[row] = mean / max(np.linalg.norm(mean), 1e-8)
    path = folder / EMBEDDINGS_FILE
    np.savez(path, ids=np.array(ids), vectors=vectors.astype(np.float16),
             encoder=np.array(encoder_fingerprint(encoder)))
    return path
