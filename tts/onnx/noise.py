"""The source-filter vocoder's noise without torch: ``torch.randn`` of a seeded CPU generator.

``SourceFilterVocoder.excitation`` draws its noise with ``torch.randn(shape,
generator=torch.Generator().manual_seed(seed))``, so the same input gives the same waveform. The
ONNX runtime does not load torch (it would cost seconds of start-up and about 200 MB), so it
makes the same numbers here, with numpy, the way PyTorch's CPU kernel does for a contiguous
float32 tensor of at least 16 values:

- a Mersenne Twister (MT19937) seeded like ``std::mt19937(seed)``, which is numpy's legacy
  ``RandomState(seed)`` seeding; each 32-bit draw becomes a uniform float ``(draw & 0xFFFFFF) *
  2**-24``, one per output value;
- Box-Muller on blocks of 16: ``u1 = 1 - uniform[j]``, ``u2 = uniform[j + 8]`` give ``r cos``
  and ``r sin`` (``r = sqrt(-2 ln u1)``, angle ``2 pi u2``) at ``j`` and ``j + 8``; when the
  size is not a multiple of 16, the last 16 values are drawn again and recomputed.

numpy's float32 ``log``, ``cos`` and ``sin`` are not PyTorch's vectorised ones bit for bit: the
values agree to a few units in the last place (``tests/test_onnx.py`` checks this against
``torch.randn`` for several sizes, so a change in PyTorch's generator is caught).
"""

from __future__ import annotations

import numpy as np

_MANTISSA = 0xFFFFFF
_SCALE = np.float32(2.0 ** -24)


def _uniform(bits: np.random.MT19937, count: int) -> np.ndarray:
    """``count`` float32 uniforms in [0, 1) from 24 bits of each 32-bit draw."""
    return (bits.random_raw(count) & _MANTISSA).astype(np.float32) * _SCALE


def _box_muller(uniform: np.ndarray) -> np.ndarray:
    """Blocks of 16 uniforms -> 16 standard normals each (see the module doc)."""
    blocks = uniform.reshape(-1, 16)
    radius = np.sqrt(np.float32(-2.0) * np.log(np.float32(1.0) - blocks[:, :8]))
    angle = np.float32(2.0 * np.pi) * blocks[:, 8:]
    return np.concatenate([radius * np.cos(angle), radius * np.sin(angle)], axis=1).reshape(-1)


def torch_randn(size: int, seed: int = 0) -> np.ndarray:
    """``torch.randn(size, generator=torch.Generator().manual_seed(seed))`` as float32 ``(size,)``
    (any shape of that many values is the same numbers in order); ``size`` >= 16."""
    if size < 16:
        raise ValueError(f"torch_randn reproduces sizes of at least 16 values, got {size}")
    bits = np.random.MT19937()
    bits.state = np.random.RandomState(seed).get_state(legacy=False)
    out = _uniform(bits, size)
    whole = size - size % 16
    out[:whole] = _box_muller(out[:whole])
    if size % 16:
        out[size - 16:] = _box_muller(_uniform(bits, 16))
    return out
