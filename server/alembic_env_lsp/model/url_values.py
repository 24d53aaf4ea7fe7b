"""Operations on URL values (`UrlValue`) for the evaluator in urls.py: the values a
value stands for path by path, the conditions they carry (kept consistent and in the order
they run), `a or b`, and changes applied on every path (`.replace()`, `.set(drivername=)`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .facts import Condition, Confidence, EnvSet, Scope, UrlValue

# More values than this for one expression (a generated file, helpers calling helpers): the
# rest stand as one unknown value.
_MAX_ALTERNATIVES = 16


def unknown(origin: str, names: tuple[str, ...] = (), replaced=()) -> UrlValue:
    return UrlValue(None, Confidence.UNKNOWN, origin, names=names, replaced=tuple(replaced))


def changed(value: UrlValue, **changes: Any) -> UrlValue:
    return replace(value, **changes)


def none_value(origin: str) -> UrlValue:
    return UrlValue(None, Confidence.UNKNOWN, origin, none=True)


def paths_of(value: UrlValue, conditions: tuple[Condition, ...]) -> list[UrlValue]:
    """The values `value` stands for (itself, or its alternatives), each under `conditions`
    (the path from it to the read or the return) and then its own (met while computing it):
    alternatives stay flat however deep the helpers go. A value whose conditions contradict
    each other (`if os.getenv("X"): return os.getenv("X")` has no None) is left out."""
    out = []
    for leaf in value.alternatives or (value,):
        joined = consistent(conditions + leaf.conditions)
        if joined is not None:
            out.append(changed(leaf, conditions=joined, alternatives=()))
    return out


_GETTER_NAMES = frozenset({"os.getenv", "os.environ.get", "getenv", "environ.get"})


def env_name(node: ast.AST) -> str | None:
    """X in `os.getenv("X")` / `os.environ.get("X", ...)`."""
    if isinstance(node, ast.Call) and dotted(node.func) in _GETTER_NAMES and node.args:
        return constant_str(node.args[0])
    return None


def consistent(conditions: tuple[Condition, ...]) -> tuple[Condition, ...] | None:
    """The conditions without repeats of what an earlier one says about an environment
    variable; None when they contradict (X truthy, then X not set)."""
    # `if os.getenv("X"):` held: X is set (and not empty), wherever it is in the list
    truthy = {
        name
        for c in conditions
        if c.holds and not isinstance(c, EnvSet) and (name := env_name(c.test)) is not None
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


def in_order(value: UrlValue, scope: Scope) -> UrlValue:
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
    return changed(value, conditions=tuple(ordered))


def without_none(value: UrlValue) -> UrlValue | None:
    """`value` on a path where it is known not to be None (None: no value is left)."""
    if not value.alternatives:
        return None if value.none else value
    kept = tuple(a for a in value.alternatives if not a.none)
    if len(kept) == len(value.alternatives):
        return value
    if not kept:
        return None
    if len(kept) == 1:
        return changed(kept[0], conditions=(), names=value.names)
    return changed(value, alternatives=kept)


def or_paths(operands: list[ast.expr], values: list[UrlValue]) -> tuple[UrlValue, ...]:
    """`a or b or c`: a's values when a is truthy, b's when a is not and b is, c's when neither
    is. A None (or empty) operand that is not the last never gives the result."""
    out: list[UrlValue] = []
    skipped: tuple[Condition, ...] = ()
    for index, (operand, value) in enumerate(zip(operands, values, strict=True)):
        last = index == len(operands) - 1
        taken = skipped if last else (*skipped, Condition(operand, True))
        for leaf in paths_of(value, ()):
            if not last and (leaf.none or leaf.text == ""):
                continue
            # `os.getenv(X)` being truthy says X is set: no need to say it twice
            own = tuple(c for c in leaf.conditions if last or c.test is not operand)
            out.append(changed(leaf, conditions=taken + own))
        skipped = (*skipped, Condition(operand, False))
    return capped(out)


def capped(values: list[UrlValue]) -> tuple[UrlValue, ...]:
    if len(values) <= _MAX_ALTERNATIVES:
        return tuple(values)
    rest = unknown("more values (not followed)")
    return (*values[: _MAX_ALTERNATIVES - 1], rest)


def one_of(candidates: list[UrlValue], name: str, prefer_last: bool) -> UrlValue:
    """One value standing for several paths: the known one (the last bound, or the first
    returned) at no more than DEFAULT confidence, carrying every path as an alternative."""
    if len(candidates) == 1:
        only = candidates[0]
        return changed(only, conditions=(), names=only.names + (name,))
    names = tuple(dict.fromkeys(n for c in candidates for n in c.names)) + (name,)
    alternatives = capped(candidates)
    if len({(c.text, c.confidence, c.none) for c in candidates}) == 1:
        return changed(candidates[-1], names=names, conditions=(), alternatives=alternatives)
    known = [c for c in candidates if c.confidence >= Confidence.DEFAULT]
    if not known:
        return changed(unknown("one of several values", names), alternatives=alternatives)
    # Another path gives another value: what we know holds only on some runs.
    chosen = known[-1] if prefer_last else known[0]
    return changed(
        chosen,
        confidence=min(chosen.confidence, Confidence.DEFAULT),
        names=names,
        conditions=(),
        alternatives=alternatives,
    )


def each_path(value: UrlValue, change: Callable[[UrlValue], UrlValue]) -> UrlValue:
    """`change` applied to the value and to every alternative (`.replace()` on any path)."""
    result = change(value)
    if not value.alternatives:
        return result
    return changed(result, alternatives=tuple(change(a) for a in value.alternatives))


def replaced_in(value: UrlValue, old: str, new: str) -> UrlValue:
    replaced = value.replaced + ((old, new),)
    if value.text is None:
        if value.none:
            return value  # None.replace() raises: nothing to rewrite
        return changed(unknown(value.origin, value.names, replaced), conditions=value.conditions)
    return changed(value, text=value.text.replace(old, new), replaced=replaced, literal=None)


def with_driver(value: UrlValue, driver: str) -> UrlValue:
    if value.none:
        return value
    rest = value.text.split("://", 1)[1] if value.text and "://" in value.text else ""
    confidence = max(value.confidence, Confidence.LITERAL)
    return changed(value, text=f"{driver}://{rest}", confidence=confidence, literal=None)


def constant_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    if isinstance(node, ast.Call):
        inner = dotted(node.func)
        parts.append(inner + "()" if inner else "call()")
        return ".".join(reversed(parts))
    return ""


_FIELD = re.compile(r"\{([^{}]*)\}")


def formatted_scheme(template: ast.Constant, call: ast.Call) -> UrlValue:
    """`"{scheme}://{user}@{host}/{db}".format(scheme="postgresql+asyncpg", ...)`: the scheme,
    when the part before `://` is literal or filled by string constants; the rest stays unknown."""
    text = template.value if isinstance(template.value, str) else ""
    origin = "str.format() in env.py"
    if "://" not in text:
        return unknown(origin)
    head = text.split("://", 1)[0]
    named = {kw.arg: constant_str(kw.value) for kw in call.keywords if kw.arg}
    positional = [constant_str(a) for a in call.args]
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
