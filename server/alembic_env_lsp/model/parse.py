"""Text → syntax tree, or the syntax error a user should see (ENV000)."""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

from ..text import Position, Range, SourceText


@dataclass(frozen=True)
class SyntaxProblem:
    message: str
    range: Range


def parse(source: SourceText) -> ast.Module | SyntaxProblem:
    text = source.text
    if text.startswith("\ufeff"):
        # Editors and the CLI strip the BOM before we see the text; if one slipped through,
        # parse without it (only columns on the first line shift by one).
        text = text[1:]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences etc. are not our business
            return ast.parse(text, type_comments=False)
    except SyntaxError as error:
        line = max((error.lineno or 1) - 1, 0)
        # SyntaxError.offset is 1-based, in code points of the line (bytes on some paths: clamp)
        column = max((error.offset or 1) - 1, 0)
        column = min(column, len(source.line(line)))
        end = Position(line, min(column + 1, len(source.line(line))))
        message = error.msg or "invalid syntax"
        return SyntaxProblem(f"Syntax error: {message}", Range(Position(line, column), end))
    except (ValueError, RecursionError, MemoryError) as error:
        # NUL bytes (ValueError on older Pythons) and pathological nesting
        # (CPython's parser gives up on deep nesting with a MemoryError that has no message)
        deep = isinstance(error, (RecursionError, MemoryError))
        reason = "source is nested too deeply" if deep else str(error)
        return SyntaxProblem(f"Cannot parse: {reason}", Range(Position(0, 0), Position(0, 0)))
