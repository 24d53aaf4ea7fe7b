"""Reaching bindings for one scope, per path: the state the builder carries through a body.

A state maps each name to the bindings (`Reach`) that may hold at this point. An `if` forks
the state, narrows each side by its test (`is None`, `is not None`, truthiness, `isinstance`),
and joins the sides that fall through (a side ending in return/raise does not). This is a
lightweight reaching-definitions: one pass, no fixpoint over loops (a loop body joins the state
before it), which is what env.py's straight-line code needs.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from .facts import Binding, Condition, Kind, Reach

State = dict[str, tuple[Reach, ...]]

# More paths than this for one name is a generated file: keep the latest bindings.
_MAX_REACHES = 12

_CLASS_KINDS = {
    "AsyncEngine": Kind.ASYNC_ENGINE,
    "Engine": Kind.ENGINE,
    "Connection": Kind.CONNECTION,
    "AsyncConnection": Kind.ASYNC_CONNECTION,
}


def none_of(value: ast.expr | None, binding: Binding | None) -> bool | None:
    """Whether a freshly bound value is None (True), is not (False) or may be (None)."""
    if isinstance(value, ast.Constant):
        return value.value is None
    if binding is not None or isinstance(
        value, (ast.JoinedStr, ast.Dict, ast.List, ast.Tuple, ast.Set, ast.Lambda)
    ):
        return False
    return None


# Calls that end the process: `if url is None: sys.exit("...")` ends that path like a raise.
_EXITS = frozenset({"sys.exit", "exit", "quit", "os._exit", "os.abort"})

# The conditions met on every run reaching a point (None: no run reaches it).
PathConditions = tuple[Condition, ...] | None


def exits(stmt: ast.stmt) -> bool:
    """`sys.exit(...)` and the like as a statement."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    func, parts = stmt.value.func, []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return False
    return ".".join([func.id, *reversed(parts)]) in _EXITS


def extend_path(path: PathConditions, condition: Condition) -> PathConditions:
    return None if path is None else (*path, condition)


def merge_paths(ends: list[PathConditions]) -> PathConditions:
    """The conditions after a fork: those every side that falls through shares (a side's own
    tests are dropped when another side also falls through: "a or b" is no conjunction)."""
    live = [end for end in ends if end is not None]
    if not live:
        return None
    shared: list[Condition] = []
    for conditions in zip(*live, strict=False):
        first = conditions[0]
        if not all(c is first for c in conditions):
            break
        shared.append(first)
    return tuple(shared)


def terminates(body: list[ast.stmt]) -> bool:
    """The block never falls through to the statement after it."""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, (ast.Return, ast.Raise, ast.Continue, ast.Break)) or exits(last):
        return True
    if isinstance(last, ast.If):
        return terminates(last.body) and terminates(last.orelse)
    return False


def join(pre: State, sides: list[tuple[State, Condition | None]]) -> State:
    """The state after a fork. A binding carries the condition of the side it came through,
    unless it is the binding from before the fork and came through every side."""
    if not sides:
        return dict(pre)
    names: dict[str, None] = {}
    for state, _ in sides:
        names.update(dict.fromkeys(state))
    joined: State = {}
    for name in names:
        old = pre.get(name)
        if old is not None and all(state.get(name) is old for state, _ in sides):
            joined[name] = old  # untouched on every side (the common case: cheap)
            continue
        before = {id(r) for r in old or ()}
        per_side = [state.get(name, ()) for state, _ in sides]
        on_side = [{id(r) for r in reaches} for reaches in per_side]
        seen: set[int] = set()
        out: list[Reach] = []
        for (_, condition), reaches in zip(sides, per_side, strict=True):
            for reach in reaches:
                unchanged = id(reach) in before and all(id(reach) in ids for ids in on_side)
                if unchanged or condition is None:
                    if id(reach) not in seen:
                        seen.add(id(reach))
                        out.append(reach)
                    continue
                out.append(reach.under(condition))
        if len(out) > _MAX_REACHES:
            # the older ones stand as one binding of unknown value, not silently dropped
            dropped = Reach(None, None, out[0].node, (), None, truncated=True)
            out = [dropped, *out[-(_MAX_REACHES - 1) :]]
        joined[name] = tuple(out)
    return joined


