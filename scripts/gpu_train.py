"""The GPU recipe of issue 20 (docs/gpu.md): train the acoustic model and the vocoder on one GPU
within a fixed wall-clock budget, from the data pack of ``scripts/make_gpu_pack.py``, and write
compact checkpoints and a summary to one folder.

The device call (the device tool's ``run``; build ``gpu_pack/`` and ``.whl/`` here first:
``scripts/gpu_wheels.sh`` and ``python scripts/make_gpu_pack.py``)::

    command:   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir
               --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit;
               nvidia-smi -L; PYTHONUNBUFFERED=1 python3 scripts/gpu_train.py --pack gpu_pack
               --out $OUT --accelerator gpu --budget 510
               (one line)
    carry:     ["gpu_pack", ".whl"]
    timeout_s: 570
    kind:      left out (an H100; an H200 does the same)

It returns, under the reply's ``files_at`` (7 files): ``acoustic.pt`` and ``vocoder.pt`` (fp16
inference checkpoints, ``voxclone export``), ``summary.json`` (steps, losses, step rates, wall
times, data, environment, errors), ``gpu_train.log``, ``acoustic.log``, ``vocoder.log`` (the two
trainings' output) and ``tensorboard.tar.gz``. Measure the checkpoints here before shipping
anything (docs/gpu.md: ``scripts/evaluate.py acoustic`` and ``vocoder`` against the bundled ones).

What it does, inside ``--budget`` seconds from its start (default 510; the device allows 600 per
command and 15 minutes per session, the machine's start included):

1. Preflight (seconds): CUDA, soundfile with Opus, soxr, the pack, configs and init checkpoints;
   a missing piece fails here, before any work, with one line saying what.
2. Unpack (``--decode-workers`` processes): each Opus clip -> 22050 Hz -> ``wavs/ID.wav`` (16-bit)
   -> the project's one mel (``tts.audio.mel_spectrogram``) of exactly that saved wav ->
   ``mels/ID.npy``, with the manifests, speakers, prepare.json, pitch and embedding rows: ordinary
   prepared folders under ``--work/data`` (every clip; the acoustic model's) and ``--work/vocoder``
   (the pack's vocoder tier; the vocoder's). Frame counts are checked against the manifests.
3. Train both at once, as two processes on the one GPU, through the ordinary CLI (``voxclone
   train acoustic|vocoder ... --init CKPT``; ``configs/acoustic/gpu.yaml`` from
   ``checkpoints/acoustic/multispeaker.pt``, ``configs/vocoder/gpu_source_filter.yaml`` from
   ``checkpoints/vocoder/sourcefilter.pt``). Each gets Lightning's ``max_time`` (through its
   ``PL_TRAINER_MAX_TIME`` default) so that it stops, saves ``last.ckpt`` and exits by the
   training deadline (``--budget`` less ``--reserve``); Lightning counts from the first step, so
   ``--setup-allowance`` seconds of start-up are taken off. A run still alive 15 s after the
   deadline is stopped (SIGTERM, then SIGKILL) and its newest periodic checkpoint is used.
4. Export: the newest readable checkpoint of each run -> ``voxclone export`` (fp16) -> loaded
   back with ``tts.acoustic.load_acoustic`` / ``tts.vocoder.load_vocoder``; losses read from the
   TensorBoard logs; ``summary.json`` is written even when something failed.

The GPU machine's python3 has torch, lightning, numpy, scipy, pyyaml and tensorboard but neither
soundfile nor soxr (carried as wheels: ``scripts/gpu_wheels.sh``) nor librosa, phonemizer or
g2p-en. The manifests carry phonemes, so the text side is never used. Training does call three
mel-scale functions of librosa (``tts/audio.py`` ``mel_filterbank``: ``librosa.filters.mel``;
``tts/models/source_filter.py`` ``_envelope_matrix``: ``mel_frequencies``, ``hz_to_mel``); where
librosa cannot be imported, this script registers a stand-in module ``librosa`` with exactly those
functions (ported from librosa 0.11, ISC licence; tests/test_gpu_recipe.py checks them against
the real ones) in its own processes, and any other librosa attribute raises. Acoustic validation
would need librosa's Griffin-Lim (``tts/models/griffinlim.py``), so gpu.yaml validates never.

Usage elsewhere: ``python scripts/gpu_train.py --pack gpu_pack --out runs/gpu-test --accelerator
cpu --budget 300`` runs the same on a CPU (slowly); tests/test_gpu_recipe.py runs it end to end
on a tiny pack with the device's missing packages made unimportable.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

MODELS = ("acoustic", "vocoder")
DEFAULTS = {
    "acoustic": ("configs/acoustic/gpu.yaml", "checkpoints/acoustic/multispeaker.pt"),
    "vocoder": ("configs/vocoder/gpu_source_filter.yaml", "checkpoints/vocoder/sourcefilter.pt"),
}
KILL_GRACE_S = 15.0
"""A training still running this long after the training deadline is stopped."""
TERM_WAIT_S = 10.0
LOG_TAIL_BYTES = 2 * 2**20
CURVE_POINTS = 100
TENSORBOARD_MAX_BYTES = 15 * 2**20
"""The device returns files of at most 16 MiB."""


class Failure(Exception):
    """A step of the recipe failed: one line for the log and the summary."""


# -- librosa stand-in ------------------------------------------------------------------------
def librosa_stand_in():
    """A module ``librosa`` holding only what training calls (``filters.mel``,
    ``mel_frequencies``, ``hz_to_mel``, ``mel_to_hz``, ``fft_frequencies``), ported from librosa
    0.11.0 (ISC licence, (c) librosa development team) so that the results are the same numbers;
    every other attribute raises ``AttributeError`` naming the stand-in."""
    import importlib.machinery
    import types
    import warnings

    import numpy as np

    def hz_to_mel(frequencies, *, htk: bool = False):
        frequencies = np.asanyarray(frequencies)
        if htk:
            return 2595.0 * np.log10(1.0 + frequencies / 700.0)
        f_min, f_sp = 0.0, 200.0 / 3
        mels = (frequencies - f_min) / f_sp
        min_log_hz = 1000.0
        min_log_mel = (min_log_hz - f_min) / f_sp
        logstep = np.log(6.4) / 27.0
        if frequencies.ndim:
            log_t = frequencies >= min_log_hz
            mels[log_t] = min_log_mel + np.log(frequencies[log_t] / min_log_hz) / logstep
        elif frequencies >= min_log_hz:
            mels = min_log_mel + np.log(frequencies / min_log_hz) / logstep
        return mels

    def mel_to_hz(mels, *, htk: bool = False):
        mels = np.asanyarray(mels)
        if htk:
            return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
        f_min, f_sp = 0.0, 200.0 / 3
        freqs = f_min + f_sp * mels
        min_log_hz = 1000.0
        min_log_mel = (min_log_hz - f_min) / f_sp
        logstep = np.log(6.4) / 27.0
        if mels.ndim:
            log_t = mels >= min_log_mel
            freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
        elif mels >= min_log_mel:
            freqs = min_log_hz * np.exp(logstep * (mels - min_log_mel))
        return freqs

    def mel_frequencies(n_mels: int = 128, *, fmin: float = 0.0, fmax: float = 11025.0,
                        htk: bool = False):
        min_mel = hz_to_mel(fmin, htk=htk)
        max_mel = hz_to_mel(fmax, htk=htk)
        return mel_to_hz(np.linspace(min_mel, max_mel, n_mels), htk=htk)

    def fft_frequencies(*, sr: float = 22050, n_fft: int = 2048):
        return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)

    def mel(*, sr: float, n_fft: int, n_mels: int = 128, fmin: float = 0.0,
            fmax: float | None = None, htk: bool = False, norm="slaney", dtype=np.float32):
        if norm not in (None, "slaney"):
            raise NotImplementedError("gpu_train.py's librosa stand-in has only norm='slaney' "
                                      "or None")
        if fmax is None:
            fmax = float(sr) / 2
        n_mels = int(n_mels)
        weights = np.zeros((n_mels, int(1 + n_fft // 2)), dtype=dtype)
        fftfreqs = fft_frequencies(sr=sr, n_fft=n_fft)
        mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)
        fdiff = np.diff(mel_f)
        ramps = np.subtract.outer(mel_f, fftfreqs)
        for i in range(n_mels):
            lower = -ramps[i] / fdiff[i]
            upper = ramps[i + 2] / fdiff[i + 1]
            weights[i] = np.maximum(0, np.minimum(lower, upper))
        if norm == "slaney":
            enorm = 2.0 / (mel_f[2: n_mels + 2] - mel_f[:n_mels])
            weights *= enorm[:, np.newaxis]
        if not np.all((mel_f[:-2] == 0) | (weights.max(axis=1) > 0)):
            warnings.warn("Empty filters detected in mel frequency basis.", stacklevel=2)
        return weights

    def missing(name: str):
        raise AttributeError(f"librosa is not installed here: gpu_train.py's stand-in has no "
                             f"{name!r} (only filters.mel, mel_frequencies, hz_to_mel, "
                             "mel_to_hz, fft_frequencies)")

    module = types.ModuleType("librosa", "gpu_train.py's stand-in for librosa (see its docstring)")
    filters = types.ModuleType("librosa.filters")
    for name, value in (("__spec__", importlib.machinery.ModuleSpec("librosa", None,
                                                                    origin=__file__)),
                        ("__getattr__", missing), ("STAND_IN", True), ("filters", filters),
                        ("hz_to_mel", hz_to_mel), ("mel_to_hz", mel_to_hz),
                        ("mel_frequencies", mel_frequencies),
                        ("fft_frequencies", fft_frequencies)):
        setattr(module, name, value)
    filters.__spec__ = importlib.machinery.ModuleSpec("librosa.filters", None, origin=__file__)
    filters.mel = mel
    filters.__getattr__ = missing
    return module


def ensure_librosa() -> str:
    """Make ``import librosa`` work in this process: the real one, else the stand-in. Returns
    which (``"librosa X.Y"`` or ``"stand-in"``)."""
    try:
        import librosa
    except ImportError:
        module = librosa_stand_in()
        sys.modules["librosa"] = module
        sys.modules["librosa.filters"] = module.filters
        return "stand-in"
    return "stand-in" if getattr(librosa, "STAND_IN", False) else (
        f"librosa {getattr(librosa, '__version__', '?')}")


# -- the training process --------------------------------------------------------------------
def child(kind: str, argv: list[str]) -> int:
    """One training (``gpu_train.py _child KIND CLI-ARGS...``): set the GPU up, then run the
    ordinary CLI, ``tts.cli.main(CLI-ARGS)``."""
    import torch

    if torch.cuda.is_available():
        torch.set_float32_matmul_precision("high")  # TF32 matmuls (convolutions already are)
        torch.backends.cudnn.benchmark = kind == "vocoder"  # fixed segment shapes only
    import lightning  # noqa: F401 - before the stand-in, so optional-package probes see the truth

    print(f"gpu_train child {kind}: librosa: {ensure_librosa()}; torch {torch.__version__}; "
          f"PL_TRAINER_MAX_TIME={os.environ.get('PL_TRAINER_MAX_TIME')}", flush=True)
    from tts.cli import main as cli

    return cli(argv)


# -- the recipe ------------------------------------------------------------------------------
class Recipe:
    """One run of the recipe; ``summary`` is what goes to summary.json."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.t0 = time.monotonic()
        self.out = Path(args.out).resolve()
        self.work = Path(args.work).resolve()
        self.pack_dir = Path(args.pack).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.log_path = self.out / "gpu_train.log"
        self.log_path.write_text("", encoding="utf-8")
        self.stop_at = self.t0 + args.budget - args.reserve
        self.models = [m for m in MODELS if m in args.models.split(",")]
        self.summary: dict[str, Any] = {
            "status": "running", "errors": [],
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "budget_s": args.budget, "reserve_s": args.reserve,
            "setup_allowance_s": args.setup_allowance, "wall_s": {},
            "command": sys.argv, "models": self.models,
        }
        self.folders: dict[str, list[Path]] = {}

    # bookkeeping
    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def log(self, message: str) -> None:
        line = f"[{self.elapsed():6.1f} s] {message}"
        print(line, flush=True)
        with self.log_path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def phase(self, name: str, started: float) -> None:
        self.summary["wall_s"][name] = round(time.monotonic() - started, 1)

    def error(self, message: str) -> None:
        self.summary["errors"].append(message)
        self.log(f"ERROR: {message}")

    # 1. preflight
    def preflight(self) -> None:
        started = time.monotonic()
        args = self.args
        env: dict[str, Any] = {"python": sys.version.split()[0], "executable": sys.executable,
                               "cpus": os.cpu_count()}
        import numpy
        import torch

        # No CUDA context here yet: the unpacking processes are forked from this one.
        env.update(torch=torch.__version__, numpy=numpy.__version__,
                   cuda_devices=torch.cuda.device_count() if torch.cuda.is_available() else 0)
        if args.accelerator in ("gpu", "cuda") and not env["cuda_devices"]:
            raise Failure("--accelerator gpu, but torch sees no CUDA device")
        try:
            import soundfile as sf
        except ImportError as exc:
            raise Failure(f"soundfile is missing ({exc}): carry .whl/ (scripts/gpu_wheels.sh) "
                          "and install it first (docs/gpu.md)") from None
        if "OPUS" not in sf.available_subtypes("OGG"):
            raise Failure(f"this soundfile's libsndfile ({sf.__libsndfile_version__}) cannot "
                          "decode Ogg Opus")
        try:
            import soxr
        except ImportError as exc:
            raise Failure(f"soxr is missing ({exc}): carry .whl/ (scripts/gpu_wheels.sh)") \
                from None
        try:
            import lightning  # before the librosa stand-in, as in the trainings
        except ImportError as exc:
            raise Failure(f"lightning is missing ({exc})") from None
        env.update(soundfile=sf.__version__, libsndfile=sf.__libsndfile_version__,
                   soxr=soxr.__version__, lightning=lightning.__version__,
                   librosa=ensure_librosa())
        self.summary["environment"] = env
        self.log("environment: " + ", ".join(f"{k} {v}" for k, v in env.items()))
        pack = self.pack_dir
        if not (pack / "pack.json").is_file():
            raise Failure(f"{pack}/pack.json not found: build the pack with "
                          "scripts/make_gpu_pack.py and carry it")
        self.pack = json.loads((pack / "pack.json").read_text(encoding="utf-8"))
        self.summary["pack"] = {k: self.pack.get(k) for k in (
            "created", "utterances", "hours", "hours_by_tier", "speakers", "bytes", "opus")}
        for model in self.models:
            config, init = self.config(model), self.init(model)
            if not config.is_file():
                raise Failure(f"{model} config not found: {config}")
            if init is not None and not init.is_file():
                raise Failure(f"{model} init checkpoint not found: {init}")
        self.phase("preflight", started)

    def config(self, model: str) -> Path:
        value = getattr(self.args, f"{model}_config")
        return Path(value).resolve() if value else ROOT / DEFAULTS[model][0]

    def init(self, model: str) -> Path | None:
        value = getattr(self.args, f"{model}_init")
        if value == "none":
            return None
        return Path(value).resolve() if value else ROOT / DEFAULTS[model][1]

    # 2. unpack
    def unpack(self) -> None:
        started = time.monotonic()
        pack = self.pack_dir
        marker = self.work / ".gpu_train_work"
        if self.work.exists() and any(self.work.iterdir()):
            if not marker.is_file():
                raise Failure(f"--work {self.work} is not empty and not a gpu_train.py scratch "
                              "folder: give an empty or new folder")
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True, exist_ok=True)
        marker.write_text("scratch folder of scripts/gpu_train.py (emptied by each run)\n")
        data_root, vocoder_root = self.work / "data", self.work / "vocoder"
        corpora = list(self.pack.get("corpora") or sorted(
            p.name for p in pack.iterdir() if (p / "utterances.jsonl.gz").is_file()))
        tasks, plans = [], []
        for corpus in corpora:
            source = pack / corpus
            if not (source / "utterances.jsonl.gz").is_file():
                continue
            with gzip.open(source / "utterances.jsonl.gz", "rt", encoding="utf-8") as f:
                entries = [json.loads(line) for line in f if line.strip()]
            info = json.loads((source / "prepare.json").read_text(encoding="utf-8"))
            target = data_root / corpus
            (target / "wavs").mkdir(parents=True)
            (target / "mels").mkdir()
            for entry in entries:
                row = entry["utterance"]
                tasks.append((str(source / "opus" / f"{row['id']}.opus"),
                              str(target / row["audio_path"]), str(target / row["mel_path"]),
                              int(entry["samples"]), info["audio"]))
            plans.append((corpus, source, info, entries))
        if not tasks:
            raise Failure(f"{pack} holds no utterances")
        frames = self._decode(tasks)
        acoustic, vocoder, counts = [], [], {"acoustic": [0, 0.0], "vocoder": [0, 0.0]}
        for corpus, source, info, entries in plans:
            bad = [e["utterance"]["id"] for e in entries
                   if frames[e["utterance"]["id"]] != e["utterance"].get("num_frames")]
            if bad:
                raise Failure(f"{corpus}: {len(bad)} decoded clip(s) have another frame count "
                              f"than their manifest row, e.g. {bad[0]}")
            target = data_root / corpus
            _write_folder(target, source, info, entries)
            acoustic.append(target)
            counts["acoustic"][0] += len(entries)
            counts["acoustic"][1] += sum(e["utterance"]["duration"] for e in entries)
            voc = [e for e in entries if e["tier"] == "vocoder"]
            if any(e["split"] == "train" for e in voc) and any(e["split"] == "val" for e in voc):
                _write_folder(vocoder_root / corpus, source, info, voc, link_from=target)
                vocoder.append(vocoder_root / corpus)
                counts["vocoder"][0] += len(voc)
                counts["vocoder"][1] += sum(e["utterance"]["duration"] for e in voc)
        self.folders = {"acoustic": acoustic, "vocoder": vocoder}
        self.summary["data"] = {m: {"folders": [p.name for p in self.folders[m]],
                                    "utterances": counts[m][0],
                                    "hours": round(counts[m][1] / 3600, 3)} for m in MODELS}
        self.phase("unpack", started)
        self.log(f"unpacked {len(tasks)} clips into {len(acoustic)} prepared folders "
                 f"({counts['acoustic'][1] / 3600:.2f} h; vocoder: {len(vocoder)} folders, "
                 f"{counts['vocoder'][1] / 3600:.2f} h) in {self.summary['wall_s']['unpack']} s")

    def _decode(self, tasks: list[tuple]) -> dict[str, int]:
        import multiprocessing

        workers = min(max(1, self.args.decode_workers or (os.cpu_count() or 1)), len(tasks))
        if workers == 1:
            return dict(map(_decode_one, tasks))
        with multiprocessing.get_context("fork").Pool(workers, initializer=_one_thread) as pool:
            return dict(pool.imap_unordered(_decode_one, tasks, chunksize=8))

    # 3. train
    def train(self) -> None:
        started = time.monotonic()
        if self.summary["environment"]["cuda_devices"]:
            import torch

            properties = torch.cuda.get_device_properties(0)
            self.summary["environment"].update(
                gpu=properties.name, gpu_memory_gib=round(properties.total_memory / 2**30, 1))
            self.log(f"GPU: {properties.name}, {properties.total_memory / 2**30:.0f} GiB")
        runs: dict[str, dict[str, Any]] = {}
        for model in self.models:
            if not self.folders.get(model):
                self.error(f"{model}: no data for it in the pack")
                continue
            try:
                runs[model] = self._launch(model)
            except Failure as exc:
                self.error(str(exc))
        self._watch(runs)
        self.phase("train", started)

    def _launch(self, model: str) -> dict[str, Any]:
        args = self.args
        run_dir = self.work / "runs" / model
        max_time = self.stop_at - time.monotonic() - args.setup_allowance
        if args.train_seconds is not None:
            max_time = min(max_time, args.train_seconds)
        if max_time < 1:
            raise Failure(f"no time left to train the {model} (budget {args.budget} s)")
        cli = ["train", model, *map(str, self.folders[model]), str(run_dir),
               "-c", str(self.config(model)), "-q", "--accelerator", args.accelerator]
        if self.init(model) is not None:
            cli += ["--init", str(self.init(model))]
        if args.precision:
            cli += ["--precision", args.precision]
        if args.max_steps:
            cli += ["--max-steps", str(args.max_steps)]
        env = dict(os.environ)
        env["PL_TRAINER_MAX_TIME"] = repr({"seconds": round(max_time, 1)})
        if model == "acoustic" and self.summary["environment"]["librosa"] == "stand-in":
            # Lightning validates once more when max_time stops a run, and the acoustic
            # validation's examples need librosa's Griffin-Lim: no validation at all here.
            env["PL_TRAINER_LIMIT_VAL_BATCHES"] = "0"
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        env["PYTHONUNBUFFERED"] = "1"
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 4) // 4)))
        log_path = self.work / "logs" / f"{model}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, str(Path(__file__).resolve()), "_child", model, *cli]
        with log_path.open("w", encoding="utf-8") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                       env=env, start_new_session=True)
        self.log(f"{model}: started (pid {process.pid}, max_time {max_time:.0f} s): "
                 f"voxclone {' '.join(cli)}")
        info = {"config": str(self.config(model).relative_to(ROOT))
                if self.config(model).is_relative_to(ROOT) else str(self.config(model)),
                "init": str(self.init(model)) if self.init(model) else None,
                "max_time_s": round(max_time, 1), "started_at_s": round(self.elapsed(), 1),
                "cli": ["voxclone", *cli]}
        self.summary[model] = info
        return {"process": process, "run_dir": run_dir, "log": log_path, "info": info}

    def _watch(self, runs: dict[str, dict[str, Any]]) -> None:
        kill_at = self.stop_at + KILL_GRACE_S
        terminated_at = None
        while True:
            alive = [r for r in runs.values() if r["process"].poll() is None]
            for model, r in runs.items():
                if r["process"].returncode is not None and "exit_code" not in r["info"]:
                    r["info"]["exit_code"] = r["process"].returncode
                    r["info"]["ended_at_s"] = round(self.elapsed(), 1)
                    _kill_group(r["process"], signal.SIGKILL)  # its loader workers, if any
                    self.log(f"{model}: exited with status {r['process'].returncode}")
            if not alive:
                break
            now = time.monotonic()
            if terminated_at is None and now > kill_at:
                terminated_at = now
                for model, r in runs.items():
                    if r["process"].poll() is None:
                        r["info"]["killed"] = True
                        self.log(f"{model}: still running {KILL_GRACE_S:.0f} s after the "
                                 "training deadline: SIGTERM")
                        _kill_group(r["process"], signal.SIGTERM)
            elif terminated_at is not None and now > terminated_at + TERM_WAIT_S:
                for r in alive:
                    _kill_group(r["process"], signal.SIGKILL)
            time.sleep(0.5)
        self.runs = runs

    # 4. export and report
    def export(self) -> None:
        started = time.monotonic()
        for model, r in getattr(self, "runs", {}).items():
            info = r["info"]
            try:
                info.update(self._export(model, r["run_dir"]))
            except Exception as exc:  # noqa: BLE001 - reported, the other model goes on
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.error(f"{model}: export failed: {reason}")
            info["stopped_by"] = _stopped_by(info)
            try:
                info["losses"] = _scalars(r["run_dir"])
                info["steps_per_s"] = _rate(info["losses"])
                _copy_log(r["log"], self.out / f"{model}.log")
            except Exception as exc:  # noqa: BLE001 - the checkpoints matter more
                self.error(f"{model}: reading its logs failed: {type(exc).__name__}: {exc}")
        try:
            self._tensorboard(getattr(self, "runs", {}))
        except Exception as exc:  # noqa: BLE001
            self.error(f"tensorboard.tar.gz: {type(exc).__name__}: {exc}")
        self.phase("export", started)

    def _export(self, model: str, run_dir: Path) -> dict[str, Any]:
        import torch

        from tts.cli import main as cli
        from tts.training.run import find_resume_checkpoint

        checkpoint = find_resume_checkpoint(run_dir)
        if checkpoint is None:
            raise Failure(f"no readable checkpoint in {run_dir / 'checkpoints'}")
        steps = int(torch.load(checkpoint, map_location="cpu", weights_only=True)
                    .get("global_step", 0))
        target = self.out / f"{model}.pt"
        status = cli(["export", str(checkpoint), str(target)])
        if status != 0 or not target.is_file():
            raise Failure(f"voxclone export {checkpoint} failed (status {status})")
        result = {"checkpoint": checkpoint.name, "steps": steps, "export": target.name,
                  "export_mib": round(target.stat().st_size / 2**20, 2)}
        if model == "acoustic":
            from tts.acoustic import load_acoustic

            loaded = load_acoustic(target)
            result["speakers"] = len(loaded.speakers)
        else:
            from tts.vocoder import load_vocoder

            vocoder, _ = load_vocoder(target)
            result["parameters"] = sum(p.numel() for p in vocoder.parameters())
        result["loads"] = True
        self.log(f"{model}: {checkpoint.name}, {steps} steps -> {target.name} "
                 f"({result['export_mib']} MiB), loads")
        return result

    def _tensorboard(self, runs: dict[str, dict[str, Any]]) -> None:
        target = self.out / "tensorboard.tar.gz"
        folders = [(m, r["run_dir"] / "tensorboard") for m, r in runs.items()
                   if (r["run_dir"] / "tensorboard").is_dir()]
        if not folders:
            return
        with tarfile.open(target, "w:gz") as tar:
            for model, folder in folders:
                tar.add(folder, arcname=f"{model}/tensorboard")
        if target.stat().st_size > TENSORBOARD_MAX_BYTES:
            target.unlink()
            self.log("tensorboard logs over 15 MiB: not returned (summary.json has the "
                     "curves)")

    def finish(self) -> int:
        ok = (not self.summary["errors"]) and all(
            self.summary.get(m, {}).get("loads") for m in self.models)
        self.summary["status"] = "ok" if ok else "failed"
        self.summary["wall_s"]["total"] = round(self.elapsed(), 1)
        (self.out / "summary.json").write_text(json.dumps(self.summary, indent=1) + "\n",
                                               encoding="utf-8")
        for model in self.models:
            info = self.summary.get(model, {})
            losses = info.get("losses", {})
            shown = ", ".join(f"{tag} {v['first'][1]:.3f} -> {v['last_mean']:.3f}"
                              for tag, v in losses.items()
                              if tag in ("train/loss", "train/mel", "train/mel_l1",
                                         "val/mel_l1"))
            self.log(f"{model}: {info.get('steps', 0)} steps "
                     f"({info.get('steps_per_s') or 0:.1f}/s), stopped by "
                     f"{info.get('stopped_by')}; {shown}")
        self.log(f"status {self.summary['status']}; wall {self.summary['wall_s']}; "
                 f"files in {self.out}: {sorted(p.name for p in self.out.iterdir())}")
        return 0 if ok else 1


