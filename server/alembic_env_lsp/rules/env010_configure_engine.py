import ast

from ..model.facts import Kind
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ._common import path_note


def check(ctx: RuleContext) -> None:
    engine_calls = {id(e.call.node) for e in ctx.facts.engines}
    for configure in ctx.facts.configures:
        value = configure.keyword("connection")
        if value is None:
            continue
        kind = None
        if isinstance(value, ast.Name):
            binding = configure.call.scope.kind_at(value)
            kind = binding.kind if binding else None
        elif isinstance(value, ast.Call) and id(value) in engine_calls:
            kind = Kind.ENGINE
        if kind not in (Kind.ENGINE, Kind.ASYNC_ENGINE):
            continue
        text = ctx.source.slice(ctx.range(value))
        when = path_note(ctx, value, configure.call.scope)
        ctx.report(
            f"'connection' must be a Connection, not an {kind.value}{when}: Alembic raises \"'connection' argument to "
            f'configure() is expected to be a sqlalchemy.engine.Connection instance, got Engine(...)". '
            f"Use 'with {text}.connect() as connection:'.",
            value,
        )


RULE = Rule(
    code="ENV010",
    name="configure-engine",
    severity=Severity.ERROR,
    summary="`context.configure(connection=...)` gets an Engine or AsyncEngine instead of a Connection.",
    docs=Docs(
        what="Finds `context.configure(connection=engine)` where the value is an engine built in env.py.",
        why=(
            "Alembic needs a Connection: `FAILED: 'connection' argument to configure() is expected to be a "
            "sqlalchemy.engine.Connection instance, got Engine(sqlite:///./a.db)`."
        ),
        example="engine = engine_from_config(...)\ncontext.configure(connection=engine)",
        instead="with engine.connect() as connection:\n    context.configure(connection=connection)",
        fix_safety="No automatic fix: the code around it must move into a `with` block.",
    ),
    check=check,
    invalid=(
        Example(
            "from sqlalchemy import create_engine\nfrom alembic import context\n"
            "engine = create_engine('sqlite://')\ncontext.configure(connection=engine)\n",
            span="engine",
            message="not an Engine",
        ),
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\nfrom alembic import context\n"
            "context.configure(connection=create_async_engine('sqlite+aiosqlite://'))\n",
            span="create_async_engine('sqlite+aiosqlite://')",
        ),
    ),
    valid=(
        Example(
            "from sqlalchemy import create_engine\nfrom alembic import context\n"
            "engine = create_engine('sqlite://')\nwith engine.connect() as connection:\n"
            "    context.configure(connection=connection)\n",
        ),
        Example(
            "from alembic import context\nconnectable = context.config.attributes.get('connection')\n"
            "context.configure(connection=connectable)\n",
            note="a caller-supplied connection cannot be typed statically",
        ),
    ),
)
