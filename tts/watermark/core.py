"""Keyed watermark in the log band energies of speech: spread-transform dither modulation (STDM).

The mark lives in 187.5 to 3687.5 Hz at an 8 kHz analysis rate, so it survives 8 kHz resampling
and 4 kHz low-pass filters. Analysis: STFT (512-point Hann, 64-sample hop), power summed into
tiles of ``tile_frames`` frames by ``band_bins`` bins (128 ms x 62.5 Hz: long in time and narrow in
frequency, because a phase vocoder's tempo change smears energy over its ~100 ms window but keeps
the spectrum's fine detail). Each tile column holds
``symbols_per_column`` symbols; a symbol is the zero-sum projection of ``ln`` of the energies of
some tiles of one column (keyed signs, half +, half -), so gain changes and slow equalisation
cancel. The embedder moves each symbol's projection part of the way (``compensation``) onto a
keyed, dithered lattice of step ``step``; payload symbols sit on the lattice shifted by half a
step for a 1 bit. A projection's change is spread over its tiles in proportion to ``(tile
energy) ** -energy_power``: the signal-to-mark ratio is set almost entirely by the loud tiles,
so moving the weak ones instead buys a lattice step several times larger (hence robustness to
codec and additive noise) at the same ratio. The pattern repeats every ``block_columns``
columns, so the detector can synchronise on any excerpt by searching the block phase, the tile
grid's start and a few time scales, and scoring each alignment by how close the symbols sit to
their lattice (a circular statistic that is N(0, 1)-like on unmarked audio), with each symbol
weighted by how far its tiles stand above the band's noise floor.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

RATE = 8000
N_FFT = 512
HOP = 64

_WINDOW = np.hanning(N_FFT + 1)[:-1]


@dataclasses.dataclass(frozen=True)
class Design:
    """The mark's parameters (embedder and detector must agree)."""

    first_bin: int = 12  # 187.5 Hz
    band_bins: int = 4  # 62.5 Hz bands
    bands: int = 56  # up to 3687.5 Hz
    """250 to 3250 Hz (48 bands) was the first choice; widening it to 56 bands raised the scores
    after a 3% tempo change by 1.7 and after Opus 16 kbit/s by 1.1 on 144 clips (mp3 16 kbit/s,
    which keeps little above 3.4 kHz: unchanged), with the same signal-to-mark ratio."""
    tile_frames: int = 16  # 128 ms tile columns
    symbols_per_column: int = 28  # of 2 tiles each: log ratios of two tiles
    """28 symbols of 2 tiles (step 2.4) replaced 14 of 4 tiles (step 2.83). Over three keys on
    144 clips (``scripts/benchmark.py watermark --key``) the mean detection rate rose after
    Opus 16 kbit/s (0.951 to 0.970), a 3% tempo change (0.984 to 0.988) and noise (0.986 to
    0.998) and held after mp3 16 kbit/s (0.954 to 0.956); median scores rose 5-20% with every
    key, unattacked scores 28-42% (48 clips, one-off). The loss: with the default key, the
    espeak-ng clips after mp3 16 kbit/s (0.958 to 0.875; the budget binds there). 7 symbols of
    8 tiles lost 15-35% of the score."""
    block_columns: int = 8  # 1.024 s
    sync_share: float = 2 / 3
    """Share of the symbols that carry the fixed sync pattern (the rest: the 32 bits of the
    payload's codeword, ``tts.watermark.code``: 75 symbols per block, so two or three each).
    Detection leans on the sync symbols (their signs are known); payload symbols add to the
    score only through ``|sum|`` per codeword bit (with 4-tile symbols and one or two symbols
    per bit per block, that cost about 4% of the score near the threshold against the uncoded
    payload's two, the price of the code). With 2-tile symbols, shares of 0.75 and 0.6 moved
    the mean scores on 48 clips by -3% to +2% (Opus 12 kbit/s: -3% and -6%; one-off)."""
    step: float = 2.4
    """The lattice step, in nepers of a projection. With 2-tile symbols, 2.0 lost the codec
    gains (mean scores on 48 clips: mp3 16 kbit/s +2% against the 4-tile design, against +15%
    at 2.4) and 2.8 most of the noise gain (+4% against +18%). With 4-tile symbols (step 2.83
    then), 3.2 scored 5-16% higher after codecs but lower after noise, 3.6 and more lost 10-40%
    after noise, 2.5 about 5% after codecs."""
    compensation: float = 1.0
    """Share of the way to the lattice point each projection is moved (1: all). With the budget
    binding, 0.8 and 0.7 let more symbols be marked, but each one weaker: on 48 clips the mean
    scores fell 0.5-11% after codecs and tempo changes and 4-10% unattacked (noise: +4%, +1%)."""
    max_log_gain: float = 1.0
    """Largest change of a tile's amplitude, in nepers (1.0: -8.7 to +8.7 dB; 0.7 cost espeak-ng
    speech, where the budget binds, about 1 in the weakest scores after a tempo change or mp3
    16 kbit/s, for 0.04 of PESQ-WB; with 2-tile symbols 1.3 moved the mean scores on 48 clips by
    -2% to +2%)."""
    local_db: float | None = 10.0
    """The mark is held this far below the signal in every ~8 ms stretch (the long analysis
    window would otherwise smear it into the quiet just before an onset, where it is heard)."""
    energy_power: float = 0.75
    """A projection's change is shared among its tiles in proportion to ``(tile energy /
    loudest tile) ** -energy_power``: weak tiles, where a change costs little signal-to-mark
    ratio, take more of it (but codecs keep little of the weakest: 0.75 scored higher than 1.0
    after Opus 16 kbit/s and tempo changes; 0.5 spent too much on loud tiles, and with 2-tile
    symbols lost 8-11% of the espeak-ng clips' scores; 0.9 and 1.0 moved the mean scores on 48
    clips by -2% to +3%, within what a change of key alone does)."""
    active_db: float = 60.0
    """Tiles more than this below their column's loudest tile, or in columns this far below
    the loudest column, are left alone (digital silence, weak bands)."""
    floor_percentile: float = 5.0
    """Detection: each band's noise floor is this percentile of its tile energies; a symbol
    counts in proportion to the share of its weakest tile's energy above ``floor_ratio`` times
    that floor, so that noise-filled pauses and weak bands under added noise weigh little."""
    floor_ratio: float = 1.5
    weak_db: float = -55.0
    """Detection: a symbol's weight also falls from 1 to 0 as its weakest tile goes from
    ``weak_db + 10`` to ``weak_db`` dB below its column's loudest tile. Low bit rate codecs
    spend no bits there (after mp3 16 kbit/s such symbols kept almost nothing of the mark):
    on 48 clips this raised the scores after mp3 16 kbit/s by 10% and cost 2% unattacked and
    after a 3% tempo change (-50 dB: +12%, but -7%; with 2-tile symbols, +2% and -3%)."""
    scales: tuple[float, ...] = (1.0, 0.9925, 1.0075, 0.985, 1.015, 0.9775, 1.0225, 0.97, 1.03)
    """Time scales searched by the detector (tempo changes of up to about 3%)."""
    search_hop: int = 32
    """The detector's grid step in samples at 8 kHz (4 ms): every alignment of the tile grid to
    the signal at this resolution is scored."""
    payload_in_score: bool = True
    """The detection score counts the payload symbols as well as the sync symbols (each bit
    read as whichever value its symbols favour; see ``_window_z``)."""
    windows_s: tuple[float, ...] = (2.0, 4.0)
    """Besides the whole signal, windows of these lengths are scored, so that a marked clip
    joined with unmarked audio is not diluted by it."""

    @property
    def tile_bands(self) -> int:
        return self.bands // self.symbols_per_column

    @property
    def column_s(self) -> float:
        return self.tile_frames * HOP / RATE


