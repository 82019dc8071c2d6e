"""Published GE2E weights: Resemblyzer's ``pretrained.pt`` in voxclone's ``SpeakerEncoder``.

The PyPI package ``resemblyzer`` (Apache-2.0, by Resemble AI / Corentin Jemine) ships a GE2E
encoder trained on thousands of speakers (LibriSpeech train-other, VoxCeleb 1 and 2): a 3-layer
LSTM of 256 units over 40 power-mel bands at 16 kHz, a 256x256 projection and a ReLU. The file is
found without importing the package (its import needs ``webrtcvad``, a C extension, and
``setuptools<81``); the Makefile installs it with ``--no-deps``, which is all this module needs.

Run ``python -m cloning.pretrained OUT.pt`` to convert it once into a voxclone checkpoint.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path

import torch

from cloning.encoder import ENCODER_AUDIO, SpeakerEncoder, SpeakerEncoderConfig, encoder_checkpoint
from tts import checkpoint
from tts.errors import CheckpointError, VoxcloneError

PACKAGE = "resemblyzer"
LICENSE = "Apache-2.0"

RESEMBLYZER_CONFIG = SpeakerEncoderConfig(hidden_size=256, num_layers=3, embedding_size=256,
                                          partial_frames=160, log_mel=False, target_dbfs=-30.0,
                                          partials_per_second=1.3, min_coverage=0.75)
"""Resemblyzer's hparams.py and ``embed_utterance`` defaults, as a ``SpeakerEncoderConfig``."""


def find_weights() -> Path:
    """Path of the installed ``resemblyzer/pretrained.pt``, found without importing the package.

    Raises ``VoxcloneError`` (one line, with the install command) when it is not installed.
    """
    try:
        spec = importlib.util.find_spec(PACKAGE)  # a top-level spec: nothing is executed
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    try:
        dist = importlib.metadata.distribution(PACKAGE)
        folders.append(str(Path(dist.locate_file(PACKAGE))))
    except importlib.metadata.PackageNotFoundError:
        pass
    for folder in folders:
        path = Path(folder) / "pretrained.pt"
        if path.is_file():
            return path
    raise VoxcloneError("the published GE2E weights need the 'resemblyzer' package: run "
                        "'.venv/bin/pip install --no-deps resemblyzer==0.1.4'")


def resemblyzer_state(path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The raw ``model_state`` of Resemblyzer's checkpoint (``weights_only`` load)."""
    path = Path(path) if path is not None else find_weights()
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        state = payload["model_state"]
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
        raise CheckpointError(f"cannot read Resemblyzer weights {path} "
                              f"({str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: no 'model_state' dict")
    return state


def map_state(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Split Resemblyzer's ``model_state`` into ``(encoder_state, ge2e_state)``.

    Its ``lstm.*`` and ``linear.*`` tensors have the same names and layouts as
    ``SpeakerEncoder``'s; ``similarity_weight`` / ``similarity_bias`` are GE2E's ``w`` and ``b``
    (``cloning.ge2e.GE2ELoss`` parameters ``weight`` / ``bias``).
    """
    encoder = {k: v.float() for k, v in state.items() if k.startswith(("lstm.", "linear."))}
    ge2e = {}
    if "similarity_weight" in state:
        ge2e = {"weight": state["similarity_weight"].float().reshape(()),
                "bias": state["similarity_bias"].float().reshape(())}
    return encoder, ge2e


def load_resemblyzer(path: str | Path | None = None) -> SpeakerEncoder:
    """Resemblyzer's weights in a ``SpeakerEncoder`` (eval mode), strictly mapped."""
    encoder_state, _ = map_state(resemblyzer_state(path))
    model = SpeakerEncoder(RESEMBLYZER_CONFIG, ENCODER_AUDIO)
    try:
        model.load_state_dict(encoder_state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"Resemblyzer weights do not fit SpeakerEncoder "
                              f"({str(exc).splitlines()[0][:160]})") from None
    return model.eval()


def convert(out: str | Path, half: bool = True) -> Path:
    """Write Resemblyzer's weights as a voxclone encoder checkpoint (fp16 by default)."""
    path = find_weights()
    version = importlib.metadata.version(PACKAGE)
    model = load_resemblyzer(path)
    _, ge2e = map_state(resemblyzer_state(path))
    meta = {"source": f"PyPI {PACKAGE}=={version} ({path.name})", "license": LICENSE,
            "origin": "Resemble AI, github.com/resemble-ai/Resemblyzer",
            "ge2e": {k: float(v) for k, v in ge2e.items()}}
    return checkpoint.save(out, encoder_checkpoint(model, meta), half=half)


def main(argv: list[str] | None = None) -> int:
    from tts.errors import run_reporting

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m cloning.pretrained OUT.pt", file=sys.stderr)
        return 2

    def action() -> int:
        print(f"wrote {convert(argv[0])}")
        return 0

    return run_reporting("cloning.pretrained", action)


if __name__ == "__main__":
    raise SystemExit(main())
