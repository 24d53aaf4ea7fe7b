"""End-to-end harness for the language server (fixtures are in conftest.py): the real
server over stdio, driven by a pytest-lsp client the way an editor drives it, on real
project folders written to tmp_path.

`editor()` starts a server and initializes it with a recorded client's capabilities; the
`Editor` it returns opens files, edits them, waits for the diagnostics of a given version
and applies the edits the server sends, so tests assert what a user would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types as t
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

ALEMBIC = Path(sys.executable).with_name("alembic")
SERVER = [sys.executable, "-m", "alembic_env_lsp.lsp"]
TIMEOUT = 30.0


class Project:
    def __init__(self, root: Path):
        self.root = root
        self.ini = root / "alembic.ini"
        self.env = root / "migrations" / "env.py"

    def set_url(self, url: str) -> None:
        lines = self.ini.read_text(encoding="utf-8").splitlines(keepends=True)
        self.ini.write_text(
            "".join(
                f"sqlalchemy.url = {url}\n" if line.startswith("sqlalchemy.url") else line
                for line in lines
            ),
            encoding="utf-8",
        )

    def ini_line(self, prefix: str) -> int:
        for index, line in enumerate(self.ini.read_text(encoding="utf-8").splitlines()):
            if line.startswith(prefix):
                return index
        raise AssertionError(f"no line starting with {prefix!r} in alembic.ini")


# ---------------------------------------------------------------------- the client


def _converter():
    """pygls' converter, except that a CodeAction carrying a `command` object decodes as a
    CodeAction (lsprotocol 2025.0.0 turns any item with a "command" key into a Command)."""
    from typing import Union

    converter = default_converter()

    def code_action_or_command(obj, _):
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, t.Command)
        return converter.structure(obj, t.CodeAction)

    # typing.Union: the key lsprotocol registers its hooks under (X | Y is another object)
    converter.register_structure_hook(Union[t.Command, t.CodeAction], code_action_or_command)  # noqa: UP007
    return converter


def _make_client() -> LanguageClient:
    client = LanguageClient(converter_factory=_converter)
    client.published = []  # every publishDiagnostics, in order
    client.registrations = []
    client.applied_edits = []
    client.apply_ok = True
    client.code_lens_refresh_count = 0
    client.arrived = asyncio.Event()
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _on_publish
    features[t.CLIENT_REGISTER_CAPABILITY] = _on_register
    features[t.WORKSPACE_APPLY_EDIT] = _on_apply_edit
    features[t.WORKSPACE_CODE_LENS_REFRESH] = _on_refresh
    register_lsp_features(client, features)
    return client


def _on_publish(client: LanguageClient, params: t.PublishDiagnosticsParams):
    client.diagnostics[params.uri] = params.diagnostics
    client.published.append(params)
    client.arrived.set()


def _on_register(client: LanguageClient, params: t.RegistrationParams):
    client.registrations.extend(params.registrations)
    return None


def _on_apply_edit(client: LanguageClient, params: t.ApplyWorkspaceEditParams):
    client.applied_edits.append(params)
    return t.ApplyWorkspaceEditResult(applied=client.apply_ok)


def _on_refresh(client: LanguageClient, params: Any):
    client.code_lens_refresh_count += 1
    return None


def capabilities(
    name: str = "visual-studio-code",
    *,
    pull: bool = False,
    encodings: list[str] | None = None,
    resolve: bool | None = None,
    refresh: bool = False,
) -> t.ClientCapabilities:
    caps = pytest_lsp.client_capabilities(name)
    if pull:
        caps.text_document.diagnostic = t.DiagnosticClientCapabilities(
            dynamic_registration=False, related_document_support=False
        )
        if refresh:
            caps.workspace.diagnostics = t.DiagnosticWorkspaceClientCapabilities(
                refresh_support=True
            )
    if encodings is not None:
        caps.general = t.GeneralClientCapabilities(position_encodings=encodings)
    if resolve is False and caps.text_document.code_action is not None:
        caps.text_document.code_action.resolve_support = None
    return caps


class Editor:
    """A test's view of the editor: open documents, their versions, what the server showed."""

    def __init__(self, client: LanguageClient, init: t.InitializeResult):
        self.client = client
        self.init = init
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}

    # --- documents ---

    def open(self, path: Path, text: str | None = None, language_id: str | None = None) -> str:
        uri = path.as_uri()
        text = path.read_text(encoding="utf-8") if text is None else text
        if language_id is None:
            language_id = "ini" if path.suffix == ".ini" else "python"
        self.texts[uri] = text
        self.versions[uri] = 1
        self.client.text_document_did_open(
            t.DidOpenTextDocumentParams(
                text_document=t.TextDocumentItem(
                    uri=uri, language_id=language_id, version=1, text=text
                )
            )
        )
        return uri

    def change(self, uri: str, text: str) -> int:
        """A full-text change; returns the new version."""
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[t.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return self.versions[uri]

    def edit(
        self, uri: str, start: tuple[int, int], end: tuple[int, int], new_text: str, expected: str
    ) -> int:
        """An incremental change (positions in the client's units); `expected` is the text after it."""
        self.versions[uri] += 1
        self.texts[uri] = expected
        self.client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[
                    t.TextDocumentContentChangePartial(
                        range=t.Range(start=t.Position(*start), end=t.Position(*end)), text=new_text
                    )
                ],
            )
        )
        return self.versions[uri]

    def save(self, uri: str) -> None:
        self.client.text_document_did_save(
            t.DidSaveTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=uri))
        )

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            t.DidCloseTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=uri))
        )

    # --- what the server sent ---

    async def published(
        self, uri: str, version: int | None = ..., *, where=None, timeout: float = TIMEOUT
    ):
        """Wait for a publishDiagnostics for `uri` (with that version, if given) that satisfies `where`."""
        seen = 0

        def match():
            nonlocal seen
            for params in self.client.published[seen:]:
                seen += 1
                if params.uri != uri:
                    continue
                if version is not ... and params.version != version:
                    continue
                if where is not None and not where(params.diagnostics):
                    continue
                return params
            return None

        async def wait():
            while True:
                found = match()
                if found is not None:
                    return found
                self.client.arrived.clear()
                found = match()
                if found is not None:
                    return found
                await self.client.arrived.wait()

        return await asyncio.wait_for(wait(), timeout)

    def publishes_for(self, uri: str) -> list[t.PublishDiagnosticsParams]:
        return [p for p in self.client.published if p.uri == uri]

    async def diagnostics(
        self, uri: str, version: int | None = ..., where=None
    ) -> list[t.Diagnostic]:
        return list((await self.published(uri, version, where=where)).diagnostics)

    async def pull(self, uri: str, previous: str | None = None):
        return await self.client.text_document_diagnostic_async(
            t.DocumentDiagnosticParams(
                text_document=t.TextDocumentIdentifier(uri=uri), previous_result_id=previous
            )
        )

    async def hover(self, uri: str, line: int, character: int):
        return await self.client.text_document_hover_async(
            t.HoverParams(
                text_document=t.TextDocumentIdentifier(uri=uri),
                position=t.Position(line=line, character=character),
            )
        )

    async def code_actions(self, uri: str, rng: t.Range, diagnostics=(), only=None):
        return (
            await self.client.text_document_code_action_async(
                t.CodeActionParams(
                    text_document=t.TextDocumentIdentifier(uri=uri),
                    range=rng,
                    context=t.CodeActionContext(diagnostics=list(diagnostics), only=only),
                )
            )
            or []
        )

    async def command(self, name: str, *args):
        return await self.client.workspace_execute_command_async(
            t.ExecuteCommandParams(command=name, arguments=list(args))
        )

    def log_text(self) -> str:
        return "\n".join(m.message for m in self.client.log_messages)

    async def logged(self, text: str, timeout: float = TIMEOUT) -> str:
        """Wait until the server has logged a message containing `text`; the whole log."""
        for _ in range(int(timeout / 0.05)):
            if text in self.log_text():
                return self.log_text()
            await asyncio.sleep(0.05)
        raise AssertionError(f"never logged {text!r}; log:\n{self.log_text()}")


