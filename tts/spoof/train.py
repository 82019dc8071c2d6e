"""Train the synthetic-speech detector on a corpus from ``scripts/make_spoof_corpus.py``::

    nice -n 15 env OMP_NUM_THREADS=1 python -m tts.spoof.train configs/spoof/default.yaml \\
        spoof_corpus runs/spoof [--resume]

A plain loop (the model is small and the run short). Training clips are the corpus's ``train``
split minus the held-out generators; each is cached as log-filterbank features as recorded and
after each channel condition (``tts.spoof.conditions``). A batch is half real, half synthetic
(generators drawn evenly), random crops of one length per batch in ``[min_frames, max_frames]``,
each crop as recorded with probability ``clean_share`` and otherwise through one of the config's
``conditions`` (evaluation's MP3 32k, 8 kHz and noise, and the training-only ones; those in
``real_only_conditions`` are drawn for real crops only). The cached
features are kept in ``CORPUS/cache/`` for the next run on the same clips and conditions
(delete the folder after changing a condition's code).

Every ``val_every`` steps the ``val`` split (real clips and the seen generators, each condition)
is scored as ``score_file`` would (judged windows, mean logit) and ``OUT/last.pt`` is written
(weights, optimizer, step: ``--resume`` goes on from it). At the end the weights with the
lowest validation EER are saved as fp16 ``OUT/detector.pt`` and calibrated on the same split
(``OUT/detector.json``, threshold for ``target_fpr`` false positives).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from tts.config import load_yaml, to_dict
from tts.errors import DataError, run_reporting
from tts.spoof import calibration, conditions
from tts.spoof.config import SpoofConfig
from tts.spoof.corpus import Clip, noise_seed, read_clips
from tts.spoof.detector import Detector, calibration_path, load_detector, save_detector
from tts.spoof.features import LogFilterbank, normalize
from tts.spoof.model import SpoofDetector, parameter_count


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _read(folder: Path, clip: Clip) -> np.ndarray:
    wav, _ = sf.read(str(folder / clip.path), dtype="float32")
    return wav


def cache_key(clips: list[Clip], front_end: LogFilterbank, names: Sequence[str]) -> str:
    """What a feature cache depends on (clips, conditions, front end), as a short hex digest."""
    text = json.dumps({"clips": [c.id for c in clips], "conditions": list(names),
                       "features": dataclasses.asdict(front_end.config)}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@torch.no_grad()
def cache_features(folder: Path, clips: list[Clip], front_end: LogFilterbank,
                   degraded: Sequence[str] = ("mp3", "8k", "noise"),
                   store_dir: Path | None = None) -> list[list[torch.Tensor]]:
    """Per clip, log-filterbank features ``(n_bands, frames)`` fp16 as recorded and after each
    of ``degraded`` (in that order): views into one tensor allocated up front (thousands of
    small tensors made between the codecs' temporaries grew the process ten times their size).
    With ``store_dir`` the tensor is also kept there (``features-KEY.pt``, ``cache_key``) and
    read back by a later run on the same clips, conditions and front end."""
    hop = front_end.config.hop_length
    frames = [1 + sf.info(str(folder / clip.path)).frames // hop for clip in clips]
    starts = np.concatenate([[0], np.cumsum(frames)])
    names = ("clean", *degraded)
    kept = store_dir / f"features-{cache_key(clips, front_end, names)}.pt" if store_dir else None
    if kept is not None and kept.is_file():
        store = torch.load(kept, map_location="cpu", weights_only=True)
        _note(f"  features read from {kept}")
    else:
        store = torch.empty((len(names), front_end.config.n_bands, int(starts[-1])),
                            dtype=torch.float16)
        for i, clip in enumerate(clips):
            wav = _read(folder, clip)
            variants = [conditions.apply(wav, c, noise_seed(clip)) for c in names]
            store[:, :, starts[i]:starts[i + 1]] = front_end(torch.from_numpy(np.stack(variants)))
            if (i + 1) % 500 == 0:
                _note(f"  cached {i + 1}/{len(clips)} clips")
        if kept is not None:
            kept.parent.mkdir(parents=True, exist_ok=True)
            tmp = kept.with_name(f".{kept.name}.partial")
            torch.save(store, tmp)
            tmp.replace(kept)
    return [[store[v, :, starts[i]:starts[i + 1]] for v in range(len(names))]
            for i in range(len(clips))]


def validation_windows(folder: Path, clips: list[Clip], detector: Detector
                       ) -> tuple[list[np.ndarray], list[tuple[int, str]]]:
    """The judged windows of every clip under every condition, and for each window its owner
    ``(clip index, condition)``; clips without a judged window are left out."""
    from tts.spoof.score import judged_windows

    windows, owners = [], []
    for i, clip in enumerate(clips):
        wav = _read(folder, clip)
        for condition in conditions.CONDITIONS:
            x = conditions.apply(wav, condition, noise_seed(clip))
            for _, w in judged_windows([x], detector):
                if w is not None:
                    windows.append(w)
                    owners.append((i, condition))
    return windows, owners


def file_logits(detector: Detector, windows: list[np.ndarray],
                owners: list[tuple[int, str]]) -> dict[tuple[int, str], float]:
    """Mean window logit per ``(clip index, condition)``."""
    values = detector.window_logits(windows)
    sums: dict[tuple[int, str], list[float]] = {}
    for owner, v in zip(owners, values, strict=True):
        sums.setdefault(owner, []).append(float(v))
    return {k: float(np.mean(v)) for k, v in sums.items()}


def validation_eer(scores: dict[tuple[int, str], float], clips: list[Clip]) -> dict[str, float]:
    """EER per condition and pooled (``"all"``)."""
    out = {}
    for condition in (*conditions.CONDITIONS, "all"):
        keys = [k for k in scores if condition in ("all", k[1])]
        out[condition] = calibration.equal_error_rate(
            np.array([scores[k] for k in keys]), np.array([clips[k[0]].is_fake for k in keys]))
    return out


def train(config_path: str, corpus: str, out: str, resume: bool = False,
          steps: int | None = None, seed: int | None = None) -> Path:
    """Train, select, save and calibrate; returns the path of ``OUT/detector.pt``."""
    config = load_yaml(SpoofConfig, config_path)
    if seed is not None:
        config = dataclasses.replace(
            config, training=dataclasses.replace(config.training, seed=seed))
    tc = config.training
    folder, out_dir = Path(corpus), Path(out)
    clips = read_clips(folder)
    held = set(tc.held_out_generators)
    train_clips = [c for c in clips if c.split == "train" and c.generator not in held]
    val_clips = [c for c in clips if c.split == "val" and c.generator not in held]
    if not any(c.is_fake for c in train_clips) or all(c.is_fake for c in train_clips):
        raise DataError(f"{corpus}: the train split needs real and synthetic clips")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.yaml").write_text(json.dumps(to_dict(config), indent=1) + "\n")
    torch.manual_seed(tc.seed)
    front_end = LogFilterbank(config.features)
    model = SpoofDetector(config.model, config.features.n_bands)
    detector = Detector(model, front_end, config.scoring)
    _note(f"detector: {parameter_count(model):,} parameters; {len(train_clips)} training clips, "
          f"{len(val_clips)} validation clips")
    optimizer = torch.optim.AdamW(model.parameters(), lr=tc.learning_rate,
                                  weight_decay=tc.weight_decay)
    total = steps or tc.steps
    warmup = max(1, total // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return tc.learning_rate * (step + 1) / warmup
        return tc.learning_rate * 0.5 * (1 + math.cos(math.pi * (step - warmup) /
                                                      max(1, total - warmup)))

    start, best, log = 0, (float("inf"), None), []
    last = out_dir / "last.pt"
    if resume and last.is_file():
        state = torch.load(last, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, log = int(state["step"]), json.loads(state["log"])
        best = (float(state["best_eer"]), state["best_model"])
        _note(f"resumed at step {start}")
    t0 = time.time()
    _note("caching training features ...")
    cache = cache_features(folder, train_clips, front_end, tc.conditions, folder / "cache")
    val_windows, owners = validation_windows(folder, val_clips, detector)
    _note(f"cached in {time.time() - t0:.0f} s ({len(val_windows)} validation windows)")

    reals = [i for i, c in enumerate(train_clips) if not c.is_fake]
    by_generator: dict[str, list[int]] = {}
    for i, c in enumerate(train_clips):
        if c.is_fake:
            by_generator.setdefault(c.generator, []).append(i)
    generators = sorted(by_generator)
    unknown = set(tc.real_only_conditions) - set(tc.conditions)
    if unknown:
        raise DataError(f"real_only_conditions not among conditions: {sorted(unknown)}")
    all_variants = list(range(1, len(tc.conditions) + 1))
    fake_variants = [v for v, c in zip(all_variants, tc.conditions, strict=True)
                     if c not in tc.real_only_conditions]
    rng = np.random.default_rng(tc.seed + start)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    half = tc.batch_size // 2
    running = []
    for step in range(start, total):
        model.train()
        chosen = list(rng.choice(reals, half))
        chosen += [int(rng.choice(by_generator[generators[int(g)]]))
                   for g in rng.integers(0, len(generators), tc.batch_size - half)]
        if tc.real_only_conditions:
            variants = [0 if rng.random() < tc.clean_share else
                        int(rng.choice(fake_variants if train_clips[i].is_fake else all_variants))
                        for i in chosen]
        else:  # the draws of the runs before real_only_conditions existed
            variants = [0 if rng.random() < tc.clean_share else
                        int(rng.integers(1, len(tc.conditions) + 1)) for _ in chosen]
        feats = [cache[i][v] for i, v in zip(chosen, variants, strict=True)]
        frames = min(int(rng.integers(tc.min_frames, tc.max_frames + 1)),
                     min(f.shape[-1] for f in feats))
        crops = []
        for f in feats:
            s = int(rng.integers(0, f.shape[-1] - frames + 1))
            crops.append(f[:, s:s + frames].float())
        x = normalize(torch.stack(crops))
        y = torch.tensor([train_clips[i].is_fake for i in chosen], dtype=torch.float32)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running.append(loss.item())
        if (step + 1) % tc.val_every == 0 or step + 1 == total:
            eer = validation_eer(file_logits(detector, val_windows, owners), val_clips)
            entry = {"step": step + 1, "loss": float(np.mean(running)),
                     **{f"val_eer_{k}": round(v, 4) for k, v in eer.items()},
                     "seconds": round(time.time() - t0)}
            running = []
            log.append(entry)
            _note(json.dumps(entry))
            if eer["all"] <= best[0]:
                best = (eer["all"], {k: v.clone() for k, v in model.state_dict().items()})
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "step": step + 1, "log": json.dumps(log), "best_eer": best[0],
                        "best_model": best[1]}, last)
    model.load_state_dict(best[1])
    metadata = {"config": to_dict(config), "corpus": str(folder), "log": log,
                "train_clips": len(train_clips), "parameters": parameter_count(model)}
    path = save_detector(out_dir / "detector.pt", model, config.features, config.scoring,
                         metadata=metadata, half=True)
    calibrate(path, folder, val_clips, tc.target_fpr)
    return path


def calibrate(path: Path, folder: Path, val_clips: list[Clip], target_fpr: float) -> Path:
    """Fit the calibration of the (fp16) checkpoint at ``path`` on ``val_clips`` under every
    condition and write it beside the checkpoint."""
    detector = load_detector(path, calibrated=False)
    windows, owners = validation_windows(folder, val_clips, detector)
    scores = file_logits(detector, windows, owners)
    keys = sorted(scores)
    labels = np.array([val_clips[i].is_fake for i, _ in keys])
    counts = {"real": int((~labels).sum()), "fake": int(labels.sum()),
              "conditions": list(conditions.CONDITIONS), "split": "val"}
    cal = calibration.fit(np.array([scores[k] for k in keys]), labels, target_fpr, counts)
    return cal.save(calibration_path(path))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tts.spoof.train",
                                     description="Train the synthetic-speech detector.")
    parser.add_argument("config", help="configs/spoof/*.yaml")
    parser.add_argument("corpus", help="a corpus folder from scripts/make_spoof_corpus.py")
    parser.add_argument("out", help="run folder")
    parser.add_argument("--resume", action="store_true", help="go on from OUT/last.pt")
    parser.add_argument("--steps", type=int, default=None, help="override training.steps")
    parser.add_argument("--seed", type=int, default=None, help="override training.seed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    def action() -> int:
        path = train(args.config, args.corpus, args.out, args.resume, args.steps, args.seed)
        print(f"wrote {path} and {calibration_path(path)}")
        return 0
    return run_reporting(parser.prog, action)


if __name__ == "__main__":
    raise SystemExit(main())
