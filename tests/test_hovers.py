"""Hover texts as a user sees them, on real env.py files (Alembic's own templates, aliased
variants, a broken async file) with a real alembic.ini next to them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.hovers import HoverResult, hover_at, hover_ini
from alembic_env_lsp.knowledge import template_logging_block
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.rules import all_rules
from alembic_env_lsp.text import Position, Range

ROOT = Path(__file__).resolve().parent.parent
# The benchmark's 94-line env.py, in shared/ beside the checkout (skipped when absent).
SAMPLE = Path(__file__).resolve().parent.parent / "bench" / "env_async_sample.py"

LOGGING = "\n" + template_logging_block()


def ini_text(url: str, logging: bool = True) -> str:
    # sqlalchemy.url is on line 3 (1-based)
    return f"[alembic]\nscript_location = %(here)s\nsqlalchemy.url = {url}\n" + (
        LOGGING if logging else ""
    )


def template(name: str) -> str:
    return (files("alembic") / "templates" / name / "env.py").read_text(encoding="utf-8")


def project(tmp_path: Path, env: str, url: str | None = None, logging: bool = True):
    env_path = tmp_path / "env.py"
    env_path.write_text(env, encoding="utf-8")
    if url is not None:
        (tmp_path / "alembic.ini").write_text(ini_text(url, logging), encoding="utf-8")
    ctx = ProjectIndex().context_for(env_path)
    return analyze(env, str(env_path), project=ctx)


def at(text: str, needle: str, nth: int = 0, offset: int = 1, after: str | None = None) -> Position:
    """The position `offset` code points into the nth occurrence of `needle` (after `after`)."""
    start = text.index(after) if after else 0
    index = text.index(needle, start)
    for _ in range(nth):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index)
    column = index - (text.rfind("\n", 0, index) + 1)
    return Position(line, column)


def span(text: str, rng: Range) -> str:
    lines = text.splitlines()
    assert rng.start.line == rng.end.line
    return lines[rng.start.line][rng.start.character : rng.end.character]


def hover(analysis, needle: str, **kwargs) -> HoverResult:
    result = hover_at(analysis, at(analysis.source.text, needle, **kwargs))
    assert result is not None, f"no hover on {needle!r}"
    return result


# --- the async template, the example of the issue --------------------------------------


def test_async_engine_with_sync_driver_from_ini(tmp_path):
    text = template("async")
    analysis = project(tmp_path, text, "postgresql+psycopg2://app:secret@db/app")
    result = hover(analysis, "async_engine_from_config(", after="async def")
    md = result.markdown
    assert span(text, result.range) == "async_engine_from_config"
    assert "builds an **AsyncEngine**" in md
    assert "from alembic.ini [alembic] sqlalchemy.url (line 3)" in md
    assert "postgresql+psycopg2://app:***@db/app" in md
    assert "Dialect `postgresql`, driver `psycopg2`" in md
    assert "Sync engines only" in md
    assert "`psycopg2-binary`" in md
    assert (
        "InvalidRequestError: The asyncio extension requires an async driver to be used. "
        "The loaded 'psycopg2' is not async." in md
    )
    # over ENV001's range: the finding's message and where the rule is documented, after
    # this file's facts and before the general text; never the whole rule page
    assert "⚠ **ENV001** (error): Async engine with sync-only driver 'psycopg2'" in md
    assert "Docs: `alembic-env-lsp explain ENV001`, docs/rules.md#env001." in md
    assert "### ENV001" not in md and "**Why it matters.**" not in md
    assert md.index("builds an **AsyncEngine**") < md.index("**ENV001** (error)")
    assert md.index("**ENV001** (error)") < md.index("Builds an **`AsyncEngine`** from the")
    assert "secret" not in md


def test_async_engine_with_async_driver_works(tmp_path):
    analysis = project(tmp_path, template("async"), "postgresql+asyncpg://app:secret@db/app")
    md = hover(analysis, "async_engine_from_config(", after="async def").markdown
    assert "✓ Works: the async engine loads `PGDialect_asyncpg`" in md
    assert "Async engines only" in md
    assert "`asyncpg`" in md and "sqlalchemy[asyncio]" in md
    assert "ENV001" not in md
    assert "secret" not in md


def test_psycopg3_switches_to_async_variant(tmp_path):
    analysis = project(tmp_path, template("async"), "postgresql+psycopg://app@db/app")
    md = hover(analysis, "async_engine_from_config(", after="async def").markdown
    assert "PGDialectAsync_psycopg" in md
    assert "switches to the driver's async variant" in md


def test_sync_engine_with_async_driver(tmp_path):
    text = template("generic")
    analysis = project(tmp_path, text, "postgresql+asyncpg://app:secret@db/app")
    result = hover(analysis, "engine_from_config(", after="def run_migrations_online")
    md = result.markdown
    assert span(text, result.range) == "engine_from_config"
    assert "builds a **sync Engine**" in md
    assert "MissingGreenlet: greenlet_spawn has not been called" in md
    assert "**ENV002** (error)" in md
    assert "secret" not in md


@pytest.mark.parametrize(
    "needle, kwargs, expected",
    [
        (
            "fileConfig(",
            {"after": "if config"},
            [
                "Alembic never configures logging itself",
                "guarded by a `config_file_name is not None` check",
                "has `[loggers]`, `[handlers]` and `[formatters]`",
            ],
        ),
        (
            "config = context",
            {"offset": 0},
            ["`alembic.config.Config`", "main section `[alembic]`"],
        ),
        ("config\n", {"after": "config = context.", "offset": 0}, ["`alembic.config.Config`"]),
        ("context.config", {"offset": 0}, ["`alembic.context`", "proxy"]),
        ("config_file_name is", {}, ["`None` when a `Config()` was built in code", "alembic.ini"]),
        (
            "get_main_option(",
            {"after": "def run_migrations_offline"},
            [
                "reads only the ini file",
                "`[alembic]` line 3: `postgresql+asyncpg://app:***@db/app`",
            ],
        ),
        (
            "get_section(",
            {"after": "async def"},
            ["Reads the main section", "Feeds `async_engine_from_config` at line 68"],
        ),
        ("config_ini_section", {"after": "async def"}, ['`"alembic"` unless `alembic -n NAME`']),
        (
            "NullPool",
            {"after": "async def"},
            ["does no pooling", "Used by `async_engine_from_config` at line 68"],
        ),
        (
            "connection:\n",
            {"after": "async with"},
            ["`AsyncConnection`", "from `async with connectable.connect()` at line 74"],
        ),
        (
            "run_sync",
            {},
            [
                "first positional argument",
                "`do_run_migrations` (plain def, line 55) receives the sync `Connection` as `connection`",
                "Awaited: good.",
            ],
        ),
        ("dispose", {"after": "async def"}, ["`AsyncEngine.dispose()`", "Awaited: good."]),
        (
            "run(run_async",
            {},
            ["new event loop", "Line 83 runs `run_async_migrations()` (async def, line 62)"],
        ),
        (
            "configure(\n        url",
            {},
            ["Sets up the `MigrationContext`", "**offline**", "offline mode loads no driver"],
        ),
        ("configure(connection", {}, ["**online**", "`connection=connection`"]),
        (
            "target_metadata=target_metadata,",
            {},
            ["`target_metadata=`", "assigned at line 23: `None`"],
        ),
        ("literal_binds", {}, ["Renders bound values inline"]),
        ("dialect_opts", {}, ["paramstyle"]),
        (
            "connection=connection",
            {},
            [
                "`connection=`",
                "`connection` is the sync `Connection` that `connection.run_sync(do_run_migrations)` (line 75)",
            ],
        ),
        (
            "target_metadata = None",
            {},
            [
                "autogenerate compares with the database",
                "Passed to `context.configure` at lines 44, 56",
            ],
        ),
        (
            "begin_transaction",
            {"after": "def do_run"},
            ["commits it when the block exits", "used with `with`; runs in online mode"],
        ),
        (
            "run_migrations()",
            {"after": "def do_run"},
            [
                "no positional arguments",
                "inside `with context.begin_transaction()`; runs in online mode",
            ],
        ),
        (
            "is_offline_mode",
            {},
            [
                "`--sql`",
                "offline runs `run_migrations_offline()`; online runs `run_migrations_online()`",
            ],
        ),
        ("Connection) -> None", {}, ["`sqlalchemy.engine.Connection`", "the annotation is right"]),
        (
            "connection: Connection",
            {},
            [
                "The sync `Connection` that `connection.run_sync(do_run_migrations)` (line 75) passes"
            ],
        ),
        ("Connection\n", {"after": "from sqlalchemy.engine"}, ["`sqlalchemy.engine.Connection`"]),
        ("async_engine_from_config\n", {}, ["Line 68: builds the AsyncEngine `connectable`"]),
        ("connectable =", {"offset": 0}, ["**`connectable`** · `AsyncEngine`", "Line 68"]),
        (
            "do_run_migrations)",
            {},
            ["local `def` (line 55)", "calls it with the sync `Connection`"],
        ),
        (
            "run_async_migrations() ->",
            {},
            ["local `async def`", "its coroutine is run by `asyncio.run(...)`"],
        ),
    ],
)
def test_async_template_symbols(tmp_path, needle, kwargs, expected):
    analysis = project(tmp_path, template("async"), "postgresql+asyncpg://app:secret@db/app")
    md = hover(analysis, needle, **kwargs).markdown
    for text in expected:
        assert text in md, f"{text!r} not in hover on {needle!r}:\n{md}"
    assert "secret" not in md


def test_symbol_ranges(tmp_path):
    text = template("async")
    analysis = project(tmp_path, text, "sqlite+aiosqlite:///app.db")
    for needle, kwargs, covered in [
        ("fileConfig(", {"after": "if config"}, "fileConfig"),
        ("configure(connection", {}, "configure"),
        ("target_metadata=target_metadata,", {}, "target_metadata"),
        ("run_sync", {}, "run_sync"),
        ("NullPool", {"after": "async def"}, "NullPool"),
        ("Connection\n", {"after": "from sqlalchemy.engine"}, "Connection"),
    ]:
        assert span(text, hover(analysis, needle, **kwargs).range) == covered


# --- aliased imports --------------------------------------------------------------------

ALIASED = """\
import asyncio as aio
from logging import config as logcfg

