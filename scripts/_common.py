"""Helpers shared by the scripts beside this file (not a script itself).

Scripts are not a package: ``python scripts/NAME.py`` puts this folder first on ``sys.path``, so
a script imports this module, and a script kept in parts imports its parts, by their plain names
(``from _common import note``, ``import evaluate_voices``). Like every script, it holds no model
or DSP logic.
"""

from __future__ import annotations

import sys
from pathlib import Path


def note(message: str) -> None:
    """A progress line on stderr (stdout is kept for the report)."""
    print(message, file=sys.stderr, flush=True)


def print_table(table: str, out: str | None) -> None:
    """Print ``table`` to stdout and, given ``out`` (``--out``), write it there too."""
    print(table)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(table + "\n", encoding="utf-8")
