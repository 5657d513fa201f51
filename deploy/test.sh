#!/usr/bin/env bash
# Installs guardgate with its test extras and runs the whole test suite against real services:
# the vLLM CPU engine (started by the tests), PostgreSQL on 127.0.0.1:5432 and SQLite.
# Extra arguments go to pytest, e.g. deploy/test.sh -k audit -x
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install.sh
source .venv/bin/activate
python - <<'PY'
import socket, sys
for name, port in [("PostgreSQL", 5432)]:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
    except OSError:
        sys.exit(f"{name} is not reachable on 127.0.0.1:{port}: start it (trust auth, database 'test') and retry")
PY
exec python -m pytest -p no:cacheprovider "$@"