import sqlalchemy as sa
from sqlalchemy.ext import asyncio as sa_async

from alembic import context as ctx

cfg = ctx.config
if cfg.config_file_name is not None:
    logcfg.fileConfig(cfg.config_file_name)
target_metadata = sa.MetaData()


def run_migrations_offline():
    ctx.configure(
        url=cfg.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with ctx.begin_transaction():
        ctx.run_migrations()


def do_run_migrations(conn: sa.engine.Connection) -> None:
    ctx.configure(connection=conn, target_metadata=target_metadata)
    with ctx.begin_transaction():
        ctx.run_migrations()


async def run_async_migrations():
    eng = sa_async.create_async_engine(cfg.get_main_option("sqlalchemy.url"), poolclass=sa.pool.NullPool)
    async with eng.connect() as aconn:
        await aconn.run_sync(do_run_migrations)
    await eng.dispose()


def run_migrations_online():
    aio.run(run_async_migrations())


if ctx.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
"""


@pytest.mark.parametrize(
    "needle, kwargs, expected",
    [
        (
            "create_async_engine",
            {},
            [
                "builds an **AsyncEngine**",
                "alembic.ini [alembic] sqlalchemy.url (line 3)",
                "✗ Fails when the engine is created",
                "The loaded 'pysqlite' is not async.",
            ],
        ),
        ("fileConfig", {"after": "logcfg."}, ["`logging.config.fileConfig`", "guarded"]),
        ("run(run_async", {}, ["`asyncio.run(coro)`", "runs `run_async_migrations()`"]),
        ("configure(connection", {}, ["`context.configure(...)`", "**online**"]),
        ("NullPool", {"after": "async def"}, ["does no pooling", "Used by `create_async_engine`"]),
        ("Connection) ->", {}, ["`sqlalchemy.engine.Connection`", "the annotation is right"]),
        ("aconn:", {}, ["`AsyncConnection`", "async with eng.connect()"]),
        (
            "=conn,",
            {"offset": 1},
            ["The sync `Connection` that `aconn.run_sync(do_run_migrations)`"],
        ),
        ("is_offline_mode", {}, ["offline runs `run_migrations_offline()`"]),
        (
            "config\n",
            {"after": "cfg = ctx.", "offset": 0},
            ["`alembic.config.Config`", "Bound here as `cfg`"],
        ),
        ("get_main_option", {"after": "async def"}, ["sqlite:///app.db"]),
        ("dispose", {}, ["Awaited: good."]),
    ],
)
def test_aliased_imports(tmp_path, needle, kwargs, expected):
    analysis = project(tmp_path, ALIASED, "sqlite:///app.db")
    md = hover(analysis, needle, **kwargs).markdown
    for text in expected:
        assert text in md, f"{text!r} not in hover on {needle!r}:\n{md}"


# --- a broken async file ----------------------------------------------------------------

BROKEN = """\
import asyncio
from logging.config import fileConfig

from sqlalchemy.ext.asyncio import create_async_engine

from alembic import context

config = context.config
fileConfig(config.config_file_name)
target_metadata = None


async def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=target_metadata)
    async with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations():
    engine = create_async_engine("postgresql+psycopg2://app:s3cr3t@db/app")
    async with engine.connect() as conn:
        conn.run_sync(do_run_migrations)


