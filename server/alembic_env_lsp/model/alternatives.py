"""The values a URL may take, grouped by what they lead to (issue 15: a URL normalised by two
independent `if`s has 4–12 paths that end in the same few URLs).

A group lists its values and the condition under which one of them is the one used, as a
disjunction of conjunctions of `Condition`s, simplified by exact rules only: `A or A and B`
is `A`; `A and B or A and not B` is `A`; `A and x or A and not x and B` is `A and x or A and
B`. Complements are recognised on the same test node (an `if`, an `or` operand), the same
environment variable, or a `try` with one `except` clause; nothing is guessed from text. The
group's condition therefore holds on exactly the paths of its values.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from ..text import SourceText
from .facts import Condition, EnvSet, Raised, UrlValue

Term = tuple[Condition, ...]


@dataclass(frozen=True, eq=False)
class UrlGroup:
    """Values that lead to the same outcome, and when one of them is used."""

    values: tuple[UrlValue, ...]  # in source order
    when: tuple[Term, ...]  # "or" of "and"s; an empty term: on every path

    @property
    def always(self) -> bool:
        return any(not term for term in self.when)

    def text(self, source: SourceText) -> str:
        """ "A and B, or C"; "" when no condition is needed."""
        if self.always:
            return ""
        return ", or ".join(" and ".join(c.text(source) for c in term) for term in self.when)


def same_value(value: UrlValue) -> Hashable:
    """The default key: the same URL text (unknown ones: the same origin, whatever
    `.replace()`s were applied on the way: see each value's `.replaced`); None apart."""
    return (value.none, value.text if value.text is not None else ("unknown", value.origin))


def group_alternatives(
    value: UrlValue, key: Callable[[UrlValue], Hashable] = same_value
) -> list[UrlGroup]:
    """`value`'s alternatives (or itself) grouped by `key` (e.g. the driver verdict a hover
    gives each), in the order of each group's first value."""
    members: dict[Hashable, list[UrlValue]] = {}
    for alternative in value.alternatives or (value,):
        members.setdefault(key(alternative), []).append(alternative)
    return [
        UrlGroup(tuple(values), simplify([v.conditions for v in values]))
        for values in members.values()
    ]


def simplify(terms: list[Term]) -> tuple[Term, ...]:
    """The disjunction `terms`, shorter and equivalent (see the module docstring)."""
    by_key: dict[Hashable, Condition] = {}
    first: dict[Hashable, int] = {}  # ties (same position): the order they came in
    sets: list[frozenset[Hashable]] = []
    for term in terms:
        keys = []
        for condition in term:
            k = _key(condition)
            by_key.setdefault(k, condition)
            first.setdefault(k, len(first))
            keys.append(k)
        sets.append(frozenset(keys))
    changed = True
    while changed:
        sets = list(dict.fromkeys(sets))
        sets = [t for t in sets if not any(o < t for o in sets)]  # absorption
        changed = _merge_once(sets, by_key)
    # each term in source order (the order the tests run in, within one function)
    return tuple(
        tuple(by_key[k] for k in sorted(t, key=lambda k: (_where(by_key[k]), first[k])))
        for t in sets
    )


def _merge_once(sets: list[frozenset[Hashable]], by_key: dict[Hashable, Condition]) -> bool:
    for i, a in enumerate(sets):
        for j, b in enumerate(sets):
            if i == j:
                continue
            only_a, only_b = a - b, b - a
            if len(only_a) != 1:
                continue
            (x,) = only_a
            negated = next((y for y in only_b if _complements(by_key[x], by_key[y])), None)
            if negated is None:
                continue
            if len(only_b) == 1:
                sets[i] = a & b  # A and x, or A and not x: A
                sets.pop(j)
            else:
                sets[j] = b - {
                    negated
                }  # A and x, or A and not x and B: the second needs no "not x"
            return True
    return False


def _where(condition: Condition) -> tuple[int, int]:
    test = condition.test
    return (getattr(test, "lineno", 0), getattr(test, "col_offset", 0))


def _key(condition: Condition) -> Hashable:
    if isinstance(condition, EnvSet):
        return ("env", condition.name, condition.holds)
    if isinstance(condition, Raised):
        handler = id(condition.handler) if condition.handler is not None else None
        return ("raised", id(condition.test), condition.holds, handler)
    return (type(condition).__name__, id(condition.test), condition.holds)


def _complements(a: Condition, b: Condition) -> bool:
    """Exactly one of the two holds on any path that reaches both tests."""
    if a.holds == b.holds or type(a) is not type(b):
        return False
    if isinstance(a, EnvSet) and isinstance(b, EnvSet):
        return a.name == b.name
    if a.test is not b.test:
        return False
    if isinstance(a, Raised):
        return len(getattr(a.test, "handlers", ())) == 1  # body ran through, or its one handler
    return type(a) is Condition
