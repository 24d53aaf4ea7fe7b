"""A socket guard: the tool (CLI, engine, language server) must never reach the network.

Installed in-process by tests/conftest.py, and in every Python subprocess the tests start
through sitecustomize.py (on PYTHONPATH, active when ALEMBIC_ENV_LSP_SOCKET_LOG is set).

An outgoing connection, datagram or name lookup counts as a violation when it is made by
the tool: from a process whose main program is alembic_env_lsp (`python -m` or the console
script), or with a module of alembic_env_lsp on the call stack. A violation is refused (OSError) and logged as one JSON line. Listening and
accepting (the server's own --tcp channel), pipes and socketpairs are not affected, nor
are other processes (e.g. `alembic upgrade` against a test database).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import traceback

PACKAGE = "alembic_env_lsp"
LOG_ENV = "ALEMBIC_ENV_LSP_SOCKET_LOG"
_installed: dict = {}
violations: list[dict] = []


class NetworkBlocked(OSError):
    pass


def _is_ours(module_name: object) -> bool:
    return isinstance(module_name, str) and (
        module_name == PACKAGE or module_name.startswith(PACKAGE + ".")
    )


def _process_is_ours() -> bool:
    """The process runs the tool: `python -m alembic_env_lsp ...`, or an entry-point script
    (the `alembic-env-lsp` console script imports the package's `main` into __main__).
    Decided by the code that runs, never by text in argv or paths: a checkout or virtualenv
    in a folder named alembic-env-lsp runs other programs too (alembic, psql clients)."""
    main = sys.modules.get("__main__")
    if main is None:
        return False
    spec = getattr(main, "__spec__", None)
    if spec is not None and _is_ours(spec.name):
        return True
    for value in list(vars(main).values()):
        if callable(value) and _is_ours(getattr(value, "__module__", None)):
            return True
    return False


def _stack_is_ours() -> bool:
    """A frame of a module of the package is on the call stack (by module name, not file path)."""
    frame = sys._getframe(2)
    while frame is not None:
        if _is_ours(frame.f_globals.get("__name__")):
            return True
        frame = frame.f_back
    return False


def _is_network(family) -> bool:
    return family in (socket.AF_INET, socket.AF_INET6)


def _check(what: str, address, family=None) -> None:
    if family is not None and not _is_network(family):
        return
    whole_process = _installed.get("whole_process", False)
    if not (whole_process and _process_is_ours()) and not _stack_is_ours():
        return
    entry = {
        "pid": os.getpid(),
        "argv": list(getattr(sys, "orig_argv", None) or sys.argv),
        "what": what,
        "address": repr(address),
        "test": os.environ.get("PYTEST_CURRENT_TEST"),
        "stack": "".join(traceback.format_stack(limit=12)[:-2]),
    }
    violations.append(entry)
    log = os.environ.get(LOG_ENV) if whole_process else None  # in-process: the test fixture reports
    if log:
        try:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")
        except OSError:
            pass
    raise NetworkBlocked(
        f"socket guard: {what} {address!r} refused (alembic-env-lsp must not use the network)"
    )


def install(*, whole_process: bool) -> None:
    """Patch socket; `whole_process`: every connection of a process running the tool counts."""
    if _installed:
        return
    _installed["whole_process"] = whole_process
    cls = socket.socket
    originals = {
        "connect": cls.connect,
        "connect_ex": cls.connect_ex,
        "sendto": cls.sendto,
        "getaddrinfo": socket.getaddrinfo,
        "gethostbyname": socket.gethostbyname,
    }
    _installed["originals"] = originals

    def connect(self, address):
        _check("connect", address, self.family)
        return originals["connect"](self, address)

    def connect_ex(self, address):
        _check("connect", address, self.family)
        return originals["connect_ex"](self, address)

    def sendto(self, data, *args):
        _check("sendto", args[-1] if args else None, self.family)
        return originals["sendto"](self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if host not in (None, "", "localhost", "127.0.0.1", "::1"):
            _check("getaddrinfo", host)
        return originals["getaddrinfo"](host, *args, **kwargs)

    def gethostbyname(host):
        _check("gethostbyname", host)
        return originals["gethostbyname"](host)

    cls.connect, cls.connect_ex, cls.sendto = connect, connect_ex, sendto
    socket.getaddrinfo, socket.gethostbyname = getaddrinfo, gethostbyname


def uninstall() -> None:
    originals = _installed.pop("originals", None)
    _installed.clear()
    if originals is None:
        return
    cls = socket.socket
    cls.connect, cls.connect_ex, cls.sendto = (
        originals["connect"],
        originals["connect_ex"],
        originals["sendto"],
    )
    socket.getaddrinfo, socket.gethostbyname = originals["getaddrinfo"], originals["gethostbyname"]


def read_log(path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []
