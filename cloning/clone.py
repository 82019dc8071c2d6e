"""``clone_voice``: reference audio (+ consent) -> a saved voice profile, in one of three tiers.

Steps: check the name and tier; load and clean the reference audio (``cloning.reference``) and
say which tiers its amount of speech allows; check consent (``cloning.consent``: the speaker
reads the consent sentence, or a named override); embed the clips with the speaker encoder: the
*instant* voice, which speaks in the model's average style (an unseen reference's style-token
weights cost it words, see ``TIERS``). The *quick* tier keeps that voice's embedding and style
and fits a small adapter (the decoder's output layer) to the reference under the otherwise
frozen model (``cloning.quick``); the *few-shot* tier fits the embedding, the reference's
style-token weights and a larger adapter (the decoder's normalisations, block outputs and pitch
output), with more audio and time.
Quick stops early on a held-out part of the reference; few-shot runs its steps (see
``TIER_FITS``). Every voice is moved onto the reference's median pitch, the instant voice also
onto its long-term spectrum (``tts.timbre``, the voice's colour; the fitted tiers' adapters learn
their own), then measured by the guard (``cloning.guard``: Whisper's WER of a few sentences,
similarity to held-out reference speech), and a higher tier that speaks worse than the instant
voice is not kept (a refused few-shot fit is first tried again moved part of the way back to the
base model, ``MOVED_BACK``). The profile is saved (``cloning.profile``; its format is
``tts.profiles``).

Quick and few-shot need the words of the reference. Without ``--transcripts`` Whisper
(``tts.asr``) hears them, and a clip whose transcript is empty or unsure is left out
(``cloning.adapt.screen_transcripts``): wrong words ruin the fit. When less than
``MIN_ADAPT_SPEECH`` seconds of transcribed speech remain, or only pocketsphinx is installed, the
clone is refused with one line that names the way out (``--transcripts``, or instant) before
anything is written: the user asked for a tier and a budget, and learns in seconds that the audio
cannot give it.
"""
from __future__ import annotations

import dataclasses
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

__all__ = ["clone_voice", "reference_style", "resolve_tier", "tiers_allowed", "TIERS"]

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
        raise DataError(f"quick and few-shot clones need Whisper to hear the reference's words "
                        f"({transcriber.fallback}); pocketsphinx's transcripts ruin the voice: "
                        "pass --transcripts FILE, or clone zero-shot (--tier instant)")
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
                            f" of {len(clips)} clips): quick and few-shot clones need at least "
                            f"{MIN_ADAPT_SPEECH:.0f} s; pass --transcripts FILE ('file|text' "
                            "lines), or clone zero-shot (--tier instant)")
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
        raise DataError(f"only {speech:.0f} s of transcribed speech: quick and few-shot clones "
                        f"need at least {MIN_ADAPT_SPEECH:.0f} s; give more reference audio "
                        "with transcripts, or clone zero-shot (--tier instant)")
    return texts, facts


TIERS = ("instant", "quick", "few-shot")
"""instant: the encoder's embedding of the reference, its pitch and colour, in the model's
average style (seconds of audio; the reference's own style-token weights, measured on 13 unseen
speakers, left the likeness where it was and cost words: docs/cloning.md);
quick: the instant voice with a small adapter fitted to the reference under the frozen model
(``cloning.quick``, about a minute of audio, ``QUICK_MINUTES``); few-shot: the embedding and the
reference's style fitted too, with a larger adapter (a few minutes of audio and up to
``--minutes``)."""
QUICK_MINUTES = 2.0
"""Default time budget of a quick clone, the whole clone included."""
FEW_SHOT_MINUTES = 10.0
"""Default time budget of a few-shot clone asked for with ``tier="few-shot"`` alone."""
FEW_SHOT_SPEECH = 120.0
"""Seconds of speech from which the few-shot tier is worth its time (it runs from
``MIN_ADAPT_SPEECH``, but below this the quick tier is the better use of the audio)."""
QUICK_MAX_SPEECH = 90.0
"""Seconds of transcribed speech a quick clone fits at most (its first clips up to that): about a
minute is what the tier is for, and 3 minutes of reference spent a loaded CPU's whole two-minute
budget on preparing the audio (mels, pitch tracks, embeddings)."""
MIN_FIT_SECONDS = 10.0
"""A quick or few-shot clone whose preparation leaves less of the budget than this keeps the
instant voice."""
QUICK_ADAPTER = ("decoder.norm", "decoder.output")
"""The model parameters the quick tier fits: the decoder's last normalisation and output
projection (15,824 weights of the bundled model), a per-voice spectral mapping that leaves the
text side, timing and pitch as trained."""
FEW_SHOT_ADAPTER = QUICK_ADAPTER + ("decoder.blocks.*.norm", "decoder.blocks.*.gamma",
                                    "decoder.blocks.*.pwconv2", "decoder.pitch_predictor.output",
                                    "decoder.range_predictor")
