import ast

from ..model.facts import Kind, Scope
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ._common import workspace_view

MESSAGE = (
    "{what} is the application's pooled AsyncEngine{detail}; reusing it in env.py breaks the second asyncio.run() in "
    'the same process ("... attached to a different loop"). Build a dedicated NullPool engine from its URL: '
    "create_async_engine({expr}.url, poolclass=pool.NullPool)."
)


def check(ctx: RuleContext) -> None:
    reported: set[str] = set()
    for with_fact in ctx.facts.withs:
        if not with_fact.is_async:
            continue
        expr = with_fact.item.context_expr
        if not (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr in ("connect", "begin")
        ):
            continue
        target = expr.func.value
        text = ctx.source.slice(ctx.range(target))
        if text in reported:
            continue
        finding = _app_engine(ctx, target, with_fact.scope)
        if finding is None:
            continue
        what, detail = finding
        reported.add(text)
        ctx.report(MESSAGE.format(what=what, detail=detail, expr=text), target)


def _app_engine(ctx: RuleContext, target: ast.expr, scope: Scope) -> tuple[str, str] | None:
    if isinstance(target, ast.Attribute) and target.attr in ("engine", "async_engine"):
        return f"'{ctx.source.slice(ctx.range(target))}'", ""
    if not isinstance(target, ast.Name):
        return None
    binding = scope.kind_at(target)
    if binding is not None and binding.kind is Kind.ASYNC_ENGINE:
        return None  # built in env.py: ENV050 checks its pool
    name = target.id
    assignment = scope.last_assignment(name)
    if assignment is not None:
        value = assignment.value
        if isinstance(value, ast.Attribute) and value.attr in ("engine", "async_engine"):
            return f"'{name}' ({ctx.source.slice(ctx.range(value))})", ""
        if isinstance(value, ast.Name):
            name = value.id
        else:
            return None
    if name not in ctx.facts.module.aliases:
        return None
    from ..workspace import AssignInfo

    view = workspace_view(ctx)
    if view is None:
        return None
    definition = view.definition(name)
    if definition is None or view.kind_of(definition) != "async engine":
        return None
    info = definition.info
    assert isinstance(info, AssignInfo)
    pool = dict(info.keywords).get("poolclass", "")
    if pool.endswith("NullPool"):
        return None
    where = f" (created in {definition.module} without poolclass=NullPool)"
    return f"'{target.id}'", where


_ENGINE_MODULE = (
    "app/db.py",
    "from sqlalchemy.ext.asyncio import create_async_engine\n\nengine = create_async_engine('postgresql+asyncpg://app@db/app')\n",
)
_ENV = """import asyncio

from alembic import context

from app.db import engine


def do_run_migrations(connection):
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations():
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)


asyncio.run(run_async_migrations())
"""

RULE = Rule(
    code="ENV052",
    name="app-engine-reused",
    severity=Severity.WARNING,
    summary="env.py runs migrations on the application's pooled AsyncEngine instead of a NullPool engine of its own.",
    docs=Docs(
        what=(
            "Finds `async with X.connect()`/`X.begin()` where X is the application's engine: an imported name that the "
            "workspace resolves to a module-level `create_async_engine(...)` without `poolclass=NullPool`, or an "
            "attribute such as `app.state.engine` / `settings.engine`. Engines env.py builds itself are ENV050's."
        ),
        why=(
            "`asyncio.run()` closes its event loop when env.py finishes, but the app engine's pool keeps connections "
            "bound to that loop: the next migration run in the same process (tests, a second command) fails with "
            '"... attached to a different loop", and connections leak.'
        ),
        example="from app.db import engine\n\nasync with engine.connect() as connection:\n    await connection.run_sync(do_run_migrations)",
        instead=(
            "from app.db import engine\n\nconnectable = create_async_engine(engine.url, poolclass=pool.NullPool)\n"
            "async with connectable.connect() as connection:\n    await connection.run_sync(do_run_migrations)\n"
            "await connectable.dispose()"
        ),
        fix_safety="No automatic fix: where the URL and engine options come from is the project's choice.",
    ),
    check=check,
    invalid=(
        Example(
            _ENV,
            ini="[alembic]\nscript_location = %(here)s\n",
            files=(("app/__init__.py", ""), _ENGINE_MODULE),
            span="engine",
            message="(created in app.db without poolclass=NullPool)",
        ),
        Example(
            _ENV.replace("from app.db import engine", "from app.main import app").replace(
                "engine.connect()", "app.state.engine.connect()"
            ),
            span="app.state.engine",
            note="an attribute of an application object",
        ),
    ),
    valid=(
        Example(
            _ENV,
            ini="[alembic]\nscript_location = %(here)s\n",
            files=(
                ("app/__init__.py", ""),
                ("app/db.py", _ENGINE_MODULE[1].replace("app')", "app', poolclass=NullPool)")),
            ),
            note="the app's engine already uses NullPool",
        ),
        Example(_ENV, note="no workspace: the imported engine cannot be resolved"),
        Example(
            _ENV.replace(
                "    async with engine.connect() as connection:",
                "    connectable = create_async_engine(engine.url, poolclass=pool.NullPool)\n"
                "    async with connectable.connect() as connection:",
            ).replace(
                "import asyncio\n",
                "import asyncio\n\nfrom sqlalchemy import pool\nfrom sqlalchemy.ext.asyncio import create_async_engine\n",
            ),
            note="a dedicated engine built from the app's URL",
        ),
    ),
)
