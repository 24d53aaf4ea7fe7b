"""What a user sees from `check`, `fix` and `explain` on the edges: a file the tool fails on,
an empty env script, a mistyped path, info findings in SARIF, a refused rewrite, fixes at the
end of a file and around multi-line strings, and which editor fix is preferred."""

import ast
import json
import shutil
from pathlib import Path

import alembic
import pytest
from alembic_env_lsp import cli, engine

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "broken-async"
TEMPLATES = Path(alembic.__file__).parent / "templates"


@pytest.fixture
def project(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "app")
    return tmp_path / "app"


def run(capsys, *args):
    status = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


# ---- explain PATH -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, engine_line",
    [
        (
            EXAMPLE / "migrations" / "env.py",
            "builds an `AsyncEngine` with `async_engine_from_config()`",
        ),
        (TEMPLATES / "generic" / "env.py", "`engine_from_config()`"),
        (
            TEMPLATES / "async" / "env.py",
            "builds an `AsyncEngine` with `async_engine_from_config()`",
        ),
        (TEMPLATES / "multidb" / "env.py", "`engine_from_config()`"),
    ],
    ids=["example", "generic", "async", "multidb"],
)
def test_explain_prints_the_flow_of_a_valid_file(capsys, path, engine_line):
    status, out, err = run(capsys, "explain", path)
    assert status == 0 and err == ""
    assert out.startswith("# What `env.py` does\n")
    assert "does not parse" not in out
    assert engine_line in out
    assert "```mermaid\nflowchart TD\n" in out
    assert 'n0(["alembic runs env.py"])' in out


def test_explain_of_a_project_folder_masks_the_password(capsys, project, monkeypatch):
    monkeypatch.chdir(project)
    status, out, _ = run(capsys, "explain", ".")
    assert status == 0
    assert "postgresql+psycopg2://app:***@localhost:5432/app" in out
    assert "s3cr3t" not in out


def test_explain_of_an_alembic_ini_explains_the_env_script_it_names(capsys, project):
    status, out, err = run(capsys, "explain", project / "alembic.ini")
    assert status == 0 and err == ""
    assert out.startswith("# What `env.py` does\n")
    assert "does not parse" not in out
    assert "postgresql+psycopg2://app:***@localhost:5432/app" in out and "s3cr3t" not in out


def test_explain_of_a_config_file_naming_no_env_script_is_a_usage_error(capsys, tmp_path):
    ini = tmp_path / "tox.ini"
    ini.write_text("[tox]\nenvlist = py311\n")
    status, out, err = run(capsys, "explain", ini)
    assert status == 2 and out == ""
    assert "not an env script, and it names no env script (script_location)" in err


# ---- one file never stops the others --------------------------------------------------------


def test_an_internal_error_is_a_finding_on_that_file_and_the_others_are_checked(
    capsys, tmp_path, monkeypatch
):
    good = tmp_path / "good" / "env.py"
    bad = tmp_path / "bad" / "env.py"
    for path in (good, bad):
        path.parent.mkdir()
        shutil.copyfile(EXAMPLE / "migrations" / "env.py", path)
    bad.write_text("# triggers the simulated bug\n" + bad.read_text())
    real = engine.build_facts

    def build_facts(parsed, source, project):
        if "simulated bug" in source.text:
            raise RecursionError("maximum recursion depth exceeded")
        return real(parsed, source, project)

    monkeypatch.setattr(engine, "build_facts", build_facts)
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "check", "--format", "json", "bad", "good")
    assert status == 2
    rows = json.loads(out)
    [crash] = [r for r in rows if r["path"] == "bad/env.py"]
    assert crash["code"] == "INTERNAL" and crash["severity"] == "error"
    assert crash["message"].startswith(
        "alembic-env-lsp could not check this file: analysis failed: RecursionError"
    )
    assert {r["code"] for r in rows if r["path"] == "good/env.py"} >= {"ENV003", "ENV007"}
    assert "bad/env.py: internal error: analysis failed: RecursionError" in err
    assert "Traceback (most recent call last)" in err  # the detail goes to the log
    assert "good/env.py" not in err

    status, out, _ = run(capsys, "check", "bad", "good")
    assert status == 2
    assert "bad/env.py:1:1: INTERNAL [error] alembic-env-lsp could not check this file" in out


# ---- empty env scripts and paths without one ---------------------------------------------------