"""The few-shot tier's adapter: the quick one, and in every decoder block its normalisation,
layer scale and output projection (where the block writes into the mel path), and the pitch
predictor's output and range (the voice's intonation): 611,603 weights of the bundled
model. The phoneme encoder, aligner and duration predictor stay as trained on many voices (fitting
them on a voice's few sentences cost words)."""
TIER_FITS = {"quick": {"adapter": QUICK_ADAPTER, "adapter_rate": 1e-3, "conditioning": False},
             "few-shot": {"adapter": FEW_SHOT_ADAPTER, "adapter_rate": 3e-4,
                          "max_steps": 600, "patience": None, "average": 0.99}}
"""``cloning.quick.fit_conditioning``'s settings per tier. The few-shot fit does not stop on the
held-out loss, which is lowest long before the voice is closest (``cloning.quick``'s doc). The
quick fit leaves the instant voice's embedding and average style as they are: fitting them too
cost words and no likeness (3 unseen speakers, 1 minute each, 90 unseen sentences: similarity
0.788 and WER 0.166 fitted, 0.791 and 0.109 kept, the instant voice 0.732 and 0.108). On 3
minutes of an unseen speaker (similarity of its speech to the speaker's other recordings, Whisper
WER on 10 sentences; zero-shot 0.643 and 0.168): rate 3e-4 gave 0.782/0.142 after 100 steps,
0.809/0.168 after 300 and 0.834/0.168 after 600; rate 1e-3 gave 0.840/0.177 after 300 and
0.845/0.230 after 600, and at 400 steps in a clone 0.834/0.230, which the guard refused: the
slower rate reaches the same likeness without losing words. Since session 24 the few-shot fit keeps
the moving average of its values (decay 0.99) instead of the last ones: on two unseen speakers
(given transcripts, 30 and 28 sentences) 0.831 / WER 0.160 against 0.837 / 0.185, and 0.910 /
0.179 against 0.908 / 0.225 (docs/cloning.md)."""
GUARD_MARGIN = 90.0
"""Seconds of the budget (at most 30% of it) kept for the guard's checks and saving after the
fit: a few-shot clone's guard has two voices speak 24 sentences each (about 55 s here)."""
MOVED_BACK = 0.75
"""When the guard refuses a few-shot voice, it tries the fit moved back part of the way to the
base model before it falls back to the instant voice: every fitted weight ``w`` becomes
``base + MOVED_BACK * (w - base)``; the fitted embedding and style stay. Likeness and words
trade almost linearly along that line (docs/cloning.md; one unseen speaker, 3 minutes, 30
sentences: the fit 0.800 / WER 0.204, moved back 0.749 / 0.125, 0.5 of the way 0.665 / 0.098,
the instant voice 0.714 / 0.115)."""
MOVED_BACK_SECONDS = 45.0
"""The moved-back voice is tried only while this much of the budget is left (its check speaks
and transcribes the guard's 24 sentences once more: about 30 s here)."""


