"""Issue 24's pitch targets, part of ``scripts/evaluate.py`` (``pitch``).

Every bundled voice (or each ``--voice``) speaks ``--sentences`` sentences, the way ``voxclone
say --voice NAME`` builds its engine (``tts.voices.voice_engine``), at ``--pitch`` 0 and at each
``--shifts`` value (voices whose acoustic model has no pitch: at 0 only, "no pitch control").
The median pYIN F0 over the voiced frames of all of a voice's sentences
(``tts.pitch_stats.speech_median_f0``) is compared with

- the median frame F0 of the voice's own recordings: every clip of its ``speaker`` in the
  ``--data`` folders' manifests, from their ``pitch.npz`` (``voxclone pitch DATA``); target:
  within ``OFFSET_TARGET`` semitones;
- itself at shift 0: ``--pitch N`` should move it by N semitones, within ``SHIFT_TOLERANCE``::

    python scripts/evaluate.py pitch --data prepared/kathleen-arctic prepared/ljspeech-sample \\
        prepared/commonvoice-en --sentences 3

Bad input (an unknown voice, a missing folder or pitch track, an unreadable vocoder) is one line
on stderr and exit status 2. A voice the vocoder cannot be paired with gets a row saying why.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

from _common import add_out, add_threads, markdown_table, print_table, set_threads
from _common import note as _note

OFFSET_TARGET = 1.0
"""Semitones: a voice's median F0 at shift 0 may lie this far from its recordings' (issue 24)."""
SHIFT_TOLERANCE = 0.5
"""Semitones: ``--pitch N`` must move the median F0 by N within this (issue 24)."""

PITCH_TEXTS = (
    "A quiet morning settles over the harbour before the boats go out.",
    "Please bring the green folder to the second meeting room.",
    "We counted eleven birds along the fence this afternoon.",
    "The old bridge was painted red and opened again in spring.",
    "Could you call me back when you get home tonight?",
    "My sister keeps her bicycle in the shed behind the kitchen.",
    "The bakery on the corner sells fresh bread until noon.",
    "Turn left at the library and walk on for two more blocks.",
)
"""Everyday sentences for the check, written for this script (in no training corpus)."""

PASS, FAIL = "✓", "✗"


def within(value: float, target: float, tolerance: float) -> bool:
    """``|value - target| <= tolerance`` at the table's precision (0.01 semitone), so that a mark
    never contradicts the printed value: F0 is measured on pYIN's 10-cent grid (and stored as
    float16 in pitch.npz), finer differences are noise. NaN never lies within."""
    return abs(round(value - target, 2)) <= tolerance


@dataclasses.dataclass
class VoiceRow:
    """One voice's measurements. ``recordings_hz`` is None when no recording of its speaker was
    found (NaN when found but none voiced); ``speech_hz`` maps each spoken shift to the median
    F0 (NaN: nothing voiced); empty when the voice could not be spoken (``note`` says why)."""

    voice: str
    recordings_hz: float | None = None
    recordings_clips: int = 0
    speech_hz: dict[float, float] = dataclasses.field(default_factory=dict)
    pitch_control: bool = True
    wer: dict[float, float] = dataclasses.field(default_factory=dict)
    note: str = ""


def offset_semitones(row: VoiceRow) -> float:
    """Speech at shift 0 against the recordings, semitones (NaN if either is missing)."""
    from tts.pitch_stats import semitones

    if row.recordings_hz is None or 0.0 not in row.speech_hz:
        return math.nan
    return semitones(row.speech_hz[0.0], row.recordings_hz)


def realised_shift(row: VoiceRow, shift: float) -> float:
    """How far ``--pitch shift`` moved the median F0 from shift 0, semitones (NaN if unknown)."""
    from tts.pitch_stats import semitones

    if shift not in row.speech_hz or 0.0 not in row.speech_hz:
        return math.nan
    return semitones(row.speech_hz[shift], row.speech_hz[0.0])


def checks(row: VoiceRow, shifts: list[float]) -> list[bool | None]:
    """The row's targets: the offset, then each shift; True met, False missed (a NaN
    measurement misses), None not measurable (no recordings; not spoken). Shifts of a voice
    without pitch control are not targets at all (left out)."""
    spoken = bool(row.speech_hz)
    if row.recordings_hz is None or not spoken:
        found: list[bool | None] = [None]
    else:
        found = [within(offset_semitones(row), 0.0, OFFSET_TARGET)]
    if row.pitch_control:
        found += [within(realised_shift(row, s), s, SHIFT_TOLERANCE) if spoken else None
                  for s in shifts]
    return found


def verdict(row: VoiceRow, shifts: list[float]) -> str:
    """``pass`` (every target met), ``fail`` (one missed), ``incomplete`` (none missed, some not
    measurable), ``–`` (nothing measurable)."""
    found = checks(row, shifts)
    if False in found:
        return "fail"
    if all(c is None for c in found):
        return "–"
    return "incomplete" if None in found else "pass"


def _mark(ok: bool) -> str:
    return PASS if ok else FAIL


def _signed(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.2f}"


def _hz(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0f}"


def pitch_table(rows: list[VoiceRow], shifts: list[float], vocoder: str, sentences: int,
                folders: list[str]) -> str:
    """The report: a heading naming the vocoder and the targets, the table, where the
    recordings came from."""
    wer = any(row.wer for row in rows)
    header = ["voice", "recordings' F0 Hz (clips)", "speech F0 Hz at 0",
              f"speech − recordings, st (±{OFFSET_TARGET:g})",
              *(f"shift at {s:+g}, st ({s:+g} ± {SHIFT_TOLERANCE:g})" for s in shifts), "result"]
    header += ["WER at " + " / ".join(f"{s:+g}" if s else "0" for s in [0.0, *shifts])] if wer \
        else []
    plural = "" if sentences == 1 else "s"
    body = []
    for row in rows:
        if row.recordings_hz is None:
            recordings = "no recordings in --data"
        else:
            recordings = f"{_hz(row.recordings_hz)} ({row.recordings_clips})"
        if not row.speech_hz:
            cells = [row.voice, recordings, row.note or "not spoken", "–", *("–" for _ in shifts)]
        else:
            offset = offset_semitones(row)
            offset_cell = "–" if row.recordings_hz is None else \
                f"{_signed(offset)} {_mark(within(offset, 0.0, OFFSET_TARGET))}"
            cells = [row.voice, recordings, _hz(row.speech_hz[0.0]), offset_cell]
            for s in shifts:
                if not row.pitch_control:
                    cells.append("no pitch control")
                    continue
                moved = realised_shift(row, s)
                cells.append(f"{_signed(moved)} {_mark(within(moved, s, SHIFT_TOLERANCE))}")
        cells.append(verdict(row, shifts))
        if wer:
            cells.append(" / ".join(f"{row.wer[s]:.3f}" if s in row.wer else "–"
                                    for s in [0.0, *shifts]))
        body.append([c.replace("|", "/") for c in cells])
    align = "l" + "r" * (3 + len(shifts)) + "l" + ("r" if wer else "")
    return "\n".join([
        f"**Pitch of the voices** (vocoder: {vocoder}; {sentences} sentence{plural} per voice and "
        "shift; median pYIN F0 over the voiced frames of all of them)", "",
        markdown_table(header, body, align), "",
        "Recordings: median frame F0 (DATA/pitch.npz) over every clip of the voice's speaker in "
        + (", ".join(folders) if folders else "no --data folder") + "."])


def recordings_f0(folders: list[Path], speakers: set[str]) -> dict:
    """``{speaker: tts.pitch_stats.PooledPitch}`` over every clip of each of ``speakers`` in the
    prepared ``folders`` (manifest speakers, frame F0 from ``pitch.npz``); speakers without a
    clip are left out. A missing folder or pitch track is a ``DataError``."""
    from data.manifest import read_prepared
    from data.pitch import read_pitch
    from tts.errors import DataError
    from tts.pitch_stats import voiced_median

    tracks: dict[str, list] = {}
    for folder in folders:
        if not folder.is_dir():
            raise DataError(f"no such prepared folder: {folder}")
        utterances = read_prepared(folder)
        pitch = read_pitch(folder)
        for uid, utt in utterances.items():
            if utt.speaker in speakers and uid in pitch:
                tracks.setdefault(utt.speaker, []).append(pitch[uid])
    return {speaker: voiced_median(found) for speaker, found in tracks.items()}


def _texts(args: argparse.Namespace) -> list[str]:
    """``--text`` sentences, else the first lines (text, or ``ID|text``) of ``--text-file``, else
    ``PITCH_TEXTS``; ``--sentences`` of them."""
    from tts.errors import DataError

    if args.text:
        texts = list(args.text)
    elif args.text_file:
        try:
            lines = Path(args.text_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read --text-file {args.text_file} ({exc})") from None
        texts = [t.strip() for t in (x.split("|")[1] if "|" in x else x for x in lines)
                 if t.strip()]
        if not texts:
            raise DataError(f"--text-file {args.text_file} has no sentence")
    else:
        texts = list(PITCH_TEXTS)
    return texts[: args.sentences]


def _display(path: str) -> str:
    """A checkpoint path relative to the working folder when it lies inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _measure(name: str, args: argparse.Namespace, texts: list[str], transcriber) -> VoiceRow:
    """Speak ``texts`` with voice ``name`` at shift 0 and at each shift it allows."""
    from tts import metrics
    from tts.errors import ConfigError
    from tts.pitch_stats import speech_median_f0
    from tts.synthesizer import Synthesizer
    from tts.voices import voice_engine

    row = VoiceRow(name)
    try:
        engine = voice_engine(name, vocoder=args.vocoder, acoustic=args.acoustic, pitch=0.0)
    except ConfigError as exc:  # a vocoder or candidate model that does not fit this voice
        row.note = f"not spoken: {exc}"
        return row
    row.pitch_control = bool(engine.acoustic.model.config.pitch)
    for shift in [0.0, *args.shifts] if row.pitch_control else [0.0]:
        if shift:
            engine = voice_engine(name, vocoder=args.vocoder, acoustic=args.acoustic, pitch=shift)
        synthesizer = Synthesizer(engine=engine)
        spoken = [synthesizer.synthesize(t) for t in texts]
        row.speech_hz[shift] = speech_median_f0((r.wav, r.sample_rate) for r in spoken).median_hz
        if transcriber is not None:
            row.wer[shift] = metrics.word_error_rate(
                texts, [transcriber.transcribe(r.wav, r.sample_rate) for r in spoken])
        _note(f"{name}: --pitch {shift:+g}: median F0 {_hz(row.speech_hz[shift])} Hz")
    return row


