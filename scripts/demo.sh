#!/usr/bin/env bash
# The main job: set up, then check the bundled example (an app that moved to asyncio and
# left its env.py behind), show what the safe fixes would change, and explain one rule.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-python.sh
bin=.venv/bin/alembic-env-lsp
echo "== alembic-env-lsp check examples/broken-async"
status=0
"$bin" check examples/broken-async || status=$?
if [ "$status" -ne 1 ]; then
  echo "expected findings (exit 1), got exit $status" >&2
  exit 1
fi
echo
echo "== alembic-env-lsp check --diff examples/broken-async   (the safe fixes, not written)"
"$bin" check --diff examples/broken-async
echo
echo "== alembic-env-lsp explain ENV001"
"$bin" explain ENV001
