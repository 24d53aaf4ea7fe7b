"""How a URL-bearing expression is built, step by step in the order it happens at run time:
the sources by precedence, each transformation (`.replace()`, a helper's arguments,
`unquote()`, a query suffix, `set(drivername=...)`), read from the syntax by following local
assignments and helpers (the hover's "How it is built, in order")."""

from __future__ import annotations

import ast
import re

from ..model import names as N
from ..model.facts import Scope
from ..model.qualify import qualified_name
from ..pyenv import SqlalchemyBasis, sqlalchemy_basis
from ..redact import is_secret_name
from .common import Here, const_str, main_section, shorten
from .url import shown_url
from .url_paths import (
    MAX_DEPTH,
    PASS_THROUGH,
    UNQUOTE,
    assigned_value,
    filled_at_run_time,
    getter_default,
    within,
)


def url_steps(here: Here, expr: ast.expr) -> list[str]:
    return _steps(here, expr, here.scope, 0, {})


def secret_name(name: str) -> bool:
    """A name that holds a secret; `bind_key` and `key` name none (redact's list errs wider)."""
    return is_secret_name(name) and not re.fullmatch(r"(?i)(\w*_)?key|\w*bind_?key", name)


def _steps(
    here: Here, expr: ast.expr, scope: Scope, depth: int, params: dict[str, str]
) -> list[str]:
    if depth > MAX_DEPTH:
        return ["(further steps not followed)"]
    at = f"line {here.line_of(expr)}"
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        if "://" in expr.value:
            return [f"{at}: the literal `{shown_url(expr.value)}`"]
        return [f"{at}: the string `{shorten(expr.value, 50)}`"]
    if isinstance(expr, ast.Name):
        return _name_steps(here, expr, scope, depth, params)
    if isinstance(expr, ast.Attribute):
        owner = qualified_name(expr.value, scope) or here.snippet(expr.value, 40)
        return [
            f"{at}: `{here.snippet(expr, 50)}`, an attribute of `{owner}` (set outside env.py: "
            "its value is known only at run time)"
        ]
    if isinstance(expr, ast.Subscript):
        key = const_str(expr.slice)
        if qualified_name(expr.value, scope) == "os.environ" and key:
            return [f"{at}: environment variable `{key}` (`KeyError` when it is not set)"]
        return [f"{at}: `{here.snippet(expr, 50)}` (known only at run time)"]
    if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):
        options = []
        for index, value in enumerate(expr.values, 1):
            sub = _steps(here, value, scope, depth + 1, params)
            options.append(f"({index}) " + "; then ".join(sub))
        return [f"{at}: the first of these that is set wins: " + " — ".join(options)]
    if isinstance(expr, ast.JoinedStr | ast.BinOp):
        return _built_string_steps(here, expr, scope, depth, params)
    if isinstance(expr, ast.Await):
        return _steps(here, expr.value, scope, depth + 1, params)
    if isinstance(expr, ast.Call):
        return _call_steps(here, expr, scope, depth, params)
    return [f"{at}: `{here.snippet(expr, 50)}` (not followed)"]


def _name_steps(
    here: Here, expr: ast.Name, scope: Scope, depth: int, params: dict[str, str]
) -> list[str]:
    if expr.id in params:
        return [f"`{expr.id}` is the helper's argument `{params[expr.id]}`"]
    if secret_name(expr.id):
        return [f"`{expr.id}`: a secret (its value is never shown)"]
    if isinstance(expr.ctx, ast.Store):
        value = assigned_value(scope, expr)
        if value is not None:
            return _steps(here, value, scope, depth + 1, params)
    imported = _imported_last(here, scope, expr.id)
    if imported is not None:
        return [
            f"`{expr.id}`: `{imported[0]}`, imported at line {imported[1]} (its value is known "
            "only at run time)"
        ]
    reaches = scope.possible_bindings(expr) if hasattr(scope, "possible_bindings") else ()
    assigned = [r for r in reaches if r.assignment is not None]
    if len(assigned) > 1:
        paths = []
        for reach in assigned:
            assert reach.assignment is not None
            when = reach.condition_text(here.source) or "otherwise"
            sub = _steps(here, reach.assignment.value, scope, depth + 1, params)
            paths.append(f"when {shorten(when, 60)}: " + "; then ".join(sub))
        return [f"`{expr.id}` depends on the path: " + " — ".join(paths)]
    if len(assigned) == 1:
        assert assigned[0].assignment is not None
        return _steps(here, assigned[0].assignment.value, scope, depth + 1, params)
    assignment = scope.last_assignment(expr.id, expr.lineno)
    if assignment is not None and within(expr, assignment.stmt):
        assignment = scope.last_assignment(expr.id, assignment.stmt.lineno - 1)
    if assignment is None:
        if any(p.arg == expr.id for p in scope.params):
            return [f"`{expr.id}`: a parameter of `{scope.name}` (known only at run time)"]
        loop = _loop_binding(here, scope, expr.id)
        if loop is not None:
            return [
                f"`{expr.id}`: the loop variable of line {here.line_of(loop)} "
                f"(`for ... in {here.snippet(loop.iter, 40)}`)"
            ]
        return [f"`{expr.id}`: not assigned in env.py (known only at run time)"]
    return _steps(here, assignment.value, scope, depth + 1, params)


