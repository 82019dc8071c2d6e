"""The ``voxclone`` command: argparse subcommands that parse, call the library and report.

Every ``VoxcloneError`` becomes one line on stderr and exit status 2; no tracebacks for bad input.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from tts import __version__
from tts.errors import VoxcloneError, run_reporting

PROG = "voxclone"


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _read_text(args: argparse.Namespace) -> str:
    """The text to speak: the argument, ``--text-file``, or stdin when the argument is ``-``."""
    if args.text_file is not None:
        if args.text is not None:
            raise VoxcloneError("give the text either as an argument or with --text-file, not both")
        try:
            return Path(args.text_file).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise VoxcloneError(f"text file not found: {args.text_file}") from None
        except (UnicodeDecodeError, IsADirectoryError) as exc:
            raise VoxcloneError(f"cannot read text file {args.text_file}: {exc}") from None
    if args.text == "-":
        return sys.stdin.read()
    if args.text is None:
        raise VoxcloneError("nothing to say: give TEXT, --text-file FILE, or - to read stdin")
    return args.text


def _engine(args: argparse.Namespace):
    """The engine ``say`` asked for: --espeak, a named --acoustic checkpoint, or the bundled
    voice (espeak-ng when none is bundled)."""
    from tts.synthesizer import EspeakEngine, default_engine

    if args.espeak:
        return EspeakEngine(voice=args.espeak_voice)
    if args.voice is not None:
        from tts.voices import voice_engine

        if args.acoustic is not None or args.speaker is not None:
            raise VoxcloneError("--voice picks the model and speaker: leave out --acoustic and "
                                "--speaker")
        return voice_engine(args.voice, _voices_root(args), args.vocoder, emotion=args.emotion,
                            intensity=args.intensity, speed=args.speed, pitch=args.pitch)
    voice = {"speaker": args.speaker, "emotion": args.emotion, "intensity": args.intensity,
             "speed": args.speed, "pitch": args.pitch}
    if args.acoustic is None and args.vocoder is None and voice == {
            "speaker": None, "emotion": None, "intensity": 1.0, "speed": 1.0, "pitch": 0.0}:
        return default_engine()
    from tts.neural_engine import DEFAULT_ACOUSTIC, NeuralEngine
    from tts.voices import default_voice_engine

    if args.acoustic is None and args.speaker is None:
        return default_voice_engine(args.vocoder, emotion=args.emotion,
                                    intensity=args.intensity, speed=args.speed, pitch=args.pitch)
    return NeuralEngine.load(args.acoustic or DEFAULT_ACOUSTIC, args.vocoder, **voice)


def _voices_root(args: argparse.Namespace) -> Path | None:
    return Path(args.voices_dir) if getattr(args, "voices_dir", None) else None


def cmd_say(args: argparse.Namespace) -> int:
    from tts.audio import save_audio
    from tts.synthesizer import Synthesizer

    text = _read_text(args)
    synthesizer = Synthesizer(engine=_engine(args), watermark=not args.no_watermark)
    result = synthesizer.synthesize(text)
    out = save_audio(args.output, result.wav, result.sample_rate,
                     comment=_watermark_comment(result.watermarked))
    if not args.quiet:
        if synthesizer.note:
            print(f"note: {synthesizer.note}", file=sys.stderr)
        print(f"wrote {out} ({result.duration:.1f} s, {result.sample_rate} Hz, "
              f"{result.num_chunks} chunk(s), engine {result.engine})")
    return 0


def cmd_vocode(args: argparse.Namespace) -> int:
    from tts.audio import load_audio, save_audio
    from tts.vocoder import load_vocoder, resynthesize

    if args.vocoder is None:
        from tts.neural_engine import RESYNTHESIS_VOCODER

        args.vocoder = RESYNTHESIS_VOCODER
    vocoder, audio = load_vocoder(args.vocoder)
    wav = load_audio(args.input, audio.sample_rate)
    wav = resynthesize(wav, vocoder, audio, stream=args.stream)
    if not args.no_watermark:
        from tts.watermark import embed

        wav = embed(wav.detach().cpu().numpy() if hasattr(wav, "detach") else wav,
                    audio.sample_rate)
    out = save_audio(args.output, wav, audio.sample_rate,
                     comment=_watermark_comment(not args.no_watermark))
    if not args.quiet:
        print(f"wrote {out} ({len(wav) / audio.sample_rate:.1f} s through {args.vocoder})")
    return 0


def _convert_pairs(inputs: list[str], output: str) -> list[tuple[Path, Path]]:
    """``(source, output)`` files of ``convert``: one file into OUTPUT, or the audio files of
    a folder (and its subfolders) into the folder OUTPUT (same names, OUTPUT's format: .wav). Checked before any
    work: sources exist, an output file's format is one ``save_audio`` writes."""
    from tts.audio import OUTPUT_SUFFIXES, audio_files

    pairs: list[tuple[Path, Path]] = []
    out = Path(output)
    for item in map(Path, inputs):
        if item.is_dir():
            pairs += [(p, out / f"{p.stem}.wav") for p in audio_files(item)]
        elif item.is_file():
            pairs.append((item, out / f"{item.stem}.wav" if len(inputs) > 1 or out.is_dir()
                           else out))
        else:
            raise VoxcloneError(f"source not found: {item}")
    for _, target in pairs:
        if target.suffix.lower() not in OUTPUT_SUFFIXES:
            raise VoxcloneError(f"cannot write {target}: the output must end in "
                                f"{', '.join(OUTPUT_SUFFIXES)}")
    if len({t for _, t in pairs}) < len(pairs):
        raise VoxcloneError("two sources would be written to the same output name")
    return pairs


def _transcript(value: str | None) -> str | None:
    """``--transcript``: the words themselves, or a text file holding them."""
    if value is None or not Path(value).is_file():
        return value
    try:
        return Path(value).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VoxcloneError(f"cannot read transcript file {value}: {exc}") from None


def cmd_convert(args: argparse.Namespace) -> int:
    from tts.audio import load_audio, save_audio
    from tts.convert import convert
    from tts.voices import voice_engine

    pairs = _convert_pairs(args.source, args.output)
    transcript = _transcript(args.transcript)
    if transcript is not None and len(pairs) > 1:
        raise VoxcloneError("--transcript gives the words of one source: convert a folder "
                            "without it (the ASR finds the words)")
    engine = voice_engine(args.voice, _voices_root(args), args.vocoder)
    transcriber = None
    if transcript is None:
        from tts.metrics import Transcriber

        transcriber = Transcriber()
    for number, (source, target) in enumerate(pairs, 1):
        wav = load_audio(source, engine.audio.sample_rate, trim=False, normalize=False)
        label = f"{source.name} ({number}/{len(pairs)})" if len(pairs) > 1 else source.name

        def progress(done: int, total: int, label=label) -> None:
            if not args.quiet and total > 1:
                print(f"{label}: piece {done}/{total}", file=sys.stderr, flush=True)

        result = convert(engine, wav, engine.audio.sample_rate, transcript=transcript,
                         transcriber=transcriber, keep_timing=not args.own_timing,
                         keep_pitch=not args.own_pitch, pitch=args.pitch,
                         watermark=not args.no_watermark, progress=progress)
        out = save_audio(target, result.wav, result.sample_rate,
                         comment=_watermark_comment(result.watermarked))
        if not args.quiet:
            print(f"wrote {out} ({result.duration:.1f} s, voice {args.voice}, "
                  f"{result.pieces} piece(s), pitch {result.semitones:+.1f} semitones)")
    return 0


def _watermark_comment(marked: bool) -> str:
    """The comment tag saved with generated audio: says whether the watermark is in it."""
    if marked:
        return f"voxclone {__version__}; watermark: on (voxclone detect FILE)"
    return f"voxclone {__version__}; watermark: OFF (--no-watermark)"


def cmd_detect(args: argparse.Namespace) -> int:
    import json

    from tts import watermark
    from tts.audio import read_audio, to_mono
    from tts.watermark import DEFAULT_KEY, THRESHOLD, detect

    key = args.key if args.key is not None else DEFAULT_KEY
    threshold = args.threshold if args.threshold is not None else THRESHOLD
    reports = []
    for name in args.files:
        data, rate = read_audio(name)
        result = detect(to_mono(data), rate, key=key, threshold=threshold)
        reports.append({"file": name, "duration": round(len(data) / rate, 3),
                        **result.to_dict()})
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=2))
        return 0
    for r in reports:
        if r["present"]:
            where = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in r["segments"])
            payload = (f"payload {r['payload']} (0x{r['payload']:04x})"
                       if r["payload"] is not None else
                       f"payload unreadable (margin {r['payload_margin']:.1f} is under "
                       f"{watermark.PAYLOAD_MIN_MARGIN:.1f})")
            print(f"{r['file']}: watermark PRESENT (score {r['score']:.1f}, threshold "
                  f"{r['threshold']:.1f}), {payload}, at {where}")
        else:
            print(f"{r['file']}: no watermark (score {r['score']:.1f}, threshold "
                  f"{r['threshold']:.1f})")
    return 0