def run_migrations_online():
    run_async_migrations()


run_migrations_online()
"""


def test_broken_async_file(tmp_path):
    analysis = project(tmp_path, BROKEN, "sqlite:///unused.db")
    # the URL literal: dialect, driver, support, package, redacted, and the verdict
    literal = hover(analysis, '"postgresql+psycopg2')
    md = literal.markdown
    assert span(BROKEN, literal.range) == '"postgresql+psycopg2://app:s3cr3t@db/app"'
    assert "**Database URL** `postgresql+psycopg2://app:***@db/app`" in md
    assert "Sync engines only" in md and "`psycopg2-binary`" in md
    assert "The loaded 'psycopg2' is not async." in md
    assert "**ENV001**" in md
    assert "s3cr3t" not in md
    # run_sync not awaited, with an async def
    md = hover(analysis, "run_sync").markdown
    assert "**Not awaited**" in md
    assert "`do_run_migrations` is an `async def` (line 13)" in md
    assert "**ENV003**" in md
    # begin_transaction under async with
    md = hover(analysis, "begin_transaction").markdown
    assert "`async with` (wrong: it is a sync context manager)" in md
    assert "**ENV005**" in md
    # the coroutine function never run
    md = hover(analysis, "run_async_migrations()\n", after="def run_migrations_online").markdown
    assert "called without `await` or `asyncio.run`" in md
    assert "**ENV003**" in md
    # fileConfig unguarded
    md = hover(analysis, "fileConfig(config").markdown
    assert "**not** guarded" in md
    assert "s3cr3t" not in md


def test_url_literals():
    cases = {
        'e = create_engine("sqlite:///app.db")\n': [
            "Dialect `sqlite`, driver `pysqlite`",
            "`sqlite3` comes with Python",
            "✓ Works: a sync engine",
        ],
        'e = create_engine("driver://user:pass@localhost/dbname")\n': [
            "placeholder `alembic init` writes",
            "Can't load plugin: sqlalchemy.dialects:driver",
            "user:***@localhost",
        ],
        'e = create_engine("postgres://u:pw@h/db")\n': [
            "not a SQLAlchemy dialect name",
            "use `postgresql://`",
        ],
        'e = create_engine("postgresql://u@h/db")\n': [
            "default for `postgresql://`",
            "depends on the SQLAlchemy version",
        ],
        'e = create_async_engine("mysql+aiomysql://u:pw@h/db")\n': [
            "Async engines only",
            "`aiomysql`",
            "✓ Works",
        ],
    }
    for code, expected in cases.items():
        text = (
            "from sqlalchemy import create_engine\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
            + code
        )
        analysis = analyze(text, "env.py")
        md = hover(analysis, '"', offset=3).markdown
        for item in expected:
            assert item in md, f"{item!r} not in:\n{md}"
        assert ":pass@" not in md and ":pw@" not in md


# --- positions --------------------------------------------------------------------------

NON_ASCII = """\
from logging.config import fileConfig
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from alembic import context

