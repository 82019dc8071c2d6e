"""``clone_voice``: reference audio (+ consent) -> a saved voice profile.

Steps: check the name; load and clean the reference audio (``cloning.reference``); check consent
(``cloning.consent``: the speaker reads the consent sentence, or a named override); embed the
clips with the speaker encoder (zero-shot: the mean embedding is the voice); take the style-token
weights of the reference; optionally fine-tune the acoustic model on the reference within a time
budget (``cloning.adapt``, few-shot); save the profile (``cloning.profile``; its format is
``tts.profiles``).

Few-shot needs the words of the reference. Without ``--transcripts`` Whisper (``tts.asr``) hears
them, and a clip whose transcript is empty or unsure is left out (``cloning.adapt.
screen_transcripts``): wrong words ruin the fine-tune. When less than ``MIN_ADAPT_SPEECH`` seconds
of transcribed speech remain, or only pocketsphinx is installed, the clone is refused with one
line that names the way out (``--transcripts``, or zero-shot) before anything is written, rather
than saving a zero-shot voice under a few-shot request: the user asked for a tier and a budget,
and learns in seconds, before any fine-tuning, that the audio cannot give it.
"""

from __future__ import annotations

import datetime
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from cloning.consent import check_consent, consent_sentence, override_record
from cloning.profile import new_profile_path, save_profile
from cloning.reference import REFERENCE_RATE, ReferenceSet, load_reference
from tts.errors import ConfigError, ConsentError, DataError
from tts.profiles import (
    ADAPTED_FILE,
    ConsentRecord,
    ProfileError,
    VoiceProfile,
    file_fingerprint,
)

__all__ = ["clone_voice", "reference_style"]

EXPORT_MARGIN = 30.0
"""Seconds of the time budget kept for exporting and saving after training (at most a fifth
of the budget)."""


def reference_style(acoustic, references: ReferenceSet) -> np.ndarray | None:
    """Mean style-token weights ``(heads, tokens)`` the acoustic model's reference encoder
    gives the clips, or None without style tokens. ``references`` must come from
    ``load_reference(..., model_rate=acoustic.audio.sample_rate)``: each clip is read as its
    whole file at the model's rate (``references.model_audio``; a piece of a long recording
    counts its whole file)."""
    from tts.audio import MelSpectrogram

    model = acoustic.model
    if not model.config.use_style:
        return None
    if references.model_rate != acoustic.audio.sample_rate:
        raise ValueError(f"reference audio at {references.model_rate} Hz, the acoustic model "
                         f"needs {acoustic.audio.sample_rate} Hz: pass model_rate to "
                         "load_reference")
    mel = MelSpectrogram(acoustic.audio)
    per_file: dict[Path, torch.Tensor] = {}
    with torch.inference_mode():
        for clip in references.clips:
            if clip.path not in per_file:
                mels = mel(torch.from_numpy(references.model_audio[clip.path]))[None]
                _, w = model.style_vector(1, mels, torch.tensor([mels.shape[-1]]))
                per_file[clip.path] = w[0]
        weights = [per_file[clip.path] for clip in references.clips]
    return torch.stack(weights).mean(0).numpy()


def _consent(name: str, references: ReferenceSet, consent: str | Path | None,
             override: str | None, override_note: str, encoder) -> ConsentRecord:
    paths = [clip.path for clip in references.clips]
    if override is not None:
        if consent is not None:
            raise ConsentError("give either a consent recording or an override, not both")
        return override_record(override, override_note, voice_name=name, reference_audio=paths)
    if consent is None:
        raise ConsentError(f"cloning needs consent: record the speaker reading \"{consent_sentence(name)}\" "
                           "and pass it with --consent FILE (or, for your own voice or licensed "
                           "data, --override own-voice|licensed-data --override-note WHO)")
    return check_consent(consent, paths, name, encoder=encoder)


def _transcribe(clips: Sequence, what: str, report) -> tuple[list[str], str]:
    """Whisper's screened texts of ``clips`` (``""`` for each clip left out) and its name.
    ``DataError`` when only pocketsphinx is installed: its transcripts ruin a fine-tune."""
    from cloning.adapt import MIN_CONFIDENCE, screen_transcripts, transcribe
    from tts.asr import load_transcriber

    transcriber = load_transcriber("whisper")
    if not transcriber.name.startswith("whisper"):
        raise DataError(f"few-shot cloning needs Whisper to hear the reference's words "
                        f"({transcriber.fallback}); pocketsphinx's transcripts ruin the voice: "
                        "pass --transcripts FILE, or clone zero-shot (leave out --minutes)")
    if transcriber.fallback:
        report(f"{transcriber.fallback}; using {transcriber.name}")
    report(f"transcribing {what} with {transcriber.name}")
    texts = screen_transcripts(transcribe(clips, transcriber))
    dropped = sum(1 for text in texts if not text)
    report(f"{transcriber.name} heard {len(clips) - dropped} of {len(clips)} clip(s)"
           + (f"; left out {dropped}: no words heard, or confidence below {MIN_CONFIDENCE:g}"
              if dropped else ""))
    return texts, transcriber.name


