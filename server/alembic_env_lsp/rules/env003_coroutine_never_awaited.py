import ast

from ..findings import Fix
from ..fixes.edits import ensure_module_import, insert_at, replace_node
from ..model import names as N
from ..model.facts import CallFact, Kind
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s
from ._common import sharing_branch

_KNOWN_ASYNC = (Kind.ASYNC_CONNECTION, Kind.ASYNC_ENGINE)


def check(ctx: RuleContext) -> None:
    for call in ctx.facts.calls:
        target = _local_async_function(call)
        if target is not None and call.is_statement and not call.awaited:
            _report_unrun_call(ctx, call, target.name)
        elif _unawaited_async_method(call):
            name = f"{call.receiver}.{call.attr}" if call.receiver else call.attr
            fix = Fix("Add 'await'", (insert_at(ctx.range(call.node).start, "await "),))
            ctx.report(
                f"'{name}()' returns a coroutine that is never awaited; it does nothing "
                f"(\"coroutine ... was never awaited\"). Add 'await'.",
                call.node,
                fixes=[fix],
            )
        if call.attr == "run_sync" and call.node.args:
            _check_async_target(ctx, call)


def _local_async_function(call: CallFact):
    func = call.node.func
    if not isinstance(func, ast.Name):
        return None
    fn = call.scope.lookup_function(func.id)
    return fn if fn is not None and fn.is_async else None


def _report_unrun_call(ctx: RuleContext, call: CallFact, name: str) -> None:
    message = (
        f"'{name}()' returns a coroutine that is never awaited. Migrations will silently not run "
        f"(exit code 0)."
    )
    if call.scope.is_async and call.scope.name != "<lambda>":
        fix = Fix("Add 'await'", (insert_at(ctx.range(call.node).start, "await "),))
    else:
        asyncio, imports = ensure_module_import(ctx.facts, ctx.source, "asyncio")
        text = ctx.source.slice(ctx.range(call.node))
        run = f"{asyncio}.run({text})"
        edit = replace_node(ctx.source, call.node, run)
        fn = call.scope.lookup_function(name)
        if (
            "connection" not in ctx.facts.attribute_keys
            and ctx.facts.imports_alembic_context
            and isinstance(call.parent, ast.Expr)
            and not call.node.args
            and fn is not None
            and ctx.facts.on_online_path(call)
        ):
            # asyncio.run() alone breaks async callers (ENV009): write the sharing branch too
            edit = sharing_branch(ctx, call.parent, run, fn) or edit
        fix = Fix(f"Run it with {asyncio}.run(...)", (*imports, edit))
    ctx.report(message, call.node, fixes=[fix])


def _unawaited_async_method(call: CallFact) -> bool:
    if call.awaited or not call.is_statement or call.attr not in N.ASYNC_METHODS:
        return False
    if not call.scope.is_async:
        return False
    if call.attr == "run_sync":
        return True  # only asyncio objects have run_sync
    if call.receiver is None:
        return False
    receiver = call.node.func.value  # type: ignore[attr-defined]
    binding = call.scope.kind_at(receiver)
    return binding is not None and binding.kind in _KNOWN_ASYNC


