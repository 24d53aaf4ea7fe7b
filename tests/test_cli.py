"""The command line as a user runs it: a subprocess on real project folders."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "broken-async"


def run(*args, cwd=None):
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "alembic_env_lsp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.fixture
def project(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "app")
    return tmp_path / "app"


def test_check_text_output_and_exit_code(project):
    result = run("check", ".", cwd=project)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        "migrations/env.py:44:5: ENV003 [error] 'run_async_migrations()' returns a coroutine that is never awaited. Migrations will silently not run (exit code 0). [*]"
        in lines
    )
    env001 = next(line for line in lines if " ENV001 " in line)
    assert env001.startswith(
        "migrations/env.py:35:19: ENV001 [warning] Async engine with sync-only driver 'psycopg2'"
    )
    assert "s3cr3t" not in result.stdout + result.stderr
    problems = [line for line in lines if line.startswith("migrations/env.py:")]
    fixable = [line for line in problems if line.endswith(" [*]")]
    # ENV001's only fix (the driver in alembic.ini) needs review: counted, not marked
    assert not env001.endswith("[*]")
    assert lines[-1] == (
        f"Found {len(problems)} problems in 1 env script ({len(fixable)} fixable with --fix; "
        "1 more fix with --unsafe-fixes)."
    )


def test_check_json_has_lsp_positions(project):
    result = run("check", "--format", "json", str(project / "migrations" / "env.py"), cwd=project)
    rows = json.loads(result.stdout)
    row = next(r for r in rows if r["code"] == "ENV003" and r["range"]["start"]["line"] == 43)
    assert row == {
        "path": "migrations/env.py",
        "code": "ENV003",
        "severity": "error",
        "message": "'run_async_migrations()' returns a coroutine that is never awaited. Migrations will silently not run (exit code 0).",
        "range": {"start": {"line": 43, "character": 4}, "end": {"line": 43, "character": 26}},
        "fixable": True,
        "applicability": "safe",
    }
    env001 = next(r for r in rows if r["code"] == "ENV001")
    assert (env001["fixable"], env001["applicability"]) == (True, "unsafe")  # the ini driver
    assert all(r["applicability"] in ("safe", "unsafe", None) for r in rows)
    assert all(r["fixable"] == (r["applicability"] is not None) for r in rows)


def test_json_columns_are_utf16(tmp_path):
    env = tmp_path / "env.py"
    env.write_text(
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "x = '😀'; e = create_async_engine('sqlite:///a.db')\n",
        encoding="utf-8",
    )
    rows = json.loads(run("check", "--format", "json", str(env), cwd=tmp_path).stdout)
    [row] = [r for r in rows if r["code"] == "ENV001"]
    # '😀' is one code point but two UTF-16 units: the literal starts at code point 33, UTF-16 column 34
    assert row["range"]["start"] == {"line": 1, "character": 34}


def test_github_and_sarif(project):
    github = run("check", "--format", "github", ".", cwd=project).stdout.splitlines()
    assert (
        "::error file=migrations/env.py,line=44,col=5,endLine=44,endColumn=27,title=ENV003::'run_async_migrations()' returns a coroutine that is never awaited. Migrations will silently not run (exit code 0)."
        in github
    )
    sarif = json.loads(run("check", "--format", "sarif", ".", cwd=project).stdout)
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"ENV001", "ENV003", "ENV007"}
    assert any(r["id"] == "ENV001" for r in sarif["runs"][0]["tool"]["driver"]["rules"])


def test_fix_writes_safe_fixes_and_keeps_comments(project):
    env = project / "migrations" / "env.py"
    before = env.read_text()
    os.chmod(env, 0o640)
    result = run("check", "--fix", ".", cwd=project)
    after = env.read_text()
    assert result.returncode == 1  # ENV001 remains: switching driver is not a safe fix
    assert [line for line in result.stdout.splitlines() if "ENV" in line][0].count("ENV001") == 1
    for line in before.splitlines():
        if line.strip().startswith("#"):
            assert line in after.splitlines()
    # ENV003's fix: run the coroutine, or share the connection a caller handed over
    assert "        asyncio.run(run_async_migrations())" in after
    assert '    connectable = config.attributes.get("connection", None)' in after
    assert "        await connection.run_sync(do_run_migrations)" in after
    assert "    await connectable.dispose()" in after
    assert oct(env.stat().st_mode & 0o777) == "0o640"
    lines = result.stdout.splitlines()
    problems = [line for line in lines if line.startswith("migrations/env.py:")]
    assert [p.split(": ")[1].split()[0] for p in problems] == ["ENV001"]
    assert lines[-1] == (
        "Found 10 problems in 1 env script (9 fixed, 1 remaining; 1 more fix with --unsafe-fixes)."
    )
    again = run("check", "--fix", ".", cwd=project)  # idempotent: nothing left to fix
    assert env.read_text() == after
    assert again.stdout.splitlines()[:-1] == lines[:-1]
    assert again.stdout.splitlines()[-1] == (
        "Found 1 problem in 1 env script (1 more fix with --unsafe-fixes)."
    )


def test_unsafe_fixes_apply_every_fix_the_editor_offers(project):
    """ENV001's fix changes the driver in alembic.ini: only with --unsafe-fixes."""
    ini = project / "alembic.ini"
    assert "postgresql+psycopg2://" in ini.read_text()
    diff = run("check", "--diff", "--unsafe-fixes", ".", cwd=project)
    assert diff.returncode == 0 and diff.stderr == ""
    assert "+sqlalchemy.url = postgresql+asyncpg://app:***@localhost:5432/app" in diff.stdout
    assert "postgresql+psycopg2://" in ini.read_text()  # --diff writes nothing
    result = run("check", "--fix", "--unsafe-fixes", ".", cwd=project)
    assert result.stdout.splitlines() == [
        "Found 10 problems in 1 env script (10 fixed, 0 remaining)."
    ]
    assert result.returncode == 0
    assert "sqlalchemy.url = postgresql+asyncpg://app:s3cr3t-pass@localhost:5432/app" in (
        ini.read_text().splitlines()
    )
    assert "s3cr3t" not in result.stdout + result.stderr
    assert run("check", ".", cwd=project).stdout == "All checks passed (1 env script).\n"


