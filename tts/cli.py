"""The ``voxclone`` command: argparse subcommands that parse, call the library and report.

Every ``VoxcloneError`` becomes one line on stderr and exit status 2; no tracebacks for bad input.
"""

from __future__ import annotations

import argparse
import logging
import os
import stat
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from tts import __version__
from tts.errors import VoxcloneError, run_reporting

PROG = "voxclone"


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _piped_stdin() -> bool:
    """Whether text is piped or redirected into standard input (a pipe, a file or a socket;
    not a terminal, not /dev/null, not a stand-in without a file descriptor)."""
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return False
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def _read_text(args: argparse.Namespace) -> str:
    """The text to speak: the argument, ``--text-file``, or stdin when the argument is ``-``
    or when there is none and text is piped in."""
    if args.text_file is not None:
        if args.text is not None:
            raise VoxcloneError("give the text either as an argument or with --text-file, not both")
        try:
            return Path(args.text_file).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise VoxcloneError(f"text file not found: {args.text_file}") from None
        except (UnicodeDecodeError, IsADirectoryError) as exc:
            raise VoxcloneError(f"cannot read text file {args.text_file}: {exc}") from None
    if args.text == "-" or (args.text is None and _piped_stdin()):
        try:
            return sys.stdin.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise VoxcloneError(f"cannot read the text from standard input: {exc}") from None
    if args.text is None:
        raise VoxcloneError("nothing to say: give TEXT, --text-file FILE, or pipe text into "
                            "standard input")
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
                            intensity=args.intensity, speed=args.speed, pitch=args.pitch,
                            runtime=args.runtime)
    voice = {"speaker": args.speaker, "emotion": args.emotion, "intensity": args.intensity,
             "speed": args.speed, "pitch": args.pitch}
    if args.acoustic is None and args.vocoder is None and args.runtime == "auto" and voice == {
            "speaker": None, "emotion": None, "intensity": 1.0, "speed": 1.0, "pitch": 0.0}:
        return default_engine()
    from tts.bundled import DEFAULT_ACOUSTIC
    from tts.voices import default_voice_engine

    if args.acoustic is None and args.speaker is None:
        return default_voice_engine(args.vocoder, emotion=args.emotion,
                                    intensity=args.intensity, speed=args.speed, pitch=args.pitch,
                                    runtime=args.runtime)
    from tts.voices import resolve_runtime

    if resolve_runtime(args.runtime, args.acoustic or DEFAULT_ACOUSTIC, args.vocoder) == "onnx":
        from tts.onnx.runtime import load_engine

        return load_engine(args.acoustic or DEFAULT_ACOUSTIC, args.vocoder, **voice)
    from tts.neural_engine import NeuralEngine

    return NeuralEngine.load(args.acoustic or DEFAULT_ACOUSTIC, args.vocoder, **voice)


def _add_runtime(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runtime", default="auto", choices=("auto", "torch", "onnx"),
                        help="what runs the models: torch, or onnxruntime from the graphs "
                             "'voxclone export --onnx' writes (docs/onnx.md); auto (default): "
                             "onnxruntime when that export is there and current, else torch")


def _voices_root(args: argparse.Namespace) -> Path | None:
    return Path(args.voices_dir) if getattr(args, "voices_dir", None) else None


