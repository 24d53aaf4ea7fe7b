"""The one way fixes are applied: `check --fix`, the editor's `source.fixAll` (and so
fix-on-save) and the Fix All command all call `fix_until_stable`.

Each round takes one fix per finding (safe ones, or any with `unsafe`), skips a fix whose
edits overlap one already taken, applies them, then analyses the new text again: a fix can
uncover another (adding NullPool, then the dispose it needs). The loop stops when nothing
changes, and never keeps a change that leaves the env script unparseable or drops one of
its comments.
"""

from __future__ import annotations

import ast
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..text import TextEdit, apply_edits, diff_edits

if TYPE_CHECKING:
    from ..engine import Analysis
    from ..findings import Finding, Fix

MAX_ROUNDS = 5

# (new env script text, new texts of other files by absolute path) → the analysis of them
Reanalyze = Callable[[str, Mapping[str, str]], "Analysis"]


@dataclass
class FixOutcome:
    env_text: str
    # Other files the fixes changed (alembic.ini ...): absolute path → new text.
    others: dict[str, str] = field(default_factory=dict)
    fixed: int = 0  # fixes applied, over all rounds
    analysis: Analysis | None = None  # of the final texts (None: nothing was applied)

    @property
    def changed(self) -> bool:
        return self.fixed > 0


def applicable(finding: Finding, *, unsafe: bool) -> Fix | None:
    """The fix `--fix` (or `--fix --unsafe-fixes`) would apply for this finding: its first
    safe fix, else, with `unsafe`, its first fix that has edits."""
    for fix in finding.fixes:
        if fix.safe and fix.edits:
            return fix
    if unsafe:
        for fix in finding.fixes:
            if not fix.safe and fix.edits:
                return fix
    return None


def hidden_unsafe(finding: Finding) -> bool:
    """Only unsafe fixes exist for this finding (`--unsafe-fixes` would offer one). Lazy
    rewrites are not computed for this: counting must stay cheap."""
    return bool(finding.fixes) and not any(f.safe for f in finding.fixes)


def fix_until_stable(
    analysis: Analysis,
    reanalyze: Reanalyze,
    *,
    unsafe: bool = False,
    other_text: Callable[[str], str | None] | None = None,
) -> FixOutcome:
    """Apply fixes to the analysed env script (and the files its fixes edit) until none is
    left. `other_text(path)` gives the current text of another file (default: read from the
    analysis's project, else from disk)."""
    env_key = _key(analysis.path) if analysis.path else None
    env_text = analysis.source.text
    others: dict[str, str] = {}
    fixed = 0
    current = analysis
    seen = {env_text}
    for _ in range(MAX_ROUNDS):
        chosen = _choose(current, unsafe=unsafe, env_key=env_key)
        if not chosen:
            break

        def text_of(
            key: str, current: Analysis = current, others: dict[str, str] = others
        ) -> str | None:
            if key in others:
                return others[key]
            if other_text is not None:
                return other_text(key)
            return _project_text(current, key)

        new_env, new_others, count = _apply(env_text, others, chosen, text_of)
        if count == 0 or (new_env == env_text and new_others == others):
            break
        if new_env in seen and new_others == others:
            break  # two fixes undoing each other: stop rather than loop
        seen.add(new_env)
        env_text, others, fixed = new_env, new_others, fixed + count
        current = reanalyze(env_text, others)
        if getattr(current, "crashed", False) or current.facts is None:
            break
    return FixOutcome(env_text, others, fixed, current if fixed else None)


def edits_for(analysis: Analysis, outcome: FixOutcome) -> tuple[TextEdit, ...]:
    """The outcome as edits on the texts `analysis` was made of (changed lines only)."""
    edits = list(diff_edits(analysis.source.text, outcome.env_text))
    for key, text in outcome.others.items():
        before = _project_text(analysis, key)
        if before is None:
            continue
        edits.extend(TextEdit(e.range, e.new_text, path=key) for e in diff_edits(before, text))
    return tuple(edits)


def reanalyzer(analysis: Analysis) -> Reanalyze:
    """Analyse again as `analysis` was: same path, project, settings and workspace; when a
    fix changed the ini, the project is read again with the new text."""
    from ..engine import analyze

    settings = getattr(analysis, "settings", None)
    workspace = getattr(analysis, "workspace", None)

    def run(env_text: str, others: Mapping[str, str]) -> Analysis:
        project = analysis.project
        if others and analysis.path:
            from ..project import ProjectIndex

            index = ProjectIndex(python=getattr(project, "python_choice", None))
            for key, text in others.items():
                index.set_overlay(Path(key), text)
            project = index.context_for(Path(analysis.path))
        return analyze(
            env_text, analysis.path, project=project, settings=settings, workspace=workspace
        )

    return run


