"""Consent for cloning (cloning.consent): the sentence, the two checks, the record, overrides.

Consent recordings are generated with espeak-ng at test time: the "speaker" is an espeak voice,
the reference audio is the same voice reading other sentences. The sentence matching is also
tested on fixed transcripts; tests that run the recogniser (Whisper) and the speaker encoder are
marked slow.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import voiced_signal

from cloning import consent
from tts.errors import AudioError, ConsentError, TextError, run_reporting

VOICE = "en-us"
OTHER_VOICE = "en-us+f3"
NAME = "kathleen_v2"
REFERENCE_TEXTS = ("A small boat crossed the quiet harbour before the storm came in.",
                   "Please put the green folder on my desk when you leave the office.")


def speak(text: str, voice: str = VOICE) -> tuple[np.ndarray, int]:
    from tts.synthesizer import EspeakEngine

    return EspeakEngine(voice, 150).speak(text)


def write(path, wav: np.ndarray, rate: int):
    sf.write(str(path), wav, rate, subtype="PCM_16")
    return path


# -- the sentence ----------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "spoken"), [
    ("kathleen_v2", "kathleen v two"),
    ("MyVoice3", "my voice three"),
    ("studio-voice.final", "studio voice final"),
    ("Emma", "emma"),
])
def test_sentence_names_the_voice_in_speakable_words(name, spoken):
    assert consent.speakable_name(name) == spoken
    sentence = consent.consent_sentence(name)
    assert sentence == consent.CONSENT_TEMPLATE.format(name=spoken)
    assert sentence.endswith(f"named {spoken}.")


@pytest.mark.parametrize("name", ["", "  ", "!!!", "a b c d e f g h i j"])
def test_unspeakable_names_are_refused(name):
    with pytest.raises(TextError):
        consent.consent_sentence(name)


class HeardAs:
    """A recogniser that hears ``text`` whatever it is given (the matching without a model)."""

    name = "fixed"

    def __init__(self, text: str) -> None:
        self.text = text

    def transcribe(self, wav, sample_rate) -> str:
        return self.text


@pytest.mark.parametrize(("heard", "sentence_above", "name_above"), [
    # what Whisper base heard in an espeak-ng reading: a word split, a name with a digit
    ("own this voice, and allow Mox clone to create a voice named Kathleen V2.", 0.75, 0.99),
    ("I own this voice and I allow vox clone to create a voice named Kathleen V too", 0.99, 0.99),
])
def test_a_reading_of_the_sentence_matches_as_spoken_words(heard, sentence_above, name_above):
    match = consent.ConsentSentenceChecker(HeardAs(heard)).check(
        np.zeros(16000, np.float32), 16000, consent.consent_sentence(NAME))
    assert match.score > sentence_above and match.name_score > name_above
    assert match.transcript == heard and "kathleen" in match.heard


@pytest.mark.parametrize(("heard", "sentence_below", "name_below"), [
    ("The train to the coast leaves at noon, and the tickets are sold out.", 0.3, 0.01),
    # the whole sentence, naming another voice: the name check is what refuses it
    ("I own this voice, and I allow voxclone to create a voice named studio voice two.", 1.01,
     0.4),
    ("Kathleen V2.", 0.25, 1.01),  # the name alone is a fifth of the sentence
])
def test_other_readings_do_not_match(heard, sentence_below, name_below):
    match = consent.ConsentSentenceChecker(HeardAs(heard)).check(
        np.zeros(16000, np.float32), 16000, consent.consent_sentence(NAME))
    assert match.score < sentence_below and match.name_score < name_below


def test_spoken_words_of_a_transcript():
    assert consent.spoken_words("Kathleen V2.") == ["kathleen", "v", "two"]
    assert consent._join_compounds(["allow", "vox", "clone", "to"], {"allow", "voxclone", "to"}) \
        == ["allow", "voxclone", "to"]
    # two sentence words are never joined into a third
    assert consent._join_compounds(["a", "voice"], {"a", "voice", "avoice"}) == ["a", "voice"]


# -- bad recordings: one-line errors before any model runs -------------------------------------
def test_silent_recording_is_refused(tmp_path):
    path = write(tmp_path / "silent.wav", np.zeros(16000 * 3, np.float32), 16000)
    ref = write(tmp_path / "ref.wav", voiced_signal(2.0, 16000), 16000)
    with pytest.raises(AudioError, match="consent recording: .*silent") as err:
        consent.check_consent(path, [ref], NAME)
    assert "\n" not in str(err.value)


def test_too_short_recording_is_refused(tmp_path):
    path = write(tmp_path / "short.wav", voiced_signal(0.6, 16000), 16000)
    with pytest.raises(AudioError, match="too short") as err:
        consent.check_consent(path, [path], NAME)
    assert "\n" not in str(err.value)
    with pytest.raises(AudioError, match="too short"):
        consent.check_consent(voiced_signal(0.6, 16000), [path], NAME, sample_rate=16000)


def test_unreadable_and_missing_recordings_are_refused(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    for path, message in ((bad, "unsupported or corrupt"), (tmp_path / "no.wav", "not found")):
        with pytest.raises(AudioError, match=message) as err:
            consent.check_consent(path, [path], NAME)
        assert "\n" not in str(err.value)
    with pytest.raises(AudioError, match="needs sample_rate"):
        consent.check_consent(voiced_signal(2.0, 16000), [bad], NAME)
    with pytest.raises(AudioError, match="no reference audio"):
        consent.check_consent(bad, [], NAME)


def test_consent_error_is_one_line_and_exit_status_2(capsys):
    def action() -> int:
        raise ConsentError("consent rejected: the consent sentence was not found in the "
                           "recording (sentence match 0.10 < threshold 0.60)")

    assert run_reporting("voxclone", action) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "0.10 < threshold 0.60" in err


# -- overrides and the record ----------------------------------------------------------------
def test_override_records_that_it_was_used(tmp_path):
    ref = write(tmp_path / "ref.wav", voiced_signal(1.0, 16000), 16000)
    record = consent.override_record("own-voice", "  J. Doe, recording   my own voice ",
                                     voice_name=NAME, reference_audio=[ref])
    assert record.decision == "override" and record.accepted
    assert record.override == "own-voice" and record.override_note == "J. Doe, recording my own voice"
    assert record.sentence_score is None and record.speaker_similarity is None
    assert len(record.reference_sha256) == 1 and len(record.reference_sha256[0]) == 64
    assert record.date.endswith("+00:00")
    assert consent.override_record("licensed-data", "CC BY 4.0 corpus X").override == "licensed-data"


@pytest.mark.parametrize(("reason", "note", "message"), [
    ("because", "x", "unknown consent override"),
    ("own-voice", "   ", "needs a note"),
])
def test_override_needs_a_known_reason_and_a_note(reason, note, message):
    with pytest.raises(ConsentError, match=message):
        consent.override_record(reason, note)


def test_record_round_trip_through_json(tmp_path):
    record = consent.ConsentRecord(
        voice_name=NAME, sentence=consent.consent_sentence(NAME), decision="accepted",
        date="2024-01-01T00:00:00+00:00", voxclone_version="0.1.0", recording_sha256="ab" * 32,
        reference_sha256=("cd" * 32, "ef" * 32), transcript="i own this", heard="i own",
        sentence_score=0.9, sentence_threshold=0.6, speaker_similarity=0.91,
        speaker_threshold=0.78, asr="pocketsphinx", encoder="ge2e")
    text = json.dumps(record.to_dict())
    assert consent.ConsentRecord.from_dict(json.loads(text)) == record
    override = consent.override_record("licensed-data", "licence 42")
    assert consent.ConsentRecord.from_dict(json.loads(json.dumps(override.to_dict()))) == override
    data = record.to_dict()
    with pytest.raises(ConsentError, match="unknown field"):
        consent.ConsentRecord.from_dict({**data, "extra": 1})
    with pytest.raises(ConsentError, match="decision"):
        consent.ConsentRecord.from_dict({**data, "decision": "maybe"})
    with pytest.raises(ConsentError, match="format"):
        consent.ConsentRecord.from_dict({**data, "format": 99})
    data.pop("date")
    with pytest.raises(ConsentError):
        consent.ConsentRecord.from_dict(data)


# -- the checks (recogniser and speaker encoder) -----------------------------------------------
@pytest.fixture(scope="module")
def models():
    from cloning.encoder import load_default

    return consent.ConsentSentenceChecker(), load_default()


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    folder = tmp_path_factory.mktemp("consent")
    return [write(folder / f"ref{i}.wav", *speak(text)) for i, text in enumerate(REFERENCE_TEXTS)]


@pytest.mark.slow
def test_reading_the_sentence_in_the_same_voice_is_accepted(models, references, tmp_path):
    checker, encoder = models
    recording = write(tmp_path / "consent.wav", *speak(consent.consent_sentence(NAME)))
    record = consent.check_consent(recording, references, NAME, checker=checker, encoder=encoder)
    assert record.decision == "accepted" and record.accepted
    assert record.sentence_score >= consent.SENTENCE_THRESHOLD
    assert record.speaker_similarity >= consent.SPEAKER_THRESHOLD
    assert record.recording_sha256 == consent._sha256(recording)
    assert len(record.reference_sha256) == len(references)
    assert consent.ConsentRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record


@pytest.mark.slow
def test_reading_another_sentence_is_rejected(models, references):
    checker, encoder = models
    wav, rate = speak("The train to the coast leaves at noon, and the tickets are sold out.")
    with pytest.raises(ConsentError, match=r"sentence was not found .*< threshold") as err:
        consent.check_consent(wav, references, NAME, sample_rate=rate, checker=checker,
                              encoder=encoder)
    assert "\n" not in str(err.value)
    assert err.value.record.decision == "rejected"
    assert err.value.record.sentence_score < consent.SENTENCE_THRESHOLD


@pytest.mark.slow
def test_another_voice_reading_the_sentence_is_rejected(models, references):
    checker, encoder = models
    wav, rate = speak(consent.consent_sentence(NAME), OTHER_VOICE)
    with pytest.raises(ConsentError, match=r"voice does not match .*< threshold") as err:
        consent.check_consent(wav, references, NAME, sample_rate=rate, checker=checker,
                              encoder=encoder)
    assert err.value.record.speaker_similarity < consent.SPEAKER_THRESHOLD
