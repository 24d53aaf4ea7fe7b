"""`# noqa` comments: `# noqa`, `# noqa: ENV001, ENV002` on a line; `# alembic-env: noqa` for a file."""

from __future__ import annotations

import io
import re
import tokenize

from .text import Position, Range, SourceText, TextEdit

_LINE = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
_CODE = re.compile(r"[A-Za-z]+[0-9]+")
_FILE = re.compile(r"#\s*alembic-env\s*:\s*noqa\b", re.IGNORECASE)


class Suppressions:
    def __init__(self, source: SourceText):
        self.file_wide = False
        self.by_line: dict[int, frozenset[str] | None] = {}  # None: every code
        text = source.text
        if "noqa" not in text.lower():
            return  # the common case costs one scan of the text
        for line, comment in _comments(text):
            if _FILE.search(comment):
                self.file_wide = True
                continue
            match = _LINE.search(comment)
            if match:
                codes = match.group("codes")
                self.by_line[line] = (
                    frozenset(c.upper() for c in re.split(r"[\s,]+", codes) if c) if codes else None
                )

    def suppresses(self, code: str, line: int) -> bool:
        if self.file_wide:
            return True
        if line not in self.by_line:
            return False
        codes = self.by_line[line]
        return codes is None or code in codes


def noqa_codes(line: str) -> list[tuple[str, int, int]]:
    """The codes a `# noqa: ...` comment on `line` names, each with its start and end column."""
    found = []
    for match in _LINE.finditer(line):
        codes = match.group("codes")
        if not codes:
            continue
        base = match.start("codes")
        for code in _CODE.finditer(codes):
            found.append((code.group().upper(), base + code.start(), base + code.end()))
    return found


def _comments(text: str):
    """(0-based line, comment text) for real comments only, not '#' inside strings."""
    try:
        # newline=None: lines break at \r\n, \r and \n, like SourceText and Python's parser count them
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0] - 1, token.string
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # half-typed code: fall back to a plain scan of the lines
        for index, line in enumerate(io.StringIO(text, newline=None)):
            position = line.find("#")
            if position != -1:
                yield index, line[position:]


def noqa_edit(source: SourceText, line: int, code: str) -> TextEdit | None:
    """Add `code` to the line's `# noqa: ...` comment, or append one.

    None when a comment cannot go there: after a `\\` line continuation it would not parse."""
    text = source.line(line)
    if text.rstrip().endswith("\\"):
        return None
    match = _LINE.search(text)
    if match and match.group("codes"):
        end = match.end("codes")
        return TextEdit(Range(Position(line, end), Position(line, end)), f", {code}")
    if match:  # a bare noqa comment already silences every code
        return TextEdit(Range(Position(line, len(text)), Position(line, len(text))), "")
    stripped = len(text.rstrip())
    return TextEdit(Range(Position(line, stripped), Position(line, len(text))), f"  # noqa: {code}")
