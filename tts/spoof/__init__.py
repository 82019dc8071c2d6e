"""Passive synthetic-speech detection (issue 22): is a recording real speech or made by a
speech synthesizer, whoever made it?

``features`` turns 16 kHz audio into the detector's input (log linear-filterbank energies),
``model`` is the small LCNN-style network, ``score`` scores whole files by windows with a
calibrated probability (``score_file(path) -> SpoofReport``), ``conditions`` holds the channel
conditions (MP3 32 kbit/s, 8 kHz, noise) shared by training and evaluation, ``generators`` the
synthetic-speech programs the training corpus is made with, and ``train`` the training loop.
"""

from tts.spoof.features import SAMPLE_RATE

__all__ = ["SAMPLE_RATE"]
