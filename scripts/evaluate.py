"""Objective evaluation: ``python scripts/evaluate.py SUBCOMMAND ...``.

``encoder``: speaker verification (EER) of speaker encoders on speakers held out from their
training; see ``cmd_encoder``.

``consent``: acceptance and rejection rates of the consent check (``cloning.consent``); see
``cmd_consent``.

``acoustic``: text-to-speech of acoustic models through a vocoder: ASR WER/CER of sentences held
out from training (texts of ``DATA/val.jsonl`` that no training utterance reads) and alignment
failures on long sentences (``tts.robustness``); with ``--dnsmos`` also the mean DNSMOS OVRL of
the held-out sentences (``tts.metrics.dnsmos``, a no-reference naturalness proxy; needs
``pip install 'voxclone[eval]'``); see ``cmd_acoustic``::

    python scripts/evaluate.py acoustic --data prepared/kathleen-arctic \\
        --acoustic runs/ac-dur/checkpoints/last.ckpt \\
        --long-text ../shared/data/text/ljspeech-transcripts.txt

``vocoder``: copy synthesis of held-out clips of one or more prepared folders (real clip -> the
project's mel -> vocoder -> audio, scored against the recording), next to the recordings
themselves and, with ``--world``, WORLD analysis/synthesis; mel L1, MR-STFT, PESQ-WB, STOI, F0
GPE and VDE, DNSMOS OVRL and ASR WER/CER, per corpus and overall; see ``evaluate_vocoder``::

    python scripts/evaluate.py vocoder --data prepared/kathleen-arctic prepared/librispeech-251 \\
        --vocoder runs/voc-hifigan-v2/checkpoints/last.ckpt --griffinlim --world --clips 6

``clone``: speaker similarity of cloned voices on speakers no model saw in training
(``cloning.evaluation``): zero-shot clones of held-out speakers, and clones of chosen held-out
speakers in each cloning tier (instant, quick, few-shot), next to real same- and
different-speaker speech::

    python scripts/evaluate.py clone --data prepared/commonvoice-en --voices 0 \
        --speaker acb1b5d5f47e --speaker 8796693fb199 --reference-seconds 60 \
        --tiers instant quick --wer

With ``--collection FILE`` each clone also speaks ``--collection-count`` unseen sentences of a
text collection for the WER (three test texts per voice are few words to judge by).

``pitch``: issue 24's pitch targets for every bundled voice: its median F0 against its
recordings' (within a semitone) and the shift ``--pitch -4/+4`` realises (4 +- 0.5 semitones);
see ``evaluate_pitch``::

    python scripts/evaluate.py pitch --data prepared/kathleen-arctic prepared/ljspeech-sample \\
        prepared/commonvoice-en --sentences 3

``convert``: speech-to-speech (``tts.convert``) of held-out speakers into bundled voices: speaker
similarity to each voice (between the source's floor and the real ceiling), ASR WER, F0 contour
kept; see ``evaluate_convert``::

    python scripts/evaluate.py convert --data prepared/librispeech-251 prepared/commonvoice-en \
        --target-data prepared/kathleen-arctic prepared/commonvoice-en prepared/ljspeech-sample

``spoof``: the synthetic-speech detector (``tts.spoof``, issue 22) on the test split of a spoof
corpus: EER per generator seen in training and held out of it, false positives per real corpus at
the shipped threshold, the same after MP3 32k and 8 kHz, speed; see ``evaluate_spoof``::

    python scripts/evaluate.py spoof --corpus spoof_corpus --threads 1

Bad paths and checkpoints are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from pathlib import Path

import evaluate_acoustic
import evaluate_convert
import evaluate_pitch
import evaluate_spoof
import evaluate_vocoder
import evaluate_voices
from _common import (
    add_out,
    add_threads,
    cell,
    markdown_table,
    print_table,
    run,
    set_threads,
    subcommands,
)
from _common import note as _note

PROG = "evaluate.py"


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

    from cloning.verification import score_trials

    set_threads(args.threads)
    encoders = _load_encoders(args)
    wavs, speakers = _verification_clips(args)
    corpora = sorted({s.split("/")[0] for s in speakers})
    _note(f"{len(set(speakers))} speakers, {len(wavs)} utterances from {', '.join(corpora)}")
    header = ["encoder", "speakers", "utterances", "same trials", "different trials", "EER ↓",
              "same cos", "different cos", *(f"EER {c}" for c in corpora)]
    rows = []
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
        rows.append([
            name, str(len(set(speakers))), str(len(wavs)), str(scores.same_trials),
            str(scores.different_trials), f"{100 * scores.eer:.2f}%", f"{scores.same_mean:.3f}",
            f"{scores.different_mean:.3f}", *(cell(100 * e, 2) + "%" for e in per_corpus)])
        _note(f"{name}: {len(wavs)} utterances in {time.perf_counter() - started:.1f} s")
    print_table(markdown_table(header, rows), args.out)
    return 0


def _espeak_clip(voice: str, speed: int, text: str):
    from tts.synthesizer import EspeakEngine

    return EspeakEngine(voice, speed).speak(text)


def _rate(scores: list[float], threshold: float) -> str:
    accepted = sum(s >= threshold for s in scores)
    return f"{accepted}/{len(scores)} accepted ({100 * accepted / max(len(scores), 1):.0f}%)"


def _min_median_max(scores) -> str:
    import numpy as np

    return f"{min(scores):.2f} / {float(np.median(scores)):.2f} / {max(scores):.2f}"


def cmd_consent(args: argparse.Namespace) -> int:
    """Acceptance and rejection rates of the consent check (``cloning.consent``): (a) the
    sentence check on espeak-ng readings of the consent sentence (should pass) and of other
    sentences, and on real recordings of other text (should fail), and of the same recordings
    against their own text (should pass) and another clip's (should fail); (b) speaker
    similarity of one clip against the mean of ``--per-speaker - 1`` other clips, same vs
    different speakers."""
    from collections import defaultdict

    import numpy as np
    import soundfile as sf

    from cloning import consent
    from cloning.encoder import average_embeddings, load_default
    from cloning.encoder_data import collect_clips
    from data.manifest import read_manifest

    set_threads(args.threads)
    checker, encoder = consent.ConsentSentenceChecker(), load_default()
    utts = [u for folder in args.data for u in read_manifest(Path(folder) / "manifest.jsonl")
            if 2.0 <= u.duration <= 8.0]
    real = [utts[i] for i in np.random.default_rng(0).permutation(len(utts))[:args.negatives]]
    others = [u.text for u in real[:len(args.voices)]]
    sentence_rows, synth = defaultdict(list), defaultdict(list)
    for voice in args.voices:
        for speed in args.speeds:
            for name in args.names:
                wav, rate = _espeak_clip(voice, speed, consent.consent_sentence(name))
                score = checker.check(wav, rate, consent.consent_sentence(name)).score
                sentence_rows["espeak, the consent sentence"].append(score)
                synth[voice].append((wav, rate, True))
            text = others[len(synth[voice]) % len(others)]
            wav, rate = _espeak_clip(voice, speed, text)
            score = checker.check(wav, rate, consent.consent_sentence(args.names[0])).score
            sentence_rows["espeak, another sentence"].append(score)
            synth[voice].append((wav, rate, False))
        _note(f"{voice}: done")
    for i, utt in enumerate(real):
        wav, rate = sf.read(utt.audio_path, dtype="float32", always_2d=True)
        wav = wav.mean(axis=1)
        score = checker.check(wav, rate, consent.consent_sentence(args.names[0])).score
        sentence_rows["real speech, another sentence"].append(score)
        # the same clips as readers of a known sentence: their own text should be found in them,
        # another clip's text not (no real readings of the consent sentence exist here)
        sentence_rows["real speech, its own text as the sentence"].append(
            checker.check(wav, rate, utt.text).score)
        other = next((u.text for u in real[i + 1:] + real[:i] if u.text != utt.text), None)
        if other is not None:
            sentence_rows["real speech, another clip's text as the sentence"].append(
                checker.check(wav, rate, other).score)
    t = args.sentence_threshold
    print(f"(a) sentence check, threshold {t:.2f} (share of the sentence's phones heard)\n")
    print(markdown_table(["clips", "accepted", "score min / median / max"],
                         [[label, _rate(scores, t), _min_median_max(scores)]
                          for label, scores in sentence_rows.items()]))

    # (b) speakers: consent clip vs the mean of the other clips of a reference speaker
    by_speaker = defaultdict(list)
    for clip in collect_clips(args.data, "all"):
        by_speaker[clip.speaker].append(clip)
    consent_emb, reference_emb = [], []
    for speaker in sorted(by_speaker)[:args.speakers]:
        clips = sorted(by_speaker[speaker], key=lambda c: c.id)[:args.per_speaker]
        if len(clips) < 2:
            continue
        wavs = [sf.read(c.path, dtype="float32", always_2d=True) for c in clips]
        emb = encoder.embed_many([w.mean(axis=1) for w, _ in wavs], wavs[0][1])
        consent_emb.append(emb[0])
        reference_emb.append(average_embeddings(emb[1:]))
    for clips in synth.values():  # espeak voices: consent readings vs other sentences
        emb = np.stack([encoder.embed_utterance(w, r) for w, r, _ in clips])
        is_consent = np.array([c for _, _, c in clips])
        consent_emb.append(emb[is_consent][0])
        reference_emb.append(average_embeddings(emb[~is_consent]))
    cos = np.stack(consent_emb) @ np.stack(reference_emb).T
    n_real = len(cos) - len(synth)
    same, different = np.diag(cos), cos[~np.eye(len(cos), dtype=bool)]
    t = args.speaker_threshold
    ordered = np.sort(different)[::-1]
    at_far = ordered[max(0, int(np.ceil(args.far * len(ordered))) - 1)]
    print(f"\n(b) speaker check, threshold {t:.2f} (cosine to the mean reference embedding; "
          f"{n_real} real speakers + {len(synth)} espeak voices)\n")
    trials = (("same speaker", same[:n_real]), ("same espeak voice", same[n_real:]),
              ("different speakers", different),
              ("different espeak voices", cos[n_real:, n_real:][~np.eye(len(synth), dtype=bool)]))
    print(markdown_table(["trials", "count", "accepted", "cosine min / median / max"],
                         [[label, str(len(scores)), _rate(list(scores), t), _min_median_max(scores)]
                          for label, scores in trials if len(scores)]))
    print(f"\nthreshold for {100 * args.far:.1f}% false acceptance of different speakers: "
          f"{at_far:.3f}; same-speaker trials rejected there: "
          f"{int((same[:n_real] < at_far).sum())}/{n_real}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser, sub = subcommands(PROG, "Objective evaluation of voxclone models (tts.metrics).")
    evaluate_vocoder.add_parser(sub)

    evaluate_acoustic.add_parser(sub)

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
    add_out(enc)
    add_threads(enc)
    enc.set_defaults(func=cmd_encoder)

    evaluate_voices.add_parsers(sub)
    evaluate_pitch.add_parser(sub)
    evaluate_convert.add_parsers(sub)
    evaluate_spoof.add_parser(sub)

    from cloning.consent import SENTENCE_THRESHOLD, SPEAKER_THRESHOLD

    con = sub.add_parser(
        "consent", help="acceptance/rejection rates of the consent check (cloning.consent)",
        description="Sentence check on espeak-ng readings of the consent sentence and of other "
                    "sentences, and on real clips of other text and of their own; speaker "
                    "check on one clip vs the mean of other clips, same vs different speakers "
                    "(and espeak voices).")
    con.add_argument("--data", required=True, nargs="+", metavar="DIR",
                     help="prepared folders: real clips (other text) and speakers")
    con.add_argument("--voices", nargs="+", default=["en-us", "en-us+f3", "en-gb+m3",
                                                      "en-us+klatt"])
    con.add_argument("--speeds", nargs="+", type=int, default=[140, 175], help="words/minute")
    con.add_argument("--names", nargs="+", default=["kathleen", "studio_voice_2"],
                     help="voice names in the consent sentence")
    con.add_argument("--negatives", type=int, default=12, help="real clips of other text")
    con.add_argument("--speakers", type=int, default=120, help="speakers at most")
    con.add_argument("--per-speaker", type=int, default=4,
                     help="clips per speaker: 1 consent + the rest as reference (default 4)")
    con.add_argument("--sentence-threshold", type=float, default=SENTENCE_THRESHOLD)
    con.add_argument("--speaker-threshold", type=float, default=SPEAKER_THRESHOLD)
    con.add_argument("--far", type=float, default=0.005,
                     help="false-acceptance rate to report a speaker threshold for")
    add_threads(con)
    con.set_defaults(func=cmd_consent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    return run(PROG, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
