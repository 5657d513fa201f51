#!/usr/bin/env bash
# LiteLLM's proxy in a virtualenv of its own (.venv-litellm): its pins clash with vLLM's.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv-litellm/bin/litellm ] || { python3 -m venv .venv-litellm && .venv-litellm/bin/pip install -q 'litellm[proxy]' 2>&1 | grep -v '^WARNING: Location' || true; }
.venv-litellm/bin/litellm --version 2>/dev/null || true