def _texts(references: ReferenceSet, transcripts: str | Path | None,
           report) -> tuple[list[str], dict]:
    """The text of each reference clip (``""``: not used for fine-tuning) and the facts on them
    (``transcripts``: "given" or the recogniser's name; ``transcripts_left_out``). Refuses
    (``DataError``, before anything is written) when less than ``MIN_ADAPT_SPEECH`` seconds of
    transcribed speech remain."""
    from cloning.adapt import MIN_ADAPT_SPEECH, read_transcripts

    clips = references.clips
    if transcripts is None:
        texts, source = _transcribe(clips, "the reference audio (pass --transcripts for exact "
                                    "texts)", report)
        facts = {"transcripts": source,
                 "transcripts_left_out": sum(1 for text in texts if not text)}
        speech = sum(c.speech for c, t in zip(clips, texts, strict=True) if t)
        if speech < MIN_ADAPT_SPEECH:
            raise DataError(f"only {speech:.0f} s of the reference speech could be transcribed "
                            f"reliably ({source} kept {len(clips) - facts['transcripts_left_out']}"
                            f" of {len(clips)} clips): few-shot cloning needs at least "
                            f"{MIN_ADAPT_SPEECH:.0f} s; pass --transcripts FILE ('file|text' "
                            "lines), or clone zero-shot (leave out --minutes)")
        return texts, facts
    known = read_transcripts(transcripts)
    whole = [clip for clip in clips if clip.span is None]
    texts = [known.get(clip.path.stem, "") if clip.span is None else "" for clip in clips]
    missing = sum(1 for c, t in zip(clips, texts, strict=True) if not t and c.span is None)
    if whole and missing == len(whole):
        raise DataError(f"{transcripts} has no line for any reference file (lines are "
                        "'file|text', file names as in the reference folder)")
    if missing:
        report(f"{missing} reference clip(s) have no transcript and are not used for adaptation")
    facts = {"transcripts": "given"}
    pieces = [i for i, clip in enumerate(clips) if clip.span is not None]
    if pieces:
        heard, source = _transcribe([clips[i] for i in pieces], f"{len(pieces)} pieces of long "
                                    "recordings (a transcript covers a whole file, not its "
                                    "pieces)", report)
        for i, text in zip(pieces, heard, strict=True):
            texts[i] = text
        facts = {"transcripts": f"given; pieces: {source}",
                 "transcripts_left_out": sum(1 for text in heard if not text)}
    speech = sum(c.speech for c, t in zip(clips, texts, strict=True) if t)
    if speech < MIN_ADAPT_SPEECH:
        raise DataError(f"only {speech:.0f} s of transcribed speech: few-shot cloning needs at "
                        f"least {MIN_ADAPT_SPEECH:.0f} s; give more reference audio with "
                        "transcripts, or clone zero-shot (leave out --minutes)")
    return texts, facts


