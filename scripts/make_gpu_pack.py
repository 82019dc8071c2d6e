"""Build the compact data pack of the GPU recipe (docs/gpu.md): ``python scripts/make_gpu_pack.py``.

From prepared folders (``voxclone prepare`` + ``voxclone pitch`` + ``voxclone embed``; default: the
five corpora of the multi-speaker model) it writes one folder, ``gpu_pack/`` (ignored by git; the
device call carries it), that ``scripts/gpu_train.py`` turns back into ordinary prepared folders on
the GPU machine::

    gpu_pack/pack.json                     what is in it: settings, per-corpus counts, hours,
                                           speakers, bytes, the codec's measured mel error
    gpu_pack/CORPUS/prepare.json           the folder's own (audio config, symbols, recipe)
    gpu_pack/CORPUS/speakers.json          the folder's own less the held-out speakers
    gpu_pack/CORPUS/utterances.jsonl.gz    per packed utterance: its manifest row unchanged
                                           (phonemes included), split, tier, bitrate, samples
    gpu_pack/CORPUS/pitch.npz              the pitch.npz and speaker_embeddings.npz rows of the
    gpu_pack/CORPUS/speaker_embeddings.npz packed utterances (same format, values unchanged)
    gpu_pack/CORPUS/opus/ID.opus           the prepared wav, resampled to 24 kHz, Ogg Opus

**Size.** The pack is capped (``--max-mib``, default ``auto``: 40 MiB, or less where the device's
64 MiB transfer limit leaves less beside what travels with it: the git working tree, tracked
checkpoints included, and ``.whl/``; less a 1 MiB margin). Utterances are added until the next
would not fit, and the whole folder is measured at the end.

**Opus, two tiers** (measured on this data: mean |log-mel| error after the round trip
prepared wav -> 24 kHz Opus -> 22050 Hz, against the prepared mel). Below about 56 kbit/s the
encoder codes speech in its SILK/hybrid modes, which take about 0.1 neper (1 dB) off the 3-8 kHz
bands and give a log-mel error of 0.25 at 24 kbit/s -- close to the bundled vocoder's own copy-
synthesis error (0.27), so such audio would teach a vocoder the codec. From 56 kbit/s on it codes
in CELT: no bias, error 0.08 at 64 kbit/s. Hence:

* the *vocoder tier* (``--vocoder-minutes`` of speaker-balanced clips, the bundled voices'
  speakers first up to ``--vocoder-voice-minutes`` each, plus the validation clips) at 64
  kbit/s: the vocoder trains on it only;
* the *acoustic tier*, everything else, at 24 kbit/s (26 with the Ogg overhead): the acoustic
  model trains on both tiers; its targets lose about 1 dB above 3 kHz on these clips.

The bitrate is set through libsndfile's compression level, which it maps linearly from 256
kbit/s (level 0) to 6 kbit/s (level 1).

**Which utterances.** Only the prepared ``train.jsonl`` (and up to ``--val-per-corpus`` clips of
``val.jsonl`` per corpus), without the speakers training holds out: ``data.holdout``'s share
(``training.hold_out_fraction`` of ``--config``) and ``training.hold_out_speakers``, so that the
pack can never leak the evaluation speakers. The rest is speaker-balanced: water-filling by
seconds (the speaker with the least packed audio gets its next utterance, in a seeded random
order per speaker), except that the speakers of the bundled voices (``checkpoints/voices.json``)
first get up to ``--voice-minutes`` each, so that the voices the model ships with stay well
represented.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import heapq
import io
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MIB = 2**20
PACK_FORMAT = 1
OPUS_RATE = 24000
"""Opus codes 8, 12, 16, 24 or 48 kHz; 24 kHz keeps everything up to the 11 kHz of 22050 Hz."""
DEVICE_LIMIT_MIB = 64.0
"""What travels to the device machine, at most (its README)."""
DEFAULT_CAP_MIB = 40.0
DEFAULT_FOLDERS = ("prepared/kathleen-arctic", "prepared/commonvoice-en",
                   "prepared/librispeech-251", "prepared/speechocean762-adults",
                   "prepared/ljspeech-sample")
TIERS = ("vocoder", "acoustic")


def compression_level(kbps: float) -> float:
    """libsndfile's Opus compression level for a target bitrate (linear, 256 -> 6 kbit/s)."""
    return min(1.0, max(0.0, (256.0 - kbps) / 250.0))


