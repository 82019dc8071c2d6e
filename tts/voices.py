"""Named voices: the bundled ones (``checkpoints/voices.json``) and cloned profiles.

``find_voice(name)`` resolves a name to a ``Voice`` (bundled voices first, then the profiles in
``tts.profiles.voices_dir()``); ``voice_engine`` turns it into a ``NeuralEngine``;
``list_voices`` is what ``voxclone voices`` prints.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tts.bundled import BUNDLED_VOICES, DEFAULT_ACOUSTIC
from tts.errors import CheckpointError, ConfigError
from tts.profiles import VoiceProfile, file_fingerprint, list_profiles, load_profile

if TYPE_CHECKING:  # torch is imported only by the engine that needs it
    from tts.neural_engine import NeuralEngine
    from tts.onnx.runtime import OnnxEngine

__all__ = ["Voice", "BUNDLED_VOICES", "bundled_voices", "find_voice", "voice_engine",
           "list_voices", "write_pitch_offsets", "pitch_offset_for", "spoken_pitch",
           "DEFAULT_VOICE", "default_voice_engine"]

DEFAULT_VOICE = "kathleen"
"""The bundled voice ``voxclone say`` speaks with when no voice or model is named."""

VOICES_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Voice:
    """A speakable voice: its acoustic checkpoint, and a table ``speaker`` (bundled voices) or
    an ``embedding (D,)`` with optional ``style_weights (heads, tokens)`` (cloned voices)."""

    name: str
    kind: str
    acoustic: Path
    license: str
    description: str
    speaker: str | None = None
    embedding: np.ndarray | None = None
    style_weights: np.ndarray | None = None
    pitch_offset: float = 0.0
    """Semitones added to every ``--pitch`` of this voice, so that its median F0 is its
    recordings' (the model's pitch predictor is biased for some speakers; measured and written
    by ``scripts/evaluate.py pitch --calibrate``). Only for models with pitch."""
    mel_offset: np.ndarray | None = None
    """``(n_mels,)`` added to every frame the model predicts for this voice: its colour, the
    reference's long-term spectrum minus the model's (``tts.timbre``; cloned voices)."""

    def own_model(self, acoustic: str | Path | None) -> bool:
        """Whether ``voice_engine(..., acoustic=acoustic)`` speaks this voice with its own
        model (``acoustic`` None or this voice's checkpoint): only then are its pitch and mel
        offsets applied, which were measured for that model."""
        return acoustic is None or Path(acoustic) == self.acoustic


def bundled_voices(path: Path = BUNDLED_VOICES) -> list[Voice]:
    """The voices shipped in ``checkpoints/voices.json`` (empty if the file is absent)."""
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != VOICES_FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        return [Voice(name=v["name"], kind="bundled", acoustic=path.parent / v["acoustic"],
                      license=v["license"], description=v["description"],
                      speaker=v["speaker"], pitch_offset=float(v.get("pitch_offset", 0.0)))
                for v in data["voices"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: broken list of bundled voices ({exc})") from None


def _from_profile(profile: VoiceProfile) -> Voice:
    """A cloned voice: its adapted checkpoint, else the model it was cloned with (when still
    there), else the bundled multi-speaker model. Style weights and a quick clone's fitted
    embedding belong to the model that made them: they are used only when the profile is spoken
    by that model (otherwise the style is dropped and the encoder's embedding is used)."""
    embedding, style = profile.embedding, profile.style_weights
    acoustic = profile.acoustic_path
    own_model = acoustic is not None
    if acoustic is None:
        made_with = Path(profile.base_acoustic.get("path", ""))
        acoustic = made_with if made_with.is_file() else DEFAULT_ACOUSTIC
        own_model = acoustic.is_file() and \
            file_fingerprint(acoustic) == profile.base_acoustic.get("fingerprint")
        if not own_model:
            style = None
    if own_model and profile.fitted() is not None:  # a fit holds only for its own model
        embedding, style = profile.fitted()
    how = {"instant": "zero-shot", "quick": "quick"}.get(profile.tier, profile.tier)
    offset = profile.reference.get("pitch_offset", {})
    timbre = profile.reference.get("timbre", {})
    return Voice(name=profile.name, kind="cloned", acoustic=acoustic,
                 license=f"consent: {profile.consent.decision}",
                 description=f"{how} clone of {profile.reference.get('speech_seconds', 0):g} s "
                             f"of speech, {profile.created[:10]}",
                 embedding=embedding, style_weights=style,
                 pitch_offset=float(offset.get("semitones", 0.0))
                 if offset.get("acoustic") == acoustic.name else 0.0,
                 mel_offset=np.asarray(timbre["mel_offset"], dtype=np.float32)
                 if timbre.get("mel_offset") and timbre.get("acoustic") == acoustic.name else None)


def find_voice(name: str, root: Path | None = None) -> Voice:
    """The bundled voice or cloned profile called ``name`` (or a profile folder path)."""
    for voice in bundled_voices():
        if voice.name == name:
            return voice
    return _from_profile(load_profile(name, root))


RUNTIMES = ("auto", "torch", "onnx")
"""What runs a voice's models: PyTorch, or onnxruntime from its ONNX export (``tts.onnx``);
``auto`` is onnxruntime when a current export is there (``voxclone export --onnx``, which
``make demo`` runs for the default voice) and PyTorch otherwise: the same voice either way, the
ONNX one starting in half the time."""


def resolve_runtime(runtime: str, acoustic: str | Path, vocoder: str | Path | None = None,
                    onnx_dir: str | Path | None = None) -> str:
    """``torch`` or ``onnx``: ``runtime`` itself, or for ``auto`` whether ``acoustic`` (with
    ``vocoder``) has a current ONNX export in ``onnx_dir`` (default: the cache folder)."""
    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
    if runtime != "auto":
        return runtime
    from tts.onnx.manifest import current_export

    return "onnx" if current_export(acoustic, vocoder, onnx_dir) is not None else "torch"


def voice_engine(name: str, root: Path | None = None, vocoder: str | Path | None = None,
                 acoustic: str | Path | None = None, runtime: str = "auto",
                 onnx_dir: str | Path | None = None, **style: Any) -> NeuralEngine | OnnxEngine:
    """A ``NeuralEngine`` speaking voice ``name``; ``style``: emotion, intensity, speed, pitch. A
    few-shot clone's checkpoint also learned a speaker-table row under the voice's name: it is
    used together with the profile's embedding. ``acoustic`` speaks the voice with another
    model than its own (a candidate being evaluated), which must know the voice's speaker.
    ``runtime="onnx"``: an ``OnnxEngine`` (same interface, no torch) from the export of the
    voice's models in ``onnx_dir`` (default: the cache folder ``voxclone export --onnx --voice
    NAME`` writes); ``CheckpointError`` naming that command when it is missing or stale;
    ``style`` may then also hold ``threads`` (onnxruntime's). ``runtime="auto"``
    (``resolve_runtime``): onnx when that export is current, else torch."""
    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
    voice = find_voice(name, root)
    own_model = voice.own_model(acoustic)
    path = voice.acoustic if own_model else Path(acoustic)
    if not path.is_file():
        raise CheckpointError(f"voice {name!r} needs {path}, which is missing")
    runtime = resolve_runtime(runtime, path, vocoder, onnx_dir)
    if runtime == "onnx":
        from tts.onnx.manifest import check_export

        export = check_export(path, vocoder, onnx_dir, voice=name if acoustic is None else None)
        speakers, has_pitch = export.manifest["speakers"], export.manifest["model"]["pitch"]
    else:
        from tts.acoustic import load_acoustic

        model = load_acoustic(path)
        speakers, has_pitch = model.speakers, model.model.config.pitch
    if not own_model and voice.speaker and voice.speaker not in speakers:
        raise ConfigError(f"{path} has no speaker {voice.speaker!r} (voice {name!r})")
    speaker = voice.speaker
    if voice.kind == "cloned" and voice.name in speakers:
        speaker = voice.name
    if voice.pitch_offset and has_pitch and own_model:
        style = {**style, "pitch": style.get("pitch", 0.0) + voice.pitch_offset}
    settings = {"speaker": speaker, "speaker_embedding": voice.embedding,
                "style_weights": voice.style_weights, "voice": voice.name,
                "mel_offset": voice.mel_offset if own_model else None, **style}
    if runtime == "onnx":
        from tts.onnx.runtime import OnnxEngine

        return OnnxEngine(export, **settings)
    from tts.neural_engine import NeuralEngine, default_vocoder
    from tts.vocoder import load_vocoder

    generator, vocoder_audio = load_vocoder(vocoder or default_vocoder(model))
    return NeuralEngine(model, generator, vocoder_audio, **settings)


def default_voice_engine(vocoder: str | Path | None = None, runtime: str = "auto",
                         onnx_dir: str | Path | None = None,
                         **style: Any) -> NeuralEngine | OnnxEngine:
    """The engine of ``voxclone say`` when no voice or model is named: the bundled
    ``DEFAULT_VOICE`` (with its pitch offset), or, without a voices list that has it, the
    default model's first speaker. ``style``: emotion, intensity, speed, pitch; ``runtime``
    and ``onnx_dir`` as ``voice_engine``'s."""
    if any(v.name == DEFAULT_VOICE for v in bundled_voices()):
        return voice_engine(DEFAULT_VOICE, None, vocoder, runtime=runtime, onnx_dir=onnx_dir,
                            **style)
    if resolve_runtime(runtime, DEFAULT_ACOUSTIC, vocoder, onnx_dir) == "onnx":
        from tts.onnx.runtime import load_engine

        return load_engine(DEFAULT_ACOUSTIC, vocoder, onnx_dir, **style)
    from tts.neural_engine import NeuralEngine

    return NeuralEngine.load(DEFAULT_ACOUSTIC, vocoder, **style)


CALIBRATION_SENTENCES = (
    "We walked along the river until the evening light was gone.",
    "Could you tell me where the nearest train station is, please?",
    "My brother always orders the same meal when we go out to eat.",
    "The weather was warm enough for a long ride in the country.",
    "Please remember to close the window before you leave.",
    "Nobody knew how the old clock in the hall had stopped.",
    "It takes about twenty minutes to walk to the market from here.",
    "Are you sure this is the right road to the lake?",
)
"""What ``pitch_offset_for`` has a model say to learn how high it speaks a voice."""


def spoken_pitch(engine: NeuralEngine, texts: tuple[str, ...] = CALIBRATION_SENTENCES):
    """``tts.pitch_stats.PooledPitch`` of ``engine``'s predicted frame F0 over ``texts`` (its
    voice, pitch offset included; no vocoder needed): how high the model speaks the voice."""
    from tts.pitch_stats import voiced_median
    from tts.text import normalize

    return voiced_median(engine.mel(normalize(text)).f0.numpy() for text in texts)


def pitch_offset_for(engine: NeuralEngine, target_hz: float,
                     texts: tuple[str, ...] = CALIBRATION_SENTENCES) -> float:
    """Semitones that move ``engine``'s predicted speech (its frame F0 over ``texts``, median of
    the voiced frames, no vocoder needed) onto ``target_hz`` (e.g. the median F0 of a clone's
    reference audio). 0 for a model without pitch, or when nothing comes out voiced."""
    from tts.pitch_stats import semitones

    if not engine.acoustic.model.config.pitch or not target_hz > 0:
        return 0.0
    predicted = spoken_pitch(engine, texts)
    if not predicted.voiced_frames:
        return 0.0
    return semitones(target_hz, predicted.median_hz) + engine.pitch_shift  # as if unshifted


def write_pitch_offsets(offsets: dict[str, float], path: Path = BUNDLED_VOICES) -> None:
    """Set the ``pitch_offset`` (semitones, rounded to 0.05) of the bundled voices named in
    ``offsets`` in ``path`` (written whole to a temporary file, then renamed over it)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    unknown = set(offsets) - {v["name"] for v in data["voices"]}
    if unknown:
        raise ConfigError(f"{path}: no bundled voice {sorted(unknown)[0]!r}")
    for entry in data["voices"]:
        if entry["name"] in offsets:
            entry["pitch_offset"] = round(round(offsets[entry["name"]] / 0.05) * 0.05, 2)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def list_voices(root: Path | None = None) -> list[dict[str, Any]]:
    """Rows for ``voxclone voices``: name, kind, license, description, emotions."""
    from tts.acoustic import load_acoustic

    rows, emotions_of = [], {}
    voices = list(bundled_voices())
    for item in list_profiles(root):
        if isinstance(item, tuple):
            rows.append({"name": item[0].name, "kind": "broken", "license": "",
                         "description": item[1], "emotions": []})
        else:
            voices.append(_from_profile(item))
    for voice in voices:
        if voice.acoustic not in emotions_of:
            try:
                emotions_of[voice.acoustic] = sorted(load_acoustic(voice.acoustic).emotions)
            except (CheckpointError, ConfigError) as exc:
                emotions_of[voice.acoustic] = [f"(unavailable: {exc})"]
        rows.append({"name": voice.name, "kind": voice.kind, "license": voice.license,
                     "description": voice.description, "emotions": emotions_of[voice.acoustic]})
    return sorted(rows, key=lambda r: (r["kind"] != "bundled", r["name"]))