def clone_voice(name: str, audio: Sequence[str | Path], *, consent: str | Path | None = None,
                override: str | None = None, override_note: str = "",
                transcripts: str | Path | None = None, minutes: float | None = None,
                acoustic: str | Path | None = None, root: Path | None = None,
                force: bool = False, encoder=None, finetune_config: Path | None = None,
                report: Callable[[str], None] = print, progress: bool = True) -> VoiceProfile:
    """Clone the voice in ``audio`` (files/folders) into profile ``name`` under ``root``.

    ``minutes`` (None = zero-shot) is the whole time budget of a few-shot clone; fine-tuning
    gets what is left of it after the other steps. Raises ``ConsentError`` without consent,
    ``AudioError`` for unusable reference audio, ``ProfileError`` if ``name`` exists (unless
    ``force``), ``DataError`` when a few-shot clone has too little transcribed speech (see
    above). Returns the saved profile; ``profile.adapted["transcripts"]`` says where the
    words came from ("given", or the recogniser's name, e.g. "whisper-base (faster-whisper)").
    """
    from cloning.encoder import average_embeddings, load_default
    from tts.acoustic import load_acoustic
    from tts.bundled import DEFAULT_ACOUSTIC

    started = time.monotonic()
    folder = new_profile_path(name, root)
    if folder.exists() and not force:
        raise ProfileError(f"a voice named {name!r} already exists at {folder} (choose another "
                           "name, or pass --force to replace it)")
    if minutes is not None and minutes <= 0:
        raise ConfigError(f"--minutes must be positive, got {minutes}")
    base = Path(acoustic) if acoustic is not None else DEFAULT_ACOUSTIC
    model = load_acoustic(base)
    if not model.model.config.speaker_embedding_dim:
        raise ConfigError(f"{base} is not conditioned on speaker embeddings: it cannot clone "
                          "voices (use a multi-speaker model)")
    references = load_reference(audio, model_rate=model.audio.sample_rate
                                if model.model.config.use_style else None)
    report(f"reference: {references.summary()}")
    encoder = encoder if encoder is not None else load_default()
    if encoder.config.embedding_size != model.model.config.speaker_embedding_dim:
        raise ConfigError("the speaker encoder and the acoustic model disagree on the embedding "
                          f"size ({encoder.config.embedding_size} vs "
                          f"{model.model.config.speaker_embedding_dim})")
    record = _consent(name, references, consent, override, override_note, encoder)
    report(f"consent: {record.decision}")
    embeddings = encoder.embed_many([c.wav for c in references.clips], REFERENCE_RATE)
    embedding = average_embeddings(embeddings)
    agreement = embeddings @ embedding
    from cloning.corpus_embeddings import encoder_fingerprint

    profile = VoiceProfile(
        name=name, embedding=embedding, consent=record,
        reference={"clips": len(references.clips),
                   "speech_seconds": round(references.speech, 1),
                   "seconds": round(sum(c.seconds for c in references.clips), 1),
                   "rejected": [f"{p.name}: {why}" for p, why in references.rejected],
                   "clip_agreement_min": round(float(agreement.min()), 3),
                   "clip_agreement_mean": round(float(agreement.mean()), 3)},
        encoder=encoder_fingerprint(encoder),
        base_acoustic={"file": base.name, "path": str(base.resolve()),
                       "fingerprint": file_fingerprint(base)},
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        style_weights=reference_style(model, references))
    adapted_file = None
    if minutes is not None:  # transcripts and their guard before anything is written
        texts, transcript_facts = _texts(references, transcripts, report)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=_workdir_parent(folder)) as work:
        if minutes is not None:
            from cloning.adapt import adapt

            deadline = started + minutes * 60 - min(EXPORT_MARGIN, 0.2 * minutes * 60)
            if deadline - time.monotonic() < 10:
                raise ConfigError(f"a {minutes:g}-minute budget leaves no time for fine-tuning "
                                  "after the checks: give more --minutes")
            report(f"fine-tuning until {(deadline - started) / 60:.1f} min into the clone")
            options = {"config": finetune_config} if finetune_config is not None else {}
            adapted_file, facts = adapt(references.clips, texts, name, base, Path(work),
                                        deadline, encoder=encoder, progress=progress, **options)
            facts.update(transcript_facts)
            profile.adapted = facts
        spoken_by = (load_acoustic(adapted_file), Path(ADAPTED_FILE)) if adapted_file \
            else (model, base)
        pitch = _pitch_offset(*spoken_by, profile, references)
        profile.reference["pitch_offset"] = pitch
        if pitch["reference_f0_hz"] is None:
            report("pitch: no voiced speech found in the reference; the voice keeps the model's")
        else:
            report(f"pitch: reference median {pitch['reference_f0_hz']:g} Hz; the voice is moved "
                   f"{pitch['semitones']:+.2f} semitones to match it")
        saved = save_profile(profile, folder, adapted_file, overwrite=force)
    report(f"saved voice {name!r} to {saved} in {time.monotonic() - started:.0f} s")
    return profile


PITCH_REFERENCE_SECONDS = 60.0
"""At most this much reference audio is pitch-tracked for a voice's pitch offset."""


def _pitch_offset(acoustic, path: Path, profile: VoiceProfile,
                  references: ReferenceSet) -> dict:
    """How far the voice must be moved (semitones) for its predicted F0 to sit at the median F0
    of the reference (``tts.voices.pitch_offset_for``), with the model file it holds for:
    ``{"reference_f0_hz", "semitones", "acoustic"}``. A model without pitch gives 0."""
    from tts.models.griffinlim import GriffinLim
    from tts.neural_engine import NeuralEngine
    from tts.pitch_stats import speech_median_f0
    from tts.voices import pitch_offset_for

    clips, total = [], 0.0
    for clip in references.clips:
        if total >= PITCH_REFERENCE_SECONDS:
            break
        clips.append((clip.wav, REFERENCE_RATE))
        total += clip.seconds
    target = speech_median_f0(clips).median_hz
    speaker = profile.name if profile.name in acoustic.speakers else None
    engine = NeuralEngine(acoustic, GriffinLim(acoustic.audio), acoustic.audio, speaker=speaker,
                          speaker_embedding=profile.embedding,
                          style_weights=profile.style_weights)
    semitones = pitch_offset_for(engine, target)  # 0 when nothing in the reference is voiced
    return {"reference_f0_hz": round(target, 1) if math.isfinite(target) else None,
            "semitones": round(semitones, 2), "acoustic": path.name}


def _workdir_parent(folder: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder.parent
