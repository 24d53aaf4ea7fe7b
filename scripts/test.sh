#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine (Python deps, Debian packages,
# npm packages) and runs every test: the Python suite, the editor and database tests,
# and the VS Code extension's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-python.sh --test
for setup in scripts/setup-postgres.sh scripts/setup-neovim.sh scripts/setup-emacs.sh; do
  if [ -x "$setup" ]; then "$setup"; fi
done
.venv/bin/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile -rs "$@"
if [ -x scripts/test-vscode.sh ] && [ -z "${SKIP_VSCODE:-}" ]; then
  scripts/test-vscode.sh
fi