config = context.config
étiquette = "🗃️ données"; fileConfig(config.config_file_name)
ürl = "sqlite+aiosqlite:///données.db"; mötör = create_async_engine(ürl, poolclass=NullPool)
"""


def test_positions_on_non_ascii_lines():
    analysis = analyze(NON_ASCII, "env.py")
    text = NON_ASCII
    result = hover(analysis, "fileConfig(config")
    assert span(text, result.range) == "fileConfig"
    # code-point columns: the emoji and accents before the symbol count once each
    assert result.range.start == at(text, "fileConfig(config", offset=0)
    assert "`logging.config.fileConfig`" in result.markdown
    result = hover(analysis, "create_async_engine(ürl")
    assert span(text, result.range) == "create_async_engine"
    assert "✓ Works: the async engine loads `SQLiteDialect_aiosqlite`" in result.markdown
    assert "string literal in env.py" in result.markdown
    result = hover(analysis, "NullPool)")
    assert span(text, result.range) == "NullPool"
    result = hover(analysis, '"sqlite+aiosqlite')
    assert "driver `aiosqlite`" in result.markdown
    # on the mötör variable, after the non-ASCII URL
    result = hover(analysis, "mötör =", offset=2)
    assert span(text, result.range) == "mötör"
    assert "**`mötör`** · `AsyncEngine`" in result.markdown


def test_whitespace_comments_and_plain_code_give_nothing(tmp_path):
    text = template("async")
    analysis = project(tmp_path, text, "postgresql+asyncpg://app@db/app")
    lines = text.splitlines()
    blank = lines.index("")
    assert hover_at(analysis, Position(blank, 0)) is None  # empty line
    indented = next(i for i, line in enumerate(lines) if line.startswith("    context.configure("))
    assert hover_at(analysis, Position(indented, 2)) is None  # indentation
    assert (
        hover_at(analysis, at(text, " = context.config", offset=0)) is None
    )  # the space before '='
    assert hover_at(analysis, at(text, "# this is the Alembic")) is None  # comment
    assert hover_at(analysis, Position(indented, 500)) is None  # past the end of the line
    assert hover_at(analysis, Position(len(lines) + 5, 0)) is None  # past the end of the file
    assert hover_at(analysis, at(text, '"""Run migrations in')) is None  # a docstring


def test_finding_only_hover_and_noqa_codes(tmp_path):
    text = template("async")
    analysis = project(tmp_path, text, "postgresql+asyncpg://app@db/app")
    result = hover(analysis, "None\n", after="target_metadata =", offset=0)
    assert span(text, result.range) == "None"
    md = result.markdown
    assert md.startswith("⚠ **ENV030** (warning): target_metadata is None")
    assert md.endswith("Docs: `alembic-env-lsp explain ENV030`, docs/rules.md#env030.")
    assert "### ENV030 (" not in md
    noqa = text.replace("target_metadata = None", "target_metadata = None  # noqa: ENV030")
    analysis = project(tmp_path, noqa, "postgresql+asyncpg://app@db/app")
    result = hover(analysis, "ENV030")
    assert span(noqa, result.range) == "ENV030"
    assert result.markdown.startswith("### ENV030 (")


def test_syntax_error_hover():
    text = "from alembic import context\nconfig = context.config(\n"
    analysis = analyze(text, "env.py")
    assert analysis.facts is None
    finding = analysis.findings[0]
    result = hover_at(analysis, finding.range.start)  # on the unclosed '('
    assert result is not None
    assert result.markdown.startswith("⚠ **ENV000** (error): Syntax error: '(' was never closed")
    assert result.range == finding.range
    assert hover_at(analysis, Position(0, 2)) is None


# --- alembic.ini ------------------------------------------------------------------------


