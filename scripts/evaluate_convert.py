"""Speech-to-speech, part of ``scripts/evaluate.py`` (``convert``).

Held-out speakers of each ``--data`` folder (``data.holdout``: no model trained on them) are
converted into each ``--voice`` with ``tts.convert.convert``, the code ``voxclone convert`` runs
(the words found by the ASR, as a user without transcripts gets them, unless
``--given-transcripts``). Per target voice:

- ``similarity``: speaker-encoder cosine (the published GE2E weights, ``cloning.pretrained``) of
  each output to the mean of the target speaker's real clips; next to it the *floor*, the source
  recording's own cosine to that mean, and the *ceiling*, the target's other real clips' cosine
  to it (two sets of real recordings of one person);
- ``WER``: the ASR judge's word error rate of the output against the source's transcript, next to
  the source recording's own WER (what the judge makes of the source);
- ``F0 corr``: Pearson correlation of the output's pYIN contour with the source's, in semitones,
  over the frames voiced in both (the intonation kept); ``F0 shift``: the median difference of
  the two, in semitones (how far the voice moved the pitch);
- ``its TTS``, ``its TTS WER``: the same cosine and the judge's WER for the voice's own
  text-to-speech of the source texts (what the voice reaches without a source to follow: the
  part of the WER that the acoustic model, not the conversion, loses);
- ``DNSMOS`` (``--dnsmos``): the outputs' DNSMOS P.835 OVRL;
- ``x RT``: seconds of audio per second of conversion, ASR included.

``--clone SPEAKER`` adds a target that is not bundled: an instant clone (``voxclone clone``'s
code) of a speaker of ``--target-data`` from ``--clone-clips`` of their clips, measured against
their other clips; that speaker's own clips are left out of the sources.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import add_out, add_threads, cell, markdown_table, note, print_table, set_threads

DEFAULT_VOICES = ("kathleen", "cv-372293", "lj")
MIN_SECONDS, MAX_SECONDS = 2.0, 10.0


def _source_clips(folders: list[str], speakers: int, clips: int) -> list:
    """``clips`` utterances of ``MIN_SECONDS``-``MAX_SECONDS`` from each of the first
    ``speakers`` held-out speakers (sorted by name) of every folder."""
    from data.holdout import held_out_speakers
    from data.manifest import read_manifest

    chosen = []
    for folder in folders:
        held = held_out_speakers(folder)
        by_speaker: dict[str, list] = {}
        for utt in read_manifest(Path(folder) / "manifest.jsonl"):
            if utt.speaker in held and MIN_SECONDS <= utt.duration <= MAX_SECONDS:
                by_speaker.setdefault(utt.speaker, []).append(utt)
        for name in sorted(by_speaker)[:speakers]:
            chosen += by_speaker[name][:clips]
    return chosen


def _target_clips(voice, folders: list[str], count: int) -> list[Path]:
    """Real clips of a bundled voice's speaker found in ``folders`` (validation clips first)."""
    from data.manifest import read_manifest

    found: list[Path] = []
    for split in ("val", "train"):
        for folder in folders:
            path = Path(folder) / f"{split}.jsonl"
            if path.is_file():
                found += [Path(u.audio_path) for u in read_manifest(path)
                          if u.speaker == voice.speaker]
    return found[:count]


def _clone_target(speaker: str, folders: list[str], clips: int, count: int,
                  root: Path, name: str) -> list[Path]:
    """An instant clone of ``speaker`` (of ``folders``) from its first ``clips`` clips, saved
    under ``root`` as voice ``name``; returns up to ``2 * count`` of the speaker's other clips
    (the real target)."""
    from cloning.clone import clone_voice
    from data.manifest import read_manifest
    from tts.errors import DataError

    found = [Path(u.audio_path) for folder in folders
             for u in read_manifest(Path(folder) / "manifest.jsonl") if u.speaker == speaker]
    if len(found) < clips + 4:
        raise DataError(f"--clone {speaker}: {len(found)} clips in --target-data, "
                        f"{clips + 4} needed ({clips} to clone from, 4 to compare with)")
    clone_voice(name, found[:clips], override="licensed-data", override_note="evaluation on "
                "the project's licensed corpora", root=root, force=True, report=note)
    return found[clips:clips + 2 * count]


