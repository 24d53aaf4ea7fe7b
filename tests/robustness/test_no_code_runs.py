"""No code runs, no network: the engine, the rewrites and every CLI command read the canary
project (tests/fixtures/robustness/canary) without importing any of it. The marker a canary
import would write is checked once for the whole suite (tests/conftest.py)."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.text import apply_edits
from support.robustness import ROBUST_FIXTURES, rewrite_functions

CANARY = ROBUST_FIXTURES / "canary"
CANARY_ENV = CANARY / "migrations" / "env.py"
CONSOLE_SCRIPT = Path(sys.executable).with_name("alembic-env-lsp")


def _guard():
    return sys.modules["socket_guard"]


def test_the_canary_is_armed(tmp_path):
    """Importing a canary module does write the marker (else the suite-wide check proves nothing)."""
    marker = tmp_path / "ran"
    for module in ("canary_app.models", "canary_settings"):
        env = {
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "1",
            "ALEMBIC_ENV_LSP_CANARY": str(marker),
            "PYTHONPATH": f"{CANARY}{os.pathsep}{CANARY / 'migrations'}",
        }
        subprocess.run(
            [sys.executable, "-c", f"import {module}"], env=env, check=True, cwd=tmp_path
        )
        assert marker.read_text().count("was imported") >= 1
        marker.unlink()
    env = {**os.environ, "ALEMBIC_ENV_LSP_CANARY": str(marker)}
    subprocess.run([sys.executable, str(CANARY_ENV)], env=env, cwd=tmp_path, capture_output=True)
    assert "env.py was imported" in marker.read_text()


def test_engine_fixes_hovers_explain_and_rewrites_read_the_canary_without_running_it():
    text = CANARY_ENV.read_text(encoding="utf-8")
    project = ProjectIndex().context_for(CANARY_ENV)
    analysis = analyze(text, str(CANARY_ENV), project=project)
    assert not analysis.internal_errors
    assert {"ENV001", "ENV050"} <= {f.code for f in analysis.findings}
    for finding in analysis.findings:
        for fix in finding.fixes:
            apply_edits(text, [e for e in fix.edits if e.path in (None, str(CANARY_ENV))])
    from alembic_env_lsp import explain, hovers
    from alembic_env_lsp.text import Position

    explain.summary(analysis)
    explain.explain_markdown(analysis)
    for line in range(analysis.source.line_count):
        for character in range(0, len(analysis.source.line(line)) + 1, 3):
            hovers.hover_at(analysis, Position(line, character))
    for function in rewrite_functions().values():
        function(text)


def _cli(*args, cwd, console=False):
    command = [str(CONSOLE_SCRIPT)] if console else [sys.executable, "-m", "alembic_env_lsp"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("console", [False, True], ids=["python -m", "console script"])
def test_every_cli_command_reads_the_canary_without_running_it(tmp_path, console):
    project = tmp_path / "canary"
    shutil.copytree(CANARY, project)
    env = project / "migrations" / "env.py"
    # Read-only commands on the checked-in canary, from a neutral folder and from the project.
    for cwd in (tmp_path, CANARY):
        for args in (
            ["check", str(CANARY)],
            ["check", "--format", "json", str(CANARY)],
            ["check", "--format", "sarif", str(CANARY)],
            ["check", "--format", "github", str(CANARY)],
            ["check", "--diff", str(CANARY)],
            ["fix", "--async", "--diff", str(CANARY_ENV)],
            ["fix", "--sync", "--diff", str(CANARY_ENV)],
            ["explain", str(CANARY_ENV)],
            ["explain", "ENV001"],
        ):
            result = _cli(*args, cwd=cwd, console=console)
            assert result.returncode in (0, 1), (args, result.stderr)
            assert "Traceback" not in result.stderr
    # Commands that write, on a copy (run from inside it, like a user would).
    for args in (
        ["check", "--fix", "."],
        ["fix", "--sync", str(env)],
        ["fix", "--async", str(env)],
        ["fix", "."],
    ):
        result = _cli(*args, cwd=project, console=console)
        assert result.returncode in (0, 1), (args, result.stderr)
    assert env.read_text(encoding="utf-8") != CANARY_ENV.read_text(
        encoding="utf-8"
    )  # the fixes did run


def test_the_socket_guard_refuses_and_reports_the_tools_connections():
    guard = _guard()
    code = compile(
        "import socket\nsocket.create_connection(('192.0.2.1', 9), timeout=0.01)\n",
        os.path.join(os.sep, "site-packages", "alembic_env_lsp", "pretend.py"),
        "exec",
    )
    before = len(guard.violations)
    with pytest.raises(guard.NetworkBlocked):
        exec(code, {"__name__": "alembic_env_lsp.pretend"})  # a frame of the package
    caught = guard.violations[before:]
    del guard.violations[before:]  # expected here; the autouse check must not fail this test
    assert [v["what"] for v in caught] in (["getaddrinfo"], ["connect"])


def test_the_socket_guard_is_active_in_the_tools_subprocesses(tmp_path):
    log, proof = tmp_path / "sockets.jsonl", tmp_path / "proof"
    env = {
        **os.environ,
        "ALEMBIC_ENV_LSP_SOCKET_LOG": str(log),
        "ALEMBIC_ENV_LSP_SOCKET_GUARD_PROOF": str(proof),
    }
    # The main program holds the tool's entry point (as the console script does), so every
    # connection of this process counts, even one made outside the package's code.
    script = (
        "import socket\nfrom alembic_env_lsp.cli import main\n"
        "try:\n    socket.socket().connect(('192.0.2.1', 9))\n"
        "except OSError as e:\n    print(type(e).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.stdout.strip() == "NetworkBlocked"
    [violation] = _guard().read_log(log)
    assert violation["what"] == "connect" and "192.0.2.1" in violation["address"]
    # and the real CLI runs under it
    subprocess.run(
        [sys.executable, "-m", "alembic_env_lsp", "rules"], env=env, capture_output=True, check=True
    )
    assert len(proof.read_text().split()) == 2


def test_the_socket_guard_ignores_other_programs_in_a_folder_named_like_the_tool(tmp_path):
    """A clone in a folder named alembic-env-lsp runs other programs (alembic upgrade against a
    test database): text in argv or paths does not make a process the tool's."""
    log, proof = tmp_path / "sockets.jsonl", tmp_path / "proof"
    folder = tmp_path / "alembic-env-lsp" / "alembic_env_lsp"
    folder.mkdir(parents=True)
    script = folder / "connect.py"
    script.write_text(
        "import socket, sys\n"
        "with socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10):\n"
        "    print('connected')\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "ALEMBIC_ENV_LSP_SOCKET_LOG": str(log),
        "ALEMBIC_ENV_LSP_SOCKET_GUARD_PROOF": str(proof),
    }
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(script), str(port), "alembic-env-lsp", "alembic_env_lsp"],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.stdout.strip() == "connected", result.stderr
    assert proof.read_text().split()  # the guard was installed, and let it through
    assert _guard().read_log(log) == []