def encode_opus(wav: np.ndarray, rate: int, kbps: float) -> bytes:
    """Mono float ``wav`` at ``rate`` -> Ogg Opus bytes at ``OPUS_RATE`` and about ``kbps``."""
    import soundfile as sf

    from tts.audio import resample

    audio = resample(np.asarray(wav, np.float32), rate, OPUS_RATE) if rate != OPUS_RATE else wav
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", OPUS_RATE, 1, format="OGG", subtype="OPUS",
                      compression_level=compression_level(kbps)) as f:
        f.write(np.clip(audio, -1.0, 1.0))
    return buffer.getvalue()


def decode_opus(data: bytes | str | Path, rate: int, samples: int) -> np.ndarray:
    """Ogg Opus (bytes or a path) -> mono float32 at ``rate``, exactly ``samples`` long (the
    resampler may leave a sample more or less; mels and pitch tracks need the original length)."""
    import soundfile as sf

    from tts.audio import resample

    source = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    wav, opus_rate = sf.read(source, dtype="float32", always_2d=False)
    if wav.ndim > 1:
        wav = wav.mean(axis=1)
    if opus_rate != rate:
        wav = resample(wav, opus_rate, rate)
    if len(wav) < samples:
        wav = np.pad(wav, (0, samples - len(wav)))
    return wav[:samples].astype(np.float32)


# -- what to pack ----------------------------------------------------------------------------
@dataclasses.dataclass
class Item:
    """One utterance that may be packed."""

    corpus: str
    row: dict[str, Any]
    split: str
    tier: str = "acoustic"

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def speaker(self) -> str:
        return self.row["speaker"]

    @property
    def seconds(self) -> float:
        return float(self.row.get("duration") or 0.0)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The JSON rows of a manifest, unchanged (so they are written back exactly)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def hold_out_settings(config: Path) -> tuple[float, list[str]]:
    """``training.hold_out_fraction`` and ``training.hold_out_speakers`` of an acoustic config."""
    import yaml

    training = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("training") or {}
    return float(training.get("hold_out_fraction", 0.0)), [
        str(s) for s in training.get("hold_out_speakers", ()) or ()]


def held_out(folder: Path, fraction: float, names: list[str]) -> set[str]:
    """The speakers of ``folder`` that training keeps out (``data.holdout`` and the names)."""
    from data.holdout import held_out_speakers

    return (held_out_speakers(folder, fraction) if fraction > 0 else set()) | set(names)


def voice_speakers(voices: Path | None) -> set[str]:
    """Speaker names of the bundled voices (``checkpoints/voices.json``)."""
    if voices is None or not voices.is_file():
        return set()
    table = json.loads(voices.read_text(encoding="utf-8"))
    return {v["speaker"] for v in table.get("voices", ()) if v.get("speaker")}


def order_items(train: list[Item], *, vocoder_seconds: float, voice_seconds: float,
                voices: set[str], vocoder_voice_seconds: float = 0.0,
                seed: int = 0) -> list[Item]:
    """Every train item, in the order they are packed, each with its tier.

    Water-filling by seconds: the speaker with the least audio so far gets its next utterance,
    except that a speaker in ``voices`` counts as short by its head start (it fills up to that
    first). First the vocoder tier, until ``vocoder_seconds`` are reached, with a head start of
    ``vocoder_voice_seconds``; then the acoustic tier with ``voice_seconds`` (the vocoder tier's
    seconds count towards it). Each speaker's utterances come in a seeded random order; ties
    between speakers are broken by a seeded random rank, not by name."""
    queues: dict[tuple[str, str], list[Item]] = {}
    for item in train:
        queues.setdefault((item.corpus, item.speaker), []).append(item)
    for key, items in queues.items():
        items.sort(key=lambda i: i.id)
        random.Random(f"{seed}/{key[0]}/{key[1]}").shuffle(items)
        items.reverse()  # pop() from the end
    rank = {key: random.Random(f"{seed}/rank/{key[0]}/{key[1]}").random() for key in queues}
    packed = dict.fromkeys(queues, 0.0)
    ordered: list[Item] = []

    def run(tier: str, floor: dict, limit: float | None) -> None:
        heap = [(packed[k] - floor.get(k, 0.0), rank[k], k) for k in queues if queues[k]]
        heapq.heapify(heap)
        done = 0.0
        while heap and (limit is None or done < limit):
            _, _, key = heapq.heappop(heap)
            item = queues[key].pop()
            item.tier = tier
            ordered.append(item)
            packed[key] += item.seconds
            done += item.seconds
            if queues[key]:
                heapq.heappush(heap, (packed[key] - floor.get(key, 0.0), rank[key], key))

    run("vocoder", {k: vocoder_voice_seconds for k in queues if k[1] in voices}, vocoder_seconds)
    run("acoustic", {k: voice_seconds for k in queues if k[1] in voices}, None)
    return ordered


