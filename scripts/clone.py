"""Few-shot voice cloning from the command line: the same as ``voxclone clone``.

    python scripts/clone.py --name NAME --audio FILE_OR_DIR... [--consent FILE] [--minutes 8]

See ``voxclone clone --help``; the work is done by ``cloning.clone.clone_voice``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from tts.cli import main as cli_main

    return cli_main(["clone", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
