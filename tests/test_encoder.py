"""Speaker encoder: shapes, GE2E loss, training, checkpoints, pretrained weights, robustness."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from audio_fixtures import voiced_signal
from data_fixtures import SENTENCES, write_clip, write_text
from vocoder_fixtures import load_script

from cloning.encoder import (
    DEFAULT_CHECKPOINT,
    ENCODER_AUDIO,
    SpeakerEncoder,
    SpeakerEncoderConfig,
    encoder_checkpoint,
    load_default,
    load_encoder,
    partial_starts,
)
from cloning.encoder_data import SpeakerBatchSampler, collect_clips
from cloning.ge2e import GE2ELoss, similarity_matrix
from cloning.verification import equal_error_rate, held_out, score_trials
from data.prepare import prepare
from tts import checkpoint
from tts.cli import main
from tts.errors import AudioError, CheckpointError
from tts.training.run import RunOptions, find_resume_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "configs" / "encoder" / "tiny.yaml"
SMALL = SpeakerEncoderConfig(hidden_size=24, num_layers=2, embedding_size=16, partial_frames=40,
                             log_mel=True)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A prepared folder of 4 synthetic "speakers" (distinct pitch) x 3 clips of 1 s."""
    root = tmp_path_factory.mktemp("encoder-data")
    src = root / "voices"
    for s in range(4):
        for n in range(3):
            write_clip(src / f"spk{s}" / f"c{n}.wav", 16000, 1.0, seed=7 * s + n)
            write_text(src / f"spk{s}" / f"c{n}.txt", SENTENCES[n])
    prepare("folder", src, root / "prepared", workers=1, progress=False)
    return root / "prepared"


