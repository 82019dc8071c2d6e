"""The payload's Reed-Muller code: distance, round trip, error correction, soft margin."""

from __future__ import annotations

import numpy as np

from tts.watermark import code


def _bits(message: int) -> np.ndarray:
    return np.array([(message >> k) & 1 for k in range(code.MESSAGE_BITS)])


def test_every_two_codewords_differ_in_at_least_8_places():
    weights = (1 - code._codeword_signs()).sum(axis=1) / 2  # linear code: distance = weight
    assert weights[0] == 0 and weights[1:].min() == 8
    assert code.generator().shape == (code.MESSAGE_BITS, code.CODE_BITS)


def test_round_trip_and_three_errors_corrected():
    rng = np.random.default_rng(0)
    for message in [0, 1, 0xB5A3, 0xFFFF, *rng.integers(0, 1 << 16, 20)]:
        word = code.encode(_bits(int(message)))
        soft = 1.0 - 2.0 * word
        assert code.decode(soft) == (int(message), 8.0)  # runner-up 8 places away
        flips = rng.choice(code.CODE_BITS, 3, replace=False)
        soft[flips] *= -1
        decoded, margin = code.decode(soft)
        assert decoded == int(message) and margin > 0


def test_margin_is_small_on_noise():
    """Soft values with no codeword in them: the best codeword barely beats the runner-up."""
    rng = np.random.default_rng(1)
    margins = [code.decode(rng.standard_normal(code.CODE_BITS))[1] for _ in range(200)]
    assert np.median(margins) < 1.0
