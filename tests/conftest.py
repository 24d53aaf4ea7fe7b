import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))


@pytest.fixture(autouse=True, scope="session")
def _driver_cache_dir(tmp_path_factory):
    # Tests must not depend on (or write to) the user's cache.
    if "ALEMBIC_ENV_LSP_CACHE_DIR" not in os.environ:
        os.environ["ALEMBIC_ENV_LSP_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield


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
def _no_network_and_no_user_code_in_subprocesses(tmp_path_factory):
    """Every Python subprocess of the suite runs with the socket guard (sitecustomize on
    PYTHONPATH); at the end no process of the tool used the network, and no canary env.py
    (tests/fixtures/robustness/canary) was ever imported."""
    guard = _socket_guard_module()
    base = tmp_path_factory.mktemp("guards")
    log, canary = base / "sockets.jsonl", base / "canary-ran"
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", guard.LOG_ENV, CANARY_ENV)}
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_GUARD_DIR), saved["PYTHONPATH"]) if p
    )
    os.environ[guard.LOG_ENV] = str(log)
    os.environ[CANARY_ENV] = str(canary)
    CANARY_FALLBACK.unlink(missing_ok=True)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    violations = guard.read_log(log)
    assert not violations, "the tool used the network in a subprocess:\n" + "\n".join(
        f"{v['what']} {v['address']} by {' '.join(v['argv'])} during {v['test']}\n{v['stack']}"
        for v in violations
    )
    for marker in (canary, CANARY_FALLBACK):
        assert not marker.exists(), f"user code ran: {marker.read_text(errors='replace')}"


@pytest.fixture(autouse=True)
def _no_network_in_process():
    """In the test process, any connection made with alembic_env_lsp on the stack is refused
    and fails the test; the tests' own connections (e.g. to a test database) are untouched."""
    guard = _socket_guard_module()
    guard.install(whole_process=False)
    before = len(guard.violations)
    yield
    new = guard.violations[before:]
    assert not new, "alembic_env_lsp used the network:\n" + "\n".join(
        f"{v['what']} {v['address']}\n{v['stack']}" for v in new
    )