def test_ini_sqlalchemy_url(tmp_path):
    text = template("async")
    analysis = project(tmp_path, text, "postgresql+psycopg2://app:secret@db/app")
    ini_path = tmp_path / "alembic.ini"
    ini = ini_path.read_text()
    ctx = ProjectIndex().context_for(tmp_path / "env.py")
    result = hover_ini(ctx, str(ini_path), ini, at(ini, "sqlalchemy.url"))
    assert result is not None
    md = result.markdown
    assert result.range == Range.of(
        2, 0, 2, len("sqlalchemy.url = postgresql+psycopg2://app:secret@db/app")
    )
    assert "Value: `postgresql+psycopg2://app:***@db/app`" in md
    assert "Dialect `postgresql`, driver `psycopg2`" in md
    assert "Sync engines only" in md and "`psycopg2-binary`" in md
    assert "`env.py` line 68: `async_engine_from_config` builds an AsyncEngine from it" in md
    assert "The loaded 'psycopg2' is not async." in md
    assert "`env.py` line 44: the offline `context.configure(url=...)`" in md
    assert "secret" not in md
    # the same, with the env.py's analysis: ENV001 as shown on the ini line
    result = hover_ini(ctx, str(ini_path), ini, at(ini, "psycopg2"), analysis=analysis)
    assert "⚠ **ENV001** (error)" in result.markdown
    assert "Docs: `alembic-env-lsp explain ENV001`, docs/rules.md#env001." in result.markdown
    assert "### ENV001" not in result.markdown
    assert "secret" not in result.markdown
    # unsaved editor text wins over the file on disk
    edited = ini.replace("postgresql+psycopg2", "postgresql+asyncpg")
    md = hover_ini(ctx, str(ini_path), edited, at(edited, "sqlalchemy.url")).markdown
    assert "driver `asyncpg`" in md and "✓ Works" in md


def test_ini_headers_and_other_lines(tmp_path):
    project(tmp_path, template("generic"), "sqlite:///app.db")
    ini_path = tmp_path / "alembic.ini"
    ini = ini_path.read_text()
    ctx = ProjectIndex().context_for(tmp_path / "env.py")
    md = hover_ini(ctx, str(ini_path), ini, at(ini, "[loggers]", offset=2)).markdown
    assert "`[loggers]`" in md and "KeyError: 'loggers'" in md
    assert "`env.py` line 15 calls `fileConfig`" in md
    md = hover_ini(ctx, str(ini_path), ini, at(ini, "[logger_sqlalchemy]", offset=3)).markdown
    assert "`qualname = sqlalchemy.engine`" in md and "`level = WARNING`" in md
    md = hover_ini(ctx, str(ini_path), ini, at(ini, "[alembic]", offset=1)).markdown
    assert "main section" in md
    md = hover_ini(ctx, str(ini_path), ini, at(ini, "script_location")).markdown
    assert "(env.py found)" in md
    assert hover_ini(ctx, str(ini_path), ini, at(ini, "keys = console")) is None
    assert hover_ini(ctx, str(ini_path), ini, Position(1000, 0)) is None
    assert hover_ini(ctx, str(ini_path), ini, at(ini, "\n\n[handlers]", offset=1)) is None


def test_ini_without_logging_sections(tmp_path):
    project(tmp_path, template("generic"), "sqlite:///app.db", logging=False)
    ini_path = tmp_path / "alembic.ini"
    ini = ini_path.read_text() + "\n[logger_extra]\nlevel = INFO\n"
    ctx = ProjectIndex().context_for(tmp_path / "env.py")
    md = hover_ini(ctx, str(ini_path), ini, at(ini, "[logger_extra]", offset=2)).markdown
    assert "KeyError: 'formatters'" in md


# --- robustness and cost ----------------------------------------------------------------


def _every_position(analysis):
    for line_no, line in enumerate(analysis.source.text.splitlines()):
        for column in range(len(line) + 1):
            yield hover_at(analysis, Position(line_no, column))


def test_every_position_of_real_files(tmp_path):
    files_to_check = [template("async"), template("generic"), ALIASED, BROKEN, NON_ASCII]
    if SAMPLE.exists():
        files_to_check.append(SAMPLE.read_text(encoding="utf-8"))
    for index, text in enumerate(files_to_check):
        folder = tmp_path / str(index)
        folder.mkdir()
        analysis = project(folder, text, "postgresql+psycopg2://app:secret@db/app")
        for result in _every_position(analysis):
            if result is not None:
                assert "secret" not in result.markdown
                assert result.range.start <= result.range.end


