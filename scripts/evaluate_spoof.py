"""Issue 22's synthetic-speech detector figures, part of ``scripts/evaluate.py`` (``spoof``)::

    nice -n 15 python scripts/evaluate.py spoof --corpus spoof_corpus --threads 1

On the ``test`` split of a corpus from ``scripts/make_spoof_corpus.py``, each clip scored the way
``voxclone detect`` scores a file (``tts.spoof.score``), as recorded and after each
``--conditions`` (MP3 32 kbit/s, 8 kHz; ``tts.spoof.conditions``):

- EER of each generator's clips against all real test clips, generators seen in training and
  held out of it (the detector's ``training.held_out_generators``) apart, and the share of its clips caught at the
  shipped threshold;
- false positives per real corpus at the shipped threshold (whole corpora held out, held-out
  speakers of the others, and held-out clips of the single-speaker corpora);
- speed: a ``--long``-second file of test clips scored by ``score_file`` on one thread (x real
  time, peak memory growth).

Targets (issue 22): seen EER <= 1%, held-out EER <= 10%, false positives <= 1% per corpus.
A missing corpus or detector is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import add_out, add_threads, cell, markdown_table, print_table, set_threads
from _common import note as _note

SEEN_EER_TARGET, HELD_OUT_EER_TARGET, FPR_TARGET = 0.01, 0.10, 0.01


def _score_clips(clips, folder: Path, detector, condition: str) -> list[dict]:
    import soundfile as sf

    from tts.spoof import conditions
    from tts.spoof.corpus import noise_seed
    from tts.spoof.score import score_samples

    rows = []
    for clip in clips:
        wav, rate = sf.read(str(folder / clip.path), dtype="float32")
        report = score_samples(conditions.apply(wav, condition, noise_seed(clip)), rate, detector)
        rows.append({"id": clip.id, "generator": clip.generator, "source": clip.source,
                     "fake": clip.is_fake, "status": report.status, "logit": report.logit,
                     "synthetic": report.synthetic})
    return rows


def _eer_rows(scored: dict[str, list[dict]], held_out: tuple[str, ...]) -> list[dict]:
    from tts.spoof.calibration import equal_error_rate

    out = []
    generators = sorted({r["generator"] for rows in scored.values() for r in rows if r["fake"]})
    for generator in generators:
        row = {"generator": generator, "held_out": generator in held_out}
        for condition, rows in scored.items():
            judged = [r for r in rows if r["logit"] is not None]
            real = [r["logit"] for r in judged if not r["fake"]]
            fake = [r for r in judged if r["generator"] == generator]
            row[f"eer_{condition}"] = equal_error_rate(
                np.array(real + [r["logit"] for r in fake]),
                np.array([False] * len(real) + [True] * len(fake)))
            row[f"caught_{condition}"] = float(np.mean([r["synthetic"] for r in fake]))
            row["clips"] = len(fake)
        out.append(row)
    return out


def _fpr_rows(scored: dict[str, list[dict]], held_corpora: tuple[str, ...]) -> list[dict]:
    from data.holdout import HOLDOUT_RECIPES

    out = []
    sources = sorted({r["source"] for rows in scored.values() for r in rows if not r["fake"]})
    for source in sources:
        kind = ("whole corpus" if source in held_corpora else
                "held-out speakers" if source in HOLDOUT_RECIPES else "held-out clips")
        row = {"corpus": source, "held_out": kind}
        for condition, rows in scored.items():
            real = [r for r in rows if not r["fake"] and r["source"] == source]
            judged = [r for r in real if r["logit"] is not None]
            row[f"fpr_{condition}"] = float(np.mean([r["synthetic"] for r in judged]))
            row[f"unjudged_{condition}"] = len(real) - len(judged)
            row["clips"] = len(real)
        out.append(row)
    return out


def _speed(clips, folder: Path, detector, seconds: float) -> dict:
    """Score a ``seconds``-long FLAC of test clips with ``score_file``; x real time, peak RSS
    growth."""
    import soundfile as sf

    from tts.spoof.features import SAMPLE_RATE
    from tts.spoof.score import score_file

    with tempfile.TemporaryDirectory(prefix="voxclone-spoof-") as tmp:
        path = Path(tmp) / "long.flac"
        with sf.SoundFile(str(path), "w", SAMPLE_RATE, 1, subtype="PCM_16") as f:
            written = 0
            for clip in clips:
                wav, _ = sf.read(str(folder / clip.path), dtype="float32")
                f.write(wav)
                written += len(wav)
                if written >= seconds * SAMPLE_RATE:
                    break
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        report = score_file(path, detector)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": round(report.duration, 1), "elapsed": round(elapsed, 2),
            "x_real_time": round(report.duration / elapsed, 1),
            "peak_rss_growth_mb": round((after - before) / 1024, 1),
            "windows": len(report.windows)}


def cmd_spoof(args: argparse.Namespace) -> int:
    import torch

    from tts.spoof.corpus import HELD_OUT_CORPORA, HELD_OUT_GENERATORS, read_clips
    from tts.spoof.detector import load_detector

    set_threads(args.threads)
    folder = Path(args.corpus)
    detector = load_detector(args.detector)
    trained = detector.metadata.get("config", {}).get("training", {})
    held_out = tuple(args.held_out if args.held_out is not None else
                     trained.get("held_out_generators", HELD_OUT_GENERATORS))
    clips = [c for c in read_clips(folder) if c.split == "test"]
    if args.limit:
        rng = np.random.default_rng(0)
        by_group: dict[str, list] = {}
        for c in clips:
            by_group.setdefault(c.generator if c.is_fake else c.source, []).append(c)
        clips = [group[i] for group in by_group.values()
                 for i in sorted(rng.permutation(len(group))[:args.limit])]
    scored = {}
    for condition in ["clean", *args.conditions]:
        _note(f"scoring {len(clips)} test clips, {condition} ...")
        scored[condition] = _score_clips(clips, folder, detector, condition)
    if args.scores:
        with open(args.scores, "w", encoding="utf-8") as f:
            for condition, rows in scored.items():
                for row in rows:
                    f.write(json.dumps({"condition": condition, **row}) + "\n")
    eers = _eer_rows(scored, held_out)
    fprs = _fpr_rows(scored, HELD_OUT_CORPORA)
    torch.set_num_threads(1)
    speed = _speed([c for c in clips if not c.is_fake], folder, detector, args.long)
    report = {"detector": str(args.detector), "threshold": detector.calibration.threshold,
              "target_fpr": detector.calibration.target_fpr, "generators": eers,
              "real": fprs, "speed_one_thread": speed}
    print_table(_tables(report, list(scored)), args.out, report, args.json)
    return 0


def _pct(value: float | None) -> str:
    return cell(None if value is None else 100 * value, 1)


def _tables(report: dict, conditions: list[str]) -> str:
    gen_rows = [[r["generator"], "held out" if r["held_out"] else "seen", str(r["clips"])]
                + [_pct(r[f"eer_{c}"]) for c in conditions]
                + [_pct(r[f"caught_{c}"]) for c in conditions] for r in report["generators"]]
    gen = markdown_table(["generator", "training", "clips"]
                         + [f"EER % {c}" for c in conditions]
                         + [f"caught % {c}" for c in conditions], gen_rows, "lll"
                         + "r" * 2 * len(conditions))
    real_rows = [[r["corpus"], r["held_out"], str(r["clips"])]
                 + [_pct(r[f"fpr_{c}"]) for c in conditions]
                 + [str(sum(r[f"unjudged_{c}"] for c in conditions))] for r in report["real"]]
    real = markdown_table(["real corpus", "held out", "clips"]
                          + [f"FPR % {c}" for c in conditions] + ["not judged"], real_rows,
                          "lll" + "r" * (len(conditions) + 1))
    g = report["generators"]
    seen = max((r[f"eer_{c}"] for r in g if not r["held_out"] for c in conditions), default=None)
    held = max((r[f"eer_{c}"] for r in g if r["held_out"] for c in conditions), default=None)
    fpr = max(r[f"fpr_{c}"] for r in report["real"] for c in conditions)
    s = report["speed_one_thread"]
    verdict = [
        f"worst seen-generator EER {_pct(seen)}% (target <= {100 * SEEN_EER_TARGET:g}%), "
        f"worst held-out-generator EER {_pct(held)}% (target <= {100 * HELD_OUT_EER_TARGET:g}%), "
        f"worst per-corpus false positives {_pct(fpr)}% (target <= {100 * FPR_TARGET:g}%) at "
        f"threshold {report['threshold']:.4f} (calibrated for {100 * report['target_fpr']:g}%)",
        f"speed, one thread: {s['seconds']:.0f} s scored in {s['elapsed']:.1f} s = "
        f"{s['x_real_time']:.0f}x real time ({s['windows']} windows), peak memory growth "
        f"{s['peak_rss_growth_mb']:.0f} MB",
    ]
    return "\n\n".join([gen, real, *verdict])


def add_parser(sub) -> None:
    """Register ``spoof`` on ``evaluate.py``'s subparsers."""
    from tts.spoof.detector import DEFAULT_DETECTOR

    spo = sub.add_parser(
        "spoof", help="issue 22's synthetic-speech detector: EER per generator (seen and held "
                      "out), false positives per real corpus, after MP3 32k and 8 kHz, speed",
        description="Score the test split of a spoof corpus (scripts/make_spoof_corpus.py) as "
                    "'voxclone detect' does, as recorded and after each --conditions.")
    spo.add_argument("--corpus", default="spoof_corpus", metavar="DIR",
                     help="corpus folder (default spoof_corpus)")
    spo.add_argument("--detector", default=str(DEFAULT_DETECTOR), metavar="CKPT",
                     help="detector checkpoint (its .json calibration beside it)")
    spo.add_argument("--conditions", nargs="*", default=["mp3", "8k"],
                     help="channel conditions besides clean (default mp3 8k)")
    spo.add_argument("--held-out", nargs="*", default=None, metavar="GENERATOR",
                     help="generators kept out of training (default: those the detector's "
                          "training config names)")
    spo.add_argument("--limit", type=int, default=0,
                     help="at most this many clips per generator and per real corpus (0: all)")
    spo.add_argument("--long", type=float, default=600.0,
                     help="seconds of audio for the speed test (default 600)")
    spo.add_argument("--json", action="store_true", help="print the report as JSON")
    spo.add_argument("--scores", default=None, metavar="JSONL",
                     help="also write every clip's logit and verdict per condition here")
    add_out(spo, "the report")
    add_threads(spo)
    spo.set_defaults(func=cmd_spoof)
