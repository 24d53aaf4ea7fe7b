"""Small readings of the model that several rules share (one module: no rule imports
another rule's helpers)."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from ..fixes.edits import import_insertion_line, local_name_for
from ..model import names as N
from ..model.facts import CallFact, ConfigureFact, EnvFacts
from ..model.flow import terminates
from ..model.qualify import qualified_name
from ..text import Position, Range, SourceText, TextEdit

if TYPE_CHECKING:
    from ..rule import RuleContext

# configparser's view of a value: '%%', '%(key)s', or a stray '%'
PERCENT_TOKENS = re.compile(r"%%|%\([^)]*\)[a-z]|%")

# Modules whose functions never run migrations on env.py's behalf.
LIBRARY_PREFIXES = (
    "alembic.",
    "sqlalchemy.",
    "sqlmodel.",
    "logging.",
    "os.",
    "sys.",
    "asyncio.",
    "pathlib.",
    "typing.",
    "re.",
    "json.",
    "warnings.",
    "dotenv.",
    "decouple.",
    "urllib.",
    "functools.",
    "contextlib.",
    "importlib.",
    "pkgutil.",
    "builtins.",
    "datetime.",
    "uuid.",
    "anyio.",
    "trio.",
    "uvloop.",
    "nest_asyncio.",
    "inspect.",
    "loguru.",
    "structlog.",
    "pydantic.",
    "pydantic_settings.",
    "flask.",
    "configparser.",
    "shutil.",
)


def online_configures(facts: EnvFacts) -> list[ConfigureFact]:
    return [
        c
        for c in facts.configures
        if c.mode == "online" and facts.path_of(c.call) in ("online", "both")
    ]


def offline_configures(facts: EnvFacts) -> list[ConfigureFact]:
    return [
        c
        for c in facts.configures
        if c.mode == "offline" and facts.path_of(c.call) in ("offline", "both")
    ]


def is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def constant_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def context_name(facts: EnvFacts) -> str:
    return local_name_for(facts, N.CONTEXT) or "context"


def config_name(facts: EnvFacts) -> str:
    """How this file spells the alembic Config: `config`, or `context.config`."""
    for name, target in facts.module.aliases.items():
        if target == N.CONFIG:
            return name
    return f"{context_name(facts)}.config"


def is_library(qname: str | None) -> bool:
    return qname is None or qname.startswith(LIBRARY_PREFIXES) or "." not in qname


def user_calls(calls: list[CallFact]) -> list[CallFact]:
    """Calls of functions imported from the user's own modules (they might do anything)."""
    return [c for c in calls if c.qname is not None and not is_library(c.qname)]


def insert_statement_before(source: SourceText, stmt: ast.stmt, text: str) -> TextEdit | None:
    """A new line `text` before `stmt`, at its indentation; None when `stmt` shares its line."""
    start = source.from_utf8(stmt.lineno, stmt.col_offset)
    line = source.line(start.line)
    if line[: start.character].strip():
        return None
    indent = line[: start.character]
    return TextEdit(_empty_range(Position(start.line, 0)), f"{indent}{text}{source.line_ending()}")


def _empty_range(pos: Position):
    from ..text import Range

    return Range(pos, pos)


