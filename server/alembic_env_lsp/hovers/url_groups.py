"""Values a URL may take, grouped by what they lead to: paths whose values get the same
verdict are shown once, with the condition under which one of them is used. Conditions
combine exactly: `A and B` or `A and not (B)` is `A`; a condition that cannot be merged is
kept, joined with "or". Nothing is dropped: the group's condition holds exactly on its paths."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from ..model.facts import UrlValue
from .common import Here
from .url_paths import NONE, NONE_NOT_IN_INI, Candidate, filled_at_run_time, from_model


@dataclass(frozen=True)
class Group:
    candidates: tuple[Candidate, ...]
    # alternatives (each a conjunction of conditions); () means: on every path listed
    conditions: tuple[tuple[str, ...], ...]

    def when(self) -> str:
        """ "X and Y", "X, or Y", or "" (no condition: always)."""
        parts = [" and ".join(c) for c in self.conditions if c]
        if len(parts) < len(self.conditions):
            return ""  # one alternative holds always
        return ", or ".join(parts)

    def origins(self) -> str:
        seen: list[str] = []
        for c in self.candidates:
            if c.origin not in seen:
                seen.append(c.origin)
        return " or ".join(seen)

    def texts(self) -> list[str]:
        seen: list[str] = []
        for c in self.candidates:
            if c.text and c.text not in seen:
                seen.append(c.text)
        return seen


RAISES = "which cannot be interpolated"


def kind_of(candidate: Candidate) -> str:
    """What a value is, for grouping: a URL text, None, an ini value whose reading raises, or a
    value known only at run time."""
    if candidate.text and "://" in candidate.text:
        return "url"
    if candidate.origin.startswith(NONE):
        return "none"
    return "raises" if candidate.origin.endswith(RAISES) else "unknown"


def model_candidate(here: Here, value: UrlValue) -> Candidate:
    """One of the model's alternatives as the hovers show it (a None path: `None`)."""
    candidate = from_model(here, value)
    if value.none:
        return Candidate(None, NONE, candidate.when)
    ini = value.ini_value
    paired = getattr(here.project, "ini", None) is not None
    if value.text is None and paired and value.ini_key and ini is None:
        return Candidate(None, NONE_NOT_IN_INI, candidate.when)  # get_main_option's default
    if value.text is None and ini is not None and ini.value is None:
        if filled_at_run_time(here, ini.raw):  # `%(KEY)s` that set_section_option sets
            origin = f"{candidate.origin}, its %(...)s filled in by set_section_option"
            return Candidate(ini.raw, origin, candidate.when)
        return Candidate(None, f"{candidate.origin}, {RAISES}", candidate.when)
    return candidate


def model_groups(here: Here, value: UrlValue, key: Callable[[Candidate], Hashable]) -> list[Group]:
    """The model's alternatives of `value` grouped by `key`, with the model's exact conditions
    (model/alternatives.py: complements are recognised on the same test node)."""
    from ..model.alternatives import group_alternatives

    groups = group_alternatives(value, key=lambda v: key(model_candidate(here, v)))
    return [
        Group(
            tuple(model_candidate(here, v) for v in group.values),
            tuple(tuple(c.text(here.source) for c in term) for term in group.when),
        )
        for group in groups
    ]


def group_by(candidates: list[Candidate], key: Callable[[Candidate], Hashable]) -> list[Group]:
    """Groups in the order of their first candidate; each group's conditions simplified."""
    keys: list[Hashable] = []
    members: dict[Hashable, list[Candidate]] = {}
    for candidate in candidates:
        k = key(candidate)
        if k not in members:
            keys.append(k)
            members[k] = []
        members[k].append(candidate)
    out = []
    for k in keys:
        group = members[k]
        out.append(Group(tuple(group), simplify([conjuncts(c.when) for c in group])))
    return out


def conjuncts(when: str) -> tuple[str, ...]:
    """`a and (b and c) and d` → ("a", "(b and c)", "d"): split at the top level only."""
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    i = 0
    while i < len(when):
        ch = when[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and when.startswith(" and ", i):
            parts.append(when[start:i].strip())
            start = i + 5
            i += 5
            continue
        i += 1
    parts.append(when[start:].strip())
    return tuple(_plain(p) for p in parts if p)


def _plain(condition: str) -> str:
    """`not (not url)` → `url`."""
    while condition.startswith("not (not ") and condition.endswith(")"):
        condition = condition[len("not (not ") : -1]
    return condition


def _negation(a: str, b: str) -> bool:
    if a == f"not ({b})" or b == f"not ({a})" or a == f"not {b}" or b == f"not {a}":
        return True
    for yes, no in ((" is set", " is not set"), (" has ", " has no ")):
        if a.replace(yes, no, 1) == b or b.replace(yes, no, 1) == a:
            return True
    return False


def simplify(alternatives: list[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """A disjunction of conjunctions, made shorter without changing its meaning: absorb
    (`A` or `A and B` is `A`) and merge complements (`A and B` or `A and not (B)` is `A`)."""
    terms = [frozenset(a) for a in alternatives]
    order = {c: i for i, c in enumerate(c for a in alternatives for c in a)}
    changed = True
    while changed:
        changed = False
        unique: list[frozenset[str]] = []
        for term in terms:
            if term not in unique:
                unique.append(term)
        terms = [t for t in unique if not any(o < t for o in unique)]  # absorption
        for i, a in enumerate(terms):
            for b in terms[i + 1 :]:
                only_a, only_b = a - b, b - a
                if len(only_a) == 1 and len(only_b) == 1:
                    (x,), (y,) = only_a, only_b
                    if _negation(x, y):
                        terms = [t for t in terms if t is not a and t is not b] + [a & b]
                        changed = True
                        break
                # X and x, or X and not x and Y: the second needs no "not x"
                for one, other in ((a, b), (b, a)):
                    extra = one - other
                    if len(extra) == 1:
                        (x,) = extra
                        negated = next((y for y in other - one if _negation(x, y)), None)
                        if negated is not None:
                            terms = [t if t is not other else other - {negated} for t in terms]
                            changed = True
                            break
                if changed:
                    break
            if changed:
                break
    return tuple(tuple(sorted(t, key=lambda c: order.get(c, 0))) for t in terms)
