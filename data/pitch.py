"""Frame pitch of every utterance of a prepared folder: the acoustic model's pitch targets.

``pitch_prepared(folder)`` (``voxclone pitch DATA``) tracks F0 on the saved wavs with
``tts.prosody.frame_pitch``, one value per mel frame, and writes ``folder/pitch.npz``:

- ``ids``: utterance ids (str), ``offsets (N + 1,)`` int64: utterance ``i`` owns
  ``values[offsets[i]:offsets[i + 1]]``;
- ``values``: F0 in Hz as float16 (0 = unvoiced), ``num_frames`` per utterance.

``PreparedFolder(folder).pitch`` (``data.prepared``) gives them back as ``{id: (frames,)
float32}``; ``data.dataset`` uses it for models with ``model.pitch``.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from data.prepared import PITCH_FILE, PreparedFolder
from tts.config import AudioConfig
from tts.errors import DataError

__all__ = ["PITCH_FILE", "pitch_prepared", "read_pitch"]


def _track(args: tuple[str, int, AudioConfig]) -> np.ndarray:
    """F0 per mel frame of one saved wav; ``args = (path, num_frames, audio config)``."""
    import soundfile as sf

    from tts.prosody import frame_pitch

    path, frames, audio = args
    wav, _ = sf.read(path, dtype="float32", always_2d=True)
    f0 = frame_pitch(wav.mean(axis=1), audio)[:frames]
    return np.pad(f0, (0, frames - len(f0)))


def pitch_prepared(folder: str | Path, workers: int = 1, progress=None) -> Path:
    """Track the pitch of every utterance of prepared ``folder`` (``PreparedFolder.utterances``)
    and write ``folder/pitch.npz``; returns its path. ``workers`` processes share the work."""
    folder = Path(folder)
    prepared = PreparedFolder(folder)
    audio = prepared.audio
    utterances = prepared.utterances()
    for utt in utterances.values():
        if utt.num_frames is None:
            raise DataError(f"{folder}: {utt.id} has no mel (not prepared)")
    ids = list(utterances)
    jobs = [(str(utterances[uid].audio_path), int(utterances[uid].num_frames), audio)
            for uid in ids]
    tracks: list[np.ndarray] = []
    try:
        with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
            for track in (pool.map(_track, jobs, chunksize=8) if pool else map(_track, jobs)):
                tracks.append(track)
                if progress is not None:
                    progress(len(tracks), len(jobs))
    except (OSError, RuntimeError) as exc:
        raise DataError(f"{folder}: cannot track pitch ({exc})") from None
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in tracks])]).astype(np.int64)
    values = np.concatenate(tracks) if tracks else np.zeros(0, np.float32)
    path = folder / PITCH_FILE
    np.savez(path, ids=np.array(ids), offsets=offsets, values=values.astype(np.float16))
    return path


def read_pitch(folder: str | Path) -> dict[str, np.ndarray]:
    """``PreparedFolder(folder).pitch``: utterance id -> F0 per mel frame ``(frames,)`` float32
    Hz (kept for callers outside ``data``; new code reads through ``PreparedFolder``)."""
    return PreparedFolder(folder).pitch