def names_in(node: ast.AST) -> set[str]:
    """Plain names read in a small expression (an `if` test)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def workspace_view(ctx):
    """The workspace view of the env.py being checked; None (without importing workspace.py)
    when the analysis has no workspace."""
    if getattr(ctx, "workspace", None) is None:
        return None
    from ..workspace import view_for

    return view_for(ctx)


def is_config_file_name(expr: ast.expr, scope) -> bool:
    return qualified_name(expr, scope) == N.CONFIG + ".config_file_name"


def text_of(ctx, node) -> str:
    return ctx.source.slice(ctx.range(node))


def escapes_percent(expr: ast.expr, scope, depth: int = 0) -> bool:
    """`x.replace("%", "%%")`, a name assigned from one, or a local helper returning one."""
    if depth > 5:
        return False
    if isinstance(expr, ast.Call):
        func = expr.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "replace"
            and len(expr.args) >= 2
            and constant_str(expr.args[0]) == "%"
            and constant_str(expr.args[1]) == "%%"
        ):
            return True
        if isinstance(func, ast.Name):
            helper = scope.lookup_function(func.id)
            if helper is not None and helper.returns:
                return all(escapes_percent(r, helper, depth + 1) for r in helper.returns)
    if isinstance(expr, ast.Name):
        assignment = scope.last_assignment(expr.id, expr.lineno)
        if assignment is not None:
            return escapes_percent(assignment.value, scope, depth + 1)
    return False


def call_on_expr(ctx, expr: ast.expr, method: str) -> str:
    """`expr.method` with parentheses only when needed."""
    text = text_of(ctx, expr)
    if isinstance(expr, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)):
        return f"{text}.{method}"
    return f"({text}).{method}"


def path_note(ctx, name: ast.expr, scope) -> str:
    """ " when connectable is None" when the kind `scope.kind_at(name)` gives holds only on
    the path through that test; "" when it holds on every path."""
    if not isinstance(name, ast.Name):
        return ""
    binding = scope.kind_at(name)
    reaches = scope.possible_bindings(name)
    if binding is None or len(reaches) < 2:
        return ""
    for reach in reaches:
        if reach.binding is binding and reach.conditions:
            return f" when {reach.condition_text(ctx.source)}"
    return ""


def stray_percent(value: str) -> bool:
    """A '%' configparser cannot interpolate (not '%%', not '%(key)s')."""
    return any(m.group() == "%" for m in PERCENT_TOKENS.finditer(value))


def maybe_none(call: CallFact) -> tuple[str, str] | None:
    """("attributes" | "x-argument" | "environment", how to name it) for calls that return None
    when what they look up is absent."""
    node = call.node
    if call.qname == N.CONFIG + ".attributes.get":
        if default_is_none(node, 1):
            key = constant_str(node.args[0]) if node.args else None
            return (
                "attributes",
                f"config.attributes.get({key!r})" if key else "config.attributes.get(...)",
            )
        return None
    if call.qname in N.ENV_GETTERS:
        if default_is_none(node, 1):
            key = constant_str(node.args[0]) if node.args else None
            return "environment", f"{call.qname}({key!r})" if key else call.qname
        return None
    func = node.func
    if (
        isinstance(func, ast.Attribute)
        and func.attr == "get"
        and isinstance(func.value, ast.Call)
        and _is_x_arguments(func.value, call)
        and default_is_none(node, 1)
    ):
        return "x-argument", "context.get_x_argument(as_dictionary=True).get(...)"
    return None


def _is_x_arguments(node: ast.Call, call: CallFact) -> bool:
    return qualified_name(node.func, call.scope) == "alembic.context.get_x_argument" and any(
        kw.arg == "as_dictionary" for kw in node.keywords
    )


def default_is_none(node: ast.Call, index: int) -> bool:
    default = node.args[index] if len(node.args) > index else None
    for kw in node.keywords:
        if kw.arg == "default":
            default = kw.value
    return default is None or (isinstance(default, ast.Constant) and default.value is None)


def guarded_before(scope, var: str, after: int, before: int, facts: EnvFacts) -> bool:
    """`assert var` / `if <test of var>: return|raise` between two lines of `scope`."""
    body = facts.tree.body if scope.is_module else getattr(scope.node, "body", [])
    for stmt in body:
        if not after < stmt.lineno < before:
            continue
        if isinstance(stmt, ast.Assert) and var in names_in(stmt.test):
            return True
        if (
            isinstance(stmt, ast.If)
            and var in names_in(stmt.test)
            and stmt.body
            and terminates(stmt.body)
        ):
            return True
    return False


def null_pool_expr(ctx: RuleContext) -> tuple[str, list[TextEdit]]:
    facts = ctx.facts
    for qname in ("sqlalchemy.pool.NullPool", "sqlalchemy.NullPool"):
        local = local_name_for(facts, qname)
        if local is not None:
            return local, []
    pool = local_name_for(facts, "sqlalchemy.pool")
    if pool is not None:
        return f"{pool}.NullPool", []
    taken = set(facts.module.aliases) | set(facts.module.assignments) | set(facts.module.functions)
    line = Position(import_insertion_line(facts), 0)
    eol = ctx.source.line_ending()
    if "pool" not in taken:
        return "pool.NullPool", [TextEdit(Range(line, line), f"from sqlalchemy import pool{eol}")]
    return "NullPool", [TextEdit(Range(line, line), f"from sqlalchemy.pool import NullPool{eol}")]


def sharing_branch(ctx: RuleContext, stmt: ast.stmt, run: str, coroutine) -> TextEdit | None:
    """Replace the statement `run` (e.g. `asyncio.run(run_async_migrations())`) with the
    cookbook's connection-sharing branch: a connection handed in through
    config.attributes["connection"] goes straight to the function the coroutine gives
    run_sync(). None when there is no such function or the statement shares its line."""
    facts = ctx.facts
    sync_fn = None
    for inner in coroutine.calls:
        if (
            inner.attr == "run_sync"
            and inner.node.args
            and isinstance(inner.node.args[0], ast.Name)
        ):
            sync_fn = inner.node.args[0].id
    if sync_fn is None or facts.module.functions.get(sync_fn) is None:
        return None
    start = ctx.source.from_utf8(stmt.lineno, stmt.col_offset)
    line = ctx.source.line(start.line)
    if line[: start.character].strip() or stmt.end_lineno != stmt.lineno:
        return None
    indent = line[: start.character]
    eol = ctx.source.line_ending()
    text = (
        f'connectable = {config_name(facts)}.attributes.get("connection", None){eol}'
        f"{indent}if connectable is None:{eol}"
        f"{indent}    {run}{eol}"
        f"{indent}else:{eol}"
        f"{indent}    {sync_fn}(connectable)"
    )
    return TextEdit(Range(start, ctx.range(stmt).end), text)
