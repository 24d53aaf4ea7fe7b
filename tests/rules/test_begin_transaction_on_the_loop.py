"""A sync `with context.begin_transaction():` in an async def around `await conn.run_sync(...)`
(what some files look like after ENV006's fix): the transaction is begun and committed on the
event loop while the migrations run in run_sync's greenlet. ENV005 says so; ENV007 does not
claim run_migrations() is outside a transaction."""

from __future__ import annotations

import pytest
from alembic_env_lsp.engine import analyze

HEAD = """import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import async_engine_from_config

config = context.config


def do_run_migrations(connection):
    context.run_migrations()


async def run_async_migrations():
    connectable = async_engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    async with connectable.connect() as connection:
        await connection.run_sync(lambda c: context.configure(connection=c, target_metadata=None))
"""
TAIL = """    await connectable.dispose()


asyncio.run(run_async_migrations())
"""


def rows(text: str, *codes: str):
    analysis = analyze(text, "env.py")
    assert not analysis.internal_errors
    return [
        (
            f.code,
            f.severity.label,
            f.range.start.line + 1,
            analysis.source.slice(f.range),
            f.message,
        )
        for f in analysis.findings
        if f.code in codes
    ]


@pytest.mark.parametrize("runner", ["lambda _c: context.run_migrations()", "do_run_migrations"])
def test_a_transaction_begun_on_the_loop_around_run_sync(runner):
    body = (
        "        with context.begin_transaction():\n"
        f"            await connection.run_sync({runner})\n"
    )
    assert rows(HEAD + body + TAIL, "ENV005", "ENV007") == [
        (
            "ENV005",
            "error",
            20,
            "context.begin_transaction()",
            "context.begin_transaction() is entered here on the event loop, but the migrations run in "
            "run_sync() (line 21): on PostgreSQL the commit then fails with MissingGreenlet (it only "
            "happens to work on SQLite). Open 'with context.begin_transaction():' inside the function "
            "passed to run_sync().",
        )
    ]


def test_without_run_sync_under_it_nothing_changes():
    # the transaction opened inside the function run_sync runs: no ENV005, no ENV007
    text = (
        HEAD.replace(
            "    context.run_migrations()\n",
            "    with context.begin_transaction():\n        context.run_migrations()\n",
        )
        + "        await connection.run_sync(do_run_migrations)\n"
        + TAIL
    )
    assert rows(text, "ENV005", "ENV007") == []
    # and run_migrations() with no transaction anywhere is still ENV007
    bare = HEAD + "        await connection.run_sync(do_run_migrations)\n" + TAIL
    assert [r[0] for r in rows(bare, "ENV005", "ENV007")] == ["ENV007"]


def test_its_fix_opens_the_transaction_inside_the_function_run_sync_runs():
    from alembic_env_lsp.text import SourceText

    text = (
        HEAD
        + "        with context.begin_transaction():\n"
        + "            await connection.run_sync(lambda _c: context.run_migrations())\n"
        + TAIL
    )
    analysis = analyze(text, "env.py")
    [finding] = [f for f in analysis.findings if f.code == "ENV005"]
    [fix] = finding.fixes
    assert fix.title == "Move the block into do_run_migrations, called through run_sync()"
    source = SourceText(text)
    fixed = text
    for edit in sorted(fix.edits, key=lambda e: source.offset(e.range.start), reverse=True):
        start, end = source.offset(edit.range.start), source.offset(edit.range.end)
        fixed = fixed[:start] + edit.new_text + fixed[end:]
    assert "    with context.begin_transaction():\n        context.run_migrations()\n" in fixed
    assert "await connection.run_sync(do_run_migrations_2)" in fixed
    assert rows(fixed, "ENV005", "ENV007") == []
