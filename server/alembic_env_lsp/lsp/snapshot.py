"""What a request answers from: a document at one version with the analyses that concern it.

The session (session.py) waits until the analysis of a document's current text is back and
hands the request a snapshot; the request modules (requests/) compute their answer from it
without touching the session's bookkeeping. Answers are computed on the loop right after the
snapshot is taken, so the document cannot change in between.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..text import SourceText, TextEdit
from . import convert
from .documents import Document, path_key
from .jobs import EnvResult, IniItem, file_uri, read_text


@dataclass(frozen=True)
class Files:
    """How to find the text an edit applies to: the open document, else the file on disk."""

    open_document: Callable[[str], Document | None]  # path key -> open document
    ini_text: Callable[[str], str | None]  # path of an ini file -> its text as the project reads it
    codec: convert.Codec
    features: convert.ClientFeatures

    def workspace_edit(self, edits: Iterable[TextEdit], result: EnvResult) -> Any:
        """Engine edits (path None = the analysed env script) as one WorkspaceEdit."""
        by_path: dict[str, list[TextEdit]] = {}
        for edit in edits:
            key = path_key(edit.path) if edit.path else result.key
            by_path.setdefault(key, []).append(edit)
        files = [self._file_edits(key, group, result) for key, group in by_path.items()]
        return convert.workspace_edit(
            files, self.codec, document_changes=self.features.document_changes
        )

    def _file_edits(self, key: str, edits: list[TextEdit], result: EnvResult) -> convert.FileEdits:
        doc = self.open_document(key)
        if key == result.key and result.source is not None:
            # the edits are relative to the text that was analysed, at its version
            uri = doc.uri if doc is not None else result.uri
            return convert.FileEdits(uri, result.version, result.source, edits)
        if doc is not None:
            return convert.FileEdits(doc.uri, doc.version, doc, edits)
        path = result.ini_paths.get(key) or next((e.path for e in edits if e.path), key)
        text = self.ini_text(path) if path.endswith(".ini") else None
        if text is None:
            text = read_text(path)[0] or ""
        return convert.FileEdits(file_uri(path), None, SourceText(text), edits)


class _ReadsFiles:
    """The encoding and client features every snapshot answers with come from its `files`."""

    files: Files

    @property
    def codec(self) -> convert.Codec:
        return self.files.codec

    @property
    def features(self) -> convert.ClientFeatures:
        return self.files.features


@dataclass(frozen=True)
class EnvSnapshot(_ReadsFiles):
    """An open env script at its current version, with the analysis of exactly that text."""

    doc: Document
    result: EnvResult
    files: Files


@dataclass(frozen=True)
class IniSnapshot(_ReadsFiles):
    """An open ini file once every env script that reads it has been analysed against it."""

    doc: Document
    items: list[tuple[EnvResult, IniItem]]  # what is shown on the file, and the analysis behind it
    reading: Any  # engine.Analysis of an env script that reads this file, or None
    files: Files

    @property
    def is_alembic_config(self) -> bool:
        """pytest.ini, tox.ini...: not Alembic's configuration unless an env script reads it."""
        return (
            self.reading is not None
            or (self.doc.path is not None and Path(self.doc.path).name == "alembic.ini")
            or "[alembic]" in self.doc.text
        )