def test_every_position_of_rule_examples():
    """Over every rule example: each hover covers the position it answers, its code spans are
    closed, and every finding is shown (message and docs pointer) by a hover on its start."""
    for rule in all_rules():
        for example in (*rule.valid, *rule.invalid):
            analysis = analyze(example.code, "env.py")
            lines = analysis.source.text.splitlines()
            for line_no, line in enumerate(lines):
                for column in range(len(line)):
                    result = hover_at(analysis, Position(line_no, column))
                    if result is None:
                        continue
                    rng = result.range
                    assert rng.start.line <= line_no <= rng.end.line, (example.code, line_no)
                    outside_blocks = re.sub(r"```.*?```", "", result.markdown, flags=re.S)
                    for paragraph in outside_blocks.split("\n\n"):
                        assert paragraph.count("`") % 2 == 0, paragraph
            for finding in analysis.findings:
                if finding.path is not None or finding.range.start.line >= len(lines):
                    continue
                start = finding.range.start
                if start.character >= len(lines[start.line]):
                    continue
                result = hover_at(analysis, start)
                assert result is not None, (rule.code, finding.code, start)
                assert f"**{finding.code}** ({finding.severity.label})" in result.markdown
                assert f"`alembic-env-lsp explain {finding.code}`" in result.markdown


def test_hover_on_the_sample():
    """The benchmark sample's engine hover (its cost is measured in bench/, not asserted here)."""
    if not SAMPLE.exists():
        pytest.skip("bench/env_async_sample.py is not in this checkout")
    text = SAMPLE.read_text(encoding="utf-8")
    analysis = analyze(text, str(SAMPLE), project=ProjectIndex().context_for(SAMPLE))
    md = hover_at(analysis, Position(73, 20)).markdown  # on async_engine_from_config(
    assert md.startswith("**`sqlalchemy.ext.asyncio.async_engine_from_config(")
    assert "builds an **AsyncEngine**" in md


def test_hover_imports_neither_sqlalchemy_nor_alembic(tmp_path):
    env = tmp_path / "env.py"
    env.write_text(template("async"), encoding="utf-8")
    (tmp_path / "alembic.ini").write_text(
        ini_text("postgresql+asyncpg://app@db/app"), encoding="utf-8"
    )
    script = f"""
import json, sys
from pathlib import Path
from alembic_env_lsp import drivers
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.hovers import hover_at, hover_ini
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.text import Position
drivers.warm_up()
env = Path({str(env)!r})
ctx = ProjectIndex().context_for(env)
analysis = analyze(env.read_text(), str(env), project=ctx)
before = set(sys.modules)
text = analysis.source.text
for line_no, line in enumerate(text.splitlines()):
    for column in range(len(line)):
        hover_at(analysis, Position(line_no, column))
ini = env.parent / "alembic.ini"
hover_ini(ctx, str(ini), ini.read_text(), Position(2, 3), analysis=analysis)
new = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("sqlalchemy", "alembic"))
print(json.dumps(new))
"""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "server"), environment.get("PYTHONPATH", "")) if p
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


SHARED = """\
import asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from alembic import context

config = context.config
tenant = context.get_x_argument(as_dictionary=True).get("tenant")


def do_run_migrations(connection):
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations():
    connectable = AsyncEngine(sa.engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.", future=True))
    async with connectable.connect() as connection:
        await connection.run_sync(do_run_migrations)


connectable = config.attributes.get("connection", None)
if connectable is None:
    asyncio.run(run_async_migrations())
else:
    do_run_migrations(connectable)
"""


def test_legacy_wrapper_connection_sharing_and_x_arguments(tmp_path):
    analysis = project(tmp_path, SHARED, "postgresql+psycopg://app:pw@db/app")
    md = hover(analysis, "AsyncEngine(sa").markdown
    assert "`engine_from_config` wrapped in `AsyncEngine(...)` builds an **AsyncEngine**" in md
    assert "gets the sync dialect `PGDialect_psycopg`" in md
    assert "The loaded 'psycopg' is not async." in md
    assert "**ENV053**" in md
    md = hover(analysis, "engine_from_config(config").markdown
    assert "wrapped in `AsyncEngine(...)`" in md
    md = hover(analysis, "future=").markdown
    assert "SQLAlchemy 1.4 switch" in md
    md = hover(analysis, "attributes").markdown
    assert "connection sharing" in md and 'Reads `attributes["connection"]` (line 22)' in md
    md = hover(analysis, "get_x_argument").markdown
    assert "`alembic -x key=value`" in md
    md = hover(analysis, "do_run_migrations(connectable)").markdown
    assert "Called at line 26." in md and "line 19" in md
    assert ":pw@" not in md


def test_crlf_text(tmp_path):
    text = template("async").replace("\n", "\r\n")
    analysis = project(tmp_path, text, "postgresql+asyncpg://app@db/app")
    result = hover(analysis, "async_engine_from_config(", after="async def")
    assert result.range.start.line == 67
    assert "✓ Works" in result.markdown


# --- fixtures: one pattern per folder (tests/fixtures/hover) ---------------------------

FIXTURES = ROOT / "tests" / "fixtures" / "hover"


def fixture(name: str):
    env_path = FIXTURES / name / "env.py"
    text = env_path.read_text(encoding="utf-8")
    ctx = ProjectIndex().context_for(env_path)
    return analyze(text, str(env_path), project=ctx)