class _SayOutput:
    """Where ``say`` writes, checked before anything is synthesized: a file (its folder made
    if missing, and removed again by ``discard`` when nothing was written) or, for ``-o -``,
    standard output. ``fmt``: ``wav``, ``flac``, ``ogg`` or ``raw``."""

    def __init__(self, output: str | None, raw: bool) -> None:
        from tts.synthesizer import ENCODINGS, RAW_SUFFIXES

        self.path = None if output == "-" else Path(output or ("out.raw" if raw else "out.wav"))
        self.created: list[Path] = []
        if self.path is None:
            if sys.stdout is None or sys.stdout.isatty():
                raise VoxcloneError("refusing to write audio to a terminal: redirect standard "
                                    "output (-o - > out.wav, or into a pipe) or give -o FILE")
            self.fmt = "raw" if raw else "wav"
            return
        if self.path.is_dir():
            raise VoxcloneError(f"cannot write {self.path}: it is a folder")
        suffix = self.path.suffix.lower()
        allowed = RAW_SUFFIXES if raw else tuple(k for k in ENCODINGS if k not in RAW_SUFFIXES)
        if suffix not in allowed:
            either = f"{', '.join(allowed[:-1])} or {allowed[-1]}"
            raise VoxcloneError(
                f"cannot write {self.path}: " + (
                    f"--raw writes headerless 16-bit PCM: name the file {either}" if raw else
                    f"the output must end in {either} (--raw for 16-bit PCM, -o - for "
                    "standard output)"))
        self.fmt = ENCODINGS[suffix][0].lower()
        self._check_folder(self.path.parent)

    def _check_folder(self, folder: Path) -> None:
        """Make ``folder`` if missing (remembering what was made) and check that a file can
        be created in it; one-line ``VoxcloneError`` otherwise."""
        import tempfile

        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        try:
            for made in reversed(missing):
                made.mkdir()
                self.created.append(made)
            fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".probe")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            self.discard()
            where = f"cannot create folder {exc.filename}: " if missing and exc.filename else ""
            raise VoxcloneError(f"cannot write {self.path}: {where}"
                                f"{exc.strerror or exc}") from None

    def write(self, result) -> str:
        """Write ``result`` (a ``SynthesisResult``); returns where it went, for the report."""
        if self.path is not None:
            return str(result.save(self.path))
        data = memoryview(result.encode(self.fmt))
        try:
            sys.stdout.flush()
            try:
                fd = sys.stdout.fileno()
            except (OSError, ValueError):  # a stand-in without a descriptor (tests)
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
                return "standard output"
            while data:  # a pipe can take less than all: write until done or refused
                data = data[os.write(fd, data):]
        except BrokenPipeError:
            # the reader left: point stdout at /dev/null so that exiting does not fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise VoxcloneError("standard output was closed before all the audio was "
                                "written") from None
        return "standard output"

    def discard(self) -> None:
        """Remove the folders made for the output (those still empty), newest first."""
        for folder in reversed(self.created):
            try:
                folder.rmdir()
            except OSError:
                break
        self.created = []


def _say_progress(args: argparse.Namespace):
    """``progress(done, total)`` for ``Synthesizer.speak``: one updating line on stderr for a
    text of several chunks; None (silent) with ``-q`` or when stderr is not a terminal."""
    if args.quiet or sys.stderr is None or not sys.stderr.isatty():
        return None

    def progress(done: int, total: int) -> None:
        if total > 1:
            end = "\n" if done == total else ""
            print(f"\r{PROG}: spoken {done}/{total} chunks", end=end, file=sys.stderr,
                  flush=True)

    return progress


def cmd_say(args: argparse.Namespace) -> int:
    from tts.synthesizer import Synthesizer

    output = _SayOutput(args.output, args.raw)
    try:
        text = _read_text(args)
        synthesizer = Synthesizer(engine=_engine(args), watermark=not args.no_watermark)
        result = synthesizer.synthesize(text, progress=_say_progress(args))
        where = output.write(result)
    except BaseException:
        output.discard()
        raise
    if not args.quiet:
        if synthesizer.note:
            print(f"note: {synthesizer.note}", file=sys.stderr)
        kind = ", 16-bit PCM without header" if output.fmt == "raw" else ""
        print(f"wrote {where} ({result.duration:.1f} s, {result.sample_rate} Hz{kind}, "
              f"{result.num_chunks} chunk(s), engine {result.engine})",
              file=sys.stdout if output.path is not None else sys.stderr)
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
    # the model's aligner and forced timing and pitch run in PyTorch only (no ONNX graph has them)
    engine = voice_engine(args.voice, _voices_root(args), args.vocoder, runtime="torch")
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
                         transcriber=transcriber, timing=args.timing,
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
    from tts.synthesizer import watermark_comment

    return watermark_comment(marked)


def cmd_detect(args: argparse.Namespace) -> int:
    import json

    from tts import watermark
    from tts.audio import read_audio, to_mono
    from tts.spoof.detector import DEFAULT_DETECTOR, load_detector
    from tts.spoof.score import score_file
    from tts.watermark import DEFAULT_KEY, THRESHOLD, detect

    key = args.key if args.key is not None else DEFAULT_KEY
    threshold = args.threshold if args.threshold is not None else THRESHOLD
    detector = load_detector(args.detector or DEFAULT_DETECTOR)
    reports = []
    for name in args.files:
        data, rate = read_audio(name)
        result = detect(to_mono(data), rate, key=key, threshold=threshold)
        reports.append({"file": name, "duration": round(len(data) / rate, 3),
                        **result.to_dict(),
                        "synthetic_speech": score_file(name, detector).to_dict()})
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
            mark = (f"watermark PRESENT (score {r['score']:.1f}, threshold "
                    f"{r['threshold']:.1f}), {payload}, at {where}")
        else:
            mark = f"no watermark (score {r['score']:.1f}, threshold {r['threshold']:.1f})"
        print(f"{r['file']}: {mark}; {_synthetic_line(r['synthetic_speech'], r['duration'])}")
    return 0


