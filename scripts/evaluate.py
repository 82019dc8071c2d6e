"""Objective evaluation: ``python scripts/evaluate.py SUBCOMMAND ...``.

``vocoder``: copy-synthesis of held-out clips. For the first ``--clips`` utterances of
``DATA/val.jsonl`` (never trained on), the mel of each recording is turned back into audio by
every vocoder given, and the result is scored against the recording (``tts.metrics``: mel L1,
multi-resolution STFT distance, wide-band PESQ, STOI) and by an offline recogniser (WER / CER
against the transcript). The "original" row is the recogniser on the recordings themselves:
the floor that a perfect vocoder would reach. One Markdown table goes to stdout (and --out)::

    python scripts/evaluate.py vocoder --data prepared/kathleen-arctic \\
        --vocoder runs/voc-hifigan-v2/checkpoints/last.ckpt --griffinlim --clips 20

Bad paths and checkpoints are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

PROG = "evaluate.py"

_COLUMNS = (("mel_l1", "mel L1 ↓", 3), ("mrstft", "MR-STFT ↓", 3), ("pesq", "PESQ-WB ↑", 2),
            ("stoi", "STOI ↑", 3), ("wer", "WER ↓", 3), ("cer", "CER ↓", 3))


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _format(value: float | None, digits: int) -> str:
    if value is None:
        return "–"
    if math.isnan(value):
        return "n/a"
    return f"{value:.{digits}f}"


def _mean(values: list[float]) -> float:
    """Mean of the finite values (PESQ is NaN where it cannot score a clip); NaN if none."""
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _table(rows: list[dict]) -> str:
    header = ["vocoder", "clips", *(title for _, title, _ in _COLUMNS)]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for row in rows:
        cells = [row["name"], str(row["clips"]),
                 *(_format(row.get(key), digits) for key, _, digits in _COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _load_vocoders(args: argparse.Namespace, audio):
    """``[(name, module)]`` for ``--vocoder`` checkpoints and ``--griffinlim``; every
    checkpoint must have been trained on the data's audio config."""
    from tts.errors import ConfigError
    from tts.vocoder import build_vocoder, load_vocoder

    vocoders = []
    for path in args.vocoder:
        model, model_audio = load_vocoder(path)
        if model_audio != audio:
            raise ConfigError(f"{path}: the vocoder's audio config ({model_audio}) differs from "
                              f"the data's ({audio})")
        vocoders.append((str(path), model))
    if args.griffinlim:
        vocoders.append(("griffinlim", build_vocoder({"type": "griffinlim"}, audio).eval()))
    if not vocoders:
        raise ConfigError("nothing to evaluate: give --vocoder CKPT (repeatable) and/or "
                          "--griffinlim")
    return vocoders


def cmd_vocoder(args: argparse.Namespace) -> int:
    import torch

    from data.dataset import read_prepare_info
    from data.manifest import read_manifest
    from tts import metrics
    from tts.audio import MelSpectrogram, load_audio, save_audio
    from tts.config import AudioConfig, from_dict
    from tts.errors import DataError
    from tts.models.losses import MultiResolutionSTFTLoss
    from tts.vocoder import resynthesize

    if args.clips < 1:
        raise DataError("--clips must be at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    data = Path(args.data)
    audio = from_dict(AudioConfig, read_prepare_info(data)["audio"], where="prepare.json audio")
    utterances = read_manifest(data / "val.jsonl")[:args.clips]
    if not utterances:
        raise DataError(f"{data / 'val.jsonl'} lists no utterances")
    vocoders = _load_vocoders(args, audio)

    mel = MelSpectrogram(audio)
    mrstft = MultiResolutionSTFTLoss()
    transcriber = metrics.Transcriber()
    texts = [u.text for u in utterances]
    wavs = [load_audio(u.audio_path, audio.sample_rate, trim=False, normalize=False)
            for u in utterances]
    heard = [transcriber.transcribe(wav, audio.sample_rate) for wav in wavs]
    rows = [{"name": "original", "clips": len(wavs), "wer": metrics.word_error_rate(texts, heard),
             "cer": metrics.char_error_rate(texts, heard)}]
    for name, vocoder in vocoders:
        started = time.perf_counter()
        scores: dict[str, list[float]] = {"mel_l1": [], "mrstft": [], "pesq": [], "stoi": []}
        hyps = []
        for utt, wav in zip(utterances, wavs, strict=True):
            out = resynthesize(wav, vocoder, audio)
            scores["mel_l1"].append(metrics.mel_l1(wav, out, mel))
            scores["mrstft"].append(metrics.mrstft_distance(wav, out, mrstft))
            scores["pesq"].append(metrics.pesq_wb(wav, out, audio.sample_rate))
            scores["stoi"].append(metrics.stoi(wav, out, audio.sample_rate))
            hyps.append(transcriber.transcribe(out, audio.sample_rate))
            if args.wavs:
                folder = Path(args.wavs) / re.sub(r"[^\w.-]+", "_", name).strip("_.")
                save_audio(folder / f"{utt.id}.wav", out, audio.sample_rate)
        row = {key: _mean(values) for key, values in scores.items()}
        row.update(name=name, clips=len(wavs), wer=metrics.word_error_rate(texts, hyps),
                   cer=metrics.char_error_rate(texts, hyps))
        rows.append(row)
        _note(f"{name}: {len(wavs)} clips in {time.perf_counter() - started:.1f} s")

    table = _table(rows)
    print(table)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table + "\n", encoding="utf-8")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Objective evaluation of voxclone "
                                     "models (tts.metrics).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    voc = sub.add_parser(
        "vocoder", help="copy-synthesis scores of vocoders on held-out clips",
        description="Resynthesize the first N clips of DATA/val.jsonl from their mels with each "
                    "vocoder and report mel L1, MR-STFT distance, PESQ-WB, STOI and ASR "
                    "WER/CER (pocketsphinx), next to the ASR scores of the original clips.")
    voc.add_argument("--data", required=True, metavar="DIR",
                     help="prepared folder (voxclone prepare) with val.jsonl")
    voc.add_argument("--vocoder", action="append", default=[], metavar="CKPT",
                     help="vocoder checkpoint (repeatable)")
    voc.add_argument("--griffinlim", action="store_true", help="also evaluate Griffin-Lim")
    voc.add_argument("--clips", type=int, default=20, help="clips to use (default: 20)")
    voc.add_argument("--out", metavar="FILE", help="also write the table to FILE")
    voc.add_argument("--wavs", metavar="DIR", help="save every resynthesis to DIR/NAME/ID.wav")
    voc.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    voc.set_defaults(func=cmd_vocoder)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    from tts.errors import run_reporting

    args = build_parser().parse_args(argv)
    return run_reporting(PROG, lambda: args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