def _write_folder(target: Path, source: Path, info: dict, entries: list[dict],
                  link_from: Path | None = None) -> None:
    """An ordinary prepared folder of ``entries`` (their manifest rows unchanged); ``link_from``
    is a folder already holding their wavs and mels (hard-linked, copied where links fail)."""
    if link_from is not None:
        for entry in entries:
            for key in ("audio_path", "mel_path"):
                relative = entry["utterance"][key]
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(link_from / relative, target / relative)
                except OSError:
                    shutil.copyfile(link_from / relative, target / relative)
    target.mkdir(parents=True, exist_ok=True)
    rows = {split: [json.dumps(e["utterance"], ensure_ascii=False) for e in entries
                    if split is None or e["split"] == split] for split in (None, "train", "val")}
    for name, split in (("manifest.jsonl", None), ("train.jsonl", "train"), ("val.jsonl", "val")):
        (target / name).write_text("".join(r + "\n" for r in rows[split]), encoding="utf-8")
    for name in ("speakers.json", "pitch.npz", "speaker_embeddings.npz"):
        shutil.copyfile(source / name, target / name)
    marked = dict(info)
    marked["gpu_pack"] = {"utterances": len(entries), "train": len(rows["train"]),
                          "val": len(rows["val"]),
                          "note": "unpacked by scripts/gpu_train.py from Ogg Opus"}
    (target / "prepare.json").write_text(json.dumps(marked, indent=1) + "\n", encoding="utf-8")


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _decode_one(task: tuple) -> tuple[str, int]:
    """Opus -> wav (16-bit) -> the mel of exactly that saved wav, as ``data.prepare`` does."""
    import numpy as np
    import soundfile as sf
    from make_gpu_pack import decode_opus

    from tts.audio import mel_spectrogram, save_audio
    from tts.config import AudioConfig, from_dict

    opus, wav_path, mel_path, samples, audio = task
    config = from_dict(AudioConfig, audio)
    save_audio(wav_path, decode_opus(opus, config.sample_rate, samples), config.sample_rate)
    saved, _ = sf.read(wav_path, dtype="float32")
    mel = mel_spectrogram(saved, config)
    np.save(mel_path, mel.astype(np.float16))
    return Path(wav_path).stem, int(mel.shape[1])