def _synthetic_line(s: dict, duration: float) -> str:
    """The detector's verdict on one file (``tts.spoof.score.SpoofReport.to_dict``) as text."""
    if s["score"] is None:
        return f"synthetic speech: {s['status']}"
    verdict = "LIKELY SYNTHETIC" if s["synthetic"] else "no sign of synthesis"
    line = (f"synthetic speech: {verdict} (score {s['score']:.2f}, threshold "
            f"{s['threshold']:.2f})")
    if s["segments"] and duration > 10:
        spans = [f"{a:.0f}-{b:.0f} s" for a, b in s["segments"]]
        more = f" and {len(spans) - 8} more" if len(spans) > 8 else ""
        line += f"; high at {', '.join(spans[:8])}{more}"
    return line


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
                minutes=args.minutes, tier=args.tier, acoustic=args.acoustic,
                root=_voices_root(args),
                force=args.force, report=report)
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


def cmd_serve(args: argparse.Namespace) -> int:
    from tts.server.config import ServerConfig
    from tts.server.run import serve

    if not args.port.isdigit() or int(args.port) > 65535:
        raise VoxcloneError(f"--port must be a whole number from 0 to 65535, got {args.port!r}")
    config = ServerConfig(host=args.host, port=int(args.port), workers=args.workers,
                          max_queue=args.max_queue, max_chars=args.max_chars,
                          max_body_bytes=args.max_body, torch_threads=args.threads,
                          voices_dir=_voices_root(args), runtime=args.runtime)

    def say(line: str) -> None:
        print(f"{PROG}: {line}", file=sys.stderr, flush=True)

    serve(config, preload=args.preload, log_level=args.log_level, say=say)
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
    if args.onnx and args.average:
        raise VoxcloneError("--average is for CKPT OUT (an inference checkpoint), not --onnx")
    if args.onnx:
        return _export_onnx(args)
    if args.voice or args.acoustic or args.vocoder:
        raise VoxcloneError("--voice, --acoustic and --vocoder choose what --onnx exports: add "
                            "--onnx, or give CKPT OUT only")
    if args.checkpoint is None or args.output is None:
        raise VoxcloneError("give CKPT and OUT (a training checkpoint and the inference "
                            "checkpoint to write), or --onnx")
    from tts.training.run import export

    out = export(args.checkpoint, args.output, half=not args.fp32, average=args.average)
    mean = f", the mean of {1 + len(args.average)} checkpoints" if args.average else ""
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, weights only{mean})")
    return 0


