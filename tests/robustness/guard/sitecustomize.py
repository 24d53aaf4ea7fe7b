"""Installs the socket guard in Python subprocesses started by the tests (see socket_guard.py)."""

import os

if os.environ.get("ALEMBIC_ENV_LSP_SOCKET_LOG"):
    try:
        import socket_guard

        socket_guard.install(whole_process=True)
        proof = os.environ.get("ALEMBIC_ENV_LSP_SOCKET_GUARD_PROOF")
        if proof:  # lets a test check that a given process really runs under the guard
            with open(proof, "a", encoding="utf-8") as handle:
                handle.write(f"{os.getpid()}\n")
    except Exception:  # a guard must never be the reason a process fails
        pass