def test_shapes_and_unit_embeddings():
    torch.manual_seed(0)
    encoder = SpeakerEncoder(SMALL)
    mels = torch.randn(5, ENCODER_AUDIO.n_mels, SMALL.partial_frames)
    embeds = encoder(mels)
    assert embeds.shape == (5, 16)
    assert torch.allclose(embeds.norm(dim=1), torch.ones(5), atol=1e-5)
    wav = torch.from_numpy(voiced_signal(1.0, 16000))
    assert encoder.features(wav).shape == (40, 1 + 16000 // 160)
    assert encoder.features(wav[None]).shape == (1, 40, 101)
    one = encoder.embed_utterance(voiced_signal(2.5, 22050), 22050)
    assert one.shape == (16,) and one.dtype == np.float32
    assert abs(np.linalg.norm(one) - 1) < 1e-5
    many = encoder.embed_many([voiced_signal(d, 44100, seed=i) for i, d in enumerate((0.6, 3.0))],
                              44100)
    assert many.shape == (2, 16)


def test_partials_cover_the_clip():
    assert partial_starts(100, 160, 77, 0.75) == [0]  # short: one (padded) window
    assert partial_starts(160, 160, 77, 0.75) == [0]
    assert partial_starts(250, 160, 77, 0.75) == [0, 77]  # a 3rd would cover only 60 %
    assert partial_starts(300, 160, 77, 0.75) == [0, 77, 154]
    assert partial_starts(400, 160, 77, 0.75) == [0, 77, 154, 231]


def test_similarity_matrix_uses_exclusive_centroids():
    torch.manual_seed(0)
    e = torch.nn.functional.normalize(torch.randn(3, 4, 8), dim=2)
    sim = similarity_matrix(e)
    own = torch.nn.functional.normalize(e[1, [0, 2, 3]].mean(0), dim=0)
    assert torch.isclose(sim[1, 1, 1], e[1, 1] @ own, atol=1e-6)
    other = torch.nn.functional.normalize(e[2].mean(0), dim=0)
    assert torch.isclose(sim[1, 1, 2], e[1, 1] @ other, atol=1e-6)


def test_ge2e_loss_values():
    loss = GE2ELoss()
    n, m = 4, 3
    separated = torch.eye(n).repeat_interleave(m, dim=0).reshape(n, m, n)  # one axis per speaker
    assert loss(separated).item() < 1e-3  # logits +5 own vs -5 others
    swapped = separated.roll(1, dims=0).clone()
    swapped[:, 0] = separated[:, 0]  # one embedding in each speaker points elsewhere
    assert loss(swapped).item() > 1.0
    torch.manual_seed(0)
    random = torch.nn.functional.normalize(torch.randn(n, m, 64), dim=2)
    assert 0.5 * np.log(n) < loss(random).item() < 3 * np.log(n)


def _batch(seed: int = 0) -> torch.Tensor:
    """3 "speakers" x 2 windows of distinct log-mel-like patterns."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(3, 1, 40, 1, generator=g)
    return (base + 0.3 * torch.randn(3, 2, 40, 40, generator=g)).reshape(6, 40, 40)


def test_loss_falls_and_every_parameter_changes():
    torch.manual_seed(0)
    encoder, loss_fn = SpeakerEncoder(SMALL), GE2ELoss()
    params = list(encoder.parameters()) + list(loss_fn.parameters())
    before = [p.detach().clone() for p in params]
    optimizer = torch.optim.Adam(params, 1e-2)
    mels = _batch()
    losses = []
    for _ in range(30):
        loss = loss_fn(encoder(mels).reshape(3, 2, -1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    unchanged = [i for i, (p, b) in enumerate(zip(params, before, strict=True)) if torch.equal(p, b)]
    assert not unchanged


def test_checkpoint_round_trip_identical(tmp_path):
    torch.manual_seed(0)
    encoder = SpeakerEncoder(SMALL).eval()
    path = checkpoint.save(tmp_path / "enc.pt", encoder_checkpoint(encoder, {"note": "x"}))
    loaded = load_encoder(path)
    mels = torch.randn(2, 40, 40)
    with torch.no_grad():
        assert torch.equal(encoder(mels), loaded(mels))
    wav = voiced_signal(2.0, 22050)
    assert np.array_equal(encoder.embed_utterance(wav, 22050), loaded.embed_utterance(wav, 22050))
    with pytest.raises(CheckpointError, match="expected 'encoder'"):
        checkpoint.save(tmp_path / "voc.pt", checkpoint.Checkpoint(
            kind="vocoder", model_config={}, state_dict={"w": torch.zeros(1)}))
        load_encoder(tmp_path / "voc.pt")


def test_sampler_gives_n_distinct_speakers_times_m():
    speaker_ids = [0] * 5 + [1] * 1 + [2] * 3 + [3] * 2
    sampler = SpeakerBatchSampler(speaker_ids, 3, 4, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 1
    for batch in batches:
        speakers = [speaker_ids[i] for i in batch]
        groups = [speakers[j:j + 4] for j in range(0, 12, 4)]
        assert all(len(set(g)) == 1 for g in groups) and len({g[0] for g in groups}) == 3
    fixed = SpeakerBatchSampler(speaker_ids, 2, 2, seed=3, shuffle=False, num_batches=3)
    first = list(fixed)
    fixed.set_epoch(5)
    assert len(first) == 3 and list(fixed) == first
    with pytest.raises(Exception, match="speaker"):
        SpeakerBatchSampler([0, 0, 1], 3, 2)


def test_equal_error_rate_table():
    assert equal_error_rate(np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 1, 0, 0]))[0] == 0.0
    assert equal_error_rate(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1]))[0] == 1.0
    assert equal_error_rate(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 1, 0]))[0] == 0.5
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(1, 1, 20000), rng.normal(0, 1, 20000)]
    labels = np.r_[np.ones(20000, bool), np.zeros(20000, bool)]
    assert abs(equal_error_rate(scores, labels)[0] - 0.3085) < 0.01  # Phi(-0.5)
    e = np.eye(3)[[0, 0, 1, 1, 2]]
    result = score_trials(e, ["a", "a", "b", "b", "c"])
    assert result.eer == 0 and result.same_trials == 2 and result.different_trials == 8


def test_held_out_rule_is_deterministic_and_about_the_fraction():
    keys = [f"librispeech-251/{i}" for i in range(2000)]
    share = np.mean([held_out(k, 0.2) for k in keys])
    assert 0.17 < share < 0.23
    assert [held_out(k) for k in keys[:50]] == [held_out(k) for k in keys[:50]]


def _options(**kw):
    return RunOptions(accelerator="cpu", progress=False, **kw)


def train_encoder(config_path, *args, **kwargs):
    """``encoder_task.train`` on the experiment in ``config_path``, as the CLI runs it."""
    from tts.config import load_yaml
    from tts.training import encoder_task

    config = load_yaml(encoder_task.EncoderExperimentConfig, config_path)
    return encoder_task.train(config, *args, **kwargs)


def test_fast_dev_run_checkpoint_loads_through_the_one_loader(prepared, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "encoder", str(prepared), str(out), "-c", str(TINY), "--fast-dev-run",
                 "-q", "--accelerator", "cpu"]) == 0
    final = out / "fast_dev_run.ckpt"
    ckpt = checkpoint.load(final, kind="encoder")
    assert ckpt.audio_config == ENCODER_AUDIO and ckpt.model_config["hidden_size"] == 24
    assert set(ckpt.metadata["ge2e"]) == {"weight", "bias"}
    encoder = load_encoder(final)
    assert encoder.embed_utterance(voiced_signal(1.0, 16000), 16000).shape == (16,)


@pytest.mark.slow
def test_resume_and_init(prepared, tmp_path):
    out = tmp_path / "run"
    train_encoder(TINY, [prepared], out, _options(max_steps=2))
    first = checkpoint.load(find_resume_checkpoint(out))
    assert first.metadata["step"] == 2
    final = train_encoder(TINY, [prepared], out, _options(resume=True, max_steps=4))
    resumed = checkpoint.load(final)
    assert resumed.metadata["step"] == 4
    assert any(not torch.equal(first.state_dict[k], resumed.state_dict[k]) for k in first.state_dict)
    tuned = train_encoder(TINY, [prepared], tmp_path / "ft", _options(max_steps=1), init_from=final)
    assert checkpoint.load(tuned).metadata["step"] == 1


def test_collect_clips_splits_by_held_out_speakers(prepared):
    everyone = collect_clips([prepared], "all")
    assert len(everyone) == 12 and len({c.speaker for c in everyone}) == 4
    assert collect_clips([prepared], "heldout") == []  # "folder" is not a held-out corpus
    train = collect_clips([prepared], "train", holdout_recipes=["folder"], holdout_fraction=0.5)
    heldout = collect_clips([prepared], "heldout", holdout_recipes=["folder"], holdout_fraction=0.5)
    assert len(train) + len(heldout) == 12
    assert not {c.speaker for c in train} & {c.speaker for c in heldout}


def test_evaluate_encoder_script(prepared, tmp_path, capsys):
    evaluate = load_script("evaluate")
    ckpt = checkpoint.save(tmp_path / "enc.pt", encoder_checkpoint(SpeakerEncoder(SMALL)))
    assert evaluate.main(["encoder", "--data", str(prepared), "--encoder", str(ckpt), "--default",
                          "--all-speakers", "--per-speaker", "3"]) == 0
    table = capsys.readouterr().out
    assert "| default (shipped) | 4 | 12 | 12 | 54 |" in table
    assert evaluate.main(["encoder", "--data", str(prepared), "--encoder",
                          str(tmp_path / "missing.pt")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


# -- the shipped default and the published weights -------------------------------------------------
def test_pretrained_mapping_matches_the_shipped_default():
    pytest.importorskip("cloning.pretrained")
    from cloning.pretrained import find_weights, load_resemblyzer, map_state, resemblyzer_state

    try:
        find_weights()
    except Exception:  # noqa: BLE001
        pytest.skip("resemblyzer is not installed (make setup installs it)")
    state = resemblyzer_state()
    encoder_state, ge2e = map_state(state)
    assert set(encoder_state) == set(SpeakerEncoder().state_dict())
    assert ge2e["weight"].item() > 0
    published = load_resemblyzer()
    for name, value in published.state_dict().items():
        assert torch.equal(value, state[name])
    shipped = load_default()
    card = checkpoint.load(DEFAULT_CHECKPOINT).metadata
    assert card["license"] == "Apache-2.0" and card["ge2e"]["weight"] > 1
    wav = voiced_signal(3.0, 22050, f0=120)
    similarity = published.embed_utterance(wav, 22050) @ shipped.embed_utterance(wav, 22050)
    assert similarity > 0.9999  # only fp16 rounding of the shipped copy


def _write(path: Path, wav: np.ndarray, rate: int) -> Path:
    fmt = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}
    sf.write(str(path), wav, rate, format=fmt[path.suffix][0], subtype=fmt[path.suffix][1])
    return path


def test_same_voice_agrees_across_formats_rates_and_gain(tmp_path):
    import soxr

    encoder = load_default()
    voice = voiced_signal(3.0, 44100, f0=120, seed=2)
    reference = encoder.embed_utterance(voice, 44100)
    other = encoder.embed_utterance(voiced_signal(3.0, 44100, f0=210, seed=2), 44100)
    versions = {}
    for rate in (16000, 22050, 44100):
        wav = soxr.resample(voice, 44100, rate) if rate != 44100 else voice
        for suffix in (".wav", ".flac", ".ogg"):
            versions[f"{rate}{suffix}"] = _write(tmp_path / f"v{rate}{suffix}", wav, rate)
    versions["-10dB"] = _write(tmp_path / "quiet.wav", voice * 10 ** (-10 / 20), 44100)
    for name, path in versions.items():
        similarity = float(encoder.embed_file(path) @ reference)
        assert similarity > 0.98, name
    assert float(other @ reference) < 0.9  # ... and another voice does not


@pytest.mark.parametrize("make, message", [
    (lambda p: _write(p, np.zeros(16000, np.float32), 16000), "silent"),
    (lambda p: _write(p, voiced_signal(0.2, 16000), 16000), "too short"),
    (lambda p: p.write_bytes(b"RIFF\x00\x01garbage" * 50), "cannot read audio"),
    (lambda p: p, "not found"),
])
def test_bad_audio_is_a_one_line_error(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=message) as info:
        load_default().embed_file(path)
    assert "\n" not in str(info.value)


def test_bad_arrays_are_one_line_errors():
    encoder = SpeakerEncoder(SMALL)
    for wav, message in [(np.zeros(16000), "silent"), (np.array([]), "no samples"),
                         (np.full(16000, np.nan), "NaN"), (voiced_signal(0.3, 16000), "too short")]:
        with pytest.raises(AudioError, match=message):
            encoder.embed_utterance(wav, 16000)
