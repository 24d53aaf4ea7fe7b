"""workspace/executeCommand: explain an env script, convert it to async, apply its safe fixes.

Each answers a dict the client can show: {"applied", "reason"} for the edits,
{"markdown", "summary"} for explain.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ...redact import redact_text
from .. import convert
from ..actions import safe_edits
from .results import any_result
from .rewrite import CONVERT_LABEL, convert_edit

if TYPE_CHECKING:
    from ..session import Session


async def explain(session: Session, uri: Any) -> dict:
    result = await any_result(session, uri)
    if result is None or result.analysis is None:
        return {"markdown": "", "summary": "", "reason": "not an env script this server can read"}
    from ... import explain as flow  # not at startup: the engine loads on the warm-up thread

    analysis = result.analysis
    return {
        "markdown": redact_text(flow.explain_markdown(analysis)),
        "summary": redact_text(flow.summary(analysis)),
    }


async def convert_to_async(session: Session, uri: Any, options: Any = None) -> dict:
    """{"applied", "reason", "changes", "manual"}: what changed and what is left to do by hand."""
    if not isinstance(uri, str):
        return {"applied": False, "reason": "expected the URI of an env.py file"}
    conversion = await convert_edit(session, uri)
    if conversion.edit is None:
        if isinstance(options, dict) and options.get("notify") and conversion.reason:
            session.client.show("info", f"Convert to async: {conversion.reason}")
        return conversion.answer(False, conversion.reason)
    applied = await _apply(session, conversion.edit, CONVERT_LABEL)
    return conversion.answer(applied["applied"], applied["reason"])


async def fix_all(session: Session, uri: Any) -> dict:
    if not isinstance(uri, str):
        return {"applied": False, "reason": "expected the URI of an env.py file"}
    result = await any_result(session, uri)
    if result is None or result.analysis is None:
        return {"applied": False, "reason": "not an env script this server can read"}
    # the fix pipeline re-analyses until stable: off the loop
    edits = await asyncio.to_thread(safe_edits, result.analysis)
    if not edits:
        return {"applied": False, "reason": "nothing to fix safely"}
    edit = session.files.workspace_edit(edits, result)
    return await _apply(session, edit, "Fix all alembic-env problems")


async def _apply(session: Session, edit: Any, label: str) -> dict:
    if not session.features.apply_edit:
        return {"applied": False, "reason": "the editor does not support workspace/applyEdit"}
    try:
        answer = await session.client.apply_edit(convert.apply_edit(edit, label))
    except Exception as error:
        return {"applied": False, "reason": redact_text(f"the editor refused the edit: {error}")}
    ok, reason = convert.applied(answer)
    return {"applied": ok, "reason": reason}
