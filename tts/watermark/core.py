"""Keyed watermark in the log band energies of speech: quantization index modulation (QIM).

The mark lives in 250 to 3250 Hz at an 8 kHz analysis rate, so it survives 8 kHz resampling and
4 kHz low-pass filters. Analysis: STFT (256-point Hann, 64-sample hop), power summed into tiles of
``TILE_FRAMES`` frames (32 ms) by ``BAND_BINS`` bins (125 Hz): 24 bands per tile column. Each
column holds ``SYMBOLS_PER_COLUMN`` symbols; a symbol is the zero-sum projection of ``ln`` of the
energies of ``TILE_BANDS`` tiles of one column (keyed signs, half +, half -), so gain changes and
slow equalisation cancel. The embedder moves each symbol's projection part of the way
(``COMPENSATION``) onto a keyed, dithered lattice of step ``STEP``; payload symbols sit on the
lattice shifted by half a step for a 1 bit. The pattern repeats every ``BLOCK_COLUMNS`` columns
(1.024 s), so the detector can synchronise on any excerpt by searching the block phase, a sub-hop
offset and a few time scales, and scoring each alignment by how close the symbols sit to their
lattice (a circular statistic that is N(0, 1)-like on unmarked audio).
"""

from __future__ import annotations

import hashlib

import numpy as np

RATE = 8000
N_FFT = 256
HOP = 64
FIRST_BIN = 8  # 250 Hz
BAND_BINS = 4  # 125 Hz bands
BANDS = 24  # up to 3250 Hz
TILE_FRAMES = 4  # 32 ms tile columns
SYMBOLS_PER_COLUMN = 2
TILE_BANDS = BANDS // SYMBOLS_PER_COLUMN
BLOCK_COLUMNS = 32
STEP = 1.0
COMPENSATION = 0.7
MAX_LOG_GAIN = 0.35
ACTIVE_DB = 30.0
"""Tiles more than this below their column's loudest tile, or columns this far below the
loudest column, are left alone (silence, weak bands)."""

_WINDOW = np.hanning(N_FFT + 1)[:-1]


def key_seed(key: str | bytes) -> int:
    """A 64-bit seed from ``key`` (any string)."""
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    return int.from_bytes(hashlib.sha256(b"voxclone-watermark\0" + data).digest()[:8], "little")


