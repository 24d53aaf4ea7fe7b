import ast

from ..findings import Fix
from ..fixes.edits import insert_at
from ..model.facts import EnvFacts, Scope
from ..model.paths import dispatch_in_module, scope_within
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ..text import Position, Range
from . import _snippets as s
from ._common import user_calls

CONFIGURE = "alembic.context.configure"
RUN = "alembic.context.run_migrations"


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    if _does_nothing(facts.tree):
        # An env script Alembic finds (or the user names) but that is empty: every
        # command "succeeds". Editors only analyse files that import alembic, so this
        # is seen by `check` on a project whose env.py was emptied or never written.
        ctx.report(
            "env.py is empty: nothing runs, and every alembic command exits 0 without "
            "applying anything.",
            Range(Position(0, 0), Position(0, 0)),
        )
        return
    if not facts.imports_alembic_context:
        return
    runs = facts.calls_named(RUN)
    if not facts.configures and not runs:
        _nothing_dispatched(ctx)
        return
    leads = _functions_leading_to_migrations(facts)
    uncalled = {
        name
        for name, fn in leads.items()
        if fn.node is not None
        and name not in facts.loaded_names
        and not getattr(fn.node, "decorator_list", None)
    }
    # configure() calls outside the never-called functions: the modes that do run
    running = {
        c.mode
        for c in facts.configures
        if not any(scope_within(c.call.scope, leads[name]) for name in uncalled)
    }
    reported: set[str] = set()
    for name in sorted(uncalled, key=lambda n: leads[n].node.lineno):  # type: ignore[union-attr]
        fn = leads[name]
        node = fn.node
        if node is None:
            continue
        mode = _mode_of(facts, fn)
        if mode is not None and mode in running:
            continue  # a leftover helper: that mode's migrations run elsewhere (inline)
        reported.add(name)
        what = {
            "online": "online migrations ('alembic upgrade') never run",
            "offline": "'alembic upgrade --sql' writes nothing",
        }.get(mode or "", "its migrations never run")
        start = ctx.source.from_utf8(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        line = ctx.source.line(start.line)
        name_at = line.find(name, start.character)
        rng = (
            ctx.range(node)
            if name_at < 0
            else Range(Position(start.line, name_at), Position(start.line, name_at + len(name)))
        )
        ctx.report(
            f"'{name}' is defined but never called: {what}, and alembic exits 0 as if all went well.",
            rng,
            fixes=_else_branch_fix(ctx, fn, mode),
        )
    for mode in ("online", "offline"):
        on_path = [c for c in facts.configures if facts.path_of(c.call) in (mode, "both")]
        if not on_path or any(facts.path_of(r) in (mode, "both") for r in runs):
            continue
        configure = on_path[0]
        if user_calls(configure.call.scope.calls):
            continue  # project code may run them
        ctx.report(
            f"context.configure() runs in {mode} mode but context.run_migrations() is never called there: alembic "
            f"exits 0 without applying anything.",
            configure.call.node.func,
        )


def _does_nothing(tree: ast.Module) -> bool:
    """No statement but a docstring, `pass` or `...` (comments and blank lines aside)."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring or a bare `...`
        return False
    return True


def _nothing_dispatched(ctx: RuleContext) -> None:
    facts = ctx.facts
    if user_calls(facts.calls):
        return  # env.py hands over to the project's own code
    anchor = next(
        (
            i.stmt
            for i in facts.imports
            if i.module == "alembic" or any(n.startswith("alembic") for n, _ in i.names)
        ),
        None,
    )
    where = (
        ctx.range(anchor)
        if anchor is not None
        else ctx.range(facts.tree.body[0])
        if facts.tree.body
        else None
    )
    if where is None:
        return
    ctx.report(
        "env.py never calls context.configure() or context.run_migrations(): every alembic command exits 0 without "
        "applying anything.",
        where,
    )


def _functions_leading_to_migrations(facts: EnvFacts) -> dict[str, Scope]:
    module = facts.module
    direct: set[str] = set()
    callees: dict[str, set[str]] = {}
    calls_by_top: dict[str, list] = {name: [] for name in module.functions}
    for scope in facts.scopes:
        top = _top_level(scope)
        if top is not None and top.name in calls_by_top and module.functions[top.name] is top:
            calls_by_top[top.name].extend(scope.calls)
    for name in module.functions:
        calls = calls_by_top[name]
        if any(c.qname in (CONFIGURE, RUN) for c in calls):
            direct.add(name)
        targets: set[str] = set()
        for c in calls:
            node = c.node
            for expr in [node.func, *node.args, *(k.value for k in node.keywords)]:
                if isinstance(expr, ast.Name) and expr.id in module.functions:
                    targets.add(expr.id)
                elif (
                    isinstance(expr, ast.Call)
                    and isinstance(expr.func, ast.Name)
                    and expr.func.id in module.functions
                ):
                    targets.add(expr.func.id)
        callees[name] = targets
    leads = set(direct)
    changed = True
    while changed:
        changed = False
        for name, targets in callees.items():
            if name not in leads and targets & leads:
                leads.add(name)
                changed = True
    return {name: module.functions[name] for name in leads}


def _top_level(scope: Scope) -> Scope | None:
    """The module-level function a scope is in (itself included), None at module level."""
    while scope.parent is not None and not scope.parent.is_module:
        scope = scope.parent
    return None if scope.is_module else scope


def _mode_of(facts: EnvFacts, fn: Scope) -> str | None:
    modes = {c.mode for c in facts.configures if scope_within(c.call.scope, fn)}
    return modes.pop() if len(modes) == 1 else None


def _else_branch_fix(ctx: RuleContext, fn: Scope, mode: str | None) -> list[Fix]:
    """`if context.is_offline_mode(): run_migrations_offline()` without an else: add it."""
    facts = ctx.facts
    dispatch = facts.dispatch
    if dispatch is None or not dispatch_in_module(dispatch, facts.module) or dispatch.node.orelse:
        return []
    branch_mode = "offline" if dispatch.offline_in_body else "online"
    if mode is None or mode == branch_mode:
        return []
    node = fn.node
    args = node.args  # type: ignore[union-attr]
    required = len(args.posonlyargs) + len(args.args) - len(args.defaults)
    if required or any(d is None for d in args.kw_defaults):
        return []
    last = dispatch.node.body[-1]
    end_line = last.end_lineno or last.lineno
    indent = ctx.source.indent_of(dispatch.node.lineno - 1)
    eol = ctx.source.line_ending()
    if end_line >= ctx.source.line_count:
        position = Position(end_line - 1, len(ctx.source.line(end_line - 1)))
        text = f"{eol}{indent}else:{eol}{indent}    {fn.name}()"
    else:
        position = Position(end_line, 0)
        text = f"{indent}else:{eol}{indent}    {fn.name}(){eol}"
    return [Fix(f"Call {fn.name}() in the else branch", (insert_at(position, text),))]


_ONLY_OFFLINE = s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS).replace(
    "\nif context.is_offline_mode():\n    run_migrations_offline()\nelse:\n    run_migrations_online()\n",
    "\nif context.is_offline_mode():\n    run_migrations_offline()\n",
)

RULE = Rule(
    code="ENV046",
    name="migrations-never-run",
    severity=Severity.ERROR,
    summary="Migrations never run: the online or offline function is never called, or `configure()` without `run_migrations()`.",
    docs=Docs(
        what=(
            "Finds functions of env.py that lead to `context.configure()`/`run_migrations()` but are never called "
            "(or referenced) anywhere; a mode in which `configure()` runs but `run_migrations()` never does; and "
            "env scripts that call neither, or are empty. Calls into the project's own modules count as possibly running them."
        ),
        why=(
            "Alembic runs env.py and trusts it: if it returns without `context.run_migrations()`, `alembic upgrade` "
            "prints nothing alarming and exits 0, and the database is unchanged."
        ),
        example="if context.is_offline_mode():\n    run_migrations_offline()",
        instead="if context.is_offline_mode():\n    run_migrations_offline()\nelse:\n    run_migrations_online()",
        fix_safety="Safe: adds the missing `else:` branch of the offline/online dispatch.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            _ONLY_OFFLINE,
            span="run_migrations_online",
            message="online migrations ('alembic upgrade') never run",
            fixed=_ONLY_OFFLINE + "else:\n    run_migrations_online()\n",
        ),
        Example(
            "from alembic import context\n\n\ndef run_migrations_online(connection):\n"
            "    context.configure(connection=connection)\n\n\nrun_migrations_online(None)\n",
            span="context.configure",
            message="context.run_migrations() is never called there",
            note="configure() without run_migrations()",
        ),
        Example(
            "import os\nfrom alembic import context\n\nconfig = context.config\n"
            "config.set_main_option('sqlalchemy.url', os.environ['DATABASE_URL'].replace('%', '%%'))\n",
            span="from alembic import context",
            note="a stub that dispatches nothing",
        ),
        Example(
            "# env.py for the billing database: TODO\n",
            span="",
            message="env.py is empty: nothing runs",
            note="an empty env script (only a comment)",
        ),
    ),
    valid=(
        Example(s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS), note="the generic template"),
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            note="the async template (run_sync target counts)",
        ),
        Example(
            "from alembic import context\nfrom myapp.migrations import run_env\n\nrun_env(context)\n",
            note="handed over to the project's code",
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS).replace(
                "\nif context.is_offline_mode():",
                "\ndef do_run_migrations(connection):\n"
                "    context.configure(connection=connection, target_metadata=target_metadata)\n"
                "    with context.begin_transaction():\n        context.run_migrations()\n\n\n"
                "if context.is_offline_mode():",
            ),
            note="a leftover helper never called while the online function migrates inline",
        ),
        Example(
            "from alembic import context\nfrom myapp.db import apply\n\n\ndef run_migrations_online(connection):\n"
            "    context.configure(connection=connection)\n    apply(context)\n\n\nrun_migrations_online(None)\n",
            note="configure() then project code that may run the migrations",
        ),
    ),
)
