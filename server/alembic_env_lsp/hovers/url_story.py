"""The story of a URL-bearing expression, in the order it happens at run time: where the
value comes from (sources by precedence), each step that changes it (`.replace()`, a
helper's arguments, `unquote()`, a query suffix, `set(drivername=...)`), the resulting URL
(masked) and, for each value it may take, the verdict of the engines it feeds.

This module finds the expression under the cursor and who reads it (per scope); the steps are
in url_steps.py, the values and verdicts in url_values.py."""

from __future__ import annotations

import ast
import re

from ..model import names as N
from ..model.facts import ConfigureFact, EngineFact, Scope, UrlValue
from ..model.qualify import qualified_name
from .common import Here, const_str, shorten
from .url_paths import (
    MAX_DEPTH,
    PASS_THROUGH,
    UNQUOTE,
    candidates_of,
)
from .url_steps import secret_name, url_steps
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
    steps = url_steps(here, expr)
    if steps:
        numbered = "\n".join(f"{index}. {_cut(step)}" for index, step in enumerate(steps, 1))
        parts.append("How it is built, in order:\n\n" + numbered)
    if not engines and not configures:
        parts.append(NOT_READ)
    return "\n\n".join(parts)


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
        if isinstance(sub, ast.Name) and secret_name(sub.id):
            secret = True
        elif isinstance(sub, ast.keyword) and sub.arg and secret_name(sub.arg):
            secret = True
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            secret = secret or (secret_name(sub.value) and "://" not in sub.value)
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
            for node in here.facts.walk(root):
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
            for n in here.facts.all_nodes
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
        for node in here.facts.all_nodes:
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
