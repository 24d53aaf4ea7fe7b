from ..findings import Fix
from ..fixes.edits import ensure_import, replace_node
from ..model import names as N
from ..rule import Docs, Example, Rule, RuleContext, Severity


def check(ctx: RuleContext) -> None:
    for engine in ctx.facts.engines:
        if engine.wrapped is None:
            continue
        inner = engine.wrapped
        target = "async_engine_from_config" if inner.qname in N.FROM_CONFIG_FACTORIES else "create_async_engine"
        name, imports = ensure_import(ctx.facts, ctx.source, "sqlalchemy.ext.asyncio", target)
        parts = [ctx.source.slice(ctx.range(a)) for a in inner.node.args]
        parts += [ctx.source.slice(ctx.range(k)) for k in inner.node.keywords if k.arg != "future"]
        new = f"{name}({', '.join(parts)})"
        fixes = [Fix(f"Use {target}()", (*imports, replace_node(ctx.source, engine.call.node, new)))]
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
        example="connectable = AsyncEngine(engine_from_config(section, prefix=\"sqlalchemy.\", poolclass=pool.NullPool, future=True))",
        instead="connectable = async_engine_from_config(section, prefix=\"sqlalchemy.\", poolclass=pool.NullPool)",
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