def pick_val(corpus: str, rows: list[dict], train: list[Item], count: int,
             seed: int) -> list[Item]:
    """Up to ``count`` validation clips of ``corpus`` (vocoder tier). A corpus without any left
    (all its val speakers held out) lends one train clip, of its speaker with most clips: the
    vocoder's data module needs a clip in every folder's val.jsonl."""
    rows = sorted(rows, key=lambda r: r["id"])
    random.Random(f"{seed}/val/{corpus}").shuffle(rows)
    picked = [Item(corpus, r, "val", "vocoder") for r in rows[:count]]
    if not picked and train and count > 0:
        counts: dict[str, int] = {}
        for item in train:
            counts[item.speaker] = counts.get(item.speaker, 0) + 1
        speaker = max(sorted(counts), key=lambda s: counts[s])
        lent = min((i for i in train if i.speaker == speaker), key=lambda i: i.id)
        train.remove(lent)
        picked = [Item(corpus, lent.row, "val", "vocoder")]
    return picked


# -- size ------------------------------------------------------------------------------------
def travelling_bytes(repo: Path = ROOT) -> int | None:
    """Bytes of what a device call sends besides the carried folders: tracked files and untracked
    ones git does not ignore (and ``shared/``). None when ``repo`` is no git checkout."""
    try:
        listing = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "-co",
                                  "--exclude-standard"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    total = 0
    for name in listing.decode("utf-8", "replace").split("\0"):
        path = repo / name
        if name and path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    shared = repo / "shared"
    if shared.is_dir():
        total += folder_bytes(shared)
    return total


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def auto_cap(margin_mib: float, repo: Path = ROOT) -> tuple[int, dict[str, float]]:
    """The pack's cap: 40 MiB, or what the device's 64 MiB leave beside the working tree and
    ``.whl/`` (less ``margin_mib``). Returns the cap in bytes and how it was reached (MiB)."""
    tree = travelling_bytes(repo)
    wheels = folder_bytes(repo / ".whl") if (repo / ".whl").is_dir() else 0
    parts = {"default_mib": DEFAULT_CAP_MIB, "device_limit_mib": DEVICE_LIMIT_MIB,
             "tree_mib": round((tree or 0) / MIB, 2), "wheels_mib": round(wheels / MIB, 2),
             "margin_mib": margin_mib}
    if tree is None:
        return int(DEFAULT_CAP_MIB * MIB), parts
    room = DEVICE_LIMIT_MIB * MIB - tree - wheels - margin_mib * MIB
    return int(min(DEFAULT_CAP_MIB * MIB, room)), parts


# -- encoding --------------------------------------------------------------------------------
def _encode(task: tuple[str, str, float]) -> tuple[bytes, int]:
    import soundfile as sf

    wav_path, _, kbps = task
    wav, rate = sf.read(wav_path, dtype="float32", always_2d=False)
    if wav.ndim > 1:
        wav = wav.mean(axis=1)
    return encode_opus(wav, rate, kbps), len(wav)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _encoded(items: list[Item], folders: dict[str, Path], kbps: dict[str, float],
             workers: int):
    """Yield ``(item, opus bytes, samples)`` in the order of ``items``."""
    tasks = [(str(folders[i.corpus] / i.row["audio_path"]), i.id, kbps[i.tier]) for i in items]
    if workers <= 1:
        for item, task in zip(items, tasks, strict=True):
            yield (item, *_encode(task))
        return
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        for item, result in zip(items, pool.imap(_encode, tasks, chunksize=4), strict=False):
            yield (item, *result)


