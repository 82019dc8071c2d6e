"""Helpers shared by the scripts beside this file (not a script itself).

Scripts are not a package: ``python scripts/NAME.py`` puts this folder first on ``sys.path``, so
a script imports this module, and a script kept in parts imports its parts, by their plain names
(``from _common import note``, ``import evaluate_voices``). Like every script, it holds no model
or DSP logic: the command line (``run``, the shared options), progress notes, and tables.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def note(message: str) -> None:
    """A progress line on stderr (stdout is kept for the report)."""
    print(message, file=sys.stderr, flush=True)


# --- the command line ---------------------------------------------------------------------

def subcommands(prog: str, description: str) -> tuple[argparse.ArgumentParser, Any]:
    """A script's parser and its subparsers (a required ``COMMAND``); each subcommand sets
    ``func``, which ``run`` calls."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    return parser, parser.add_subparsers(dest="command", required=True, metavar="COMMAND")


def run(prog: str, parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the chosen subcommand; returns the
    exit status (a ``VoxcloneError`` is one line on stderr and status 2)."""
    from tts.errors import run_reporting

    args = parser.parse_args(argv)
    return run_reporting(prog, lambda: args.func(args))


def add_out(parser: argparse.ArgumentParser, what: str = "the table") -> None:
    """``--out FILE``: also write ``what`` to FILE (``print_table``)."""
    parser.add_argument("--out", metavar="FILE", help=f"also write {what} to FILE")


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: torch threads, for ``set_threads`` (default: torch's own choice)."""
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's)")


def set_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)`` when ``--threads`` was given."""
    if threads:
        import torch

        torch.set_num_threads(threads)


# --- tables -------------------------------------------------------------------------------

def cell(value: float | str | None, digits: int) -> str:
    """A table cell: ``value`` to ``digits`` decimals, "–" when not measured (None), "n/a" when
    measured but unscorable (NaN); text as it is."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> str:
    """A Markdown table of ``header`` and ``rows`` (cells as text). ``align``: a letter per
    column, ``l`` left or ``r`` right; by default the first column (names) is left-aligned and
    the others (figures) right-aligned."""
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header):
        raise ValueError(f"align {align!r} does not have one letter per column of {header}")
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def print_table(table: str, out: str | None, report: dict | None = None,
                as_json: bool = False) -> None:
    """Print ``table`` to stdout and, given ``out`` (``--out``), write it there too. With the
    ``report`` it was made from: print that as JSON instead when ``as_json`` (``--json``), and
    write it as JSON to an ``out`` ending in ``.json``."""
    print(json.dumps(report, indent=2) if as_json else table)
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json = report is not None and path.suffix.lower() == ".json"
        path.write_text((json.dumps(report, indent=2) if write_json else table) + "\n",
                        encoding="utf-8")
