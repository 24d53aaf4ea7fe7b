from ..findings import Fix
from ..fixes.edits import replace_node
from ..model.qualify import qualified_name
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ._common import null_pool_expr

SYNC_ONLY = frozenset({"QueuePool", "SingletonThreadPool"})
ASYNC_ONLY = frozenset({"AsyncAdaptedQueuePool"})


def check(ctx: RuleContext) -> None:
    for engine in ctx.facts.engines:
        if engine.poolclass is None or engine.wrapped is not None:
            continue
        qname = qualified_name(engine.poolclass, engine.call.scope)
        text = ctx.source.slice(ctx.range(engine.poolclass))
        name = (qname or text).rsplit(".", 1)[-1]
        if engine.is_async and name in SYNC_ONLY:
            kind = "an asyncio"
        elif not engine.is_async and name in ASYNC_ONLY:
            kind = "a non-asyncio"
        else:
            continue
        expr, imports = null_pool_expr(ctx)
        fix = Fix(f"Use {expr}", (*imports, replace_node(ctx.source, engine.poolclass, expr)))
        ctx.report(
            f"Pool class {name} cannot be used with {kind} engine: SQLAlchemy raises ArgumentError when the engine is "
            f"created (sqlalche.me/e/21/pcls). Migrations want NullPool.",
            engine.poolclass,
            fixes=[fix],
        )


RULE = Rule(
    code="ENV054",
    name="pool-class-mismatch",
    severity=Severity.ERROR,
    summary="`poolclass=` does not fit the engine: `QueuePool`/`SingletonThreadPool` on an async engine, `AsyncAdaptedQueuePool` on a sync one.",
    docs=Docs(
        what=(
            "Checks `poolclass=` of engine factories in env.py: `QueuePool` and `SingletonThreadPool` on "
            "`create_async_engine`/`async_engine_from_config`, and `AsyncAdaptedQueuePool` on "
            "`create_engine`/`engine_from_config`. NullPool, StaticPool and AssertionPool work with both."
        ),
        why=(
            'SQLAlchemy refuses when the engine is built: "Pool class QueuePool cannot be used with asyncio engine" '
            '(or "AsyncAdaptedQueuePool cannot be used with non-asyncio engine").'
        ),
        example='connectable = async_engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.QueuePool)',
        instead='connectable = async_engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)',
        fix_safety="Safe: NullPool is what Alembic's templates use for the short-lived migration engine.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from sqlalchemy import pool\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "engine = create_async_engine('postgresql+asyncpg://u@h/db', poolclass=pool.QueuePool)\n",
            span="pool.QueuePool",
            message="cannot be used with an asyncio engine",
            fixed="from sqlalchemy import pool\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "engine = create_async_engine('postgresql+asyncpg://u@h/db', poolclass=pool.NullPool)\n",
        ),
        Example(
            "from sqlalchemy import create_engine\nfrom sqlalchemy.pool import AsyncAdaptedQueuePool\n\n"
            "engine = create_engine('sqlite://', poolclass=AsyncAdaptedQueuePool)\n",
            span="AsyncAdaptedQueuePool",
            message="a non-asyncio engine",
        ),
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import SingletonThreadPool\n\n"
            "engine = create_async_engine('sqlite+aiosqlite://', poolclass=SingletonThreadPool)\n",
            span="SingletonThreadPool",
        ),
    ),
    valid=(
        Example(
            "from sqlalchemy import pool\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "engine = create_async_engine('sqlite+aiosqlite://', poolclass=pool.StaticPool)\n",
            note="StaticPool works with asyncio engines",
        ),
        Example(
            "from sqlalchemy import create_engine, pool\n\nengine = create_engine('sqlite://', poolclass=pool.QueuePool)\n",
        ),
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import AsyncAdaptedQueuePool\n\n"
            "engine = create_async_engine('sqlite+aiosqlite://', poolclass=AsyncAdaptedQueuePool)\n",
        ),
    ),
)