def mel_error(folder: Path, row: dict, data: bytes, samples: int) -> float:
    """Mean |log-mel| difference between the prepared mel and the mel of the decoded Opus."""
    from tts.audio import mel_spectrogram
    from tts.config import AudioConfig, from_dict

    info = json.loads((folder / "prepare.json").read_text(encoding="utf-8"))
    audio = from_dict(AudioConfig, info["audio"])
    decoded = decode_opus(data, audio.sample_rate, samples)
    reference = np.load(folder / row["mel_path"]).astype(np.float32)
    mel = mel_spectrogram(decoded, audio)
    frames = min(mel.shape[1], reference.shape[1])
    return float(np.abs(mel[:, :frames] - reference[:, :frames]).mean())


# -- writing ---------------------------------------------------------------------------------
def write_metadata(out: Path, corpus: str, folder: Path, packed: list[tuple[Item, int]],
                   kbps: dict[str, float], left_out: set[str]) -> None:
    """Everything of one corpus but the audio: prepare.json, speakers.json without the held-out
    speakers (``left_out``; the pack holds none of their clips, so training could no longer
    tell them apart and would give them rows of the speaker table), manifest rows, and the
    pitch and embedding rows."""
    target = out / corpus
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "prepare.json", target / "prepare.json")
    speakers = json.loads((folder / "speakers.json").read_text(encoding="utf-8"))
    (target / "speakers.json").write_text(
        json.dumps([s for s in speakers if s not in left_out], ensure_ascii=False) + "\n",
        encoding="utf-8")
    lines = [json.dumps({"utterance": item.row, "split": item.split, "tier": item.tier,
                         "kbps": kbps[item.tier], "samples": samples}, ensure_ascii=False)
             for item, samples in packed]
    with gzip.open(target / "utterances.jsonl.gz", "wt", encoding="utf-8", compresslevel=9) as f:
        f.write("\n".join(lines) + "\n")
    ids = [item.id for item, _ in packed]
    with np.load(folder / "pitch.npz") as stored:
        offsets, values = stored["offsets"], stored["values"]
        index = {str(uid): i for i, uid in enumerate(stored["ids"])}
    missing = [uid for uid in ids if uid not in index]
    if missing:
        raise SystemExit(f"make_gpu_pack: {folder}/pitch.npz has no track for {missing[0]} "
                         "(run 'voxclone pitch' again)")
    tracks = [values[offsets[index[uid]]:offsets[index[uid] + 1]] for uid in ids]
    new_offsets = np.concatenate([[0], np.cumsum([len(t) for t in tracks])]).astype(offsets.dtype)
    np.savez_compressed(target / "pitch.npz", ids=np.array(ids), offsets=new_offsets,
                        values=np.concatenate(tracks).astype(values.dtype))
    with np.load(folder / "speaker_embeddings.npz", allow_pickle=False) as stored:
        extra = {k: stored[k] for k in stored.files if k not in ("ids", "vectors")}
        index = {str(uid): i for i, uid in enumerate(stored["ids"])}
        missing = [uid for uid in ids if uid not in index]
        if missing:
            raise SystemExit(f"make_gpu_pack: {folder}/speaker_embeddings.npz has no row for "
                             f"{missing[0]} (run 'voxclone embed' again)")
        vectors = stored["vectors"][[index[uid] for uid in ids]]
    np.savez_compressed(target / "speaker_embeddings.npz", ids=np.array(ids), vectors=vectors,
                        **extra)


