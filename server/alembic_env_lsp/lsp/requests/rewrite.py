"""The async rewrite of an env script as a WorkspaceEdit (for the code action and the command)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ...text import SourceText
from .. import convert
from ..documents import uri_to_path
from ..jobs import read_text

if TYPE_CHECKING:
    from ..session import Session


async def convert_edit(session: Session, uri: str) -> tuple[Any, str | None]:
    """(WorkspaceEdit, None) converting the file to the async pattern, or (None, why not)."""
    doc = session.docs.get(uri)
    lines: convert.Lines
    if doc is not None:
        text, version, lines = doc.text, doc.version, doc
    else:
        path = uri_to_path(uri)
        if path is None:
            return None, "not a file"
        read, problem = read_text(path)
        if read is None:
            return None, problem
        text, version, lines = read, None, SourceText(read)

    def compute() -> tuple[Any, str | None]:
        from ...fixes.async_rewrite import convert_to_async
        from ...text import diff_edits

        outcome = convert_to_async(text)
        if outcome.refused:
            return None, outcome.refused
        if not outcome.changed or outcome.text is None:
            return None, "env.py already uses the async connection pattern"
        return diff_edits(text, outcome.text), None

    edits, reason = await asyncio.to_thread(compute)
    if edits is None:
        return None, reason
    current = session.docs.get(uri)
    if current is not None and current.version != version:
        return None, "the file changed while the rewrite was computed; try again"
    files = [convert.FileEdits(uri, version, lines, list(edits))]
    features = session.features
    return convert.workspace_edit(
        files, session.codec, document_changes=features.document_changes
    ), None
