import ast

from ..findings import Fix
from ..fixes.rewrites import repair_fix
from ..model.facts import Kind
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ..text import Position, Range, TextEdit
from ._common import path_note


def check(ctx: RuleContext) -> None:
    for with_ in ctx.facts.withs:
        expr = with_.item.context_expr
        if not isinstance(expr, ast.Call) or not isinstance(expr.func, ast.Attribute):
            continue
        method = expr.func.attr
        if with_.is_async:
            from ..model.qualify import qualified_name

            if qualified_name(expr.func, with_.scope) == "alembic.context.begin_transaction":
                ctx.report(
                    "context.begin_transaction() is synchronous; use 'with' inside the function passed to "
                    "run_sync(). ('_ProxyTransaction' object does not support the asynchronous context manager "
                    "protocol on PostgreSQL; it only happens to work on SQLite.)",
                    expr,
                    fixes=[
                        f
                        for f in [
                            repair_fix(
                                ctx.source.text,
                                "ENV005",
                                "Move the block into do_run_migrations, called through run_sync()",
                            )
                        ]
                        if f
                    ],
                )
                continue
            kind = _receiver_kind(expr, with_.scope)
            if method in ("connect", "begin") and kind is Kind.ENGINE:
                ctx.report(
                    f"'{_text(ctx, expr)}' is a sync Engine's context manager and must be used with 'with'.",
                    expr,
                    fixes=[_toggle(ctx, with_.node, to_async=False)],
                )
        else:
            if _begin_on_the_loop(ctx, with_, expr):
                continue
            kind = _receiver_kind(expr, with_.scope)
            if (method in ("connect", "begin") and kind is Kind.ASYNC_ENGINE) or (
                method == "begin" and kind is Kind.ASYNC_CONNECTION
            ):
                owner = "AsyncEngine" if kind is Kind.ASYNC_ENGINE else "AsyncConnection"
                when = path_note(ctx, expr.func.value, with_.scope)
                fixes = []
                if with_.scope.is_async and len(with_.node.items) == 1:
                    fixes.append(_toggle(ctx, with_.node, to_async=True))
                ctx.report(
                    f"'{_text(ctx, expr)}' must be used with 'async with'{when} ('{owner}' object does "
                    f"not support the context manager protocol).",
                    expr,
                    fixes=fixes,
                )


def _begin_on_the_loop(ctx: RuleContext, with_, expr: ast.Call) -> bool:
    """A sync `with context.begin_transaction():` in an async def around `await conn.run_sync(...)`:
    the transaction is begun and committed on the event loop, the migrations run in run_sync's
    greenlet. Reported here; ENV007 stays silent on the function run_sync runs."""
    from ..model.qualify import qualified_name

    if not with_.scope.is_async:
        return False
    if qualified_name(expr.func, with_.scope) != "alembic.context.begin_transaction":
        return False
    runs = [c for c in ctx.facts.calls if c.attr == "run_sync" and with_ in c.withs]
    if not runs:
        return False
    line = runs[0].node.lineno
    fix = repair_fix(
        ctx.source.text,
        "ENV005",
        "Move the block into do_run_migrations, called through run_sync()",
    )
    ctx.report(
        "context.begin_transaction() is entered here on the event loop, but the migrations run in "
        f"run_sync() (line {line}): on PostgreSQL the commit then fails with MissingGreenlet (it only "
        "happens to work on SQLite). Open 'with context.begin_transaction():' inside the function passed "
        "to run_sync().",
        expr,
        fixes=[fix] if fix else [],
    )
    return True


def _receiver_kind(expr: ast.Call, scope) -> Kind | None:
    if not isinstance(expr.func, ast.Attribute):
        return None
    receiver = expr.func.value
    if isinstance(receiver, ast.Name):
        binding = scope.kind_at(receiver)
        return binding.kind if binding else None
    return None


def _text(ctx: RuleContext, node) -> str:
    return ctx.source.slice(ctx.range(node))


