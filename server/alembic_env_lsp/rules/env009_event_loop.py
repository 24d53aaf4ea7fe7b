import ast

from ..findings import Fix
from ..fixes.edits import ensure_module_import, replace_node
from ..model import names as N
from ..model.facts import CallFact, EnvFacts, Scope
from ..model.flow import terminates
from ..model.qualify import qualified_name
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s
from ._common import sharing_branch, workspace_view

GET_EVENT_LOOP = frozenset({"asyncio.get_event_loop", "asyncio.events.get_event_loop"})


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    for call in facts.calls:
        if _is_scheduler(call) and _migrations_coroutine(call):
            _report_scheduled(ctx, call)
        elif call.qname in GET_EVENT_LOOP and not _inside_async(call.scope):
            _report_get_event_loop(ctx, call)
        elif call.qname == "nest_asyncio.apply":
            ctx.report(
                "nest_asyncio.apply() patches the running event loop so migrations can run inside it; Alembic's "
                'supported way is the connection-sharing branch (config.attributes["connection"]) or '
                "asyncio.to_thread(command.upgrade, ...) in the caller.",
                call.node,
                severity=Severity.WARNING,
            )
    _check_runner_without_sharing(ctx)


# ---- (b) scheduling instead of running ---------------------------------------------------


def _is_scheduler(call: CallFact) -> bool:
    return call.qname in N.SCHEDULERS or (call.qname is None and call.attr in N.SCHEDULER_METHODS)


def _migrations_coroutine(call: CallFact) -> bool:
    arg = call.node.args[0] if call.node.args else None
    if not isinstance(arg, ast.Call) or not isinstance(arg.func, ast.Name):
        return False
    fn = call.scope.lookup_function(arg.func.id)
    return fn is not None and fn.is_async


def _report_scheduled(ctx: RuleContext, call: CallFact) -> None:
    ctx.report(
        "Scheduling migrations as a task lets env.py return before they run; the 'context' proxy is then gone "
        "(\"'NoneType' object has no attribute 'configure'\") and nothing is applied. Run the coroutine to "
        'completion (asyncio.run) or share a connection through config.attributes["connection"].',
        call.node,
        severity=Severity.ERROR,
    )


# ---- (c) get_event_loop().run_until_complete ---------------------------------------------


def _inside_async(scope: Scope) -> bool:
    while scope is not None:
        if scope.is_async:
            return True
        scope = scope.parent  # type: ignore[assignment]
    return False


def _report_get_event_loop(ctx: RuleContext, call: CallFact) -> None:
    fixes = []
    outer = _outer_run_until_complete(ctx.facts, call)
    if outer is not None and len(outer.node.args) == 1 and not outer.node.keywords:
        asyncio, imports = ensure_module_import(ctx.facts, ctx.source, "asyncio")
        argument = ctx.source.slice(ctx.range(outer.node.args[0]))
        fixes.append(
            Fix(
                f"Use {asyncio}.run(...)",
                (*imports, replace_node(ctx.source, outer.node, f"{asyncio}.run({argument})")),
            )
        )
    ctx.report(
        "asyncio.get_event_loop() outside a running loop is deprecated since Python 3.12 and raises "
        'RuntimeError ("There is no current event loop") on Python 3.14; use asyncio.run().',
        call.node,
        severity=Severity.WARNING,
        fixes=fixes,
    )


def _outer_run_until_complete(facts: EnvFacts, inner: CallFact) -> CallFact | None:
    """`asyncio.get_event_loop().run_until_complete(x)`: the outer call."""
    for call in facts.calls:
        func = call.node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "run_until_complete"
            and func.value is inner.node
        ):
            return call
    return None


# ---- (a) a runner without the connection-sharing branch ----------------------------------


# Runners that create a new asyncio event loop and refuse to start inside a running one.
NEW_LOOP_RUNNERS = frozenset({"asyncio.run", "asyncio.runners.run", "uvloop.run"})


def _reads_attributes(node: ast.AST, scope: Scope, names: set[str]) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id in names:
            return True
        if isinstance(child, ast.Attribute) and child.attr == "attributes":
            if qualified_name(child, scope) == N.CONFIG + ".attributes":
                return True
    return False


