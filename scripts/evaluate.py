"""Objective evaluation: ``python scripts/evaluate.py SUBCOMMAND ...``.

``encoder``: speaker verification (EER) of speaker encoders on speakers held out from their
training; see ``cmd_encoder``.

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


def _load_encoders(args: argparse.Namespace):
    """``[(name, SpeakerEncoder)]`` for ``--encoder`` checkpoints, ``--default``, ``--resemblyzer``."""
    from cloning.encoder import load_default, load_encoder
    from tts.errors import ConfigError

    encoders = [(str(path), load_encoder(path)) for path in args.encoder]
    if args.default:
        encoders.append(("default (shipped)", load_default()))
    if args.resemblyzer:
        from cloning.pretrained import load_resemblyzer

        encoders.append(("resemblyzer (published)", load_resemblyzer()))
    if not encoders:
        raise ConfigError("nothing to evaluate: give --encoder CKPT (repeatable), --default "
                          "and/or --resemblyzer")
    return encoders


def _verification_clips(args: argparse.Namespace) -> tuple[list, list[str]]:
    """Waveforms and speaker names of the held-out speakers: up to ``--per-speaker`` clips each;
    a speaker with one clip gives its two halves when each has ``--min-seconds``."""
    from collections import defaultdict

    import soundfile as sf

    from cloning.encoder_data import collect_clips
    from tts.errors import DataError

    clips = collect_clips(args.data, "all" if args.all_speakers else "heldout",
                          args.holdout_recipes, args.holdout_fraction)
    by_speaker = defaultdict(list)
    for clip in clips:
        by_speaker[clip.speaker].append(clip)
    wavs, speakers = [], []
    for speaker in sorted(by_speaker):
        chosen = sorted(by_speaker[speaker], key=lambda c: c.id)[:args.per_speaker]
        loaded = []
        for clip in chosen:
            wav, rate = sf.read(clip.path, dtype="float32", always_2d=True)
            loaded.append((wav.mean(axis=1), rate))
        if len(loaded) == 1:
            wav, rate = loaded[0]
            half = len(wav) // 2
            if half < args.min_seconds * rate:
                continue
            loaded = [(wav[:half], rate), (wav[half:], rate)]
        wavs += loaded
        speakers += [speaker] * len(loaded)
    if len(set(speakers)) < 2:
        raise DataError(f"fewer than 2 speakers to evaluate in {', '.join(map(str, args.data))} "
                        "(held-out rule: --holdout-recipes / --holdout-fraction, or --all-speakers)")
    return wavs, speakers


def cmd_encoder(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from cloning.verification import score_trials

    if args.threads:
        torch.set_num_threads(args.threads)
    encoders = _load_encoders(args)
    wavs, speakers = _verification_clips(args)
    corpora = sorted({s.split("/")[0] for s in speakers})
    _note(f"{len(set(speakers))} speakers, {len(wavs)} utterances from {', '.join(corpora)}")
    header = ["encoder", "speakers", "utterances", "same trials", "different trials", "EER ↓",
              "same cos", "different cos", *(f"EER {c}" for c in corpora)]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name, encoder in encoders:
        started = time.perf_counter()
        embeddings = np.stack([encoder.embed_utterance(wav, rate) for wav, rate in wavs])
        scores = score_trials(embeddings, speakers)
        per_corpus = []
        for corpus in corpora:
            idx = [i for i, s in enumerate(speakers) if s.startswith(f"{corpus}/")]
            names = [speakers[i] for i in idx]
            per_corpus.append(score_trials(embeddings[idx], names).eer
                              if len(set(names)) >= 2 else math.nan)
        lines.append("| " + " | ".join([
            name, str(len(set(speakers))), str(len(wavs)), str(scores.same_trials),
            str(scores.different_trials), f"{100 * scores.eer:.2f}%", f"{scores.same_mean:.3f}",
            f"{scores.different_mean:.3f}", *(_format(100 * e, 2) + "%" for e in per_corpus)]) + " |")
        _note(f"{name}: {len(wavs)} utterances in {time.perf_counter() - started:.1f} s")
    table = "\n".join(lines)
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

    from cloning.verification import HOLDOUT_FRACTION, HOLDOUT_RECIPES

    enc = sub.add_parser(
        "encoder", help="speaker verification EER of speaker encoders on held-out speakers",
        description="Embed clips of the speakers that encoder training leaves out "
                    "(cloning.verification.held_out) and score every pair: equal error rate, "
                    "mean cosine of same- and different-speaker trials, EER per corpus.")
    enc.add_argument("--data", required=True, nargs="+", metavar="DIR",
                     help="prepared folders (voxclone prepare)")
    enc.add_argument("--encoder", action="append", default=[], metavar="CKPT",
                     help="encoder checkpoint (repeatable)")
    enc.add_argument("--default", action="store_true", help="also the shipped default encoder")
    enc.add_argument("--resemblyzer", action="store_true",
                     help="also the published Resemblyzer weights (pip package resemblyzer)")
    enc.add_argument("--holdout-recipes", nargs="*", default=list(HOLDOUT_RECIPES),
                     metavar="RECIPE", help="corpora whose held-out speakers are used")
    enc.add_argument("--holdout-fraction", type=float, default=HOLDOUT_FRACTION,
                     help="share of their speakers held out (as in training; default %(default)s)")
    enc.add_argument("--all-speakers", action="store_true",
                     help="use every speaker of DATA, not only the held-out ones")
    enc.add_argument("--per-speaker", type=int, default=10, help="clips per speaker (default 10)")
    enc.add_argument("--min-seconds", type=float, default=2.0,
                     help="a single clip is split in halves when each has this many seconds")
    enc.add_argument("--out", metavar="FILE", help="also write the table to FILE")
    enc.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    enc.set_defaults(func=cmd_encoder)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    from tts.errors import run_reporting

    args = build_parser().parse_args(argv)
    return run_reporting(PROG, lambda: args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
