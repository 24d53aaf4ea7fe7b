import ast

from ..findings import Fix, Severity
from ..fixes.edits import add_keyword
from ..model.facts import CallFact, EngineFact
from ..model.qualify import qualified_name
from ..rule import Docs, Example, Rule, RuleContext
from ._common import null_pool_expr


def awaited_dispose(engine: EngineFact) -> tuple[CallFact, bool] | None:
    """The `await <engine>.dispose()` in the coroutine that builds `engine`, and whether it
    sits in a `finally:` (then it runs even when the migrations raise); None without one.

    A dispose inside an `if` the engine is not in does not count: it may not run."""
    scope = engine.call.scope
    if engine.var is None or not scope.is_async or scope.node is None:
        return None
    found: tuple[CallFact, bool] | None = None
    for call in scope.calls:
        if call.attr != "dispose" or call.receiver != engine.var or not call.awaited:
            continue
        if not set(call.branches) <= set(engine.call.branches):
            continue
        in_finally = any(
            call.stmt is node
            for t in ast.walk(scope.node)
            if isinstance(t, ast.Try)
            for stmt in t.finalbody
            for node in ast.walk(stmt)
        )
        if found is None or (in_finally and not found[1]):
            found = (call, in_finally)
    return found


def check(ctx: RuleContext) -> None:
    for engine in ctx.facts.engines:
        if not engine.is_async:
            continue
        call = engine.wrapped or engine.call
        if engine.poolclass is None:
            if call.splats:
                continue  # options from a dict may carry it
            disposed = awaited_dispose(engine)
            if disposed is not None and disposed[1]:
                continue  # disposed in a finally: nothing outlives the loop
            expr, imports = null_pool_expr(ctx)
            fix = Fix(
                "Add poolclass=NullPool",
                (*imports, add_keyword(ctx.source, call.node, f"poolclass={expr}")),
            )
            if disposed is not None:
                line = ctx.range(disposed[0].node).start.line + 1
                ctx.report(
                    f"Without poolclass=pool.NullPool, only an exception raised before 'await {engine.var}.dispose()' "
                    f"(line {line}) leaves a pooled connection open past asyncio.run()'s event loop; NullPool "
                    "(or dispose() in a finally:) closes it in every case.",
                    engine.call.node.func,
                    severity=Severity.INFO,
                    fixes=[fix],
                )
                continue
            ctx.report(
                "Use poolclass=pool.NullPool for the migration engine; a pooled async connection outlives "
                'asyncio.run()\'s event loop (leaks, "attached to a different loop" when env.py runs twice in one process).',
                engine.call.node.func,
                fixes=[fix],
            )
            continue
        q = qualified_name(engine.poolclass, engine.call.scope) or ""
        text = ctx.source.slice(ctx.range(engine.poolclass))
        if not (q.endswith("NullPool") or text.endswith("NullPool")):
            ctx.report(
                f"poolclass={text} keeps connections across event loops; the migration engine should use NullPool.",
                engine.poolclass,
                severity=Severity.INFO,
            )


RULE = Rule(
    code="ENV050",
    name="async-engine-without-nullpool",
    severity=Severity.WARNING,
    summary="The migration's async engine has no `poolclass=pool.NullPool`.",
    docs=Docs(
        what="Finds async engine factories (and the legacy `AsyncEngine(...)` wrapper) in env.py without `poolclass=NullPool`.",
        why=(
            "`asyncio.run()` closes its loop when migrations finish, and pooled asyncio connections are bound to "
            'that loop: `ResourceWarning: unclosed connection`, or "attached to a different loop" when migrations '
            "run twice in one process (tests, app startup). An `await engine.dispose()` after the migrations closes "
            "the pool too, but only when nothing raises before it: then the finding is info; in a `finally:` it is "
            "not reported."
        ),
        example='connectable = async_engine_from_config(section, prefix="sqlalchemy.")',
        instead='connectable = async_engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)',
        fix_safety="Safe: adds the keyword and `from sqlalchemy import pool` when needed.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "engine = create_async_engine('postgresql+asyncpg://u@h/db')\n",
            span="create_async_engine",
            fixed="from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy import pool\n\n"
            "engine = create_async_engine('postgresql+asyncpg://u@h/db', poolclass=pool.NullPool)\n",
        ),
        Example(
            "import sqlalchemy as sa\nfrom sqlalchemy.ext.asyncio import async_engine_from_config\n"
            "from sqlalchemy.pool import NullPool\n\nengine = async_engine_from_config(\n"
            "    {'sqlalchemy.url': 'sqlite+aiosqlite://'},\n    prefix='sqlalchemy.',\n)\n",
            fixed="import sqlalchemy as sa\nfrom sqlalchemy.ext.asyncio import async_engine_from_config\n"
            "from sqlalchemy.pool import NullPool\n\nengine = async_engine_from_config(\n"
            "    {'sqlalchemy.url': 'sqlite+aiosqlite://'},\n    prefix='sqlalchemy.',\n    poolclass=NullPool,\n)\n",
            note="NullPool already imported",
        ),
        Example(
            "from sqlalchemy import pool\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "engine = create_async_engine('postgresql+asyncpg://u@h/db', poolclass=pool.QueuePool)\n",
            span="pool.QueuePool",
            severity=Severity.INFO,
        ),
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "async def run():\n    engine = create_async_engine('postgresql+asyncpg://u@h/db')\n"
            "    async with engine.connect() as conn:\n        pass\n    await engine.dispose()\n",
            span="create_async_engine",
            severity=Severity.INFO,
            message="only an exception raised before 'await engine.dispose()' (line 7)",
            note="awaited dispose() after the block: only an exception before it can leak",
        ),
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "async def run(flag):\n    engine = create_async_engine('postgresql+asyncpg://u@h/db')\n"
            "    async with engine.connect() as conn:\n        pass\n    if flag:\n        await engine.dispose()\n",
            span="create_async_engine",
            severity=Severity.WARNING,
            message="outlives asyncio.run()'s event loop",
            note="a dispose() inside an if may not run",
        ),
    ),
    valid=(
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "async def run():\n    engine = create_async_engine('postgresql+asyncpg://u@h/db')\n"
            "    try:\n        async with engine.connect() as conn:\n            pass\n"
            "    finally:\n        await engine.dispose()\n",
            note="disposed in finally: no connection outlives the loop, even on an exception",
        ),
        Example(
            "import sqlalchemy as sa\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "engine = create_async_engine('postgresql+asyncpg://u@h/db', poolclass=sa.pool.NullPool)\n",
        ),
        Example(
            "from sqlalchemy import NullPool\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "engine = create_async_engine('postgresql+asyncpg://u@h/db', poolclass=NullPool)\n",
        ),
        Example(
            "from sqlalchemy import create_engine\nengine = create_engine('sqlite://')\n",
            note="sync engines are not this rule's concern",
        ),
    ),
)
