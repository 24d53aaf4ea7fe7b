"""Where an engine's URL comes from: a small static evaluator (docs/architecture.md, URL confidence).

It follows literals, local variables, `os.getenv` defaults, `.replace()`, `make_url().set()`,
local helpers such as `get_url()`, `config.set_main_option()` overrides and alembic.ini.
It never guesses: what it cannot see is UNKNOWN, carrying the names seen on the way.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from . import names as N
from .alternatives import simplify
from .facts import CallFact, Condition, Confidence, EnvSet, Kind, Raised, Reach, Scope, UrlValue
from .qualify import qualified_name, subscript_name
from .url_values import (
    capped,
    changed,
    constant_str,
    dotted,
    each_path,
    formatted_scheme,
    in_order,
    none_value,
    one_of,
    or_paths,
    paths_of,
    replaced_in,
    unknown,
    with_driver,
    without_none,
)

if TYPE_CHECKING:
    from .build import _Builder

_MAX_DEPTH = 16
_PASS_THROUGH_METHODS = frozenset(
    {"render_as_string", "get_secret_value", "strip", "unicode_string", "__str__"}
)


_DECODERS = frozenset({"urllib.parse.unquote", "urllib.parse.unquote_plus"})


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
            return none_value(f"None (line {expr.lineno})")
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
            return unknown(dotted(expr) or expr.attr, (expr.attr,))
        if isinstance(expr, ast.Subscript):
            key = constant_str(expr.slice)
            q = qualified_name(expr.value, scope)
            if q == "os.environ" and key:
                return unknown(f"environment variable {key}", (key,))
            return unknown(dotted(expr.value) or "subscript", (key,) if key else ())
        if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):
            values = [self.evaluate(v, scope, line, depth + 1) for v in expr.values]
            names = tuple(n for v in values for n in v.names)
            alternatives = or_paths(expr.values, values)
            if len(alternatives) == 1:  # the others are None or empty: never the result
                return changed(alternatives[0], conditions=(), names=names)
            for value in values:
                if value.text == "" and value is not values[-1]:
                    continue  # an empty value is falsy: `or` goes on to the next one
                if value.confidence >= Confidence.DEFAULT:
                    # anything before it may win at run time: it is only a default
                    first = value is values[0]
                    confidence = value.confidence if first else Confidence.DEFAULT
                    return changed(
                        value, confidence=confidence, names=names, alternatives=alternatives
                    )
            return changed(unknown("one of several values", names), alternatives=alternatives)
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
                kept = without_none(value)
                if kept is None:
                    continue
                value = kept
            values.append((value, reach))
        if not values:
            return unknown(f"variable {name}", (name,))
        if len(values) == 1:
            return self._named(changed(values[0][0], conditions=()), name)
        candidates = [
            in_order(path, reach.scope or scope)
            for value, reach in values
            for path in paths_of(value, reach.conditions)
        ]
        return one_of(candidates, name, prefer_last=True)

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
                value = none_value(f"None returned by {name}() (line {line})")
                if isinstance(way_out.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    value = none_value(f"None: {name}() ends without a return")
            else:
                value = self.evaluate(way_out.value, helper, way_out.value.lineno, depth + 1)
            candidates.extend(in_order(p, helper) for p in paths_of(value, way_out.conditions))
        if not candidates:
            return unknown(f"{name}()", (name,))
        return one_of(candidates, name, prefer_last=False)

    def _call(self, call: ast.Call, scope: Scope, line: int, depth: int) -> UrlValue:
        qname = qualified_name(call.func, scope)
        func = call.func
        if qname in N.ENV_GETTERS:
            name = constant_str(call.args[0]) if call.args else None
            default = call.args[1] if len(call.args) > 1 else None
            for kw in call.keywords:
                if kw.arg == "default":
                    default = kw.value
            names = (name,) if name else ()
            if name is None:
                return unknown("an environment variable named at run time")
            variable = unknown(f"environment variable {name}", names)
            is_set = changed(variable, conditions=(EnvSet(call, True, name),))
            unset = (EnvSet(call, False, name),)
            if default is None:
                # None when it is not set: one binding, two values (`if not url: raise` drops it)
                none = changed(
                    none_value(f"None: environment variable {name} is not set"), names=names
                )
                return changed(variable, alternatives=(is_set, changed(none, conditions=unset)))
            if isinstance(default, ast.Constant) and isinstance(default.value, str):
                fallback = UrlValue(
                    default.value,
                    Confidence.DEFAULT,
                    f"default of environment variable {name}",
                    literal=default,
                    names=names,
                )
                return changed(fallback, alternatives=(is_set, changed(fallback, conditions=unset)))
            return variable
        if qname == N.CONFIG + ".get_main_option":
            key = constant_str(call.args[0]) if call.args else None
            if key is None:
                return unknown("config.get_main_option")
            value = self.main_option(key, scope, line, depth + 1)
            if value.confidence is Confidence.UNKNOWN and len(call.args) > 1:
                return changed(
                    self.evaluate(call.args[1], scope, line, depth + 1),
                    confidence=Confidence.DEFAULT,
                )
            return value
        if qname == N.CONFIG + ".get_section_option" and len(call.args) >= 2:
            section, key = constant_str(call.args[0]), constant_str(call.args[1])
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
                old, new = constant_str(call.args[0]), constant_str(call.args[1])
                base = self.evaluate(func.value, scope, line, depth + 1)
                if old is None or new is None:
                    return unknown("str.replace() with computed arguments", base.names)
                return each_path(base, partial(replaced_in, old=old, new=new))
            if func.attr == "set":
                base = self.evaluate(func.value, scope, line, depth + 1)
                for kw in call.keywords:
                    if kw.arg == "drivername":
                        new_driver = constant_str(kw.value)
                        if new_driver is None:
                            return unknown("URL.set(drivername=...)", base.names)
                        return each_path(base, partial(with_driver, driver=new_driver))
                return base
            if func.attr in _PASS_THROUGH_METHODS:
                return self.evaluate(func.value, scope, line, depth + 1)
            if func.attr == "format" and isinstance(func.value, ast.Constant):
                return formatted_scheme(func.value, call)
        if isinstance(func, ast.Name):
            helper = scope.lookup_function(func.id)
            if helper is not None:
                return self._helper(func.id, helper, depth)
        return unknown(dotted(func) + "()" if dotted(func) else "call")

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
                if constant_str(k) == key:
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
                name = constant_str(section) if section is not None else None
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
        overrides = self._overrides(key, scope, line)
        if not overrides:
            return ini
        # an override on every path hides the ini value and every override before it
        always = [i for i, (_, conditions) in enumerate(overrides) if not conditions]
        if always:
            overrides = overrides[always[-1] :]
        where = f"config.set_main_option({key!r}, ...) in env.py"
        if len(overrides) == 1 and always:  # one override on every path: its value, as it is
            call = overrides[0][0]
            value = self.evaluate(call.node.args[1], call.scope, call.node.lineno, depth + 1)
            return changed(value, origin=f"{where}: {value.origin}")
        values: list[UrlValue] = []  # each path's value, origin as evaluated
        shown: list[UrlValue] = []  # the same, saying where it was set
        for index, (call, conditions) in enumerate(overrides):
            # a later override that may also run wins: this value is used when it does not
            for _, later in overrides[index + 1 :]:
                if not _exclusive(conditions, later) and len(later) == 1:
                    conditions = (*conditions, _complement(later[0]))
            value = self.evaluate(call.node.args[1], call.scope, call.node.lineno, depth + 1)
            set_at = f"set at line {call.node.lineno}"
            for path in paths_of(value, conditions):
                values.append(path)
                origin = set_at if path.text else f"{set_at} from {path.origin}"
                shown.append(changed(path, origin=origin))
        names = tuple(dict.fromkeys(n for v in values for n in v.names))
        if always or simplify([c for _, c in overrides]) == ((),):
            # the ini value is never read
            main = one_of(values, key, prefer_last=True)
            return changed(
                main, origin=f"{where}: {main.origin}", names=names, alternatives=capped(shown)
            )
        # Only sometimes overridden: the ini value is what runs otherwise.
        if len(overrides) == 1 and len(overrides[0][1]) == 1:
            otherwise: tuple[Condition, ...] = (_complement(overrides[0][1][0]),)
        else:
            otherwise = ()  # listed last: when none of the overrides above ran
        alternatives = capped([*shown, changed(ini, conditions=otherwise)])
        known = [v for v in values if v.confidence >= Confidence.DEFAULT]
        if known or ini.text is None:
            # a known override, or nothing readable in the ini: the override stands for the URL
            chosen = known[-1] if known else one_of(values, key, prefer_last=True)
            return changed(
                chosen,
                confidence=min(chosen.confidence, Confidence.DEFAULT),
                origin=f"{where}: {chosen.origin}",
                names=names,
                conditions=(),
                alternatives=alternatives,
            )
        origins = " or ".join(dict.fromkeys(v.origin for v in values))
        return changed(
            ini,
            confidence=min(ini.confidence, Confidence.DEFAULT),
            origin=f"{ini.origin}, unless env.py overrides it from {origins}",
            names=names,
            alternatives=alternatives,
        )

    def _overrides(
        self, key: str, scope: Scope, line: int
    ) -> list[tuple[CallFact, tuple[Condition, ...]]]:
        """The `config.set_main_option(key, ...)` calls that may run before a read at `line` of
        `scope`, in the order they run, each with the conditions of its path: module code runs
        before any function is called; within one scope, only the calls above the read."""
        module: list[CallFact] = []
        local: list[CallFact] = []
        for call in self.builder.calls:
            if call.qname != N.CONFIG + ".set_main_option" or len(call.node.args) < 2:
                continue
            if constant_str(call.node.args[0]) != key:
                continue
            before = call.node.lineno <= line
            if call.scope.is_module and (before or not scope.is_module):
                module.append(call)
            elif call.scope is scope and before:
                local.append(call)
        return [
            (
                call,
                tuple(Condition(branch.test, held) for branch, held in call.branches)
                + tuple(Raised(try_, False) for try_ in call.in_try),
            )
            for call in module + local
        ]

    def ini_value(self, section: str, key: str) -> UrlValue:
        project = self.builder.project
        ini = getattr(project, "ini", None)
        looked_up = (section, key)
        if ini is None:
            return changed(
                unknown(f"{key} from alembic.ini (no alembic.ini found for this env.py)"),
                ini_key=looked_up,
            )
        value = ini.get(section, key)
        where = f"{ini.path.name} [{section}] {key}"
        if value is None:
            return changed(unknown(f"{where} (not set)"), ini_key=looked_up)
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
        return changed(value, names=value.names + (name,))


def _complement(condition: Condition) -> Condition:
    return replace(condition, holds=not condition.holds)


def _exclusive(one: tuple[Condition, ...], other: tuple[Condition, ...]) -> bool:
    """No path meets both: one holds a test the other fails (`if` / `elif` / `else`)."""
    return any(a.test is b.test and a.holds != b.holds for a in one for b in other)
