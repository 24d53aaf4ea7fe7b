"""Flat memory over a day of editing: what the server keeps after many
notifications and after many files opened and closed, counted, not timed.

The server runs in this process, fed JSON-RPC messages the way pygls' reader does, so the
test can count what pygls keeps (`_request_futures`) and what the session keeps (documents,
units, ini states, what was published, caches keyed by file). The RSS figures are in
BENCHMARKS.md (`make bench`, group soak).
"""

from __future__ import annotations

import asyncio
import gc
import json
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from alembic_env_lsp import pyenv
from alembic_env_lsp.lsp.server import create_server

pytestmark = pytest.mark.asyncio

SYNC_URL = "postgresql+psycopg2://app:s3cr3t@db/app"
ASYNC_URL = "postgresql+asyncpg://app:s3cr3t@db/app"


class _Sink:
    """The client's end of stdout: counts the notifications the server sends."""

    def __init__(self) -> None:
        self.sent: dict[str, int] = {}
        self.responses: dict[int, dict] = {}

    def write(self, data: bytes) -> None:
        body = json.loads(data.split(b"\r\n\r\n", 1)[1])
        method = body.get("method", "response")
        self.sent[method] = self.sent.get(method, 0) + 1
        if "method" not in body:
            self.responses[body["id"]] = body

    def close(self) -> None:
        pass


class InProcess:
    def __init__(self) -> None:
        self.server = create_server()
        self.sink = _Sink()
        self.server.protocol.set_writer(self.sink)
        self.next_id = 1
        self.root = ""

    def send(self, method: str, params: Any, *, request: bool = False) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            message["id"] = self.next_id
            self.next_id += 1
        protocol = self.server.protocol
        protocol.handle_message(
            json.loads(json.dumps(message), object_hook=protocol.structure_message)
        )

    async def start(self, root: Path, capabilities: dict | None = None) -> None:
        self.root = str(root)
        self.send(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "capabilities": capabilities or {},
                "workspaceFolders": [{"uri": root.as_uri(), "name": "root"}],
            },
            request=True,
        )
        self.send("initialized", {})
        await self.settle()

    @property
    def session(self):
        return self.server.session

    async def settle(self) -> None:
        """Until every analysis asked for has come back and the loop ran its callbacks."""
        for _ in range(20_000):
            session = self.session
            busy = session is not None and (
                any(u.requested != u.completed for u in session.units.values())
                or any(s.requested != s.completed for s in session.inis.values())
            )
            if not busy:
                for _ in range(3):
                    await asyncio.sleep(0)
                return
            await asyncio.sleep(0.001)
        raise AssertionError("analyses never finished")

    def open(self, path: Path, language: str, text: str | None = None) -> str:
        uri = path.as_uri()
        self.send(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": language,
                    "version": 1,
                    "text": path.read_text() if text is None else text,
                }
            },
        )
        return uri

    def change(self, uri: str, version: int, text: str) -> None:
        self.send(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )

    def close(self, uri: str) -> None:
        self.send("textDocument/didClose", {"textDocument": {"uri": uri}})

    def kept(self) -> dict[str, int]:
        """Everything that could grow with the number of messages or files."""
        session = self.session
        outbox = session.outbox
        return {
            "pygls _request_futures": len(self.server.protocol._request_futures),
            "documents": len(session.docs),
            "units": len(session.units),
            "ini states": len(session.inis),
            "push versions": len(outbox.versions),
            "ini pushes": len(outbox.ini_sent) + len(outbox.ini_nonempty),
            "said once": len(outbox.said),
            "project files cached": len(session.projects._files),
            "project folders listed": len(session.projects._listings),
            "environments remembered": sum(  # pyenv's memo is per process: count this test's
                any(str(folder).startswith(self.root) for folder in key[4:] if folder)
                for key in pyenv._FOUND
            ),
            "workspace files cached": len(session.code._entries),
        }


def make_project(root: Path, name: str, template: Path, url: str) -> tuple[Path, Path]:
    folder = root / name
    (folder / "migrations").mkdir(parents=True)
    env = folder / "migrations" / "env.py"
    env.write_text(template.read_text(encoding="utf-8").replace("orders", name), encoding="utf-8")
    ini = folder / "alembic.ini"
    ini.write_text(
        f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n",
        encoding="utf-8",
    )
    return env, ini


SAMPLE = Path(__file__).resolve().parents[2] / "bench" / "env_async_sample.py"


@pytest_asyncio.fixture
async def server(tmp_path):
    lsp = InProcess()
    await lsp.start(tmp_path)
    yield lsp
    lsp.session.shutdown()
    gc.unfreeze()  # the server's warm-up freezes what exists after its imports: not ours to keep


async def test_a_thousand_edits_leave_nothing_behind(server, tmp_path):
    env, _ = make_project(tmp_path, "app", SAMPLE, ASYNC_URL)
    text = env.read_text()
    uri = server.open(env, "python", text)
    await server.settle()
    before = server.kept()
    for version in range(2, 1002):
        server.change(uri, version, text + ("\n# edit\n" if version % 2 else ""))
        if version % 50 == 0:
            server.send("textDocument/didSave", {"textDocument": {"uri": uri}})
            await server.settle()
    await server.settle()
    after = server.kept()
    assert after == before
    assert after["pygls _request_futures"] == 0
    assert server.sink.sent["textDocument/publishDiagnostics"] >= 20


async def test_a_thousand_files_opened_and_closed_leave_nothing_behind(server, tmp_path):
    # one project stays open all along, as in a day of work; a thousand others come and go
    main_env, _ = make_project(tmp_path, "main", SAMPLE, ASYNC_URL)
    main_uri = server.open(main_env, "python")
    await server.settle()
    first = server.kept()
    for n in range(1000):
        env, ini = make_project(tmp_path, f"p{n}", SAMPLE, SYNC_URL)
        env_uri = server.open(env, "python")
        ini_uri = server.open(ini, "ini")
        await server.settle()
        server.change(ini_uri, 2, ini.read_text().replace(SYNC_URL, ASYNC_URL))
        await server.settle()
        server.close(ini_uri)
        server.close(env_uri)
        await server.settle()
    after = server.kept()
    assert after == first, f"kept after 1,000 files: {after}, at start: {first}"
    server.close(main_uri)
    await server.settle()
    assert set(server.kept().values()) == {0}


async def test_shutdown_with_a_notification_still_running(tmp_path):
    """`initialized` waits for the client's workspace/configuration answer, which never
    comes: pygls' shutdown cancels that pending handler while iterating over
    `_request_futures`, and the server still answers the shutdown without an error."""
    lsp = InProcess()
    await lsp.start(tmp_path, {"workspace": {"configuration": True}})
    assert lsp.sink.sent.get("workspace/configuration") == 1
    assert len(lsp.server.protocol._request_futures) > 0  # initialized and its question
    lsp.send("shutdown", None, request=True)
    for _ in range(100):
        await asyncio.sleep(0)
    answer = lsp.sink.responses[2]
    assert "error" not in answer and answer["result"] is None
    lsp.session.shutdown()
    gc.unfreeze()
