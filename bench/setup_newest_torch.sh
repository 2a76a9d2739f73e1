#!/usr/bin/env bash
# The benchmarks' baseline: the newest PyTorch and torchvision from PyPI, in a virtual
# environment of their own (the golden generators stay on Debian's python3-torch 1.13
# through /usr/bin/python3, so the cases remain reproducible). One-time, ~5 GB (PyPI's
# Linux wheels bring the CUDA libraries; the benchmarks use the CPU).
#
#   bench/setup_newest_torch.sh [VENV]      (default: build/torch-venv)
#
# Then: bench/run_dit_bench.sh / bench/run_cpu_bench.sh pick VENV/bin/python by default.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-$here/../build/torch-venv}
py=${PYTHON:-python3}
if ! "$py" -m venv --help >/dev/null 2>&1; then
  echo "setup_newest_torch.sh: $py has no venv module (apt-get install python3-venv)" >&2
  exit 1
fi
[[ -x $venv/bin/python ]] || "$py" -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q --upgrade torch torchvision
"$venv/bin/python" -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__, "in", torch.__file__)'
