"""The values a URL-bearing expression may take, with each reader's verdict: values that
lead to the same verdicts are one outcome, under the condition that leads to one of them
(hovers/url_groups.py)."""

from __future__ import annotations

import ast

from .. import drivers
from ..model.facts import ConfigureFact, EngineFact, UrlValue
from ..pyenv import sqlalchemy_basis
from ..redact import redact_url
from .common import Here, shorten
from .url import engine_mode, verdict_for
from .url_groups import Group, group_by, kind_of, model_candidate, model_groups
from .url_paths import (
    NONE,
    NONE_NOT_IN_INI,
    Candidate,
    candidates_of,
    from_model,
    inside_truthy_if,
    within,
)


def _is_url_part(found: list[Candidate]) -> bool:
    """Values that are pieces of a URL (a user name, a host) rather than whole URLs."""
    return (
        bool(found)
        and all(c.text is None or "://" not in c.text for c in found)
        and any(c.text is not None for c in found)
    )


def _readers(here: Here, engines: list[EngineFact], configures: list[ConfigureFact]) -> str | None:
    readers = [f"`{e.factory}` (line {here.line_of(e.call.node)})" for e in engines]
    readers += [
        f"the offline `context.configure(url=...)` (line {here.line_of(c.call.node)})"
        for c in configures
    ]
    if not readers:
        return None
    return "A part of the URL read by " + ", ".join(readers) + "."


def _narrowed(here: Here, expr: ast.expr, found: list[Candidate]) -> list[Candidate]:
    """Inside `if url:` (or `if url is not None:`), `url` is not None: drop that value."""
    if not isinstance(expr, ast.Name):
        return found
    if inside_truthy_if(here, here.scope, expr):
        return [c for c in found if c.origin != NONE]
    return found


def values_text(
    here: Here,
    expr: ast.expr,
    value: UrlValue | None,
    engines: list[EngineFact],
    configures: list[ConfigureFact],
) -> str | None:
    """Each value the URL may take (with its condition) and each reader's verdict on it,
    values with the same verdicts grouped. The model's values (every path, exact conditions)
    when it has several or knows the text; else the hovers' own reading of the syntax."""
    found = _narrowed(here, expr, candidates_of(here, expr))
    if value is not None and not model_none(value):
        found = [c for c in found if not _none_here(c)]  # the model proved it is never None
    if value is not None and informative(value) and prefer_model(value, found):
        return _text(here, value, None, engines, configures)
    followed = [c for c in found if not c.origin.startswith(("`", "too many"))]
    if not any(c.text and "://" in c.text for c in found):
        if _is_url_part(found) and not any("sqlalchemy.url" in c.origin for c in found):
            return _readers(here, engines, configures)
        elif followed:
            pass  # every value found names its source (an env var, an attribute, `None`)
        elif value is not None and (value.scheme or any(a.scheme for a in value.alternatives)):
            found = [from_model(here, v) for v in (value.alternatives or (value,))]
        elif (
            engines
            and (not found or _same(engines[0], expr))
            and (engines[0].url.scheme or engines[0].url.alternatives)
        ):
            # the dict or name the engine reads (`configuration` of engine_from_config)
            return _text(here, engines[0].url, None, engines, configures)
    if not found:
        return None
    return _text(here, None, found, engines, configures)


def _same(engine: EngineFact, expr: ast.expr) -> bool:
    """`expr` is what the engine reads: its URL argument, or the same variable of its scope."""
    node = engine.url_node
    if node is expr:
        return True
    return (
        isinstance(node, ast.Name)
        and isinstance(expr, ast.Name)
        and node.id == expr.id
        and any(
            within(expr, s) for s in ([engine.call.scope.node] if engine.call.scope.node else [])
        )
    )


def informative(value: UrlValue) -> bool:
    return bool(value.alternatives) or bool(value.scheme) or bool(value.none)


def _none_here(candidate: Candidate) -> bool:
    """A getter's None (also when set_main_option stored it), not an ini key's absence."""
    return candidate.origin == NONE or candidate.origin.endswith(f"from {NONE}")


def model_none(value: UrlValue) -> bool:
    """Whether any path of the model's value still gives None."""
    return bool(value.none) or any(a.none for a in value.alternatives)


