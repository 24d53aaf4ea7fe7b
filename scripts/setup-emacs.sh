#!/usr/bin/env bash
# Makes sure `emacs` with eglot is there for tests/editors/test_emacs.py: installs Debian's
# emacs-nox and elpa-eglot (Emacs 28.2 + eglot 1.9 on bookworm; about 230 MB) with apt-get when
# they are missing. Idempotent and quiet; as root it calls apt-get directly, otherwise through
# sudo when available. scripts/test.sh does not run it: the Emacs test is skipped without Emacs.
set -euo pipefail

have_eglot() {
    command -v emacs >/dev/null 2>&1 &&
        emacs --batch --eval '(progn (require (quote eglot)) (princ (format "%s" emacs-version)))' >/dev/null 2>&1
}

if have_eglot; then
    echo "Emacs with eglot: $(emacs --version | head -n 1) ($(command -v emacs))"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-emacs: Emacs with eglot is missing and there is no apt-get here; install Emacs 29+ (eglot is built in) yourself" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "setup-emacs: Emacs with eglot is missing and this user cannot run apt-get (not root, no sudo)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
quietly() { "$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }; }
known() { apt-cache show "$1" >/dev/null 2>&1; }
# A fresh container has no package lists; refresh them first then, or when an install fails.
known emacs-nox || quietly "${sudo[@]}" apt-get update -qq
packages=(emacs-nox)
known elpa-eglot && packages+=(elpa-eglot) # Emacs 29+ ships eglot itself
install=("${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}")
if ! "${install[@]}" >"$log" 2>&1; then
    quietly "${sudo[@]}" apt-get update -qq
    quietly "${install[@]}"
fi

if ! have_eglot; then
    echo "setup-emacs: installed ${packages[*]} but (require 'eglot) still fails in emacs --batch" >&2
    exit 1
fi
echo "Emacs with eglot: $(emacs --version | head -n 1) ($(command -v emacs))"
