"""The editor's open documents, kept by the server itself.

pygls' own copy re-splits the whole text with `str.splitlines` on every incremental change:
that costs ~6 ms per keystroke in a 50,000-line file, and `splitlines` also breaks lines at
form feeds, U+2028 and other characters that LSP does not count as line breaks, so edits
after such a character land on the wrong line. Here lines end only at \\n, \\r\\n and \\r (as
LSP and `text.SourceText` say), line starts are found lazily and kept up to the first
edited line, and a change costs one splice of the text.

Positions from the client are in its units (UTF-16 by default); `units` is a function that
counts a string's client units (the negotiated position encoding), so this module needs no
protocol types.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from urllib.parse import unquote, urlparse

# What a document is to this server; decided by its name and a cheap look at its text.
ENV = "env"  # a Python file that imports alembic's context: analysed
INI = "ini"  # an .ini file: may configure env scripts
PYTHON = "python"  # any other Python file: costs one substring test per change
OTHER = "other"  # anything else: ignored

_LONE_CR = re.compile(r"\r(?!\n)")

Units = Callable[[str], int]


def uri_to_path(uri: str) -> str | None:
    """The absolute, normalised file system path of a `file:` URI, else None."""
    try:
        parsed = urlparse(uri)
    except ValueError:
        return None
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if os.name == "nt" and re.match(r"^/[A-Za-z]:", path):
        path = path[1:]
    if parsed.netloc and parsed.netloc != "localhost":
        path = f"//{parsed.netloc}{path}"
    if not path:
        return None
    return os.path.normpath(path)


def path_key(path: str | os.PathLike) -> str:
    """One spelling per file, for dictionaries keyed by path."""
    return os.path.normcase(os.path.abspath(os.fspath(path)))


def code_points_for_units(line: str, units: int, count: Units) -> int:
    """The code-point column of a client-unit column on `line`, clamped to the line."""
    if units <= 0:
        return 0
    if line.isascii():
        return min(units, len(line))
    seen = 0
    for index, char in enumerate(line):
        if seen >= units:
            return index
        seen += count(char)
    return len(line)


class Document:
    """One open text document: its text, version and a lazily built line table."""

    __slots__ = (
        "uri",
        "path",
        "key",
        "language_id",
        "version",
        "kind",
        "_text",
        "_starts",
        "_complete",
        "_lone_cr",
    )

    def __init__(self, uri: str, language_id: str, version: int | None, text: str):
        self.uri = uri
        self.path = uri_to_path(uri)
        self.key = path_key(self.path) if self.path else uri
        self.language_id = language_id or ""
        self.version = version
        self.kind = OTHER
        self._starts: list[int] = [0]  # offset of each line start found so far
        self._set_text(text)

    # --- text ---

    @property
    def text(self) -> str:
        return self._text

    def _set_text(self, text: str, keep_lines: int = 0) -> None:
        self._text = text
        self._lone_cr = "\r" in text and _LONE_CR.search(text) is not None
        if keep_lines and not self._lone_cr:
            del self._starts[keep_lines:]
        else:
            self._starts = [0]
        self._complete = False

    def replace_all(self, text: str, version: int | None) -> None:
        self._set_text(text)
        self.version = version

    def apply_change(
        self,
        start: tuple[int, int] | None,
        end: tuple[int, int] | None,
        new_text: str,
        count: Units,
    ) -> None:
        """Apply one content change; `start`/`end` are (line, client-unit column), None for the whole text."""
        if start is None or end is None:
            self._set_text(new_text)
            return
        a = self.offset_at(start[0], start[1], count)
        b = self.offset_at(end[0], end[1], count)
        if b < a:
            a, b = b, a
        text = self._text
        # Line starts up to the edited line stay valid (a \r\n split by the edit is rare: rebuild then).
        keep = min(start[0], end[0]) + 1
        if (
            a > 0
            and text[a - 1] == "\r"
            and (new_text.startswith("\n") or (b < len(text) and text[b] == "\n"))
        ):
            keep = 0
        self._set_text(text[:a] + new_text + text[b:], keep_lines=keep)

    # --- lines ---

    def _extend(self, until_line: int) -> None:
        starts = self._starts
        if self._lone_cr:
            if not self._complete:
                self._starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", self._text)]
                self._complete = True
            return
        text = self._text
        find = text.find
        position = starts[-1]
        while len(starts) <= until_line:
            index = find("\n", position)
            if index == -1:
                self._complete = True
                return
            position = index + 1
            starts.append(position)

    def line_start(self, line: int) -> int | None:
        if line < 0:
            return 0
        if line >= len(self._starts) and not self._complete:
            self._extend(line)
        starts = self._starts
        return starts[line] if line < len(starts) else None

    def line(self, line: int) -> str:
        """The text of a line without its line break ('' past the end)."""
        start = self.line_start(line)
        if start is None:
            return ""
        end = self.line_start(line + 1)
        chunk = self._text[start:] if end is None else self._text[start:end]
        return chunk.rstrip("\r\n") if chunk.endswith(("\n", "\r")) else chunk

    @property
    def line_count(self) -> int:
        if not self._complete:
            self._extend(1 << 62)
        return len(self._starts)

    def offset_at(self, line: int, units: int, count: Units) -> int:
        """Offset in the text of a (line, client-unit column) position, clamped like editors do."""
        if line < 0:
            return 0
        start = self.line_start(line)
        if start is None:
            return len(self._text)
        return start + code_points_for_units(self.line(line), units, count)


class Documents:
    """Open documents by URI."""

    def __init__(self) -> None:
        self._by_uri: dict[str, Document] = {}

    def open(self, uri: str, language_id: str, version: int | None, text: str) -> Document:
        doc = Document(uri, language_id, version, text)
        self._by_uri[uri] = doc
        return doc

    def get(self, uri: str) -> Document | None:
        return self._by_uri.get(uri)

    def close(self, uri: str) -> Document | None:
        return self._by_uri.pop(uri, None)

    def by_key(self, key: str) -> Document | None:
        for doc in self._by_uri.values():
            if doc.key == key:
                return doc
        return None

    def __iter__(self) -> Iterator[Document]:
        return iter(list(self._by_uri.values()))

    def __len__(self) -> int:
        return len(self._by_uri)


def kind_of(doc: Document, looks_like_env: Callable[[str], bool]) -> str:
    """ENV, INI, PYTHON or OTHER: the name decides, then one cheap look at a Python file's text."""
    name = os.path.basename(doc.path or doc.uri).lower()
    if name.endswith(".ini"):
        return INI
    if doc.language_id == "python" or name.endswith((".py", ".pyi")):
        text = doc.text
        # A substring test runs at memory speed; only a file that mentions alembic gets the pattern.
        if "alembic" in text and looks_like_env(text):
            return ENV
        return PYTHON
    return OTHER