DESIGN = Design()
FINE_HOP = 8
"""The detector computes one STFT at this step (1 ms) and picks, for each time scale, the frames
nearest to that scale's grid."""


def key_seed(key: str | bytes) -> int:
    """A 64-bit seed from ``key`` (any string)."""
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    return int.from_bytes(hashlib.sha256(b"voxclone-watermark\0" + data).digest()[:8], "little")


class Layout:
    """The keyed pattern of one block: per column and symbol, the signs of the band tiles
    (``signs (block_columns, symbols_per_column, bands)`` in {-1, 0, +1} / sqrt(tile_bands),
    zero-sum), the dither (``dither (block_columns, symbols_per_column)`` in [0, step)) and which
    symbols carry sync (``bit == -1``) or payload bit ``bit``."""

    def __init__(self, key: str | bytes, payload_bits: int, design: Design = DESIGN) -> None:
        d = self.design = design
        rng = np.random.default_rng(key_seed(key))
        half = d.tile_bands // 2
        self.signs = np.zeros((d.block_columns, d.symbols_per_column, d.bands))
        for c in range(d.block_columns):
            order = rng.permutation(d.bands)
            for s in range(d.symbols_per_column):
                tiles = order[s * d.tile_bands:(s + 1) * d.tile_bands]
                self.signs[c, s, tiles] = rng.permutation(
                    np.r_[np.ones(half), -np.ones(d.tile_bands - half)])
        self.signs /= np.sqrt(d.tile_bands)
        self.dither = rng.uniform(0, d.step, (d.block_columns, d.symbols_per_column))
        slots = d.block_columns * d.symbols_per_column
        bits = np.full(slots, -1)
        payload_slots = rng.permutation(slots)[: int(round(slots * (1 - d.sync_share)))]
        bits[payload_slots] = np.arange(len(payload_slots)) % payload_bits
        self.bit = bits.reshape(d.block_columns, d.symbols_per_column)


