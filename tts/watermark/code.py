"""The payload's error-correcting code: the Reed-Muller code RM(2, 5), [32, 16, 8].

The 16 payload bits become a 32-bit codeword; any two codewords differ in at least 8 places
(repeating each bit twice, the code it replaces, gives 2). The decoder is maximum likelihood
on soft input: it scores all 65,536 codewords against the 32 soft values at once (a (65536, 32)
sign matrix, built once), and reports how far the best stands above the runner-up, so that a
weak read can be withheld instead of given wrong.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

MESSAGE_BITS = 16
CODE_BITS = 32


@functools.cache
def generator() -> np.ndarray:
    """``(16, 32)`` 0/1 generator: the monomials of degree at most 2 in 5 variables, evaluated
    at the 32 points of ``{0, 1}^5``."""
    points = (np.arange(CODE_BITS)[:, None] >> np.arange(5)[None, :]) & 1  # (32, 5)
    rows = [np.ones(CODE_BITS, np.int64)]
    rows += [points[:, i] for i in range(5)]
    rows += [points[:, i] & points[:, j] for i, j in itertools.combinations(range(5), 2)]
    return np.array(rows, np.int64)


def encode(bits: np.ndarray) -> np.ndarray:
    """``(32,)`` 0/1 float codeword of message ``bits (16,)`` (0/1)."""
    message = np.asarray(bits, np.int64).reshape(MESSAGE_BITS)
    return ((message @ generator()) % 2).astype(np.float64)


@functools.cache
def _codeword_signs() -> np.ndarray:
    """``(65536, 32)`` float32 ``+1`` (bit 0) / ``-1`` (bit 1) of every codeword, row ``m`` for
    the message whose bit ``k`` is ``(m >> k) & 1``."""
    messages = (np.arange(1 << MESSAGE_BITS)[:, None] >> np.arange(MESSAGE_BITS)[None, :]) & 1
    return (1 - 2 * ((messages @ generator()) % 2)).astype(np.float32)


def decode(soft: np.ndarray) -> tuple[int, float]:
    """Maximum-likelihood message of ``soft (32,)`` (> 0 reads as 0, < 0 as 1, in units of their
    own noise): ``(message as an integer, margin)``, where ``margin`` is the best codeword's
    correlation with ``soft`` less the runner-up's, over 2 (the soft evidence, in the same units,
    that tells the two apart; 0 when they tie)."""
    scores = _codeword_signs() @ np.asarray(soft, np.float32).reshape(CODE_BITS)
    best, second = np.argsort(scores)[::-1][:2]
    return int(best), float(scores[best] - scores[second]) / 2