def resolve_tier(tier: str | None, minutes: float | None) -> tuple[str, float | None]:
    """The tier and time budget (minutes; None for instant) that ``tier`` and ``minutes`` ask
    for: ``minutes`` alone means few-shot (as before tiers had names)."""
    if tier is None:
        tier = "few-shot" if minutes is not None else "instant"
    if tier not in TIERS:
        raise ConfigError(f"unknown tier {tier!r}: choose one of {', '.join(TIERS)}")
    if minutes is not None and minutes <= 0:
        raise ConfigError(f"--minutes must be positive, got {minutes}")
    if tier == "instant":
        if minutes is not None:
            raise ConfigError("an instant clone takes no --minutes: ask for --tier quick or "
                              "--tier few-shot, or leave out --minutes")
        return tier, None
    return tier, minutes if minutes is not None else (
        QUICK_MINUTES if tier == "quick" else FEW_SHOT_MINUTES)


def tiers_allowed(speech: float) -> str:
    """One line: which tiers ``speech`` seconds of usable reference speech allow."""
    from cloning.adapt import MIN_ADAPT_SPEECH

    allowed = ["instant"]
    if speech >= MIN_ADAPT_SPEECH:
        allowed.append("quick")
    if speech >= FEW_SHOT_SPEECH:
        allowed.append("few-shot")
    more = ("" if speech >= FEW_SHOT_SPEECH else
            f"; quick needs {MIN_ADAPT_SPEECH:.0f} s" if speech < MIN_ADAPT_SPEECH else
            f"; few-shot is worth it from {FEW_SHOT_SPEECH:.0f} s")
    return f"{speech:.0f} s of usable speech allows: {', '.join(allowed)}{more}"


@dataclasses.dataclass
class _Candidate:
    """A voice a tier made, before the guard: its model (and the file it is saved as), its
    conditioning, pitch and mel offsets and the guard's check."""

    tier: str
    acoustic: object
    path: Path
    embedding: np.ndarray
    style: np.ndarray | None
    pitch: dict | None = None
    timbre: dict | None = None
    check: object = None
    adapter: dict | None = None
    """The fitted model weights (name -> tensor) of a quick or few-shot voice."""
    moved_back: float | None = None
    """``MOVED_BACK`` for a few-shot voice moved back towards the base model, else None."""

    @property
    def label(self) -> str:
        """The tier, and how far its fit was moved back, if it was."""
        return self.tier + (f" (fit moved back to {self.moved_back:g})"
                            if self.moved_back is not None else "")

    def engine(self, vocoder=None, vocoder_audio=None):
        """A ``NeuralEngine`` speaking this voice with the offsets found so far (pitch when the
        model has pitch, the mel offset); without ``vocoder``, Griffin-Lim (for the mels and F0
        alone)."""
        from tts.neural_engine import NeuralEngine

        if vocoder is None:
            from tts.models.griffinlim import GriffinLim

            vocoder, vocoder_audio = GriffinLim(self.acoustic.audio), self.acoustic.audio
        pitch = self.pitch["semitones"] if self.pitch and self.acoustic.model.config.pitch \
            else 0.0
        return NeuralEngine(self.acoustic, vocoder, vocoder_audio,
                            speaker_embedding=self.embedding, style_weights=self.style,
                            pitch=pitch, mel_offset=None if not self.timbre
                            else np.asarray(self.timbre["mel_offset"], np.float32))


