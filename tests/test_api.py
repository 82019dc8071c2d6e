"""The Python API (docs/api.md): its five-line example as written, voices by name (bundled and
cloned), per-call style, streaming, and one-line errors."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tts import Synthesizer, VoxcloneError
from tts.errors import AudioError, ConfigError, TextError
from tts.watermark import detect

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def _first_python_block(markdown: str) -> str:
    found = re.search(r"^```python\n(.*?)^```", markdown, re.S | re.M)
    assert found, "docs/api.md has no ```python block"
    return found.group(1)


@pytest.fixture(scope="module")
def kathleen() -> Synthesizer:
    return Synthesizer(voice="kathleen")


def test_the_documented_example_runs_as_written(tmp_path, monkeypatch):
    code = _first_python_block(DOC.read_text(encoding="utf-8"))
    assert len([line for line in code.splitlines() if line.strip()]) == 5  # "five lines"
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_api_example"})
    samples, rate = sf.read(tmp_path / "hello.wav", dtype="float32")
    words = 7  # "Hello! This is voxclone, speaking from Python."
    assert rate == 22050 and samples.ndim == 1
    assert 0.15 * words < len(samples) / rate < 0.8 * words  # speech-length, not a blip
    assert np.sqrt(np.mean(samples ** 2)) > 0.02 and np.abs(samples).max() <= 1.0
    assert detect(samples, rate).present
    assert printed.getvalue().strip() == f"{len(samples) / rate:.1f} s at {rate} Hz"


def test_the_readme_shows_the_same_example():
    readme = DOC.parents[1] / "README.md"
    assert _first_python_block(readme.read_text(encoding="utf-8")) == \
        _first_python_block(DOC.read_text(encoding="utf-8"))


def test_speak_returns_samples_that_save_and_encode_alike(kathleen, tmp_path):
    audio = kathleen.speak("Two short sentences. Here is the second.")
    assert audio.samples is audio.wav and audio.samples.dtype == np.float32
    assert audio.samples.shape == (round(audio.duration * audio.sample_rate),)
    assert audio.num_chunks == 2 and audio.watermarked and kathleen.voice == "kathleen"
    saved, _ = sf.read(audio.save(tmp_path / "a.wav"), dtype="int16")
    raw = np.frombuffer(audio.encode("raw"), dtype="<i2")
    assert np.array_equal(saved, raw)
    assert audio.save(tmp_path / "a.pcm").read_bytes() == audio.encode("raw")
    encoded, _ = sf.read(io.BytesIO(audio.encode("wav")), dtype="int16")
    assert np.array_equal(saved, encoded)
    with pytest.raises(AudioError, match="must end in"):
        audio.save(tmp_path / "a.opus")
    assert not (tmp_path / "a.opus").exists()
    assert "SynthesisResult(" in repr(audio) and "watermarked" in repr(audio)


def test_style_per_call_and_per_synthesizer(kathleen):
    text = "The juice of lemons makes fine punch."
    normal = kathleen.speak(text)
    fast = kathleen.speak(text, speed=1.6)
    assert fast.duration < 0.8 * normal.duration
    assert kathleen.speak(text).duration == normal.duration  # the call's style did not stick
    fast_voice = Synthesizer(voice="kathleen", speed=1.6)
    assert np.array_equal(fast_voice.speak(text).samples, fast.samples)


def test_stream_yields_each_sentence_through_the_same_loop(kathleen):
    text = "First comes this. Then comes that. And the last one."
    whole = kathleen.speak(text)
    pieces = list(kathleen.stream(text))
    assert len(pieces) == 3 and all(p.dtype == np.float32 and p.ndim == 1 for p in pieces)
    assert sum(len(p) for p in pieces) == len(whole.samples)  # same chunks, same pauses
    assert detect(np.concatenate(pieces), kathleen.sample_rate).present


def test_a_cloned_voice_by_name(tmp_path):
    from cloning import consent
    from cloning.profile import save_profile
    from tts.acoustic import load_acoustic
    from tts.bundled import DEFAULT_ACOUSTIC
    from tts.profiles import VoiceProfile, file_fingerprint

    dim = load_acoustic(DEFAULT_ACOUSTIC).model.config.speaker_embedding_dim
    embedding = np.random.default_rng(0).standard_normal(dim).astype(np.float32)
    profile = VoiceProfile(
        name="api_clone", embedding=embedding / np.linalg.norm(embedding),
        consent=consent.override_record("own-voice", "test", voice_name="api_clone"),
        reference={"clips": 1, "speech_seconds": 10.0}, encoder="test",
        base_acoustic={"path": str(DEFAULT_ACOUSTIC),
                       "fingerprint": file_fingerprint(DEFAULT_ACOUSTIC)},
        created="2026-12-06")
    save_profile(profile, tmp_path / "api_clone")
    clone = Synthesizer(voice="api_clone", voices_dir=tmp_path)
    audio = clone.speak("Hello from a cloned voice.")
    assert clone.voice == "api_clone" and 0.8 < audio.duration < 5.0
    with pytest.raises(VoxcloneError, match="no voice named 'api_clone'"):
        Synthesizer(voice="api_clone", voices_dir=tmp_path / "elsewhere")


def test_convert_gives_a_source_the_voice(kathleen, tmp_path):
    """Synthesizer.convert: the source's timing kept, the voice's pitch, watermarked, from
    samples or a file, the same as from the file's samples."""
    text = "Please bring the red book to the kitchen."
    source = Synthesizer(voice="cv-372293", watermark=False).speak(text)  # a low male voice
    out = kathleen.convert(source.samples, source.sample_rate, transcript=text)
    assert out.watermarked and detect(out.samples, out.sample_rate).present
    assert out.sample_rate == kathleen.sample_rate and out.num_chunks == 1
    assert abs(out.duration - source.duration) < 0.1  # the timing is kept
    f0_source = _median_f0(source.samples, source.sample_rate)
    f0_out = _median_f0(out.samples, out.sample_rate)
    assert f0_out > 1.4 * f0_source  # moved into kathleen's range (about an octave up)
    path = source.save(tmp_path / "source.wav")
    from_file = kathleen.convert(path, transcript=text)
    assert abs(from_file.duration - out.duration) < 0.05
    higher = kathleen.convert(path, transcript=text, pitch=4)
    assert _median_f0(higher.samples, higher.sample_rate) > 1.15 * _median_f0(
        from_file.samples, from_file.sample_rate)