def _decided_by_attributes(facts: EnvFacts, call: CallFact) -> bool:
    """Whether a read of config.attributes (any key: a real project uses "connectable")
    decides if the runner runs: it sits under such a test, or follows one that returns."""
    if not facts.attribute_keys:
        return False
    names: set[str] = set()
    for each in facts.scopes:
        for name, assignments in each.assignments.items():
            if any(_reads_attributes(a.value, each, set()) for a in assignments):
                names.add(name)
    if any(_reads_attributes(branch.test, call.scope, names) for branch, _ in call.branches):
        return True
    scope: Scope | None = call.scope
    while scope is not None and scope.node is not None:
        for node in ast.walk(scope.node):
            if (
                isinstance(node, ast.If)
                and node.lineno < call.node.lineno
                and terminates(node.body)
                and _reads_attributes(node.test, scope, names)
            ):
                return True
        scope = scope.parent
    return False


def _check_runner_without_sharing(ctx: RuleContext) -> None:
    facts = ctx.facts
    if "connection" in facts.attribute_keys or not facts.imports_alembic_context:
        return  # without alembic's context the branch the fix writes would not be recognised
    for call in facts.calls:
        if call.qname not in NEW_LOOP_RUNNERS or facts.path_of(call) not in ("online", "both"):
            continue
        if _decided_by_attributes(facts, call):
            continue  # a connection handed in through config.attributes, under another key
        severity = Severity.INFO
        where = ""
        view = workspace_view(ctx)
        if view is not None:
            async_callers = [c for c in view.app_command_calls() if c.in_async]
            if async_callers:
                severity = Severity.WARNING
                first = async_callers[0]
                where = f" This project calls alembic.command.{first.function}() from async code ({_short(view, first.path)}:{first.line + 1})."
        runner = ctx.source.slice(ctx.range(call.node.func))
        fixes = _sharing_fix(ctx, call)
        ctx.report(
            f'{runner}() fails with "asyncio.run() cannot be called from a running event loop" when migrations '
            f"are started from async code (FastAPI lifespan, pytest-asyncio). Add the connection-sharing branch "
            f'(config.attributes["connection"]).{where}',
            call.node,
            severity=severity,
            fixes=fixes,
        )
        return


def _short(view, path: str) -> str:
    import os

    try:
        return os.path.relpath(path, view.root) if view.root else path
    except ValueError:
        return path


def _sharing_fix(ctx: RuleContext, call: CallFact) -> list[Fix]:
    """Replace `asyncio.run(run_async_migrations())` (a whole statement) with the cookbook's
    connection-sharing branch, when the coroutine hands a local function to run_sync()."""
    if not isinstance(call.parent, ast.Expr) or not call.node.args:
        return []
    coroutine = call.node.args[0]
    if (
        not isinstance(coroutine, ast.Call)
        or not isinstance(coroutine.func, ast.Name)
        or coroutine.args
    ):
        return []
    fn = call.scope.lookup_function(coroutine.func.id)
    if fn is None or not fn.is_async:
        return []
    edit = sharing_branch(ctx, call.parent, ctx.source.slice(ctx.range(call.node)), fn)
    if edit is None:
        return []
    return [
        Fix(
            'Add the connection-sharing branch (config.attributes["connection"])',
            (edit,),
            safe=False,
        )
    ]


_SHARING = s.ASYNC_ONLINE.replace(
    "def run_migrations_online():\n    asyncio.run(run_async_migrations())\n",
    "def run_migrations_online():\n"
    '    connectable = config.attributes.get("connection", None)\n'
    "    if connectable is None:\n"
    "        asyncio.run(run_async_migrations())\n"
    "    else:\n"
    "        do_run_migrations(connectable)\n",
)

