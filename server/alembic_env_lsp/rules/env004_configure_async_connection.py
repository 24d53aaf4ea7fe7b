import ast

from ..findings import Fix, Severity
from ..fixes.edits import replace_node
from ..fixes.rewrites import repair_fix
from ..model.facts import Kind
from ..rule import Docs, Example, Rule, RuleContext
from . import _snippets as s


def run_sync_targets(facts) -> set[str]:
    return {
        c.node.args[0].id
        for c in facts.calls
        if c.attr == "run_sync" and c.node.args and isinstance(c.node.args[0], ast.Name)
    }


def _is_async_connection(ctx: RuleContext, expr, scope, targets: set[str]) -> bool:
    if not isinstance(expr, ast.Name):
        return False
    if scope.name in targets and any(p.arg == expr.id for p in scope.params[:1]):
        return False  # run_sync passes a sync Connection, whatever the annotation says
    binding = scope.kind_at(expr)
    return binding is not None and binding.kind is Kind.ASYNC_CONNECTION


def _configured_again(facts, configure, var: str):
    """`await <var>.run_sync(fn)` after this configure() in the same scope, where fn calls
    configure() again with the sync Connection: that one is the configuration that runs."""
    scope = configure.call.scope
    for call in scope.calls:
        if (
            call.attr == "run_sync"
            and call.receiver == var
            and call.node.lineno >= configure.call.node.lineno
            and call.node.args
            and isinstance(call.node.args[0], ast.Name)
        ):
            fn = scope.lookup_function(call.node.args[0].id)
            again = [c for c in facts.configures if fn is not None and c.call.scope is fn]
            if again:
                return again[0]
    return None


def _report_overridden(ctx: RuleContext, first, later) -> None:
    kept = {kw.arg for kw in later.call.node.keywords}
    lost = [
        kw.arg
        for kw in first.call.node.keywords
        if kw.arg is not None and kw.arg != "connection" and kw.arg not in kept
    ]
    what = (
        f"its {', '.join(f'{k}=' for k in lost)} {'is' if len(lost) == 1 else 'are'} lost"
        if lost
        else "it has no effect"
    )
    ctx.report(
        f"This context.configure() is replaced by the one in '{later.call.scope.name}()' that run_sync() runs "
        f"(line {later.call.node.lineno}): {what}. Pass those options there.",
        first.call.node.func,
        severity=Severity.WARNING,
    )


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    targets = run_sync_targets(facts)
    repair = None
    for configure in facts.configures:
        connection = configure.keyword("connection")
        if isinstance(connection, ast.Name) and _is_async_connection(
            ctx, connection, configure.call.scope, targets
        ):
            later = _configured_again(facts, configure, connection.id)
            if later is not None:
                _report_overridden(ctx, configure, later)
                continue
            repair = repair or _repair(ctx)
            ctx.report(
                f"context.configure() needs a synchronous Connection, but '{connection.id}' is an "
                f"AsyncConnection. Use 'await {connection.id}.run_sync(do_run_migrations)'.",
                connection,
                fixes=[repair] if repair else [],
            )
    # `run_sync(do_run_migrations(connection))` is reported once, as the run_sync misuse below
    run_sync_args = {
        id(c.node.args[0]) for c in facts.calls if c.attr == "run_sync" and c.node.args
    }
    for call in facts.calls:
        func = call.node.func
        if isinstance(func, ast.Name) and not call.awaited and id(call.node) not in run_sync_args:
            fn = call.scope.lookup_function(func.id)
            if fn is not None and not fn.is_async:
                for arg in call.node.args:
                    if isinstance(arg, ast.Name) and _is_async_connection(
                        ctx, arg, call.scope, targets
                    ):
                        repair = repair or _repair(ctx)
                        ctx.report(
                            f"'{func.id}()' runs Alembic synchronously, but '{arg.id}' is an AsyncConnection. "
                            f"Use 'await {arg.id}.run_sync({func.id})'.",
                            call.node,
                            fixes=[repair] if repair else [],
                        )
        if call.attr == "run_sync" and call.node.args and isinstance(call.node.args[0], ast.Call):
            inner = call.node.args[0]
            text = ctx.source.slice(ctx.range(inner.func))
            fix = Fix(
                f"Pass '{text}' itself to run_sync()", (replace_node(ctx.source, inner, text),)
            )
            ctx.report(
                f"run_sync() needs a callable: '{ctx.source.slice(ctx.range(inner))}' is called right away, "
                f"with the AsyncConnection. Pass '{text}'; run_sync() calls it with a sync Connection.",
                inner,
                fixes=[fix] if not inner.keywords and len(inner.args) <= 1 else [],
            )
    for name in targets:
        fn = facts.module.functions.get(name)
        if fn is not None and fn.params and _annotation(fn.params[0]) == "AsyncConnection":
            ctx.report(
                f"run_sync() passes '{name}' a sync Connection; the AsyncConnection annotation is wrong.",
                fn.params[0],
                severity=Severity.HINT,
            )