def cmd_pitch(args: argparse.Namespace) -> int:
    from tts import metrics
    from tts.errors import ConfigError
    from tts.vocoder import load_vocoder
    from tts.voices import bundled_voices, find_voice

    set_threads(args.threads)
    if any(s == 0 for s in args.shifts):
        raise ConfigError("--shifts: 0 is always measured; give the other shifts")
    args.shifts = sorted(set(args.shifts))
    if args.sentences < 1:
        raise ConfigError("--sentences must be at least 1")
    texts = _texts(args)
    if args.vocoder:
        load_vocoder(args.vocoder)  # an unreadable vocoder fails here, before any work
    voices = [find_voice(name) for name in args.voice] if args.voice else bundled_voices()
    if not voices:
        raise ConfigError("no voices: checkpoints/voices.json is missing; name one with --voice")
    folders = [Path(d) for d in args.data]
    recorded = recordings_f0(folders, {v.speaker for v in voices if v.speaker})
    transcriber = metrics.Transcriber() if args.wer else None
    rows = []
    for voice in voices:
        row = _measure(voice.name, args, texts, transcriber)
        found = recorded.get(voice.speaker) if voice.speaker else None
        if found is not None:
            row.recordings_hz, row.recordings_clips = found.median_hz, found.clips
        else:
            _note(f"{voice.name}: no recordings of speaker {voice.speaker!r} in --data")
        rows.append(row)
    table = pitch_table(rows, args.shifts,
                        _display(args.vocoder) if args.vocoder else "each voice's bundled one",
                        len(texts),
                        [str(f) for f in folders])
    print_table(table, args.out)
    if args.calibrate:
        _calibrate(rows, voices, args.acoustic)
    return 0