def test_diff_does_not_write(project):
    env = project / "migrations" / "env.py"
    before = env.read_text()
    result = run("check", "--diff", ".", cwd=project)
    assert result.returncode == 0
    assert "+        asyncio.run(run_async_migrations())" in result.stdout
    assert env.read_text() == before


def test_crlf_and_bom_survive_fix(tmp_path):
    env = tmp_path / "env.py"
    text = "from alembic import context\r\nconfig = context.config\r\n"
    env.write_bytes(b"\xef\xbb\xbf" + text.encode())
    run("check", "--fix", str(env), cwd=tmp_path)
    data = env.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"fileConfig(config.config_file_name)\r\n" in data and b"\n" not in data.replace(
        b"\r\n", b""
    )


def test_bad_inputs_give_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "env.py"
    bad.write_bytes(b"from alembic import context\n\xff\xfe = 1\n")
    result = run("check", str(bad))
    assert (
        result.returncode == 2
        and result.stderr.count("\n") == 1
        and "not valid utf-8" in result.stderr
    )
    missing = run("check", str(tmp_path / "nope"))
    assert (
        missing.returncode == 2
        and "no such file" in missing.stderr
        and "Traceback" not in missing.stderr
    )
    (tmp_path / "pyproject.toml").write_text(
        "[tool.alembic-env-lsp]\nseverity = { ENV999 = 'loud' }\n"
    )
    good = tmp_path / "env2.py"
    good.write_text("from alembic import context\n")
    settings = run("check", str(good))
    assert (
        settings.returncode == 2
        and "ENV999" in settings.stderr
        and "Traceback" not in settings.stderr
    )
    (tmp_path / "pyproject.toml").write_text("this is [not toml\n")
    broken = run("check", str(good))
    assert (
        broken.returncode == 2
        and "pyproject.toml" in broken.stderr
        and "Traceback" not in broken.stderr
    )


def test_syntax_error_is_env000(tmp_path):
    env = tmp_path / "env.py"
    env.write_text("from alembic import context\ndef run(:\n    pass\n")
    result = run("check", str(env))
    assert result.returncode == 1
    assert ":2:" in result.stdout and "ENV000 [error] Syntax error" in result.stdout


def test_pyproject_settings_and_noqa(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.alembic-env-lsp]\nignore = ["ENV042"]\nseverity = { ENV030 = "info" }\n'
    )
    env = tmp_path / "env.py"
    env.write_text(
        "from alembic import context\nconfig = context.config  # noqa: ENV022\ntarget_metadata = None\n"
        "def run_migrations_online():\n    context.configure(connection=None, target_metadata=target_metadata)\n"
        "    with context.begin_transaction():\n        context.run_migrations()\n"
        "run_migrations_online()\n"
    )
    result = run("check", "--format", "json", str(env))
    rows = json.loads(result.stdout)
    assert [(r["code"], r["severity"]) for r in rows] == [("ENV030", "info")]
    assert result.returncode == 0
    env.write_text("# alembic-env: noqa\n" + env.read_text())
    assert json.loads(run("check", "--format", "json", str(env)).stdout) == []


def test_folder_discovery_through_alembic_ini(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "alembic", "init", "-t", "async", "db/migrations"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "env.py").write_text("print('not alembic')\n")
    rows = json.loads(run("check", "--format", "json", ".", cwd=tmp_path).stdout)
    assert {r["path"] for r in rows} == {"db/migrations/env.py"}


def test_explain_and_rules():
    explain = run("explain", "ENV001")
    assert explain.returncode == 0 and explain.stdout.startswith(
        "ENV001 (async-engine-sync-driver)"
    )
    assert "Why it matters" in explain.stdout
    unknown = run("explain", "ENV999")
    assert unknown.returncode == 2
    rules = run("rules", "--format", "json")
    codes = [r["code"] for r in json.loads(rules.stdout)]
    assert codes[:3] == ["ENV000", "ENV001", "ENV002"]


def test_readme_table_and_rule_docs_are_generated_from_the_rules():
    from alembic_env_lsp.docs import readme_with_table, rules_document

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == readme_with_table(readme), (
        "README rule table is stale: run python -m alembic_env_lsp.docs"
    )
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == rules_document()


def test_readme_neovim_snippet_is_the_tested_one():
    lua = (ROOT / "tests" / "editors" / "nvim" / "alembic-env-lsp.lua").read_text(encoding="utf-8")
    assert f"```lua\n{lua}```" in (ROOT / "README.md").read_text(encoding="utf-8")