class Layout:
    """The keyed pattern of one block: per column and symbol, the signs of the 24 band tiles
    (``signs (BLOCK_COLUMNS, SYMBOLS_PER_COLUMN, BANDS)`` in {-1, 0, +1}, zero-sum), the dither
    (``dither (BLOCK_COLUMNS, SYMBOLS_PER_COLUMN)`` in [0, STEP)) and which symbols carry sync
    (``bit == -1``) or payload bit ``bit``."""

    def __init__(self, key: str | bytes, payload_bits: int) -> None:
        rng = np.random.default_rng(key_seed(key))
        self.signs = np.zeros((BLOCK_COLUMNS, SYMBOLS_PER_COLUMN, BANDS))
        for c in range(BLOCK_COLUMNS):
            order = rng.permutation(BANDS)
            for s in range(SYMBOLS_PER_COLUMN):
                bands = order[s * TILE_BANDS:(s + 1) * TILE_BANDS]
                self.signs[c, s, bands] = rng.permutation(
                    np.r_[np.ones(TILE_BANDS // 2), -np.ones(TILE_BANDS // 2)])
        self.signs /= np.sqrt(TILE_BANDS)
        self.dither = rng.uniform(0, STEP, (BLOCK_COLUMNS, SYMBOLS_PER_COLUMN))
        slots = BLOCK_COLUMNS * SYMBOLS_PER_COLUMN
        bits = np.full(slots, -1)
        payload_slots = rng.permutation(slots)[: slots // 2]
        bits[payload_slots] = np.arange(len(payload_slots)) % payload_bits
        self.bit = bits.reshape(BLOCK_COLUMNS, SYMBOLS_PER_COLUMN)


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


def band_power(spec: np.ndarray) -> np.ndarray:
    """``(frames, BANDS)`` power of each band from complex ``spec (frames, bins)``."""
    power = np.abs(spec[:, FIRST_BIN:FIRST_BIN + BANDS * BAND_BINS]) ** 2
    return power.reshape(len(spec), BANDS, BAND_BINS).sum(axis=2)


def tile_energy(power: np.ndarray, first_frame: int = 0) -> np.ndarray:
    """``(columns, BANDS)`` tile energies: sums of ``TILE_FRAMES`` frames of ``power`` from
    ``first_frame`` on."""
    power = power[first_frame:]
    columns = len(power) // TILE_FRAMES
    return power[:columns * TILE_FRAMES].reshape(columns, TILE_FRAMES, BANDS).sum(axis=1)


def log_energy(tiles: np.ndarray) -> np.ndarray:
    """``ln`` of tile energies, floored 90 dB below the loudest tile (the lattice works on it)."""
    floor = max(float(tiles.max(initial=0.0)), 1e-20) * 1e-9
    return np.log(tiles + floor)


def activity(tiles: np.ndarray) -> np.ndarray:
    """``(columns, BANDS)`` 0/1: tiles loud enough to mark, and to trust when detecting."""
    if tiles.size == 0:
        return np.zeros_like(tiles)
    column = tiles.sum(axis=1, keepdims=True)
    loud = tiles >= tiles.max(axis=1, keepdims=True) * 10 ** (-ACTIVE_DB / 10)
    voiced = column >= column.max() * 10 ** (-ACTIVE_DB / 10)
    return (loud & voiced & (tiles > 1e-10)).astype(np.float64)


def _symbol_targets(log_e: np.ndarray, layout: Layout, bits: np.ndarray) -> np.ndarray:
    """Projection targets ``(columns, SYMBOLS_PER_COLUMN)`` for host log energies ``log_e``:
    each projection moved ``COMPENSATION`` of the way to the nearest point of its lattice."""
    cols = np.arange(len(log_e)) % BLOCK_COLUMNS
    proj = np.einsum("cb,csb->cs", log_e, layout.signs[cols])
    bit = layout.bit[cols]
    shift = np.where(bit >= 0, bits[np.maximum(bit, 0)] * STEP / 2, 0.0)
    offset = layout.dither[cols] + shift
    nearest = offset + STEP * np.round((proj - offset) / STEP)
    return proj + COMPENSATION * (nearest - proj)


def embed_8k(x: np.ndarray, layout: Layout, bits: np.ndarray, iterations: int = 4) -> np.ndarray:
    """The mark ``(num_samples,)`` to add to ``x`` (8 kHz, float64): ``istft(X * (G - 1))``
    for a per-tile gain ``G`` found by a few rounds of measure-and-correct (the STFT smears a
    tile's gain into its neighbours)."""
    n = len(x)
    padded = np.r_[x, np.zeros(N_FFT)]
    positions = frame_positions(len(padded))
    spec = stft(padded, positions)
    host = tile_energy(band_power(spec))
    columns = len(host)
    if columns == 0:
        return np.zeros(n)
    active = activity(host)
    cols = np.arange(columns) % BLOCK_COLUMNS
    signs = layout.signs[cols]  # (columns, symbols, bands)
    used = np.einsum("cb,csb->cs", active, signs ** 2)  # active share of each symbol (<= 1)
    ok = used >= 0.5 - 1e-9
    target = _symbol_targets(log_energy(host), layout, bits)
    floor = max(float(host.max()), 1e-20) * 1e-9
    gain = np.zeros((columns, BANDS))
    mark = np.zeros(n)
    for _ in range(iterations):
        now = np.log(tile_energy(band_power(stft(np.r_[x + mark, np.zeros(N_FFT)],
                                                  positions)))[:columns] + floor)
        proj = np.einsum("cb,csb->cs", now, signs)
        error = np.where(ok, target - proj, 0.0) / np.maximum(used, 1e-9)
        # energy moves by 2 * gain in ln(energy) per unit of amplitude log-gain
        gain += 0.5 * np.einsum("cs,csb->cb", error, signs) * active
        gain = np.clip(gain, -MAX_LOG_GAIN, MAX_LOG_GAIN)
        mask = np.zeros(spec.shape)
        frame_gain = np.repeat(gain, TILE_FRAMES, axis=0)
        rows = min(len(frame_gain), len(mask))
        mask[:rows, FIRST_BIN:FIRST_BIN + BANDS * BAND_BINS] = np.repeat(
            frame_gain[:rows], BAND_BINS, axis=1)
        mark = istft(spec * np.expm1(mask), len(padded))[:n]
    return mark


SCALES = (1.0, 0.985, 1.015, 0.97, 1.03)
"""Time scales searched by the detector (tempo changes of up to about 3%)."""
SEARCH_HOP = 16
"""The detector's grid step in samples at 8 kHz (2 ms): every alignment of the tile grid to the
signal at this resolution is scored."""
FINE_HOP = 8
"""The detector computes one STFT at this step (1 ms) and picks, for each time scale, the frames
nearest to that scale's grid."""


def best_alignment(x: np.ndarray, layout: Layout, scales: tuple[float, ...] = SCALES) -> dict:
    """Search the block phase, the tile grid's start (in ``SEARCH_HOP`` steps) and the time scale
    that make 8 kHz ``x`` fit ``layout`` best. Returns ``{"z": score, "cos", "weight",
    "layout_cols" (per column of that alignment), "start" (sample of the first frame),
    "scale"}``; ``z`` is ``-inf`` when ``x`` is too short for one tile column.

    One STFT at a ``FINE_HOP`` step serves every scale. For one scale, the frames at ``SEARCH_HOP
    * scale`` steps give every grid start at once: a tile starting at frame ``q`` sums frames
    ``q, q + r, ...`` (``r = HOP / SEARCH_HOP``), and the columns of grid start ``a`` are the tiles
    at ``a, a + P, a + 2 P, ...`` (``P = TILE_FRAMES * r``). Each tile is scored against every
    column of the block at once (``(tiles, BLOCK_COLUMNS)``), and each grid start and block phase
    then reads its diagonal."""
    best: dict = {"z": -np.inf}
    ratio = HOP // SEARCH_HOP
    period = TILE_FRAMES * ratio  # grid steps per tile column
    sync = (layout.bit < 0).astype(np.float64)[None]  # (1, BLOCK_COLUMNS, symbols)
    signs = layout.signs.reshape(-1, BANDS).T  # (bands, block columns * symbols)
    squares = (layout.signs ** 2).reshape(-1, BANDS).T
    fine = band_power(stft(x, frame_positions(len(x), 0, FINE_HOP / HOP)))
    phase = np.arange(BLOCK_COLUMNS)
    for scale in scales if len(fine) else ():
        count = int((len(fine) - 1) * FINE_HOP / (SEARCH_HOP * scale)) + 1
        power = fine[np.round(np.arange(count) * SEARCH_HOP * scale / FINE_HOP).astype(np.int64)]
        tiles_n = len(power) - (TILE_FRAMES - 1) * ratio
        if tiles_n < 1:
            continue
        tiles = sum(power[j * ratio:j * ratio + tiles_n] for j in range(TILE_FRAMES))
        shape = (tiles_n, BLOCK_COLUMNS, SYMBOLS_PER_COLUMN)
        proj = (log_energy(tiles) @ signs).reshape(shape)
        cos = np.cos(2 * np.pi * (proj - layout.dither[None]) / STEP)
        weight = (activity(tiles) @ squares).reshape(shape)
        weight = np.where(weight >= 0.5 - 1e-9, weight, 0.0)
        columns = -(-tiles_n // period)
        pad = columns * period + period - tiles_n
        num = np.pad(np.sum(weight * sync * cos, axis=2), ((0, pad), (0, 0)))
        var = np.pad(np.sum((weight * sync) ** 2, axis=2) / 2, ((0, pad), (0, 0)))
        c = np.arange(columns)
        rows = np.arange(min(period, tiles_n))[:, None, None] + period * c  # (starts, 1, columns)
        cols = (phase[None, :, None] + c) % BLOCK_COLUMNS  # (1, phases, columns)
        z = _window_z(num[rows, cols].reshape(-1, columns), var[rows, cols].reshape(-1, columns))
        k = int(np.argmax(z))
        if z[k] > best["z"]:
            a, p = divmod(k, BLOCK_COLUMNS)
            n = len(range(a, tiles_n, period))
            r, cols_k = a + period * c[:n], (p + c[:n]) % BLOCK_COLUMNS
            best = {"z": float(z[k]), "cos": cos[r, cols_k], "weight": weight[r, cols_k],
                    "layout_cols": cols_k, "start": float(a * SEARCH_HOP * scale), "scale": scale}
    return best


WINDOWS = (62, 125)
"""Besides the whole signal, windows of about 2 s and 4 s (in tile columns) are scored, so that
a marked clip joined with unmarked audio is not diluted by it."""


def _window_z(num: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Best z per phase ``(phases,)`` over the whole signal and the sliding ``WINDOWS`` from
    per-column sums ``num`` and variances ``var`` ``(phases, columns)``."""
    cn = np.concatenate([np.zeros((len(num), 1)), np.cumsum(num, axis=1)], axis=1)
    cv = np.concatenate([np.zeros((len(var), 1)), np.cumsum(var, axis=1)], axis=1)
    best = np.full(len(num), -np.inf)
    for width in (num.shape[1],) + WINDOWS:
        if width > num.shape[1]:
            continue
        n = cn[:, width:] - cn[:, :-width]
        v = cv[:, width:] - cv[:, :-width]
        z = np.where(v > 0, n / np.sqrt(np.maximum(v, 1e-12)), -np.inf)
        best = np.maximum(best, z.max(axis=1))
    return best


def column_time(index: np.ndarray | int, found: dict) -> np.ndarray:
    """Seconds from the start of the input to the middle of tile column ``index`` of an
    alignment from ``best_alignment``."""
    frame = np.asarray(index) * TILE_FRAMES + (TILE_FRAMES - 1) / 2
    return (found["start"] + frame * HOP * found["scale"] + N_FFT / 2) / RATE


def read_bits(found: dict, layout: Layout, payload_bits: int,
              spans: list[tuple[int, int]] | None = None) -> np.ndarray:
    """Soft payload bits ``(payload_bits,)`` of an alignment, read in the column ``spans``
    (default: everywhere): > 0 means 0, < 0 means 1, in units of their own noise (z scores)."""
    cols = found["layout_cols"]
    bit = layout.bit[cols]  # (columns, symbols)
    w = found["weight"]
    if spans:
        inside = np.zeros(len(cols), bool)
        for a, b in spans:
            inside[a:b + 1] = True
        w = w * inside[:, None]
    soft = np.zeros(payload_bits)
    norm = np.zeros(payload_bits)
    for k in range(payload_bits):
        sel = bit == k
        soft[k] = np.sum(w[sel] * found["cos"][sel])
        norm[k] = np.sqrt(np.sum(w[sel] ** 2) / 2)
    return np.where(norm > 0, soft / np.maximum(norm, 1e-9), 0.0)


def marked_spans(found: dict, layout: Layout, window: int, level: float) -> list[tuple[int, int]]:
    """Runs ``[(first_column, last_column)]`` of an alignment where the sync score over a
    sliding ``window`` of columns reaches ``level`` (z units)."""
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
    return [(a, b) for a, b in spans if b - a + 1 >= window // 4]
