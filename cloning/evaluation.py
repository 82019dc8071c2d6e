"""Speaker similarity of cloned voices, next to that of real speech (``evaluate.py clone``).

For each evaluation voice, its clips are split into *reference* clips (what cloning gets) and
*test* clips (held-out real speech). The clone speaks the test clips' texts; the speaker encoder
embeds everything, and the figures are cosines to the mean embedding of a voice's test clips:

- ``clone``: synthesized utterances vs the same voice's test clips (what cloning achieves);
- ``real``: each test clip vs the mean of the same voice's *reference* clips (the ceiling:
  two sets of real recordings of one person);
- ``different``: real test clips vs other voices' test means (the floor: other people);
- ``clone vs others``: synthesized utterances vs other voices' test means (specificity).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["EvalVoice", "collect_voices", "similarity_rows"]


@dataclasses.dataclass
class EvalVoice:
    """One voice to clone: ``reference`` and ``test`` clips (paths) and the test texts."""

    name: str
    reference: list[Path]
    test: list[Path]
    texts: list[str]
    reference_texts: list[str] = dataclasses.field(default_factory=list)
    wer_texts: list[str] = dataclasses.field(default_factory=list)
    """More sentences the clone speaks for the WER only (after ``texts``; e.g. unseen sentences
    of a text collection: three test texts per voice are few words to judge by)."""


def collect_voices(folders: Sequence[Path], speakers: Callable[[Path], set[str]],
                   n_reference: int, n_test: int, reference_seconds: float | None = None
                   ) -> list[EvalVoice]:
    """Voices of the prepared ``folders`` whose speaker is in ``speakers(folder)`` and who have
    enough clips: the first ``n_reference`` clips (or, with ``reference_seconds``, clips up to
    that many seconds) are the reference, the next ``n_test`` the test clips."""
    from data.manifest import read_manifest

    voices = []
    for folder in folders:
        wanted = speakers(Path(folder))
        by_speaker: dict[str, list] = {}
        for utt in read_manifest(Path(folder) / "manifest.jsonl"):
            if utt.speaker in wanted:
                by_speaker.setdefault(utt.speaker, []).append(utt)
        for name, utts in sorted(by_speaker.items()):
            utts.sort(key=lambda u: u.id)
            if reference_seconds is not None:
                total, cut = 0.0, 0
                while cut < len(utts) and total < reference_seconds:
                    total, cut = total + utts[cut].duration, cut + 1
            else:
                cut = n_reference
            if len(utts) < cut + n_test or (reference_seconds and total < reference_seconds):
                continue
            test = utts[cut:cut + n_test]
            voices.append(EvalVoice(name, [Path(u.audio_path) for u in utts[:cut]],
                                    [Path(u.audio_path) for u in test], [u.text for u in test],
                                    [u.text for u in utts[:cut]]))
    return voices


def similarity_rows(voices: Sequence[EvalVoice], speak: Callable[[EvalVoice], list[np.ndarray]],
                    sample_rate: int, encoder, transcriber=None) -> dict[str, float]:
    """The four mean cosines (see the module doc) over ``voices``; ``speak(voice)`` returns the
    clone's waveforms of ``voice.texts + voice.wer_texts`` at ``sample_rate`` (the cosines use
    those of ``texts``). With a ``transcriber`` (``tts.metrics.Transcriber``), also the clones'
    ASR word error rate over all of them."""
    from cloning.encoder import average_embeddings, embed_files
    from tts import metrics

    test_means, test_embs, ref_means, clone_embs, heard, texts = [], [], [], [], [], []
    for voice in voices:
        test = embed_files(encoder, voice.test)
        test_embs.append(test)
        test_means.append(average_embeddings(test))
        ref_means.append(average_embeddings(embed_files(encoder, voice.reference)))
        wavs = speak(voice)
        spoken = voice.texts + voice.wer_texts
        if len(wavs) != len(spoken):
            raise ValueError(f"{voice.name}: {len(wavs)} waveforms for {len(spoken)} texts")
        clone_embs.append(encoder.embed_many(wavs[: len(voice.texts)], sample_rate))
        if transcriber is not None:
            heard += [transcriber.transcribe(w, sample_rate) for w in wavs]
            texts += spoken
    means = np.stack(test_means)
    n = len(voices)
    clone_same = [float((clone_embs[i] @ means[i]).mean()) for i in range(n)]
    real_same = [float((test_embs[i] @ ref_means[i]).mean()) for i in range(n)]
    others = [j for j in range(n)]
    different = [float((test_embs[i] @ means[j]).mean()) for i in range(n) for j in others if j != i]
    clone_others = [float((clone_embs[i] @ means[j]).mean()) for i in range(n) for j in others
                    if j != i]
    row = {"voices": n, "clone": float(np.mean(clone_same)), "real": float(np.mean(real_same)),
           "different": float(np.mean(different)) if different else float("nan"),
           "clone_vs_others": float(np.mean(clone_others)) if clone_others else float("nan"),
           "clone_min": float(np.min(clone_same))}
    if transcriber is not None:
        row["wer"] = metrics.word_error_rate(texts, heard)
    return row


def voice_report(engine, utterances: Sequence, encoder, transcriber, train_paths: Sequence[Path],
                 with_dnsmos: bool = False, with_pitch: bool = False) -> dict[str, float]:
    """One bundled voice on its speaker's held-out ``utterances`` (``data.manifest.Utterance``,
    never trained on): ASR WER of the synthesized texts, speaker similarity of the synthesized
    speech to the held-out recordings' mean embedding (and, as the ceiling, of the recordings
    to the mean of ``train_paths``, the speaker's training clips), DNSMOS OVRL of the synthesized
    speech, x real time of ``Synthesizer.synthesize`` and, ``with_pitch``, the median pYIN F0
    (Hz, ``tts.prosody``) of the synthesized speech (``f0``) and of the recordings (``real_f0``)."""
    import time

    from cloning.encoder import average_embeddings, embed_files
    from tts import metrics
    from tts.synthesizer import Synthesizer

    synthesizer = Synthesizer(engine=engine)
    synthesizer.synthesize("Warm up.")
    texts = [u.text for u in utterances]
    wavs, compute, audio_seconds = [], 0.0, 0.0
    for text in texts:
        started = time.perf_counter()
        result = synthesizer.synthesize(text)
        compute += time.perf_counter() - started
        audio_seconds += result.duration
        wavs.append(result.wav)
    rate = engine.audio.sample_rate
    real = embed_files(encoder, [Path(u.audio_path) for u in utterances])
    real_mean = average_embeddings(real)
    train_mean = average_embeddings(embed_files(encoder, train_paths))
    row = {"sentences": len(texts),
           "wer": metrics.word_error_rate(texts, [transcriber.transcribe(w, rate) for w in wavs]),
           "similarity": float((encoder.embed_many(wavs, rate) @ real_mean).mean()),
           "real_similarity": float((real @ train_mean).mean()),
           "x_real_time": metrics.real_time_factor(audio_seconds, compute)}
    if with_dnsmos:
        row["dnsmos"] = float(np.mean([metrics.dnsmos(w, rate).ovrl for w in wavs]))
    if with_pitch:
        from tts.audio import load_audio
        from tts.prosody import prosody

        row["f0"] = float(np.nanmedian([prosody(w, rate).f0_hz for w in wavs]))
        row["real_f0"] = float(np.nanmedian([
            prosody(load_audio(u.audio_path, rate, normalize=False), rate).f0_hz
            for u in utterances]))
    return row