def frame_positions(length: int, offset: int = 0, scale: float = 1.0) -> np.ndarray:
    """Start samples of the analysis frames: ``offset + round(k * HOP * scale)``."""
    count = max(0, int((length - N_FFT - offset) / (HOP * scale)) + 1)
    return offset + np.round(np.arange(count) * HOP * scale).astype(np.int64)


def stft(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Complex spectra ``(frames, N_FFT // 2 + 1)`` of Hann frames starting at ``positions``."""
    if len(positions) == 0:
        return np.zeros((0, N_FFT // 2 + 1), np.complex128)
    idx = positions[:, None] + np.arange(N_FFT)[None, :]
    return np.fft.rfft(x[idx] * _WINDOW, axis=1)


def istft(spec: np.ndarray, length: int) -> np.ndarray:
    """Least-squares overlap-add inverse of ``stft`` at hop ``HOP`` from sample 0."""
    frames = np.fft.irfft(spec, N_FFT, axis=1) * _WINDOW
    out = np.zeros(length + N_FFT)
    norm = np.zeros(length + N_FFT)
    for i, frame in enumerate(frames):
        out[i * HOP:i * HOP + N_FFT] += frame
        norm[i * HOP:i * HOP + N_FFT] += _WINDOW ** 2
    return out[:length] / np.maximum(norm[:length], 1e-3)


def band_power(spec: np.ndarray, design: Design = DESIGN) -> np.ndarray:
    """``(frames, bands)`` power of each band from complex ``spec (frames, bins)``."""
    d = design
    power = np.abs(spec[:, d.first_bin:d.first_bin + d.bands * d.band_bins]) ** 2
    return power.reshape(len(spec), d.bands, d.band_bins).sum(axis=2)


def tile_energy(power: np.ndarray, design: Design = DESIGN) -> np.ndarray:
    """``(columns, bands)`` tile energies: sums of ``tile_frames`` frames of ``power``."""
    columns = len(power) // design.tile_frames
    return power[:columns * design.tile_frames].reshape(
        columns, design.tile_frames, power.shape[1]).sum(axis=1)


def log_energy(tiles: np.ndarray) -> np.ndarray:
    """``ln`` of tile energies, floored 90 dB below the loudest tile (the lattice works on it)."""
    floor = max(float(tiles.max(initial=0.0)), 1e-20) * 1e-9
    return np.log(tiles + floor)


def activity(tiles: np.ndarray, design: Design = DESIGN) -> np.ndarray:
    """``(columns, bands)`` 0/1: tiles to mark, and to trust when detecting: within
    ``active_db`` of their column's loudest tile, in columns within ``active_db`` of the
    loudest column."""
    if tiles.size == 0:
        return np.zeros_like(tiles)
    level = 10 ** (-design.active_db / 10)
    column = tiles.sum(axis=1, keepdims=True)
    loud = (tiles >= tiles.max(axis=1, keepdims=True) * level) & (column >= column.max() * level)
    return (loud & (tiles > 1e-10)).astype(np.float64)


def floor_margin(tiles: np.ndarray, design: Design = DESIGN) -> np.ndarray:
    """``(columns, bands)`` in [0, 1]: the share of each tile's energy that stands above its
    band's noise floor (see ``Design.floor_percentile``), ``1 - floor_ratio * floor / tile``:
    about the share of a change of the speech that shows in the tile's energy."""
    if not len(tiles):
        return np.zeros_like(tiles)
    floor = np.percentile(tiles, design.floor_percentile, axis=0, keepdims=True)
    return np.clip(1.0 - design.floor_ratio * floor / np.maximum(tiles, 1e-30), 0.0, 1.0)


def symbol_weights(tiles: np.ndarray, layout: Layout) -> np.ndarray:
    """``(tiles, block_columns * symbols)``: the detector's weight of each tile column of
    ``tiles (columns, bands)`` as every symbol of the block: 0 unless at least half of the
    symbol is ``activity``, else the least ``floor_margin`` of its tiles (the mark sits mostly
    in a symbol's weakest tile, the first to drown in added noise or codec noise), times a ramp
    on how far the symbol's lowest tile lies below its column's loudest (``Design.weak_db``;
    not always the tile of least margin, which is measured against its own band's floor)."""
    d = layout.design
    squares = (layout.signs ** 2).reshape(-1, d.bands).T
    active = activity(tiles, d) @ squares
    members = np.argsort(squares == 0, axis=0, kind="stable")[:d.tile_bands].T
    least = floor_margin(tiles, d)[:, members].min(axis=2)
    loudest = np.maximum(tiles.max(axis=1, keepdims=True), 1e-30)
    level = 10 * np.log10(np.maximum(tiles, 1e-30) / loudest)[:, members].min(axis=2)
    least = least * np.clip((level - d.weak_db) / 10.0, 0.0, 1.0)
    return np.where(active >= 0.5 - 1e-9, least, 0.0)


def _symbol_targets(log_e: np.ndarray, layout: Layout, bits: np.ndarray) -> np.ndarray:
    """Projection targets ``(columns, symbols_per_column)`` for host log energies ``log_e``:
    each projection moved ``compensation`` of the way to the nearest point of its lattice."""
    d = layout.design
    cols = np.arange(len(log_e)) % d.block_columns
    proj = np.einsum("cb,csb->cs", log_e, layout.signs[cols])
    bit = layout.bit[cols]
    shift = np.where(bit >= 0, bits[np.maximum(bit, 0)] * d.step / 2, 0.0)
    offset = layout.dither[cols] + shift
    nearest = offset + d.step * np.round((proj - offset) / d.step)
    return proj + d.compensation * (nearest - proj)


def embed_8k(x: np.ndarray, layout: Layout, bits: np.ndarray, budget: float | None = None,
             iterations: int = 4) -> np.ndarray:
    """The mark ``(num_samples,)`` to add to ``x`` (8 kHz, float64): ``istft(X * (G - 1))``
    for a per-tile gain ``G`` found by a few rounds of measure-and-correct (the STFT smears a
    tile's gain into its neighbours).

    ``budget``: the largest mark-to-signal energy ratio (of ``x``). Symbols are then marked
    cheapest first (the energy a symbol's move costs) until the budget is spent, and the rest
    are left alone: a symbol left alone costs the detector one symbol, while scaling every
    move down would blur them all."""
    d = layout.design
    n = len(x)
    padded = np.r_[x, np.zeros(N_FFT)]
    positions = frame_positions(len(padded))
    spec = stft(padded, positions)
    host = tile_energy(band_power(spec, d), d)
    columns = len(host)
    if columns == 0:
        return np.zeros(n)
    active = activity(host, d)
    # share of a projection's change each tile takes: more where the tile is weak
    share = active * (np.maximum(host, 1e-30) / host.max()) ** -d.energy_power
    cols = np.arange(columns) % d.block_columns
    signs = layout.signs[cols]  # (columns, symbols, bands)
    used = np.einsum("cb,csb->cs", active, signs ** 2)  # active share of each symbol (<= 1)
    ok = used >= 0.5 - 1e-9
    spread = np.einsum("cb,csb->cs", share, signs ** 2)
    target = _symbol_targets(log_energy(host), layout, bits)
    if budget is not None:
        move = np.where(ok, target - np.einsum("cb,csb->cs", log_energy(host), signs), 0.0)
        tile_gain = 0.5 * np.einsum("cs,csb->csb", move / np.maximum(spread, 1e-30), signs)
        tile_gain = np.clip(tile_gain * share[:, None, :], -d.max_log_gain, d.max_log_gain)
        cost = np.einsum("cb,csb->cs", host, np.expm1(tile_gain) ** 2).ravel()
        order = np.argsort(cost)
        spent = np.cumsum(cost[order])
        keep = np.zeros(cost.size, bool)
        keep[order[spent <= budget * float(np.sum(np.abs(spec) ** 2))]] = True
        ok &= keep.reshape(ok.shape)
    floor = max(float(host.max()), 1e-20) * 1e-9
    gain = np.zeros((columns, d.bands))
    mark = np.zeros(n)
    for _ in range(iterations):
        now = np.log(tile_energy(band_power(stft(np.r_[x + mark, np.zeros(N_FFT)], positions),
                                            d), d)[:columns] + floor)
        proj = np.einsum("cb,csb->cs", now, signs)
        error = np.where(ok, target - proj, 0.0) / np.maximum(spread, 1e-30)
        # energy moves by 2 * gain in ln(energy) per unit of amplitude log-gain
        gain += 0.5 * np.einsum("cs,csb->cb", error, signs) * share
        gain = np.clip(gain, -d.max_log_gain, d.max_log_gain)
        mask = np.zeros(spec.shape)
        frame_gain = np.repeat(gain, d.tile_frames, axis=0)
        rows = min(len(frame_gain), len(mask))
        mask[:rows, d.first_bin:d.first_bin + d.bands * d.band_bins] = np.repeat(
            frame_gain[:rows], d.band_bins, axis=1)
        mark = istft(spec * np.expm1(mask), len(padded))[:n]
        if d.local_db is not None:
            mark = _hold_below(mark, x, d.local_db)
    return mark


def _hold_below(mark: np.ndarray, x: np.ndarray, db: float, width: int = 64) -> np.ndarray:
    """``mark`` scaled down wherever its short-time level (Hann-smoothed power over ``width``
    samples) comes within ``db`` of ``x``'s."""
    kernel = np.hanning(width + 1)
    kernel /= kernel.sum()
    signal = np.convolve(x ** 2, kernel, "same")
    added = np.convolve(mark ** 2, kernel, "same")
    scale = np.minimum(1.0, np.sqrt(10 ** (-db / 10) * signal / np.maximum(added, 1e-30)))
    return mark * np.convolve(scale, kernel, "same")


def best_alignment(x: np.ndarray, layout: Layout) -> dict:
    """Search the block phase, the tile grid's start (in ``search_hop`` steps) and the time scale
    that make 8 kHz ``x`` fit ``layout`` best. Returns ``{"z": score, "cos", "weight",
    "layout_cols" (per column of that alignment), "start" (sample of the first frame),
    "scale"}``; ``z`` is ``-inf`` when ``x`` is too short for one tile column.

    One STFT at a ``FINE_HOP`` step serves every scale. For one scale, the frames at
    ``search_hop * scale`` steps give every grid start at once: a tile starting at frame ``q``
    sums frames ``q, q + r, ...`` (``r = HOP / search_hop``), and the columns of grid start ``a``
    are the tiles at ``a, a + P, a + 2 P, ...`` (``P = tile_frames * r``). Each tile is scored
    against every column of the block at once (``(tiles, block_columns)``), and each grid start
    and block phase then reads its diagonal."""
    d = layout.design
    best: dict = {"z": -np.inf}
    ratio = HOP // d.search_hop
    period = d.tile_frames * ratio  # grid steps per tile column
    sync = (layout.bit < 0).astype(np.float64)[None]  # (1, block_columns, symbols)
    signs = layout.signs.reshape(-1, d.bands).T  # (bands, block columns * symbols)
    fine = band_power(stft(x, frame_positions(len(x), 0, FINE_HOP / HOP)), d)
    phase = np.arange(d.block_columns)
    bits = int(layout.bit.max()) + 1
    payload = (layout.bit[:, :, None] == np.arange(bits)).astype(np.float64)  # (cols, sym, bits)
    windows = [int(round(w / d.column_s)) for w in d.windows_s]
    for scale in d.scales if len(fine) else ():
        count = int((len(fine) - 1) * FINE_HOP / (d.search_hop * scale)) + 1
        power = fine[np.round(np.arange(count) * d.search_hop * scale / FINE_HOP).astype(int)]
        tiles_n = len(power) - (d.tile_frames - 1) * ratio
        if tiles_n < 1:
            continue
        tiles = sum(power[j * ratio:j * ratio + tiles_n] for j in range(d.tile_frames))
        shape = (tiles_n, d.block_columns, d.symbols_per_column)
        proj = (log_energy(tiles) @ signs).reshape(shape)
        cos = np.cos(2 * np.pi * (proj - layout.dither[None]) / d.step)
        weight = symbol_weights(tiles, layout).reshape(shape)
        columns = -(-tiles_n // period)
        pad = columns * period + period - tiles_n
        num = np.pad(np.sum(weight * sync * cos, axis=2), ((0, pad), (0, 0)))
        var = np.pad(np.sum((weight * sync) ** 2, axis=2) / 2, ((0, pad), (0, 0)))
        c = np.arange(columns)
        rows = np.arange(min(period, tiles_n))[:, None, None] + period * c  # (starts, 1, columns)
        cols = (phase[None, :, None] + c) % d.block_columns  # (1, phases, columns)
        num, var = num[rows, cols], var[rows, cols]  # (starts, phases, columns)
        bits_num = bits_var = None
        if d.payload_in_score:
            pad3 = ((0, pad), (0, 0), (0, 0))
            per_bit = [np.matmul(v.transpose(1, 0, 2), payload).transpose(1, 0, 2)
                       for v in (weight * cos, weight ** 2 / 2)]  # (tiles, block cols, bits)
            bits_num, bits_var = (np.pad(v, pad3)[rows, cols] for v in per_bit)
            bits_num = bits_num.reshape(-1, columns, bits)
            bits_var = bits_var.reshape(-1, columns, bits)
        z = _window_z(num.reshape(-1, columns), var.reshape(-1, columns), windows,
                      bits_num, bits_var)
        z = z / _phase_spread(num, var).reshape(-1)
        k = int(np.argmax(z))
        if z[k] > best["z"]:
            a, p = divmod(k, d.block_columns)
            n = len(range(a, tiles_n, period))
            r, cols_k = a + period * c[:n], (p + c[:n]) % d.block_columns
            best = {"z": float(z[k]), "cos": cos[r, cols_k], "weight": weight[r, cols_k],
                    "layout_cols": cols_k, "start": float(a * d.search_hop * scale),
                    "scale": scale}
    return best


def _phase_spread(num: np.ndarray, var: np.ndarray) -> np.ndarray:
    """``(starts, phases)``: for each alignment, the RMS of the whole-signal z of the other
    block phases at the same grid start, at least 1. The wrong phases are N(0, 1)-like on marked
    and ordinary audio alike; when they are not (a host that repeats with the block's period,
    such as a tone pulsed twice a second), every phase is inflated, and dividing by their spread
    keeps such audio from passing for marked."""
    v = var.sum(axis=2)
    full = np.where(v > 0, num.sum(axis=2) / np.sqrt(np.maximum(v, 1e-12)), 0.0)
    others = (np.sum(full ** 2, axis=1, keepdims=True) - full ** 2) / (full.shape[1] - 1)
    return np.maximum(1.0, np.sqrt(others))


def _window_z(num: np.ndarray, var: np.ndarray, windows: list[int],
              bits_num: np.ndarray | None = None, bits_var: np.ndarray | None = None,
              chunk: int = 64) -> np.ndarray:
    """Best z per row ``(rows,)`` over the whole signal and the sliding ``windows`` (in columns)
    from per-column sync sums ``num`` and variances ``var`` ``(rows, columns)``.

    With per-column payload sums ``bits_num`` and variances ``bits_var`` ``(rows, columns,
    bits)``, each payload bit adds what its symbols say for the bit they favour (``|sum|``), less
    that term's mean on unmarked audio (``sqrt(2 var / pi)``), and its variance there
    (``(1 - 2 / pi) var``): the payload symbols, a third of the mark, then count towards
    detection too, and unmarked audio still scores about N(0, 1) per alignment."""
    best = np.full(len(num), -np.inf)
    for lo in range(0, len(num), chunk):
        part = slice(lo, lo + chunk)
        sums = [_cumulative(num[part]), _cumulative(var[part])]
        if bits_num is not None:
            sums += [_cumulative(bits_num[part]), _cumulative(bits_var[part])]
        for width in [num.shape[1], *windows]:
            if width > num.shape[1] or width < 1:
                continue
            n, v, *extra = [c[:, width:] - c[:, :-width] for c in sums]
            if extra:
                bn, bv = extra
                n = n + np.sum(np.abs(bn) - np.sqrt(2 * np.maximum(bv, 0.0) / np.pi), axis=2)
                v = v + (1 - 2 / np.pi) * np.sum(bv, axis=2)
            z = np.where(v > 0, n / np.sqrt(np.maximum(v, 1e-12)), -np.inf)
            best[part] = np.maximum(best[part], z.max(axis=1))
    return best


def _cumulative(x: np.ndarray) -> np.ndarray:
    """Cumulative sums along axis 1 with a leading zero."""
    return np.concatenate([np.zeros_like(x[:, :1]), np.cumsum(x, axis=1)], axis=1)


def column_time(index: np.ndarray | int, found: dict, design: Design = DESIGN) -> np.ndarray:
    """Seconds from the start of the input to the middle of tile column ``index`` of an
    alignment from ``best_alignment``."""
    frame = np.asarray(index) * design.tile_frames + (design.tile_frames - 1) / 2
    return (found["start"] + frame * HOP * found["scale"] + N_FFT / 2) / RATE


def payload_sums(found: dict, layout: Layout, code_bits: int,
                 columns: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Evidence for each codeword bit of an alignment, read in the tile ``columns`` (a boolean
    mask over the alignment's columns; default: all): ``(sums, variances)``, each
    ``(code_bits,)``. ``sums / sqrt(variances)`` is the bit's soft value in z units (> 0 reads
    as 0, < 0 as 1); sums and variances of separate stretches of audio add up."""
    cols = found["layout_cols"]
    bit = layout.bit[cols]  # (columns, symbols)
    w = found["weight"] if columns is None else found["weight"] * columns[:, None]
    sums = np.zeros(code_bits)
    variances = np.zeros(code_bits)
    for k in range(code_bits):
        sel = bit == k
        sums[k] = np.sum(w[sel] * found["cos"][sel])
        variances[k] = np.sum(w[sel] ** 2) / 2
    return sums, variances


def span_mask(spans: list[tuple[int, int]], columns: int) -> np.ndarray:
    """Boolean ``(columns,)``: inside any of the inclusive column ``spans``."""
    inside = np.zeros(columns, bool)
    for a, b in spans:
        inside[a:b + 1] = True
    return inside


def marked_spans(found: dict, layout: Layout, window: int, level: float,
                 min_z: float = 4.0) -> list[tuple[int, int]]:
    """Runs ``[(first_column, last_column)]`` of an alignment where the sync score over a
    sliding ``window`` of columns reaches ``level`` (z units) and whose own sync score reaches
    ``min_z`` (a chance run over unmarked audio beside the marked part scores about
    ``level``; a marked second or more, well above it)."""
    sync = layout.bit[found["layout_cols"]] < 0
    w = found["weight"] * sync
    num = np.sum(w * found["cos"], axis=1)
    den = np.sum(w ** 2, axis=1) / 2
    kernel = np.ones(min(window, len(num)))
    local = np.convolve(num, kernel, "same") / np.sqrt(np.maximum(
        np.convolve(den, kernel, "same"), 1e-9))
    hot = np.r_[False, local >= level, False].astype(int)
    edges = np.flatnonzero(np.diff(hot))
    spans: list[tuple[int, int]] = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if spans and a - spans[-1][1] <= window // 2:  # bridge short dips
            spans[-1] = (spans[-1][0], int(b) - 1)
        else:
            spans.append((int(a), int(b) - 1))
    return [(a, b) for a, b in spans if b - a + 1 >= window // 4 and np.sum(num[a:b + 1]) >=
            min_z * np.sqrt(max(float(np.sum(den[a:b + 1])), 1e-9))]
