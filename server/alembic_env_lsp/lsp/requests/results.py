"""The analysis a command works on: the open env script's current one, else one of the
file on disk (commands run from the file explorer on a closed file)."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from ..documents import INI, path_key, uri_to_path
from ..jobs import EnvInput, EnvResult, analyse_env, file_uri

if TYPE_CHECKING:
    from ..session import Session


async def any_result(session: Session, uri: Any) -> EnvResult | None:
    if not isinstance(uri, str):
        return None
    found = await session.env_result(uri)
    if found is not None:
        return found[1]
    doc = session.docs.get(uri)
    path = doc.path if doc is not None else uri_to_path(uri)
    if path is None or not os.path.isfile(path):
        return None
    return await result_from_disk(session, path)


async def result_from_disk(session: Session, path: str) -> EnvResult | None:
    """An analysis of an env script that is not open, with the session's settings and the
    open ini files' texts."""
    docs = session.docs
    inp = EnvInput(
        gen=-1,
        key=path_key(path),
        path=path,
        uri=file_uri(path),
        version=None,
        text=None,
        editor=session.settings.for_path(path),
        ini_versions={d.key: d.version for d in docs if d.kind == INI},
        uris={d.key: d.uri for d in docs},
        code=session.code,
    )
    return await asyncio.to_thread(analyse_env, inp, session.projects, session.codec)