def test_awaited_dispose_after_the_block_leaves_only_the_exception_path():
    analysis = fixture("dispose_after_block")
    env050 = [f for f in analysis.findings if f.code == "ENV050"]
    assert [(f.severity.label, f.range.start.line + 1) for f in env050] == [("info", 21)]
    assert "only an exception raised before 'await connectable.dispose()' (line 27)" in (
        env050[0].message
    )
    md = hover(analysis, "async_engine_from_config(", after="async def").markdown
    assert (
        "No `poolclass`: `await connectable.dispose()` (line 27) closes the pool; only an "
        "exception raised before that line leaves a connection open past the event loop." in md
    )
    assert "outlive `asyncio.run()`'s event loop" not in md
    assert "s3cret" not in md


def test_dispose_in_finally_is_not_reported_and_the_hover_says_why():
    analysis = fixture("dispose_in_finally")
    assert [f for f in analysis.findings if f.code == "ENV050"] == []
    md = hover(analysis, "async_engine_from_config(", after="async def").markdown
    assert (
        "No `poolclass`, but `await connectable.dispose()` in a `finally:` (line 29) closes the "
        "pool even when the migrations raise." in md
    )


def test_no_dispose_no_pool_keeps_the_warning(tmp_path):
    text = (FIXTURES / "dispose_after_block" / "env.py").read_text(encoding="utf-8")
    text = text.replace("    await connectable.dispose()\n", "")
    analysis = project(tmp_path, text, "postgresql+asyncpg://app@db/app")
    env050 = [f for f in analysis.findings if f.code == "ENV050"]
    assert [f.severity.label for f in env050] == ["warning"]
    md = hover(analysis, "async_engine_from_config(", after="async def").markdown
    assert "no `await dispose()` here: the default pool keeps connections that outlive" in md


def test_a_url_set_on_two_branches_gets_a_verdict_per_path():
    analysis = fixture("url_by_branch")
    for needle in ("engine_from_config(", "connectable ="):
        md = hover(analysis, needle, after="def run_migrations_online").markdown
        assert "The URL depends on the path (2 paths):" in md
        assert (
            '  - when DB_KIND == "postgres": `postgresql+asyncpg://app:***@db/app` (set at line 13)'
            " — ✗ Fails at the first connection: `asyncpg` is async-only" in md
        )
        assert (
            '  - when not (DB_KIND == "postgres"): `sqlite:///local.db` (set at line 15) — ✓ Works: '
            "a sync engine loads `SQLiteDialect_pysqlite` (" in md
        )
        # both branches override it: the ini value is never the one used
        assert "sqlite:///app.db" not in md
        assert "s3cret" not in md
        # no unhedged verdict: each ✓/✗ follows its condition on the same line
        for line in md.splitlines():
            if "✓ Works" in line or "✗ Fails" in line:
                assert line.startswith("  - when "), line
    md = hover(analysis, '"postgresql+asyncpg').markdown
    assert (
        "Read by `engine_from_config` (line 19, a sync Engine) when this value is the one used: "
        "✗ Fails at the first connection" in md
    )


def test_the_url_story_follows_env_helper_unquote_and_replace():
    analysis = fixture("url_story")
    md = hover(analysis, "database_url)", nth=1).markdown  # set_main_option(..., database_url)
    assert md.startswith("**URL** `database_url`")
    # the values and verdicts come first, then how the value is built
    assert md.index("It may take") < md.index("How it is built, in order:")
    steps = md[md.index("How it is built, in order:") :]
    order = [
        "environment variable `DATABASE_URL` when it is set",
        'calls the helper `get_postgres_dsn` (line 17) with `driver` = `"asyncpg"`',
        "`settings.db_user`, an attribute of `app.config.settings`",
        "line 22: `unquote()` decodes `%` escapes",
        "line 22: `.replace('+psycopg2', '+asyncpg')` (changes the driver)",
    ]
    positions = [steps.index(step) for step in order]
    assert positions == sorted(positions)
    assert (
        "- when DATABASE_URL is set: known only at run time (environment variable DATABASE_URL)"
        in md
    )
    assert (
        "`async_engine_from_config` (line 39): its driver cannot be checked before run time" in md
    )
    assert "- when DATABASE_URL is not set: `postgresql+asyncpg://…@…/app` (built at line 18)" in md
    assert (
        "`async_engine_from_config` (line 39): ✓ Works: the async engine loads `PGDialect_asyncpg` ("
        in md
    )
    assert "offline `context.configure(url=...)` (line 27): no driver is loaded" in md
    assert "s3cret" not in md


@pytest.mark.parametrize("name", ["url_story", "url_by_branch"])
def test_no_url_position_is_empty(name):
    """Every identifier on a line that builds or passes the URL answers a hover."""
    import ast as _ast
    import re as _re

    analysis = fixture(name)
    facts = analysis.facts
    lines: set[int] = set()
    for engine in facts.engines:
        if engine.url_node is not None:
            lines.update(range(engine.url_node.lineno, engine.url_node.end_lineno + 1))
    for call in facts.calls_named("alembic.context.config.set_main_option"):
        lines.add(call.node.lineno)
    for node in _ast.walk(facts.tree):  # the assignments and helpers the URL is built from
        if isinstance(node, _ast.Assign | _ast.Return) and _re.search(
            r"(?i)url|dsn", analysis.source.line(node.lineno - 1)
        ):
            lines.add(node.lineno)
    assert len(lines) >= 3
    empty = []
    for line in sorted(lines):
        text = analysis.source.line(line - 1)
        for match in _re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", text):
            if match.group() in ("if", "else", "or", "return", "f", "prefix"):
                continue
            if hover_at(analysis, Position(line - 1, match.start())) is None:
                empty.append((line, match.group()))
    assert empty == []