def _f0_agreement(source, output, rate: int) -> tuple[float, float]:
    """``(Pearson r, median difference in semitones)`` of the pYIN contours of two signals of
    about equal length, over the frames voiced in both (NaN when fewer than 10)."""
    import numpy as np

    from tts.prosody import pitch_track

    f_src, v_src = pitch_track(source, rate)
    f_out, v_out = pitch_track(output, rate)
    n = min(len(f_src), len(f_out))
    both = v_src[:n] & v_out[:n]
    if both.sum() < 10:
        return float("nan"), float("nan")
    a = 12 * np.log2(f_src[:n][both])
    b = 12 * np.log2(f_out[:n][both])
    return float(np.corrcoef(a, b)[0, 1]), float(np.median(b - a))


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert held-out speakers into each voice; one table row per voice."""
    from tts.errors import ConfigError

    if not args.voice and not args.clone:
        raise ConfigError("nothing to convert into: give --voice NAME... or --clone SPEAKER")
    if args.clone_clips < 1:
        raise ConfigError(f"--clone-clips must be at least 1, got {args.clone_clips}")
    with tempfile.TemporaryDirectory(prefix="voxclone-convert-") as root:
        return _convert_all(args, Path(root))


def _convert_all(args: argparse.Namespace, root: Path) -> int:
    """``cmd_convert`` with ``root``, a folder for the clones' profiles."""
    import numpy as np

    from cloning.encoder import average_embeddings
    from cloning.pretrained import load_resemblyzer
    from tts.audio import load_audio
    from tts.convert import convert
    from tts.errors import DataError
    from tts.metrics import Transcriber, dnsmos, word_error_rate
    from tts.text import normalize
    from tts.voices import find_voice, voice_engine

    set_threads(args.threads)
    sources = [u for u in _source_clips(args.data, args.speakers, args.clips)
               if u.speaker not in args.clone]  # nobody is converted into their own clone
    if not sources:
        raise DataError("no held-out clips of 2-10 s found in --data")
    targets = [(name, name, None) for name in args.voice] + [  # (label, voice, real clips)
        (f"clone of {speaker}", f"clone{i + 1}", _clone_target(
            speaker, args.target_data, args.clone_clips, args.target_clips, root, f"clone{i + 1}"))
        for i, speaker in enumerate(args.clone)]
    encoder = load_resemblyzer()
    judge = Transcriber()
    note(f"{len(sources)} source clips; ASR judge {judge.name}")
    rate = 16000
    source_wavs = [load_audio(u.audio_path, rate, trim=False, normalize=False) for u in sources]
    texts = [u.text for u in sources]
    source_wer = word_error_rate(texts, [judge.transcribe(w, rate) for w in source_wavs])
    rows, report = [], {"sources": [u.id for u in sources], "judge": judge.name,
                        "timing": args.timing, "source_wer": source_wer, "voices": {}}
    for label, name, real in targets:
        engine = voice_engine(name, root, runtime="torch")
        if real is None:  # a bundled voice: its speaker's clips
            voice = find_voice(name)
            real = _target_clips(voice, args.target_data, 2 * args.target_clips)
            if len(real) < 4:
                raise DataError(f"voice {name!r}: fewer than 4 real clips of speaker "
                                f"{voice.speaker!r} in --target-data")
        half = len(real) // 2
        real_embs = encoder.embed_many([load_audio(p, rate, normalize=False) for p in real], rate)
        target = average_embeddings(real_embs[:half])
        ceiling = float((real_embs[half:] @ target).mean())
        floor = float((encoder.embed_many(source_wavs, rate) @ target).mean())
        outputs, heard, corr, shift, seconds, spent = [], [], [], [], 0.0, 0.0
        for utt, wav in zip(sources, source_wavs, strict=True):
            start = time.perf_counter()
            result = convert(engine, wav, rate,
                             transcript=utt.text if args.given_transcripts else None,
                             transcriber=judge, timing=args.timing,
                             keep_pitch=not args.own_pitch, watermark=False)
            spent += time.perf_counter() - start
            seconds += result.duration
            outputs.append(result.wav)
            if args.wavs:
                from tts.audio import save_audio

                save_audio(Path(args.wavs) / name / f"{utt.id}.wav", result.wav,
                           result.sample_rate)
            heard.append(judge.transcribe(result.wav, result.sample_rate))
            r, d = _f0_agreement(load_audio(utt.audio_path, result.sample_rate, trim=False,
                                            normalize=False), result.wav, result.sample_rate)
            corr.append(r)
            shift.append(d)
        sims = encoder.embed_many(outputs, engine.audio.sample_rate) @ target
        spoken = [engine.speak(normalize(text))[0] for text in texts]
        tts_sim = float((encoder.embed_many(spoken, engine.audio.sample_rate) @ target).mean())
        tts_wer = word_error_rate(texts, [judge.transcribe(w, engine.audio.sample_rate)
                                          for w in spoken])
        row = {"similarity": float(sims.mean()), "tts_similarity": tts_sim, "floor": floor,
               "ceiling": ceiling,
               "wer": word_error_rate(texts, heard), "tts_wer": tts_wer, "f0_corr": float(np.nanmean(corr)),
               "f0_shift": float(np.nanmedian(shift)), "x_rt": seconds / spent,
               "dnsmos": float(np.mean([dnsmos(w, engine.audio.sample_rate).ovrl
                                        for w in outputs])) if args.dnsmos else None}
        report["voices"][label] = {**row, "heard": {u.id: h for u, h in
                                                    zip(sources, heard, strict=True)}}
        note(f"{label}: {row}")
        rows.append([label, cell(row["similarity"], 3), cell(tts_sim, 3), cell(floor, 3),
                     cell(ceiling, 3), cell(row["wer"], 3), cell(tts_wer, 3),
                     cell(row["f0_corr"], 2),
                     cell(row["f0_shift"], 1), cell(row["dnsmos"], 2), cell(row["x_rt"], 1)])
    words = "the corpus transcripts" if args.given_transcripts else f"ASR ({judge.name})"
    words += f"; {args.timing} timing" + ("; the voice's own pitch" if args.own_pitch else "")
    table = (f"Speech-to-speech of {len(sources)} held-out clips ({', '.join(args.data)}); words "
             f"from {words}; WER judge {judge.name}, source recordings' own WER "
             f"{source_wer:.3f}.\n\n" + markdown_table(
                 ["voice", "similarity ↑", "its TTS", "floor (source)", "ceiling (real)",
                  "WER ↓", "its TTS WER", "F0 corr ↑", "F0 shift st", "DNSMOS ↑", "x RT ↑"], rows))
    print_table(table, args.out, report, args.json)
    return 0


