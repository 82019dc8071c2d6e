"""Text-to-speech of acoustic models, part of ``scripts/evaluate.py`` (``acoustic``).

Each ``--acoustic`` checkpoint speaks, through its bundled vocoder (or ``--vocoder``):

- the held-out sentences of ``--data`` (texts of ``val.jsonl`` that no training utterance reads):
  ASR WER and CER, real-time factor, with ``--dnsmos`` the mean DNSMOS P.835 OVRL;
- with ``--collection FILE``: ``--collection-count`` everyday sentences (6-20 words) spread
  evenly over a sentence file (lines of text or ``ID|text``), leaving out every text that a
  manifest of ``--data`` or ``--exclude-data`` reads (no voice was trained on them): WER;
- with ``--long-text FILE``: long sentences, for the WER and the count of alignment failures
  (``tts.robustness``);
- with ``--forced-prosody``: the held-out sentences again, with the recording's own timing (the
  model's aligner on the recording) and then also its pitch, in place of the predicted ones. The
  three WERs say where the words are lost: in the duration predictor, the pitch predictor or
  the decoder;
- with ``--errors``: per-word errors of every row (the held-out and collection sentences it
  spoke), by place in the sentence, word length and phoneme (``tts.word_errors``), and the
  misheard phrases.

::

    python scripts/evaluate.py acoustic --data prepared/kathleen-arctic --speaker kathleen \\
        --acoustic checkpoints/acoustic/multispeaker.pt --collection \\
        ../shared/data/text/ljspeech-transcripts.txt --exclude-data prepared/ljspeech-sample \\
        --forced-prosody --errors
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from _common import add_out, add_threads, cell, markdown_table, print_table, set_threads
from _common import note as _note

COLLECTION_WORDS = (6, 20)
EVALUATION_COUNTS = (50, 100, 150, 200, 300)
"""The ``collection_sentences`` draws that evaluations make (``--collection-count``); synthetic
training corpora leave all of them out (``make_synthetic_corpus``)."""


def mean(values: list[float]) -> float:
    """Mean of the finite values (PESQ is NaN where it cannot score a clip); NaN if none."""
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def held_out_texts(data: Path, count: int) -> list:
    """Utterances of ``data/val.jsonl`` whose text no training utterance reads (several takes
    of one prompt may be split across train and val), first ``count``, one per text."""
    from data.manifest import read_manifest
    from tts.metrics import normalize_for_scoring

    trained = {normalize_for_scoring(u.text) for u in read_manifest(data / "train.jsonl")}
    chosen, seen = [], set()
    for utt in read_manifest(data / "val.jsonl"):
        key = normalize_for_scoring(utt.text)
        if key not in trained and key not in seen:
            chosen.append(utt)
            seen.add(key)
    return chosen[:count]


def file_sentences(path: str) -> list[str]:
    """The texts of a sentence file: lines of text, or ``ID|text[|...]``."""
    texts = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        text = (line.split("|")[1] if "|" in line else line).strip()
        if text:
            texts.append(text)
    return texts


def long_sentences(path: str, min_words: int, count: int) -> list[str]:
    """The first ``count`` sentences of ``path`` with more than ``min_words`` words."""
    return [t for t in file_sentences(path) if len(t.split()) > min_words][:count]


def manifest_texts(folders) -> set[str]:
    """The texts that the ``*.jsonl`` manifests of ``folders`` read, as scored
    (``normalize_for_scoring``)."""
    from data.manifest import read_manifest
    from tts.metrics import normalize_for_scoring

    return {normalize_for_scoring(u.text) for folder in folders
            for manifest in sorted(Path(folder).glob("*.jsonl")) for u in read_manifest(manifest)}


def collection_sentences(path: str, count: int, exclude: list[Path]) -> list[str]:
    """``count`` sentences of ``COLLECTION_WORDS`` words spread evenly over the sentence file
    ``path``, none of them read by an utterance of a ``*.jsonl`` manifest in the ``exclude``
    folders (compared as scored: ``normalize_for_scoring``)."""
    from tts.errors import DataError
    from tts.metrics import normalize_for_scoring

    read = manifest_texts(exclude)
    low, high = COLLECTION_WORDS
    eligible = [t for t in file_sentences(path) if low <= len(t.split()) <= high
                and normalize_for_scoring(t) not in read]
    if len(eligible) < count:
        raise DataError(f"{path}: only {len(eligible)} sentences of {low}-{high} words that no "
                        f"excluded manifest reads, {count} asked for")
    return [eligible[i * len(eligible) // count] for i in range(count)]


def _forced_prosody_wav(engine, utt, with_pitch: bool):
    """``utt``'s text spoken by ``engine`` in the recording's own timing (the model's aligner
    on the recording's mel) and, ``with_pitch``, its own pYIN pitch: ``(samples,)`` float32."""
    import torch

    from tts.audio import load_audio
    from tts.convert import source_durations
    from tts.models.pitch import token_pitch
    from tts.prosody import frame_pitch
    from tts.text import normalize

    audio = engine.audio
    wav = load_audio(utt.audio_path, audio.sample_rate, normalize=False)
    frames = len(wav) // audio.hop_length
    ids = engine.tokens(normalize(utt.text))
    durations = source_durations(engine, wav, ids)
    if not with_pitch:
        result = engine.mel_from_tokens(ids, durations)
        return engine.vocode(result.mel, result.f0)
    f0 = torch.from_numpy(frame_pitch(wav, audio)[:frames]).float()
    f0 = torch.nn.functional.pad(f0, (0, frames - len(f0)))
    pitch = token_pitch(f0[None], durations[None].float())[0]
    result = engine.mel_from_tokens(ids, durations, pitch, pitch_shift=0.0)
    return engine.vocode(result.mel, f0)


def _forced_prosody_rows(args, path, engine, transcriber, held_out) -> list[dict]:
    """Rows for ``--forced-prosody``: the held-out sentences in the recordings' timing, then in
    their timing and pitch."""
    from tts import metrics

    texts = [u.text for u in held_out]
    rows = []
    for with_pitch, label in ((False, "recording's timing"),
                              (True, "recording's timing and pitch")):
        if with_pitch and not engine.acoustic.model.config.pitch:
            continue
        spoken = [_forced_prosody_wav(engine, u, with_pitch) for u in held_out]
        heard = [transcriber.transcribe(w, engine.audio.sample_rate) for w in spoken]
        rows.append({"name": f"{path}, {label}", "wer": metrics.word_error_rate(texts, heard),
                     "cer": metrics.char_error_rate(texts, heard), "heard": (texts, heard),
                     **dnsmos_columns(args, spoken, engine.audio.sample_rate, label)})
    return rows


def _error_report(title: str, texts: list[str], heard: list[str], backend: str) -> str:
    """``tts.word_errors`` tables of one row's sentences, in Markdown; ``backend``: the G2P
    that gives each word its phonemes."""
    from tts.text import to_phonemes
    from tts.word_errors import (
        DELETED,
        SUBSTITUTED,
        align_words,
        length_rows,
        phoneme_rows,
        position_rows,
    )

    def phonemes(word: str) -> list[str]:
        return to_phonemes(word, backend=backend)

    errors = align_words(texts, heard)
    subs = sum(o.kind == SUBSTITUTED for o in errors.outcomes)
    dels = sum(o.kind == DELETED for o in errors.outcomes)
    columns = ["words", "wrong", "error rate", "x all words"]
    lines = [f"### Word errors: {title}", "",
             f"{len(texts)} sentences, {errors.words} words, WER {errors.wer:.3f}: {subs} "
             f"substituted, {dels} deleted, {len(errors.insertions)} inserted. Error rate below: "
             "substituted or deleted words over words.", "",
             markdown_table(["place in sentence", *columns], position_rows(errors)), "",
             markdown_table(["phonemes in word", *columns], length_rows(errors, phonemes)), "",
             markdown_table(["phoneme (worst 10 in 5+ words)", *columns],
                            phoneme_rows(errors, phonemes)), ""]
    if errors.phrases:
        lines.append("Text → heard: " + "; ".join(
            f"{ref or '∅'} → {hyp or '∅'}" for ref, hyp in errors.phrases))
    return "\n".join(lines)


def cmd_acoustic(args: argparse.Namespace) -> int:
    import statistics

    from data.manifest import read_manifest
    from tts import metrics
    from tts.acoustic import load_acoustic
    from tts.audio import load_audio
    from tts.config import AudioConfig
    from tts.errors import ConfigError
    from tts.neural_engine import NeuralEngine, default_vocoder
    from tts.robustness import analyse_alignment
    from tts.synthesizer import Synthesizer
    from tts.text import normalize
    from tts.vocoder import load_vocoder

    if not args.acoustic and not args.espeak:
        raise ConfigError("nothing to evaluate: give --acoustic CKPT (repeatable) or --espeak")
    if args.dnsmos and not metrics.dnsmos_available():
        raise ConfigError("--dnsmos needs the speechmos and onnxruntime packages: "
                          "pip install 'voxclone[eval]'")
    set_threads(args.threads)
    data = Path(args.data)
    held_out = held_out_texts(data, args.sentences)
    long_texts = long_sentences(args.long_text, args.min_words, args.long) if args.long_text else []
    collection = (collection_sentences(args.collection, args.collection_count,
                                       [data, *map(Path, args.exclude_data)])
                  if args.collection else [])
    train = read_manifest(data / "train.jsonl")
    frames_per_token = statistics.median(u.num_frames / max(len(u.phonemes), 1) for u in train)

    vocoder_audio = load_vocoder(args.vocoder)[1] if args.vocoder else AudioConfig()
    transcriber = metrics.Transcriber()
    texts = [u.text for u in held_out]
    rows = []
    if args.references:
        wavs = [load_audio(u.audio_path, vocoder_audio.sample_rate, normalize=False)
                for u in held_out]
        heard = [transcriber.transcribe(w, vocoder_audio.sample_rate) for w in wavs]
        rows.append({"name": "recordings", "wer": metrics.word_error_rate(texts, heard),
                     "cer": metrics.char_error_rate(texts, heard), "heard": (texts, heard),
                     **dnsmos_columns(args, wavs, vocoder_audio.sample_rate, "recordings")})
    if args.espeak:
        from tts.synthesizer import EspeakEngine

        espeak = Synthesizer(engine=EspeakEngine(), audio=vocoder_audio)
        spoken = [espeak.synthesize(t).wav for t in texts]
        heard = [transcriber.transcribe(w, vocoder_audio.sample_rate) for w in spoken]
        row = {"name": "espeak-ng (fallback)", "wer": metrics.word_error_rate(texts, heard),
               "cer": metrics.char_error_rate(texts, heard),
               **dnsmos_columns(args, spoken, vocoder_audio.sample_rate, "espeak-ng")}
        collection_heard = [transcriber.transcribe(espeak.synthesize(t).wav,
                                                   vocoder_audio.sample_rate) for t in collection]
        if collection:
            row["collection_wer"] = metrics.word_error_rate(collection, collection_heard)
        row["heard"] = (texts + collection, heard + collection_heard)
        rows.append(row)
    for path in args.acoustic:
        acoustic = load_acoustic(path)
        vocoder, vocoder_audio = load_vocoder(args.vocoder or default_vocoder(acoustic))
        engine = NeuralEngine(acoustic, vocoder, vocoder_audio, speaker=args.speaker)
        synthesizer = Synthesizer(engine=engine, audio=acoustic.audio)
        synthesizer.synthesize("Warm up.")  # loads the G2P data: not part of the speed
        compute, audio_seconds, heard, spoken = 0.0, 0.0, [], []
        for text in texts:
            started = time.perf_counter()
            result = synthesizer.synthesize(text)
            compute += time.perf_counter() - started
            audio_seconds += result.duration
            heard.append(transcriber.transcribe(result.wav, result.sample_rate))
            spoken.append(result.wav)
        config = acoustic.model.config
        row = {"name": str(path), "decoder": config.decoder,
               "step": acoustic.metadata.get("step"), "wer": metrics.word_error_rate(texts, heard),
               "cer": metrics.char_error_rate(texts, heard),
               **dnsmos_columns(args, spoken, acoustic.audio.sample_rate, str(path))}
        if args.wavs:
            _note(f"{path}: " + " | ".join(heard[:3]))
        collection_heard = [transcriber.transcribe(synthesizer.synthesize(t).wav,
                                                   acoustic.audio.sample_rate)
                            for t in collection]
        if collection:
            row["collection_wer"] = metrics.word_error_rate(collection, collection_heard)
        row["heard"] = (texts + collection, heard + collection_heard)
        row["backend"] = acoustic.symbols.backend
        failures, long_heard = [], []
        pauses = frozenset(acoustic.symbols.encode(
            ["<bos>", "<eos>", " ", ",", ".", "?", "!", ";", ":", "-"]))
        for text in long_texts:
            out = engine.mel(normalize(text))
            frames = out.mel.shape[-1]
            cap = int(len(out.tokens) * config.max_frames_per_token)
            report = analyse_alignment(out.alignment, frames, out.tokens, frames_per_token,
                                       config.decoder, config.reduction_factor, cap, pauses)
            if report.failed:
                failures.append(report)
                _note(f"  failure ({', '.join(report.reasons)}): {text[:70]}")
            long_heard.append(transcriber.transcribe(engine.vocode(out.mel, out.f0),
                                                     acoustic.audio.sample_rate))
        if long_texts:
            row["long_wer"] = metrics.word_error_rate(long_texts, long_heard)
            row["failures"] = f"{len(failures)}/{len(long_texts)}"
        row["rtf"] = metrics.real_time_factor(audio_seconds, compute)
        rows.append(row)
        if args.forced_prosody:
            if not config.pitch or not acoustic.model.decoder.has_aligner:
                raise ConfigError(f"{path}: --forced-prosody needs a model with the duration "
                                  "decoder and pitch")
            forced = _forced_prosody_rows(args, path, engine, transcriber, held_out)
            rows += [{**r, "backend": acoustic.symbols.backend} for r in forced]
        _note(f"{path}: {len(texts)} held-out sentences, {len(collection)} of the collection, "
              f"{len(long_texts)} long ones")
    table = acoustic_table(rows, len(texts), len(collection))
    reports = [_error_report(row["name"], *row["heard"], row.get("backend", "g2p_en"))
               for row in rows] if args.errors else []
    print_table("\n\n".join([table, *reports]), args.out)
    return 0


def dnsmos_columns(args: argparse.Namespace, wavs: list, sample_rate: int, name: str) -> dict:
    """With ``--dnsmos``: the mean DNSMOS P.835 SIG, BAK and OVRL of ``wavs`` (each
    ``(num_samples,)``), also noted on stderr; else nothing."""
    if not args.dnsmos:
        return {}
    from tts.metrics import dnsmos

    scores = [dnsmos(w, sample_rate) for w in wavs]
    out = {f"dnsmos_{k}": mean([getattr(s, k) for s in scores]) for k in ("sig", "bak", "ovrl")}
    _note(f"{name}: DNSMOS SIG {out['dnsmos_sig']:.2f} BAK {out['dnsmos_bak']:.2f} "
          f"OVRL {out['dnsmos_ovrl']:.2f} ({len(scores)} clips)")
    return out


def acoustic_table(rows: list[dict], sentences: int, collection: int = 0) -> str:
    """The Markdown table of ``cmd_acoustic``'s rows."""
    header = ["model", "decoder", "step", f"WER ({sentences}) ↓", "CER ↓"]
    header += [f"WER collection ({collection}) ↓"] if collection else []
    header += ["long WER ↓", "failures ↓", "x real time"]
    dnsmos = any("dnsmos_ovrl" in row for row in rows)
    header += ["DNSMOS OVRL ↑"] if dnsmos else []
    body = []
    for row in rows:
        line = [row["name"], row.get("decoder", "–"), str(row.get("step") or "–"),
                cell(row.get("wer"), 3), cell(row.get("cer"), 3)]
        line += [cell(row.get("collection_wer"), 3)] if collection else []
        line += [cell(row.get("long_wer"), 3), row.get("failures", "–"), cell(row.get("rtf"), 1)]
        line += [cell(row.get("dnsmos_ovrl"), 2)] if dnsmos else []
        body.append(line)
    return markdown_table(header, body, "ll" + "r" * (len(header) - 2))


def add_parser(sub) -> None:
    """Register ``acoustic`` on ``evaluate.py``'s subparsers."""
    aco = sub.add_parser(
        "acoustic", help="intelligibility and robustness of acoustic models (text to speech)",
        description="Speak held-out sentences (texts of DATA/val.jsonl not read in training) "
                    "with each acoustic model and a vocoder; report the ASR judge's WER/CER "
                    "(Whisper), and optionally the WER on sentences of a text collection, on "
                    "long sentences with the count of alignment failures, with the recordings' "
                    "own timing and pitch, and a per-word error analysis.")
    aco.add_argument("--data", required=True, metavar="DIR",
                     help="the prepared folder the models were trained on")
    aco.add_argument("--acoustic", action="append", default=[], metavar="CKPT",
                     help="acoustic checkpoint (repeatable)")
    aco.add_argument("--vocoder", default=None, metavar="CKPT",
                     help="vocoder checkpoint (default: the bundled one for each model)")
    aco.add_argument("--sentences", type=int, default=20, help="held-out sentences (default 20)")
    aco.add_argument("--speaker", default=None,
                     help="a training speaker of the models (default: each model's first)")
    aco.add_argument("--collection", default=None, metavar="FILE",
                     help="sentence file (lines of text or ID|text) to draw unseen everyday "
                          "sentences from")
    aco.add_argument("--collection-count", type=int, default=50,
                     help="sentences drawn from --collection (default 50)")
    aco.add_argument("--exclude-data", nargs="*", default=[], metavar="DIR",
                     help="prepared folders whose texts --collection leaves out (besides --data)")
    aco.add_argument("--long-text", default=None, metavar="FILE",
                     help="sentence file (lines of text or ID|text) for the robustness test")
    aco.add_argument("--long", type=int, default=50, help="long sentences to use (default 50)")
    aco.add_argument("--min-words", type=int, default=25, help="a long sentence has more words")
    aco.add_argument("--forced-prosody", action="store_true",
                     help="also speak the held-out sentences in the recordings' own timing, "
                          "then timing and pitch (where the words are lost)")
    aco.add_argument("--errors", action="store_true",
                     help="per-word error analysis (place, length, phoneme; misheard phrases)")
    aco.add_argument("--references", action="store_true",
                     help="also the ASR scores of the held-out recordings themselves")
    aco.add_argument("--espeak", action="store_true",
                     help="also the espeak-ng fallback on the same held-out sentences")
    aco.add_argument("--wavs", action="store_true", help="print the first transcripts")
    add_out(aco)
    add_threads(aco)
    aco.add_argument("--dnsmos", action="store_true",
                     help="add a DNSMOS OVRL column (naturalness proxy; pip install "
                          "'voxclone[eval]')")
    aco.set_defaults(func=cmd_acoustic)