def _repair(ctx: RuleContext):
    return repair_fix(
        ctx.source.text,
        "ENV004",
        "Move configure/run_migrations into do_run_migrations, called through run_sync()",
    )


def _annotation(param: ast.arg) -> str | None:
    a = param.annotation
    if isinstance(a, ast.Name):
        return a.id
    if isinstance(a, ast.Attribute):
        return a.attr
    return None


RULE = Rule(
    code="ENV004",
    name="configure-async-connection",
    severity=Severity.ERROR,
    summary="`context.configure(connection=...)` (or a sync helper) gets an `AsyncConnection` instead of a sync `Connection`.",
    docs=Docs(
        what=(
            "Finds an AsyncConnection (from `async with engine.connect() as conn`) handed to `context.configure`, "
            "to a sync helper such as `do_run_migrations(conn)`, or a call like `run_sync(do_run_migrations(conn))` "
            "that runs the helper immediately instead of passing it."
        ),
        why=(
            "Alembic uses SQLAlchemy's synchronous API. The first call fails with `ArgumentError: The argument "
            "passed to Dialect.has_table() should be a <class 'sqlalchemy.engine.base.Connection'>, got <class "
            "'sqlalchemy.ext.asyncio.engine.AsyncConnection'>`. `AsyncConnection.run_sync(fn)` is the bridge: it "
            "calls `fn(sync_connection)` inside a greenlet."
        ),
        example="async with connectable.connect() as connection:\n    context.configure(connection=connection)",
        instead="async with connectable.connect() as connection:\n    await connection.run_sync(do_run_migrations)",
        fix_safety=(
            "Safe for `run_sync(f(conn))` → `run_sync(f)`. Unsafe (review it) when the fix moves `configure`/"
            "`begin_transaction`/`run_migrations` into `def do_run_migrations(connection)` called through `run_sync()`."
        ),
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from alembic import context\n\nasync def run(engine):\n"
            "    async with engine.connect() as connection:\n"
            "        context.configure(connection=connection)\n",
            span="connection",
            message="'connection' is an AsyncConnection",
        ),
        Example(
            "def do_run_migrations(connection):\n    pass\n\nasync def run(engine):\n"
            "    async with engine.connect() as connection:\n"
            "        await connection.run_sync(do_run_migrations(connection))\n",
            span="do_run_migrations(connection)",
            fixed="def do_run_migrations(connection):\n    pass\n\nasync def run(engine):\n"
            "    async with engine.connect() as connection:\n"
            "        await connection.run_sync(do_run_migrations)\n",
        ),
        Example(
            "def do_run_migrations(connection):\n    pass\n\nasync def run(engine):\n"
            "    async with engine.connect() as connection:\n"
            "        do_run_migrations(connection)\n",
            span="do_run_migrations(connection)",
        ),
    ),
    valid=(
        Example(s.ASYNC_IMPORTS + s.HEADER + s.ASYNC_ONLINE, note="the async template"),
        Example(
            "from alembic import context\n\nasync def run(engine):\n"
            "    async with engine.connect() as connection:\n"
            "        await connection.run_sync(lambda c: context.configure(connection=c))\n",
            note="the lambda parameter is a sync Connection",
        ),
        Example(
            "def do_run_migrations(connection):\n    pass\n\n"
            "from alembic import context\nconfig = context.config\n"
            "connectable = config.attributes.get('connection', None)\n"
            "if connectable is not None:\n    do_run_migrations(connectable)\n",
            note="the connection-sharing branch passes a sync Connection",
        ),
    ),
)