def clone_voice(name: str, audio: Sequence[str | Path], *, consent: str | Path | None = None,
                override: str | None = None, override_note: str = "",
                transcripts: str | Path | None = None, minutes: float | None = None,
                tier: str | None = None, acoustic: str | Path | None = None,
                root: Path | None = None, force: bool = False, encoder=None,
                guard: bool = True, report: Callable[[str], None] = print) -> VoiceProfile:
    """Clone the voice in ``audio`` (files/folders) into profile ``name`` under ``root``.

    ``tier`` (``TIERS``; default: few-shot when ``minutes`` is given, else instant) and
    ``minutes``, the whole time budget of a quick or few-shot clone (defaults
    ``QUICK_MINUTES``, ``FEW_SHOT_MINUTES``). Quick and few-shot need the reference's words:
    ``transcripts``, else Whisper's (see the module doc). With ``guard`` every voice made is
    measured (``cloning.guard``) and a higher tier that speaks worse than the instant voice is
    not kept; the profile records the figures (``profile.guard``).

    Raises ``ConsentError`` without consent, ``AudioError`` for unusable reference audio,
    ``ProfileError`` if ``name`` exists (unless ``force``), ``ConfigError`` for a bad tier or
    budget, ``DataError`` when a quick or few-shot clone has too little transcribed speech.
    Returns the saved profile.
    """
    from cloning.encoder import average_embeddings, load_default
    from tts.acoustic import load_acoustic
    from tts.bundled import DEFAULT_ACOUSTIC

    started = time.monotonic()
    folder = new_profile_path(name, root)
    if folder.exists() and not force:
        raise ProfileError(f"a voice named {name!r} already exists at {folder} (choose another "
                           "name, or pass --force to replace it)")
    tier, minutes = resolve_tier(tier, minutes)
    base = Path(acoustic) if acoustic is not None else DEFAULT_ACOUSTIC
    model = load_acoustic(base)
    if not model.model.config.speaker_embedding_dim:
        raise ConfigError(f"{base} is not conditioned on speaker embeddings: it cannot clone "
                          "voices (use a multi-speaker model)")
    references = load_reference(audio, model_rate=model.audio.sample_rate
                                if model.model.config.use_style else None)
    report(f"reference: {references.summary()}")
    report(tiers_allowed(references.speech))
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
        style_weights=None)  # the instant voice: the model's average style (TIERS)
    if tier != "instant":  # transcripts and their guard before anything is written
        texts, transcript_facts = _texts(references, transcripts, report)
    target_hz = _reference_f0(references)
    instant = _Candidate("instant", model, base, embedding, None)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=_workdir_parent(folder)) as work:
        held_out: list[Path] = []
        higher = None
        if tier != "instant":
            deadline = started + minutes * 60 - min(GUARD_MARGIN, 0.3 * minutes * 60)
            higher, held_out, facts = _fit(tier, references, texts, name, base, model, instant,
                                           Path(work), deadline, encoder, report)
        if higher is not None:
            facts.update(transcript_facts)
        chosen = instant
        candidates = [instant] + ([higher] if higher is not None else [])
        spectrum = _reference_spectrum(references, model.audio,
                                       Path(work) / "prepared" if held_out else None)
        for candidate in candidates:
            candidate.pitch = _offset(candidate, target_hz)
            if candidate.tier == "instant":  # a fit learns its own colour (QUICK_ADAPTER)
                candidate.timbre = _timbre(candidate, spectrum)
        if guard:
            def moved_back() -> _Candidate | None:  # the guard's second try for few-shot
                if higher is None or higher.tier != "few-shot" or not higher.adapter:
                    return None
                if time.monotonic() > started + minutes * 60 - MOVED_BACK_SECONDS:
                    report("guard: no time left in the budget to try the fit moved back")
                    return None
                softer = _moved_back(higher, base, MOVED_BACK, Path(work))
                softer.pitch = _offset(softer, target_hz)
                return softer

            chosen = _guard(candidates, held_out, encoder, profile, report, moved_back)
        elif higher is not None:
            chosen = higher
        profile.tier = chosen.tier
        own_model = chosen.path != base  # the base model with a fitted adapter
        if chosen.moved_back is not None:
            facts["moved_back"] = chosen.moved_back
        if chosen.tier != "instant":
            profile.fit = {"embedding": [round(float(x), 6) for x in chosen.embedding],
                           "style_weights": None if chosen.style is None
                           else np.round(chosen.style, 6).tolist(), **facts}
        if own_model:
            profile.adapted = facts
        profile.reference["pitch_offset"] = chosen.pitch
        if chosen.timbre:
            profile.reference["timbre"] = chosen.timbre
        if target_hz is None:
            report("pitch: no voiced speech found in the reference; the voice keeps the model's")
        else:
            report(f"pitch: reference median {target_hz:g} Hz; the voice is moved "
                   f"{chosen.pitch['semitones']:+.2f} semitones to match it")
        if chosen.timbre:
            report(f"colour: the voice's spectrum is moved onto the reference's (by "
                   f"{chosen.timbre['largest_db']:.1f} dB at most, over "
                   f"{chosen.timbre['reference_seconds']:g} s of reference)")
        saved = save_profile(profile, folder, chosen.path if own_model else None,
                             overwrite=force)
    report(f"saved {chosen.label} voice {name!r} to {saved} in "
           f"{time.monotonic() - started:.0f} s")
    return profile


