"""Positions in a text: the one place that knows about code points, UTF-8 and UTF-16.

The engine keeps positions as (0-based line, code-point column), which is what Python
string indexing uses and what pygls calls "server units". Adapters convert at the edge:
`SourceText.to_utf16` for the CLI's JSON (LSP's default encoding), pygls for the editor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Position:
    line: int
    character: int


@dataclass(frozen=True, order=True)
class Range:
    start: Position
    end: Position

    @staticmethod
    def of(start_line: int, start_char: int, end_line: int, end_char: int) -> Range:
        return Range(Position(start_line, start_char), Position(end_line, end_char))

    def contains(self, pos: Position) -> bool:
        return self.start <= pos <= self.end


@dataclass(frozen=True)
class TextEdit:
    """Replace `range` of the file at `path` (None: the analysed file) with `new_text`."""

    range: Range
    new_text: str
    path: str | None = None


class SourceText:
    """A document's text with the line table needed to map positions.

    Lines are split on \\n, \\r\\n and \\r like editors do; the line table is built once.
    """

    def __init__(self, text: str):
        self.text = text
        self._starts = _line_starts(text)
        self._utf8_lines: dict[int, bytes] = {}

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line(self, index: int) -> str:
        """The text of a line without its line break."""
        if index < 0 or index >= len(self._starts):
            return ""
        start = self._starts[index]
        end = self._starts[index + 1] if index + 1 < len(self._starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def offset(self, pos: Position) -> int:
        """Code-point offset in the text of a (line, code-point column) position, clamped."""
        if pos.line >= len(self._starts):
            return len(self.text)
        line = self.line(pos.line)
        return self._starts[pos.line] + min(max(pos.character, 0), len(line))

    def position_at(self, offset: int) -> Position:
        import bisect

        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._starts, offset) - 1
        return Position(line, offset - self._starts[line])

    def from_utf8(self, lineno: int, byte_col: int) -> Position:
        """A position from Python's `ast` (1-based line, UTF-8 byte column)."""
        index = lineno - 1
        if not 0 <= index < len(self._starts):
            return Position(max(0, min(index, len(self._starts) - 1)), 0)
        raw = self._utf8_lines.get(index)
        if raw is None:
            raw = self.line(index).encode("utf-8", "surrogatepass")
            self._utf8_lines[index] = raw
        return Position(index, len(raw[:byte_col].decode("utf-8", "replace")))

    def node_range(self, node) -> Range:
        """The range of an `ast` node (which carries lineno/col_offset/end_*)."""
        end_line = getattr(node, "end_lineno", None) or node.lineno
        end_col = getattr(node, "end_col_offset", None)
        if end_col is None:
            end_col = node.col_offset
        return Range(
            self.from_utf8(node.lineno, node.col_offset), self.from_utf8(end_line, end_col)
        )

    def slice(self, rng: Range) -> str:
        return self.text[self.offset(rng.start) : self.offset(rng.end)]

    def to_utf16(self, pos: Position) -> Position:
        line = self.line(pos.line)
        prefix = line[: pos.character]
        return Position(pos.line, len(prefix) + sum(1 for ch in prefix if ord(ch) > 0xFFFF))

    def range_to_utf16(self, rng: Range) -> Range:
        return Range(self.to_utf16(rng.start), self.to_utf16(rng.end))

    def line_ending(self) -> str:
        """The file's dominant line break, so inserted lines match it."""
        crlf = self.text.count("\r\n")
        lf = self.text.count("\n") - crlf
        return "\r\n" if crlf > lf else "\n"

    def indent_of(self, line: int) -> str:
        text = self.line(line)
        lead = text[: len(text) - len(text.lstrip(" \t\x0c"))]
        return lead[lead.rfind("\x0c") + 1 :]  # Python counts columns again after a form feed


def _line_starts(text: str) -> list[int]:
    starts = [0]
    i, n = 0, len(text)
    find = text.find
    while True:
        j = find("\n", i)
        r = find("\r", i, j if j != -1 else n)
        if r != -1 and (j == -1 or r < j):
            # a lone \r or the \r of \r\n
            if r + 1 < n and text[r + 1] == "\n":
                starts.append(r + 2)
                i = r + 2
            else:
                starts.append(r + 1)
                i = r + 1
            continue
        if j == -1:
            break
        starts.append(j + 1)
        i = j + 1
    return starts


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """Apply non-overlapping edits (positions in code points) to `text`."""
    source = SourceText(text)
    # Applied back to front; among insertions at one offset, the first given ends up first.
    spans = sorted(
        (
            (source.offset(e.range.start), source.offset(e.range.end), index, e.new_text)
            for index, e in enumerate(edits)
        ),
        reverse=True,
    )
    out = text
    last_start = None
    for start, end, _, new in spans:
        if last_start is not None and end > last_start:
            raise ValueError("overlapping edits")
        out = out[:start] + new + out[end:]
        last_start = start
    return out


def diff_edits(old: str, new: str) -> tuple[TextEdit, ...]:
    """Minimal line-level edits turning `old` into `new`, for fixes computed as whole texts.

    Edits replace whole lines, so an editor keeps the cursor and undo history elsewhere."""
    import difflib
    from itertools import accumulate

    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    # Only the middle that differs goes to SequenceMatcher: without autojunk it is quadratic
    # in repeated lines, and a rewrite of a long file changes a few lines near its top.
    head = 0
    limit = min(len(old_lines), len(new_lines))
    while head < limit and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while (
        tail < limit - head
        and old_lines[len(old_lines) - 1 - tail] == new_lines[len(new_lines) - 1 - tail]
    ):
        tail += 1
    old_middle = old_lines[head : len(old_lines) - tail]
    new_middle = new_lines[head : len(new_lines) - tail]
    offsets = [0, *accumulate(len(line) for line in old_lines)]
    source = SourceText(old)
    edits = []
    matcher = difflib.SequenceMatcher(a=old_middle, b=new_middle, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start = source.position_at(offsets[head + i1])
        end = source.position_at(offsets[head + i2])
        edits.append(TextEdit(Range(start, end), "".join(new_middle[j1:j2])))
    return tuple(edits)