def _kill_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _copy_log(source: Path, target: Path) -> None:
    """Copy a training log, only its last ``LOG_TAIL_BYTES`` if it is longer."""
    with source.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - LOG_TAIL_BYTES))
        target.write_bytes((b"[... cut ...]\n" if size > LOG_TAIL_BYTES else b"") + f.read())


def _scalars(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Per TensorBoard scalar of the run: points, first and last ``[step, value]``, the mean
    of the last 10 points, the wall time of the first and last point, and the curve (at most
    ``CURVE_POINTS`` of its ``[step, value]``, evenly taken)."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return {}
    result: dict[str, dict[str, Any]] = {}
    for folder in sorted({p.parent for p in run_dir.glob("tensorboard/*/events.out.tfevents.*")}):
        accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        accumulator.Reload()
        for tag in accumulator.Tags().get("scalars", []):
            events = accumulator.Scalars(tag)
            if not events:
                continue
            tail = [e.value for e in events[-10:]]
            every = max(1, -(-len(events) // CURVE_POINTS))
            result[tag] = {"points": len(events), "first": [events[0].step, events[0].value],
                           "last": [events[-1].step, events[-1].value],
                           "last_mean": sum(tail) / len(tail),
                           "wall": [events[0].wall_time, events[-1].wall_time],
                           "curve": [[e.step, round(e.value, 5)] for e in events[::every]]}
    return result


def _rate(losses: dict[str, dict[str, Any]]) -> float | None:
    """Training steps per second between the first and the last logged step."""
    for tag in ("train/loss", "train/g_loss", "train/mel_l1"):
        if tag in losses:
            s = losses[tag]
            seconds = s["wall"][1] - s["wall"][0]
            return round((s["last"][0] - s["first"][0]) / seconds, 2) if seconds > 0 else None
    return None


def _stopped_by(info: dict[str, Any]) -> str:
    if info.get("killed"):
        return "deadline kill (newest periodic checkpoint used)"
    if info.get("exit_code") not in (0, None):
        return f"error (exit status {info.get('exit_code')}; see its log)"
    return "time limit or max_steps"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", default="gpu_pack", help="the data pack (make_gpu_pack.py)")
    parser.add_argument("--out", default=os.environ.get("OUT") or "gpu_out",
                        help="where checkpoints, logs and summary.json go (default: $OUT)")
    parser.add_argument("--work", default="/tmp/voxclone-gpu",
                        help="scratch folder: prepared folders and runs (default "
                             "/tmp/voxclone-gpu; emptied first if an earlier run made it)")
    parser.add_argument("--budget", type=float, default=510.0,
                        help="wall seconds from start to the last file written (default 510)")
    parser.add_argument("--reserve", type=float, default=40.0,
                        help="seconds kept after the training deadline for stopping and export")
    parser.add_argument("--setup-allowance", type=float, default=20.0,
                        help="seconds a training takes to reach its first step (taken off its "
                             "max_time, which Lightning counts from there)")
    parser.add_argument("--train-seconds", type=float, default=None,
                        help="train at most this long (default: until the deadline)")
    parser.add_argument("--models", default="acoustic,vocoder")
    for model in MODELS:
        parser.add_argument(f"--{model}-config", default=None,
                            help=f"default {DEFAULTS[model][0]}")
        parser.add_argument(f"--{model}-init", default=None,
                            help=f"default {DEFAULTS[model][1]}; 'none' for random weights")
    parser.add_argument("--accelerator", default="auto", help="gpu, cpu or auto (default)")
    parser.add_argument("--precision", default=None, help="e.g. bf16-mixed (default: configs')")
    parser.add_argument("--max-steps", type=int, default=None, help="override the configs'")
    parser.add_argument("--decode-workers", type=int, default=None,
                        help="unpacking processes (default: one per CPU)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        return child(argv[1], argv[2:])
    recipe = Recipe(parse_args(argv))
    try:
        recipe.log(f"gpu_train: budget {recipe.args.budget:.0f} s, training deadline at "
                   f"{recipe.args.budget - recipe.args.reserve:.0f} s, models {recipe.models}")
        recipe.preflight()
        recipe.unpack()
        recipe.train()
    except Failure as exc:
        recipe.error(str(exc))
    except Exception as exc:  # noqa: BLE001 - summarised; the traceback goes to the log
        recipe.error(f"{type(exc).__name__}: {exc}")
        recipe.log(traceback.format_exc())
    try:
        recipe.export()
    except Exception as exc:  # noqa: BLE001
        recipe.error(f"export: {type(exc).__name__}: {exc}")
    return recipe.finish()


if __name__ == "__main__":
    raise SystemExit(main())
