"""Which code actions to offer, in engine terms (findings, fixes, text edits).

Order, as an editor lists them: each diagnostic's fixes (its first safe fix preferred), then
"Ignore ENVxxx on this line" (after every real fix: ruff-vscode#199), then the async
rewrite, then `source.fixAll.alembic-env` (safe fixes only: nothing that needs review is
applied on save).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..text import Range, TextEdit
from .convert import FIX_ALL_KIND, QUICKFIX, REWRITE, kind_wanted

CONVERT_TITLE = "Convert env.py to the async connection pattern"
FIX_ALL_TITLE = "Fix all safely fixable alembic-env problems"


@dataclass
class Plan:
    title: str
    kind: str
    findings: tuple[int, ...] = ()  # indexes into Analysis.findings
    edits: tuple[TextEdit, ...] = ()  # path None: the env script the analysis is of
    preferred: bool | None = None
    lazy: str | None = None  # "convert": edits computed on resolve


def overlaps(finding_range: Range, rng: Range) -> bool:
    return finding_range.start <= rng.end and rng.start <= finding_range.end


def plan_env_actions(
    analysis, indexes: list[int], rng: Range, only, *, offer_rewrite: bool
) -> list[Plan]:
    from ..suppress import noqa_edit

    fixes: list[Plan] = []
    ignores: list[Plan] = []
    ignored: set[tuple[int, str]] = set()
    for index in indexes:
        finding = analysis.findings[index]
        if not overlaps(finding.range, rng):
            continue
        preferred_given = False
        for fix in finding.fixes:
            if not fix.edits:
                continue  # a rewrite that refused this file offers nothing
            preferred = fix.safe and not preferred_given
            preferred_given = preferred_given or preferred
            fixes.append(Plan(fix.title, QUICKFIX, (index,), tuple(fix.edits), preferred=preferred))
        line = (
            finding.range.end.line
            if finding.range.end.line != finding.range.start.line
            else finding.range.start.line
        )
        if finding.code == "ENV000" or (line, finding.code) in ignored:
            continue
        edit = noqa_edit(analysis.source, line, finding.code)
        if edit is not None and edit.new_text:
            ignored.add((line, finding.code))
            ignores.append(Plan(f"Ignore {finding.code} on this line", QUICKFIX, (index,), (edit,)))
    plans = [p for p in fixes + ignores if kind_wanted(p.kind, only)]
    # The rewrite shows where it applies (on a sync engine factory) or when refactorings are
    # asked for, not as a light bulb on every line.
    asked = bool(only) and kind_wanted(REWRITE, only)
    already = any(
        p.title == CONVERT_TITLE for p in plans
    )  # a rule offers the same rewrite as its fix
    if (
        offer_rewrite
        and not already
        and kind_wanted(REWRITE, only)
        and (asked or _on_sync_engine(analysis, rng))
    ):
        plans.append(Plan(CONVERT_TITLE, REWRITE, lazy="convert"))
    if only and kind_wanted(FIX_ALL_KIND, only):
        edits = safe_edits(analysis)
        if edits:
            plans.append(Plan(FIX_ALL_TITLE, FIX_ALL_KIND, edits=edits))
    return plans


def plan_ini_actions(items, rng: Range, only) -> list[tuple[Plan, object]]:
    """Quick fixes for findings shown on an ini file; each with the item it came from."""
    out = []
    for item in items:
        finding = item.finding
        if not overlaps(finding.range, rng):
            continue
        preferred_given = False
        for fix in finding.fixes:
            if not fix.edits:
                continue
            preferred = fix.safe and not preferred_given
            preferred_given = preferred_given or preferred
            plan = Plan(fix.title, QUICKFIX, (item.index,), tuple(fix.edits), preferred=preferred)
            if kind_wanted(plan.kind, only):
                out.append((plan, item))
    return out


def safe_edits(analysis) -> tuple[TextEdit, ...]:
    """What `source.fixAll` (and fix-on-save, and Fix All) changes: the safe fixes applied
    to a fixpoint by the same pipeline as `check --fix`, as edits on the analysed texts."""
    from ..fixes.pipeline import edits_for, fix_until_stable, reanalyzer

    if analysis.facts is None:
        return ()
    outcome = fix_until_stable(analysis, reanalyzer(analysis))
    return edits_for(analysis, outcome) if outcome.changed else ()


def offers_async_rewrite(analysis) -> bool:
    """Offer the rewrite where it has something to do: an engine built by a sync factory."""
    facts = getattr(analysis, "facts", None)
    return bool(facts and any(not engine.is_async for engine in facts.engines))


def _on_sync_engine(analysis, rng: Range) -> bool:
    facts = getattr(analysis, "facts", None)
    if facts is None:
        return False
    for engine in facts.engines:
        if not engine.is_async and overlaps(analysis.source.node_range(engine.call.stmt), rng):
            return True
    return False
