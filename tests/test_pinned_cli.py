"""The command line's less travelled paths, pinned by what a user sees (mutation testing,
scripts/mutate.py, found them unpinned): `rules --format markdown`, no command at all, and
the one-line report of a bug of ours, `serve --tcp`."""

import subprocess
import sys

import pytest
from alembic_env_lsp import cli, rules


def run(capsys, *args):
    status = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_rules_as_markdown_is_a_table_with_a_row_per_rule(capsys):
    status, out, err = run(capsys, "rules", "--format", "markdown")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "| Code | Name | Severity | Fix | What it finds |"
    assert lines[1] == "|---|---|---|---|---|"
    codes = [r.code for r in rules.all_rules()]
    assert [line.split("]")[0].removeprefix("| [") for line in lines[2:]] == codes
    assert "| [ENV003](docs/rules.md#env003) | coroutine-never-awaited | error | yes |" in out, (
        "a row links the rule's page and says its name, severity and whether it has a fix"
    )


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main([])
    out, err = capsys.readouterr()
    assert exit.value.code == 2 and out == ""
    assert err.startswith("usage: alembic-env-lsp ")
    assert err.endswith("error: the following arguments are required: command\n")


def test_a_bug_of_ours_is_one_masked_line_saying_where(capsys, monkeypatch):
    def broken():
        raise RuntimeError("cannot reach postgresql://app:s3cr3t@db/app")

    monkeypatch.setattr(rules, "all_rules", broken)
    status, out, err = run(capsys, "rules")
    assert status == 2 and out == ""
    assert err.count("\n") == 1, "one line, never a traceback"
    assert err.startswith(
        "alembic-env-lsp: internal error: RuntimeError: cannot reach postgresql://app:"
    )
    assert "s3cr3t" not in err
    # where it failed: the innermost frame, this test's `broken`
    assert err.endswith(f" at test_pinned_cli.py:{broken.__code__.co_firstlineno + 1}\n")


def test_serve_passes_its_tcp_address_to_the_server():
    """`serve --tcp` listens on that address (a bad one is the server's usage error), and
    never falls back to stdio."""
    result = subprocess.run(
        [sys.executable, "-m", "alembic_env_lsp", "serve", "--tcp", "localhost:http"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "alembic-env-lsp serve: error: --tcp expects HOST:PORT, got 'localhost:http'" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