def prefer_model(value: UrlValue, found: list[Candidate]) -> bool:
    """Both readings list every path they follow; the model's conditions are exact, so it
    answers unless the hovers' own reading found more paths (it follows more shapes of
    `set_main_option` under if/elif/else) or, as many, more URL texts (f-strings)."""
    model = value.alternatives or (value,)
    if len(model) != len(found):
        return len(model) > len(found)
    known = sum(1 for c in found if c.text and "://" in c.text)
    return sum(1 for v in model if v.text and "://" in v.text) >= known


def _text(
    here: Here,
    value: UrlValue | None,
    found: list[Candidate] | None,
    engines: list[EngineFact],
    configures: list[ConfigureFact],
) -> str | None:
    if value is not None:
        found = [model_candidate(here, v) for v in value.alternatives or (value,)]
        if _is_url_part(found) and not any("sqlalchemy.url" in c.origin for c in found):
            return _readers(here, engines, configures)
    assert found is not None
    basis = sqlalchemy_basis(here.project)

    def verdicts_of(candidate: Candidate) -> tuple[str, ...]:
        if kind_of(candidate) in ("none", "raises"):
            return ()  # no URL any reader gets: tested first, or reading it raises
        verdicts = []
        info = drivers.driver_info(candidate.text) if candidate.text else None
        for engine in engines:
            where = f"`{engine.factory}` (line {here.line_of(engine.call.node)})"
            verdict = (
                verdict_for(candidate.text, engine_mode(engine), basis)
                if candidate.text and info is not None
                else None
            )
            if verdict is not None:
                verdicts.append(f"{where}: {verdict}")
            elif info is None:
                verdicts.append(f"{where}: its driver cannot be checked before run time")
        for configure in configures:
            verdicts.append(
                f"offline `context.configure(url=...)` (line {here.line_of(configure.call.node)}): "
                "no driver is loaded, any driver works"
            )
        return tuple(verdicts)

    def key(candidate: Candidate) -> tuple:
        known = bool(candidate.text and "://" in candidate.text)
        kind = kind_of(candidate)
        # unknown values group together; known ones by verdict (and by text when no reader)
        return (kind, verdicts_of(candidate), None if engines or not known else candidate.text)

    groups = model_groups(here, value, key) if value is not None else group_by(found, key)
    if len(groups) == 1:  # every value found leads to this: no condition to tell
        groups = [Group(groups[0].candidates, ((),))]
    blocks = [(_group_head(g, len(groups) > 1), verdicts_of(g.candidates[0])) for g in groups]
    if len(blocks) == 1:
        head, verdicts = blocks[0]
        return "\n".join([f"Result: {head}", *(f"- {v}" for v in verdicts)])
    lines = [f"{len(found)} paths at run time, {len(blocks)} outcomes:", ""]  # one: "Result"
    if len(found) == len(blocks):
        lines[0] = f"It may take {len(blocks)} values at run time:"
    for head, verdicts in blocks:
        lines.append(f"- {head}")
        lines.extend(f"  - {v}" for v in verdicts)
    return "\n".join(lines)


def _group_head(group: Group, several: bool) -> str:
    when = group.when()
    # the model's conditions are necessary ones: a value without any is the one used when
    # no other path's was
    prefix = f"when {shorten(when, 160)}: " if when else "on the other paths: " if several else ""
    texts = [t for t in group.texts() if "://" in t]
    if texts:
        shown = " or ".join(f"`{shorten(redact_url(t), 90)}`" for t in texts[:3])
        more = f" (and {len(texts) - 3} more)" if len(texts) > 3 else ""
        return f"{prefix}{shown}{more} ({group.origins()})"
    written = [c for c in group.candidates if c.text and "sqlalchemy.url" in c.origin]
    if written:  # a template's placeholder (`{db_url}`) where the URL goes
        shown = f"`{shorten(redact_url(written[0].text or ''), 60)}`"
        return f"{prefix}{shown} ({group.origins()}): not a URL as written (no `scheme://`)"
    if kind_of(group.candidates[0]) == "raises":
        return f"{prefix}reading it raises ({group.origins()})"
    if all(c.origin.startswith(NONE) for c in group.candidates):
        return f"{prefix}{NONE}" + (
            " (not in the ini)" if group.origins() == NONE_NOT_IN_INI else ""
        )
    return f"{prefix}known only at run time ({group.origins()})"
