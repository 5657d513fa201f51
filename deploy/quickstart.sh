#!/usr/bin/env bash
# Installs guardgate and starts it on http://127.0.0.1:8080 with the default policy, a SQLite audit log
# (./guardgate-audit.db) and a local vLLM. Offline: without --model it builds a tiny demo model.
# Any argument is passed to `guardgate serve`, e.g. --model /models/Qwen2.5-0.5B-Instruct --port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install.sh
source .venv/bin/activate
args=("$@")
if [[ " ${args[*]-} " != *" --model "* && " ${args[*]-} " != *" --model="* && -z "${GUARDGATE_MODEL:-}" \
      && -z "${GUARDGATE_UPSTREAM:-}" && " ${args[*]-} " != *" --upstream"* ]]; then
  guardgate demo-model models/demo
  args=(--model models/demo --served-model-name tiny --dtype float32 --max-model-len 512 "${args[@]}")
fi
exec guardgate serve "${args[@]}"
