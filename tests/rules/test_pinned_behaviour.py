"""Behaviour a mutation audit found unpinned (make mutation): each test asserts what the user sees."""

from __future__ import annotations

from alembic_env_lsp.engine import analyze
from alembic_env_lsp.findings import Severity


def findings(text: str, code: str, **kwargs):
    analysis = analyze(text, "env.py", **kwargs)
    assert not analysis.internal_errors, analysis.internal_errors
    return [
        (f.severity, analysis.source.slice(f.range), f.message)
        for f in analysis.findings
        if f.code == code
    ]


ONLINE = """\
from alembic import context
from sqlalchemy import create_engine

target_metadata = None


def run_migrations_online():
    engine = create_engine("postgresql+psycopg2://u@h/db")
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        context.run_migrations()


def run_migrations_offline():
    context.configure(url="postgresql://u@h/db", target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


if not context.is_offline_mode():
    run_migrations_online()
else:
    run_migrations_offline()
"""


def test_a_negated_offline_test_runs_the_online_function_in_its_body():
    [(severity, span, message)] = findings(ONLINE, "ENV007")
    assert (severity, span) == (Severity.ERROR, "context.run_migrations()")
    assert message.startswith(
        "context.run_migrations() is not inside 'with context.begin_transaction():'"
    )


def test_a_positional_connection_makes_configure_online():
    text = (
        "from alembic import context\nfrom app import Base\ntarget_metadata = Base.metadata\n\n\n"
        "def run(connection):\n    context.configure(connection)\n\n\nrun(None)\n"
    )
    [(_, span, message)] = findings(text, "ENV030")
    assert span == "context.configure"
    assert "not passed to the online context.configure()" in message


def test_an_awaited_connect_gives_an_async_connection():
    text = (
        "from alembic import context\nfrom sqlalchemy import engine_from_config\n\n\n"
        "async def run():\n    engine = engine_from_config({'sqlalchemy.url': 'sqlite://'})\n"
        "    connection = await engine.connect()\n    context.configure(connection=connection)\n"
    )
    [(severity, span, message)] = findings(text, "ENV004")
    assert (severity, span) == (Severity.ERROR, "connection")
    assert "'connection' is an AsyncConnection" in message


def test_the_last_set_main_option_in_a_function_wins():
    text = (
        "from alembic import context\nfrom sqlalchemy import engine_from_config\n\n"
        "config = context.config\n\n\ndef run():\n"
        "    config.set_main_option('sqlalchemy.url', 'sqlite:///a.db')\n"
        "    config.set_main_option('sqlalchemy.url', 'postgresql+asyncpg://u@h/db')\n"
        "    return engine_from_config(config.get_section(config.config_ini_section, {}))\n"
    )
    [(severity, span, message)] = findings(text, "ENV002")
    assert (severity, span) == (Severity.ERROR, "'postgresql+asyncpg://u@h/db'")
    assert "async-only driver 'asyncpg'" in message
    lines = text.splitlines(keepends=True)
    lines[7], lines[8] = lines[8], lines[7]  # now the sqlite URL is set last
    assert findings("".join(lines), "ENV002") == []


def test_a_url_after_or_is_only_a_default():
    text = (
        "import os\nfrom sqlalchemy import create_engine\n\n"
        "engine = create_engine(os.environ.get('DATABASE_URL') or 'postgresql+asyncpg://u@h/db')\n"
    )
    [(severity, span, _)] = findings(text, "ENV002")
    assert (severity, span) == (Severity.WARNING, "'postgresql+asyncpg://u@h/db'")  # a default
    first = text.replace(
        "os.environ.get('DATABASE_URL') or 'postgresql+asyncpg://u@h/db'",
        "'postgresql+asyncpg://u@h/db' or os.environ.get('DATABASE_URL')",
    )
    [(severity, _, _)] = findings(first, "ENV002")
    assert severity is Severity.ERROR


def test_a_pydantic_secret_is_followed_through_get_secret_value():
    text = (
        "from pydantic import SecretStr\nfrom sqlalchemy import create_engine\n\n"
        "DATABASE_URL = 'postgresql+asyncpg://u@h/db'\n"
        "engine = create_engine(DATABASE_URL.get_secret_value())\n"
    )
    [(severity, span, _)] = findings(text, "ENV002")
    assert (severity, span) == (Severity.ERROR, "'postgresql+asyncpg://u@h/db'")


def test_render_as_batch_on_sqlite_is_not_reported():
    text = (
        "from alembic import context\nfrom sqlalchemy import create_engine\n\n\n"
        "def run():\n    engine = create_engine('sqlite:///app.db')\n"
        "    with engine.connect() as connection:\n"
        "        context.configure(connection=connection, render_as_batch=True)\n\n\nrun()\n"
    )
    assert findings(text, "ENV033") == []
    [(severity, span, _)] = findings(text.replace(", render_as_batch=True", ""), "ENV033")
    assert (severity, span) == (Severity.WARNING, "context.configure")


def test_keys_assigned_after_configure_are_not_duplicates():
    text = (
        "from alembic import context\n\n\ndef run(connection):\n"
        "    options = {'compare_type': True}\n"
        "    context.configure(connection=connection, **options)\n"
        "    options['compare_type'] = False\n\n\nrun(None)\n"
    )
    assert findings(text, "ENV048") == []


ASYNC_ENGINE = (
    "import asyncio\nfrom sqlalchemy import pool\n"
    "from sqlalchemy.ext.asyncio import create_async_engine\n\n\n"
    "async def run():\n    engine = create_async_engine('postgresql+asyncpg://u@h/db'{pool})\n"
    "    other = create_async_engine('postgresql+asyncpg://u@h/other', poolclass=pool.NullPool)\n"
    "    async with engine.connect() as connection:\n        pass\n"
    "    await other.dispose()\n\n\nasyncio.run(run())\n"
)


def test_env051_severity_and_whose_dispose_counts():
    # other.dispose() does not dispose `engine`; without NullPool pooled connections outlive
    # the loop: warning; with NullPool only info.
    rows = findings(ASYNC_ENGINE.format(pool=""), "ENV051")
    assert [(s, span) for s, span, _ in rows] == [(Severity.WARNING, "create_async_engine")]
    assert rows[0][2].startswith("Call 'await engine.dispose()' after migrations")
    rows = findings(ASYNC_ENGINE.format(pool=", poolclass=pool.NullPool"), "ENV051")
    assert [(s, span) for s, span, _ in rows] == [(Severity.INFO, "create_async_engine")]


def test_env057_names_the_21_default_driver_on_sqlalchemy_20():
    text = "from sqlalchemy import create_engine\n\nengine = create_engine('postgresql://u@h/db')\n"
    analysis = analyze(text, "env.py", environment={"sqlalchemy": "2.0.36"})
    [finding] = [f for f in analysis.findings if f.code == "ENV057"]
    assert "SQLAlchemy 2.0.36 is installed here" in finding.message
    assert [e.new_text for e in finding.fixes[0].edits] == ["postgresql+psycopg"]


def test_env048_judges_the_projects_flask_migrate_not_the_checkers(monkeypatch):
    from alembic_env_lsp.rules.env048_duplicate_configure_option import _FLASK

    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    [(severity, span, message)] = findings(_FLASK, "ENV048")
    assert (severity, span) == (Severity.WARNING, "compare_type")
    assert (
        "(Flask-Migrate 4+ puts compare_type and render_as_batch in configure_args; "
        "no project environment was found to tell its version)"
    ) in message