def _export_onnx(args: argparse.Namespace) -> int:
    """``export --onnx``: the acoustic model and vocoder of a voice (or of --acoustic) as ONNX
    graphs in OUT_DIR (the ``checkpoint`` positional), default the cache folder."""
    if args.fp32:
        raise VoxcloneError("--fp32 is for checkpoints: ONNX graphs are always float32")
    if args.output is not None:
        raise VoxcloneError("with --onnx give at most one folder (OUT_DIR)")
    if args.voice is not None and args.acoustic is not None:
        raise VoxcloneError("--voice picks the model: leave out --acoustic")
    from tts.bundled import DEFAULT_ACOUSTIC
    from tts.onnx.export import export_onnx
    from tts.voices import DEFAULT_VOICE, bundled_voices, find_voice

    if args.acoustic is not None:
        acoustic = Path(args.acoustic)
    elif args.voice is not None or any(v.name == DEFAULT_VOICE for v in bundled_voices()):
        acoustic = find_voice(args.voice or DEFAULT_VOICE, _voices_root(args)).acoustic
    else:
        acoustic = DEFAULT_ACOUSTIC
    def starting(acoustic: Path, vocoder: Path) -> None:
        if not args.quiet:
            print(f"exporting {acoustic.name} and {vocoder.name} to ONNX (a minute or two)",
                  file=sys.stderr)

    exported = export_onnx(acoustic, args.vocoder, args.checkpoint, on_start=starting)
    manifest, checked = exported.manifest, exported.manifest["checked"]
    size = sum(f.stat().st_size for f in exported.folder.iterdir()) / 2**20
    print(f"wrote {exported.folder} ({size:.1f} MiB): {Path(manifest['acoustic']['path']).name}"
          f" + {Path(manifest['vocoder']['path']).name}, opset {manifest['opset']}; against "
          f"PyTorch: mel error {checked['mel_max_abs']:.1e}, audio SNR "
          f"{checked['audio_snr_db']:.1f} dB")
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
                         description="Speak TEXT (or a text file, or text piped into standard "
                                     "input) into a sound file, or to standard output with "
                                     "-o -. Text of any length is split into sentences.",
                         epilog="examples:\n  voxclone say \"Hello there.\" -o hello.wav\n"
                                "  echo \"Hello there.\" | voxclone say -o hello.wav\n"
                                "  voxclone say \"Hello.\" -o - | aplay\n"
                                "  voxclone say \"Hello.\" --raw -o - | aplay -f S16_LE -r 22050",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    say.add_argument("text", nargs="?", metavar="TEXT",
                     help="what to say; - (or no TEXT when text is piped in) reads stdin")
    say.add_argument("-f", "--text-file", metavar="FILE", help="read the text from FILE (UTF-8)")
    say.add_argument("-o", "--output", default=None, metavar="FILE",
                     help="output file: .wav, .flac or .ogg (.raw or .pcm with --raw); - writes "
                          "to standard output (default: out.wav, out.raw with --raw)")
    say.add_argument("--raw", action="store_true",
                     help="write headerless 16-bit little-endian mono PCM at the voice's rate "
                          "(22050 Hz for the bundled voices) instead of a sound file")
    say.add_argument("--espeak-voice", default="en-us", metavar="LANG",
                     help="espeak-ng voice of the fallback engine (default: %(default)s)")
    say.add_argument("--acoustic", default=None, metavar="CKPT",
                     help="acoustic model checkpoint (default: the bundled voice)")
    _add_runtime(say)
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
                    "speaks them with the source's pauses and phrase lengths and its pitch "
                    "contour moved into the voice's range. Output is watermarked like every "
                    "output.")
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
    conv.add_argument("--timing", choices=("phrase", "word", "own"), default="phrase",
                      help="what the output keeps of the source's timing: its pauses and the "
                           "length of each phrase between them (default; loses the fewest "
                           "words), each word's length (closer lip sync), or nothing (the "
                           "voice's own timing)")
    conv.add_argument("--own-timing", dest="timing", action="store_const", const="own",
                      help="the same as --timing own")
    conv.add_argument("--vocoder", default=None, metavar="CKPT",
                      help="vocoder checkpoint (default: the voice's)")
    _add_voices_dir(conv, "where cloned voices live")
    _add_output_flags(conv)
    conv.set_defaults(func=cmd_convert)

    det = sub.add_parser("detect", help="check audio files for the voxclone watermark and for "
                                        "signs of synthetic speech",
                         description="For each FILE: whether the voxclone watermark is present, "
                                     "its score, its payload (or 'unreadable' when the payload "
                                     "is too damaged to trust) and where in time it was found; "
                                     "and, from any synthesizer, a calibrated synthetic-speech "
                                     "score (tts.spoof; docs/detector.md) with, for files over "
                                     "10 s, the times where it is high.")
    det.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav/flac/ogg/mp3)")
    det.add_argument("--json", action="store_true", help="print JSON")
    det.add_argument("--key", default=None, help="watermark key (default: voxclone's public key)")
    det.add_argument("--threshold", type=float, default=None,
                     help="score needed to call a mark present (default: the calibrated one)")
    det.add_argument("--detector", default=None, metavar="CKPT",
                     help="synthetic-speech detector checkpoint, its .json calibration beside it "
                          "(default: the shipped checkpoints/spoof/detector.pt)")
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
        description="Build a voice profile from reference audio, in one of three tiers. "
                    "instant (default): seconds of speech, the speaker encoder's embedding. "
                    "quick: about a minute of speech, a small adapter (the decoder's output "
                    "layer) fitted to it under the frozen model (2 minutes). few-shot: a few "
                    "minutes of speech, the model fine-tuned on it (--minutes N in all, default "
                    "10). Every voice is "
                    "measured before it is saved, and a higher tier that speaks worse than the "
                    "instant voice is not kept. Cloning needs a consent recording of the "
                    "speaker reading the sentence 'voxclone clone --name NAME' prints, or a "
                    "named override.")
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
                     help="quick and few-shot: 'file|text' lines for the reference clips (default: "
                          "Whisper hears them; clips it is unsure of are left out, and the "
                          "clone is refused if too little speech remains)")
    clo.add_argument("--tier", default=None, choices=("instant", "quick", "few-shot"),
                     help="how much to fit to the reference (default: instant, or few-shot "
                          "with --minutes)")
    clo.add_argument("--minutes", type=float, default=None,
                     help="time budget of a quick (default 2) or few-shot (default 10) clone, "
                          "the whole clone included; alone, it asks for few-shot")
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

    srv = sub.add_parser(
        "serve", help="HTTP server: a web page, an OpenAI-compatible API, streaming",
        description="Serve the voices over HTTP: a web page at /, OpenAI's POST "
                    "/v1/audio/speech, POST /api/tts (emotion, intensity, pitch, speed, "
                    "streaming) and GET /api/voices. Listens on this machine only unless "
                    "--host names another address. Output is watermarked like every output. "
                    "See docs/server.md.")
    srv.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default: %(default)s, this machine only; "
                          "0.0.0.0 opens it to the network)")
    srv.add_argument("--port", default="5002", help="port (default: %(default)s; 0: any free)")
    _add_voices_dir(srv, "where cloned voices live")
    srv.add_argument("--workers", type=int, default=1, metavar="N",
                     help="syntheses run at once (default: %(default)s)")
    srv.add_argument("--threads", type=int, default=None, metavar="N",
                     help="torch threads per synthesis (default: torch's)")
    srv.add_argument("--max-queue", type=int, default=8, metavar="N",
                     help="requests that may wait for a worker; more get 503 (default: "
                          "%(default)s)")
    srv.add_argument("--max-chars", type=int, default=4096, metavar="N",
                     help="longest text of one request (default: %(default)s)")
    srv.add_argument("--max-body", type=int, default=65536, metavar="BYTES",
                     help="largest request body (default: %(default)s)")
    srv.add_argument("--preload", nargs="*", default=None, metavar="VOICE",
                     help="voices loaded before the first request (default: the default "
                          "voice; none when the flag is given alone)")
    _add_runtime(srv)
    srv.add_argument("--log-level", default="info",
                     choices=("critical", "error", "warning", "info", "debug"),
                     help="uvicorn's log level; info logs each request (default: %(default)s)")
    srv.set_defaults(func=cmd_serve)

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

    exp = sub.add_parser(
        "export", help="compact inference checkpoint from a training one, or ONNX graphs (--onnx)",
        usage="%(prog)s CKPT OUT [--fp32] [--average CKPT ...]\n       %(prog)s --onnx [--voice NAME | --acoustic "
              "CKPT] [--vocoder CKPT] [OUT_DIR]",
        description="Keep only the model weights (fp16) and its configs of a training "
                    "checkpoint. With --onnx: write a voice's acoustic model and vocoder as ONNX "
                    "graphs for onnxruntime (--runtime onnx), checked against PyTorch, into "
                    "OUT_DIR or by default the cache folder that --runtime onnx reads "
                    "($VOXCLONE_CACHE/onnx or ~/.cache/voxclone/onnx). One export serves every "
                    "voice of that acoustic model (the bundled voices share one).")
    exp.add_argument("checkpoint", nargs="?", metavar="CKPT",
                     help="training checkpoint (with --onnx: OUT_DIR, the folder to write)")
    exp.add_argument("output", nargs="?", metavar="OUT", help="inference checkpoint to write")
    exp.add_argument("--fp32", action="store_true", help="keep float32 weights")
    exp.add_argument("--average", nargs="+", default=[], metavar="CKPT",
                     help="more checkpoints of the same model (the last few of a run): OUT "
                          "gets the mean of their weights and CKPT's (model averaging)")
    exp.add_argument("--onnx", action="store_true",
                     help="export ONNX graphs of a voice's models instead")
    exp.add_argument("--voice", default=None, metavar="NAME",
                     help="--onnx: the voice whose models to export (default: the default voice)")
    exp.add_argument("--acoustic", default=None, metavar="CKPT",
                     help="--onnx: an acoustic checkpoint instead of a voice's")
    exp.add_argument("--vocoder", default=None, metavar="CKPT",
                     help="--onnx: vocoder checkpoint (default: the one the model is spoken with)")
    _add_voices_dir(exp, "--onnx: where cloned voices live")
    exp.add_argument("-q", "--quiet", action="store_true", help="no progress line")
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
