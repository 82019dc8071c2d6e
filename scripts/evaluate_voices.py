"""Evaluations of voices, part of ``scripts/evaluate.py`` (``clone``, ``voices``, ``emotions``).

``clone``: speaker similarity of cloned voices on speakers no model saw (``cloning.evaluation``).
``voices``: the bundled voices' table (WER, speaker similarity, DNSMOS, speed) for the README.
``emotions``: whether named emotions move pitch and loudness the way the recordings do.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import add_out, add_threads, markdown_table, print_table, set_threads
from _common import note as _note


def _clone_speaker(args: argparse.Namespace, root: Path, kept: dict[str, list[str]]):
    """``speak(voice, tier)`` for ``similarity_rows``: clone the voice with ``voxclone
    clone``'s own code in ``tier`` (licensed-data override: the corpora are CC0), guard
    included, and speak its test texts; ``kept[tier]`` collects the tier each clone was saved
    in (the guard may keep a lower one)."""
    from cloning.clone import clone_voice
    from tts.synthesizer import Synthesizer
    from tts.voices import voice_engine

    names: dict[str, str] = {}

    def speak(voice, tier: str = "instant") -> list:
        name = names.setdefault(voice.name, f"eval{len(names) + 1}")
        transcripts = None
        if tier != "instant" and args.given_transcripts:
            transcripts = root / f"{name}.txt"
            transcripts.write_text("".join(f"{p.name}|{t}\n" for p, t in zip(
                voice.reference, voice.reference_texts, strict=True)), encoding="utf-8")
        started = time.monotonic()
        profile = clone_voice(name, voice.reference, override="licensed-data",
                              override_note="evaluation on CC0 corpora", tier=tier,
                              minutes=args.minutes if tier != "instant" else None,
                              acoustic=args.acoustic, root=root, force=True, report=_note,
                              transcripts=transcripts, guard=not args.no_guard)
        saved = (profile.guard or {}).get("kept") or profile.tier  # with how far it moved back
        _note(f"{voice.name}: {tier} clone took {time.monotonic() - started:.0f} s, "
              f"kept {saved}")
        kept.setdefault(tier, []).append(saved)
        engine = voice_engine(name, root, args.vocoder)
        synthesizer = Synthesizer(engine=engine)
        return [synthesizer.synthesize(text).wav for text in voice.texts + voice.wer_texts]

    return speak


def _add_wer_texts(args: argparse.Namespace, voices: list) -> None:
    """With ``--collection``: give each voice its own ``--collection-count`` sentences of it
    (none read by a manifest of ``--data`` or ``--exclude-data``), spread over one of the draws
    that ``evaluate.py acoustic`` makes (``EVALUATION_COUNTS``), which no synthetic training
    corpus reads."""
    if not args.collection:
        return
    from evaluate_acoustic import EVALUATION_COUNTS, collection_sentences

    from tts.errors import ConfigError

    count = args.collection_count
    needed = count * len(voices)
    draw = next((n for n in EVALUATION_COUNTS if n >= needed), None)
    if draw is None:
        raise ConfigError(f"{len(voices)} voices x --collection-count {count} = {needed} "
                          f"sentences; at most {EVALUATION_COUNTS[-1]} in all")
    pool = collection_sentences(args.collection, draw,
                                [Path(f) for f in (*args.data, *args.exclude_data)])
    sentences = [pool[j * draw // needed] for j in range(needed)]
    for i, voice in enumerate(voices):
        voice.wer_texts = sentences[i * count:(i + 1) * count]
    _note(f"WER: each voice also speaks {count} sentences of {args.collection}")


def _similarity_table(rows: list[tuple[str, dict]]) -> str:
    header = ["voices", "n", "clone → same speaker", "real → same speaker",
              "real → other speakers", "clone → other speakers", "clone WER"]
    return markdown_table(header, [
        [name, str(r["voices"]), f"{r['clone']:.3f}", f"{r['real']:.3f}", f"{r['different']:.3f}",
         f"{r['clone_vs_others']:.3f}", f"{r['wer']:.3f}" if "wer" in r else "-"]
        for name, r in rows])


def cmd_clone(args: argparse.Namespace) -> int:
    import tempfile

    from cloning.encoder import load_default
    from cloning.evaluation import collect_voices, similarity_rows
    from data.holdout import held_out_speakers
    from tts import metrics
    from tts.errors import VoxcloneError

    if args.collection and not args.wer:
        raise VoxcloneError("--collection sentences are spoken for the WER: add --wer")
    if args.collection_count < 1:
        raise VoxcloneError(f"--collection-count must be at least 1, not {args.collection_count}")
    set_threads(args.threads)
    encoder = load_default()
    transcriber = metrics.Transcriber() if args.wer else None
    folders = [Path(d) for d in args.data]
    rows = []
    kept: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="voxclone-eval-") as work:
        root = Path(work)
        speak = _clone_speaker(args, root, kept)
        if args.voices > 0:
            voices = collect_voices(folders, lambda f: held_out_speakers(f, args.holdout_fraction),
                                    args.reference, args.test)[: args.voices]
            if not voices:
                raise VoxcloneError("no held-out speaker has enough clips in --data")
            _add_wer_texts(args, voices)
            _note(f"zero-shot: {len(voices)} held-out voices, {args.reference} reference and "
                  f"{args.test} test clips each")
            rows.append((f"zero-shot ({args.reference} clips)",
                         similarity_rows(voices, speak, 22050, encoder, transcriber)))
        if args.speaker:
            voices = collect_voices(folders, lambda f: set(args.speaker), 0, args.speaker_test,
                                    reference_seconds=args.reference_seconds)
            missing = set(args.speaker) - {v.name for v in voices}
            if missing:
                raise VoxcloneError(f"too little audio in --data for speaker(s) "
                                    f"{', '.join(sorted(missing))}")
            _add_wer_texts(args, voices)
            reference = f"{args.reference_seconds / 60:g} min"
            for tier in args.tiers:
                started = time.monotonic()
                row = similarity_rows(voices, lambda v, t=tier: speak(v, t), 22050, encoder,
                                      transcriber)
                _note(f"{tier}: clones and evaluation took {time.monotonic() - started:.0f} s")
                saved = kept.get(tier, [])
                fell_back = sum(1 for k in saved if not k.startswith(tier))
                moved = sum(1 for k in saved if "moved back" in k)
                label = f"{tier} ({reference}" + (f", --minutes {args.minutes:g}"
                                                  if args.minutes and tier != "instant" else "")
                label += f"; guard moved the fit back for {moved}" if moved else ""
                label += f"; guard kept a lower tier for {fell_back})" if fell_back else (
                    "; no guard)" if args.no_guard else ")")
                rows.append((label, row))
    table = _similarity_table(rows)
    print_table(table, args.out)
    return 0


def cmd_voices(args: argparse.Namespace) -> int:
    from cloning.encoder import load_default
    from cloning.evaluation import voice_report
    from data.manifest import read_manifest
    from tts import metrics
    from tts.errors import ConfigError
    from tts.voices import bundled_voices, voice_engine

    set_threads(args.threads)
    if args.dnsmos and not metrics.dnsmos_available():
        raise ConfigError("--dnsmos needs the speechmos and onnxruntime packages: "
                          "pip install 'voxclone[eval]'")
    clips: dict[str, dict[str, list]] = {}
    for folder in args.data:
        for split in ("train", "val"):
            for utt in read_manifest(Path(folder) / f"{split}.jsonl"):
                clips.setdefault(utt.speaker, {"train": [], "val": []})[split].append(utt)
    collection = []
    if args.collection:
        from evaluate_acoustic import collection_sentences

        if args.collection_count < 1:
            raise ConfigError(f"--collection-count must be at least 1, not {args.collection_count}")

        collection = collection_sentences(args.collection, args.collection_count,
                                          [Path(f) for f in (*args.data, *args.exclude_data)])
    encoder, transcriber = load_default(), metrics.Transcriber()
    header = ["voice", "licence", "held-out sentences", "WER ↓", "similarity to its recordings ↑",
              "recordings' own similarity", "DNSMOS OVRL ↑", "x real time ↑"]
    header += [f"WER collection ({len(collection)}) ↓"] if collection else []
    header += ["F0 Hz (speech / recordings)"] if args.pitch else []
    rows = []
    for voice in bundled_voices():
        if args.voice and voice.name not in args.voice:
            continue
        own = clips.get(voice.speaker or "")
        if not own or not own["val"]:
            _note(f"{voice.name}: no held-out clips of speaker {voice.speaker!r} in --data; skipped")
            continue
        train_texts = {u.text for u in own["train"]}
        held = [u for u in own["val"] if u.text not in train_texts][: args.sentences]
        engine = voice_engine(voice.name, vocoder=args.vocoder, acoustic=args.acoustic)
        row = voice_report(engine, held, encoder,
                           transcriber, [Path(u.audio_path) for u in own["train"][:10]],
                           args.dnsmos, args.pitch)
        rows.append([voice.name, voice.license, str(row["sentences"]), f"{row['wer']:.3f}",
                     f"{row['similarity']:.3f}", f"{row['real_similarity']:.3f}",
                     f"{row['dnsmos']:.2f}" if "dnsmos" in row else "-",
                     f"{row['x_real_time']:.1f}"])
        if collection:
            from tts.synthesizer import Synthesizer

            speaker = Synthesizer(engine=engine)
            heard = [transcriber.transcribe(speaker.synthesize(t).wav, speaker.sample_rate)
                     for t in collection]
            rows[-1].append(f"{metrics.word_error_rate(collection, heard):.3f}")
        rows[-1] += [f"{row['f0']:.0f} / {row['real_f0']:.0f}"] if args.pitch else []
        _note(" | ".join(rows[-1]))
    print_table(markdown_table(header, rows, "ll" + "r" * (len(header) - 2)), args.out)
    return 0


def cmd_emotions(args: argparse.Namespace) -> int:
    """Per emotion: pitch, pitch spread, loudness and length of the model's speech next to the
    labelled recordings', and the rank correlation of each across emotions."""
    import numpy as np
    from scipy.stats import spearmanr

    from data.manifest import read_manifest
    from tts.acoustic import load_acoustic
    from tts.audio import load_audio
    from tts.errors import VoxcloneError
    from tts.neural_engine import NeuralEngine, default_vocoder
    from tts.prosody import prosody
    from tts.vocoder import load_vocoder

    set_threads(args.threads)
    acoustic = load_acoustic(args.acoustic)
    if not acoustic.emotions:
        raise VoxcloneError(f"{args.acoustic} has no named emotions")
    vocoder, vocoder_audio = load_vocoder(args.vocoder or default_vocoder(acoustic))
    by_emotion: dict[str, list] = {}
    for utt in read_manifest(Path(args.data) / "manifest.jsonl"):
        if utt.emotion in acoustic.emotions:
            by_emotion.setdefault(utt.emotion, []).append(utt)
    texts = sorted({u.text for group in by_emotion.values() for u in group})[:2] + list(
        args.text)
    rows = {}
    for emotion in sorted(by_emotion):
        recorded = [prosody(load_audio(u.audio_path, 16000, normalize=False), 16000)
                    for u in by_emotion[emotion][: args.clips]]
        engine = NeuralEngine(acoustic, vocoder, vocoder_audio, speaker=args.speaker,
                              emotion=emotion, intensity=args.intensity)
        spoken = [engine.speak(t) for t in texts]
        synth = [prosody(w, r) for w, r in spoken]
        seconds = float(np.mean([len(w) / r for w, r in spoken]))
        rows[emotion] = {name: (float(np.nanmean([getattr(p, name) for p in recorded])),
                                float(np.nanmean([getattr(p, name) for p in synth])))
                         for name in ("f0_hz", "f0_spread_semitones", "energy_db")}
        rows[emotion]["seconds"] = (float("nan"), seconds)
    table = markdown_table(
        ["emotion", "F0 Hz (recorded / model)", "F0 spread st", "energy dB", "model length s"],
        [[emotion, f"{r['f0_hz'][0]:.0f} / {r['f0_hz'][1]:.0f}",
          f"{r['f0_spread_semitones'][0]:.2f} / {r['f0_spread_semitones'][1]:.2f}",
          f"{r['energy_db'][0]:.1f} / {r['energy_db'][1]:.1f}", f"{r['seconds'][1]:.2f}"]
         for emotion, r in rows.items()])
    names = list(rows)
    corr = {k: spearmanr([rows[e][k][0] for e in names], [rows[e][k][1] for e in names])[0]
            for k in ("f0_hz", "f0_spread_semitones", "energy_db")}
    summary = "rank correlation across emotions, recordings vs model: " + ", ".join(
        f"{k} {v:+.2f}" for k, v in corr.items())
    print_table(f"{table}\n\n{summary}", args.out)
    return 0