def add_parsers(sub) -> None:
    """Register ``convert`` on ``evaluate.py``'s subparsers."""
    con = sub.add_parser(
        "convert", help="speech-to-speech: similarity to the target voice, WER, F0 kept",
        description="Convert clips of held-out speakers into bundled voices with 'voxclone "
                    "convert''s code; report speaker similarity to each voice's real clips "
                    "(between the source's floor and the real ceiling), ASR WER against the "
                    "source transcript, F0 contour correlation with the source and speed.")
    con.add_argument("--data", required=True, nargs="+", metavar="DIR",
                     help="prepared folders whose held-out speakers are the sources")
    con.add_argument("--target-data", required=True, nargs="+", metavar="DIR",
                     help="prepared folders holding the target voices' real clips")
    con.add_argument("--voice", nargs="*", default=list(DEFAULT_VOICES),
                     help="bundled target voices (default: %(default)s; none: only --clone)")
    con.add_argument("--speakers", type=int, default=2, help="held-out speakers per folder")
    con.add_argument("--clips", type=int, default=2, help="clips per source speaker")
    con.add_argument("--target-clips", type=int, default=8,
                     help="real clips per target for its mean embedding (as many again for "
                          "the ceiling)")
    con.add_argument("--clone", action="append", default=[], metavar="SPEAKER",
                     help="also convert into an instant clone of this --target-data speaker "
                          "(repeatable; their clips are left out of the sources)")
    con.add_argument("--clone-clips", type=int, default=3,
                     help="clips the clone is made from (default: %(default)s)")
    con.add_argument("--given-transcripts", action="store_true",
                     help="give the corpus transcripts (default: the ASR finds the words)")
    con.add_argument("--timing", choices=("phrase", "word", "own"), default="phrase",
                     help="what the output keeps of the source's timing (as convert --timing; "
                          "default: %(default)s)")
    con.add_argument("--own-pitch", action="store_true",
                     help="the voices' own intonation (as convert --own-pitch)")
    con.add_argument("--wavs", default=None, metavar="DIR", help="save every output to DIR/VOICE/")
    con.add_argument("--dnsmos", action="store_true",
                     help="add the outputs' DNSMOS OVRL (pip install 'voxclone[eval]')")
    con.add_argument("--json", action="store_true", help="print the report as JSON")
    add_out(con)
    add_threads(con)
    con.set_defaults(func=cmd_convert)
