"""Rule conditions beyond each rule's examples, pinned by what a user sees (the finding's
range, message and fixes): behaviour mutation testing (scripts/mutate.py) changed without a
test noticing."""

from __future__ import annotations

from alembic_env_lsp.engine import analyze


def findings(text: str, code: str):
    analysis = analyze(text, "env.py")
    assert not analysis.internal_errors, analysis.internal_errors
    return [
        (analysis.source.slice(f.range), f.range.start.line, f.message, f.fixes)
        for f in analysis.findings
        if f.code == code
    ]


SCHEDULED = """\
import asyncio

from alembic import context
from app.tasks import notify


def heartbeat():
    return asyncio.sleep(0)


async def run_async_migrations():
    context.run_migrations()


asyncio.ensure_future(notify())
asyncio.ensure_future(heartbeat())
asyncio.ensure_future(run_async_migrations())
"""


def test_env009_scheduling_counts_only_the_files_own_coroutine_functions():
    [(span, line, message, _)] = findings(SCHEDULED, "ENV009")
    assert (span, line) == ("asyncio.ensure_future(run_async_migrations())", 16)
    assert message.startswith("Scheduling migrations as a task lets env.py return before they run")


def test_env006_offers_no_parameter_fix_it_cannot_place():
    """`def f ():` (a space before the parenthesis): reported, but no edit at a wrong column."""
    text = (
        "from alembic import context\n\n\n"
        "def do_run_migrations ():\n    context.run_migrations()\n\n\n"
        "async def run(connection):\n    await connection.run_sync(do_run_migrations)\n"
    )
    [(span, line, message, fixes)] = findings(text, "ENV006")
    assert (span, line) == ("do_run_migrations", 8)
    assert message.startswith(
        "'do_run_migrations' must accept the Connection that run_sync() passes"
    )
    assert not fixes
    spaced = text.replace("do_run_migrations ()", "do_run_migrations()")
    [(_, _, _, (fix,))] = findings(spaced, "ENV006")
    assert fix.title == "Add a 'connection' parameter"