def cmd_text(args: argparse.Namespace) -> int:
    from tts.text import normalize, to_phonemes

    text = _read_text(args)
    words = normalize(text)
    print(words)
    if args.phonemes:
        tokens = to_phonemes(words, backend=args.backend, language=args.language,
                             normalize_text=False)
        sep = " " if args.backend == "g2p_en" else ""
        print(sep.join("|" if t == " " else t for t in tokens))
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from data.prepare import prepare

    options = {k: v for k, v in (("speaker", args.speaker), ("mic", args.mic)) if v is not None}
    summary = prepare(args.recipe, Path(args.src), Path(args.out), backend=args.backend,
                      language=args.language, workers=args.workers,
                      val_fraction=args.val_fraction, min_duration=args.min_duration,
                      max_duration=args.max_duration, seed=args.seed, limit=args.limit,
                      progress=not args.quiet, **options)
    print(summary.format())
    return 0


def cmd_clone(args: argparse.Namespace) -> int:
    from cloning.clone import clone_voice
    from tts.voices import bundled_voices

    if any(v.name == args.name for v in bundled_voices()):
        raise VoxcloneError(f"{args.name!r} is a bundled voice: choose another name")
    report = (lambda line: None) if args.quiet else print
    clone_voice(args.name, args.audio, consent=args.consent, override=args.override,
                override_note=args.override_note or "", transcripts=args.transcripts,
                minutes=args.minutes, acoustic=args.acoustic, root=_voices_root(args),
                force=args.force, report=report, progress=not args.quiet)
    if not args.quiet:
        print(f"speak with: voxclone say --voice {args.name} \"TEXT\"")
    return 0


