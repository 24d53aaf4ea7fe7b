"""textDocument/codeLens: the one-line summary of the env script's flow (explain.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...redact import redact_text
from .. import convert
from ..documents import ENV

if TYPE_CHECKING:
    from ..session import Session


async def code_lens(session: Session, uri: str) -> list:
    if session.kind(uri) != ENV:
        return []
    env = await session.env_snapshot(uri)
    if env is None or not env.result.enabled or not env.result.code_lens:
        return []
    if env.result.analysis is None:
        return []
    from ... import explain  # not at startup: the engine loads on the warm-up thread

    try:
        title = explain.summary(env.result.analysis)
    except Exception as error:
        session.log_once("error", redact_text(f"code lens failed: {type(error).__name__}: {error}"))
        return []
    return [convert.explain_lens(env.doc.uri, redact_text(title))]
