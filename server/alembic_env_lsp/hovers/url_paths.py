"""The values a URL-bearing expression may take at run time, path by path: each with the
condition under which it is the one used (an `if` test, an unset environment variable, an
empty `or` operand) and where it comes from. Read from the syntax and the model's reaching
bindings (`Scope.possible_bindings`); nothing is run."""

from __future__ import annotations

import ast
import re
import threading
from dataclasses import dataclass

from ..model import names as N
from ..model.facts import EngineFact, Scope, UrlValue
from ..model.qualify import qualified_name
from .common import Here, const_str, main_section

MAX_DEPTH = 10
_BUDGET = 400
_SPENT = threading.local()
UNQUOTE = {"urllib.parse.unquote", "urllib.parse.unquote_plus"}
PASS_THROUGH = {"str", "render_as_string", "get_secret_value", "strip", "unicode_string"}


def within(node: ast.AST, outer: ast.AST | None) -> bool:
    return outer is not None and any(sub is node for sub in ast.walk(outer))


def assigned_value(scope: Scope, target: ast.Name) -> ast.expr | None:
    for assignment in scope.assignments.get(target.id, ()):
        stmt = assignment.stmt
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
        if any(within(target, t) for t in targets if t is not None):
            return assignment.value
    return None


@dataclass(frozen=True)
class Candidate:
    """One value the URL may take: its text when known (masked when shown), where it comes
    from, and the condition under which it is the one used ("" on every path)."""

    text: str | None
    origin: str
    when: str = ""


_MAX_CANDIDATES = 16  # values per URL; the hovers group them by verdict
NONE = "`None`"
# get_main_option of a key the ini lacks: None too, but not a getter's (the model may not know)
NONE_NOT_IN_INI = "`None` (not in the ini)"


def _empty_words(value: ast.expr, scope: Scope) -> str:
    """The condition under which `or` moves past `value`."""
    if isinstance(value, ast.Call) and (qualified_name(value.func, scope) or "") in N.ENV_GETTERS:
        name = const_str(value.args[0]) if value.args else None
        if name and len(value.args) < 2 and not value.keywords:
            return f"{name} is not set"
    # never the text of a literal operand: it may be a secret
    return f"the value at line {getattr(value, 'lineno', '?')} is empty"


def candidates_of(here: Here, expr: ast.expr) -> list[Candidate]:
    _SPENT.steps = 0
    found = _values(here, expr, here.scope, 0, {})
    return _capped(found)


def _capped(found: list[Candidate]) -> list[Candidate]:
    unique: list[Candidate] = []
    for candidate in found:
        if candidate not in unique:
            unique.append(candidate)
    if len(unique) > _MAX_CANDIDATES:
        return [*unique[: _MAX_CANDIDATES - 1], Candidate(None, "further paths not followed")]
    return unique


Bound = dict[str, tuple[ast.expr, Scope]]


def _and(*conditions: str) -> str:
    return " and ".join(c for c in conditions if c)


def _values(here: Here, expr: ast.expr, scope: Scope, depth: int, params: Bound) -> list[Candidate]:
    """Every value `expr` may take, at most `_MAX_CANDIDATES * 2` per step and `_BUDGET`
    steps per hover (a file that reassigns a name on many branches stays cheap)."""
    spent = _SPENT.__dict__.setdefault("steps", 0)
    _SPENT.steps = spent + 1
    if spent > _BUDGET:
        return [Candidate(None, "too many steps to follow")]
    return _values_of(here, expr, scope, depth, params)[: _MAX_CANDIDATES * 2]


