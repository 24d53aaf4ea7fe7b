from ..findings import Fix
from ..fixes.edits import ensure_import, remove_keyword
from ..model import names as N
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ..text import Range, TextEdit


def check(ctx: RuleContext) -> None:
    for engine in ctx.facts.engines:
        if engine.wrapped is None:
            continue
        inner = engine.wrapped
        target = (
            "async_engine_from_config"
            if inner.qname in N.FROM_CONFIG_FACTORIES
            else "create_async_engine"
        )
        name, imports = ensure_import(ctx.facts, ctx.source, "sqlalchemy.ext.asyncio", target)
        # Edit around the inner call's own text, so its layout and comments stay:
        # `AsyncEngine(engine_from_config` -> the async factory, drop future=..., drop the outer `)`.
        outer, func, whole = (
            ctx.range(engine.call.node),
            ctx.range(inner.node.func),
            ctx.range(inner.node),
        )
        head, tail = Range(outer.start, func.end), Range(whole.end, outer.end)
        edits = [*imports, TextEdit(head, name)]
        future = remove_keyword(ctx.source, inner.node, "future")
        if future is not None:
            edits.append(future)
        edits.append(TextEdit(tail, ""))
        lossy = "#" in ctx.source.slice(Range(outer.start, whole.start)) + ctx.source.slice(tail)
        fixes = [] if lossy else [Fix(f"Use {target}()", tuple(edits))]
        ctx.report(
            f"Wrap-style AsyncEngine({engine.factory}(...)) does not switch psycopg/oracledb to their async "
            f"dialects; use {target}().",
            engine.call.node,
            fixes=fixes,
        )


RULE = Rule(
    code="ENV053",
    name="legacy-async-engine-wrapper",
    severity=Severity.WARNING,
    summary="`AsyncEngine(engine_from_config(...))` (the 2021 template) instead of `async_engine_from_config(...)`.",
    docs=Docs(
        what="Finds the original async template's `AsyncEngine(engine_from_config(..., future=True))` wrapper.",
        why=(
            "The sync factory never asks for the async variant of a dialect: with `postgresql+psycopg` or "
            "`oracle+oracledb` it raises \"The loaded 'psycopg' is not async\", where `async_engine_from_config` "
            "works. `future=True` is a SQLAlchemy 1.4 leftover."
        ),
        example='connectable = AsyncEngine(engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool, future=True))',
        instead='connectable = async_engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)',
        fix_safety="Safe: same engine, built by the async factory; `future=True` is dropped and the import added.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from sqlalchemy import engine_from_config, pool\nfrom sqlalchemy.ext.asyncio import AsyncEngine\n\n"
            "connectable = AsyncEngine(engine_from_config(section, prefix='sqlalchemy.', poolclass=pool.NullPool, future=True))\n",
            span="AsyncEngine(engine_from_config(section, prefix='sqlalchemy.', poolclass=pool.NullPool, future=True))",
            fixed="from sqlalchemy import engine_from_config, pool\nfrom sqlalchemy.ext.asyncio import AsyncEngine\n"
            "from sqlalchemy.ext.asyncio import async_engine_from_config\n\n"
            "connectable = async_engine_from_config(section, prefix='sqlalchemy.', poolclass=pool.NullPool)\n",
        ),
    ),
    valid=(
        Example(
            "from sqlalchemy import pool\nfrom sqlalchemy.ext.asyncio import async_engine_from_config\n\n"
            "connectable = async_engine_from_config(section, prefix='sqlalchemy.', poolclass=pool.NullPool)\n",
        ),
    ),
)