def _imported_last(here: Here, scope: Scope, name: str) -> tuple[str, int] | None:
    """(what, line) when `name`, read in a function, is a module name whose last binding is an
    import (`config = context.config` ... `from core.config import config`): at call time
    the function sees the import."""
    if scope.is_module or name in scope.assignments or any(p.arg == name for p in scope.params):
        return None
    module = here.facts.module
    q = module.aliases.get(name)
    if q is None:
        return None
    lines = [
        node.lineno
        for node in here.facts.tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any((a.asname or a.name.split(".")[0]) == name for a in node.names)
    ]
    assigned = [a.stmt.lineno for a in module.assignments.get(name, ())]
    if not lines or (assigned and max(assigned) > max(lines)):
        return None
    return q, here.source.from_utf8(max(lines), 0).line + 1


def _loop_binding(here: Here, scope: Scope, name: str) -> ast.For | ast.AsyncFor | None:
    root = scope.node if scope.node is not None else here.facts.tree
    for node in here.facts.walk(root):
        if isinstance(node, ast.For | ast.AsyncFor) and any(
            isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.target)
        ):
            return node
    return None


def _built_string_steps(
    here: Here, expr: ast.JoinedStr | ast.BinOp, scope: Scope, depth: int, params: dict[str, str]
) -> list[str]:
    at = f"line {here.line_of(expr)}"
    out: list[str] = []
    pieces: list[ast.expr] = []
    if isinstance(expr, ast.JoinedStr):
        pieces = [v.value if isinstance(v, ast.FormattedValue) else v for v in expr.values]
    else:
        pieces = [expr.left, expr.right]
    constants = [
        p.value for p in pieces if isinstance(p, ast.Constant) and isinstance(p.value, str)
    ]
    for piece in pieces:
        if not isinstance(piece, ast.Constant):
            out.extend(_steps(here, piece, scope, depth + 1, params))
    out.append(f"{at}: put together as `{here.snippet(expr, 60)}`")
    for text in constants:
        out.extend(_query_notes(text, sqlalchemy_basis(here.project)))
    return out


def _query_notes(text: str, basis: SqlalchemyBasis) -> list[str]:
    notes = []
    if "async_fallback" in text:
        notes.append(
            "`async_fallback=True` is SQLAlchemy 1.4/2.0's mode that lets an asyncio driver run under "
            f"a sync engine (deprecated in 2.0, gone in 2.1); {basis.label()}"
        )
    if "+" in text and "://" in text:
        scheme = text.split("://", 1)[0]
        notes.append(f"the scheme `{scheme}://` names the driver")
    return notes


def _call_steps(
    here: Here, call: ast.Call, scope: Scope, depth: int, params: dict[str, str]
) -> list[str]:
    at = f"line {here.line_of(call)}"
    q = qualified_name(call.func, scope) or ""
    func = call.func
    first = call.args[0] if call.args else None
    if q in N.ENV_GETTERS:
        name = const_str(first) or "?"
        default = getter_default(call)
        text = f"{at}: environment variable `{name}` when it is set"
        if default is None:
            return [text + "; otherwise `None`"]
        if secret_name(name):
            return [text + "; otherwise a default (a secret: never shown)"]
        rest = _steps(here, default, scope, depth + 1, params)
        return [text + "; otherwise the default: " + "; then ".join(rest)]
    if q == N.CONFIG + ".get_main_option":
        return _main_option_steps(here, call, scope, depth, params)
    if q == N.CONFIG + ".get_section_option" and len(call.args) >= 2:
        section, key = const_str(call.args[0]), const_str(call.args[1])
        where = (
            f"[{section}]"
            if section
            else f"the section named by `{here.snippet(call.args[0], 30)}`"
        )
        return [f"{at}: `{key}` of {where} in the ini (`config.get_section_option`)"]
    if q in UNQUOTE and first is not None:
        return _steps(here, first, scope, depth + 1, params) + [
            f"{at}: `{q.rsplit('.', 1)[1]}()` decodes `%` escapes (a `%40` in the password becomes `@`)"
        ]
    if q in N.URL_BUILDERS:
        if q.endswith("create"):
            return [f"{at}: `URL.create(...)` builds it from parts"]
        base = _steps(here, first, scope, depth + 1, params) if first is not None else []
        return base + [f"{at}: `make_url()` parses it"]
    if isinstance(func, ast.Attribute):
        base = _steps(here, func.value, scope, depth + 1, params)
        if func.attr == "replace" and len(call.args) >= 2:
            old, new = const_str(call.args[0]), const_str(call.args[1])
            effect = " (changes the driver)" if "+" in f"{old}{new}" else ""
            return base + [f"{at}: `.replace({old!r}, {new!r})`{effect}"]
        if func.attr == "set":
            sets = ", ".join(f"{k.arg}={here.snippet(k.value, 30)}" for k in call.keywords if k.arg)
            return base + [f"{at}: `.set({sets})`"]
        if func.attr == "get" and len(call.args) >= 2:
            key = here.snippet(call.args[0], 30)
            rest = _steps(here, call.args[1], scope, depth + 1, params)
            return base + [
                f"{at}: `{key}` of `{here.snippet(func.value, 30)}` when it has one; otherwise the "
                "default: " + "; then ".join(rest)
            ]
        if func.attr in PASS_THROUGH:
            hide = next((k for k in call.keywords if k.arg == "hide_password"), None)
            note = " (the real password)" if hide is not None else ""
            return base + [f"{at}: `.{func.attr}()`{note}"]
        if not base or base[-1].endswith("(known only at run time)"):
            owner = here.snippet(func.value, 40)
            args = ", ".join(here.snippet(a, 30) for a in call.args)
            return [
                f"{at}: `{owner}.{func.attr}({args})`, a method of `{owner}` defined outside "
                "env.py (its result is known only at run time)"
            ]
        return base + [f"{at}: `.{func.attr}(...)` (not followed)"]
    if isinstance(func, ast.Name):
        if func.id == "str" and first is not None:
            return _steps(here, first, scope, depth + 1, params)
        helper = scope.lookup_function(func.id)
        if helper is not None and helper.node is not None:
            return _helper_steps(here, call, helper, depth, params)
    return [f"{at}: `{here.snippet(call, 50)}` (known only at run time)"]


