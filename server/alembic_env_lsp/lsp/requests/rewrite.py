"""The async conversion of an env script as a WorkspaceEdit (for the code action and the
command): fixes/rewrites.convert_project on the current analysis, so the URL's driver moves
too (env.py, alembic.ini or pyproject.toml) and what only the user can change is named."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..jobs import MAX_ENV_BYTES
from .results import any_result

if TYPE_CHECKING:
    from ..session import Session

CONVERT_LABEL = "Convert env.py to the async connection pattern"


@dataclass(frozen=True)
class Conversion:
    edit: Any  # the WorkspaceEdit; None when there is nothing to apply
    reason: str | None  # why not, when edit is None
    changes: int = 0  # places changed (env.py hunks and edits to other files)
    manual: tuple[str, ...] = ()  # what the user must change by hand (URLs masked)

    def answer(self, applied: bool, reason: str | None) -> dict:
        """The command's result, as the client shows it."""
        return {
            "applied": applied,
            "reason": reason,
            "changes": self.changes if applied else 0,
            "manual": list(self.manual),
        }


async def convert_edit(session: Session, uri: str) -> Conversion:
    doc = session.docs.get(uri)
    if doc is not None and len(doc.text) > MAX_ENV_BYTES:  # never analysed either (jobs.py)
        return Conversion(
            None, f"the file is larger than {MAX_ENV_BYTES // 2**20} MB: not converted"
        )
    result = await any_result(session, uri)
    if result is None or result.analysis is None:
        return Conversion(None, "not an env script this server can read")
    from ...fixes.rewrites import convert_project  # libcst: not at startup

    done = await asyncio.to_thread(convert_project, result.analysis, to="async")
    if done.refused is not None:
        return Conversion(None, done.refused, manual=done.manual)
    if done.already:
        return Conversion(
            None, "env.py already uses the async connection pattern", manual=done.manual
        )
    current = session.docs.get(uri)
    if current is not None and current.version != result.version:
        return Conversion(None, "the file changed while the rewrite was computed; try again")
    edit = session.files.workspace_edit(done.edits, result)
    return Conversion(edit, None, done.changes, done.manual)