def add_parsers(sub) -> None:
    """Register ``clone``, ``voices`` and ``emotions`` on ``evaluate.py``'s subparsers."""
    from data.holdout import HOLDOUT_FRACTION

    clo = sub.add_parser(
        "clone", help="speaker similarity of cloned voices on speakers no model saw",
        description="Clone held-out speakers (data.holdout) from a few reference clips with "
                    "'voxclone clone''s code, speak their held-out test texts, and compare "
                    "encoder cosines: clone vs real same-speaker and different-speaker speech. "
                    "--speaker S also clones S from REFERENCE_SECONDS of audio in each tier of "
                    "--tiers.")
    clo.add_argument("--data", required=True, nargs="+", metavar="DIR", help="prepared folders")
    clo.add_argument("--acoustic", default=None, metavar="CKPT",
                     help="multi-speaker model (default: the bundled one)")
    clo.add_argument("--vocoder", default=None, metavar="CKPT", help="vocoder (default: bundled)")
    clo.add_argument("--voices", type=int, default=20, help="held-out voices (0: none)")
    clo.add_argument("--reference", type=int, default=3, help="reference clips per voice")
    clo.add_argument("--test", type=int, default=3, help="test clips per voice")
    clo.add_argument("--holdout-fraction", type=float, default=HOLDOUT_FRACTION,
                     help="as in training (default %(default)s)")
    clo.add_argument("--speaker", "--few-shot", action="append", default=[],
                     metavar="SPEAKER", help="also clone this speaker (kept out of training) "
                     "from REFERENCE_SECONDS of audio in each of --tiers (repeatable)")
    clo.add_argument("--tiers", nargs="+", default=["instant", "few-shot"],
                     choices=("instant", "quick", "few-shot"),
                     help="the tiers each --speaker is cloned in (default: instant few-shot)")
    clo.add_argument("--reference-seconds", type=float, default=180.0,
                     help="--speaker reference audio (default 180 s)")
    clo.add_argument("--speaker-test", "--few-shot-test", type=int, default=10,
                     help="--speaker test clips")
    clo.add_argument("--minutes", type=float, default=None,
                     help="time budget of the quick and few-shot clones (default: each tier's)")
    clo.add_argument("--given-transcripts", action="store_true",
                     help="quick and few-shot with the corpus transcripts (default: Whisper's)")
    clo.add_argument("--no-guard", action="store_true",
                     help="keep every tier's voice as made (default: as a user gets it, the "
                          "guard falling back to the instant voice where a tier speaks worse)")
    clo.add_argument("--wer", action="store_true", help="also the clones' ASR WER")
    clo.add_argument("--collection", default=None, metavar="FILE",
                     help="with --wer: each clone also speaks --collection-count sentences of "
                          "this file (lines of text or ID|text) that no manifest of --data or "
                          "--exclude-data reads, for the WER only (similarity stays on the test "
                          "texts)")
    clo.add_argument("--collection-count", type=int, default=6,
                     help="--collection sentences per voice (default 6)")
    clo.add_argument("--exclude-data", nargs="*", default=[], metavar="DIR",
                     help="more prepared folders whose texts --collection leaves out")
    add_out(clo)
    add_threads(clo)
    clo.set_defaults(func=cmd_clone)

    vcs = sub.add_parser(
        "voices", help="the bundled voices: WER, speaker similarity, DNSMOS, speed (README table)",
        description="Speak each bundled voice's held-out sentences (its speaker's val clips whose "
                    "text no training clip reads) and report the ASR judge's WER (Whisper), "
                    "encoder cosine to the held-out recordings, DNSMOS OVRL and x real time, as "
                    "one table; with --collection also the WER on unseen sentences of a text "
                    "collection.")
    vcs.add_argument("--data", required=True, nargs="+", metavar="DIR",
                     help="the prepared folders the bundled voices' speakers come from")
    vcs.add_argument("--voice", action="append", default=[], help="only these voices")
    vcs.add_argument("--sentences", type=int, default=10, help="per voice (default 10)")
    vcs.add_argument("--collection", default=None, metavar="FILE",
                     help="sentence file (lines of text or ID|text): every voice also speaks "
                          "sentences of it that no manifest of --data or --exclude-data reads")
    vcs.add_argument("--collection-count", type=int, default=50,
                     help="sentences drawn from --collection (default 50)")
    vcs.add_argument("--exclude-data", nargs="*", default=[], metavar="DIR",
                     help="more prepared folders whose texts --collection leaves out")
    vcs.add_argument("--dnsmos", action="store_true", help="add DNSMOS OVRL (voxclone[eval])")
    vcs.add_argument("--pitch", action="store_true",
                     help="add the median pYIN F0 of the speech and of the recordings")
    vcs.add_argument("--acoustic", default=None, metavar="CKPT",
                     help="speak every voice with this acoustic model instead of its own (a "
                          "candidate; it must know each voice's speaker)")
    vcs.add_argument("--vocoder", default=None, metavar="CKPT",
                     help="vocoder checkpoint (default: the one voxclone say uses)")
    add_out(vcs)
    add_threads(vcs)
    vcs.set_defaults(func=cmd_voices)

    emo = sub.add_parser(
        "emotions", help="do named emotions change pitch and loudness like the recordings?",
        description="Speak with each named emotion of a model and compare median F0, F0 spread "
                    "and loudness (tts.prosody) with the labelled recordings of DATA (e.g. "
                    "prepared/ravdess-speech), per emotion and as rank correlations.")
    emo.add_argument("--acoustic", required=True, metavar="CKPT", help="model with emotions")
    emo.add_argument("--data", required=True, metavar="DIR", help="emotion-labelled prepared folder")
    emo.add_argument("--vocoder", default=None, metavar="CKPT",
                     help="vocoder checkpoint (default: the bundled one for the model)")
    emo.add_argument("--speaker", default=None, help="training speaker to speak with")
    emo.add_argument("--intensity", type=float, default=1.0)
    emo.add_argument("--clips", type=int, default=12, help="recordings per emotion")
    emo.add_argument("--text", action="append", default=[], help="extra sentences to speak")
    add_out(emo)
    add_threads(emo)
    emo.set_defaults(func=cmd_emotions)