def build(folders: list[Path], out: Path, *, cap: int, config: Path, voices: Path | None,
          kbps: float = 24.0, vocoder_kbps: float = 64.0, vocoder_minutes: float = 12.0,
          voice_minutes: float = 8.0, vocoder_voice_minutes: float = 1.0,
          val_per_corpus: int = 2, seed: int = 0,
          workers: int = 1, quality_clips: int = 8, log=print) -> dict[str, Any]:
    """Write the pack to ``out`` (replacing it; built beside it and swapped in at the end) and
    return its ``pack.json``."""
    started = time.time()
    fraction, names = hold_out_settings(config)
    rates = {"acoustic": kbps, "vocoder": vocoder_kbps}
    by_name: dict[str, Path] = {}
    train: list[Item] = []
    val: list[Item] = []
    left_out: dict[str, list[str]] = {}
    candidates: dict[str, set[str]] = {}
    for folder in folders:
        for needed in ("prepare.json", "speakers.json", "train.jsonl", "pitch.npz",
                       "speaker_embeddings.npz"):
            if not (folder / needed).is_file():
                raise SystemExit(f"make_gpu_pack: {folder} lacks {needed} (a prepared folder "
                                 "with 'voxclone pitch' and 'voxclone embed' run on it)")
        corpus = folder.name
        if corpus in by_name:
            raise SystemExit(f"make_gpu_pack: two folders named {corpus}")
        by_name[corpus] = folder
        skip = held_out(folder, fraction, names)
        rows = read_rows(folder / "train.jsonl")
        listed = json.loads((folder / "speakers.json").read_text(encoding="utf-8"))
        left_out[corpus] = sorted(set(listed) & skip)
        items = [Item(corpus, r, "train") for r in rows if r["speaker"] not in skip]
        val_rows = [r for r in read_rows(folder / "val.jsonl") if r["speaker"] not in skip]
        candidates[corpus] = {i.speaker for i in items} | {r["speaker"] for r in val_rows}
        val += pick_val(corpus, val_rows, items, val_per_corpus, seed)
        train += items
    ordered = val + order_items(train, vocoder_seconds=vocoder_minutes * 60,
                                voice_seconds=voice_minutes * 60,
                                vocoder_voice_seconds=vocoder_voice_minutes * 60,
                                voices=voice_speakers(voices), seed=seed)
    log(f"make_gpu_pack: {len(ordered)} candidate utterances "
        f"({sum(i.seconds for i in ordered) / 3600:.2f} h) in {len(by_name)} folders; "
        f"cap {cap / MIB:.2f} MiB")

    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp).mkdir(parents=True)
    # Metadata per utterance, estimated while encoding (measured exactly at the end): a
    # compressed manifest row (about 150 bytes), an fp16 embedding (350) and a compressed pitch
    # track (0.4 bytes a frame).
    def estimate(item: Item) -> int:
        return 550 + int(0.5 * (item.row.get("num_frames") or item.seconds * 86))

    packed: list[tuple[Item, int, int]] = []  # item, samples, opus bytes
    used = 4096
    quality: dict[str, list[float]] = {t: [] for t in TIERS}
    essential = len(val) + sum(1 for i in ordered if i.tier == "vocoder" and i.split == "train")
    try:
        for n, (item, data, samples) in enumerate(_encoded(ordered, by_name, rates, workers)):
            cost = len(data) + estimate(item)
            if used + cost > cap:
                if n < essential:
                    raise SystemExit(
                        f"make_gpu_pack: the cap ({cap / MIB:.2f} MiB) does not even hold the "
                        f"validation and vocoder clips; lower --vocoder-minutes or raise --max-mib")
                break
            opus = tmp / item.corpus / "opus" / f"{item.id}.opus"
            opus.parent.mkdir(parents=True, exist_ok=True)
            opus.write_bytes(data)
            if len(quality[item.tier]) < quality_clips and n % 7 == 0:
                quality[item.tier].append(mel_error(by_name[item.corpus], item.row, data, samples))
            packed.append((item, samples, len(data)))
            used += cost
            if len(packed) % 200 == 0:
                log(f"  {len(packed)} packed, {used / MIB:.1f} MiB")
        while True:  # metadata, then the exact size; drop acoustic clips from the end if over
            for corpus in by_name:
                rows = [(i, s) for i, s, _ in packed if i.corpus == corpus]
                if rows:
                    write_metadata(tmp, corpus, by_name[corpus], rows, rates,
                                   set(left_out[corpus]))
                elif (tmp / corpus).exists():
                    shutil.rmtree(tmp / corpus)
            summary = _summary(packed, by_name, candidates, left_out, cap, rates, fraction, names,
                               vocoder_minutes, voice_minutes, vocoder_voice_minutes, seed,
                               quality, started)
            for _ in range(3):  # pack.json holds the folder's size, itself included
                (tmp / "pack.json").write_text(json.dumps(summary, indent=1) + "\n",
                                               encoding="utf-8")
                size = folder_bytes(tmp)
                if summary["bytes"] == size:
                    break
                summary["bytes"] = size
            if size <= cap:
                break
            item, _, _ = packed.pop()
            if item.tier != "acoustic" or not packed:
                raise SystemExit("make_gpu_pack: the cap is too small for the essential clips")
            (tmp / item.corpus / "opus" / f"{item.id}.opus").unlink()
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return summary