def _values_of(
    here: Here, expr: ast.expr, scope: Scope, depth: int, params: Bound
) -> list[Candidate]:
    line = here.line_of(expr) if hasattr(expr, "lineno") else 0
    if depth > MAX_DEPTH:
        return [Candidate(None, "too many steps to follow")]
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [Candidate(expr.value, f"string at line {line}")]
    if isinstance(expr, ast.Constant) and expr.value is None:
        return [Candidate(None, NONE)]
    if isinstance(expr, ast.Name):
        return _name_values(here, expr, scope, depth, params)
    if isinstance(expr, ast.JoinedStr | ast.BinOp):
        return [_built_value(here, expr, scope, depth, params)]
    if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):
        out: list[Candidate] = []
        before: list[str] = []
        for index, value in enumerate(expr.values):
            last = index == len(expr.values) - 1
            for candidate in _values(here, value, scope, depth + 1, params):
                if candidate.origin == NONE and not last:
                    continue  # `or` skips a None
                out.append(
                    Candidate(candidate.text, candidate.origin, _and(*before, candidate.when))
                )
            before.append(_empty_words(value, scope))
        return out
    if isinstance(expr, ast.Subscript):
        key = const_str(expr.slice)
        if qualified_name(expr.value, scope) == "os.environ" and key:
            return [Candidate(None, f"environment variable {key}")]
        return [Candidate(None, f"`{here.snippet(expr, 40)}`")]
    if isinstance(expr, ast.Attribute):
        return [Candidate(None, f"`{here.snippet(expr, 40)}`, set outside env.py")]
    if isinstance(expr, ast.Await):
        return _values(here, expr.value, scope, depth + 1, params)
    if isinstance(expr, ast.Call):
        return _call_values(here, expr, scope, depth, params)
    return [Candidate(None, f"`{here.snippet(expr, 40)}`")]


def _name_values(
    here: Here, expr: ast.Name, scope: Scope, depth: int, params: Bound
) -> list[Candidate]:
    if expr.id in params:
        arg, arg_scope = params[expr.id]
        return _values(here, arg, arg_scope, depth + 1, {})
    if isinstance(expr.ctx, ast.Store):
        value = assigned_value(scope, expr)
        return _values(here, value, scope, depth + 1, params) if value is not None else []
    reaches = scope.possible_bindings(expr) if hasattr(scope, "possible_bindings") else ()
    assigned = [r for r in reaches if r.assignment is not None]
    if assigned:
        out = []
        narrowed = inside_truthy_if(here, scope, expr)
        for reach in assigned:
            assert reach.assignment is not None
            when = reach.condition_text(here.source) if len(assigned) > 1 else ""
            truthy = narrowed or truthy_tests(expr.id) & {p.strip() for p in when.split(" and ")}
            for candidate in _values(here, reach.assignment.value, scope, depth + 1, params):
                if truthy and candidate.origin == NONE:
                    continue  # this path tested the name true: it is not None here
                out.append(Candidate(candidate.text, candidate.origin, _and(when, candidate.when)))
        return out
    assignment = scope.last_assignment(expr.id, expr.lineno)
    if assignment is not None and within(expr, assignment.stmt):
        assignment = scope.last_assignment(expr.id, assignment.stmt.lineno - 1)
    if assignment is None:
        return [Candidate(None, f"`{expr.id}`, known only at run time")]
    return _values(here, assignment.value, scope, depth + 1, params)


def inside_truthy_if(here: Here, scope: Scope, name: ast.Name) -> bool:
    """`name` is used in the body of an `if name:` (or `is not None`) test: it is not None."""
    truthy = truthy_tests(name.id)
    root = scope.node if scope.node is not None else here.facts.tree
    for node in here.facts.walk(root):
        if (
            isinstance(node, ast.If)
            and here.source.slice(here.rng(node.test)) in truthy
            and any(within(name, stmt) for stmt in node.body)
        ):
            return True
    return False


def from_model(here: Here, value: UrlValue) -> Candidate:
    """A value of the model's URL evaluator, with the if-tests of its path."""
    conditions = getattr(value, "conditions", ())
    return Candidate(
        value.text, value.origin, " and ".join(c.text(here.source) for c in conditions)
    )


def getter_default(call: ast.Call) -> ast.expr | None:
    """The default of `os.getenv(name, default)` / `os.environ.get(name, default=...)`."""
    default = call.args[1] if len(call.args) > 1 else None
    for kw in call.keywords:
        if kw.arg == "default":
            default = kw.value
    return default


def truthy_tests(name: str) -> set[str]:
    """Condition texts (as `Condition.text` writes them) that hold only when `name` is set."""
    return {name, f"not (not {name})", f"{name} is not None", f"not ({name} is None)"}


def _built_value(
    here: Here, expr: ast.JoinedStr | ast.BinOp, scope: Scope, depth: int, params: Bound
) -> Candidate:
    """An f-string or `+` / `%` concatenation: the constant parts, and the parts that resolve
    to one string; anything else stands as `…` (enough to read the scheme)."""
    if isinstance(expr, ast.JoinedStr):
        pieces = [v.value if isinstance(v, ast.FormattedValue) else v for v in expr.values]
    elif isinstance(expr.op, ast.Add):
        pieces = [expr.left, expr.right]
    else:
        pieces = [expr.left]
    text = ""
    for piece in pieces:
        if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
            text += piece.value
            continue
        values = _values(here, piece, scope, depth + 1, params)
        if len(values) == 1 and values[0].text is not None and not values[0].when:
            text += values[0].text
        else:
            text += "…"
    return Candidate(text, f"built at line {here.line_of(expr)}")


