"""textDocument/diagnostic: the diagnostics of an open env script or ini file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import convert
from ..documents import ENV, INI

if TYPE_CHECKING:
    from ..session import Session


async def pull(session: Session, uri: str, previous: str | None) -> Any:
    kind = session.kind(uri)
    items: list = []
    if kind is None:
        return convert.full_report([], "none")
    if kind == ENV:
        env = await session.env_snapshot(uri)
        if env is not None and env.result.enabled:
            items = env.result.env_diagnostics
    elif kind == INI:
        ini = await session.ini_snapshot(uri)
        if ini is not None:
            items = [item.diagnostic for _, item in ini.items]
    result_id = f"{hash(tuple(convert.identity(d) for d in items)) & 0xFFFFFFFFFFFF:x}"
    if previous is not None and previous == result_id:
        return convert.unchanged_report(result_id)
    return convert.full_report(items, result_id)