def test_the_url_story_never_shows_a_secret_default(tmp_path):
    text = (
        "import os\n"
        "from alembic import context\n"
        "from sqlalchemy import create_engine\n"
        "user = os.getenv('POSTGRES_USER', 'devuser')\n"
        "password = os.getenv('POSTGRES_PASSWORD', 'devpa55')\n"
        "def get_dsn(password='h1dden'):\n"
        "    return f'postgresql://{user}:{password}@db/app'\n"
        "url = os.getenv('DATABASE_URL') or get_dsn(password)\n"
        "engine = create_engine(url)\n"
        "with engine.connect() as connection:\n"
        "    context.configure(connection=connection)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n"
    )
    analysis = project(tmp_path, text, "sqlite:///x.db")
    shown = []
    for line in range(analysis.source.line_count):
        for column in range(len(analysis.source.line(line))):
            result = hover_at(analysis, Position(line, column))
            if result is not None:
                shown.append(result.markdown)
    joined = "\n".join(shown)
    assert "**URL** `os.getenv('POSTGRES_PASSWORD', '***')`" in joined
    assert "a secret (its value is never shown)" in joined
    assert "devpa55" not in joined and "h1dden" not in joined
    assert "devuser" in joined  # not a secret: the story shows it


def test_multi_db_bind_engines_read_their_own_section():
    analysis = fixture("multidb_binds")
    md = hover(analysis, "engine_from_config(", after="def run_migrations_online").markdown
    assert (
        "URL: the `sqlalchemy.url` of the ini section named by `name` at run time (one per "
        "section, not the main URL), as `set_section_option` sets it (line 10)" in md
    )
    assert "sqlite:///main.db" not in md and "✓ Works" not in md


def test_ini_hover_reads_options_as_configparser_does(tmp_path):
    """A continuation line that looks like an option is part of the value above it: no
    sqlalchemy.url hover there (the ini hover locates options with the project's reader)."""
    ini = (
        "[alembic]\nscript_location = %(here)s\nsqlalchemy.url = sqlite:///x.db\n"
        "notes = first line\n  sqlalchemy.url = postgresql://not/an/option\n"
    )
    ini_path = tmp_path / "alembic.ini"
    ini_path.write_text(ini, encoding="utf-8")
    (tmp_path / "env.py").write_text(template("generic"), encoding="utf-8")
    ctx = ProjectIndex().context_for(tmp_path / "env.py")
    real = hover_ini(ctx, str(ini_path), ini, Position(2, 3))
    assert real is not None and real.markdown.startswith("**`sqlalchemy.url`** · `[alembic]`")
    assert "sqlite:///x.db" in real.markdown
    assert hover_ini(ctx, str(ini_path), ini, Position(4, 4)) is None


def test_url_values_skip_impossible_paths_and_name_patterns_and_defaults(tmp_path):
    text = (
        "import os\n"
        "from alembic import context\n"
        "from sqlalchemy import create_engine\n"
        "from app import app\n"
        "url = os.getenv('DATABASE_URL') or os.getenv('TEST_DB_URL')\n"
        "if not url:\n"
        "    url = 'postgresql://app@db/app'\n"
        "if url.startswith('postgres://'):\n"
        "    url = url.replace('postgres://', 'postgresql+psycopg2://', 1)\n"
        "fallback = app.config.get('DB_URI', 'sqlite:///test.db')\n"
        "engine = create_engine(url)\n"
        "other = create_engine(fallback)\n"
    )
    analysis = project(tmp_path, text, "sqlite:///x.db")
    md = hover(analysis, "url)", after="engine = ").markdown
    values = md[md.index("6 paths at run time, 2 outcomes:") :]
    assert "(`None`)" not in values  # `if not url:` replaced it on the path where it was None
    # the paths through both ifs that end on the literal: one outcome, one condition
    assert "- when not url: `postgresql://app@db/app` (string literal in env.py)\n" in values
    pattern = hover(analysis, "postgres://", after="url.replace(").markdown
    assert pattern.startswith("**Database URL pattern** `postgres://`")
    assert "Read by" not in pattern
    replacement = hover(analysis, "postgresql+psycopg2://", after="url.replace(").markdown
    assert replacement.startswith("**Database URL** `postgresql+psycopg2://`")
    assert "Read by `create_engine` (line 11, a sync Engine) when this value is the one used" in (
        replacement
    )
    md = hover(analysis, "fallback)", after="other = ").markdown
    assert "`'DB_URI'` of `app.config` when it has one; otherwise the default" in md
    assert "- when app.config has 'DB_URI': known only at run time" in md
    assert "- when app.config has no 'DB_URI': `sqlite:///test.db`" in md
