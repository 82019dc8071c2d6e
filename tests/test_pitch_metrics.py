"""tts.pitch_metrics (GPE and VDE) on hand-made tracks and synthetic tones, and tts.world."""

from __future__ import annotations

import math

import numpy as np
import pytest
from audio_fixtures import voiced_signal

from tts.errors import AudioError
from tts.pitch_metrics import PitchErrors, compare_tracks, pitch_errors, pool, track
from tts.world import world_available, world_resynthesize

U = np.nan  # an unvoiced frame's F0


def _track(*f0: float) -> tuple[np.ndarray, np.ndarray]:
    values = np.array(f0, dtype=float)
    return values, np.isfinite(values)


@pytest.mark.parametrize("ref, deg, counts", [
    # (ref F0 per frame, deg F0 per frame, (gross errors, both voiced, voicing errors, frames))
    ((100, 200, 300), (100, 200, 300), (0, 3, 0, 3)),            # the same pitch
    ((100, 200, 300), (119, 161, 300), (0, 3, 0, 3)),            # within 20%: not gross
    ((100, 200, 300), (121, 200, 239), (2, 3, 0, 3)),            # beyond 20% either way
    ((100, 100, 100, 100), (200, 50, 100, 100), (2, 4, 0, 4)),   # octave errors
    ((100, U, 100, U), (100, 100, U, U), (0, 1, 2, 4)),          # voicing disagrees twice
    ((U, U), (100, 100), (0, 0, 2, 2)),                          # nothing voiced in both
    ((100, 100, 100), (100, 300), (1, 2, 0, 2)),                 # cut to the shorter track
])
def test_compare_tracks_counts(ref, deg, counts):
    assert compare_tracks(_track(*ref), _track(*deg)) == PitchErrors(*counts)


def test_ratios_and_nan_cases():
    e = compare_tracks(_track(100, 100, U, U), _track(100, 150, 100, U))
    assert e.gpe == pytest.approx(0.5) and e.vde == pytest.approx(0.25)
    assert math.isnan(compare_tracks(_track(U, U), _track(100, U)).gpe)
    assert math.isnan(PitchErrors().vde)
    # zeros mark unvoiced frames too when no voicing flags are given
    assert compare_tracks((np.array([0.0, 100.0]), None), (np.array([100.0, 100.0]), None)) \
        == PitchErrors(0, 1, 1, 2)
    with pytest.raises(ValueError, match="no positive F0"):
        compare_tracks((np.array([0.0]), np.array([True])), _track(100))
    with pytest.raises(ValueError, match="differ in length"):
        compare_tracks((np.array([100.0, 100.0]), np.array([True])), _track(100))


def test_pool_weights_by_frames_not_clips():
    short = PitchErrors(gross_errors=1, both_voiced=1, voicing_errors=1, frames=2)
    long = PitchErrors(gross_errors=0, both_voiced=9, voicing_errors=0, frames=18)
    pooled = pool([short, long])
    assert pooled == PitchErrors(1, 10, 1, 20)
    assert pooled.gpe == pytest.approx(0.1) and pooled.vde == pytest.approx(0.05)
    assert (short.gpe + long.gpe) / 2 == pytest.approx(0.5)  # a mean of ratios would say 0.5
    assert pool([]) == PitchErrors()


def _tone(f0: float, seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    """A steady harmonic tone (samples,) float32 with 0.25 s of silence after it."""
    t = np.arange(int(seconds * rate)) / rate
    wav = 0.3 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
    return np.concatenate([wav, np.zeros(rate // 4)]).astype(np.float32)


def test_pitch_errors_on_waveforms():
    ref = _tone(150.0)
    same = pitch_errors(ref, ref * 0.5, 16000)
    assert same.gpe == 0.0 and same.vde < 0.05 and same.frames > 100
    fifth = pitch_errors(ref, _tone(225.0), 16000, ref_track=track(ref, 16000))
    assert fifth.gpe > 0.9
    silent = pitch_errors(ref, np.zeros_like(ref), 16000)
    assert math.isnan(silent.gpe) and silent.vde > 0.6  # the tone's frames lose their voicing


# --- tts.world ------------------------------------------------------------------------------

needs_pyworld = pytest.mark.skipif(not world_available(), reason="pyworld is not installed")


@needs_pyworld
@pytest.mark.parametrize("rate, f0", [(22050, 140.0), (16000, 95.0), (22050, 230.0)])
def test_world_keeps_the_pitch_of_a_harmonic_signal(rate, f0):
    wav = voiced_signal(1.5, rate, f0=f0)
    out = world_resynthesize(wav, rate)
    assert out.shape == wav.shape and out.dtype == np.float32
    assert np.abs(out).max() > 0.05  # not silence
    errors = pitch_errors(wav, out, rate)
    assert errors.gpe < 0.02 and errors.vde < 0.05, errors
    # the same measure tells a wrong pitch: the signal a fifth up
    assert pitch_errors(wav, voiced_signal(1.5, rate, f0=1.5 * f0), rate).gpe > 0.5


@needs_pyworld
def test_world_refuses_bad_signals():
    for bad in (np.zeros(0, np.float32), np.full(1000, np.nan, np.float32),
                np.zeros((2, 1000), np.float32)):
        with pytest.raises(AudioError):
            world_resynthesize(bad, 16000)


@needs_pyworld
def test_world_extension_loads_without_the_package_init():
    """The path taken where setuptools no longer ships pkg_resources (pyworld's __init__ needs
    it): the compiled extension alone gives the same resynthesis."""
    from tts import world

    wav = voiced_signal(0.5, 16000)
    module = world._extension()
    f0, times = module.harvest(wav.astype(np.float64), 16000, f0_floor=60.0, f0_ceil=500.0,
                               frame_period=world.FRAME_PERIOD_MS)
    assert np.median(f0[f0 > 0]) == pytest.approx(140.0, rel=0.1)