@contextlib.asynccontextmanager
async def editor(
    *,
    caps: t.ClientCapabilities | None = None,
    init_options: Any = None,
    folders: list[Path] = (),
    configuration: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
):
    """A running server, initialized like an editor would; shut down at the end."""
    server_env = dict(os.environ)
    server_env.update(env or {})
    config = ClientServerConfig(
        server_command=command or SERVER, client_factory=_make_client, server_env=server_env
    )
    client = await config.start()
    for scope, value in (configuration or {}).items():
        client.set_configuration(value, section="alembicEnv", scope_uri=scope or None)
    caps = caps or capabilities()
    folder_list = [t.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders]
    try:
        result = await asyncio.wait_for(
            client.initialize_session(
                t.InitializeParams(
                    capabilities=caps,
                    initialization_options=init_options,
                    workspace_folders=folder_list or None,
                    root_uri=folder_list[0].uri if folder_list else None,
                )
            ),
            TIMEOUT,
        )
        yield Editor(client, result)
        await asyncio.wait_for(client.shutdown_session(), TIMEOUT)
    finally:
        process = getattr(
            client, "_server", None
        )  # still running after a failure: do not wait for it
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await client.stop()


def apply_text_edits(text: str, edits) -> str:
    """Apply LSP TextEdits (UTF-16 positions over \\n / \\r\\n / \\r lines) the way an editor does."""
    import re

    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def offset(pos: t.Position) -> int:
        if pos.line >= len(starts):
            return len(text)
        start = starts[pos.line]
        end = starts[pos.line + 1] if pos.line + 1 < len(starts) else len(text)
        line = text[start:end].rstrip("\r\n")
        units = 0
        for index, char in enumerate(line):
            if units >= pos.character:
                return start + index
            units += 2 if ord(char) > 0xFFFF else 1
        return start + len(line)

    spans = sorted(
        ((offset(e.range.start), offset(e.range.end), i, e.new_text) for i, e in enumerate(edits)),
        reverse=True,
    )
    for start, end, _, new in spans:
        text = text[:start] + new + text[end:]
    return text


