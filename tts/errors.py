"""The one exception family voxclone raises for bad input.

The CLI turns any ``VoxcloneError`` into a one-line message and a non-zero exit; library callers
catch the subclass they care about.
"""

import sys
from collections.abc import Callable


class VoxcloneError(Exception):
    """Base class: a user-facing problem with a clear one-line message."""


class AudioError(VoxcloneError):
    """Audio that cannot be used: missing, unreadable, empty, silent, too short."""


class TextError(VoxcloneError):
    """Text that cannot be spoken: empty after normalization, unknown symbols."""


class ConfigError(VoxcloneError):
    """A configuration with unknown keys, wrong types or inconsistent values."""


class CheckpointError(VoxcloneError):
    """A checkpoint that is corrupt, foreign, or of the wrong kind or version."""


class DataError(VoxcloneError):
    """A dataset folder or manifest that does not match its recipe."""


class ConsentError(VoxcloneError):
    """Cloning refused: the consent recording failed a check (``record`` holds the rejected
    ``cloning.consent.ConsentRecord`` when there is one), or a consent record is invalid."""

    record = None


def run_reporting(prog: str, action: Callable[[], int]) -> int:
    """Run a command's ``action`` and return its exit status; a ``VoxcloneError`` becomes one
    line ``PROG: error: ...`` on stderr and status 2, Ctrl-C a short note and status 130."""
    try:
        return action()
    except VoxcloneError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