def _helper_steps(
    here: Here, call: ast.Call, helper: Scope, depth: int, params: dict[str, str]
) -> list[str]:
    at = f"line {here.line_of(call)}"
    bound: dict[str, str] = {}
    for param, arg in zip(helper.params, call.args, strict=False):
        bound[param.arg] = here.snippet(arg, 40)
    for kw in call.keywords:
        if kw.arg:
            bound[kw.arg] = here.snippet(kw.value, 40)
    for name in bound:
        if secret_name(name):
            bound[name] = "***"  # a password argument: never shown
    args = ", ".join(f"`{k}` = `{v}`" for k, v in bound.items())
    out = [
        f"{at}: calls the helper `{helper.name}` (line {here.line_of(helper.node)})"
        + (f" with {args}" if args else "")
    ]
    returns = helper.returns
    if len(returns) == 1:
        out.extend(_steps(here, returns[0], helper, depth + 1, bound))
    elif returns:
        out.append(
            f"`{helper.name}` has {len(returns)} `return`s: the one that runs depends on its path"
        )
    return out


def _main_option_steps(
    here: Here, call: ast.Call, scope: Scope, depth: int, params: dict[str, str]
) -> list[str]:
    at = f"line {here.line_of(call)}"
    key = const_str(call.args[0]) if call.args else None
    if key is None:
        return [f"{at}: `config.get_main_option(...)` with a computed name"]
    section = main_section(here.project)
    ini = getattr(here.project, "ini", None)
    found = ini.get(section, key) if ini is not None else None
    if found is not None and found.value is not None:
        text = f"{at}: `[{section}] {key}` of `{ini.path.name}` (line {found.line + 1}): `{shown_url(found.value)}`"  # type: ignore[union-attr]
    elif ini is None:
        text = f"{at}: `[{section}] {key}` of the ini (no alembic.ini is paired with this env.py)"
    elif found is not None and filled_at_run_time(here, found.raw):
        lines = ", ".join(str(n) for n in filled_at_run_time(here, found.raw)[:6])
        text = (
            f"{at}: `[{section}] {key}` of `{ini.path.name}` (line {found.line + 1}): "
            f"`{shown_url(found.raw)}`, its `%(...)s` filled in by `set_section_option` "
            f"(line {lines})"
        )
    elif found is not None:
        text = (
            f"{at}: `[{section}] {key}` of `{ini.path.name}` (line {found.line + 1}), which cannot "
            f"be interpolated: reading it raises {found.error or 'an error'}"
        )
    else:
        text = f"{at}: `[{section}] {key}`, not in `{ini.path.name}`: the default, `None`"
    out = [text]
    for override in here.facts.calls_named(N.CONFIG + ".set_main_option"):
        if len(override.node.args) < 2 or const_str(override.node.args[0]) != key:
            continue
        if override.scope is scope and override.node.lineno > getattr(call, "lineno", 0):
            continue  # after this read in the same function
        cond = " and ".join(
            here.source.slice(here.rng(branch.test))
            if in_body
            else f"not ({here.source.slice(here.rng(branch.test))})"
            for branch, in_body in override.branches
        )
        when = f" when {shorten(cond, 60)}" if cond else ""
        value = override.node.args[1]
        sub = _steps(here, value, override.scope, depth + 1, params)
        out.append(
            f"line {here.line_of(override.node)}: replaced{when} by `set_main_option({key!r}, ...)`: "
            + "; then ".join(sub)
        )
    return out
