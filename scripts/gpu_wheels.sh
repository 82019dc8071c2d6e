#!/usr/bin/env bash
# Download the wheels that the GPU recipe (scripts/gpu_train.py, docs/gpu.md) carries to the device
# machine into .whl/ (ignored by .gitignore; the device call names it in `carry`).
#
# The device's python3 (3.12, x86-64) has torch, lightning, numpy, scipy, pyyaml and tensorboard but
# not soundfile or soxr, which tts.audio imports: soundfile (with its own libsndfile, which decodes
# Ogg Opus), its binary dependency cffi (_cffi_backend), and soxr. Nothing else is needed: the
# manifests carry phonemes (no phonemizer/g2p-en), and gpu_train.py stands in for the three
# mel-scale functions of librosa that training uses (see its docstring). The versions are the ones
# of this project's .venv. Usage (from anywhere):  scripts/gpu_wheels.sh   [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-python3}"
WHEELS=(soundfile==0.14.0 cffi==2.1.1 soxr==1.1.0)
rm -rf .whl
mkdir -p .whl
for wheel in "${WHEELS[@]}"; do
  "$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d .whl "$wheel"
done
ls -l .whl
du -cb .whl/*.whl | tail -1
