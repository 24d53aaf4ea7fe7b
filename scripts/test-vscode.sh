#!/usr/bin/env bash
# The VS Code extension's tests: npm ci, type check, build, unit tests (node --test), the .vsix
# (with the server's wheels inside), then the end-to-end test in code-server + Chromium against
# the real language server: useBundled on a fresh profile with a project venv that has no server
# (its pip list is checked unchanged), two workspace folders, the live Explain view, Convert to
# Async's notification, fromEnvironment's install offer, and an untrusted folder; the Python
# extension is absent (it cannot be installed offline).
# Installs what is missing first (scripts/setup-vscode.sh). Exit status: non-zero on any failure.
# Screenshots and logs: test-artifacts/vscode/.
#
# Env: ALEMBIC_ENV_E2E_PYTHON  interpreter with the server installed (default .venv/bin/python); it
#                              also builds the bundled wheels and the project venv of the test
#      SKIP_E2E=1              unit tests and packaging only
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
t0=$(date +%s)
step() { printf '\n=== %s (%ss)\n' "$*" "$(( $(date +%s) - t0 ))"; }

step "setup (apt chromium, code-server; fast when installed)"
SKIP_NPM_CI=1 bash scripts/setup-vscode.sh

step "npm ci"
npm ci --no-audit --no-fund --ignore-scripts

step "type check (all of client/) and unit tests"
npm test

step "package (.vsix)"
ALEMBIC_ENV_BUNDLE_PYTHON="${ALEMBIC_ENV_E2E_PYTHON:-$ROOT/.venv/bin/python}" npm run package
ls -l dist/alembic-env-lsp.vsix

if [ "${SKIP_E2E:-}" = 1 ]; then
  step "end-to-end skipped (SKIP_E2E=1)"
  exit 0
fi

step "end-to-end in code-server (VS Code 1.100.3) + Chromium"
PY="${ALEMBIC_ENV_E2E_PYTHON:-$ROOT/.venv/bin/python}"
if ! "$PY" -c 'import alembic_env_lsp.lsp.server' 2>/dev/null; then
  echo "error: $PY cannot import alembic_env_lsp.lsp.server: the end-to-end test drives the real language server (scripts/setup-python.sh installs it into .venv)" >&2
  exit 1
fi
npm run e2e
step "done"
