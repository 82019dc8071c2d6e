"""Copy synthesis of vocoders, part of ``scripts/evaluate.py`` (``vocoder``).

Held-out clips of one or more prepared folders (``select_clips``: each folder's ``val.jsonl``,
never trained on, or with ``--split heldout`` the clips of the speakers ``data.holdout`` keeps
out of training) go through the project's mel and back to audio with every vocoder given
(``tts.vocoder.load_vocoder`` / ``resynthesize``, which also hands F0 to vocoders that need
it), and are scored against the recording. Two reference rows frame them: ``recordings``, the
clips themselves (the ceiling of the no-reference columns), and with ``--world`` WORLD
analysis/synthesis of the waveform (``tts.world``: pitch and full envelope kept, no mel in
between). Columns: mel L1, multi-resolution STFT distance, wide-band PESQ, STOI
(``tts.metrics``), F0 gross pitch error and voicing decision error (``tts.pitch_metrics``,
pooled over frames), DNSMOS P.835 OVRL (``tts.metrics.dnsmos``) and WER/CER by an ASR judge
(``tts.asr.load_transcriber``: Whisper, else pocketsphinx), named in the heading.
One table over all clips and one per corpus when there are several; the clip ids follow.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _common import add_out, add_threads, cell, markdown_table, print_table, set_threads
from _common import note as _note

SPLITS = ("val", "heldout")
RECORDINGS = "recordings"
WORLD = "WORLD (pyworld: harvest, cheaptrick, d4c)"
COLUMNS = (("mel_l1", "mel L1 ↓", 3), ("mrstft", "MR-STFT ↓", 3), ("pesq", "PESQ-WB ↑", 2),
           ("stoi", "STOI ↑", 3), ("gpe", "F0 GPE ↓", 3), ("vde", "VDE ↓", 3),
           ("dnsmos", "DNSMOS OVRL ↑", 2), ("wer", "WER ↓", 3), ("cer", "CER ↓", 3))
DNSMOS_MISSING = "n/a: needs speechmos and onnxruntime, pip install 'voxclone[eval]'"


@dataclasses.dataclass(frozen=True)
class Clip:
    """One held-out recording: ``corpus`` (the folder's recipe), ``source`` (what it was
    drawn from) and its ``Utterance``."""

    corpus: str
    source: str
    utterance: Any


def _spread(utterances: list, count: int) -> list:
    """The first ``count`` utterances taken in turn from each speaker (manifest order), so a
    multi-speaker split is not all one speaker; a single-speaker split keeps its order."""
    by_speaker: dict[str, list] = {}
    for utt in utterances:
        by_speaker.setdefault(utt.speaker, []).append(utt)
    chosen, queues = [], list(by_speaker.values())
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return chosen


def select_clips(folders: Sequence[str | Path], count: int, split: str = "val",
                 speakers: Sequence[str] = ()) -> tuple[Any, list[Clip]]:
    """``(audio_config, clips)``: up to ``count`` clips of each prepared folder, from its
    ``val.jsonl`` (``split="val"``) or from the clips of its held-out speakers
    (``split="heldout"``, ``data.holdout``; a folder without any uses its ``val.jsonl``), only
    of ``speakers`` when given. Every folder must share one audio config."""
    from data.dataset import read_prepare_info
    from data.holdout import held_out_speakers, recipe_name
    from data.manifest import read_manifest
    from tts.config import AudioConfig, from_dict
    from tts.errors import ConfigError, DataError

    if count < 1:
        raise DataError("--clips must be at least 1")
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    audio, clips, names = None, [], set()
    for folder in map(Path, folders):
        info = read_prepare_info(folder)
        folder_audio = from_dict(AudioConfig, info["audio"], where=f"{folder}/prepare.json audio")
        if audio is not None and folder_audio != audio:
            raise ConfigError(f"{folder}: its audio config differs from {folders[0]}'s; "
                              "evaluate folders of one audio config together")
        audio = folder_audio
        corpus = recipe_name(folder)
        corpus = corpus if corpus not in names else f"{corpus} ({folder.name})"
        names.add(corpus)
        unseen = held_out_speakers(folder) if split == "heldout" else set()
        if unseen:
            source = "held-out speakers"
            pool = [u for u in read_manifest(folder / "manifest.jsonl") if u.speaker in unseen]
        else:
            if split == "heldout":
                _note(f"{folder}: no held-out speakers (data.holdout); using val.jsonl")
            source = "val.jsonl"
            pool = read_manifest(folder / "val.jsonl")
        pool = [u for u in pool if not speakers or u.speaker in speakers]
        if not pool:
            raise DataError(f"{folder} has no {source} utterances"
                            + (f" of {', '.join(speakers)}" if speakers else ""))
        clips += [Clip(corpus, source, u) for u in _spread(pool, count)]
    if audio is None:
        raise DataError("no prepared folder given")
    return audio, clips


def load_judge(prefer: str):
    """The ASR judge of the WER/CER columns (``tts.asr.load_transcriber``: ``.name``,
    ``.transcribe(wav, sample_rate) -> str``), or ``None`` for ``"none"``. When Whisper is
    preferred but missing, the fallback (pocketsphinx) judges and the reason is noted."""
    if prefer == "none":
        return None
    from tts.asr import load_transcriber

    judge = load_transcriber(prefer=prefer)
    if getattr(judge, "fallback", ""):
        _note(f"WER/CER judge: {judge.name}, not {prefer} ({judge.fallback})")
    return judge


def _load_systems(args: argparse.Namespace, audio) -> list[tuple[str, Callable]]:
    """``[(name, resynthesize(wav) -> wav)]`` for ``--vocoder``, ``--griffinlim``, ``--world``;
    every checkpoint must have been trained on the data's audio config."""
    from tts.errors import ConfigError, VoxcloneError
    from tts.vocoder import build_vocoder, load_vocoder, resynthesize
    from tts.world import world_available, world_resynthesize

    def through(vocoder):
        return lambda wav: resynthesize(wav, vocoder, audio)

    systems = []
    for path in args.vocoder:
        model, model_audio = load_vocoder(path)
        if model_audio != audio:
            raise ConfigError(f"{path}: the vocoder's audio config ({model_audio}) differs from "
                              f"the data's ({audio})")
        systems.append((str(path), through(model)))
    if args.griffinlim:
        systems.append(("griffinlim", through(build_vocoder({"type": "griffinlim"}, audio).eval())))
    if args.world:
        if not world_available():
            raise VoxcloneError("--world needs the pyworld package: pip install pyworld "
                                "(or pip install 'voxclone[dev]')")
        systems.append((WORLD, lambda wav: world_resynthesize(wav, audio.sample_rate)))
    if not systems:
        raise ConfigError("nothing to evaluate: give --vocoder CKPT (repeatable), --griffinlim "
                          "and/or --world")
    return systems