def cmd_voices(args: argparse.Namespace) -> int:
    from tts.voices import list_voices

    rows = list_voices(_voices_root(args))
    if args.json:
        import json

        print(json.dumps(rows, indent=1))
        return 0
    if not rows:
        print("no voices: the bundled ones are missing and none has been cloned")
    for row in rows:
        emotions = ", ".join(row["emotions"]) or "-"
        print(f"{row['name']:<20} {row['kind']:<8} {row['license']:<34} emotions: {emotions}")
        print(f"{'':<20} {row['description']}")
    return 0


def cmd_gta(args: argparse.Namespace) -> int:
    from tts.training.gta import write_gta_mels

    count = write_gta_mels(args.acoustic, args.data, args.out)
    print(f"wrote {count} ground-truth-aligned mels to {args.out} (train a vocoder on them with "
          f"'voxclone train vocoder {args.data} RUN -c CFG --mel-dir {args.out}')")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from cloning.corpus_embeddings import embed_prepared
    from cloning.encoder import load_default, load_encoder

    encoder = load_encoder(args.encoder) if args.encoder else load_default()
    for folder in args.data:
        path = embed_prepared(folder, encoder)
        print(f"wrote {path}")
    return 0


def cmd_pitch(args: argparse.Namespace) -> int:
    from data.pitch import pitch_prepared

    for folder in args.data:
        path = pitch_prepared(folder, workers=args.workers)
        print(f"wrote {path}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from tts.config import load_yaml
    from tts.training.run import RunOptions

    options = RunOptions(resume=args.resume, max_steps=args.max_steps, accelerator=args.accelerator,
                         devices=args.devices, strategy=args.strategy, num_nodes=args.num_nodes,
                         precision=args.precision, fast_dev_run=args.fast_dev_run,
                         progress=not args.quiet)
    if args.model == "encoder":
        from tts.training.encoder_task import EncoderExperimentConfig, train

        final = train(load_yaml(EncoderExperimentConfig, args.config), args.data, args.out,
                      options, init_from=args.init)
    elif args.model == "acoustic":
        from tts.training.acoustic_task import AcousticExperimentConfig, train

        final = train(load_yaml(AcousticExperimentConfig, args.config), args.data, args.out,
                      options, init_from=args.init)
    else:
        from tts.training.vocoder_task import VocoderExperimentConfig, train

        final = train(load_yaml(VocoderExperimentConfig, args.config), args.data, args.out,
                      options, mel_dir=args.mel_dir, init_from=args.init)
    print(f"training checkpoint: {final}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from tts.training.run import export

    out = export(args.checkpoint, args.output, half=not args.fp32)
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, weights only)")
    return 0


def _devices(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _recipe_help() -> str:
    from data.recipes import recipe_descriptions

    return "recipes:\n" + "\n".join(f"  {line}" for line in recipe_descriptions().splitlines())


def _add_voices_dir(parser: argparse.ArgumentParser, what: str) -> None:
    """``--voices-dir DIR``: the cloned voices' folder (``tts.profiles.voices_dir``)."""
    parser.add_argument("--voices-dir", default=None, metavar="DIR",
                        help=f"{what} (default: $VOXCLONE_VOICES or "
                             "~/.local/share/voxclone/voices)")


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    """``--no-watermark`` and ``-q`` of the commands that write generated audio."""
    parser.add_argument("--no-watermark", action="store_true",
                        help="do not watermark the output (recorded in the file's comment tag)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Multi-speaker text-to-speech with few-shot voice cloning. "
                    "Every subcommand has its own --help.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    say = sub.add_parser("say", help="speak text into a wav file",
                         description="Speak TEXT (or a text file, or stdin) into a wav file. "
                                     "Text of any length is split into sentences.")
    say.add_argument("text", nargs="?", metavar="TEXT", help="what to say; - reads stdin")
    say.add_argument("-f", "--text-file", metavar="FILE", help="read the text from FILE (UTF-8)")
    say.add_argument("-o", "--output", default="out.wav", metavar="WAV",
                     help="output file (default: %(default)s)")
    say.add_argument("--espeak-voice", default="en-us", metavar="LANG",
                     help="espeak-ng voice of the fallback engine (default: %(default)s)")
    say.add_argument("--acoustic", default=None, metavar="CKPT",
                     help="acoustic model checkpoint (default: the bundled voice)")
    say.add_argument("--vocoder", default=None, metavar="CKPT",
                     help="vocoder checkpoint, or griffinlim (default: the bundled vocoder)")
    say.add_argument("--voice", default=None, metavar="NAME",
                     help="a bundled or cloned voice (see 'voxclone voices')")
    _add_voices_dir(say, "where cloned voices live")
    say.add_argument("--speaker", default=None, help="a training speaker of the model")
    say.add_argument("--emotion", default=None, help="a named emotion the model learned")
    say.add_argument("--intensity", type=float, default=1.0,
                     help="emotion strength, 0 (neutral) to 2 (default: 1)")
    say.add_argument("--speed", type=float, default=1.0, help="speaking rate, 0.25 to 4")
    say.add_argument("--pitch", type=float, default=0.0, metavar="SEMITONES",
                     help="move the voice up or down, -12 to 12 semitones (models trained "
                          "with pitch)")
    say.add_argument("--espeak", action="store_true",
                     help="use the espeak-ng formant fallback instead of the neural voice")
    _add_output_flags(say)
    say.set_defaults(func=cmd_say)

    vocode = sub.add_parser("vocode", help="resynthesize audio through a vocoder (mel -> wav)",
                            description="Compute the mel of INPUT and turn it back into audio "
                                        "with a vocoder: a quick listening check of a vocoder.")
    vocode.add_argument("input", metavar="INPUT", help="audio file (wav/flac/ogg/mp3)")
    vocode.add_argument("-o", "--output", default="vocoded.wav", metavar="WAV",
                        help="output file (default: %(default)s)")
    vocode.add_argument("--vocoder", default=None, metavar="CKPT",
                        help="vocoder checkpoint, or griffinlim (default: the bundled "
                             "checkpoints/vocoder/sourcefilter.pt)")
    vocode.add_argument("--stream", action="store_true", help="vocode in chunks, as streaming")
    _add_output_flags(vocode)
    vocode.set_defaults(func=cmd_vocode)

    conv = sub.add_parser(
        "convert", help="speech-to-speech: say a recording's words in another voice",
        description="Keep the words, timing and intonation of SOURCE (a file, or a folder of "
                    "files) and give them another voice: a bundled voice or a clone. The words "
                    "come from --transcript or an offline ASR (Whisper); the voice's model "
                    "speaks them with the source's phone durations and its pitch contour moved "
                    "into the voice's range. Output is watermarked like every output.")
    conv.add_argument("source", nargs="+", metavar="SOURCE",
                      help="audio file(s) or folder(s) (wav/flac/ogg/mp3)")
    conv.add_argument("--voice", required=True, help="target voice (voxclone voices)")
    conv.add_argument("-o", "--output", default="converted.wav", metavar="OUT",
                      help="output file (.wav/.flac/.ogg), or a folder for several sources "
                           "(default: %(default)s)")
    conv.add_argument("--transcript", default=None, metavar="TEXT|FILE",
                      help="the words of a single source, or a text file with them (default: "
                           "the ASR finds them)")
    conv.add_argument("--pitch", type=float, default=0.0, metavar="SEMITONES",
                      help="move the result's pitch further (default 0)")
    conv.add_argument("--own-pitch", action="store_true",
                      help="the voice's own intonation instead of the source's contour")
    conv.add_argument("--own-timing", action="store_true",
                      help="the voice's own phone durations instead of the source's")
    conv.add_argument("--vocoder", default=None, metavar="CKPT",
                      help="vocoder checkpoint (default: the voice's)")
    _add_voices_dir(conv, "where cloned voices live")
    _add_output_flags(conv)
    conv.set_defaults(func=cmd_convert)

    det = sub.add_parser("detect", help="check audio files for the voxclone watermark",
                         description="For each FILE: whether the voxclone watermark is present, "
                                     "its score, its payload (or 'unreadable' when the payload "
                                     "is too damaged to trust) and where in time it was found.")
    det.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav/flac/ogg/mp3)")
    det.add_argument("--json", action="store_true", help="print JSON")
    det.add_argument("--key", default=None, help="watermark key (default: voxclone's public key)")
    det.add_argument("--threshold", type=float, default=None,
                     help="score needed to call a mark present (default: the calibrated one)")
    det.set_defaults(func=cmd_detect)

    text = sub.add_parser("text", help="show how text is normalized and phonemized",
                          description="Print TEXT as it will be spoken (numbers, dates, "
                                      "abbreviations in words) and, with -p, its phonemes.")
    text.add_argument("text", nargs="?", metavar="TEXT", help="text; - reads stdin")
    text.add_argument("-f", "--text-file", metavar="FILE", help="read the text from FILE")
    text.add_argument("-p", "--phonemes", action="store_true", help="also print phonemes "
                      "(| marks word boundaries)")
    text.add_argument("--backend", choices=("g2p_en", "espeak"), default="g2p_en",
                      help="phonemizer: g2p_en (ARPAbet, English) or espeak (IPA, any language)")
    text.add_argument("--language", default="en-us", help="espeak language (default: en-us)")
    text.set_defaults(func=cmd_text)

    prep = sub.add_parser("prepare", help="build a training manifest from a corpus",
                          description="Validate, resample and cache mels and phonemes of a "
                                      "corpus into OUT (manifest.jsonl, train.jsonl, val.jsonl).",
                          epilog=_recipe_help(), formatter_class=argparse.RawTextHelpFormatter)
    prep.add_argument("recipe", metavar="RECIPE", help="corpus layout (see the list below)")
    prep.add_argument("src", metavar="SRC", help="corpus folder")
    prep.add_argument("out", metavar="OUT", help="output folder")
    prep.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
    prep.add_argument("--val-fraction", type=float, default=0.05,
                      help="share of each speaker's utterances for validation (default: 0.05)")
    prep.add_argument("--backend", choices=("g2p_en", "espeak"), default="g2p_en",
                      help="phonemizer (default: g2p_en)")
    prep.add_argument("--language", default="en-us", help="espeak language (default: en-us)")
    prep.add_argument("--min-duration", type=float, default=0.5,
                      help="skip clips shorter than this many seconds after trimming")
    prep.add_argument("--max-duration", type=float, default=30.0,
                      help="skip clips longer than this many seconds")
    prep.add_argument("--limit", type=int, default=None, help="use only the first N utterances")
    prep.add_argument("--seed", type=int, default=0, help="seed of the train/validation split")
    prep.add_argument("--speaker", default=None, help="speaker name (folder recipe)")
    prep.add_argument("--mic", default=None, choices=("mic1", "mic2"), help="VCTK microphone")
    prep.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    prep.set_defaults(func=cmd_prepare)

    clo = sub.add_parser(
        "clone", help="clone a voice from reference audio (needs the speaker's consent)",
        description="Build a voice profile from reference audio. Zero-shot (default): seconds of "
                    "speech, instant. Few-shot (--minutes N): minutes of speech, the acoustic "
                    "model is fine-tuned within N minutes in all. Cloning needs a consent "
                    "recording of the speaker reading the sentence 'voxclone clone --name NAME' "
                    "prints, or a named override.")
    clo.add_argument("--name", required=True, help="voice name (letters, digits, - and _)")
    clo.add_argument("--audio", required=True, nargs="+", metavar="FILE_OR_DIR",
                     help="reference audio files or folders (wav, flac, ogg, mp3)")
    clo.add_argument("--consent", default=None, metavar="FILE",
                     help="the speaker reading the consent sentence")
    clo.add_argument("--override", default=None, choices=("own-voice", "licensed-data"),
                     help="skip the consent recording for your own voice or licensed data "
                          "(recorded in the profile)")
    clo.add_argument("--override-note", default=None, metavar="TEXT",
                     help="whose voice, or which licence (required with --override)")
    clo.add_argument("--transcripts", default=None, metavar="FILE",
                     help="few-shot: 'file|text' lines for the reference clips (default: "
                          "Whisper hears them; clips it is unsure of are left out, and the "
                          "clone is refused if too little speech remains)")
    clo.add_argument("--minutes", type=float, default=None,
                     help="few-shot: fine-tune, with this time budget for the whole clone")
    clo.add_argument("--acoustic", default=None, metavar="CKPT",
                     help="multi-speaker base model (default: the bundled one)")
    _add_voices_dir(clo, "where to save the voice")
    clo.add_argument("--force", action="store_true", help="replace a voice of the same name")
    clo.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    clo.set_defaults(func=cmd_clone)

    vcs = sub.add_parser("voices", help="list the bundled and cloned voices and their emotions")
    vcs.add_argument("--voices-dir", default=None, metavar="DIR", help="cloned voices folder")
    vcs.add_argument("--json", action="store_true", help="JSON output")
    vcs.set_defaults(func=cmd_voices)

    emb = sub.add_parser("embed", help="speaker embeddings of a prepared folder (multi-speaker "
                         "training)", description="Embed every utterance of each prepared folder "
                         "with the speaker encoder into DATA/speaker_embeddings.npz.")
    emb.add_argument("data", metavar="DATA", nargs="+", help="prepared folder(s)")
    emb.add_argument("--encoder", default=None, metavar="CKPT",
                     help="speaker encoder checkpoint (default: the bundled one)")
    emb.set_defaults(func=cmd_embed)

    pit = sub.add_parser("pitch", help="pitch tracks of a prepared folder (acoustic models with "
                         "model.pitch)", description="Track F0 (pYIN) on every utterance's mel "
                         "frames into DATA/pitch.npz, the pitch targets of acoustic training.")
    pit.add_argument("data", metavar="DATA", nargs="+", help="prepared folder(s)")
    pit.add_argument("--workers", type=int, default=1, metavar="N",
                     help="processes (default 1)")
    pit.set_defaults(func=cmd_pitch)

    gta = sub.add_parser("gta", help="ground-truth-aligned mels of an acoustic model (vocoder "
                         "fine-tuning)", description="Predict every clip's mel with the acoustic "
                         "model, teacher-forced on the clip's own alignment, into OUT/ID.npy.")
    gta.add_argument("acoustic", metavar="CKPT", help="acoustic checkpoint (duration decoder)")
    gta.add_argument("data", metavar="DATA", help="prepared folder of the model's speakers")
    gta.add_argument("out", metavar="OUT", help="folder for the mels")
    gta.set_defaults(func=cmd_gta)

    train = sub.add_parser("train", help="train a model with Lightning (TensorBoard, resumable)",
                           description="Train a model on a prepared folder. Checkpoints go to "
                                       "OUT/checkpoints every N steps; --resume continues a run.")
    train.add_argument("model", choices=("acoustic", "vocoder", "encoder"), help="what to train")
    train.add_argument("data", metavar="DATA", nargs="+",
                       help="prepared folder(s) (voxclone prepare), one or more")
    train.add_argument("out", metavar="OUT", help="run folder (checkpoints, tensorboard)")
    train.add_argument("-c", "--config", required=True, metavar="YAML",
                       help="experiment config, e.g. configs/vocoder/istft_small.yaml")
    train.add_argument("--resume", action="store_true", help="continue the run in OUT")
    train.add_argument("--init", default=None, metavar="CKPT",
                       help="start a new run from these weights (fine-tuning)")
    train.add_argument("--max-steps", type=int, default=None, help="override the config's max_steps")
    train.add_argument("--mel-dir", default=None, help="vocoder: train on these mels (ID.npy), "
                       "e.g. ground-truth-aligned mels predicted by the acoustic model")
    train.add_argument("--accelerator", default="auto", help="cpu, gpu, auto (default: auto)")
    train.add_argument("--devices", type=_devices, default=1, help="devices per node, or 'auto'")
    train.add_argument("--strategy", default="auto", help="Lightning strategy, e.g. ddp")
    train.add_argument("--num-nodes", type=int, default=1, help="nodes for multi-node DDP")
    train.add_argument("--precision", default=None, help="e.g. 32-true, bf16-mixed, 16-mixed")
    train.add_argument("--fast-dev-run", action="store_true", help="one batch of each, to check")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_train)

    exp = sub.add_parser("export", help="compact inference checkpoint from a training one",
                         description="Keep only the model weights (fp16) and its configs.")
    exp.add_argument("checkpoint", metavar="CKPT", help="training checkpoint")
    exp.add_argument("output", metavar="OUT", help="inference checkpoint to write")
    exp.add_argument("--fp32", action="store_true", help="keep float32 weights")
    exp.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = warnings.showwarning
    warnings.showwarning = _print_warning
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s: %(message)s")
    try:
        return run_reporting(PROG, lambda: args.func(args))
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":
    raise SystemExit(main())