# ---- one round ---------------------------------------------------------------------------


def _choose(analysis: Analysis, *, unsafe: bool, env_key: str | None) -> list[list[TextEdit]]:
    """One fix per finding, as edits keyed by file (None: the env script), without overlaps."""
    taken: list[TextEdit] = []
    seen: set[tuple] = set()
    chosen: list[list[TextEdit]] = []
    for finding in analysis.findings:
        fix = applicable(finding, unsafe=unsafe)
        if fix is None:
            continue
        edits = [_keyed(e, env_key) for e in fix.edits]
        new = [e for e in edits if _identity(e) not in seen]
        if not new or any(_clash(e, t) for e in new for t in taken):
            continue
        for e in new:
            seen.add(_identity(e))
            taken.append(e)
        chosen.append(new)
    return chosen


def _apply(
    env_text: str,
    others: dict[str, str],
    chosen: list[list[TextEdit]],
    text_of: Callable[[str], str | None],
) -> tuple[str, dict[str, str], int]:
    """Apply every chosen fix at once; if the env script would not parse, add them one by
    one and keep each that leaves it parsing."""
    before = _comments(env_text)
    result = _apply_all(env_text, others, [e for fix in chosen for e in fix], text_of)
    if result is not None and _acceptable(result[0], before):
        return result[0], result[1], len(chosen)
    kept: list[TextEdit] = []
    count = 0
    best = (env_text, dict(others))
    for fix in chosen:
        trial = _apply_all(env_text, others, kept + fix, text_of)
        if trial is not None and _acceptable(trial[0], before):
            kept += fix
            count += 1
            best = trial
    return best[0], best[1], count


def _apply_all(
    env_text: str,
    others: dict[str, str],
    edits: list[TextEdit],
    text_of: Callable[[str], str | None],
) -> tuple[str, dict[str, str]] | None:
    by_path: dict[str | None, list[TextEdit]] = {}
    for edit in edits:
        by_path.setdefault(edit.path, []).append(edit)
    new_others = dict(others)
    new_env = env_text
    try:
        for key, group in by_path.items():
            if key is None:
                new_env = apply_edits(env_text, group)
                continue
            before = text_of(key)
            if before is None:
                return None
            new_others[key] = apply_edits(before, group)
    except (ValueError, IndexError):
        return None
    return new_env, new_others


def _project_text(analysis: Analysis, key: str) -> str | None:
    project = analysis.project
    if project is not None:
        for ini in [getattr(project, "ini", None), *getattr(project, "other_inis", [])]:
            if ini is not None and _key(ini.path) == key:
                return str(ini.text)
    try:
        return Path(key).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


def _keyed(edit: TextEdit, env_key: str | None) -> TextEdit:
    if edit.path is None:
        return edit
    key = _key(edit.path)
    if key == env_key:
        return TextEdit(edit.range, edit.new_text)
    return TextEdit(edit.range, edit.new_text, path=key)


def _key(path: str | os.PathLike) -> str:
    return os.path.abspath(path)


def _identity(edit: TextEdit) -> tuple:
    return (edit.path, edit.range, edit.new_text)


def _clash(a: TextEdit, b: TextEdit) -> bool:
    if a.path != b.path:
        return False
    if a.range.start == a.range.end == b.range.start == b.range.end:
        return False  # two insertions at one point keep their order
    return a.range.start < b.range.end and b.range.start < a.range.end


def _acceptable(text: str, comments_before: Counter[str] | None) -> bool:
    """The fixed env script parses and keeps every comment it had."""
    if not _parses(text):
        return False
    if comments_before is None:
        return True
    after = _comments(text)
    return after is not None and not (comments_before - after)


def _comments(text: str) -> Counter[str] | None:
    import io
    import tokenize

    try:
        return Counter(
            token.string.strip()
            for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline)
            if token.type == tokenize.COMMENT
        )
    except (tokenize.TokenError, SyntaxError):
        return None


def _parses(text: str) -> bool:
    try:
        ast.parse(text.removeprefix("\ufeff"))
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
