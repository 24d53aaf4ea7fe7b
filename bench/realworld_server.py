"""The language-server stage of bench/realworld.py: the real server over stdio (pygls's client)
opens each file, waits for its diagnostics, asks for code actions over the whole file and, on
every Nth file, hovers on every identifier; a server that dies is restarted and the file
counted as a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import keyword
import os
import re
import statistics
import sys
import time
import tokenize
from collections import Counter
from pathlib import Path
from typing import Any

from realworld_report import Crash, FileRecord, stderr_head, traceback_head

ROOT = Path(__file__).resolve().parent.parent
OPEN_TIMEOUT = 15.0
REQUEST_TIMEOUT = 15.0


# ---------------------------------------------------------------------- the server


def _converter():
    """pygls' converter; a CodeAction carrying a `command` object stays a CodeAction
    (lsprotocol turns any item with a "command" key into a Command)."""
    from typing import Union

    from lsprotocol import types as t
    from pygls.protocol import default_converter

    converter = default_converter()

    def code_action_or_command(obj, _):
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, t.Command)
        return converter.structure(obj, t.CodeAction)

    converter.register_structure_hook(Union[t.Command, t.CodeAction], code_action_or_command)  # noqa: UP007
    return converter


def identifier_positions(text: str) -> list[tuple[int, int]]:
    """The start and the middle of every identifier (0-based line, UTF-16 column)."""
    positions: list[tuple[int, int]] = []
    lines = text.splitlines()
    with contextlib.suppress(tokenize.TokenError, SyntaxError, IndentationError):
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type != tokenize.NAME or keyword.iskeyword(token.string):
                continue
            line, col = token.start
            prefix = lines[line - 1][:col] if line - 1 < len(lines) else ""
            utf16 = len(prefix.encode("utf-16-le")) // 2
            positions.append((line - 1, utf16))
            if len(token.string) > 2:
                positions.append((line - 1, utf16 + len(token.string) // 2))
    return positions


class Server:
    """One language server process over stdio, restarted when it dies."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.client: Any = None
        self.diagnostics: dict[str, asyncio.Event] = {}
        self.published: dict[str, list[Any]] = {}
        self.errors_logged: list[str] = []
        self.stderr: list[str] = []
        self.restarts = 0

    async def start(self) -> None:
        from lsprotocol import types as t
        from pygls.lsp.client import BaseLanguageClient

        client = BaseLanguageClient("realworld-bench", "1", converter_factory=_converter)

        @client.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: t.PublishDiagnosticsParams) -> None:
            self.published[params.uri] = list(params.diagnostics)
            event = self.diagnostics.get(params.uri)
            if event is not None:
                event.set()

        @client.feature(t.WINDOW_LOG_MESSAGE)
        def logged(params: t.LogMessageParams) -> None:
            if params.type == t.MessageType.Error:
                self.errors_logged.append(params.message)

        @client.feature(t.WINDOW_SHOW_MESSAGE)
        def shown(params: t.ShowMessageParams) -> None:
            if params.type == t.MessageType.Error:
                self.errors_logged.append(params.message)

        @client.feature(t.WORKSPACE_CONFIGURATION)
        def configuration(params: t.ConfigurationParams) -> list[Any]:
            return [None for _ in params.items]

        @client.feature(t.CLIENT_REGISTER_CAPABILITY)
        def register(params: t.RegistrationParams) -> None:
            return None

        @client.feature(t.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def progress(params: t.WorkDoneProgressCreateParams) -> None:
            return None

        @client.feature(t.WORKSPACE_CODE_LENS_REFRESH)
        def lens_refresh(params: None) -> None:
            return None

        @client.feature(t.WORKSPACE_DIAGNOSTIC_REFRESH)
        def diagnostic_refresh(params: None) -> None:
            return None

        # the server of this tree, not whichever copy the interpreter has installed
        environ = dict(os.environ, PYTHONPATH=str(ROOT / "server"))
        await client.start_io(sys.executable, "-m", "alembic_env_lsp", "serve", env=environ)
        process = client._server
        if process is not None:
            asyncio.get_running_loop().create_task(self._drain(process.stderr))
        folder = t.WorkspaceFolder(uri=self.folder.as_uri(), name=self.folder.name)
        await asyncio.wait_for(
            client.initialize_async(
                t.InitializeParams(
                    capabilities=t.ClientCapabilities(
                        text_document=t.TextDocumentClientCapabilities(
                            hover=t.HoverClientCapabilities(content_format=[t.MarkupKind.Markdown]),
                            code_action=t.CodeActionClientCapabilities(
                                code_action_literal_support=t.ClientCodeActionLiteralOptions(
                                    code_action_kind=t.ClientCodeActionKindOptions(
                                        value_set=[k.value for k in t.CodeActionKind]
                                    )
                                )
                            ),
                            publish_diagnostics=t.PublishDiagnosticsClientCapabilities(),
                        ),
                        workspace=t.WorkspaceClientCapabilities(configuration=True),
                    ),
                    workspace_folders=[folder],
                    root_uri=folder.uri,
                )
            ),
            30,
        )
        client.initialized(t.InitializedParams())
        self.client = client

    async def _drain(self, stream) -> None:
        while stream is not None:
            line = await stream.readline()
            if not line:
                return
            self.stderr.append(line.decode("utf-8", "replace"))

    @property
    def alive(self) -> bool:
        server = getattr(self.client, "_server", None)
        return server is not None and server.returncode is None

    async def stop(self) -> None:
        if self.client is None:
            return
        with contextlib.suppress(Exception):
            if self.alive:
                await asyncio.wait_for(self.client.shutdown_async(None), 5)
                self.client.exit(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.stop(), 5)
        server = getattr(self.client, "_server", None)
        if server is not None and server.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                server.kill()
        self.client = None

    async def visit(self, record: FileRecord, env: Path, hover_all: bool) -> None:
        from lsprotocol import types as t

        if self.client is None or not self.alive:
            await self.stop()
            await self.start()
            self.restarts += 1
        text = env.read_text(encoding="utf-8-sig", errors="replace")
        uri = env.as_uri()
        stats: dict[str, Any] = {}
        record.server = stats
        errors_before, stderr_before = len(self.errors_logged), len(self.stderr)
        self.diagnostics[uri] = asyncio.Event()
        started = time.perf_counter()
        self.client.text_document_did_open(
            t.DidOpenTextDocumentParams(
                t.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        try:
            await asyncio.wait_for(self.diagnostics[uri].wait(), OPEN_TIMEOUT)
            record.seconds["open"] = time.perf_counter() - started
            stats["diagnostics"] = len(self.published.get(uri, []))
        except TimeoutError:
            stats["diagnostics"] = None
            record.crashes.append(Crash("server-open", "no diagnostics within 15 s"))
        lines = text.splitlines() or [""]
        whole = t.Range(
            t.Position(0, 0), t.Position(len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2)
        )
        started = time.perf_counter()
        try:
            actions = await asyncio.wait_for(
                self.client.text_document_code_action_async(
                    t.CodeActionParams(
                        t.TextDocumentIdentifier(uri),
                        whole,
                        t.CodeActionContext(diagnostics=self.published.get(uri, [])),
                    )
                ),
                REQUEST_TIMEOUT,
            )
            record.seconds["actions"] = time.perf_counter() - started
            stats["actions"] = len(actions or [])
        except Exception as error:  # noqa: BLE001
            record.crashes.append(Crash("server-action", _request_error(error)))
        if hover_all:
            await self._hover_all(record, uri, text, stats)
        self.client.text_document_did_close(
            t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri))
        )
        if not self.alive:
            record.crashes.append(Crash("server-died", stderr_head("".join(self.stderr))))
        logged = self.errors_logged[errors_before:]
        stderr = "".join(self.stderr[stderr_before:])
        if "Traceback" in stderr or logged:
            stats["errors_logged"] = len(logged)
            record.crashes.append(Crash("server-log", stderr_head(stderr + "\n".join(logged))))

    async def _hover_all(self, record: FileRecord, uri: str, text: str, stats) -> None:
        from lsprotocol import types as t

        positions = identifier_positions(text)
        answered = empty = failed = 0
        times: list[float] = []
        heads: Counter[str] = Counter()
        for line, col in positions:
            started = time.perf_counter()
            try:
                result = await asyncio.wait_for(
                    self.client.text_document_hover_async(
                        t.HoverParams(t.TextDocumentIdentifier(uri), t.Position(line, col))
                    ),
                    REQUEST_TIMEOUT,
                )
            except Exception as error:  # noqa: BLE001
                failed += 1
                heads[_request_error(error)] += 1
                if not self.alive:
                    break
                continue
            times.append(time.perf_counter() - started)
            if result is None:
                empty += 1
            else:
                answered += 1
        stats.update(hovers=len(positions), hover_answered=answered, hover_empty=empty)
        stats["hover_failed"] = failed
        if times:
            record.seconds["hover"] = statistics.median(times)
        for head, count in heads.items():
            record.crashes.append(Crash("server-hover", f"{head} (x{count})"))


def _request_error(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no answer within 15 s"
    message = str(error).splitlines()[0] if str(error) else ""
    kind = re.findall(r"\b(\w+Error)\b", message)
    return f"{type(error).__name__}: {kind[-1] if kind else 'error response'}"


async def stage_server(
    records: list[FileRecord], envs: list[Path], folder: Path, every: int
) -> dict[str, Any]:
    server = Server(folder)
    await server.start()
    try:
        for index, (record, env) in enumerate(zip(records, envs, strict=True)):
            try:
                await server.visit(record, env, hover_all=every > 0 and index % every == 0)
            except Exception as error:  # noqa: BLE001 - the bench itself goes on
                record.crashes.append(Crash("server", traceback_head(error)))
                await server.stop()
    finally:
        await server.stop()
    return {"restarts": server.restarts}
