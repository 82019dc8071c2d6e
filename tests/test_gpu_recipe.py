"""The GPU recipe (docs/gpu.md): scripts/make_gpu_pack.py and scripts/gpu_train.py on tiny prepared
folders made here, end to end on the CPU, with the packages the GPU machine lacks made
unimportable."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from audio_fixtures import voiced_signal

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

import gpu_train  # noqa: E402
import make_gpu_pack  # noqa: E402

# The GPU machine's Python packages (/work/.library/device/KINDS.md, read 2026-11-17) and the
# wheels the recipe carries (scripts/gpu_wheels.sh): every other distribution of this venv is
# hidden from the recipe's processes in the end-to-end test.
DEVICE_PACKAGES = """absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc
anyio attrs botorch build certifi charset-normalizer chex click cloudpickle cmake colorama
contourpy coverage cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython
diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools formulaic frozenlist
fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna
imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2
joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml
markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict
multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13
nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13
nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir
onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx optimistix
orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing
pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout
pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors
scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers
setuptools shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton
typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray
xxhash yarl zipp""".split()
CARRIED = ["soundfile", "cffi", "soxr"]
ALWAYS_HIDDEN = ["librosa", "phonemizer", "g2p_en", "nltk", "pyloudnorm"]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def hidden_modules() -> list[str]:
    """Top-level modules of this venv that the GPU machine would not have."""
    import importlib.metadata as md

    keep = {_norm(n) for n in DEVICE_PACKAGES + CARRIED + ["voxclone"]}
    hidden = set(ALWAYS_HIDDEN)
    for module, dists in md.packages_distributions().items():
        if (all(_norm(d) not in keep for d in dists) and module not in sys.stdlib_module_names
                and module.isidentifier() and module not in ("test", "tests", "docs")):
            hidden.add(module)
    return sorted(hidden)


def hiding_site(folder: Path, modules: list[str]) -> Path:
    """A ``sitecustomize.py`` that makes ``modules`` unimportable and their distributions
    unlisted (so that optional-package probes, e.g. torchmetrics', see them missing too)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(textwrap.dedent(f"""
        import importlib.abc, importlib.machinery, sys
        HIDDEN = frozenset({modules!r})

        class _Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in HIDDEN:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (hidden: the GPU "
                                              "machine lacks it)", name=name)
                return None

        sys.meta_path.insert(0, _Hide())
        _find = importlib.machinery.PathFinder.find_distributions

        def _visible(*args, **kwargs):
            for dist in _find(*args, **kwargs):
                top = (dist.read_text("top_level.txt") or "").split()
                name = (dist.metadata["Name"] or "").replace("-", "_").lower()
                if not (name in HIDDEN or (top and all(t in HIDDEN for t in top))):
                    yield dist

        importlib.machinery.PathFinder.find_distributions = staticmethod(_visible)
    """), encoding="utf-8")
    return folder


# -- tiny prepared folders -------------------------------------------------------------------
SENTENCES = ("A small boat crossed the quiet harbour.", "Please put the green folder on my desk.",
             "The train to the coast leaves at noon.", "Our neighbours painted their fence yellow.")


def _speakers(held: int, kept: int) -> tuple[list[str], list[str]]:
    from data.holdout import held_out

    names = [str(n) for n in range(100, 400)]
    out = [n for n in names if held_out(f"librispeech-251/{n}")][:held]
    return out, [n for n in names if not held_out(f"librispeech-251/{n}")][:kept]


def make_prepared(root: Path, held: int = 2, kept: int = 4, clips: int = 3) -> dict[str, Path]:
    """Two prepared folders with pitch and (random, 256-d) embeddings: a LibriSpeech-layout one
    of ``held`` held-out and ``kept`` other speakers, and a one-speaker ``kathleen`` folder."""
    import soundfile as sf

    from data.prepare import prepare

    held_names, kept_names = _speakers(held, kept)
    src = root / "src-libri"
    lines = ["id|speaker|gender|text"]
    for s, speaker in enumerate(held_names + kept_names):
        for n in range(clips):
            uid = f"{speaker}-1-{n:04d}"
            path = src / speaker / f"{uid}.flac"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, voiced_signal(1.0 + 0.2 * n, 16000, f0=100 + 20 * s, seed=s * 9 + n),
                     16000)
            lines.append(f"{uid}|{speaker}|F|{SENTENCES[(s + n) % 4]}")
    (src / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    kathleen = root / "src-kathleen"
    kathleen.mkdir()
    rows = []
    for n in range(4):
        sf.write(kathleen / f"k{n}.wav", voiced_signal(1.2, 22050, f0=180, seed=50 + n), 22050)
        rows.append(f"k{n}.wav|{SENTENCES[n]}|kathleen")
    (kathleen / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    folders = {
        "librispeech-251": root / "prepared" / "librispeech-251",
        "kathleen-arctic": root / "prepared" / "kathleen-arctic",
    }
    prepare("librispeech-251", src, folders["librispeech-251"], workers=1, progress=False,
            val_fraction=0.34)
    prepare("folder", kathleen, folders["kathleen-arctic"], workers=1, progress=False,
            val_fraction=0.25)
    rng = np.random.default_rng(0)
    for folder in folders.values():
        rows = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
        ids = [r["id"] for r in rows]
        tracks = [np.where(np.arange(r["num_frames"]) % 5 == 0, 0.0, 140.0) for r in rows]
        np.savez(folder / "pitch.npz", ids=np.array(ids),
                 offsets=np.concatenate([[0], np.cumsum([len(t) for t in tracks])]),
                 values=np.concatenate(tracks).astype(np.float16))
        vectors = rng.standard_normal((len(ids), 256))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        np.savez(folder / "speaker_embeddings.npz", ids=np.array(ids),
                 vectors=vectors.astype(np.float16), encoder=np.array("test"))
    return folders


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("gpu-recipe"))


def _pack(prepared, out: Path, cap_mib: float = 5.0, **options) -> dict:
    return make_gpu_pack.build(list(prepared.values()), out, cap=int(cap_mib * 2**20),
                               config=ROOT / "configs" / "acoustic" / "gpu.yaml",
                               voices=ROOT / "checkpoints" / "voices.json",
                               log=lambda message: None, **options)


# -- the pack --------------------------------------------------------------------------------
def test_pack_leaves_held_out_speakers_out_and_keeps_every_other(prepared, tmp_path):
    from data.holdout import held_out_speakers

    summary = _pack(prepared, tmp_path / "pack", vocoder_minutes=0.05)
    held = held_out_speakers(prepared["librispeech-251"])
    assert len(held) == 2
    packed = {}
    for corpus in prepared:
        with gzip.open(tmp_path / "pack" / corpus / "utterances.jsonl.gz", "rt") as f:
            packed[corpus] = [json.loads(line) for line in f]
    speakers = {e["utterance"]["speaker"] for e in packed["librispeech-251"]}
    assert not speakers & held and len(speakers) == 4
    # nor in its speaker list: training would give them rows of the speaker table
    listed = json.loads((tmp_path / "pack" / "librispeech-251" / "speakers.json").read_text())
    assert listed == sorted(speakers)
    assert summary["speakers"] == summary["speakers_available"] == 5
    assert summary["corpora"]["librispeech-251"]["held_out_speakers_left_out"] == 2
    # both tiers and both splits are there, val clips in the vocoder tier
    entries = packed["librispeech-251"] + packed["kathleen-arctic"]
    assert {e["tier"] for e in entries} == {"vocoder", "acoustic"}
    assert all(e["tier"] == "vocoder" and e["kbps"] == 64 for e in entries if e["split"] == "val")
    assert {e["kbps"] for e in entries if e["tier"] == "acoustic"} == {24}
    # pitch and embedding rows of exactly the packed utterances, values unchanged
    for corpus, folder in prepared.items():
        ids = [e["utterance"]["id"] for e in packed[corpus]]
        with np.load(tmp_path / "pack" / corpus / "pitch.npz") as p, \
                np.load(folder / "pitch.npz") as original:
            assert list(p["ids"]) == ids
            index = list(original["ids"]).index(ids[0])
            first = original["values"][original["offsets"][index]:original["offsets"][index + 1]]
            assert np.array_equal(p["values"][:p["offsets"][1]], first)
        with np.load(tmp_path / "pack" / corpus / "speaker_embeddings.npz") as e:
            assert list(e["ids"]) == ids and e["vectors"].dtype == np.float16
    assert summary["hours"] > 0 and summary["bytes"] <= summary["cap_bytes"]
    assert set(summary["opus"]["mel_l1_vs_prepared"]) == {"vocoder", "acoustic"}


def test_pack_size_cap_is_enforced(prepared, tmp_path):
    full = _pack(prepared, tmp_path / "full", cap_mib=5.0, vocoder_minutes=0.05)
    cap = full["bytes"] - 4000  # a little less than everything
    small = _pack(prepared, tmp_path / "small", cap_mib=cap / 2**20, vocoder_minutes=0.05)
    size = make_gpu_pack.folder_bytes(tmp_path / "small")
    assert size == small["bytes"] <= cap < full["bytes"]
    assert small["utterances"] < full["utterances"]
    # too small for even the validation and vocoder clips: refused, nothing left behind
    with pytest.raises(SystemExit, match="does not even hold"):
        _pack(prepared, tmp_path / "tiny", cap_mib=0.01, vocoder_minutes=0.05)
    assert not (tmp_path / "tiny").exists()
    assert not list(tmp_path.glob(".tiny*"))


def test_order_balances_speakers_and_fills_voices_first():
    Item = make_gpu_pack.Item
    items = [Item("a", {"id": f"big{n}", "speaker": "big", "duration": 2.0}, "train")
             for n in range(20)]
    items += [Item("a", {"id": f"small{n}", "speaker": "small", "duration": 2.0}, "train")
              for n in range(3)]
    items += [Item("b", {"id": f"voice{n}", "speaker": "kathleen", "duration": 2.0}, "train")
              for n in range(10)]
    ordered = make_gpu_pack.order_items(items, vocoder_seconds=6.0, voice_seconds=10.0,
                                        voices={"kathleen"})
    assert len(ordered) == len(items)
    vocoder = [i.speaker for i in ordered if i.tier == "vocoder"]
    assert sorted(vocoder) == ["big", "kathleen", "small"]  # one each: balanced
    acoustic = [i.speaker for i in ordered if i.tier == "acoustic"]
    # the voice first fills up to its 10 s (5 clips, one of them in the vocoder tier) ...
    assert acoustic[:4] == ["kathleen"] * 4
    # ... then the speaker with the least audio goes next
    assert acoustic[4:8].count("small") >= 1 and acoustic[-1] == "big"
    # a head start for the voice in the vocoder tier too
    ordered = make_gpu_pack.order_items(items, vocoder_seconds=6.0, voice_seconds=10.0,
                                        vocoder_voice_seconds=4.0, voices={"kathleen"})
    vocoder = [i.speaker for i in ordered if i.tier == "vocoder"]
    assert vocoder[:2] == ["kathleen"] * 2 and vocoder[2] != "kathleen"  # 4 s, then the others


def test_auto_cap_counts_the_working_tree_and_wheels():
    tree = make_gpu_pack.travelling_bytes()
    if tree is None:
        pytest.skip("not a git checkout")
    cap, parts = make_gpu_pack.auto_cap(1.0)
    assert parts["tree_mib"] == round(tree / 2**20, 2)
    assert cap <= 40 * 2**20
    assert cap <= 64 * 2**20 - tree - 2**20


def test_librosa_stand_in_gives_librosa_numbers():
    librosa = pytest.importorskip("librosa")
    stand_in = gpu_train.librosa_stand_in()
    for sr, n_fft, n_mels, fmax in ((22050, 1024, 80, 8000.0), (16000, 512, 40, None)):
        ours = stand_in.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=fmax,
                                    htk=False, norm="slaney")
        theirs = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=fmax,
                                     htk=False, norm="slaney")
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    grid = np.linspace(0, 11025, 513)
    assert np.array_equal(stand_in.hz_to_mel(grid), librosa.hz_to_mel(grid))
    assert np.array_equal(stand_in.mel_frequencies(82, fmin=0.0, fmax=8000.0),
                          librosa.mel_frequencies(82, fmin=0.0, fmax=8000.0))
    assert stand_in.hz_to_mel(1500.0) == librosa.hz_to_mel(1500.0)
    with pytest.raises(AttributeError, match="stand-in"):
        stand_in.pyin  # noqa: B018


def test_gpu_configs_keep_the_bundled_models():
    """gpu.yaml's model is the standing run's (so its result can replace multispeaker.pt), and
    the vocoder config's model and audio are source_filter.yaml's (sourcefilter.pt's)."""
    configs = ROOT / "configs"
    ours = yaml.safe_load((configs / "acoustic" / "gpu.yaml").read_text())
    standing = yaml.safe_load((configs / "acoustic" / "multispeaker_standing.yaml").read_text())
    assert ours["model"] == standing["model"]
    assert (ours["training"]["hold_out_fraction"], ours["training"]["hold_out_speakers"]) == (
        standing["training"]["hold_out_fraction"], standing["training"]["hold_out_speakers"])
    vocoder = yaml.safe_load((configs / "vocoder" / "gpu_source_filter.yaml").read_text())
    bundled = yaml.safe_load((configs / "vocoder" / "source_filter.yaml").read_text())
    assert vocoder["model"] == bundled["model"] and vocoder["audio"] == bundled["audio"]


# -- end to end ------------------------------------------------------------------------------
def _cpu_config(kind: str, folder: Path, **training) -> Path:
    """The GPU config with the CPU's sizes (the model keys untouched)."""
    name = {"acoustic": "acoustic/gpu.yaml", "vocoder": "vocoder/gpu_source_filter.yaml"}[kind]
    config = yaml.safe_load((ROOT / "configs" / name).read_text())
    config["training"].update(training)
    path = folder / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_gpu_train_end_to_end_without_the_missing_packages(prepared, tmp_path):
    """The whole recipe on the CPU: pack -> gpu_train.py in a process where librosa, phonemizer,
    g2p-en (and every package the GPU machine lacks) cannot be imported -> both trainings from
    the bundled checkpoints, stopped by their time limit -> exported checkpoints that load."""
    _pack(prepared, tmp_path / "pack", vocoder_minutes=0.05)
    out = tmp_path / "out"
    env = dict(os.environ)
    site = hiding_site(tmp_path / "site", hidden_modules())
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("OMP_NUM_THREADS", "1")
    command = [sys.executable, str(SCRIPTS / "gpu_train.py"), "--pack", str(tmp_path / "pack"),
               "--out", str(out), "--work", str(tmp_path / "work"), "--accelerator", "cpu",
               "--budget", "400", "--train-seconds", "4", "--decode-workers", "2",
               "--acoustic-config", str(_cpu_config("acoustic", tmp_path, batch_size=4,
                                                    num_workers=0, log_every=1)),
               "--vocoder-config", str(_cpu_config("vocoder", tmp_path, batch_size=2,
                                                   segment_frames=16, num_workers=0,
                                                   log_every=1, val_every=2))]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "ok" and not summary["errors"]
    assert summary["environment"]["librosa"] == "stand-in"
    assert sorted(p.name for p in out.iterdir()) == [
        "acoustic.log", "acoustic.pt", "gpu_train.log", "summary.json", "tensorboard.tar.gz",
        "vocoder.log", "vocoder.pt"]
    for model in ("acoustic", "vocoder"):
        info = summary[model]
        assert info["steps"] > 0 and info["exit_code"] == 0 and info["loads"], info
        assert info["losses"] and info["stopped_by"] == "time limit or max_steps"
    assert summary["data"]["acoustic"]["utterances"] > summary["data"]["vocoder"]["utterances"]

    from tts.acoustic import load_acoustic
    from tts.vocoder import load_vocoder

    acoustic = load_acoustic(out / "acoustic.pt")
    assert acoustic.model.config.pitch and len(acoustic.speakers) == 5  # kathleen + 4 kept
    vocoder, audio = load_vocoder(out / "vocoder.pt")
    assert audio.sample_rate == 22050
    # the unpacked folders are ordinary prepared folders: frames match the manifests
    folder = tmp_path / "work" / "data" / "librispeech-251"
    row = json.loads((folder / "train.jsonl").read_text().splitlines()[0])
    assert np.load(folder / row["mel_path"]).shape == (80, row["num_frames"])