def _toggle(ctx: RuleContext, node: ast.With | ast.AsyncWith, *, to_async: bool) -> Fix:
    start = ctx.source.from_utf8(node.lineno, node.col_offset)
    if to_async:
        return Fix("Use 'async with'", (TextEdit(Range(start, start), "async "),))
    line = ctx.source.line(start.line)
    rest = line[start.character + len("async") :]
    gap = len(rest) - len(rest.lstrip())
    end = Position(start.line, start.character + len("async") + gap)
    return Fix("Use 'with'", (TextEdit(Range(start, end), ""),))


RULE = Rule(
    code="ENV005",
    name="with-async-mismatch",
    severity=Severity.ERROR,
    summary="`with` on an async engine or connection, `async with` on a sync one, or `async with context.begin_transaction()`.",
    docs=Docs(
        what=(
            "Finds `with engine.connect()` / `with engine.begin()` on an AsyncEngine, `with conn.begin()` on an "
            "AsyncConnection, `async with` on a sync Engine, `async with context.begin_transaction()`, and a sync "
            "`with context.begin_transaction()` in an async def around `await connection.run_sync(...)`."
        ),
        why=(
            "AsyncEngine and AsyncConnection context managers are asynchronous: `TypeError: 'AsyncConnection' "
            "object does not support the context manager protocol`. Alembic's `begin_transaction()` is "
            "synchronous: on PostgreSQL `async with` raises \"'_ProxyTransaction' object does not support the "
            'asynchronous context manager protocol" (it only happens to work on SQLite). A sync `with '
            "context.begin_transaction()` around `await connection.run_sync(...)` begins and commits the transaction "
            "on the event loop while the migrations run inside run_sync(): the commit fails on PostgreSQL "
            "with MissingGreenlet."
        ),
        example="with connectable.connect() as connection:  # connectable is an AsyncEngine",
        instead="async with connectable.connect() as connection:\n    await connection.run_sync(do_run_migrations)",
        fix_safety=(
            "Safe: toggles `with` / `async with` when the enclosing function allows it. Unsafe (review it) for "
            "`async with context.begin_transaction()` and a sync one around `run_sync()`: the block moves into "
            "`do_run_migrations` called through `run_sync()`."
        ),
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\n\nasync def run():\n"
            "    engine = create_async_engine('postgresql+asyncpg://u@h/db')\n"
            "    with engine.connect() as connection:\n        pass\n",
            span="engine.connect()",
            fixed="from sqlalchemy.ext.asyncio import create_async_engine\n\nasync def run():\n"
            "    engine = create_async_engine('postgresql+asyncpg://u@h/db')\n"
            "    async with engine.connect() as connection:\n        pass\n",
        ),
        Example(
            "from alembic import context\n\ndef do_run_migrations(connection):\n    pass\n\nasync def run(connection):\n"
            "    async with context.begin_transaction():\n        context.run_migrations()\n",
            span="context.begin_transaction()",
            message="begin_transaction() is synchronous",
        ),
        Example(
            "from sqlalchemy import create_engine\n\nasync def run():\n"
            "    engine = create_engine('sqlite://')\n"
            "    async with engine.connect() as connection:\n        pass\n",
            span="engine.connect()",
            fixed="from sqlalchemy import create_engine\n\nasync def run():\n"
            "    engine = create_engine('sqlite://')\n"
            "    with engine.connect() as connection:\n        pass\n",
        ),
    ),
    valid=(
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\n\nasync def run():\n"
            "    engine = create_async_engine('postgresql+asyncpg://u@h/db')\n"
            "    async with engine.begin() as connection:\n        await connection.run_sync(print)\n",
            note="async with engine.begin() is the external-transaction pattern",
        ),
        Example(
            "from alembic import context\n\ndef do_run_migrations(connection):\n"
            "    context.configure(connection=connection)\n"
            "    with context.begin_transaction():\n        context.run_migrations()\n",
        ),
    ),
)
