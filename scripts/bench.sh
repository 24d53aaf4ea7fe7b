#!/usr/bin/env bash
# The benchmark suite (BENCHMARKS.md): the language server over stdio and the CLI, against the
# pygls + libcst floor measured in the same run. Takes ~5-10 minutes; `--quick` for a smoke run.
# Usage: scripts/bench.sh [--quick] [--update-doc] [--only GROUP,...]   (see bench/run.py --help)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-python.sh
exec .venv/bin/python bench/run.py "$@"
