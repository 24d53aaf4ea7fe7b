#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine (Python deps, Debian packages,
# npm packages) and runs every test: ruff and mypy, the Python suite (random order, seed
# printed), the editor and database tests, and the VS Code extension's tests.
# Every part runs even when an earlier one failed; the exit status is non-zero if any failed,
# and a summary at the end names which.
# Extra arguments go to pytest (e.g. -p randomly --randomly-seed=1234 to replay an order).
# Env: SKIP_VSCODE=1  skip the VS Code extension's tests.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
run() { # run NAME COMMAND...: run a part, remember a failure, go on
  local name=$1
  shift
  printf '\n=== %s\n' "$name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

setup() {
  scripts/setup-python.sh --test || return 1
  for setup in scripts/setup-postgres.sh scripts/setup-neovim.sh scripts/setup-emacs.sh; do
    if [ -x "$setup" ]; then "$setup" || return 1; fi
  done
}

lint() {
  local status=0
  .venv/bin/ruff check . || status=1
  .venv/bin/ruff format --check . || status=1
  .venv/bin/mypy || status=1 # files and options: [tool.mypy] in pyproject.toml
  return $status
}

run "setup" setup
run "lint (ruff, mypy)" lint
run "pytest" .venv/bin/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile -rs "$@"
if [ -x scripts/test-vscode.sh ] && [ -z "${SKIP_VSCODE:-}" ]; then
  run "vscode" scripts/test-vscode.sh
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf '\n=== FAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf '\n=== all passed\n'
