"""workspace/executeCommand: explain an env script, convert it to async, apply its safe fixes.

Each answers a dict the client can show: {"applied", "reason"} for the edits,
{"markdown", "summary"} for explain.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from ...redact import redact_text
from .. import convert
from ..actions import safe_edits
from ..documents import uri_to_path
from ..jobs import EnvResult
from .rewrite import convert_edit

if TYPE_CHECKING:
    from ..session import Session


async def explain(session: Session, uri: Any) -> dict:
    result = await _any_result(session, uri)
    if result is None or result.analysis is None:
        return {"markdown": "", "summary": "", "reason": "not an env script this server can read"}
    from ... import explain as flow  # not at startup: the engine loads on the warm-up thread

    analysis = result.analysis
    return {
        "markdown": redact_text(flow.explain_markdown(analysis)),
        "summary": redact_text(flow.summary(analysis)),
    }


async def convert_to_async(session: Session, uri: Any, options: Any = None) -> dict:
    if not isinstance(uri, str):
        return {"applied": False, "reason": "expected the URI of an env.py file"}
    edit, reason = await convert_edit(session, uri)
    if edit is None:
        if isinstance(options, dict) and options.get("notify") and reason:
            session.client.show("info", f"Convert to async: {reason}")
        return {"applied": False, "reason": reason}
    return await _apply(session, edit, "Convert env.py to the async connection pattern")


async def fix_all(session: Session, uri: Any) -> dict:
    if not isinstance(uri, str):
        return {"applied": False, "reason": "expected the URI of an env.py file"}
    result = await _any_result(session, uri)
    if result is None or result.analysis is None:
        return {"applied": False, "reason": "not an env script this server can read"}
    # the fix pipeline re-analyses until stable: off the loop
    edits = await asyncio.to_thread(safe_edits, result.analysis)
    if not edits:
        return {"applied": False, "reason": "nothing to fix safely"}
    edit = session.files.workspace_edit(edits, result)
    return await _apply(session, edit, "Fix all alembic-env problems")


async def _any_result(session: Session, uri: Any) -> EnvResult | None:
    """The open env script's current analysis, else an analysis of the file on disk."""
    if not isinstance(uri, str):
        return None
    env = await session.env_snapshot(uri)
    if env is not None:
        return env.result
    doc = session.docs.get(uri)
    path = doc.path if doc is not None else uri_to_path(uri)
    if path is None or not os.path.isfile(path):
        return None
    return await session.result_from_disk(path)


async def _apply(session: Session, edit: Any, label: str) -> dict:
    if not session.features.apply_edit:
        return {"applied": False, "reason": "the editor does not support workspace/applyEdit"}
    try:
        answer = await session.client.apply_edit(convert.apply_edit(edit, label))
    except Exception as error:
        return {"applied": False, "reason": redact_text(f"the editor refused the edit: {error}")}
    ok, reason = convert.applied(answer)
    return {"applied": ok, "reason": reason}
