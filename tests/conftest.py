import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _driver_cache_dir(tmp_path_factory):
    """Tests neither read nor write the user's cache (drivers.py caches SQLAlchemy's verdicts)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALEMBIC_ENV_LSP_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(autouse=True)
def _no_state_leaks():
    """A test leaves the environment variables and the working directory as it found them
    (monkeypatch's undo runs before this check). A leak fails the test that made it, and is
    undone so later tests do not depend on the order they run in."""
    pytest_owned = "PYTEST_CURRENT_TEST"
    environ, cwd = dict(os.environ), os.getcwd()
    yield
    leaked = {
        key: (environ.get(key), os.environ.get(key))
        for key in set(environ) | set(os.environ)
        if key != pytest_owned and environ.get(key) != os.environ.get(key)
    }
    moved = os.getcwd() != cwd
    for key in leaked:
        if environ.get(key) is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = environ[key]
    os.chdir(cwd)
    assert not leaked, f"environment variables changed by the test (before, after): {leaked}"
    assert not moved, "the test changed the working directory"


# ---- no network, no user code run (tests/robustness/guard/socket_guard.py) -------------

_GUARD_DIR = ROOT / "tests" / "robustness" / "guard"
CANARY_ENV = "ALEMBIC_ENV_LSP_CANARY"
# Where a canary writes when the variable is missing (a process started with a clean env).
CANARY_FALLBACK = Path(__import__("tempfile").gettempdir()) / "alembic-env-lsp-canary-ran"


def _socket_guard_module():
    import importlib.util

    module = sys.modules.get("socket_guard")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            "socket_guard", _GUARD_DIR / "socket_guard.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["socket_guard"] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True, scope="session")
def _guarded_subprocesses(tmp_path_factory):
    """Every Python subprocess of the suite runs with the socket guard (sitecustomize on
    PYTHONPATH), logging to one file per test process. _no_network_and_no_user_code checks it
    after each test, so a violation fails the test that caused it; what happens after the last
    test (a module fixture's teardown) is checked here."""
    guard = _socket_guard_module()
    base = tmp_path_factory.mktemp("guards")
    state = _GuardState(base / "sockets.jsonl", base / "canary-ran")
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", guard.LOG_ENV, CANARY_ENV)}
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_GUARD_DIR), saved["PYTHONPATH"]) if p
    )
    os.environ[guard.LOG_ENV] = str(state.log)
    os.environ[CANARY_ENV] = str(state.canary)
    CANARY_FALLBACK.unlink(missing_ok=True)
    yield state
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    problems = state.new_problems(guard)
    assert not problems, "after the last test:\n" + "\n".join(problems)


class _GuardState:
    def __init__(self, log: Path, canary: Path):
        self.log, self.canary, self.seen = log, canary, 0

    def new_problems(self, guard) -> list[str]:
        """Subprocess violations and canary imports since the previous call."""
        logged = guard.read_log(self.log)
        problems = [
            f"the tool used the network in a subprocess: {v['what']} {v['address']} by "
            f"{' '.join(v['argv'])} (started during {v['test']})\n{v['stack']}"
            for v in logged[self.seen :]
        ]
        self.seen = len(logged)
        for marker in (self.canary, CANARY_FALLBACK):
            if marker.exists():
                problems.append(f"user code ran: {marker.read_text(errors='replace')}")
                marker.unlink(missing_ok=True)  # reported once
        return problems


@pytest.fixture(autouse=True)
def _no_network_and_no_user_code(_guarded_subprocesses):
    """In the test process, any connection made with alembic_env_lsp on the stack is refused
    and fails the test; the tests' own connections (e.g. to a test database) are untouched.
    Subprocess violations and canary imports found after the test fail that test."""
    guard = _socket_guard_module()
    guard.install(whole_process=False)
    before = len(guard.violations)
    yield
    problems = [
        f"alembic_env_lsp used the network: {v['what']} {v['address']}\n{v['stack']}"
        for v in guard.violations[before:]
    ]
    problems += _guarded_subprocesses.new_problems(guard)
    assert not problems, "\n".join(problems)
