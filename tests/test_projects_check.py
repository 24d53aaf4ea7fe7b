"""`alembic-env-lsp check` over a folder of real-looking projects (tests/fixtures/projects):
sync, async, Flask-Migrate, multi-database and pyproject-configured, with the exact findings."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import pytest

PROJECTS = Path(__file__).parent / "fixtures" / "projects"
# Flask-Migrate keeps its alembic.ini (without script_location) inside migrations/, so a folder
# search does not find that env.py: it is named explicitly, as a user would.
ARGS = [".", "flask_shop/migrations/env.py"]
PASSWORDS = ("s3cret-api-pw", "sh0p-pass", "us3rs-pw", "an4lytics-pw", "inv-pa55")


def _version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def run_check(*extra):
    """On a copy outside the checkout: the environment rules look for the project's
    environment (a .venv beside a pyproject.toml above it, $VIRTUAL_ENV), and these
    projects have none; the checkout's own .venv must not be taken for theirs."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "projects"
        shutil.copytree(PROJECTS, copy)
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        return subprocess.run(
            [sys.executable, "-m", "alembic_env_lsp", "check", *ARGS, *extra],
            cwd=copy,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )


def expected_rows():
    alembic = _version("alembic")
    env048 = (
        "warning",
        "'compare_type' is passed explicitly and also through **conf_args (Flask-Migrate 4+ puts compare_type and "
        "render_as_batch in configure_args; no project environment was found to tell its version): "
        "\"TypeError: configure() got multiple values for keyword argument 'compare_type'\".",
    )
    env012 = (
        "sqlalchemy.url is set in [tool.alembic] of pyproject.toml, but Config.get_main_option()/get_section() read "
        "only the .ini file (online: KeyError: 'url'; offline: \"Connection, url, or dialect_name is required.\")."
    )
    env041 = "Without dialect_opts={\"paramstyle\": \"named\"}, a '%' in literal SQL is written doubled in --sql output ('50%% off')."
    return [
        (
            "async_api/alembic/env.py",
            13,
            4,
            "ENV023",
            "hint",
            "fileConfig() defaults to disable_existing_loggers=True; this project runs migrations in-process "
            "(alembic.command.upgrade() in api/main.py:11), so every application logger not named in alembic.ini is "
            "silenced from then on.",
        ),
        (
            "async_api/alembic/env.py",
            20,
            4,
            "ENV043",
            "warning",
            "'version_table_schema' is set for online migrations but not for offline (--sql); the --sql script will write "
            "alembic_version in the default schema.",
        ),
        (
            "async_api/alembic/env.py",
            35,
            29,
            "ENV044",
            "info",
            "The schema 'api' must exist before the first upgrade: Alembic creates the alembic_version table in it but "
            "not the schema itself ('schema \"api\" does not exist').",
        ),
        (
            "async_api/alembic/env.py",
            36,
            24,
            "ENV034",
            "warning",
            "include_schemas=True makes autogenerate reflect every schema; tables in schemas not covered by "
            "target_metadata will be proposed for DROP. Add include_name to limit the schemas.",
        ),
        (
            "async_api/alembic/env.py",
            44,
            15,
            "ENV052",
            "warning",
            "'engine' is the application's pooled AsyncEngine (created in api.db without poolclass=NullPool); reusing it "
            'in env.py breaks the second asyncio.run() in the same process ("... attached to a different loop"). Build a '
            "dedicated NullPool engine from its URL: create_async_engine(engine.url, poolclass=pool.NullPool).",
        ),
        (
            "async_api/alembic/env.py",
            49,
            4,
            "ENV009",
            "warning",
            'asyncio.run() fails with "asyncio.run() cannot be called from a running event loop" when migrations are '
            "started from async code (FastAPI lifespan, pytest-asyncio). Add the connection-sharing branch "
            '(config.attributes["connection"]). This project calls alembic.command.upgrade() from async code '
            "(api/main.py:11).",
        ),
        (
            "flask_shop/migrations/env.py",
            10,
            0,
            "ENV021",
            "warning",
            "config.config_file_name is None when Alembic is driven by a programmatic Config(); fileConfig(None) raises "
            "\"TypeError: 'NoneType' object is not iterable\".",
        ),
        ("flask_shop/migrations/env.py", 32, 4, "ENV041", "info", env041),
        ("flask_shop/migrations/env.py", 57, 12, "ENV048", *env048),
        ("pyproject_app/migrations/env.py", 21, 12, "ENV012", "error", env012),
        ("pyproject_app/migrations/env.py", 33, 8, "ENV012", "error", env012),
        (
            "sync_blog/migrations/env.py",
            19,
            18,
            "ENV032",
            "warning",
            "1 mapped model module is never imported by env.py (blog.models.comment); its tables are missing from "
            "target_metadata and autogenerate will emit op.drop_table() for them.",
        ),
        ("sync_blog/migrations/env.py", 30, 4, "ENV041", "info", env041),
        (
            "sync_blog/migrations/env.py",
            45,
            8,
            "ENV033",
            "warning",
            "SQLite cannot ALTER columns or constraints; set render_as_batch=True so autogenerate emits "
            "batch_alter_table() (otherwise: 'near \"ALTER\": syntax error' / 'No support for ALTER of constraints in "
            "SQLite dialect').",
        ),
        (
            "sync_blog/migrations/env.py",
            48,
            12,
            "ENV045",
            "warning",
            f"context.configure() has no option 'include_objects' in alembic {alembic} (the checker's own; no project "
            "environment found): unknown keywords are kept in the "
            "context's options and silently ignored. Did you mean 'include_object'?",
        ),
    ]


@pytest.fixture(scope="module")
def json_result():
    return run_check("--format", "json")


def test_exact_findings(json_result):
    assert json_result.stderr == ""
    rows = [
        (
            r["path"],
            r["range"]["start"]["line"],
            r["range"]["start"]["character"],
            r["code"],
            r["severity"],
            r["message"],
        )
        for r in json.loads(json_result.stdout)
    ]
    assert rows == expected_rows()


def test_the_multidb_project_is_clean(json_result):
    assert not [r for r in json.loads(json_result.stdout) if r["path"].startswith("multidb/")]


def test_exit_code_and_summary():
    result = run_check()
    assert result.returncode == 1  # errors and warnings were found
    assert result.stdout.rstrip().endswith(
        "Found 15 problems in 5 env scripts (6 fixable with --fix; 7 more fixes with --unsafe-fixes)."
    )


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_no_password_in_any_output(fmt):
    result = run_check("--format", fmt)
    for password in PASSWORDS:
        assert password not in result.stdout and password not in result.stderr


def test_safe_fixes_as_a_diff():
    result = run_check("--diff")
    assert result.returncode == 0, result.stderr
    added = [
        line[1:].strip()
        for line in result.stdout.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    assert "render_as_batch=True," in added  # ENV033
    assert "fileConfig(config.config_file_name, disable_existing_loggers=False)" in added  # ENV023
    assert 'version_table_schema="api",' in added  # ENV043 copies the online option offline
    assert sum('dialect_opts={"paramstyle": "named"})' in line for line in added) == 2  # ENV041
    # unsafe fixes (ENV045's rename, ENV048's removal, ENV012's move) are never applied by --fix
    assert "include_object=include_object," not in added
    for password in PASSWORDS:
        assert password not in result.stdout
