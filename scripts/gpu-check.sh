#!/usr/bin/env bash
# The GPU check of the PyTorch target, for a machine with a GPU: needs only python3 with torch and
# numpy, no Node. Trains a few steps of the canonical U-Net (specs/unet.yaml, as
# `unetc compile --target pytorch` generates it: scripts/gpu-check/model.py) on CUDA in fp32 and
# with autocast, checks the GPU's forward pass against the CPU's, and prints step times.
# Without CUDA it says so and exits 0. Options: see `scripts/gpu-check.sh --help`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${UNETC_PYTHON:-python3}"
if ! "$python" -c 'import torch, numpy' 2> /dev/null; then
  echo "gpu-check: $python cannot import torch and numpy; install PyTorch, or set UNETC_PYTHON to a python that has it" >&2
  exit 1
fi
exec "$python" "$here/gpu_check.py" "$@"
