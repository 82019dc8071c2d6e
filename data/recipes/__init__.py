"""Dataset recipes: turn a corpus folder in its published layout into a list of ``Utterance``.

``RECIPES`` maps a recipe name to a :class:`Recipe`; call it as ``RECIPES[name](src, **options)``.
Every recipe returns utterances sorted by id with ``duration=None`` (the audio is not opened),
keeps clips without a transcript with empty text (logged; ``data.prepare`` skips them by name) and
raises ``DataError`` with a one-line message when ``src`` does not look like its layout.
"""

from __future__ import annotations

from data.recipes.common import AUDIO_SUFFIXES, Recipe
from data.recipes.folder import folder
from data.recipes.published import arctic, libritts, ljspeech, vctk
from data.recipes.shared import (
    RAVDESS_EMOTIONS,
    commonvoice_en,
    kathleen_arctic,
    librispeech_251,
    ljspeech_sample,
    ravdess_speech,
    speechocean762_adults,
)
from tts.errors import DataError

__all__ = ["AUDIO_SUFFIXES", "RAVDESS_EMOTIONS", "RECIPES", "Recipe", "get_recipe",
           "recipe_descriptions"]

RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("ljspeech", "LJSpeech-1.1: metadata.csv (id|text|normalized_text) + wavs/ID.wav",
           ljspeech),
    Recipe("vctk", "VCTK 0.92 (wav48_silence_trimmed/, mic1 or mic2) or 0.80 (wav48/) + txt/",
           vctk),
    Recipe("libritts", "LibriTTS(-R): SUBSET/SPEAKER/CHAPTER/*.wav + .normalized.txt", libritts),
    Recipe("arctic", "CMU ARCTIC: cmu_us_XXX_arctic/wav/*.wav + etc/txt.done.data", arctic),
    Recipe("folder", "any folder: clips with .txt/.lab beside them, or metadata.csv "
                     "(file|text[|speaker])", folder),
    Recipe("kathleen-arctic", "shared kathleen-arctic: one US English speaker, wavs/ID.ogg",
           kathleen_arctic),
    Recipe("commonvoice-en", "shared commonvoice-en: 281 speakers, wavs/ID.mp3", commonvoice_en),
    Recipe("librispeech-251", "shared librispeech-251: 251 speakers, SPEAKER/ID.flac",
           librispeech_251),
    Recipe("ljspeech-sample", "shared ljspeech-sample: 32 LJ Speech clips, wavs/ID.flac",
           ljspeech_sample),
    Recipe("ravdess-speech", "shared ravdess-speech: 24 actors, 8 emotions, Actor_XX/ID.flac",
           ravdess_speech),
    Recipe("speechocean762-adults", "shared speechocean762-adults: 18 Mandarin-L1 speakers, "
                                    "wavs/ID.ogg", speechocean762_adults),
)}
"""All recipes by name (read-only by convention)."""


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``, or a ``DataError`` listing the known ones."""
    try:
        return RECIPES[name]
    except KeyError:
        raise DataError(f"unknown recipe '{name}'; known: {', '.join(RECIPES)}") from None


def recipe_descriptions() -> str:
    """One line per recipe, ``name  description (options: ...)``, for ``--help`` texts."""
    width = max(map(len, RECIPES))
    lines = []
    for name, recipe in RECIPES.items():
        opts = f" [options: {', '.join(recipe.options)}]" if recipe.options else ""
        lines.append(f"{name.ljust(width)}  {recipe.description}{opts}")
    return "\n".join(lines)