def _calibrate(rows: list[VoiceRow], voices: list, acoustic: str | None = None,
               write=None) -> dict[str, float]:
    """Write each measured bundled voice's ``pitch_offset`` (``tts.voices``, or ``write``) so
    that its median F0 at shift 0 becomes its recordings': the offset it was spoken with minus
    the measured difference. A voice spoken by a candidate ``acoustic`` model was spoken with
    no offset (``voice_engine`` applies it only with the voice's own model), so the offset
    written is the one that candidate needs once it replaces the voice's model. Voices without
    pitch control or recordings are left as they are. Returns the offsets written."""
    from tts.voices import write_pitch_offsets

    spoken_with = {v.name: v.pitch_offset if v.own_model(acoustic) else 0.0
                   for v in voices if v.kind == "bundled"}
    offsets = {row.voice: spoken_with[row.voice] - offset_semitones(row) for row in rows
               if row.voice in spoken_with and row.pitch_control
               and math.isfinite(offset_semitones(row))}
    (write or write_pitch_offsets)(offsets)
    for name, value in offsets.items():
        _note(f"{name}: pitch_offset {value:+.2f} semitones written to checkpoints/voices.json")
    return offsets


def add_parser(sub) -> None:
    """Register ``pitch`` on ``evaluate.py``'s subparsers."""
    pit = sub.add_parser(
        "pitch", help="issue 24's pitch targets: each voice's F0 against its recordings, and "
                      "whether say --pitch N moves it by N semitones",
        description="Speak a few sentences with every bundled voice (or each --voice) at pitch "
                    "shift 0 and at each --shifts value, the way 'voxclone say --voice' does; "
                    "report the median pYIN F0 against the median F0 of the voice's recordings "
                    f"in --data (target: within {OFFSET_TARGET:g} semitone) and the shift each "
                    f"--pitch realises (target: within {SHIFT_TOLERANCE:g} semitone).")
    pit.add_argument("--voice", action="append", default=[], metavar="NAME",
                     help="a bundled or cloned voice (repeatable; default: every bundled voice)")
    pit.add_argument("--data", nargs="+", default=[], metavar="DIR",
                     help="prepared folders with the voices' recordings and pitch.npz "
                          "('voxclone pitch DIR')")
    pit.add_argument("--vocoder", default=None, metavar="CKPT",
                     help="vocoder checkpoint, or griffinlim (default: each voice's bundled one, "
                          "as say uses)")
    pit.add_argument("--acoustic", default=None, metavar="CKPT",
                     help="a candidate model to speak the voices with (default: their own)")
    pit.add_argument("--sentences", type=int, default=5, help="sentences per voice (default 5)")
    pit.add_argument("--text-file", default=None, metavar="FILE",
                     help="sentences, one a line (text or ID|text; default: built-in ones)")
    pit.add_argument("--text", action="append", default=[], help="a sentence (repeatable)")
    pit.add_argument("--shifts", type=float, nargs="+", default=[-4.0, 4.0],
                     metavar="SEMITONES", help="--pitch values besides 0 (default -4 4)")
    pit.add_argument("--wer", action="store_true", help="also the ASR WER at each shift")
    pit.add_argument("--calibrate", action="store_true",
                     help="write each bundled voice's pitch_offset into checkpoints/voices.json "
                          "so that its median F0 matches its recordings' (measure again after; "
                          "with --acoustic, the offsets that candidate needs once it replaces "
                          "the voices' model)")
    add_out(pit, "the report")
    add_threads(pit)
    pit.set_defaults(func=cmd_pitch)
