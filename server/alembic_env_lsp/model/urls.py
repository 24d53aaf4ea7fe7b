"""Where an engine's URL comes from: a small static evaluator (docs/architecture.md, URL confidence).

It follows literals, local variables, `os.getenv` defaults, `.replace()`, `make_url().set()`,
local helpers such as `get_url()`, `config.set_main_option()` overrides and alembic.ini.
It never guesses: what it cannot see is UNKNOWN, carrying the names seen on the way.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from . import names as N
from .facts import CallFact, Condition, Confidence, EnvSet, Kind, Reach, Scope, UrlValue
from .qualify import qualified_name, subscript_name

if TYPE_CHECKING:
    from .build import _Builder

_MAX_DEPTH = 16
# More values than this for one expression (a generated file, helpers calling helpers): the
# rest stand as one unknown value.
_MAX_ALTERNATIVES = 16
_PASS_THROUGH_METHODS = frozenset(
    {"render_as_string", "get_secret_value", "strip", "unicode_string", "__str__"}
)


_DECODERS = frozenset({"urllib.parse.unquote", "urllib.parse.unquote_plus"})


def unknown(origin: str, names: tuple[str, ...] = (), replaced=()) -> UrlValue:
    return UrlValue(None, Confidence.UNKNOWN, origin, names=names, replaced=tuple(replaced))


class UrlResolver:
    def __init__(self, builder: _Builder):
        self.builder = builder
        # What is being evaluated right now: a self-reference (`url = get_main_option(k) or ...`
        # then `set_main_option(k, url)`) must end, not recurse.
        self._active: set[int] = set()
        self._active_keys: set[str] = set()
        # Values already worked out, by (id(expr), id(scope), line) / id(helper scope): a name
        # rebound on many paths, or helpers calling helpers, stay linear. Only values whose
        # evaluation cut nothing short (depth, a self-reference) are kept: those do not depend
        # on where the evaluation came from. `_cuts` counts the cuts.
        self._memo: dict[tuple[int, int, int], tuple[ast.expr, UrlValue]] = {}
        self._helpers: dict[int, UrlValue] = {}
        self._cuts = 0

    # ---- entry points -----------------------------------------------------------------

    def engine_url(self, call: CallFact) -> tuple[UrlValue, ast.expr | None]:
        """The URL an engine factory call will use, and the env.py expression it came from."""
        explicit = call.keyword("url")
        if call.qname in N.FROM_CONFIG_FACTORIES:
            if explicit is not None:
                return self.evaluate(explicit, call.scope, call.node.lineno), explicit
            config = call.arg(0, "configuration")
            prefix_node = call.keyword("prefix")
            if prefix_node is None and len(call.node.args) > 1:
                prefix_node = call.node.args[1]
            prefix = "sqlalchemy."
            if isinstance(prefix_node, ast.Constant) and isinstance(prefix_node.value, str):
                prefix = prefix_node.value
            if config is None:
                return unknown("engine configuration not visible"), None
            return self._from_config_dict(config, prefix, call.scope, call.node.lineno), config
        url = call.arg(0, "url")
        if url is None:
            return unknown("no URL argument"), None
        return self.evaluate(url, call.scope, call.node.lineno), url

    def evaluate(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0) -> UrlValue:
        if depth > _MAX_DEPTH:
            self._cuts += 1
            return unknown("too many indirections")
        if id(expr) in self._active:
            self._cuts += 1
            return unknown("a value that refers to itself")
        key = (id(expr), id(scope), line)
        known = self._memo.get(key)
        if known is not None and known[0] is expr:
            return known[1]
        cuts = self._cuts
        self._active.add(id(expr))
        try:
            value = self._evaluate(expr, scope, line, depth)
        finally:
            self._active.discard(id(expr))
        if self._cuts == cuts:
            # nothing on the way depended on where we came from; `expr` is kept alive with it,
            # so its id is never reused by a node a caller builds later
            self._memo[key] = (expr, value)
        return value

    def _evaluate(self, expr: ast.expr, scope: Scope, line: int, depth: int) -> UrlValue:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return UrlValue(
                expr.value, Confidence.LITERAL, "string literal in env.py", literal=expr
            )
        if isinstance(expr, ast.Constant) and expr.value is None:
            return _none(f"None (line {expr.lineno})")
        if isinstance(expr, ast.JoinedStr):
            head = expr.values[0] if expr.values else None
            if (
                isinstance(head, ast.Constant)
                and isinstance(head.value, str)
                and "://" in head.value
            ):
                return UrlValue(head.value, Confidence.LITERAL, "f-string in env.py")
            return unknown("f-string in env.py")
        if isinstance(expr, ast.Name):
            binding = scope.kind_at(expr)
            if binding is not None and binding.engine is not None and binding.kind is Kind.URL:
                return self._named(binding.engine.url, expr.id)
            reaches = scope.possible_bindings(expr)
            if reaches:
                return self._reaching(expr.id, reaches, scope, depth)
            assignment = scope.last_assignment(expr.id, line)
            if assignment is None:
                return unknown(f"variable {expr.id}", (expr.id,))
            value = self.evaluate(assignment.value, scope, assignment.stmt.lineno, depth + 1)
            return self._named(value, expr.id)
        if isinstance(expr, ast.Attribute):
            if expr.attr == "url":
                binding = self.builder._kind_of_expr(expr.value, scope)
                if binding is not None and binding.engine is not None:
                    return binding.engine.url
            return unknown(_dotted(expr) or expr.attr, (expr.attr,))
        if isinstance(expr, ast.Subscript):
            key = _constant_str(expr.slice)
            q = qualified_name(expr.value, scope)
            if q == "os.environ" and key:
                return unknown(f"environment variable {key}", (key,))
            return unknown(_dotted(expr.value) or "subscript", (key,) if key else ())
        if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):
            values = [self.evaluate(v, scope, line, depth + 1) for v in expr.values]
            names = tuple(n for v in values for n in v.names)
            alternatives = _or_paths(expr.values, values)
            if len(alternatives) == 1:  # the others are None or empty: never the result
                return _with(alternatives[0], conditions=(), names=names)
            for value in values:
                if value.text == "" and value is not values[-1]:
                    continue  # an empty value is falsy: `or` goes on to the next one
                if value.confidence >= Confidence.DEFAULT:
                    # anything before it may win at run time: it is only a default
                    first = value is values[0]
                    confidence = value.confidence if first else Confidence.DEFAULT
                    return _with(
                        value, confidence=confidence, names=names, alternatives=alternatives
                    )
            return _with(unknown("one of several values", names), alternatives=alternatives)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Mod)):
            left = expr.left
            if (
                isinstance(left, ast.Constant)
                and isinstance(left.value, str)
                and "://" in left.value
            ):
                return UrlValue(left.value, Confidence.LITERAL, "string built in env.py")
            return unknown("string built in env.py")
        if isinstance(expr, ast.Call):
            return self._call(expr, scope, line, depth)
        if isinstance(expr, ast.Await):
            return self.evaluate(expr.value, scope, line, depth + 1)
        return unknown("expression in env.py")

    # ---- helpers ----------------------------------------------------------------------

    def _reaching(
        self, name: str, reaches: tuple[Reach, ...], scope: Scope, depth: int
    ) -> UrlValue:
        """The value of a variable from the bindings that reach the read: one per path."""
        values: list[tuple[UrlValue, Reach]] = []
        for reach in reaches:
            if reach.truncated:
                value = unknown("more values (not followed)", (name,))
            elif reach.assignment is None:
                value = unknown(f"variable {name}", (name,))
            else:
                stmt = reach.assignment.stmt
                value = self.evaluate(
                    reach.assignment.value, reach.scope or scope, stmt.lineno, depth + 1
                )
            if reach.none is False:
                # narrowed (`if not url: raise`, `assert url`): its None values never get here
                kept = _without_none(value)
                if kept is None:
                    continue
                value = kept
            values.append((value, reach))
        if not values:
            return unknown(f"variable {name}", (name,))
        if len(values) == 1:
            return self._named(_with(values[0][0], conditions=()), name)
        candidates = [
            _in_order(path, reach.scope or scope)
            for value, reach in values
            for path in _paths(value, reach.conditions)
        ]
        return _one_of(candidates, name, prefer_last=True)

    def _helper(self, name: str, helper: Scope, depth: int) -> UrlValue:
        """What a local helper returns: every `return` a path reaches, each under the
        conditions of its path (an `if`, a `try`, an earlier return not taken)."""
        cached = self._helpers.get(id(helper))
        if cached is not None:
            return cached  # the same whatever the call site: its arguments are not followed
        cuts = self._cuts
        value = self._helper_value(name, helper, depth)
        if self._cuts == cuts:
            self._helpers[id(helper)] = value
        return value

    def _helper_value(self, name: str, helper: Scope, depth: int) -> UrlValue:
        if len(helper.return_paths) == 1 and helper.return_paths[0].value is not None:
            returned = helper.return_paths[0].value
            return self._named(self.evaluate(returned, helper, returned.lineno, depth + 1), name)
        candidates: list[UrlValue] = []
        for way_out in helper.return_paths:
            if way_out.value is None:
                line = getattr(way_out.node, "lineno", "?")
                value = _none(f"None returned by {name}() (line {line})")
                if isinstance(way_out.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    value = _none(f"None: {name}() ends without a return")
            else:
                value = self.evaluate(way_out.value, helper, way_out.value.lineno, depth + 1)
            candidates.extend(_in_order(p, helper) for p in _paths(value, way_out.conditions))
        if not candidates:
            return unknown(f"{name}()", (name,))
        return _one_of(candidates, name, prefer_last=False)

    def _call(self, call: ast.Call, scope: Scope, line: int, depth: int) -> UrlValue:
        qname = qualified_name(call.func, scope)
        func = call.func
        if qname in N.ENV_GETTERS:
            name = _constant_str(call.args[0]) if call.args else None
            default = call.args[1] if len(call.args) > 1 else None
            for kw in call.keywords:
                if kw.arg == "default":
                    default = kw.value
            names = (name,) if name else ()
            if name is None:
                return unknown("an environment variable named at run time")
            variable = unknown(f"environment variable {name}", names)
            is_set = _with(variable, conditions=(EnvSet(call, True, name),))
            unset = (EnvSet(call, False, name),)
            if default is None:
                # None when it is not set: one binding, two values (`if not url: raise` drops it)
                none = _with(_none(f"None: environment variable {name} is not set"), names=names)
                return _with(variable, alternatives=(is_set, _with(none, conditions=unset)))
            if isinstance(default, ast.Constant) and isinstance(default.value, str):
                fallback = UrlValue(
                    default.value,
                    Confidence.DEFAULT,
                    f"default of environment variable {name}",
                    literal=default,
                    names=names,
                )
                return _with(fallback, alternatives=(is_set, _with(fallback, conditions=unset)))
            return variable
        if qname == N.CONFIG + ".get_main_option":
            key = _constant_str(call.args[0]) if call.args else None
            if key is None:
                return unknown("config.get_main_option")
            value = self.main_option(key, scope, line, depth + 1)
            if value.confidence is Confidence.UNKNOWN and len(call.args) > 1:
                return _with(
                    self.evaluate(call.args[1], scope, line, depth + 1),
                    confidence=Confidence.DEFAULT,
                )
            return value
        if qname == N.CONFIG + ".get_section_option" and len(call.args) >= 2:
            section, key = _constant_str(call.args[0]), _constant_str(call.args[1])
            if section and key:
                return self.ini_value(section, key)
            return unknown("config.get_section_option")
        if qname in N.URL_BUILDERS:
            if qname.endswith("create"):
                driver = call.args[0] if call.args else None
                for kw in call.keywords:
                    if kw.arg == "drivername":
                        driver = kw.value
                if isinstance(driver, ast.Constant) and isinstance(driver.value, str):
                    return UrlValue(
                        driver.value + "://", Confidence.LITERAL, "URL.create() in env.py"
                    )
                return unknown("URL.create()")
            if call.args:
                return self.evaluate(call.args[0], scope, line, depth + 1)
            return unknown("make_url()")
        if isinstance(func, ast.Name) and func.id == "str" and qname is None and call.args:
            return self.evaluate(call.args[0], scope, line, depth + 1)
        if qname in _DECODERS and call.args:
            # unquote() only decodes %-escapes: the scheme is the argument's
            return self.evaluate(call.args[0], scope, line, depth + 1)
        if isinstance(func, ast.Attribute):
            if func.attr == "replace" and len(call.args) >= 2:
                old, new = _constant_str(call.args[0]), _constant_str(call.args[1])
                base = self.evaluate(func.value, scope, line, depth + 1)
                if old is None or new is None:
                    return unknown("str.replace() with computed arguments", base.names)
                return _each(base, partial(_replaced, old=old, new=new))
            if func.attr == "set":
                base = self.evaluate(func.value, scope, line, depth + 1)
                for kw in call.keywords:
                    if kw.arg == "drivername":
                        new_driver = _constant_str(kw.value)
                        if new_driver is None:
                            return unknown("URL.set(drivername=...)", base.names)
                        return _each(base, partial(_driver_set, driver=new_driver))
                return base
            if func.attr in _PASS_THROUGH_METHODS:
                return self.evaluate(func.value, scope, line, depth + 1)
            if func.attr == "format" and isinstance(func.value, ast.Constant):
                return _formatted_scheme(func.value, call)
        if isinstance(func, ast.Name):
            helper = scope.lookup_function(func.id)
            if helper is not None:
                return self._helper(func.id, helper, depth)
        return unknown(_dotted(func) + "()" if _dotted(func) else "call")

    def _from_config_dict(
        self, config: ast.expr, prefix: str, scope: Scope, line: int, depth: int = 0
    ) -> UrlValue:
        if depth > _MAX_DEPTH:
            return unknown("too many indirections")

        key = prefix + "url"
        if isinstance(config, ast.Dict):
            for k, v in zip(config.keys, config.values, strict=True):
                if k is None and isinstance(v, ast.expr):
                    continue
                if _constant_str(k) == key:
                    return self.evaluate(v, scope, line, depth + 1)
            for k, v in zip(config.keys, config.values, strict=True):
                if k is None:
                    return self._from_config_dict(v, prefix, scope, line, depth + 1)
            return unknown("configuration dict without " + key)
        if isinstance(config, ast.Name):
            override = scope.last_assignment(subscript_name(config.id, key), line)
            if override is not None:
                return self.evaluate(override.value, scope, override.stmt.lineno, depth + 1)
            assignment = scope.last_assignment(config.id, line)
            if assignment is None:
                return unknown(f"variable {config.id}", (config.id,))
            return self._from_config_dict(
                assignment.value, prefix, scope, assignment.stmt.lineno, depth + 1
            )
        if isinstance(config, ast.Call):
            q = qualified_name(config.func, scope)
            if q == N.CONFIG + ".get_section":
                section = config.args[0] if config.args else None
                name = _constant_str(section) if section is not None else None
                if (
                    section is not None
                    and qualified_name(section, scope) == N.CONFIG + ".config_ini_section"
                ):
                    name = None  # the main section
                if name is None or name == self._main_section():
                    return self.main_option(key, scope, line, depth + 1)
                return self.ini_value(name, key)
        return unknown("engine configuration built in env.py")

    def main_option(self, key: str, scope: Scope, line: int, depth: int = 0) -> UrlValue:
        """config.get_main_option(key), after any config.set_main_option(key, ...) before it."""
        ini = self.ini_value(self._main_section(), key)
        if key in self._active_keys:
            # Read while computing the value that overrides it: the ini value, as at run time.
            self._cuts += 1
            return ini
        self._active_keys.add(key)
        try:
            return self._main_option(key, scope, line, depth, ini)
        finally:
            self._active_keys.discard(key)

    def _main_option(
        self, key: str, scope: Scope, line: int, depth: int, ini: UrlValue
    ) -> UrlValue:
        override = None
        for call in self.builder.calls:
            if call.qname != N.CONFIG + ".set_main_option" or len(call.node.args) < 2:
                continue
            if _constant_str(call.node.args[0]) != key:
                continue
            before = call.node.lineno <= line
            # Module code has run before any function is called; within one scope, only the
            # overrides above the read count.
            if (call.scope is scope and before) or (
                call.scope.is_module and (before or not scope.is_module)
            ):
                override = call
        if override is not None:
            value = self.evaluate(
                override.node.args[1], override.scope, override.node.lineno, depth + 1
            )
            conditional = any(branch is not None for branch, _ in override.branches) or bool(
                override.in_try
            )
            if conditional and value.confidence < Confidence.DEFAULT and ini.text is not None:
                # Only sometimes overridden: the ini value is what runs otherwise.
                names = value.names
                # the path of each: under the override's if-tests, or (one test) its negation
                tests = tuple(Condition(branch.test, held) for branch, held in override.branches)
                otherwise = (
                    (Condition(tests[0].test, not tests[0].holds),) if len(tests) == 1 else ()
                )
                return _with(
                    ini,
                    confidence=min(ini.confidence, Confidence.DEFAULT),
                    origin=f"{ini.origin}, unless env.py overrides it from {value.origin}",
                    names=names,
                    alternatives=(
                        _with(ini, conditions=otherwise),
                        _with(value, conditions=tests),
                    ),
                )
            return _with(
                value, origin=f"config.set_main_option({key!r}, ...) in env.py: {value.origin}"
            )
        return ini

    def ini_value(self, section: str, key: str) -> UrlValue:
        project = self.builder.project
        ini = getattr(project, "ini", None)
        looked_up = (section, key)
        if ini is None:
            return _with(
                unknown(f"{key} from alembic.ini (no alembic.ini found for this env.py)"),
                ini_key=looked_up,
            )
        value = ini.get(section, key)
        where = f"{ini.path.name} [{section}] {key}"
        if value is None:
            return _with(unknown(f"{where} (not set)"), ini_key=looked_up)
        where = f"{where} (line {value.line + 1})"
        if value.value is None:
            return UrlValue(
                None,
                Confidence.UNKNOWN,
                where,
                ini_value=value,
                ini_path=str(ini.path),
                ini_key=looked_up,
            )
        return UrlValue(
            value.value,
            Confidence.LITERAL,
            where,
            ini_value=value,
            ini_path=str(ini.path),
            ini_key=looked_up,
        )

    def _main_section(self) -> str:
        return getattr(self.builder.project, "main_section", "alembic") or "alembic"

    @staticmethod
    def _named(value: UrlValue, name: str) -> UrlValue:
        return _with(value, names=value.names + (name,))


def _with(value: UrlValue, **changes: Any) -> UrlValue:
    return replace(value, **changes)


def _none(origin: str) -> UrlValue:
    return UrlValue(None, Confidence.UNKNOWN, origin, none=True)


def _paths(value: UrlValue, conditions: tuple[Condition, ...]) -> list[UrlValue]:
    """The values `value` stands for (itself, or its alternatives), each under `conditions`
    (the path from it to the read or the return) and then its own (met while computing it):
    alternatives stay flat however deep the helpers go. A value whose conditions contradict
    each other (`if os.getenv("X"): return os.getenv("X")` has no None) is left out."""
    out = []
    for leaf in value.alternatives or (value,):
        joined = _consistent(conditions + leaf.conditions)
        if joined is not None:
            out.append(_with(leaf, conditions=joined, alternatives=()))
    return out


_GETTER_NAMES = frozenset({"os.getenv", "os.environ.get", "getenv", "environ.get"})


def _env_name(node: ast.AST) -> str | None:
    """X in `os.getenv("X")` / `os.environ.get("X", ...)`."""
    if isinstance(node, ast.Call) and _dotted(node.func) in _GETTER_NAMES and node.args:
        return _constant_str(node.args[0])
    return None


def _consistent(conditions: tuple[Condition, ...]) -> tuple[Condition, ...] | None:
    """The conditions without repeats of what an earlier one says about an environment
    variable; None when they contradict (X truthy, then X not set)."""
    # `if os.getenv("X"):` held: X is set (and not empty), wherever it is in the list
    truthy = {
        name
        for c in conditions
        if c.holds and not isinstance(c, EnvSet) and (name := _env_name(c.test)) is not None
    }
    said: dict[str, bool] = {}
    out: list[Condition] = []
    for condition in conditions:
        if isinstance(condition, EnvSet):
            known = True if condition.name in truthy else said.get(condition.name)
            if known is not None:
                if known != condition.holds:
                    return None
                continue
            said[condition.name] = condition.holds
        out.append(condition)
    return tuple(out)


def _in_order(value: UrlValue, scope: Scope) -> UrlValue:
    """`value` with its conditions in the order they run, when all are tests of one function
    (source order there); tests of other functions (a helper it called) keep the order
    they were found in."""
    node = scope.node
    if scope.is_module or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return value
    first, last = node.lineno, node.end_lineno or node.lineno
    where = [
        (getattr(c.test, "lineno", 0), getattr(c.test, "col_offset", 0)) for c in value.conditions
    ]
    if len(where) < 2 or not all(first <= line <= last for line, _ in where):
        return value
    ordered = [c for _, c in sorted(zip(where, value.conditions, strict=True), key=lambda p: p[0])]
    return _with(value, conditions=tuple(ordered))


def _without_none(value: UrlValue) -> UrlValue | None:
    """`value` on a path where it is known not to be None (None: no value is left)."""
    if not value.alternatives:
        return None if value.none else value
    kept = tuple(a for a in value.alternatives if not a.none)
    if len(kept) == len(value.alternatives):
        return value
    if not kept:
        return None
    if len(kept) == 1:
        return _with(kept[0], conditions=(), names=value.names)
    return _with(value, alternatives=kept)


def _or_paths(operands: list[ast.expr], values: list[UrlValue]) -> tuple[UrlValue, ...]:
    """`a or b or c`: a's values when a is truthy, b's when a is not and b is, c's when neither
    is. A None (or empty) operand that is not the last never gives the result."""
    out: list[UrlValue] = []
    skipped: tuple[Condition, ...] = ()
    for index, (operand, value) in enumerate(zip(operands, values, strict=True)):
        last = index == len(operands) - 1
        taken = skipped if last else (*skipped, Condition(operand, True))
        for leaf in _paths(value, ()):
            if not last and (leaf.none or leaf.text == ""):
                continue
            # `os.getenv(X)` being truthy says X is set: no need to say it twice
            own = tuple(c for c in leaf.conditions if last or c.test is not operand)
            out.append(_with(leaf, conditions=taken + own))
        skipped = (*skipped, Condition(operand, False))
    return _capped(out)


def _capped(values: list[UrlValue]) -> tuple[UrlValue, ...]:
    if len(values) <= _MAX_ALTERNATIVES:
        return tuple(values)
    rest = unknown("more values (not followed)")
    return (*values[: _MAX_ALTERNATIVES - 1], rest)


def _one_of(candidates: list[UrlValue], name: str, prefer_last: bool) -> UrlValue:
    """One value standing for several paths: the known one (the last bound, or the first
    returned) at no more than DEFAULT confidence, carrying every path as an alternative."""
    if len(candidates) == 1:
        only = candidates[0]
        return _with(only, conditions=(), names=only.names + (name,))
    names = tuple(dict.fromkeys(n for c in candidates for n in c.names)) + (name,)
    alternatives = _capped(candidates)
    if len({(c.text, c.confidence, c.none) for c in candidates}) == 1:
        return _with(candidates[-1], names=names, conditions=(), alternatives=alternatives)
    known = [c for c in candidates if c.confidence >= Confidence.DEFAULT]
    if not known:
        return _with(unknown("one of several values", names), alternatives=alternatives)
    # Another path gives another value: what we know holds only on some runs.
    chosen = known[-1] if prefer_last else known[0]
    return _with(
        chosen,
        confidence=min(chosen.confidence, Confidence.DEFAULT),
        names=names,
        conditions=(),
        alternatives=alternatives,
    )


def _each(value: UrlValue, change: Callable[[UrlValue], UrlValue]) -> UrlValue:
    """`change` applied to the value and to every alternative (`.replace()` on any path)."""
    changed = change(value)
    if not value.alternatives:
        return changed
    return _with(changed, alternatives=tuple(change(a) for a in value.alternatives))


def _replaced(value: UrlValue, old: str, new: str) -> UrlValue:
    replaced = value.replaced + ((old, new),)
    if value.text is None:
        if value.none:
            return value  # None.replace() raises: nothing to rewrite
        return _with(unknown(value.origin, value.names, replaced), conditions=value.conditions)
    return _with(value, text=value.text.replace(old, new), replaced=replaced, literal=None)


def _driver_set(value: UrlValue, driver: str) -> UrlValue:
    if value.none:
        return value
    rest = value.text.split("://", 1)[1] if value.text and "://" in value.text else ""
    confidence = max(value.confidence, Confidence.LITERAL)
    return _with(value, text=f"{driver}://{rest}", confidence=confidence, literal=None)


def _constant_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    if isinstance(node, ast.Call):
        inner = _dotted(node.func)
        parts.append(inner + "()" if inner else "call()")
        return ".".join(reversed(parts))
    return ""


_FIELD = re.compile(r"\{([^{}]*)\}")


def _formatted_scheme(template: ast.Constant, call: ast.Call) -> UrlValue:
    """`"{scheme}://{user}@{host}/{db}".format(scheme="postgresql+asyncpg", ...)`: the scheme,
    when the part before `://` is literal or filled by string constants; the rest stays unknown."""
    text = template.value if isinstance(template.value, str) else ""
    origin = "str.format() in env.py"
    if "://" not in text:
        return unknown(origin)
    head = text.split("://", 1)[0]
    named = {kw.arg: _constant_str(kw.value) for kw in call.keywords if kw.arg}
    positional = [_constant_str(a) for a in call.args]
    counter = iter(range(len(positional) + len(head)))

    def field(match: re.Match[str]) -> str:
        name = match.group(1).split("!", 1)[0].split(":", 1)[0]
        index = next(counter) if name == "" else int(name) if name.isdigit() else None
        if index is not None:
            value = positional[index] if index < len(positional) else None
        else:
            value = named.get(name)
        return value if value is not None and "{" not in value else "{?}"

    scheme = _FIELD.sub(field, head)
    if "{" in scheme or "}" in scheme or not scheme:
        return unknown(origin)
    return UrlValue(scheme + "://", Confidence.LITERAL, origin)