def _call_values(
    here: Here, call: ast.Call, scope: Scope, depth: int, params: Bound
) -> list[Candidate]:
    q = qualified_name(call.func, scope) or ""
    func = call.func
    first = call.args[0] if call.args else None
    if q in N.ENV_GETTERS:
        name = const_str(first) or "?"
        default = getter_default(call)
        out = [Candidate(None, f"environment variable {name}", f"{name} is set")]
        if default is None:
            return out + [Candidate(None, NONE, f"{name} is not set")]
        for candidate in _values(here, default, scope, depth + 1, params):
            out.append(
                Candidate(
                    candidate.text, candidate.origin, _and(f"{name} is not set", candidate.when)
                )
            )
        return out
    if q == N.CONFIG + ".get_main_option" and first is not None:
        key = const_str(first)
        if key is None:
            return [Candidate(None, "config.get_main_option with a computed name")]
        return _main_option_values(here, key, call, scope, depth, params)
    if q == N.CONFIG + ".get_section_option" and len(call.args) >= 2:
        section, key = const_str(call.args[0]), const_str(call.args[1])
        ini = getattr(here.project, "ini", None)
        found = ini.get(section, key) if ini is not None and section and key else None
        if found is not None and found.value is not None:
            return [Candidate(found.value, f"{ini.path.name} [{section}] {key}")]  # type: ignore[union-attr]
        return [
            Candidate(
                None,
                f"{key} of {'[' + section + ']' if section else 'a section named at run time'} in the ini",
            )
        ]
    if (q in UNQUOTE or q in N.URL_BUILDERS) and first is not None and not q.endswith("create"):
        return _values(here, first, scope, depth + 1, params)
    if isinstance(func, ast.Attribute):
        base = _values(here, func.value, scope, depth + 1, params)
        if func.attr == "replace" and len(call.args) >= 2:
            old, new = const_str(call.args[0]), const_str(call.args[1])
            if old is None or new is None:
                return [Candidate(None, c.origin, c.when) for c in base]
            return [
                Candidate(c.text.replace(old, new) if c.text else None, c.origin, c.when)
                for c in base
            ]
        if func.attr == "set":
            driver = next(
                (const_str(k.value) for k in call.keywords if k.arg == "drivername"), None
            )
            if driver is None:
                return base
            return [
                Candidate(
                    f"{driver}://{c.text.split('://', 1)[1]}"
                    if c.text and "://" in c.text
                    else f"{driver}://…",
                    c.origin,
                    c.when,
                )
                for c in base
            ]
        if func.attr in PASS_THROUGH:
            return base
        if func.attr == "get" and len(call.args) >= 2:  # a mapping's value, else the default
            key = here.snippet(call.args[0], 30)
            owner = here.snippet(func.value, 30)
            out = [Candidate(None, f"`{owner}[{key}]`", f"{owner} has {key}")]
            for candidate in _values(here, call.args[1], scope, depth + 1, params):
                out.append(
                    Candidate(
                        candidate.text,
                        candidate.origin,
                        _and(f"{owner} has no {key}", candidate.when),
                    )
                )
            return out
        return [Candidate(None, f"`{here.snippet(call, 40)}`")]
    if isinstance(func, ast.Name):
        if func.id == "str" and first is not None:
            return _values(here, first, scope, depth + 1, params)
        helper = scope.lookup_function(func.id)
        if helper is not None and helper.returns:
            bound: Bound = {}
            for param, arg in zip(helper.params, call.args, strict=False):
                bound[param.arg] = (arg, scope)
            for kw in call.keywords:
                if kw.arg:
                    bound[kw.arg] = (kw.value, scope)
            out = []
            for returned in helper.returns:
                out.extend(_values(here, returned, helper, depth + 1, bound))
            return out
    return [Candidate(None, f"`{here.snippet(call, 40)}`")]


def conjuncts(when: str) -> tuple[str, ...]:
    from .url_groups import conjuncts as split

    return split(when)


