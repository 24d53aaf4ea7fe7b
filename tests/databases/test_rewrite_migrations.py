"""Real migrations on projects whose env.py is a rewrite fixture, before and after the fix.

Each project has a three-step revision chain (create two tables, add a column, add an index)
and is driven by the venv's `alembic` command, against SQLite through aiosqlite and
PostgreSQL through asyncpg (psycopg2/pysqlite for the sync conversions).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic_env_lsp.knowledge import template_logging_block
from fixes.shape_projects import NAMES as SHAPE_NAMES
from fixes.shape_projects import SQLITE_ONLY
from fixes.shape_projects import convert as convert_shape
from fixes.shape_projects import write_project as write_shape_project
from support.rewrite_cases import ALL_CASES, NOTHING_APPLIED, TEMPLATES, case_id

ALEMBIC = Path(sys.executable).with_name("alembic")

# Logging set up as an `alembic init` project has it, so "Running upgrade" lines show.
INI = """\
[alembic]
script_location = %(here)s/migrations
prepend_sys_path = .
sqlalchemy.url = {url}

""" + template_logging_block()

REVISIONS = {
    "0001_create_tables.py": '''
"""create account and item"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
    )
    op.create_table(
        "item",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
    )


def downgrade():
    op.drop_table("item")
    op.drop_table("account")
''',
    "0002_add_price.py": '''
"""item.price"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("item", sa.Column("price", sa.Numeric(10, 2), nullable=True))


def downgrade():
    # SQLite rebuilds the table; other backends emit a plain ALTER TABLE.
    with op.batch_alter_table("item") as batch:
        batch.drop_column("price")
''',
    "0003_title_index.py": '''
"""index on item.title"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_item_title", "item", ["title"])


def downgrade():
    op.drop_index("ix_item_title", table_name="item")
''',
}

SETTINGS = """
import os


class Settings:
    database_url = os.environ["DATABASE_URL"]


settings = Settings()
"""

pytestmark = pytest.mark.databases

MATRIX = [
    pytest.param(case, backend, id=f"{case_id(case)}-{backend}")
    for case in ALL_CASES
    for backend in case.backends
]


def make_project(root: Path, env_py: str, url: str, case) -> Path:
    migrations = root / "migrations"
    (migrations / "versions").mkdir(parents=True)
    (migrations / "env.py").write_text(env_py)
    shutil.copy(TEMPLATES / "generic" / "script.py.mako", migrations / "script.py.mako")
    for name, text in REVISIONS.items():
        (migrations / "versions" / name).write_text(text.lstrip())
    (root / "alembic.ini").write_text(INI.format(url=url.replace("%", "%%")))
    if case.settings_module:
        (root / "settings.py").write_text(SETTINGS)
    return root


def alembic(
    project: Path, url: str, *args: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONDONTWRITEBYTECODE": "1", **(extra or {})}
    return subprocess.run(
        [str(ALEMBIC), "-c", str(project / "alembic.ini"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def assert_migrated(db) -> None:
    assert {"account", "item"} <= db.tables()
    assert {"id", "account_id", "title", "price"} <= db.columns("item")
    assert "ix_item_title" in db.indexes("item")
    assert db.versions() == ["0003"]


def assert_empty(db) -> None:
    assert not {"account", "item"} & db.tables()
    assert db.versions() == []


def report(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"


@pytest.mark.parametrize("case,backend", MATRIX)
def test_fixed_project_migrates(case, backend, make_database, tmp_path):
    db = make_database(backend)
    url = db.url(case.driver)
    project = make_project(tmp_path / "project", case.apply(), url, case)

    env_py = case.apply()
    logs = "fileConfig(" in env_py  # without logging setup alembic prints nothing (ENV022)

    up = alembic(project, url, "upgrade", "head")
    assert up.returncode == 0, report(up)
    assert "Running upgrade 0002 -> 0003" in up.stderr or not logs, report(up)
    assert_migrated(db)

    down = alembic(project, url, "downgrade", "base")
    assert down.returncode == 0, report(down)
    assert "Running downgrade 0001 -> , create account and item" in down.stderr or not logs, report(
        down
    )
    assert_empty(db)

    sql = alembic(project, url, "upgrade", "head", "--sql")
    assert sql.returncode == 0, report(sql)
    script = " ".join(sql.stdout.split())
    assert "CREATE TABLE account (" in script
    assert "CREATE TABLE item (" in script
    assert "ALTER TABLE item ADD COLUMN price NUMERIC(10, 2)" in script
    assert "CREATE INDEX ix_item_title ON item (title)" in script
    assert (
        "UPDATE alembic_version SET version_num='0003' WHERE alembic_version.version_num = '0002'"
        in script
    )
    assert_empty(db)  # --sql only prints


@pytest.mark.parametrize("case,backend", MATRIX)
def test_unfixed_project_fails_as_the_catalog_says(case, backend, make_database, tmp_path):
    db = make_database(backend)
    url = db.url(case.driver)
    project = make_project(tmp_path / "project", case.source, url, case)
    expected = case.before[backend]

    up = alembic(project, url, "upgrade", "head")
    if expected is None:
        # The catalog's known non-failures (e.g. `async with begin_transaction()` on SQLite).
        assert up.returncode == 0, report(up)
        assert_migrated(db)
    elif expected == NOTHING_APPLIED:
        assert up.returncode == 0, report(up)
        assert "was never awaited" in up.stderr, report(up)
        assert_empty(db)
    else:
        assert up.returncode != 0, report(up)
        assert expected in up.stderr, report(up)
        assert_empty(db)


# ---------------------------------------------------------------------------- sync shapes

SHAPE_MATRIX = [
    pytest.param(name, backend, id=f"{name}-{backend}")
    for name in SHAPE_NAMES
    for backend in ("sqlite", "postgresql")
    if not (name in SQLITE_ONLY and backend != "sqlite")
]


@pytest.mark.parametrize("name,backend", SHAPE_MATRIX)
def test_converted_shape_migrates(name, backend, make_database, tmp_path):
    """A sync project converted as `fix --async` converts it (env.py, alembic.ini, and the
    notes a user follows) migrates for real: upgrade, downgrade, --sql."""
    db = make_database(backend)
    sync_url, async_url = db.url("sync"), db.url("async")
    root = tmp_path / "project"
    env = write_shape_project(root, name, sync_url, INI.split("\n\n", 1)[1])
    for revision, text in REVISIONS.items():
        (root / "migrations" / "versions" / revision).write_text(text.lstrip())
    shutil.copy(TEMPLATES / "generic" / "script.py.mako", root / "migrations" / "script.py.mako")

    done = convert_shape(env)
    assert done.refused is None and done.changes, done.refused

    # What the user is told to set by hand; the application's own engine stays sync.
    told = " ".join(done.manual)
    environment = {
        "DATABASE_URL": async_url if "DATABASE_URL" in told else sync_url,
        "DB_PATH": sync_url.split(":///", 1)[-1],
    }
    up = alembic(root, environment["DATABASE_URL"], "upgrade", "head", extra=environment)
    assert up.returncode == 0, report(up)
    assert_migrated(db)
    down = alembic(root, environment["DATABASE_URL"], "downgrade", "base", extra=environment)
    assert down.returncode == 0, report(down)
    assert_empty(db)
    sql = alembic(root, environment["DATABASE_URL"], "upgrade", "head", "--sql", extra=environment)
    assert sql.returncode == 0, report(sql)
    assert "CREATE INDEX ix_item_title ON item (title)" in " ".join(sql.stdout.split())
    assert_empty(db)
