"""Build the synthetic-speech detector's corpus (issue 22) reproducibly::

    nice -n 15 env OMP_NUM_THREADS=1 python scripts/make_spoof_corpus.py \\
        --data ../shared/data --out spoof_corpus

Real speech: recordings of ``--data``'s corpora (``tts.spoof.corpus.HELD_OUT_CORPORA`` only in
the test split; in LibriSpeech and Common Voice the speakers ``data.holdout`` keeps out are test
speakers, 10% of the others calibration (``val``); single-speaker corpora split by clip). RAVDESS
(non-commercial) is only ever scored, never trained on.

Synthetic speech, each generator a ``wavs/NAME`` folder:
- ``voxclone-sourcefilter``, ``voxclone-istft-kathleen``: every bundled voice (``tts.voices``)
  but the non-commercial one, through the pitch-driven vocoder (their own) and through the iSTFT
  vocoder, unwatermarked;
- ``copy-sourcefilter``, ``copy-istft-kathleen``, ``copy-istft-small``, ``copy-griffinlim``:
  real recordings through each bundled vocoder and Griffin-Lim (copy synthesis);
- ``world``: WORLD analysis/synthesis of real recordings;
- ``lpc``, ``hnm``, ``phase-vocoder``, ``time-stretch``, ``frame-concat``: more kinds of copy
  synthesis, made here with signal processing (``tts.spoof.resynth``): an all-pole LPC vocoder,
  harmonic-plus-noise resynthesis, phase-vocoder time-stretching or pitch shifting (time-stretching
  alone), and frame-by-frame substitution of other speakers' frames (a crude unit concatenation);
- ``espeak-ng``, ``flite``, ``festival``: the command-line synthesizers (Debian packages).
Sentences come from ``--data``/text/ljspeech-transcripts.txt, split 80/10/10 by sentence.
``tts.spoof.corpus.HELD_OUT_GENERATORS`` make test clips only (no detector can train on them);
WORLD, slow on one core, makes fewer clips (``PER_GENERATOR``).

Every clip is silence-trimmed, at most 4 s, loudness-normalised, 16 kHz (``corpus.crops``). Channel
conditions (MP3 32k, 8 kHz, noise) are applied when the corpus is read (``tts.spoof.conditions``),
the same way in training and evaluation. Each generator is written to ``parts/NAME.jsonl`` when it
is finished; a rerun skips finished parts, then joins them into ``manifest.jsonl``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import note  # noqa: E402

from tts.spoof import corpus as C  # noqa: E402
from tts.spoof.features import SAMPLE_RATE  # noqa: E402

REAL = {  # corpus: (clips at most, pieces per clip, clips per speaker at most)
    "librispeech-251": (251, 3, 1),
    "commonvoice-en": (700, 1, 6),
    "kathleen-arctic": (330, 1, 330),
    "ljspeech-sample": (32, 2, 32),
    "ravdess-speech": (240, 1, 10),
    "speechocean762-adults": (200, 1, 12),
}
COPY_SOURCES = ("kathleen-arctic", "librispeech-251", "commonvoice-en", "ljspeech-sample")
"""Recordings that copy synthesis starts from (not RAVDESS: non-commercial)."""

PER_SPLIT = {"train": 300, "val": 45, "test": 90}
HELD_OUT_COUNT = 150
PER_GENERATOR = {"world": {"train": 210, "val": 30, "test": 60}}
"""Fewer clips where a generator is slow on one core (WORLD's Harvest F0 tracker)."""
CONCAT_POOL = 8
"""Recordings of other speakers (same split) whose frames ``frame-concat`` draws on."""


def _recordings(data: Path, name: str) -> list[dict]:
    folder = data / name
    files = {p.stem: p for p in folder.rglob("*") if p.suffix.lower() in
             (".wav", ".flac", ".ogg", ".opus", ".mp3")}
    rows = []
    with open(folder / "metadata.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="|"):
            if row["id"] in files:
                speaker = row.get("speaker") or {"kathleen-arctic": "kathleen",
                                                  "ljspeech-sample": "LJ"}[name]
                rows.append({"id": row["id"], "speaker": speaker, "path": files[row["id"]]})
    return rows


def _real_split(corpus: str, speaker: str, clip_id: str) -> str:
    from data.holdout import HOLDOUT_RECIPES, held_out

    if corpus in C.HELD_OUT_CORPORA:
        return "test"
    if corpus in HOLDOUT_RECIPES:
        if held_out(f"{corpus}/{speaker}"):
            return "test"
        return "val" if C.fraction_of(f"spoof-val/{corpus}/{speaker}") < 0.1 else "train"
    return C.split_by_fraction(f"{corpus}/{clip_id}")


def _pick(rows: list[dict], most: int, per_speaker: int, rng: np.random.Generator) -> list[dict]:
    order = rng.permutation(len(rows))
    taken: dict[str, int] = {}
    out = []
    for i in order:
        row = rows[i]
        if taken.get(row["speaker"], 0) < per_speaker:
            taken[row["speaker"]] = taken.get(row["speaker"], 0) + 1
            out.append(row)
        if len(out) == most:
            break
    return sorted(out, key=lambda r: r["id"])


class Writer:
    """Writes one generator's clips under ``out/wavs/NAME`` and collects their rows."""

    def __init__(self, out: Path, generator: str, label: str) -> None:
        self.out, self.generator, self.label = out, generator, label
        self.rows: list[C.Clip] = []
        (out / "wavs" / generator).mkdir(parents=True, exist_ok=True)

    def add(self, clip_id: str, wav: np.ndarray, source: str, speaker: str, split: str) -> None:
        import soundfile as sf

        rel = f"wavs/{self.generator}/{clip_id}.wav"
        sf.write(str(self.out / rel), wav, SAMPLE_RATE, subtype="PCM_16")
        self.rows.append(C.Clip(id=f"{self.generator}/{clip_id}", path=rel, label=self.label,
                                generator=self.generator, source=source, speaker=speaker,
                                split=split, duration=round(len(wav) / SAMPLE_RATE, 3)))


def make_real(args, out: Path) -> Writer:
    from tts.audio import decode_audio

    w = Writer(out, "real", "real")
    rng = np.random.default_rng(args.seed)
    for corpus, (most, pieces, per_speaker) in REAL.items():
        if not (args.data / corpus).is_dir():
            note(f"  {corpus}: missing, skipped")
            continue
        for row in _pick(_recordings(args.data, corpus), most, per_speaker, rng):
            wav, rate = decode_audio(row["path"])
            split = _real_split(corpus, row["speaker"], row["id"])
            for k, piece in enumerate(C.crops(wav, rate, rng, pieces)):
                w.add(f"{corpus}-{row['id']}-{k}", piece, corpus, row["speaker"], split)
        note(f"  {corpus}: {sum(r.source == corpus for r in w.rows)} clips")
    return w


def _sentences(data: Path) -> dict[str, list[str]]:
    """LJ Speech transcripts of 5 to 25 words, by split."""
    out: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for line in (data / "text" / "ljspeech-transcripts.txt").read_text("utf-8").splitlines():
        key, _, text = line.partition("|")
        if 5 <= len(text.split()) <= 25:
            out[C.split_by_fraction(f"text/{key}")].append(text.strip())
    return out


def _plan(generator: str, seen_counts: dict[str, int]) -> dict[str, int]:
    if generator in C.HELD_OUT_GENERATORS:
        return {"test": HELD_OUT_COUNT}
    return dict(PER_GENERATOR.get(generator, seen_counts))


def make_from_text(args, out: Path, generator: str, speak: Callable[[str, int], tuple],
                   voices: Sequence[str], counts: dict[str, int]) -> Writer:
    """``speak(text, i) -> (wav, rate)`` for sentence ``i``; voices taken in turn."""
    from tts.text import normalize

    w = Writer(out, generator, "fake")
    rng = np.random.default_rng(args.seed + len(generator))
    sentences = _sentences(args.data)
    for split, count in _plan(generator, counts).items():
        chosen = rng.choice(len(sentences[split]), size=count, replace=False)
        for i, index in enumerate(chosen):
            text = normalize(sentences[split][index])
            voice = voices[i % len(voices)]
            wav, rate = speak(text, i)
            for piece in C.crops(wav, rate, rng, 1):
                w.add(f"{split}-{i:04d}", piece, voice, voice, split)
    return w


def make_copies(args, out: Path, generator: str, copy: Callable[..., tuple],
                real: list[C.Clip], counts: dict[str, int], with_clip: bool = False) -> Writer:
    """``copy(wav16k, 16000) -> (wav, rate)`` applied to real clips of each split
    (``copy(wav16k, 16000, clip)`` with ``with_clip``)."""
    import soundfile as sf

    w = Writer(out, generator, "fake")
    rng = np.random.default_rng(args.seed + 7 * len(generator))
    for split, count in _plan(generator, counts).items():
        pool = [c for c in real if c.split == split and c.source in COPY_SOURCES]
        chosen = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
        for index in chosen:
            clip = pool[index]
            wav, _ = sf.read(str(out / clip.path), dtype="float32")
            synth, rate = copy(wav, SAMPLE_RATE, clip) if with_clip else copy(wav, SAMPLE_RATE)
            for piece in C.crops(synth, rate, rng, 1):
                w.add(clip.id.split("/", 1)[1], piece, clip.source, clip.speaker, split)
    return w


def _non_commercial(license_text: str) -> bool:
    """Whether a voice's license forbids commercial use (kathleen-expressive: RAVDESS)."""
    return "-NC" in license_text.upper() or "non-commercial" in license_text.lower()


def generators(args) -> Iterator[tuple[str, Callable]]:
    """``(name, make(out, real_rows) -> Writer)`` for every generator this machine can run."""
    from tts.spoof import generators as G
    from tts.spoof import resynth as R
    from tts.vocoder import load_vocoder

    counts = {k: round(v * args.scale) for k, v in PER_SPLIT.items()}
    ckpts = Path(args.checkpoints)

    for stem in ("sourcefilter", "istft-small-kathleen"):
        name = f"voxclone-{stem.replace('-small', '')}"

        def make(out, real, stem=stem, name=name):
            from tts.voices import bundled_voices, voice_engine

            names = [v.name for v in bundled_voices() if not _non_commercial(v.license)]
            engines = {n: voice_engine(n, vocoder=ckpts / "vocoder" / f"{stem}.pt")
                       for n in names}
            return make_from_text(args, out, name,
                                  lambda text, i: engines[names[i % len(names)]].speak(text),
                                  names, counts)
        yield name, make

    for stem in ("sourcefilter", "istft-small-kathleen", "istft-small", "griffinlim"):
        name = f"copy-{stem}"

        def make(out, real, stem=stem, name=name):
            vocoder, audio = load_vocoder("griffinlim" if stem == "griffinlim" else
                                          ckpts / "vocoder" / f"{stem}.pt")
            return make_copies(args, out, name,
                               lambda wav, rate: G.vocoder_copy(wav, rate, vocoder, audio),
                               real, counts)
        yield name, make

    yield "world", lambda out, real: make_copies(args, out, "world", G.world_copy, real, counts)
    for name, fn in (("lpc", R.lpc_vocoder), ("hnm", R.harmonic_noise),
                     ("phase-vocoder", R.phase_vocoder), ("time-stretch", R.time_stretch)):
        def make(out, real, name=name, fn=fn):
            rng = np.random.default_rng(args.seed + 11 * len(name))
            return make_copies(args, out, name, lambda wav, rate: fn(wav, rate, rng), real,
                               counts)
        yield name, make

    def concat(out, real):
        import soundfile as sf

        rng = np.random.default_rng(args.seed + 13)

        def copy(wav, rate, clip):
            others = [c for c in real if c.split == clip.split and c.source in COPY_SOURCES
                      and c.speaker != clip.speaker]
            pool = [sf.read(str(out / others[k].path), dtype="float32")[0]
                    for k in rng.choice(len(others), CONCAT_POOL, replace=False)]
            return R.frame_concat(wav, rate, rng, pool)
        return make_copies(args, out, "frame-concat", copy, real, counts, with_clip=True)
    yield "frame-concat", concat

    yield "espeak-ng", lambda out, real: make_from_text(
        args, out, "espeak-ng",
        lambda text, i: G.espeak(text, G.ESPEAK_VOICES[i % len(G.ESPEAK_VOICES)],
                                 140 + 10 * (i % 5)), G.ESPEAK_VOICES, counts)
    if G.program_available("flite"):
        yield "flite", lambda out, real: make_from_text(
            args, out, "flite", lambda text, i: G.flite(text, G.FLITE_VOICES[i % 3]),
            G.FLITE_VOICES, counts)
    if G.program_available("text2wave"):
        yield "festival", lambda out, real: make_from_text(
            args, out, "festival", lambda text, i: G.festival(text), ["kal_diphone"], counts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("spoof_corpus"))
    parser.add_argument("--checkpoints", default="checkpoints")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the synthetic clips per split (default 1: 300/45/90)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=None, metavar="NAME",
                        help="build only these generators (and the real clips); the manifest "
                             "also lists the others' finished parts")
    args = parser.parse_args(argv)
    if not (args.data / "text" / "ljspeech-transcripts.txt").is_file():
        print(f"make_spoof_corpus.py: error: {args.data} is not the shared data folder "
              "(no text/ljspeech-transcripts.txt)", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    parts = args.out / "parts"
    parts.mkdir(parents=True, exist_ok=True)

    def build(name: str, make: Callable[[], Writer]) -> list[C.Clip]:
        """Make generator ``name``'s part unless it is finished; its rows."""
        path = parts / f"{name}.jsonl"
        if not path.is_file():
            start = time.time()
            note(f"{name} ...")
            C.write_rows(path, make().rows)
            note(f"{name}: done in {time.time() - start:.0f} s")
        return C.read_rows(path)

    real = build("real", lambda: make_real(args, args.out))
    names = []
    for name, make in generators(args):
        names.append(name)
        if args.only is None or name in args.only:
            build(name, lambda make=make: make(args.out, real))
    rows = list(real)  # every finished part, read once all builds are done
    for name in names:
        if (parts / f"{name}.jsonl").is_file():
            rows += C.read_rows(parts / f"{name}.jsonl")
    C.write_rows(args.out / "manifest.jsonl", rows)
    summary: dict[str, dict[str, int]] = {}
    for r in rows:
        key = r.generator if r.generator != "real" else f"real/{r.source}"
        summary.setdefault(key, {}).setdefault(r.split, 0)
        summary[key][r.split] += 1
    (args.out / "corpus.json").write_text(json.dumps(
        {"seed": args.seed, "scale": args.scale, "held_out_generators": C.HELD_OUT_GENERATORS,
         "held_out_corpora": C.HELD_OUT_CORPORA, "clips": summary}, indent=1) + "\n")
    note(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