def simplify(paths: list[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    from .url_groups import simplify as merge

    return merge(paths)


def filled_at_run_time(here: Here, raw: str) -> list[int]:
    """Lines of the `set_section_option(section, KEY, ...)` calls that set the `%(KEY)s`
    placeholders of an ini value (configparser keys are case-insensitive)."""
    wanted = {k.lower() for k in re.findall(r"%\((\w+)\)s", raw)}
    lines = []
    for call in here.facts.calls_named(N.CONFIG + ".set_section_option"):
        key = const_str(call.node.args[1]) if len(call.node.args) > 1 else None
        if key and key.lower() in wanted:
            lines.append(here.line_of(call.node))
    return lines


def _main_option_values(
    here: Here, key: str, call: ast.AST, scope: Scope, depth: int, params: Bound
) -> list[Candidate]:
    """`config.get_main_option(key)` read at `call`: the ini value, and each
    `set_main_option(key, ...)` that may run before it, with its condition."""
    section = main_section(here.project)
    ini = getattr(here.project, "ini", None)
    found = ini.get(section, key) if ini is not None else None
    if found is not None and found.value is not None:
        base = Candidate(found.value, f"{ini.path.name} [{section}] {key}")  # type: ignore[union-attr]
    elif found is not None and filled_at_run_time(here, found.raw):
        # `%(DB_USER)s` keys that env.py sets with set_section_option before reading
        base = Candidate(
            found.raw,
            f"{ini.path.name} [{section}] {key}, its %(...)s filled in by set_section_option",  # type: ignore[union-attr]
        )
    elif found is not None:  # in the ini, but `%(...)s` cannot be filled in: reading it raises
        base = Candidate(None, f"{ini.path.name} [{section}] {key}, which cannot be interpolated")  # type: ignore[union-attr]
    elif ini is not None:  # not in the ini: get_main_option returns its default, None
        base = Candidate(None, NONE_NOT_IN_INI)
    else:
        base = Candidate(None, f"[{section}] {key} (no alembic.ini is paired with this env.py)")
    out: list[Candidate] = []
    paths: list[tuple[str, ...]] = []  # the condition of each override, as conjuncts
    for override in here.facts.calls_named(N.CONFIG + ".set_main_option"):
        if len(override.node.args) < 2 or const_str(override.node.args[0]) != key:
            continue
        if override.scope is scope and override.node.lineno > getattr(call, "lineno", 0):
            continue
        if within(call, override.node):
            continue  # the read inside the override's own value sees the ini value
        branches = override.branches
        cond = _and(
            *(
                here.source.slice(here.rng(b.test))
                if inside
                else f"not ({here.source.slice(here.rng(b.test))})"
                for b, inside in branches
            )
        )
        value_node = override.node.args[1]
        truthy = (
            {value_node.id, f"{value_node.id} is not None"}
            if isinstance(value_node, ast.Name)
            else set()
        )
        for candidate in _values(here, value_node, override.scope, depth + 1, params):
            if candidate.origin == NONE and truthy & {p.strip() for p in cond.split(" and ")}:
                continue  # `if url: set_main_option(..., url)`: never None there
            out.append(
                Candidate(
                    candidate.text,
                    f"set at line {here.line_of(override.node)}"
                    + (f" from {candidate.origin}" if candidate.text is None else ""),
                    _and(cond, candidate.when),
                )
            )
        if not branches:
            return out  # always overridden: the ini value is never read
        paths.append(conjuncts(cond))
    if not out:
        return [base]
    if () in simplify(paths):
        return out  # every way through the ifs overrides it: the ini value is never read
    return [*out, Candidate(base.text, base.origin, "no override ran")]


def engine_candidates(here: Here, engine: EngineFact) -> list[Candidate]:
    """The values the engine's URL may take, path by path (empty: nothing to add to the
    model's single value)."""
    node = engine.url_node
    scope = engine.call.scope
    if node is None:
        return []
    _SPENT.steps = 0
    found: list[Candidate]
    if engine.factory.endswith("from_config") and engine.call.keyword("url") is None:
        q = qualified_name(node.func, scope) if isinstance(node, ast.Call) else None
        section = node.args[0] if isinstance(node, ast.Call) and node.args else None
        main = section is not None and (
            qualified_name(section, scope) == N.CONFIG + ".config_ini_section"
            or const_str(section) == main_section(here.project)
        )
        if q == N.CONFIG + ".get_section" and main:
            found = _main_option_values(here, "sqlalchemy.url", engine.call.node, scope, 0, {})
        else:
            found = [from_model(here, a) for a in engine.url.alternatives]
    else:
        found = _values(here, node, scope, 0, {})
    unique = _capped(found)
    return unique if len(unique) > 1 else []