def _check_async_target(ctx: RuleContext, call: CallFact) -> None:
    arg = call.node.args[0]
    if not isinstance(arg, ast.Name):
        return
    fn = call.scope.lookup_function(arg.id)
    if fn is None or not fn.is_async:
        return
    fixes = []
    node = fn.node
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return
    if not any(isinstance(n, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for n in ast.walk(node)):
        start = ctx.source.from_utf8(node.lineno, node.col_offset)
        line = ctx.source.line(start.line)
        if line[start.character :].startswith("async def"):
            end = type(start)(start.line, start.character + len("async "))
            from ..text import Range, TextEdit

            fixes.append(Fix(f"Make '{fn.name}' a plain def", (TextEdit(Range(start, end), ""),)))
    ctx.report(
        f"run_sync() calls '{fn.name}' without awaiting it: an async def passed to run_sync() only creates a "
        f"coroutine that is never awaited, so migrations silently do not run.",
        arg,
        fixes=fixes,
    )


RULE = Rule(
    code="ENV003",
    name="coroutine-never-awaited",
    severity=Severity.ERROR,
    summary="An async function or coroutine method is called but never awaited or run, so migrations silently do nothing.",
    docs=Docs(
        what=(
            "Finds calls to `async def` functions of env.py that are neither awaited nor handed to "
            "`asyncio.run()`; un-awaited `run_sync()`, `dispose()`, `commit()`... on async connections and "
            "engines; and `async def` functions passed to `run_sync()`."
        ),
        why=(
            "Calling an `async def` only creates a coroutine object. Python prints `RuntimeWarning: coroutine "
            "'run_async_migrations' was never awaited`, Alembic exits 0, and no migration is applied."
        ),
        example="run_async_migrations()",
        instead="asyncio.run(run_async_migrations())",
        fix_safety=(
            "Safe: wraps the call in `asyncio.run(...)` (adding `import asyncio`; on the online path, inside the "
            "connection-sharing branch so async callers keep working), adds `await`, or turns an "
            "`async def` that awaits nothing into a plain `def`."
        ),
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.ASYNC_IMPORTS
            + s.HEADER
            + s.ASYNC_ONLINE.replace(
                "    asyncio.run(run_async_migrations())", "    run_async_migrations()"
            ),
            span="run_async_migrations()",
            message="'run_async_migrations()' returns a coroutine that is never awaited",
            fixed=s.ASYNC_IMPORTS + s.HEADER + s.ASYNC_ONLINE,
        ),
        Example(
            s.ASYNC_IMPORTS
            + s.HEADER
            + s.ASYNC_ONLINE.replace(
                "    asyncio.run(run_async_migrations())", "    run_async_migrations()"
            )
            + "\n\nrun_migrations_online()\n",
            span="run_async_migrations()",
            fixed=s.ASYNC_IMPORTS
            + s.HEADER
            + s.ASYNC_ONLINE.replace(
                "    asyncio.run(run_async_migrations())\n",
                '    connectable = config.attributes.get("connection", None)\n'
                "    if connectable is None:\n"
                "        asyncio.run(run_async_migrations())\n"
                "    else:\n"
                "        do_run_migrations(connectable)\n",
            )
            + "\n\nrun_migrations_online()\n",
            note="on the online path: asyncio.run() with the connection-sharing branch (no ENV009 after)",
        ),
        Example(
            "async def main():\n    pass\n\nmain()\n",
            fixed="import asyncio\nasync def main():\n    pass\n\nasyncio.run(main())\n",
            note="asyncio not imported yet",
        ),
        Example(
            "async def run(engine):\n    async with engine.connect() as connection:\n"
            "        connection.run_sync(do_run_migrations)\n",
            span="connection.run_sync(do_run_migrations)",
            fixed="async def run(engine):\n    async with engine.connect() as connection:\n"
            "        await connection.run_sync(do_run_migrations)\n",
            note="missing await on run_sync",
        ),
        Example(
            "async def do_run_migrations(connection):\n    context.configure(connection=connection)\n\n"
            "async def run(connection):\n    await connection.run_sync(do_run_migrations)\n",
            span="do_run_migrations",
            fixed="def do_run_migrations(connection):\n    context.configure(connection=connection)\n\n"
            "async def run(connection):\n    await connection.run_sync(do_run_migrations)\n",
            note="async def passed to run_sync",
        ),
    ),
    valid=(
        Example(s.ASYNC_IMPORTS + s.HEADER + s.ASYNC_ONLINE, note="the async template"),
        Example(
            "import asyncio\nasync def main():\n    pass\n\nloop = asyncio.new_event_loop()\n"
            "loop.run_until_complete(main())\n",
            note="run_until_complete drives the coroutine",
        ),
        Example(
            "import anyio\nasync def main():\n    pass\n\nanyio.run(main)\n",
            note="anyio.run takes the function",
        ),
        Example(
            "async def main():\n    pass\n\nasync def outer():\n    coro = main()\n    await coro\n",
            note="assigned, then awaited",
        ),
        Example(
            "async def run(engine):\n    async with engine.begin() as connection:\n"
            "        await connection.run_sync(lambda c: None)\n",
            note="begin() used with async with",
        ),
    ),
)
