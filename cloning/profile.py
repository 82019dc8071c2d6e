"""Writing voice profiles: where a new cloned voice is saved, and saving it whole.

The profile format and reading it back (``VoiceProfile``, ``load_profile``, ``list_profiles``,
``voices_dir``) are ``tts.profiles``, so that speaking a cloned voice needs nothing from
``cloning``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tts.profiles import (
    ADAPTED_FILE,
    PROFILE_FILE,
    ProfileError,
    VoiceProfile,
    check_name,
    voices_dir,
)

__all__ = ["new_profile_path", "save_profile"]


def new_profile_path(name: str, root: Path | None = None) -> Path:
    """Where a new voice called ``name`` is saved: always in ``root`` or ``voices_dir()``."""
    return (root or voices_dir()) / check_name(name)


def save_profile(profile: VoiceProfile, folder: Path, adapted_checkpoint: Path | None = None,
                 overwrite: bool = False) -> Path:
    """Write ``profile`` (and the adapted checkpoint, moved in) to ``folder``; the folder is
    written next to its final place and renamed, so a crash leaves no half profile."""
    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise ProfileError(f"a voice named {profile.name!r} already exists at {folder} "
                           "(choose another name, or pass --force to replace it)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    if adapted_checkpoint is not None:
        shutil.move(str(adapted_checkpoint), staging / ADAPTED_FILE)
        (staging / ADAPTED_FILE).chmod(0o644)
    (staging / PROFILE_FILE).write_text(json.dumps(profile.to_dict(), indent=1) + "\n",
                                        encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    profile.folder = folder
    return folder