def _mean(values: list[float]) -> float:
    """Mean of the finite values (PESQ is NaN where it cannot score a clip); NaN if none."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def summarize(scores: list[dict], texts: list[str], indices: Sequence[int]) -> dict:
    """One table row from per-clip ``scores`` (dicts of ``mel_l1, mrstft, pesq, stoi, dnsmos``
    floats, ``pitch`` a ``PitchErrors``, ``heard`` the judge's words; a missing key is a
    column not measured) over the clips ``indices``: means of the finite values, GPE and VDE
    pooled over frames, WER and CER over all the clips' words."""
    from tts import metrics
    from tts.pitch_metrics import pool

    chosen = [scores[i] for i in indices]
    row: dict[str, Any] = {"clips": len(chosen)}
    for key in ("mel_l1", "mrstft", "pesq", "stoi", "dnsmos"):
        if any(key in s for s in chosen):
            row[key] = _mean([s.get(key) for s in chosen])
    if any("pitch" in s for s in chosen):
        pooled = pool(s["pitch"] for s in chosen if "pitch" in s)
        row.update(gpe=pooled.gpe, vde=pooled.vde)
    if chosen and all("heard" in s for s in chosen):
        refs, hyps = [texts[i] for i in indices], [s["heard"] for s in chosen]
        row.update(wer=metrics.word_error_rate(refs, hyps),
                   cer=metrics.char_error_rate(refs, hyps))
    return row


def render_table(rows: list[tuple[str, dict]]) -> str:
    """A Markdown table of ``(system name, summarize row)`` pairs: "–" is not measured for that
    row, "n/a" measured but unscorable."""
    header = ["system", "clips", *(title for _, title, _ in COLUMNS)]
    return markdown_table(header, [[name, str(row["clips"]),
                                    *(cell(row.get(k), d) for k, _, d in COLUMNS)]
                                   for name, row in rows])


def render_report(clips: list[Clip], results: dict[str, list[dict]], judge_name: str,
                  dnsmos_note: str) -> str:
    """The whole report: a heading naming the judges, one table over all clips, one per corpus
    when there are several, and the clip ids of each corpus."""
    texts = [c.utterance.text for c in clips]
    corpora = list(dict.fromkeys(c.corpus for c in clips))
    counts = ", ".join(f"{name} {sum(c.corpus == name for c in clips)}" for name in corpora)
    parts = [f"Copy synthesis of {len(clips)} held-out clips ({counts}). WER/CER judge: "
             f"{judge_name}. DNSMOS: P.835 OVRL ({dnsmos_note}). F0 GPE/VDE: pYIN, pooled over "
             "frames. WORLD resynthesizes the waveform, not the mel."]
    groups = [("all corpora", list(range(len(clips))))] if len(corpora) > 1 else []
    groups += [(name, [i for i, c in enumerate(clips) if c.corpus == name]) for name in corpora]
    for title, indices in groups:
        sources = sorted({clips[i].source for i in indices})
        parts.append(f"**{title}** ({', '.join(sources)}: {len(indices)} clips)")
        parts.append(render_table([(name, summarize(scores, texts, indices))
                                   for name, scores in results.items()]))
    parts.append("Clips: " + "; ".join(
        f"{name}: " + ", ".join(c.utterance.id for c in clips if c.corpus == name)
        for name in corpora))
    return "\n\n".join(parts)


