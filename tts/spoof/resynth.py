"""Signal-processing resynthesizers that make more *kinds* of synthetic speech for the detector's
corpus (issue 22): numpy, scipy and librosa, with WORLD's fast F0 tracker (DIO + StoneMask) where
a source needs a pitch. None of them is WORLD's synthesizer, so WORLD can stay a generator no
training clip comes from.

Each function takes a real recording ``wav (num_samples,)`` float32 at ``rate`` Hz and a
``numpy.random.Generator`` (the settings it draws), and returns ``(wav, rate)``:

- ``lpc_vocoder``: source-filter (all-pole) resynthesis, the classic LPC vocoder: per 5 ms hop,
  linear prediction of order 12-24 and its residual power; an impulse (or glottal-pulse) train
  at F0 in voiced hops and white noise in unvoiced ones, mixed in a random share.
- ``harmonic_noise``: harmonic-plus-noise (sinusoidal, DDSP-like) resynthesis: harmonics of F0
  with amplitudes from the cepstrally smoothed spectral envelope, up to a random maximum voiced
  frequency, and envelope-shaped noise above it and in unvoiced hops.
- ``phase_vocoder``: STFT phase-vocoder time-stretching or pitch shifting by a random factor
  (librosa): the recording's magnitudes with propagated, smeared phases. ``time_stretch``: the
  time-stretching alone (pitch-shifted speech taught the detector that high-pitched shouting is
  synthetic: acted anger and fear in RAVDESS were called synthetic 4-9% of the time).
- ``frame_concat``: crude unit concatenation (kNN-VC-like frame substitution): every 10 ms frame
  of the recording is replaced by the nearest frame (MFCC distance, a bonus for continuing the
  previous unit) from other speakers' recordings, overlap-added.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tts.errors import AudioError

HOP_S = 0.005
F0_FLOOR, F0_CEIL = 60.0, 500.0


def _mono(wav: np.ndarray) -> np.ndarray:
    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    if x.size == 0 or not np.isfinite(x).all():
        raise AudioError(f"resynthesis needs a finite mono signal, got {x.size} samples")
    return x


def pitch(wav: np.ndarray, rate: int, hop_s: float = HOP_S) -> np.ndarray:
    """F0 per ``hop_s`` hop (0 where unvoiced): WORLD's DIO refined by StoneMask."""
    from tts.world import _pyworld

    pw = _pyworld()
    x = np.ascontiguousarray(_mono(wav))
    f0, t = pw.dio(x, rate, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=hop_s * 1000)
    return pw.stonemask(x, f0, t, rate)