def _fit(tier: str, references: ReferenceSet, texts: list[str], name: str, base: Path, model,
         instant: _Candidate, work: Path, deadline: float, encoder,
         report) -> tuple[_Candidate | None, list[Path], dict]:
    """The quick or few-shot ``tier``: the reference prepared with a held-out part, the tier's
    adapter and (few-shot) the conditioning fitted, from the instant voice's embedding and, for
    a tier that fits the conditioning, the reference's style weights (``reference_style``;
    otherwise the model's average style; ``cloning.quick``, ``TIER_FITS``) until
    ``deadline``; returns the candidate (with its adapter, the base model's weights with the
    fitted ones, saved in ``work``), the held-out files and the facts of the fit, or
    ``(None, [], {})`` when preparing left no time to fit."""
    from cloning.adapt import prepare_reference
    from cloning.quick import VAL_FRACTION, fit_conditioning
    from tts import checkpoint
    from tts.acoustic import load_acoustic

    conditioning = TIER_FITS[tier].get("conditioning", True)
    style = reference_style(model, references) if conditioning else None
    pairs = [(c, t) for c, t in zip(references.clips, texts, strict=True) if t.strip()]
    if tier == "quick":
        speech = np.cumsum([c.speech for c, _ in pairs])
        pairs = pairs[:max(1, int(np.searchsorted(speech, QUICK_MAX_SPEECH)) + 1)]
    report(f"{tier}: preparing {len(pairs)} clip(s) with their transcripts")
    ckpt = checkpoint.load(base, kind="acoustic")
    prepared = prepare_reference(pairs, name, ckpt, work, encoder, val_fraction=VAL_FRACTION)
    if deadline - time.monotonic() < MIN_FIT_SECONDS:
        report(f"{tier}: preparing the audio used up the time budget (under "
               f"{MIN_FIT_SECONDS:.0f} s left for the fit): keeping the instant voice; give "
               "more --minutes")
        return None, [], {}
    fitted = "the voice's conditioning and adapter" if conditioning else "the voice's adapter"
    report(f"{tier}: fitting {fitted} for at most {deadline - time.monotonic():.0f} s")
    fit = fit_conditioning(model, prepared, instant.embedding, style, deadline,
                           **TIER_FITS[tier])
    report(f"{tier}: {fit.steps} steps in {fit.seconds:.0f} s, kept step {fit.best_step}; "
           f"held-out loss {fit.val_loss_before:.4f} -> {fit.val_loss_after:.4f}")
    facts = fit.facts()
    facts["clips"] = len(pairs)
    acoustic, path = model, base
    if fit.adapter:  # the base model with the voice's adapter: saved as the voice's model
        state = dict(ckpt.state_dict)
        for key, value in fit.adapter.items():
            state[key] = value.to(state[key].dtype)
        path = checkpoint.save(work / tier / ADAPTED_FILE,
                               dataclasses.replace(ckpt, state_dict=state))
        acoustic = load_acoustic(path)
    candidate = _Candidate(tier, acoustic, path, fit.embedding, fit.style_weights,
                           adapter=fit.adapter or None)
    return candidate, _held_out_files(prepared), facts


