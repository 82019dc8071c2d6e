"""The import structure of the packages ``tts``, ``cloning`` and ``data``.

The graph is read from the source with ``ast`` (nothing is imported for it): every module of the
three packages (found with ``pkgutil.iter_modules``, folder by folder, since
``pkgutil.walk_packages`` would import each package) and every ``import`` statement in it, at
module level and inside functions alike. A deferred import only hides a cycle from the
interpreter until the function runs: the two modules still depend on each other, so both kinds
count. Imports under ``if TYPE_CHECKING:`` never run and do not count, nor does the implicit
import of a package's ``__init__`` when one of its submodules is imported. An import points at
the deepest module it names (``from tts import metrics`` -> ``tts.metrics``); one from outside
the three packages at its top-level name (``lightning``).

- No cycles between modules.
- The inference-only leaf modules (``LEAVES``) load no model, layer or training module and no
  Lightning (checked in a fresh interpreter, through ``sys.modules``).
- The inference path (``INFERENCE``) loads no Lightning (same check), and none of its imports,
  deferred ones included, reaches training code, Lightning, ``cloning`` or ``data``.

Start-up (what really loads, in fresh interpreters): ``import tts`` and ``from tts import
Synthesizer`` load no torch (an engine that needs none, ONNX, need not pay for it); ``import
tts.cli`` and a whole ``voxclone say`` load no Lightning, no training code, no ``cloning`` and,
for text without homographs or unknown words, neither g2p-en nor nltk; the g2p-en backend
loads nltk's tagger for a homograph, and its lazily read tables equal g2p-en's own.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tts", "cloning", "data")
LEAVES = ("tts.errors", "tts.config", "tts.text", "tts.audio", "tts.bundled", "tts.asr",
          "tts.profiles")
INFERENCE = ("tts.synthesizer", "tts.neural_engine", "tts.voices", "tts.vocoder", "tts.acoustic")
MODEL_MODULES = ("tts.models", "tts.layers", "tts.training", "lightning", "pytorch_lightning")
LIGHTNING = ("lightning", "pytorch_lightning")
NOT_FOR_INFERENCE = ("tts.training", "lightning", "pytorch_lightning", "cloning", "data")


def _modules() -> dict[str, Path]:
    """``{dotted name: source file}`` of every module of ``PACKAGES``."""
    found = {}

    def walk(folder: Path, name: str) -> None:
        found[name] = folder / "__init__.py"
        for info in pkgutil.iter_modules([str(folder)]):
            if info.ispkg:
                walk(folder / info.name, f"{name}.{info.name}")
            else:
                found[f"{name}.{info.name}"] = folder / f"{info.name}.py"

    for package in PACKAGES:
        walk(ROOT / package, package)
    return found


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _target(dotted: str) -> str:
    """The deepest module of ``MODULES`` that ``dotted`` names, else its top-level name."""
    name = dotted
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return dotted.split(".")[0]


def _imports(module: str) -> set[str]:
    """What ``module``'s import statements point at (see the module doc)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            children = node.orelse
        else:
            children = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            found.update(_target(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in MODULES else _target(base))
        for child in children:
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    found.discard(module)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or None."""
    done: set[str] = set()
    path: list[str] = []

    def search(node: str) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            found = search(nxt)
            if found:
                return found
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        found = search(start)
        if found:
            return found
    return None


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_walk_finds_the_packages_modules():
    assert {"tts.voices", "tts.models.tacotron", "cloning.consent", "data.manifest"} <= set(MODULES)
    assert "cloning.profile" in GRAPH["cloning.clone"]  # an import found
    assert set(LEAVES + INFERENCE) <= set(MODULES)


def test_the_cycle_search_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    cycle = _cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", INFERENCE)
def test_the_inference_path_never_reaches_training_or_cloning(module):
    reached = sorted(m for m in _reachable(module) if _under(m, NOT_FOR_INFERENCE))
    assert not reached, f"{module} imports (perhaps through others, perhaps deferred) {reached}"


def _loaded(modules: tuple[str, ...], prefixes: tuple[str, ...]) -> dict[str, list[str]]:
    """Import ``modules`` one after the other in a fresh interpreter; for each, the modules
    under ``prefixes`` loaded so far."""
    code = (f"import importlib, json, sys\nloaded = {{}}\nfor name in {list(modules)!r}:\n"
            "    importlib.import_module(name)\n    loaded[name] = sorted(sys.modules)\n"
            "print(json.dumps(loaded))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return {name: [m for m in loaded if _under(m, prefixes)]
            for name, loaded in json.loads(done.stdout).items()}


def test_leaves_load_no_model_or_lightning_module():
    loaded = _loaded(LEAVES, MODEL_MODULES)
    assert not any(loaded.values()), f"loaded by the leaves (cumulative): {loaded}"


def test_the_inference_path_loads_no_lightning():
    loaded = _loaded(INFERENCE, LIGHTNING)
    assert not any(loaded.values()), f"loaded by the inference path (cumulative): {loaded}"


# --- start-up: what `import tts` and `voxclone say` load ---------------------------------------

SAY_NEVER = LIGHTNING + ("tts.training", "cloning", "nltk", "g2p_en")


def _run_loaded(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (repo root as cwd); it prints one JSON line."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_tts_is_light():
    loaded = _run_loaded("import json, sys\nimport tts\nassert tts.__version__\n"
                         "first = sorted(sys.modules)\nfrom tts import Synthesizer\n"
                         "print(json.dumps({'tts': first, 'api': sorted(sys.modules)}))")
    heavy = [m for m in loaded["tts"] if _under(m, ("torch", "numpy", "tts.synthesizer"))]
    assert not heavy, f"import tts loaded {heavy}"
    assert "tts.synthesizer" in loaded["api"]
    heavy = [m for m in loaded["api"] if _under(m, ("torch", "tts.audio") + LIGHTNING)]
    assert not heavy, f"from tts import Synthesizer loaded {heavy} (an engine needs no torch)"


def test_say_loads_no_lightning_training_or_tagger(tmp_path):
    out = tmp_path / "hi.wav"
    loaded = _run_loaded(
        "import json, sys\nfrom tts.cli import main\n"
        "after_import = sorted(sys.modules)\n"
        f"code = main(['say', 'Hi. The birch canoe slid on the smooth planks.', '-o', {str(out)!r},"
        " '-q'])\n"
        "print(json.dumps({'code': code, 'import': after_import, 'say': sorted(sys.modules)}))")
    assert loaded["code"] == 0 and out.stat().st_size > 1000
    assert "torch" not in loaded["import"], "import tts.cli loaded torch"
    for stage in ("import", "say"):
        found = [m for m in loaded[stage] if _under(m, SAY_NEVER)]
        assert not found, f"{stage} loaded {found[:8]}"
    assert "tts.synthesizer" in loaded["say"]  # it did run the say path


def test_the_tagger_loads_only_for_a_homograph():
    loaded = _run_loaded(
        "import json, sys\nfrom tts.text import to_phonemes\n"
        "plain = to_phonemes('The birch canoe slid on the smooth planks.')\n"
        "before = sorted(m for m in sys.modules if m.split('.')[0] in ('nltk', 'g2p_en'))\n"
        "read = to_phonemes('I read it yesterday.')\n"
        "print(json.dumps({'before': before, 'read': read,"
        " 'after': 'nltk.tag.perceptron' in sys.modules}))")
    assert loaded["before"] == [] and loaded["after"]
    assert " ".join(loaded["read"]).startswith("AY1   R EH1 D")  # past tense, from the tag


def test_lazy_g2p_tables_equal_g2p_ens_own():
    from tts.text.g2p import HOMOGRAPH_FIXES, _g2p_en

    engine = _g2p_en()
    g2p_en = pytest.importorskip("g2p_en.g2p")
    table = g2p_en.construct_homograph_dictionary()
    table.update({w: (a.split(), b.split(), pos) for w, (a, b, pos) in HOMOGRAPH_FIXES.items()})
    assert engine.homographs == table
    lexicon: dict[str, list[list[str]]] = {}
    with open(engine.root / "corpora" / "cmudict" / "cmudict", encoding="utf-8") as fh:
        for line in fh:  # what a dict of every entry holds (g2p-en's own reading)
            parts = line.split()
            if len(parts) >= 3:
                lexicon.setdefault(parts[0].lower(), []).append(parts[2:])
    assert len(lexicon) > 100_000
    assert all(engine.lexicon.get(word) == prons for word, prons in lexicon.items())
    assert "zzzqx" not in engine.lexicon and engine.lexicon.get("zzzqx") is None
