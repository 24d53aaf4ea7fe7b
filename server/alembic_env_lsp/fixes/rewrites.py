"""Whole-file rewrites (libcst, fixes/async_rewrite.py) offered as fixes: turned into
minimal line edits, and only when the result parses and actually changes something."""

from __future__ import annotations

import ast

from ..findings import Fix
from ..text import diff_edits


def rewrite_edits(source_text: str, rewrite):
    """The rewrite as line edits; () when it refuses, changes nothing or would not parse."""
    try:
        result = rewrite(source_text)
    except Exception:
        return ()  # a rewrite bug must not cost the user the diagnostic
    if result.refused or not result.changed or not result.text or result.text == source_text:
        return ()
    try:
        ast.parse(result.text)
    except (SyntaxError, ValueError):
        return ()
    return diff_edits(source_text, result.text)


def rewrite_fix(source_text: str, rewrite, title: str, *, safe: bool = False) -> Fix:
    """A fix computed only when its edits are read (libcst costs ~30 ms, and importing it ~400 ms)."""
    return Fix(title, safe=safe, compute=lambda: rewrite_edits(source_text, rewrite))


def convert_to_async_fix(source_text: str) -> Fix:
    def convert(text):
        from .async_rewrite import convert_to_async

        return convert_to_async(text)

    return rewrite_fix(source_text, convert, "Convert env.py to the async connection pattern")


def repair_fix(source_text: str, code: str, title: str) -> Fix:
    def repair(text):
        from .async_rewrite import REPAIRS_BY_RULE

        return REPAIRS_BY_RULE[code](text)

    return rewrite_fix(source_text, repair, title)
