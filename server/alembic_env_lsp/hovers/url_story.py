"""The story of a URL-bearing expression, in the order it happens at run time: where the
value comes from (sources by precedence), each step that changes it (`.replace()`, a
helper's arguments, `unquote()`, a query suffix, `set(drivername=...)`), the resulting URL
(masked) and, for each value it may take, the verdict of the engines it feeds.

The steps are read from the syntax (following local assignments and helpers); the values and
their alternatives come from the model's URL evaluator (`UrlValue`)."""

from __future__ import annotations

import ast
import re

from ..model import names as N
from ..model.facts import ConfigureFact, EngineFact, Scope, UrlValue
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
    candidates_of,
    filled_at_run_time,
    getter_default,
    within,
)
from .url_values import values_text

_URLISH = re.compile(r"(?i)url|dsn|uri\b|_uri|database|conn(ection)?_?str")


def url_expression(here: Here) -> ast.expr | None:
    """The URL-bearing expression under the cursor: a call when the cursor is on its name or
    on a string argument (`os.getenv("DATABASE_URL")`), the whole f-string from any part."""
    chain = here.chain
    node = chain[-1]
    if not isinstance(node, ast.expr):
        return None
    for outer in reversed(chain[:-1]):
        if isinstance(outer, ast.JoinedStr) and _builds_a_url(outer):
            return outer
    parent = here.parent
    if (
        isinstance(parent, ast.Subscript)
        and parent.value is node
        and qualified_name(node, here.scope) == "os.environ"
    ):
        return parent  # `environ` in `os.environ["DATABASE_URL"]`: the variable it reads
    if isinstance(parent, ast.Attribute) and parent.value is node:
        around = chain[-3] if len(chain) > 2 else None
        if isinstance(around, ast.Call) and around.func is parent and _url_call(around, here.scope):
            return around  # `os` in `os.getenv("DATABASE_URL")`
        if parent.attr not in _URL_METHODS:
            return None  # `app` in `app.config`, `url` in `url.find(...)`: not the URL itself
    expr: ast.expr = node
    if isinstance(parent, ast.Call) and (
        parent.func is node or (isinstance(node, ast.Constant) and node in parent.args)
    ):
        expr = parent
    if isinstance(expr, ast.Constant):
        return None
    if isinstance(expr, ast.Call) and not _url_call(expr, here.scope):
        return None
    if isinstance(expr, ast.Name) and _holds_a_container(here, expr):
        return None  # `rec = {}`: a dict that may hold a URL is not one
    if isinstance(expr, ast.Attribute) and qualified_name(expr, here.scope) == "os.environ":
        return None  # the whole environment: the variable it reads or tests has the hover
    return expr


def _builds_a_url(text: ast.JoinedStr) -> bool:
    """An f-string with a `scheme://` part (not a log message that mentions `engine.url`)."""
    return any(
        isinstance(v, ast.Constant) and isinstance(v.value, str) and "://" in v.value
        for v in text.values
    )


def _holds_a_container(here: Here, name: ast.Name) -> bool:
    values = [a.value for a in here.scope.assignments.get(name.id, ())]
    literals = (ast.Dict, ast.List, ast.Set, ast.Tuple, ast.DictComp, ast.ListComp)
    return bool(values) and all(
        isinstance(v, literals)
        or (isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "dict")
        for v in values
    )


NOT_READ = "No engine or `context.configure(url=...)` in this file is seen reading it."
_MAX_STEP = 600  # a step that merges many paths is cut: the values below list them all

# Methods that keep a URL a URL (or read one from a mapping).
_URL_METHODS = frozenset({*PASS_THROUGH, "replace", "set", "get", "format"})


def _url_call(call: ast.Call, scope: Scope) -> bool:
    """A call whose result is a URL when its input is: a getter, a URL method, a helper."""
    q = qualified_name(call.func, scope) or ""
    if q in N.ENV_GETTERS or q in N.URL_BUILDERS or q in UNQUOTE:
        return True
    if q in (N.CONFIG + ".get_main_option", N.CONFIG + ".get_section_option"):
        return True
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr in _URL_METHODS
    if isinstance(func, ast.Name):
        return func.id == "str" or scope.lookup_function(func.id) is not None
    return False


def url_story(
    here: Here, expr: ast.expr, title: str | None = None, carriers: frozenset[str] = frozenset()
) -> str | None:
    """The hover for a URL-bearing expression, or None when `expr` bears no URL.

    `title`: what the hover is on, when not `expr` itself (a dict key); `carriers`: names the
    value is stored into besides assignments (`configuration[...] = expr` carries it into
    `configuration`)."""
    engines, configures = url_consumers(here, expr, carriers)
    value = _value(here, expr, engines, configures)
    known = value is not None and (
        value.scheme is not None or any(a.scheme for a in value.alternatives)
    )
    if not known and not _looks_like_url(here, expr):
        if not (engines or configures) or not _may_be_url(here, expr):
            return None  # flows into a URL (`current_app.extensions`, a loop variable): not one
    parts = [f"**URL** `{title or _title(here, expr)}`"]
    # the values and verdicts first, then how the value is built
    candidates = values_text(here, expr, value, engines, configures)
    if candidates:
        parts.append(candidates)
    steps = _steps(here, expr, here.scope, 0, {})
    if steps:
        numbered = "\n".join(f"{index}. {_cut(step)}" for index, step in enumerate(steps, 1))
        parts.append("How it is built, in order:\n\n" + numbered)
    if not engines and not configures:
        parts.append(NOT_READ)
    return "\n\n".join(parts)