def narrow(state: State, test: ast.expr, holds: bool) -> State:
    """The state on the side of `if test:` where the test evaluated to `holds`."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return narrow(state, test.operand, not holds)
    if isinstance(test, ast.BoolOp):
        # `a and b` holding: both held; `a or b` failing: both failed. Otherwise: nothing known.
        if isinstance(test.op, ast.And) == holds:
            for value in test.values:
                state = narrow(state, value, holds)
        return state
    if isinstance(test, ast.NamedExpr):
        return narrow(state, test.target, holds)
    if isinstance(test, ast.Name):
        return _update(state, test.id, _not_none) if holds else state
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        if isinstance(test.ops[0], (ast.In, ast.NotIn)):
            return _narrow_contains(state, test, holds)
        return _narrow_none(state, test, holds)
    if (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Name)
        and test.func.id == "isinstance"
        and len(test.args) == 2
        and isinstance(test.args[0], ast.Name)
    ):
        return _narrow_isinstance(state, test, holds)
    return state


def _narrow_none(state: State, test: ast.Compare, holds: bool) -> State:
    op, left, right = test.ops[0], test.left, test.comparators[0]
    if _is_none(left):
        left, right = right, left
    if not (isinstance(left, ast.Name) and _is_none(right)):
        return state
    if isinstance(op, (ast.Is, ast.Eq)):
        is_none = holds
    elif isinstance(op, (ast.IsNot, ast.NotEq)):
        is_none = not holds
    else:
        return state
    return _update(state, left.id, _none if is_none else _not_none)


def _narrow_contains(state: State, test: ast.Compare, holds: bool) -> State:
    """`if "+asyncpg" in url:`: a binding to a string literal goes only to the side its
    text decides (the other side never sees it)."""
    part, whole = test.left, test.comparators[0]
    if not (
        isinstance(part, ast.Constant)
        and isinstance(part.value, str)
        and isinstance(whole, ast.Name)
    ):
        return state
    inside = holds if isinstance(test.ops[0], ast.In) else not holds
    text: str = part.value

    def keep(reach: Reach) -> Reach | None:
        value = reach.assignment.value if reach.assignment is not None else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return reach if (text in value.value) == inside else None
        return reach

    return _update(state, whole.id, keep)


def _narrow_isinstance(state: State, test: ast.Call, holds: bool) -> State:
    classes = test.args[1].elts if isinstance(test.args[1], ast.Tuple) else [test.args[1]]
    labels = [_class_label(c) for c in classes]
    kinds = {_CLASS_KINDS[label] for label in labels if label in _CLASS_KINDS}
    only = next(iter(kinds)) if len(kinds) == 1 and len(labels) == 1 else None
    name = test.args[0].id  # type: ignore[attr-defined]

    def keep(reach: Reach) -> Reach | None:
        kind = reach.binding.kind if reach.binding is not None else None
        if holds:
            if kind is not None:
                return reach if kind in kinds else None
            if only is not None:
                return replace(reach, binding=Binding(only, test), node=test, none=False)
            return replace(reach, none=False)
        return None if kind is not None and kind in kinds else reach

    return _update(state, name, keep)


def _update(state: State, name: str, keep) -> State:
    reaches = state.get(name)
    if not reaches:
        return state
    kept = tuple(r for r in (keep(reach) for reach in reaches) if r is not None)
    if not kept:
        return state  # the test contradicts everything we know: know nothing new
    narrowed = dict(state)
    narrowed[name] = kept
    return narrowed


def _none(reach: Reach) -> Reach | None:
    if reach.none is False:
        return None
    return reach if reach.none is True else replace(reach, none=True)


def _not_none(reach: Reach) -> Reach | None:
    if reach.none is True:
        return None
    return reach if reach.none is False else replace(reach, none=False)


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _class_label(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None
