#!/usr/bin/env bash
# Makes sure `nvim` is there for tests/editors/test_nvim.py: installs Debian's neovim package
# (0.7.2 on bookworm) with apt-get when it is missing. Idempotent and quiet; as root it calls
# apt-get directly, otherwise through sudo when available.
set -euo pipefail

if command -v nvim >/dev/null 2>&1; then
    echo "Neovim: $(nvim --version | head -n 1) ($(command -v nvim))"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-neovim: nvim is missing and there is no apt-get here; install Neovim 0.7 or later yourself" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "setup-neovim: nvim is missing and this user cannot run apt-get (not root, no sudo)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
quietly() { "$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }; }
install=("${sudo[@]}" apt-get install -y -qq --no-install-recommends neovim)
# Try the package lists already on the machine first; refresh them only when that fails
# (a fresh container has none).
if ! "${install[@]}" >"$log" 2>&1; then
    quietly "${sudo[@]}" apt-get update -qq
    quietly "${install[@]}"
fi

if ! command -v nvim >/dev/null 2>&1; then
    echo "setup-neovim: installed the neovim package but nvim is still not on PATH" >&2
    exit 1
fi
echo "Neovim: $(nvim --version | head -n 1) ($(command -v nvim))"
