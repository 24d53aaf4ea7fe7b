"""Fix behaviour mutation testing (scripts/mutate.py) found unpinned, asserted on the file a
user gets after applying the fix (in the editor, or with the CLI)."""

from __future__ import annotations

from alembic_env_lsp.engine import analyze
from alembic_env_lsp.text import apply_edits


def fixed(text: str, code: str) -> str:
    """The file after applying the first fix of the one `code` finding (an editor quick fix)."""
    analysis = analyze(text, "env.py")
    assert not analysis.internal_errors, analysis.internal_errors
    [finding] = [f for f in analysis.findings if f.code == code]
    return apply_edits(text, list(finding.fixes[0].edits))


CONFIGURE_ON_ASYNC_CONNECTION = """\
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

target_metadata = None


async def run_async_migrations():
    engine = create_async_engine("postgresql+asyncpg://u@h/db")
    async with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata{extra})
        context.run_migrations()
    await engine.dispose()
"""


def test_env004_fix_moves_a_bare_run_migrations_into_a_transaction():
    text = fixed(CONFIGURE_ON_ASYNC_CONNECTION.format(extra=""), "ENV004")
    assert text == (
        "from alembic import context\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "from sqlalchemy.engine import Connection\n"
        "\n"
        "target_metadata = None\n"
        "\n"
        "\n"
        "def do_run_migrations(connection: Connection) -> None:\n"
        "    context.configure(connection=connection, target_metadata=target_metadata)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n"
        "\n"
        "\n"
        "async def run_async_migrations():\n"
        '    engine = create_async_engine("postgresql+asyncpg://u@h/db")\n'
        "    async with engine.connect() as connection:\n"
        "        await connection.run_sync(do_run_migrations)\n"
        "    await engine.dispose()\n"
    )
    assert not [f.code for f in analyze(text, "env.py").findings if f.code == "ENV007"]


def test_env004_fix_adds_no_transaction_when_each_migration_has_its_own():
    text = fixed(
        CONFIGURE_ON_ASYNC_CONNECTION.format(extra=", transaction_per_migration=True"), "ENV004"
    )
    assert (
        "def do_run_migrations(connection: Connection) -> None:\n"
        "    context.configure(connection=connection, target_metadata=target_metadata, "
        "transaction_per_migration=True)\n"
        "    context.run_migrations()\n"
    ) in text
    assert "begin_transaction" not in text