def _summary(packed, by_name, candidates, left_out, cap, rates, fraction, names,
             vocoder_minutes, voice_minutes, vocoder_voice_minutes, seed, quality,
             started) -> dict[str, Any]:
    corpora = {}
    for corpus in by_name:
        items = [(i, b) for i, _, b in packed if i.corpus == corpus]
        corpora[corpus] = {
            "utterances": len(items),
            "train": sum(1 for i, _ in items if i.split == "train"),
            "val": sum(1 for i, _ in items if i.split == "val"),
            "vocoder_train": sum(1 for i, _ in items if i.tier == "vocoder" and i.split == "train"),
            "hours": round(sum(i.seconds for i, _ in items) / 3600, 4),
            "speakers": len({i.speaker for i, _ in items}),
            "speakers_available": len(candidates[corpus]),
            "held_out_speakers_left_out": len(left_out[corpus]),
            "opus_bytes": sum(b for _, b in items),
        }
    seconds = {t: sum(i.seconds for i, _, _ in packed if i.tier == t) for t in TIERS}
    opus = {t: sum(b for i, _, b in packed if i.tier == t) for t in TIERS}
    return {
        "format": PACK_FORMAT,
        "made_by": "scripts/make_gpu_pack.py",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "seconds_to_build": round(time.time() - started, 1),
        "sources": {c: str(p) for c, p in by_name.items()},
        "opus": {"sample_rate": OPUS_RATE, "kbps": rates,
                 "compression_level": {t: round(compression_level(k), 4)
                                       for t, k in rates.items()},
                 "measured_kbps": {t: round(opus[t] * 8 / seconds[t] / 1000, 1)
                                   for t in TIERS if seconds[t]},
                 "mel_l1_vs_prepared": {t: round(float(np.mean(v)), 4)
                                        for t, v in quality.items() if v},
                 "mel_l1_clips": {t: len(v) for t, v in quality.items()}},
        "selection": {"seed": seed, "vocoder_minutes": vocoder_minutes,
                      "voice_minutes": voice_minutes,
                      "vocoder_voice_minutes": vocoder_voice_minutes,
                      "hold_out_fraction": fraction,
                      "hold_out_speakers": names},
        "corpora": corpora,
        "utterances": len(packed),
        "hours": round(sum(seconds.values()) / 3600, 4),
        "hours_by_tier": {t: round(s / 3600, 4) for t, s in seconds.items()},
        "speakers": sum(c["speakers"] for c in corpora.values()),
        "speakers_available": sum(c["speakers_available"] for c in corpora.values()),
        "cap_bytes": cap,
        "bytes": None,
    }


