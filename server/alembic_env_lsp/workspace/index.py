"""The workspace: summaries of the project's Python files, cached by file version, folder
listings and shared answers (one per project root)."""

from __future__ import annotations

import ast
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .summary import (
    _ALEMBIC_MARKER,
    _COMMAND_MARKERS,
    _MODEL_MARKERS,
    ModuleSummary,
    _needs_summary,
    summarize,
)
from .view import EnvView

if TYPE_CHECKING:
    from ..model.facts import EnvFacts
    from ..project import ProjectContext

MAX_FILE_BYTES = 1024 * 1024
MAX_FILES = 20_000
MAX_AGGREGATES = 256
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        "node_modules",
        "__pycache__",
        "site-packages",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "build",
        "dist",
        ".eggs",
    }
)

# ---- the workspace ------------------------------------------------------------------------


@dataclass
class _Entry:
    signature: object
    markers: frozenset[bytes] | None = None
    summary: ModuleSummary | None = None


class Workspace:
    """Summaries of the project's Python files, cached by file version."""

    def __init__(self, folders: Iterable[Path | str] = (), *, max_files: int = MAX_FILES):
        self.folders = [os.path.abspath(f) for f in folders]
        self.max_files = max_files
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._overlays: dict[str, str] = {}
        self._listings: dict[str, list[str]] = {}
        self._aggregates: dict[tuple, object] = {}
        self._view: tuple[object, EnvView] | None = None
        # The tree the engine already parsed for the env script being analysed: its summary
        # is made from that tree, not from a second parse of the same text.
        self._offered: tuple[str, str, ast.Module] | None = None
        self.parses = 0  # files parsed so far (tests check nothing is parsed twice)

    # --- keeping up with changes ---

    def set_overlay(self, path: Path | str, text: str | None) -> None:
        """Use an editor's unsaved text for `path` (None: back to the file on disk)."""
        key = os.path.abspath(path)
        with self._lock:
            if text is None:
                self._overlays.pop(key, None)
            else:
                self._overlays[key] = text
            self._entries.pop(key, None)
            self._forget_answers()

    def invalidate(self, path: Path | str | None = None) -> None:
        """A file (or, with None, anything) changed on disk: forget folder listings and the
        answers built from them. Summaries of unchanged files are kept and reused."""
        with self._lock:
            if path is None:
                self._entries.clear()
            else:
                self._entries.pop(os.path.abspath(path), None)
            self._listings.clear()
            self._forget_answers()

    def _forget_answers(self) -> None:
        self._aggregates.clear()
        self._view = None

    # --- reading files ---

    def summary(self, path: Path | str) -> ModuleSummary:
        key = os.path.abspath(path)
        entry = self._entry(key)
        if entry.summary is None:
            text = self._text(key)
            entry.summary = self._parse(key, text)
        return entry.summary

    def _entry(self, key: str) -> _Entry:
        with self._lock:
            overlay = self._overlays.get(key)
            signature = ("overlay", overlay) if overlay is not None else _signature(key)
            entry = self._entries.get(key)
            if entry is None or entry.signature != signature or signature is None:
                entry = _Entry(signature)
                self._entries[key] = entry
            return entry

    def _text(self, key: str) -> str | None:
        overlay = self._overlays.get(key)
        if overlay is not None:
            return overlay
        data = _read(key)
        return None if data is None else data.decode("utf-8", "replace")

    def _parse(self, key: str, text: str | None) -> ModuleSummary:
        if text is None:
            return ModuleSummary(key, error="cannot read")
        offered = self._offered
        if offered is not None and offered[0] == key and offered[1] == text:
            tree = offered[2]
        else:
            self.parses += 1
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
                return ModuleSummary(key, error=type(error).__name__)
        try:
            return summarize(tree, key)
        except RecursionError:
            return ModuleSummary(key, error="nested too deeply")

    def _markers(self, key: str) -> frozenset[bytes]:
        """Which scan markers the file's text contains; parses it right away when a scan
        will need its summary, so the text is read once."""
        entry = self._entry(key)
        if entry.markers is None:
            overlay = self._overlays.get(key)
            data = overlay.encode("utf-8") if overlay is not None else _read(key)
            if data is None:
                entry.markers = frozenset()
            else:
                entry.markers = frozenset(
                    m for m in _MODEL_MARKERS + (_ALEMBIC_MARKER, *_COMMAND_MARKERS) if m in data
                )
                if _needs_summary(entry.markers) and entry.summary is None:
                    entry.summary = self._parse(key, data.decode("utf-8", "replace"))
        return entry.markers

    def python_files(self, root: Path | str) -> list[str]:
        """Python files under `root` (virtualenvs, caches and VCS folders skipped), cached
        until `invalidate()`."""
        key = os.path.abspath(root)
        with self._lock:
            cached = self._listings.get(key)
        if cached is not None:
            return cached
        files = list(_walk_python(key, self.max_files))
        with self._lock:
            self._listings[key] = files
        return files

    # --- per env.py ---

    def view(
        self, facts: EnvFacts, env_path: str | None, project: ProjectContext | None
    ) -> EnvView:
        """The workspace as seen from one env.py (its roots and imports); the last one is
        kept, so every rule of one analysis shares it."""
        with self._lock:
            if self._view is not None and self._view[0] is facts:
                return self._view[1]
            if env_path is not None:
                self._offered = (os.path.abspath(env_path), facts.source.text, facts.tree)
        view = EnvView(self, facts, env_path, project)
        with self._lock:
            self._view = (facts, view)
        return view

    def aggregate(self, key: tuple, compute):
        with self._lock:
            if key in self._aggregates:
                return self._aggregates[key]
        value = compute()
        with self._lock:
            if len(self._aggregates) >= MAX_AGGREGATES:
                self._aggregates.clear()  # a long editing session: start over rather than grow
            self._aggregates[key] = value
        return value


def _walk_python(root: str, limit: int) -> Iterator[str]:
    from ..project import walk_folders

    count = 0
    for folder, names in walk_folders(Path(root), skip_hidden=True):
        for name in names:
            if name.endswith(".py"):
                count += 1
                if count > limit:
                    return
                yield os.path.join(str(folder), name)


def _signature(key: str):
    try:
        info = os.stat(key)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


def _read(key: str) -> bytes | None:
    try:
        info = os.stat(key)
        if info.st_size > MAX_FILE_BYTES:
            return None
        with open(key, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
