"""Speech-to-speech from the command line: the same as ``voxclone convert``.

    python scripts/convert.py SOURCE... --voice NAME -o OUT [--transcript TEXT|FILE]
        [--timing phrase|word|own] [--own-pitch] [--pitch SEMITONES]

See ``voxclone convert --help``; the work is done by ``tts.convert.convert``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from tts.cli import main as cli_main

    return cli_main(["convert", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