def test_an_empty_env_script_is_a_finding(capsys, tmp_path, monkeypatch):
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "env.py").write_text('"""Migrations."""\n# TODO\n')
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "check", ".")
    assert status == 1
    assert out.splitlines() == [
        "migrations/env.py:1:1: ENV046 [error] env.py is empty: nothing runs, and every alembic "
        "command exits 0 without applying anything.",
        "Found 1 problem in 1 env script.",
    ]


def test_a_path_without_env_scripts_exits_2(capsys, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("print('hello')\n")
    status, out, err = run(capsys, "check", tmp_path / "src")
    assert status == 2 and out == ""
    assert err == (
        f"alembic-env-lsp: {tmp_path / 'src'}: no env script found (no alembic.ini or "
        "pyproject.toml with a script_location, and no env.py that imports alembic's context)\n"
    )


# ---- SARIF levels ---------------------------------------------------------------------------


def test_sarif_info_findings_are_notes(capsys, tmp_path, monkeypatch):
    (tmp_path / "env.py").write_text(NO_FINAL_NEWLINE)
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "check", "--format", "sarif", "env.py")
    sarif = json.loads(out)
    levels = {r["ruleId"]: r["level"] for r in sarif["runs"][0]["results"]}
    # info (ENV042, ENV051) → note, warning → warning, error → error
    assert levels == {"ENV022": "warning", "ENV042": "note", "ENV046": "error", "ENV051": "note"}
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["ENV042"]["defaultConfiguration"]["level"] == "note"
    assert rules["ENV003"]["defaultConfiguration"]["level"] == "error"


# ---- fix --async refusing ---------------------------------------------------------------------

TWO_ENGINES = """\
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config


def run_migrations_online():
    main = engine_from_config(config.get_section("main"), prefix="sqlalchemy.")
    audit = engine_from_config(config.get_section("audit"), prefix="sqlalchemy.")
    with main.connect() as connection, audit.connect() as audit_connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations(audit=audit_connection)


run_migrations_online()
"""


def test_fix_async_exits_1_when_it_refuses(capsys, tmp_path, monkeypatch):
    env = tmp_path / "env.py"
    env.write_text(TWO_ENGINES)
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "fix", "--async", "env.py")
    assert status == 1
    assert out == ""
    assert err.startswith("env.py: not rewritten: ")
    assert env.read_text() == TWO_ENGINES


# ---- fixes at the end of a file and around multi-line strings ------------------------------------

NO_FINAL_NEWLINE = """\
import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import async_engine_from_config

config = context.config


def do_run_migrations(connection):
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    asyncio.run(run_async_migrations())


async def run_async_migrations():
    engine = async_engine_from_config(
        config.get_section(config.config_ini_section, {}), poolclass=pool.NullPool
    )
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)"""


def test_a_fix_at_the_end_of_a_file_without_final_newline(capsys, tmp_path, monkeypatch):
    env = tmp_path / "env.py"
    env.write_text(NO_FINAL_NEWLINE)
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "check", "--fix", "--select", "ENV051", "env.py")
    assert out == "Found 1 problem in 1 env script (1 fixed, 0 remaining).\n"
    assert env.read_text() == NO_FINAL_NEWLINE + "\n    await engine.dispose()"


MULTILINE_STRINGS = '''\
from alembic import context
from sqlalchemy import create_engine

config = context.config


def run_migrations_online():
    engine = create_engine("postgresql://db/app")
    with engine.connect() as connection:
        context.configure(connection=connection)
        context.run_migrations(
            note="""first line
    indented second line
last""",
            tag=f"""{config}
  x""",
        )


run_migrations_online()
'''


def test_wrapping_in_a_block_keeps_multiline_strings_as_they_are(capsys, tmp_path, monkeypatch):
    env = tmp_path / "env.py"
    env.write_text(MULTILINE_STRINGS)
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "check", "--fix", "--select", "ENV007", "env.py")
    assert out == "Found 1 problem in 1 env script (1 fixed, 0 remaining).\n"
    assert env.read_text() == MULTILINE_STRINGS.replace(
        "        context.run_migrations(\n",
        "        with context.begin_transaction():\n            context.run_migrations(\n",
    ).replace('            note="""', '                note="""').replace(
        '            tag=f"""', '                tag=f"""'
    ).replace("        )\n\n\nrun", "            )\n\n\nrun")
    note = ast.literal_eval('"""first line\n    indented second line\nlast"""')
    assert note in env.read_text()


