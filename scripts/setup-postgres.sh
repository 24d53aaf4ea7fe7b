#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server binaries (initdb, pg_ctl, postgres) are installed, for
# tests/databases. Idempotent: does nothing when they are already there. The tests start their
# own throwaway cluster on 127.0.0.1; the distribution's default cluster is not used.
set -euo pipefail

have_server() {
    for bin in /usr/lib/postgresql/*/bin; do
        [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && [ -x "$bin/postgres" ] && { echo "$bin"; return 0; }
    done
    return 1
}

if bin=$(have_server); then
    echo "PostgreSQL server binaries: $bin"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "setup-postgres: PostgreSQL is not installed and this user cannot run apt-get (no sudo)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null

if bin=$(have_server); then
    echo "PostgreSQL server binaries: $bin"
else
    echo "setup-postgres: installed the postgresql package but found no server binaries under /usr/lib/postgresql" >&2
    exit 1
fi