def _secret(name: str) -> bool:
    """A name that holds a secret; `bind_key` and `key` name none (redact's list errs wider)."""
    return is_secret_name(name) and not re.fullmatch(r"(?i)(\w*_)?key|\w*bind_?key", name)


def _cut(step: str) -> str:
    """At most `_MAX_STEP` characters, never ending inside a code span."""
    if len(step) <= _MAX_STEP:
        return step
    text = step[: _MAX_STEP - 1] + "…"
    return text + "`" if text.count("`") % 2 else text


def _title(here: Here, expr: ast.expr) -> str:
    """The expression as written, unless it holds a secret (`os.getenv("DB_PASSWORD",
    "devpass")`): then with its string literals masked."""
    secret = False
    for sub in ast.walk(expr):
        if isinstance(sub, ast.Name) and _secret(sub.id):
            secret = True
        elif isinstance(sub, ast.keyword) and sub.arg and _secret(sub.arg):
            secret = True
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            secret = secret or (_secret(sub.value) and "://" not in sub.value)
    if not secret:
        return here.snippet(expr, 60)
    masked = _MaskStrings().visit(ast.parse(ast.unparse(expr), mode="eval"))
    return shorten(ast.unparse(masked), 60)


class _MaskStrings(ast.NodeTransformer):
    """Every string literal but an environment variable's name becomes '***'."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        keep = node.args[0] if node.args else None
        self.generic_visit(node)
        if isinstance(keep, ast.Constant) and node.args:
            node.args[0] = keep
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str):
            return ast.copy_location(ast.Constant("***"), node)
        return node


# --- who reads it ------------------------------------------------------------------------------


class _Scopes:
    """Which function each node is in, and which scope a name read there refers to: carriers
    are per scope, so `url` in one function is not `url` in another."""

    def __init__(self, here: Here) -> None:
        self.module = here.facts.module
        self.of: dict[int, Scope] = {}
        self.bound: dict[int, set[str]] = {}

        def depth(scope: Scope) -> int:
            return 0 if scope.parent is None else 1 + depth(scope.parent)

        for scope in sorted(here.facts.scopes, key=depth):
            root = scope.node if scope.node is not None else here.facts.tree
            names = set(scope.assignments) | {p.arg for p in scope.params}
            for node in ast.walk(root):
                self.of[id(node)] = scope  # deeper scopes come later and win
                if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                    names |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
            self.bound[id(scope)] = names

    def scope_of(self, node: ast.AST, default: Scope) -> Scope:
        return self.of.get(id(node), default)

    def owner(self, scope: Scope, name: str) -> int:
        walk: Scope | None = scope
        while walk is not None:
            if name in self.bound.get(id(walk), ()):
                return id(walk)
            walk = walk.parent
        return id(self.module)


Carried = set[tuple[int, str]]  # (id of the owning scope, name)


def _carriers(
    here: Here, expr: ast.expr, extra: frozenset[str] = frozenset()
) -> tuple[Carried, set[str], set[str], _Scopes]:
    """Variables (per scope), local helpers and main-option keys the value of `expr` flows
    into (assignments, `return`s, `name[key] = value`, loops over it, `set_main_option` and
    the `get_main_option` reads of that key), followed to a fixpoint. Over-approximates: any
    read counts."""
    scopes = _Scopes(here)
    names: Carried = {(scopes.owner(here.scope, n), n) for n in extra}
    if isinstance(expr, ast.Name):
        names.add((scopes.owner(here.scope, expr.id), expr.id))
    helpers: set[str] = set()
    keys: set[str] = set()
    sources: list[ast.AST] = [expr]
    if isinstance(expr, ast.Attribute):  # `settings.DB_URL` read again later is the same value
        shape = ast.dump(expr)
        sources += [
            n
            for n in ast.walk(here.facts.tree)
            if isinstance(n, ast.Attribute) and n is not expr and ast.dump(n) == shape
        ]

    def carries(node: ast.AST | None, scope: Scope) -> bool:
        for sub in ast.walk(node) if node is not None else ():
            if any(sub is source for source in sources):
                return True
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                if (scopes.owner(scopes.scope_of(sub, scope), sub.id), sub.id) in names:
                    return True
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                if sub.func.id in helpers:
                    return True
        return False

    for _ in range(MAX_DEPTH):
        before = (len(names), len(helpers), len(sources))
        for scope in here.facts.scopes:
            for name, assignments in scope.assignments.items():
                if (id(scope), name) not in names and any(
                    carries(a.value, scope) for a in assignments
                ):
                    names.add((id(scope), name))
            if not scope.is_module and scope.name not in helpers:
                if any(carries(r, scope) for r in scope.returns):
                    helpers.add(scope.name)
        for node in ast.walk(here.facts.tree):
            scope = scopes.scope_of(node, here.facts.module)
            if isinstance(node, ast.Assign) and carries(node.value, scope):
                # `name["key"] = value` carries the value into `name`
                for target in node.targets:
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and _url_key(target.slice)
                    ):
                        names.add((scopes.owner(scope, target.value.id), target.value.id))
            elif isinstance(node, ast.For | ast.AsyncFor) and carries(node.iter, scope):
                # `for name, rec in engines.items()`: the loop variables hold its items
                names.update(
                    (scopes.owner(scope, n.id), n.id)
                    for n in ast.walk(node.target)
                    if isinstance(n, ast.Name)
                )
        for call in here.facts.calls_named(N.CONFIG + ".set_main_option"):
            key = const_str(call.node.args[0]) if call.node.args else None
            if key and len(call.node.args) > 1 and carries(call.node.args[1], call.scope):
                keys.add(key)
        for call in here.facts.calls_named(N.CONFIG + ".get_main_option"):
            key = const_str(call.node.args[0]) if call.node.args else None
            if key in keys and not any(call.node is source for source in sources):
                sources.append(call.node)  # the value is read back from the option
        if (len(names), len(helpers), len(sources)) == before:
            break
    return names, helpers, keys, scopes


def _url_key(key: ast.expr) -> bool:
    """`options["url"] = value` carries a URL into `options`; `options["echo"] = ...` does not."""
    text = const_str(key)
    return text is None or bool(_URLISH.search(text))


def url_consumers(
    here: Here, expr: ast.expr, carriers: frozenset[str] = frozenset()
) -> tuple[list[EngineFact], list[ConfigureFact]]:
    names, helpers, keys, scopes = _carriers(here, expr, carriers)

    def feeds(url: UrlValue | None, node: ast.AST | None, scope: Scope) -> bool:
        if node is not None:
            for sub in ast.walk(node):
                if sub is expr:
                    return True
                if isinstance(sub, ast.Name):
                    if sub.id in helpers or (scopes.owner(scope, sub.id), sub.id) in names:
                        return True
        if url is None:
            return False
        if any((scopes.owner(scope, n), n) in names for n in url.names):
            return True
        origins = [url.origin, *(alt.origin for alt in url.alternatives)]
        # an engine that reads the option from the ini section reads what set_main_option put
        return any(key in o for key in keys for o in origins)

    engines = [e for e in here.facts.engines if feeds(e.url, e.url_node, e.call.scope)]

    def unpacked(configure: ConfigureFact) -> ast.expr | None:
        # `context.configure(**kwargs)` reads `kwargs["url"]`
        return next((k.value for k in configure.call.node.keywords if k.arg is None), None)

    configures = [
        c
        for c in here.facts.configures
        if c.mode == "offline"
        and (feeds(c.url, c.keyword("url"), c.call.scope) or feeds(None, unpacked(c), c.call.scope))
    ]
    return engines, configures


def _value(
    here: Here, expr: ast.expr, engines: list[EngineFact], configures: list[ConfigureFact]
) -> UrlValue | None:
    evaluate = getattr(here.facts, "evaluate_url", None)
    if callable(evaluate):
        value = evaluate(expr, here.scope, getattr(expr, "lineno", 0))
        if isinstance(value, UrlValue):
            return value
    for engine in engines:
        if engine.url_node is expr:
            return engine.url
    for configure in configures:
        if configure.keyword("url") is expr and configure.url is not None:
            return configure.url
    return None


def _may_be_url(here: Here, expr: ast.expr) -> bool:
    """An environment variable's value, a string being built, or a value with a known text
    (a URL part such as a user name): read by an engine, it is (part of) its URL."""
    if isinstance(expr, ast.JoinedStr | ast.BinOp):
        return True
    if (
        isinstance(expr, ast.Call)
        and (qualified_name(expr.func, here.scope) or "") in N.ENV_GETTERS
    ):
        return True
    if isinstance(expr, ast.Subscript) and qualified_name(expr.value, here.scope) == "os.environ":
        return True
    return any(c.text is not None for c in candidates_of(here, expr))


def _looks_like_url(here: Here, expr: ast.expr) -> bool:
    text = here.snippet(expr, 200)
    return bool(_URLISH.search(text)) or "://" in text


# --- the steps ---------------------------------------------------------------------------------


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
    if _secret(expr.id):
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
    for node in ast.walk(root):
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
        if _secret(name):
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
        if _secret(name):
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