def _moved_back(candidate: _Candidate, base: Path, fraction: float, work: Path) -> _Candidate:
    """``candidate`` (a fit with an adapter) with every fitted weight moved from the ``base``
    model's value ``fraction`` of the way to the fitted one, saved in ``work`` and loaded; the
    fitted embedding and style are kept. The pitch offset is left to find (``_offset``)."""
    from tts import checkpoint
    from tts.acoustic import load_acoustic

    ckpt = checkpoint.load(base, kind="acoustic")
    state = dict(ckpt.state_dict)
    moved = {}
    for key, value in candidate.adapter.items():
        moved[key] = torch.lerp(state[key].float(), value.float(), fraction)
        state[key] = moved[key].to(state[key].dtype)
    path = checkpoint.save(work / f"{candidate.tier}-moved-back" / ADAPTED_FILE,
                           dataclasses.replace(ckpt, state_dict=state))
    return _Candidate(candidate.tier, load_acoustic(path), path, candidate.embedding,
                      candidate.style, adapter=moved, moved_back=fraction)


def _held_out_files(prepared: Path) -> list[Path]:
    """The audio files of ``prepared``'s validation clips (never fitted or trained on)."""
    from data.manifest import read_manifest

    return [Path(u.audio_path) for u in read_manifest(prepared / "val.jsonl")]


def _guard(candidates: list[_Candidate], held_out: list[Path], encoder, profile: VoiceProfile,
           report, moved_back: Callable[[], _Candidate | None] | None = None) -> _Candidate:
    """Measure every candidate (``cloning.guard``) against the held-out reference speech (all
    of it when nothing was held out) and return the highest tier that does not speak worse
    than the instant voice; the figures go into ``profile.guard``. When the highest is refused,
    ``moved_back()`` may give one more candidate to try before the instant voice (the few-shot
    fit moved back towards the base model, ``MOVED_BACK``; None: nothing to try)."""
    from cloning.guard import check_voice, guard_sentences, held_out_target, judge, worse
    from tts.neural_engine import default_vocoder
    from tts.vocoder import load_vocoder

    transcriber = judge(report)
    target = held_out_target(held_out, encoder) if held_out else profile.embedding
    vocoder, vocoder_audio = load_vocoder(default_vocoder(candidates[0].acoustic))
    sentences = guard_sentences(candidates[-1].tier)

    def check(candidate: _Candidate) -> None:
        engine = candidate.engine(vocoder, vocoder_audio)
        candidate.check = check_voice(candidate.label, engine, target, encoder, transcriber,
                                      sentences)
        report(f"guard: {candidate.check.summary()}")

    for candidate in candidates:
        check(candidate)
    instant, top = candidates[0], candidates[-1]
    chosen, refused, second = top, None, None
    if len(candidates) > 1:
        refused = worse(top.check, instant.check)
        if refused:
            chosen = instant
            report(f"guard: the {top.tier} voice speaks worse than the instant one ({refused})")
            softer = moved_back() if moved_back is not None else None
            if softer is not None:
                check(softer)
                candidates = [*candidates, softer]
                second = worse(softer.check, instant.check)
                if second:
                    report(f"guard: the {softer.label} voice speaks worse too ({second})")
                else:
                    chosen = softer
                    report(f"guard: keeping the {softer.label} voice")
            if chosen is instant:
                report("guard: keeping the instant voice")
    profile.guard = {"checks": [c.check.to_dict() for c in candidates],
                     "held_out_clips": len(held_out), "kept": chosen.label,
                     "refused": None if refused is None
                     else {"tier": top.tier, "why": refused},
                     "judge": None if transcriber is None else transcriber.name}
    if len(candidates) > 2:
        profile.guard["moved_back"] = {"fraction": candidates[-1].moved_back,
                                       "kept": chosen is candidates[-1], "why_not": second}
    return chosen