# ---- the editor: an unsafe fix is never the preferred one --------------------------------------


def test_an_unsafe_fix_is_never_preferred():
    from alembic_env_lsp.lsp.actions import plan_env_actions
    from alembic_env_lsp.project import ProjectIndex
    from alembic_env_lsp.text import Position, Range

    path = EXAMPLE / "migrations" / "env.py"
    analysis = engine.analyze(path.read_text(), str(path), project=ProjectIndex().context_for(path))
    everything = Range(Position(0, 0), Position(analysis.source.line_count, 0))
    indexes = list(range(len(analysis.findings)))
    plans = plan_env_actions(analysis, indexes, everything, None, offer_rewrite=False)
    env001 = [p for p in plans if analysis.findings[p.findings[0]].code == "ENV001"]
    assert [(p.title, p.preferred) for p in env001] == [
        ("Use async driver 'postgresql+asyncpg'", False),
        ("Ignore ENV001 on this line", None),
    ]
    env003 = [p for p in plans if analysis.findings[p.findings[0]].code == "ENV003"]
    assert env003[0].preferred is True


# ---- fix --async: what it changed and what is left to the user -----------------------------------


def test_fix_async_changes_the_ini_driver_and_says_what_is_left_by_hand(
    capsys, project, monkeypatch
):
    """The bundled example is already async but its alembic.ini names psycopg2 (ENV001):
    the conversion changes the driver there and names the environment variable to fix."""
    monkeypatch.chdir(project)
    ini = project / "alembic.ini"
    status, out, err = run(capsys, "fix", "--async", "--diff", ".")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[:2] == [
        "# migrations/env.py: 1 change to the async pattern",
        "# to change by hand: when DATABASE_URL is set, it must name an async driver too "
        "(postgresql+asyncpg://)",
    ]
    assert "+sqlalchemy.url = postgresql+asyncpg://app:***@localhost:5432/app" in lines
    assert "postgresql+psycopg2://" in ini.read_text()  # --diff writes nothing

    status, out, err = run(capsys, "fix", "--async", ".")
    assert status == 0 and err == ""
    assert out.splitlines() == [
        "migrations/env.py: already in the async pattern; the URL's driver changed in "
        "alembic.ini: 1 change",
        "  to change by hand: when DATABASE_URL is set, it must name an async driver too "
        "(postgresql+asyncpg://)",
    ]
    assert "sqlalchemy.url = postgresql+asyncpg://app:s3cr3t-pass@localhost:5432/app" in (
        ini.read_text().splitlines()
    )
    status, out, _ = run(capsys, "check", ".")
    assert "ENV001" not in out


def test_fix_async_of_alembics_generic_template_names_both_files(capsys, tmp_path, monkeypatch):
    (tmp_path / "migrations").mkdir()
    shutil.copy(TEMPLATES / "generic" / "env.py", tmp_path / "migrations" / "env.py")
    ini = tmp_path / "alembic.ini"
    ini.write_text("[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite:///app.db\n")
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "fix", "--async", ".")
    assert status == 0 and err == ""
    assert out.startswith("migrations/env.py: rewritten to the async pattern (also alembic.ini): ")
    assert "sqlalchemy.url = sqlite+aiosqlite:///app.db" in ini.read_text()
    assert "async_engine_from_config" in (tmp_path / "migrations" / "env.py").read_text()


def test_check_with_unsafe_fixes_marks_and_counts_them(capsys, project, monkeypatch):
    monkeypatch.chdir(project)
    _, out, _ = run(capsys, "check", ".")
    env001 = next(line for line in out.splitlines() if " ENV001 " in line)
    assert not env001.endswith(" [*]")
    assert out.splitlines()[-1] == (
        "Found 10 problems in 1 env script (9 fixable with --fix; 1 more fix with --unsafe-fixes)."
    )
    _, out, _ = run(capsys, "check", "--unsafe-fixes", ".")
    env001 = next(line for line in out.splitlines() if " ENV001 " in line)
    assert env001.endswith(" [*]")
    assert out.splitlines()[-1] == (
        "Found 10 problems in 1 env script (10 fixable with --fix --unsafe-fixes)."
    )