def cmd_vocoder(args: argparse.Namespace) -> int:
    from tts import metrics
    from tts.audio import MelSpectrogram, load_audio, save_audio
    from tts.models.losses import MultiResolutionSTFTLoss
    from tts.pitch_metrics import pitch_errors, track

    set_threads(args.threads)
    audio, clips = select_clips(args.data, args.clips, args.split, args.speaker)
    systems = _load_systems(args, audio)
    judge = load_judge(args.asr)
    has_dnsmos = metrics.dnsmos_available()
    if not has_dnsmos:
        _note(f"DNSMOS {DNSMOS_MISSING}")
    rate = audio.sample_rate
    mel, mrstft = MelSpectrogram(audio), MultiResolutionSTFTLoss()
    wavs = [load_audio(c.utterance.audio_path, rate, trim=False, normalize=False) for c in clips]

    def no_reference(wav) -> dict:
        out = {"dnsmos": metrics.dnsmos(wav, rate).ovrl if has_dnsmos else math.nan}
        if judge is not None:
            out["heard"] = judge.transcribe(wav, rate)
        return out

    started = time.perf_counter()
    results = {RECORDINGS: [no_reference(wav) for wav in wavs]}
    ref_tracks = [track(wav, rate) for wav in wavs]
    _note(f"{RECORDINGS}: {len(wavs)} clips in {time.perf_counter() - started:.1f} s")
    for name, resynthesize in systems:
        started, scores = time.perf_counter(), []
        for clip, wav, ref_track in zip(clips, wavs, ref_tracks, strict=True):
            out = resynthesize(wav)
            scores.append({"mel_l1": metrics.mel_l1(wav, out, mel),
                           "mrstft": metrics.mrstft_distance(wav, out, mrstft),
                           "pesq": metrics.pesq_wb(wav, out, rate),
                           "stoi": metrics.stoi(wav, out, rate),
                           "pitch": pitch_errors(wav, out, rate, ref_track=ref_track),
                           **no_reference(out)})
            if args.wavs:
                folder = Path(args.wavs) / re.sub(r"[^\w.-]+", "_", name).strip("_.")
                save_audio(folder / f"{clip.utterance.id}.wav", out, rate)
        results[name] = scores
        _note(f"{name}: {len(wavs)} clips in {time.perf_counter() - started:.1f} s")
    judge_name = "none (--asr none)" if judge is None else judge.name + (
        f", as {args.asr} is unavailable" if getattr(judge, "fallback", "") else "")
    report = render_report(clips, results, judge_name,
                           "speechmos" if has_dnsmos else DNSMOS_MISSING)
    print_table(report, args.out)
    return 0


def add_parser(sub) -> None:
    """Register ``vocoder`` on ``evaluate.py``'s subparsers."""
    voc = sub.add_parser(
        "vocoder", help="copy-synthesis scores of vocoders (and WORLD) on held-out clips",
        description="Resynthesize held-out clips of each DATA folder from their mels with each "
                    "vocoder (and with WORLD) and report mel L1, MR-STFT, PESQ-WB, STOI, F0 "
                    "GPE and VDE, DNSMOS OVRL and ASR WER/CER, next to the recordings' own "
                    "DNSMOS and WER/CER; per corpus and overall.")
    voc.add_argument("--data", required=True, nargs="+", metavar="DIR",
                     help="prepared folders (voxclone prepare)")
    voc.add_argument("--vocoder", action="append", default=[], metavar="CKPT",
                     help="vocoder checkpoint (repeatable)")
    voc.add_argument("--griffinlim", action="store_true", help="also evaluate Griffin-Lim")
    voc.add_argument("--world", action="store_true",
                     help="also WORLD analysis/synthesis of the waveform (pyworld)")
    voc.add_argument("--clips", type=int, default=20,
                     help="clips per folder, taken in turn from its speakers (default: 20)")
    voc.add_argument("--split", choices=SPLITS, default="val",
                     help="val: DATA/val.jsonl (never trained on; default); heldout: the clips "
                          "of data.holdout's held-out speakers (val.jsonl where a folder has "
                          "none)")
    voc.add_argument("--speaker", action="append", default=[],
                     help="only this speaker's held-out clips (repeatable; e.g. low voices)")
    voc.add_argument("--asr", choices=("whisper", "pocketsphinx", "none"), default="whisper",
                     help="the WER/CER judge (tts.asr; default: whisper, falling back to "
                          "pocketsphinx); none skips the columns")
    add_out(voc, "the report")
    voc.add_argument("--wavs", metavar="DIR", help="save every resynthesis to DIR/NAME/ID.wav")
    add_threads(voc)
    voc.set_defaults(func=cmd_vocoder)
