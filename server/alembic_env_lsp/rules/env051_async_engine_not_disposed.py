import ast

from ..findings import Fix, Severity
from ..fixes.edits import insert_lines_after
from ..rule import Docs, Example, Rule, RuleContext
from . import _snippets as s


def check(ctx: RuleContext) -> None:
    for engine in ctx.facts.engines:
        scope = engine.call.scope
        if not engine.is_async or engine.var is None or not scope.is_async:
            continue
        if any(c.attr == "dispose" and c.receiver == engine.var for c in scope.calls):
            continue
        severity = Severity.WARNING if engine.poolclass is None else Severity.INFO
        fixes = []
        block = _connect_block(ctx, scope, engine.var)
        if block is not None:
            indent = ctx.source.indent_of(block.lineno - 1)
            fixes.append(
                Fix(
                    f"Add 'await {engine.var}.dispose()'",
                    (
                        insert_lines_after(
                            ctx.source, block, [f"await {engine.var}.dispose()"], indent
                        ),
                    ),
                )
            )
        ctx.report(
            f"Call 'await {engine.var}.dispose()' after migrations so no connection outlives the event loop.",
            engine.call.node.func,
            severity=severity,
            fixes=fixes,
        )


def _connect_block(ctx, scope, var):
    for with_ in ctx.facts.withs:
        expr = with_.item.context_expr
        if (
            with_.scope is scope
            and with_.is_async
            and isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr in ("connect", "begin")
            and isinstance(expr.func.value, ast.Name)
            and expr.func.value.id == var
        ):
            return with_.node
    return None


RULE = Rule(
    code="ENV051",
    name="async-engine-not-disposed",
    severity=Severity.INFO,
    summary="The async engine created for migrations is never `await ...dispose()`d.",
    docs=Docs(
        what=(
            "Finds an AsyncEngine created inside an `async def` of env.py with no `await engine.dispose()` there. "
            "Warning when the engine also has a connection pool (no NullPool), info otherwise."
        ),
        why=(
            "Connections left in the engine outlive the event loop that `asyncio.run()` closes: "
            "`ResourceWarning: unclosed connection`, or errors when migrations run again in the same process."
        ),
        example="async with connectable.connect() as connection:\n    await connection.run_sync(do_run_migrations)",
        instead=(
            "async with connectable.connect() as connection:\n    await connection.run_sync(do_run_migrations)\n"
            "await connectable.dispose()"
        ),
        fix_safety="Safe: adds `await engine.dispose()` after the `async with engine.connect()` block.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from sqlalchemy import pool\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "async def run():\n"
            "    engine = create_async_engine('sqlite+aiosqlite://', poolclass=pool.NullPool)\n"
            "    async with engine.connect() as connection:\n"
            "        await connection.run_sync(print)\n",
            span="create_async_engine",
            fixed="from sqlalchemy import pool\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "async def run():\n"
            "    engine = create_async_engine('sqlite+aiosqlite://', poolclass=pool.NullPool)\n"
            "    async with engine.connect() as connection:\n"
            "        await connection.run_sync(print)\n"
            "    await engine.dispose()\n",
        ),
    ),
    valid=(
        Example(s.ASYNC_IMPORTS + s.HEADER + s.ASYNC_ONLINE, note="the async template"),
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\n\nasync def run():\n"
            "    engine = create_async_engine('sqlite+aiosqlite://')\n    try:\n"
            "        async with engine.connect() as connection:\n            pass\n"
            "    finally:\n        await engine.dispose()\n",
            note="disposed in finally",
        ),
    ),
)