PITCH_REFERENCE_SECONDS = 60.0
"""At most this much reference audio is pitch-tracked for a voice's pitch offset."""


def _reference_f0(references: ReferenceSet) -> float | None:
    """Median F0 (Hz) of the voiced reference speech (at most ``PITCH_REFERENCE_SECONDS``), or
    None when nothing is voiced."""
    from tts.pitch_stats import speech_median_f0

    clips, total = [], 0.0
    for clip in references.clips:
        if total >= PITCH_REFERENCE_SECONDS:
            break
        clips.append((clip.wav, REFERENCE_RATE))
        total += clip.seconds
    target = speech_median_f0(clips).median_hz
    return round(float(target), 1) if math.isfinite(target) else None


def _offset(candidate: _Candidate, target_hz: float | None) -> dict:
    """How far ``candidate``'s voice must be moved (semitones) for its predicted F0 to sit at
    ``target_hz`` (``tts.voices.pitch_offset_for``), with the model file it holds for:
    ``{"reference_f0_hz", "semitones", "acoustic"}``. A model without pitch gives 0."""
    from tts.voices import pitch_offset_for

    semitones = pitch_offset_for(candidate.engine(), target_hz) if target_hz else 0.0
    return {"reference_f0_hz": target_hz, "semitones": round(semitones, 2),
            "acoustic": candidate.path.name}


TIMBRE_REFERENCE_SECONDS = 60.0
"""At most this much reference audio gives a voice's long-term spectrum (``tts.timbre``)."""


def _reference_spectrum(references: ReferenceSet, audio, prepared: Path | None) -> dict:
    """The reference's long-term log-mel spectrum (``tts.timbre.long_term_spectrum``) over at
    most ``TIMBRE_REFERENCE_SECONDS``, in the model's mel (``audio``): from the training part of
    a quick or few-shot fit's ``prepared`` folder (the held-out clips stay unseen by the guard),
    else from the usable reference files. ``{"spectrum": (n_mels,), "seconds": float}``."""
    from tts.audio import load_audio
    from tts.mel import mel_spectrogram
    from tts.timbre import long_term_spectrum

    mels, frames, limit = [], 0, TIMBRE_REFERENCE_SECONDS * audio.sample_rate / audio.hop_length
    if prepared is not None and (prepared / "train.jsonl").is_file():
        from data.manifest import read_manifest

        sources = (np.load(u.mel_path).astype(np.float32)
                   for u in read_manifest(prepared / "train.jsonl"))
    else:
        paths = list(dict.fromkeys(c.path for c in references.clips))
        sources = (mel_spectrogram(references.model_audio[p] if p in references.model_audio
                                   else load_audio(p, audio.sample_rate), audio) for p in paths)
    for mel in sources:
        if frames >= limit:
            break
        if mel.shape[1] >= 2:
            mels.append(mel)
            frames += mel.shape[1]
    seconds = round(frames * audio.hop_length / audio.sample_rate, 1)
    return {"spectrum": long_term_spectrum(mels), "seconds": seconds}


def _timbre(candidate: _Candidate, reference: dict) -> dict:
    """The mel offset (``tts.timbre.timbre_offset``) that moves ``candidate``'s speech (its
    pitch offset applied) onto the ``reference`` spectrum (``_reference_spectrum``), with the
    model file it holds for: ``{"mel_offset", "largest_db", "reference_seconds",
    "acoustic"}``."""
    from tts.timbre import spoken_spectrum, timbre_offset
    from tts.voices import CALIBRATION_SENTENCES

    spoken = spoken_spectrum(candidate.engine(), CALIBRATION_SENTENCES)
    offset = timbre_offset(reference["spectrum"], spoken)
    return {"mel_offset": [round(float(x), 4) for x in offset],
            "largest_db": round(float(np.abs(offset).max()) * 20 / math.log(10), 1),
            "reference_seconds": reference["seconds"], "acoustic": candidate.path.name}


def _workdir_parent(folder: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder.parent
