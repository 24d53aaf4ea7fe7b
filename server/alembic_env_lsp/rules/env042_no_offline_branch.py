import ast

from ..findings import Fix
from ..knowledge import template_offline_function
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ..text import Position, Range, TextEdit


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    if not facts.imports_alembic_context or "alembic.context.is_offline_mode" in facts.references:
        return
    if not facts.configures and not facts.calls_named("alembic.context.run_migrations"):
        return  # nothing runs migrations here; ENV046 is about that
    entry = _module_entry_call(facts)
    fixes = []
    where = (
        ctx.range(entry)
        if entry is not None
        else Range(Position(0, 0), Position(0, len(ctx.source.line(0))))
    )
    if entry is not None:
        fix = _add_offline(ctx, entry)
        if fix:
            fixes.append(fix)
    ctx.report(
        "env.py has no offline branch; 'alembic upgrade --sql' will still open a database connection "
        "(DBAPI and a reachable server required).",
        where,
        fixes=fixes,
    )


def _module_entry_call(facts):
    """The last module-level statement that calls a local function, e.g. `run_migrations_online()`."""
    for stmt in reversed(facts.tree.body):
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            func = stmt.value.func
            if isinstance(func, ast.Name) and func.id in facts.module.functions:
                return stmt
    return None


def _add_offline(ctx: RuleContext, entry: ast.Expr) -> Fix | None:
    facts = ctx.facts
    offline = template_offline_function()
    context_name = next(
        (k for k, v in facts.module.aliases.items() if v == "alembic.context"), None
    )
    if offline is None or context_name is None or "config" not in facts.config_names:
        return None
    if (
        "target_metadata" not in facts.module.assignments
        or "run_migrations_offline" in facts.module.functions
    ):
        return None
    if ctx.source.line(entry.lineno - 1)[: entry.col_offset].strip():
        return None
    eol = ctx.source.line_ending()
    call_text = ctx.source.slice(ctx.range(entry))
    offline = offline.replace("context.", f"{context_name}.").replace("\n", eol)
    text = (
        f"{offline}{eol}{eol}{eol}"
        f"if {context_name}.is_offline_mode():{eol}    run_migrations_offline(){eol}else:{eol}    {call_text}"
    )
    return Fix(
        "Add the offline mode of Alembic's template",
        (TextEdit(ctx.range(entry), text),),
        safe=False,
    )


RULE = Rule(
    code="ENV042",
    name="no-offline-branch",
    severity=Severity.INFO,
    summary="env.py never checks `context.is_offline_mode()`, so `--sql` still connects to the database.",
    docs=Docs(
        what="Reports env scripts that run migrations but never reference `context.is_offline_mode()`.",
        why=(
            "Without the offline branch, `alembic upgrade head --sql` runs the online code: it still generates "
            "SQL text, but needs the DBAPI installed and a reachable server to do so."
        ),
        example="run_migrations_online()",
        instead="if context.is_offline_mode():\n    run_migrations_offline()\nelse:\n    run_migrations_online()",
        fix_safety="Unsafe: adds the installed Alembic template's run_migrations_offline() and the dispatch; review it.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from alembic import context\nconfig = context.config\ntarget_metadata = None\n\n"
            "def run_migrations_online():\n    context.configure(connection=None)\n\nrun_migrations_online()\n",
            span="run_migrations_online()",
        ),
    ),
    valid=(
        Example(
            "from alembic import context\n\ndef run_migrations_online():\n    context.configure(connection=None)\n\n"
            "if not context.is_offline_mode():\n    run_migrations_online()\n",
        ),
    ),
)