def _frames(x: np.ndarray, size: int, hop: int, count: int) -> np.ndarray:
    padded = np.pad(x, (size // 2, size + count * hop))
    idx = np.arange(count)[:, None] * hop + np.arange(size)[None, :]
    return padded[idx]


def _finish(y: np.ndarray, reference: np.ndarray) -> np.ndarray:
    y = y[:len(reference)]
    y = np.pad(y, (0, len(reference) - len(y)))
    peak = np.abs(y).max()
    ref = np.abs(reference).max()
    if peak > 0:
        y = y * (ref / peak)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def _match_energy(y: np.ndarray, reference: np.ndarray, hop: int) -> np.ndarray:
    """Scale ``y`` so that its energy per ``hop`` (smoothed over 4 hops) follows ``reference``."""
    n = min(len(y), len(reference))
    count = n // hop + 1
    size = 4 * hop
    ey = np.sqrt(np.mean(_frames(y[:n], size, hop, count) ** 2 * np.hanning(size), axis=1) + 1e-10)
    er = np.sqrt(np.mean(_frames(reference[:n], size, hop, count) ** 2 * np.hanning(size), axis=1)
                 + 1e-10)
    gain = np.clip(er / ey, 0.0, 100.0)
    g = np.interp(np.arange(n), np.arange(count) * hop, gain)
    return y[:n] * g


def lpc_vocoder(wav: np.ndarray, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """LPC (all-pole source-filter) resynthesis of ``wav``; see the module docstring."""
    from scipy.linalg import solve_toeplitz
    from scipy.signal import lfilter

    x = _mono(wav)
    hop = int(round(HOP_S * rate))
    size = int(0.025 * rate)
    order = int(rng.integers(12, 25))
    noise_mix = float(rng.uniform(0.0, 0.3))
    glottal = bool(rng.random() < 0.5)
    f0 = pitch(x, rate)
    count = len(f0)
    emphasised = np.append(x[0], x[1:] - 0.97 * x[:-1])
    frames = _frames(emphasised, size, hop, count) * np.hanning(size)
    y = np.zeros(count * hop + hop)
    state = np.zeros(order)
    phase = 0.0
    pulse = None
    if glottal:  # Rosenberg-like pulse derivative, 3 ms
        t = np.linspace(0, 1, int(0.003 * rate))
        pulse = np.diff(np.concatenate([[0], np.where(t < 0.6, 0.5 - 0.5 * np.cos(np.pi * t / 0.6),
                                                      np.cos(np.pi / 2 * (t - 0.6) / 0.4))]))
        pulse /= np.sqrt(np.sum(pulse ** 2)) + 1e-12
    excitation = np.zeros(count * hop + hop + 256)
    for i in range(count):
        seg = slice(i * hop, (i + 1) * hop)
        if f0[i] > 0:
            period = rate / f0[i]
            while phase < hop:
                k = i * hop + int(phase)
                if pulse is None:
                    excitation[k] += np.sqrt(period)
                else:
                    excitation[k:k + len(pulse)] += np.sqrt(period) * pulse
                phase += period
            phase -= hop
            excitation[seg] = (np.sqrt(1 - noise_mix) * excitation[seg]
                               + np.sqrt(noise_mix) * rng.standard_normal(hop))
        else:
            phase = 0.0
            excitation[seg] = rng.standard_normal(hop)
    for i in range(count):
        frame = frames[i]
        r = np.correlate(frame, frame, "full")[size - 1:size + order]
        if r[0] <= 1e-9:
            a, err = np.zeros(order), 1e-9
        else:
            r = r.copy()
            r[0] *= 1.0 + 1e-6
            r[1:] *= np.exp(-0.5 * (2 * np.pi * 40 / rate * np.arange(1, order + 1)) ** 2)
            a = solve_toeplitz(r[:-1], r[1:])
            err = max(float(r[0] - np.dot(a, r[1:])), 1e-12) / np.sum(np.hanning(size) ** 2)
        seg = slice(i * hop, (i + 1) * hop)
        out, state = lfilter([np.sqrt(err)], np.concatenate([[1.0], -a]), excitation[seg],
                             zi=state * 1.0)
        y[seg] = out
    y = lfilter([1.0], [1.0, -0.97], y)  # de-emphasis
    y = _match_energy(y, x, hop)
    return _finish(y, x), rate


def _envelope(x: np.ndarray, n_fft: int, hop: int, count: int, lifter: int) -> np.ndarray:
    """Cepstrally smoothed power spectral envelope ``(count, n_fft // 2 + 1)``."""
    frames = _frames(x, n_fft, hop, count) * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-10
    cep = np.fft.irfft(np.log(power), axis=1)
    cep[:, lifter:n_fft - lifter + 1] = 0.0
    return np.exp(np.fft.rfft(cep, axis=1).real)


def harmonic_noise(wav: np.ndarray, rate: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, int]:
    """Harmonic-plus-noise resynthesis of ``wav``; see the module docstring."""
    x = _mono(wav)
    hop = int(round(HOP_S * rate))
    n_fft = 1024 if rate > 24000 else 512
    f0 = pitch(x, rate)
    count = len(f0)
    env = _envelope(x, n_fft, hop, count, int(rng.integers(24, 48)))
    max_voiced = float(rng.uniform(3000.0, min(7000.0, rate / 2 - 500)))
    n = count * hop
    t_frames = np.arange(count) * hop
    f0_s = np.interp(np.arange(n), t_frames, f0)
    voiced = f0_s > 0
    # hold the last voiced F0 through unvoiced gaps so the phase stays continuous
    filled = f0.copy()
    last = float(np.median(f0[f0 > 0])) if np.any(f0 > 0) else 120.0
    for i in range(count):
        last = filled[i] if filled[i] > 0 else last
        filled[i] = last
    f0_c = np.interp(np.arange(n), t_frames, filled)
    phase = 2 * np.pi * np.cumsum(f0_c) / rate
    bins = np.fft.rfftfreq(n_fft, 1 / rate)
    window_power = np.sum(np.hanning(n_fft) ** 2)
    harmonics = np.zeros(n)
    random_phase = bool(rng.random() < 0.5)
    max_k = int(max_voiced / max(np.min(filled), F0_FLOOR)) + 1
    for k in range(1, max_k + 1):
        fk = k * filled
        active = fk < max_voiced
        if not active.any():
            break
        pos = np.clip(fk * n_fft / rate, 0, len(bins) - 1.001)
        lo = pos.astype(int)
        frac = pos - lo
        rows = np.arange(count)
        power = env[rows, lo] * (1 - frac) + env[rows, lo + 1] * frac
        amp = np.sqrt(4 * power * (filled * n_fft / rate) / (n_fft * window_power)) * active
        a = np.interp(np.arange(n), t_frames, amp) * voiced
        offset = rng.uniform(0, 2 * np.pi) if random_phase else 0.0
        harmonics += a * np.cos(k * phase + offset)
    # noise: envelope-shaped white noise, above max_voiced in voiced hops, everywhere otherwise
    noise_frames = _frames(rng.standard_normal(n), n_fft, hop, count) * np.hanning(n_fft)
    spec = np.fft.rfft(noise_frames, axis=1)
    mask = np.where((f0[:, None] > 0) & (bins[None, :] < max_voiced), 0.05, 1.0)
    spec *= np.sqrt(env / window_power) * mask
    out_frames = np.fft.irfft(spec, n=n_fft, axis=1) * np.hanning(n_fft)
    noise = np.zeros(n + 2 * n_fft)
    for i in range(count):
        noise[i * hop:i * hop + n_fft] += out_frames[i]
    noise = noise[n_fft // 2:n_fft // 2 + n] * hop / window_power
    y = _match_energy(harmonics + noise, x, hop)
    return _finish(y, x), rate


def phase_vocoder(wav: np.ndarray, rate: int, rng: np.random.Generator,
                  pitch_shift: bool = True) -> tuple[np.ndarray, int]:
    """Phase-vocoder time-stretch (rate 0.75-1.33, not within 5% of 1) or, with
    ``pitch_shift``, as often a pitch shift (1-4 semitones either way, formants moving with it)
    of ``wav`` with librosa; the output's length is not the input's."""
    import librosa

    x = _mono(wav).astype(np.float32)
    n_fft = int(rng.choice([512, 1024])) if rate > 12000 else 256
    if not pitch_shift or rng.random() < 0.5:
        factor = float(np.exp(rng.uniform(0.05, np.log(1.33)) * rng.choice([-1, 1])))
        y = librosa.effects.time_stretch(x, rate=factor, n_fft=n_fft)
    else:
        steps = float(rng.uniform(1.0, 4.0) * rng.choice([-1, 1]))
        y = librosa.effects.pitch_shift(x, sr=rate, n_steps=steps, n_fft=n_fft)
    peak = np.abs(y).max()
    if peak > 0:
        y = y * (np.abs(x).max() / peak)
    return np.clip(y, -1.0, 1.0).astype(np.float32), rate


def time_stretch(wav: np.ndarray, rate: int, rng: np.random.Generator
                 ) -> tuple[np.ndarray, int]:
    """``phase_vocoder`` without pitch shifting."""
    return phase_vocoder(wav, rate, rng, pitch_shift=False)


def _mfcc(x: np.ndarray, rate: int, hop: int, size: int) -> np.ndarray:
    import librosa

    m = librosa.feature.mfcc(y=x.astype(np.float32), sr=rate, n_mfcc=20, n_fft=size, n_mels=40,
                             hop_length=hop, win_length=size, center=True)
    return m[1:].T  # no energy coefficient: match the spectral shape


def frame_concat(wav: np.ndarray, rate: int, rng: np.random.Generator,
                 pool: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
    """Replace every 10 ms frame of ``wav`` by its nearest frame among the recordings of
    ``pool`` (other speakers, same ``rate``), preferring the frame after the previous choice
    (a unit continues when it is within 10% of the best distance), then overlap-add 20 ms Hann
    frames at the recording's own frame energy."""
    x = _mono(wav)
    if not pool:
        raise AudioError("frame concatenation needs a pool of other recordings")
    hop = int(0.01 * rate)
    size = 2 * hop
    target = _mfcc(x, rate, hop, size)
    sources = [_mono(p) for p in pool]
    feats = [_mfcc(s, rate, hop, size) for s in sources]
    bank = np.concatenate(feats)
    owner = np.concatenate([np.full(len(f), j) for j, f in enumerate(feats)])
    local = np.concatenate([np.arange(len(f)) for f in feats])
    starts = np.cumsum([0] + [len(f) for f in feats])
    distance = ((target ** 2).sum(1)[:, None] - 2 * target @ bank.T + (bank ** 2).sum(1)[None, :])
    slack = float(rng.uniform(0.05, 0.2))
    window = np.hanning(size + 1)[:-1]
    y = np.zeros(len(target) * hop + size)
    previous = -1
    for i in range(len(target)):
        best = int(np.argmin(distance[i]))
        choice = best
        if previous >= 0:
            nxt = previous + 1
            if (nxt < starts[owner[previous] + 1]
                    and distance[i, nxt] <= distance[i, best] + slack * abs(distance[i, best])):
                choice = nxt
        previous = choice
        src = sources[owner[choice]]
        start = local[choice] * hop - hop + size  # a frame centred on the chosen one
        frame = np.pad(src, (size, size))[start:start + size]
        y[i * hop:i * hop + size] += frame * window  # centred on i * hop + hop
    y = y[hop:]
    y = _match_energy(y, x, hop)
    return _finish(y, x), rate