RULE = Rule(
    code="ENV009",
    name="event-loop-handling",
    severity=Severity.INFO,
    summary="Event-loop handling that breaks async callers: `asyncio.run` without connection sharing, tasks, `get_event_loop()`.",
    docs=Docs(
        what=(
            "(a) `asyncio.run()` (or `uvloop.run()`) on the online path while env.py never reads "
            '`config.attributes["connection"]`: info, warning when the project calls `alembic.command.*` from an '
            "`async def`. (b) The migrations coroutine passed to `create_task`/`ensure_future`: error. "
            "(c) `asyncio.get_event_loop()` outside a coroutine, and `nest_asyncio.apply()`: warning."
        ),
        why=(
            '`asyncio.run()` refuses to start inside a running loop (FastAPI startup, pytest-asyncio): "asyncio.run() '
            'cannot be called from a running event loop". A scheduled task runs after env.py has returned, when '
            "Alembic's `context` proxy is gone: \"'NoneType' object has no attribute 'configure'\", nothing applied. "
            "`get_event_loop()` without a running loop is deprecated since 3.12 and an error on 3.14."
        ),
        example="def run_migrations_online():\n    asyncio.run(run_async_migrations())",
        instead=(
            "def run_migrations_online():\n"
            '    connectable = config.attributes.get("connection", None)\n'
            "    if connectable is None:\n        asyncio.run(run_async_migrations())\n"
            "    else:\n        do_run_migrations(connectable)"
        ),
        fix_safety=(
            "Unsafe: adding the connection-sharing branch changes the structure of run_migrations_online. Safe: "
            "`asyncio.get_event_loop().run_until_complete(x)` becomes `asyncio.run(x)`."
        ),
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            span="asyncio.run(run_async_migrations())",
            message="cannot be called from a running event loop",
            fixed=s.env(_SHARING, imports=s.ASYNC_IMPORTS),
            note="the stock async template: info",
        ),
        Example(
            s.env(
                s.ASYNC_ONLINE.replace(
                    "def run_migrations_online():\n    asyncio.run(run_async_migrations())\n",
                    "def run_migrations_online():\n"
                    '    tenant = config.attributes.get("tenant")\n'
                    "    asyncio.run(run_async_migrations())\n",
                ),
                imports=s.ASYNC_IMPORTS,
            ),
            span="asyncio.run(run_async_migrations())",
            note="config.attributes is read, but nothing decides on it whether asyncio.run runs",
        ),
        Example(
            s.ASYNC_IMPORTS
            + s.HEADER
            + s.ASYNC_ONLINE.replace(
                "    asyncio.run(run_async_migrations())",
                "    loop = asyncio.get_running_loop()\n    loop.create_task(run_async_migrations())",
            ),
            span="loop.create_task(run_async_migrations())",
            severity=Severity.ERROR,
            message="Scheduling migrations as a task",
            note="(b) scheduled as a task",
        ),
        Example(
            s.ASYNC_IMPORTS
            + s.HEADER
            + s.ASYNC_ONLINE.replace(
                "    asyncio.run(run_async_migrations())",
                "    asyncio.get_event_loop().run_until_complete(run_async_migrations())",
            ),
            span="asyncio.get_event_loop()",
            severity=Severity.WARNING,
            fixed=s.ASYNC_IMPORTS + s.HEADER + s.ASYNC_ONLINE,
            note="(c) get_event_loop().run_until_complete",
        ),
        Example(
            "import asyncio\nimport nest_asyncio\nfrom alembic import context\n\nnest_asyncio.apply()\n",
            span="nest_asyncio.apply()",
            severity=Severity.WARNING,
            note="(c) nest_asyncio",
        ),
    ),
    valid=(
        Example(
            s.env(
                s.ASYNC_ONLINE.replace(
                    "def run_migrations_online():\n    asyncio.run(run_async_migrations())\n",
                    "def run_migrations_online():\n"
                    '    connectable = config.attributes.get("connectable")\n'
                    "    if connectable is not None:\n"
                    "        do_run_migrations(connectable)\n"
                    "        return\n"
                    "    asyncio.run(run_async_migrations())\n",
                ),
                imports=s.ASYNC_IMPORTS,
            ),
            note="another key, and an early return: the read of config.attributes decides",
        ),
        Example(
            s.env(
                _SHARING.replace('get("connection", None)', 'get("connectable", None)'),
                imports=s.ASYNC_IMPORTS,
            ),
            note="connection sharing under the key 'connectable'",
        ),
        Example(
            s.env(_SHARING, imports=s.ASYNC_IMPORTS),
            note="connection sharing with .get('connection')",
        ),
        Example(
            s.env(
                _SHARING.replace(
                    'config.attributes.get("connection", None)',
                    'config.attributes["connection"] if "connection" in config.attributes else None',
                ),
                imports=s.ASYNC_IMPORTS,
            ),
            note="connection sharing with ['connection']",
        ),
        Example(s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS), note="sync template: no event loop"),
        Example(
            "import asyncio\n\nasync def main():\n    loop = asyncio.get_event_loop()\n    await loop.run_in_executor(None, print)\n",
            note="get_event_loop inside a coroutine returns the running loop",
        ),
        Example(
            "import asyncio\n\nasync def main():\n    pass\n\nloop = asyncio.new_event_loop()\nloop.run_until_complete(main())\n",
            note="a new loop is fine",
        ),
        Example(
            "from prefect.utilities.asyncutils import run_async_from_worker_thread\n\n"
            "async def apply():\n    pass\n\nrun_async_from_worker_thread(apply)\n",
            note="Prefect runs the coroutine from a worker thread on purpose",
        ),
    ),
)
