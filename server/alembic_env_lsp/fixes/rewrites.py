"""Whole-file rewrites (libcst, fixes/async_rewrite.py) offered as fixes: turned into
minimal line edits, and only when the result parses and actually changes something."""

from __future__ import annotations

import ast

from ..findings import Fix
from ..text import diff_edits


def rewrite_fix(source_text: str, rewrite, title: str, *, safe: bool = False) -> Fix | None:
    try:
        result = rewrite(source_text)
    except Exception:
        return None  # a rewrite bug must not cost the user the diagnostic
    if result.refused or not result.changed or not result.text or result.text == source_text:
        return None
    try:
        ast.parse(result.text)
    except (SyntaxError, ValueError):
        return None
    return Fix(title, diff_edits(source_text, result.text), safe=safe)


def convert_to_async_fix(source_text: str) -> Fix | None:
    from .async_rewrite import convert_to_async

    return rewrite_fix(source_text, convert_to_async, "Convert env.py to the async connection pattern")


def repair_fix(source_text: str, code: str, title: str) -> Fix | None:
    from .async_rewrite import REPAIRS_BY_RULE

    repair = REPAIRS_BY_RULE.get(code)
    return rewrite_fix(source_text, repair, title) if repair else None
