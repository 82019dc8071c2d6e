"""The checkpoints shipped in the repo load through the one loader and produce audio."""

from pathlib import Path

import numpy as np
import pytest
from audio_fixtures import voiced_signal

from tts.config import AudioConfig
from tts.vocoder import load_vocoder, resynthesize

ROOT = Path(__file__).resolve().parents[1]
VOCODER = ROOT / "checkpoints" / "vocoder" / "istft-small-kathleen.pt"


def test_shipped_vocoder_loads_and_resynthesizes():
    vocoder, audio = load_vocoder(VOCODER)
    assert audio == AudioConfig()
    assert (VOCODER.parent / "README.md").is_file()  # every shipped model has a card
    wav = voiced_signal(1.0, audio.sample_rate)
    out = resynthesize(wav, vocoder, audio)
    assert out.shape == (len(wav) // audio.hop_length * audio.hop_length,)
    assert np.isfinite(out).all() and 0.01 < np.sqrt(np.mean(out ** 2)) < 0.9


def test_shipped_voice_speaks_through_the_default_synthesizer():
    from tts.neural_engine import DEFAULT_ACOUSTIC, NeuralEngine
    from tts.synthesizer import Synthesizer

    assert (DEFAULT_ACOUSTIC.parent / "README.md").is_file()
    synthesizer = Synthesizer()
    assert isinstance(synthesizer.engine, NeuralEngine) and synthesizer.note is None
    result = synthesizer.synthesize("Hello, this is the default voice.")
    assert result.engine == "voxclone" and result.watermarked
    assert 0.8 < result.duration < 5.0, result.duration  # neither silent nor runaway
    assert np.isfinite(result.wav).all() and np.abs(result.wav).max() > 0.05


def test_every_bundled_voice_is_in_its_checkpoint_and_speaks():
    from tts.acoustic import load_acoustic
    from tts.bundled import DEFAULT_ACOUSTIC
    from tts.voices import bundled_voices, voice_engine

    voices = bundled_voices()
    assert len(voices) >= 4 and "kathleen" in [v.name for v in voices]
    for voice in voices:
        acoustic = load_acoustic(voice.acoustic)
        assert voice.speaker in acoustic.speakers, voice.name
        assert voice.license and voice.description
    expressive = [v for v in voices if load_acoustic(v.acoustic).emotions]
    assert expressive and all("non-commercial" in v.license for v in expressive)  # RAVDESS
    assert load_acoustic(DEFAULT_ACOUSTIC).model.config.speaker_embedding_dim == 256
    engine = voice_engine(expressive[0].name, emotion="angry", intensity=1.5)
    wav, rate = engine.speak("Open the door.")
    assert rate == 22050 and len(wav) > rate // 4 and np.isfinite(wav).all()


@pytest.mark.parametrize("name", ["istft-small.pt", "sourcefilter.pt"])
def test_pitch_true_vocoders_keep_the_pitch(name):
    """The pitch-true bundled vocoders (phase iterations; the pitch-driven one, which
    ``voxclone vocode`` uses) keep a voiced signal's F0, where the old say vocoder's
    frame-rate buzz does not always; a vocoder that lost the pitch fails this."""
    from tts import metrics

    vocoder, audio = load_vocoder(VOCODER.parent / name)
    wav = voiced_signal(1.5, audio.sample_rate)
    out = resynthesize(wav, vocoder, audio)
    assert metrics.pitch_error(wav[:len(out)], out, audio.sample_rate) < 0.05


def test_say_and_vocode_use_the_pitch_driven_vocoder():
    from tts.acoustic import load_acoustic
    from tts.neural_engine import (
        DEFAULT_ACOUSTIC,
        DEFAULT_VOCODER,
        PITCH_VOCODER,
        RESYNTHESIS_VOCODER,
        default_vocoder,
    )
    from tts.synthesizer import Synthesizer
    from tts.vocoder import needs_f0

    assert RESYNTHESIS_VOCODER == PITCH_VOCODER
    assert default_vocoder(load_acoustic(DEFAULT_ACOUSTIC)) == PITCH_VOCODER
    assert default_vocoder(load_acoustic(ROOT / "checkpoints" / "acoustic" /
                                         "kathleen.pt")) == DEFAULT_VOCODER  # no pitch
    assert default_vocoder(load_acoustic(ROOT / "checkpoints" / "acoustic" /
                                         "expressive.pt")) == PITCH_VOCODER
    assert needs_f0(Synthesizer().engine.vocoder)


def test_voice_report_gives_pitch_of_speech_and_recordings(tmp_path):
    """evaluate.py voices --pitch: the median F0 of the synthesized speech and of the held-out
    recordings (here a 140 Hz voiced signal stands in for a recording)."""
    import soundfile as sf

    from cloning.encoder import load_default
    from cloning.evaluation import voice_report
    from data.manifest import Utterance
    from tts import metrics
    from tts.voices import voice_engine

    path = tmp_path / "rec.wav"
    sf.write(path, voiced_signal(2.0, 22050, f0=140.0), 22050)
    held = [Utterance(id="a", audio_path=str(path), text="Rice is often served in round bowls.",
                      speaker="kathleen")]
    row = voice_report(voice_engine("kathleen"), held,
                       load_default(), metrics.Transcriber(), [path], with_pitch=True)
    assert 120 < row["real_f0"] < 170
    assert 120 < row["f0"] < 220  # kathleen's own pitch (about 156 Hz), not the frame rate
    assert 0 <= row["wer"] and -1 <= row["similarity"] <= 1


def test_a_voice_can_be_spoken_by_a_candidate_model_that_knows_its_speaker():
    """evaluate.py voices --acoustic: the bundled voices through another acoustic model."""
    import pytest

    from tts.errors import ConfigError
    from tts.voices import voice_engine

    acoustic = ROOT / "checkpoints" / "acoustic"
    engine = voice_engine("kathleen", vocoder="griffinlim", acoustic=acoustic / "multispeaker.pt")
    assert engine.acoustic.speakers[engine.speaker] == "kathleen"
    assert engine.acoustic.model.config.speaker_embedding_dim > 0  # not kathleen.pt
    with pytest.raises(ConfigError, match="no speaker 'LJ'"):
        voice_engine("lj", vocoder="griffinlim", acoustic=acoustic / "kathleen.pt")


def test_pitch_offsets_are_applied_and_rewritten(tmp_path):
    """A bundled voice's pitch_offset (voices.json) is added to every --pitch of a pitch model,
    and write_pitch_offsets rewrites only the named voices' offsets."""
    import json
    import shutil

    import pytest

    from tts.errors import ConfigError
    from tts.voices import BUNDLED_VOICES, bundled_voices, voice_engine, write_pitch_offsets

    kathleen = next(v for v in bundled_voices() if v.name == "kathleen")
    engine = voice_engine("kathleen", pitch=2.0, vocoder="griffinlim")
    assert engine.pitch_shift == pytest.approx(2.0 + kathleen.pitch_offset)
    copy = tmp_path / "voices.json"
    shutil.copy(BUNDLED_VOICES, copy)
    write_pitch_offsets({"lj": 1.234}, copy)
    rewritten = {v.name: v for v in bundled_voices(copy)}
    assert rewritten["lj"].pitch_offset == pytest.approx(1.25)
    assert rewritten["kathleen"].pitch_offset == kathleen.pitch_offset
    assert json.loads(copy.read_text())["format"] == 1
    with pytest.raises(ConfigError, match="no bundled voice"):
        write_pitch_offsets({"nobody": 1.0}, copy)


def test_evaluate_voices_adds_the_collection_wer(prepared_ljspeech, tmp_path, capsys):
    """evaluate.py voices --collection: each voice also speaks unseen sentences of a text
    collection (issue 20: every bundled voice on the same sentences)."""
    from vocoder_fixtures import load_script

    collection = tmp_path / "collection.txt"
    collection.write_text("a|The little boat sailed home across the quiet bay.\n",
                          encoding="utf-8")
    evaluate = load_script("evaluate")
    assert evaluate.main(["voices", "--data", str(prepared_ljspeech), "--voice", "lj",
                          "--sentences", "1", "--collection", str(collection),
                          "--collection-count", "1"]) == 0
    header, _, row = capsys.readouterr().out.strip().splitlines()[:3]
    assert header.rstrip(" |").endswith("WER collection (1) ↓")
    assert row.startswith("| lj |") and 0 <= float(row.rstrip(" |").split("|")[-1]) <= 1
