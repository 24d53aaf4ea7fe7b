import ast

from ..findings import Fix
from ..fixes.edits import remove_keyword, replace_node
from ..model.qualify import qualified_name
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ..text import Range, TextEdit


def check(ctx: RuleContext) -> None:
    for call in ctx.facts.calls:
        if call.attr != "run_sync" or not call.node.args:
            continue
        target = call.node.args[0]
        q = qualified_name(target, call.scope)
        if q == "alembic.context.run_migrations":
            ctx.report(
                "run_sync() passes the connection as the first argument, but context.run_migrations() takes no "
                "positional arguments (TypeError). Call it from the function you pass to run_sync().",
                target,
                fixes=_wrap_in_lambda(ctx, call.node),
            )
        elif q == "alembic.context.configure" and call.keyword("connection") is not None:
            edit = remove_keyword(ctx.source, call.node, "connection")
            keyword = next(k for k in call.node.keywords if k.arg == "connection")
            ctx.report(
                "run_sync() already passes the sync connection as 'connection'; remove connection=... "
                "(TypeError: got multiple values for argument 'connection').",
                keyword,
                fixes=[Fix("Remove connection=...", (edit,))] if edit else [],
            )
        elif isinstance(target, ast.Name):
            fn = call.scope.lookup_function(target.id)
            if fn is None or fn.params or fn.has_varargs or fn.is_async:
                continue
            ctx.report(
                f"'{fn.name}' must accept the Connection that run_sync() passes as its first argument "
                f"(TypeError: {fn.name}() takes 0 positional arguments but 1 was given).",
                target,
                fixes=_add_parameter(ctx, fn),
            )


def _wrap_in_lambda(ctx: RuleContext, call: ast.Call) -> list[Fix]:
    """run_sync(context.run_migrations, k=v) -> run_sync(lambda _connection: context.run_migrations(k=v)):
    run_sync() hands its other arguments to the function, so they move into the call."""
    target, extra = call.args[0], [*call.args[1:], *call.keywords]
    if any(not isinstance(a, ast.keyword) for a in extra):
        return []  # extra positional arguments: run_migrations() takes none, no reading is right
    text = ctx.source.slice(ctx.range(target))
    if not extra:
        return [
            Fix(
                "Wrap it in a lambda",
                (replace_node(ctx.source, target, f"lambda _connection: {text}()"),),
            )
        ]
    span = Range(ctx.range(target).start, ctx.range(extra[-1]).end)
    arguments = ctx.source.slice(Range(ctx.range(target).end, span.end))
    if "#" in arguments:
        return []  # a comment among the arguments would be lost
    moved = ", ".join(ctx.source.slice(ctx.range(a)) for a in extra)
    return [Fix("Wrap it in a lambda", (TextEdit(span, f"lambda _connection: {text}({moved})"),))]


def _add_parameter(ctx: RuleContext, fn) -> list[Fix]:
    node = fn.node
    start = ctx.source.from_utf8(node.lineno, node.col_offset)
    line = ctx.source.line(start.line)
    open_paren = line.find(f"{fn.name}(", start.character)
    if open_paren == -1:
        return []
    at = start.__class__(start.line, open_paren + len(fn.name) + 1)
    following = line[at.character :].lstrip()
    text = "connection" if following.startswith(")") else "connection, "
    return [Fix("Add a 'connection' parameter", (TextEdit(Range(at, at), text),))]


RULE = Rule(
    code="ENV006",
    name="run-sync-misuse",
    severity=Severity.ERROR,
    summary="`run_sync()` given `context.run_migrations`, `context.configure(connection=...)`, or a function without a connection parameter.",
    docs=Docs(
        what=(
            "Checks what is passed to `AsyncConnection.run_sync(fn, *args, **kw)`, which calls "
            "`fn(sync_connection, *args, **kw)`."
        ),
        why=(
            "`run_sync(context.run_migrations)` raises `TypeError: EnvironmentContext.run_migrations() takes 1 "
            "positional argument but 2 were given`; `run_sync(context.configure, connection=conn)` raises "
            "`got multiple values for argument 'connection'`; a target without a parameter raises `takes 0 "
            "positional arguments but 1 was given`."
        ),
        example="await connection.run_sync(context.run_migrations)",
        instead=(
            "def do_run_migrations(connection):\n"
            "    context.configure(connection=connection, target_metadata=target_metadata)\n"
            "    with context.begin_transaction():\n        context.run_migrations()\n\n"
            "await connection.run_sync(do_run_migrations)"
        ),
        fix_safety="Safe: wraps in a lambda, removes the duplicate keyword, or adds the missing parameter.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from alembic import context\n\nasync def run(connection):\n"
            "    await connection.run_sync(context.run_migrations)\n",
            span="context.run_migrations",
            fixed="from alembic import context\n\nasync def run(connection):\n"
            "    await connection.run_sync(lambda _connection: context.run_migrations())\n",
        ),
        Example(
            "from alembic import context\n\nasync def run(connection):\n"
            "    await connection.run_sync(context.configure, connection=connection, target_metadata=None)\n",
            span="connection=connection",
            fixed="from alembic import context\n\nasync def run(connection):\n"
            "    await connection.run_sync(context.configure, target_metadata=None)\n",
        ),
        Example(
            "def do_run_migrations():\n    pass\n\nasync def run(connection):\n"
            "    await connection.run_sync(do_run_migrations)\n",
            span="do_run_migrations",
            fixed="def do_run_migrations(connection):\n    pass\n\nasync def run(connection):\n"
            "    await connection.run_sync(do_run_migrations)\n",
        ),
    ),
    valid=(
        Example(
            "from alembic import context\n\nasync def run(connection):\n"
            "    await connection.run_sync(context.configure, target_metadata=None)\n",
            note="configure receives the sync connection positionally (verified X6)",
        ),
        Example(
            "def do_run_migrations(connection, schema):\n    pass\n\nasync def run(connection):\n"
            "    await connection.run_sync(do_run_migrations, 'public')\n",
        ),
        Example(
            "def f(*args):\n    pass\n\nasync def run(connection):\n    await connection.run_sync(f)\n"
        ),
    ),
)
