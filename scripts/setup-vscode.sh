#!/usr/bin/env bash
# Installs everything the VS Code extension's build and end-to-end test need, from the
# Debian and npm registries only (no other network):
#   * Debian: chromium (driven by playwright-core), ripgrep, and the build tools
#     code-server's native modules compile with;
#   * npm: the extension's own dependencies (npm ci at the repository root);
#   * code-server 4.100.3 (the last release that runs on Node 20; it ships VS Code 1.100.3)
#     into a cache folder outside the checkout, so fresh clones on the same machine reuse it.
# Idempotent; when everything is present it only checks and returns (a few seconds).
#
# Env: CODE_SERVER_DIR  where code-server is installed
#                       (default ${XDG_CACHE_HOME:-$HOME/.cache}/alembic-env-lsp/code-server-4.100.3)
#      SKIP_NPM_CI=1    do not run npm ci at the root (scripts/test-vscode.sh runs it itself)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CODE_SERVER_VERSION=4.100.3
# @vscode/ripgrep version pinned by code-server 4.100.3's lock file, and the asset it looks for.
RIPGREP_PKG_VERSION=1.15.11
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
CODE_SERVER_DIR="${CODE_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/alembic-env-lsp/code-server-$CODE_SERVER_VERSION}"

log() { printf '[setup-vscode %(%H:%M:%S)T] %s\n' -1 "$*"; }

# --- 1. Debian packages --------------------------------------------------------------
APT_PACKAGES=(chromium ripgrep build-essential pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev curl)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
else
  log "Debian packages present"
fi

# --- 2. the extension's npm dependencies ---------------------------------------------
if [ "${SKIP_NPM_CI:-}" != 1 ]; then
  # npm writes node_modules/.package-lock.json on every install; newer than the lock file
  # and package.json means node_modules matches them.
  hidden="$ROOT/node_modules/.package-lock.json"
  if [ -f "$hidden" ] && [ "$hidden" -nt "$ROOT/package-lock.json" ] && [ "$hidden" -nt "$ROOT/package.json" ]; then
    log "node_modules up to date"
  else
    log "npm ci (root)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --ignore-scripts)
  fi
fi

# --- 3. code-server ------------------------------------------------------------------
CS_BIN="$CODE_SERVER_DIR/node_modules/.bin/code-server"
if [ -x "$CS_BIN" ] && "$CS_BIN" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION "; then
  log "code-server $CODE_SERVER_VERSION present in $CODE_SERVER_DIR"
else
  log "installing code-server $CODE_SERVER_VERSION into $CODE_SERVER_DIR (takes about a minute)"
  # Workaround: @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache has
  # the asset; seed that cache with Debian's rg (same 13.x line).
  rg_cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION"
  mkdir -p "$rg_cache"
  [ -f "$rg_cache/$RIPGREP_ASSET" ] || tar czf "$rg_cache/$RIPGREP_ASSET" -C "$(dirname "$(command -v rg)")" rg
  rm -rf "$CODE_SERVER_DIR"
  mkdir -p "$CODE_SERVER_DIR"
  printf '{ "name": "alembic-env-lsp-code-server", "private": true }\n' > "$CODE_SERVER_DIR/package.json"
  # Workarounds: code-server's postinstall refuses to run as root unless npm_config_unsafe_perm
  # is set (npm 11 dropped the option, the script still checks the variable); node-pty's
  # postinstall runs `npx node-gyp`, which needs npm_config_yes when ~/.npmrc says yes=false.
  # argon2 and kerberos try GitHub prebuilds, fail, and compile (hence the apt build deps).
  (cd "$CODE_SERVER_DIR" && npm_config_unsafe_perm=true npm_config_yes=true \
    npm install --no-audit --no-fund --foreground-scripts "code-server@$CODE_SERVER_VERSION" \
    > "$CODE_SERVER_DIR/install.log" 2>&1) || { tail -40 "$CODE_SERVER_DIR/install.log"; exit 1; }
  # `--version` writes ~/.config/code-server/config.yaml on first use; harmless, our runs pass --config.
  "$CS_BIN" --version | head -1
fi
log "done"