def check(pack: Path, repo: Path = ROOT) -> int:
    """Print what a device call would send (tree, wheels, pack) against its 64 MiB limit."""
    tree = travelling_bytes(repo) or 0
    wheels = folder_bytes(repo / ".whl") if (repo / ".whl").is_dir() else 0
    size = folder_bytes(pack) if pack.is_dir() else 0
    total = tree + wheels + size
    fits = total <= DEVICE_LIMIT_MIB * MIB
    print(f"working tree {tree / MIB:.2f} MiB + .whl {wheels / MIB:.2f} MiB + {pack} "
          f"{size / MIB:.2f} MiB = {total / MIB:.2f} MiB of {DEVICE_LIMIT_MIB:g} MiB: "
          + ("fits" if fits else "TOO BIG: rebuild the pack (--max-mib auto)"))
    return 0 if fits else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", default=list(DEFAULT_FOLDERS),
                        help="prepared folders (default: the five corpora of multispeaker.pt)")
    parser.add_argument("--out", default="gpu_pack", help="pack folder (default: gpu_pack)")
    parser.add_argument("--max-mib", default="auto",
                        help="size cap in MiB, or 'auto' (default): 40 MiB or what the device's "
                             "64 MiB leave beside the working tree and .whl/")
    parser.add_argument("--margin-mib", type=float, default=1.0,
                        help="kept free under the device limit by --max-mib auto (default 1)")
    parser.add_argument("--config", default="configs/acoustic/gpu.yaml",
                        help="acoustic config whose hold-out settings apply")
    parser.add_argument("--voices", default="checkpoints/voices.json",
                        help="bundled voices whose speakers get --voice-minutes first")
    parser.add_argument("--kbps", type=float, default=24.0,
                        help="Opus bitrate of the acoustic tier (default 24)")
    parser.add_argument("--vocoder-kbps", type=float, default=64.0,
                        help="Opus bitrate of the vocoder tier and validation clips (default 64)")
    parser.add_argument("--vocoder-minutes", type=float, default=12.0,
                        help="minutes of speaker-balanced vocoder-tier clips (default 12)")
    parser.add_argument("--voice-minutes", type=float, default=8.0,
                        help="minutes each bundled voice's speaker gets first (default 8)")
    parser.add_argument("--vocoder-voice-minutes", type=float, default=1.0,
                        help="the same head start within the vocoder tier (default 1)")
    parser.add_argument("--val-per-corpus", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="encoder processes")
    parser.add_argument("--check", action="store_true",
                        help="build nothing: say whether the working tree, .whl/ and the pack "
                             "at --out fit the device's 64 MiB now (exit 1 if not)")
    args = parser.parse_args(argv)
    if args.check:
        return check(Path(args.out))

    if args.max_mib == "auto":
        cap, parts = auto_cap(args.margin_mib)
        print(f"make_gpu_pack: cap {cap / MIB:.2f} MiB = min({DEFAULT_CAP_MIB:g}, "
              f"{DEVICE_LIMIT_MIB:g} - tree {parts['tree_mib']} - .whl {parts['wheels_mib']} - "
              f"margin {args.margin_mib:g})", file=sys.stderr)
    else:
        try:
            cap = int(float(args.max_mib) * MIB)
        except ValueError:
            parser.error(f"--max-mib: a number or 'auto', got {args.max_mib!r}")
    if cap <= 0:
        print("make_gpu_pack: no room left for a pack under the device limit", file=sys.stderr)
        return 2
    voices = Path(args.voices) if args.voices else None
    summary = build([Path(f) for f in args.folders], Path(args.out), cap=cap,
                    config=Path(args.config), voices=voices, kbps=args.kbps,
                    vocoder_kbps=args.vocoder_kbps, vocoder_minutes=args.vocoder_minutes,
                    voice_minutes=args.voice_minutes,
                    vocoder_voice_minutes=args.vocoder_voice_minutes,
                    val_per_corpus=args.val_per_corpus,
                    seed=args.seed, workers=args.workers,
                    log=lambda m: print(m, file=sys.stderr, flush=True))
    tiers = summary["hours_by_tier"]
    print(f"wrote {args.out}: {summary['bytes'] / MIB:.2f} MiB (cap {cap / MIB:.2f} MiB), "
          f"{summary['utterances']} utterances, {summary['hours']:.2f} h "
          f"(vocoder tier {tiers['vocoder']:.2f} h at {args.vocoder_kbps:g} kbit/s, acoustic "
          f"tier {tiers['acoustic']:.2f} h at {args.kbps:g} kbit/s), {summary['speakers']} of "
          f"{summary['speakers_available']} speakers")
    for corpus, c in summary["corpora"].items():
        print(f"  {corpus}: {c['utterances']} utt ({c['train']} train, {c['val']} val, "
              f"{c['vocoder_train']} vocoder), {c['hours']:.2f} h, {c['speakers']}/"
              f"{c['speakers_available']} speakers, {c['held_out_speakers_left_out']} held-out "
              "speakers left out")
    mel = summary["opus"]["mel_l1_vs_prepared"]
    if mel:
        print("  codec log-mel error vs the prepared mels: " + ", ".join(
            f"{t} {v:.3f}" for t, v in mel.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