def edits_for(workspace_edit: t.WorkspaceEdit, uri: str):
    """The TextEdits a WorkspaceEdit makes to one document, and that document's version."""
    found, version = [], None
    for change in workspace_edit.document_changes or ():
        if change.text_document.uri == uri:
            found.extend(change.edits)
            version = change.text_document.version
    for key, edits in (workspace_edit.changes or {}).items():
        if key == uri:
            found.extend(edits)
    return found, version


def at(diagnostics, code: str) -> t.Diagnostic:
    matches = [d for d in diagnostics if d.code == code]
    assert matches, f"no {code} in {[d.code for d in diagnostics]}"
    return matches[0]


def codes(diagnostics) -> list[str]:
    return sorted(d.code for d in diagnostics)


def rng(l1: int, c1: int, l2: int, c2: int) -> t.Range:
    return t.Range(start=t.Position(line=l1, character=c1), end=t.Position(line=l2, character=c2))


def find(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """(line, UTF-16 column) of the nth occurrence of `needle` in `text`."""
    import re

    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    line = max(i for i, s in enumerate(starts) if s <= index)
    prefix = text[starts[line] : index]
    return line, len(prefix) + sum(1 for ch in prefix if ord(ch) > 0xFFFF)


def span(text: str, needle: str, nth: int = 0) -> t.Range:
    """The range `needle` covers (on one line) in `text`, in UTF-16 units."""
    line, col = find(text, needle, nth)
    units = len(needle) + sum(1 for ch in needle if ord(ch) > 0xFFFF)
    return rng(line, col, line, col + units)
