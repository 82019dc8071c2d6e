"""Prepare a corpus for training: ``python scripts/prepare.py RECIPE SRC OUT [options]``.

Same as ``voxclone prepare``; see ``--help`` for the recipes and options.
"""

import sys

from tts.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["prepare", *sys.argv[1:]]))