def _median_f0(wav: np.ndarray, rate: int) -> float:
    import librosa

    f0, voiced, _ = librosa.pyin(wav, fmin=60, fmax=500, sr=rate)
    return float(np.nanmedian(f0[voiced]))


class _Plain:
    """An engine without a model (as a user's own engine may be): it cannot convert."""

    name = "plain"

    def speak(self, text):
        return np.zeros(100, np.float32), 22050


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda k: Synthesizer(voice="nobody"), VoxcloneError, "no voice named 'nobody'"),
    (lambda k: Synthesizer(voice="kathleen", engine=k.engine), ConfigError, "not both"),
    (lambda k: Synthesizer(speed=2.0), ConfigError, "go with voice="),
    (lambda k: k.speak("Hi.", emotion="happy"), ConfigError, "unknown emotion 'happy'"),
    (lambda k: k.speak("Hi.", speed=9), ConfigError, "speed must be between"),
    (lambda k: k.speak("Hi.", volume=2), ConfigError, "unknown option 'volume'"),
    (lambda k: k.speak("   "), TextError, "text is empty"),
    (lambda k: k.speak("🙂🙂"), TextError, "nothing to say"),
    (lambda k: list(k.stream("🙂🙂")), TextError, "nothing to say"),
    (lambda k: k.speak(None), TextError, "must be a string"),
    (lambda k: k.speak("Hi.").encode("opus"), AudioError, "unknown audio format"),
    (lambda k: k.convert(np.zeros(16000, np.float32)), ConfigError, "give sample_rate="),
    (lambda k: k.convert(np.zeros(16000, np.float32), 16000, transcript="Hi."), AudioError,
     "no speech found"),
    (lambda k: k.convert("/nonexistent/x.wav", transcript="Hi."), AudioError, "x.wav"),
    (lambda k: Synthesizer(engine=_Plain()).convert(np.zeros(10, np.float32), 16000),
     ConfigError, "needs a neural voice"),
])
@pytest.mark.filterwarnings("ignore::tts.text.UnknownCharacterWarning")
def test_bad_input_is_a_one_line_voxclone_error(kathleen, make, error, message):
    with pytest.raises(error, match=message) as info:
        make(kathleen)
    assert isinstance(info.value, VoxcloneError) and "\n" not in str(info.value)
