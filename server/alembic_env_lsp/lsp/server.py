"""The pygls layer: register handlers, convert their parameters, delegate to the session
(document notifications) or to a request module (requests/: one per request).

Start with `alembic-env-lsp serve` (or `python -m alembic_env_lsp.lsp`); `--tcp HOST:PORT`
listens on a socket instead of stdio, for debugging. Nothing heavy is imported at startup:
the engine loads on a background thread after `initialized`, and analyses run on one
worker thread (see session.py / worker.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
from functools import partial
from typing import Any

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from .. import __version__
from ..redact import redact_text
from . import convert
from .config import SECTION
from .documents import uri_to_path
from .requests import code_action, code_lens, commands, diagnostic, hover
from .session import Session

NAME = "alembic-env-lsp"


class Protocol(LanguageServerProtocol):
    """pygls' protocol without its own copy of the text documents: `documents.py` keeps
    them (pygls re-splits the whole text on every incremental change, and splits lines at
    characters that LSP does not count as line breaks)."""

    def _execute_handler(self, msg_id, handler, callback, args=None, kwargs=None):
        """Work around a pygls 2.1 leak (docs/known-issues.md): a notification, and each step
        a generator handler yields to, runs under a fresh uuid4 in `_request_futures`, which
        only a response or a cancellation empties; neither comes for those, so every
        keystroke left a Future behind. Drop the entry once it finished. Requests (their
        callback sends the response) are left alone. Remove when pygls pops it itself."""
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        if _sends_a_response(callback, self):
            return
        future = self._request_futures.get(msg_id)
        if future is not None:
            future.add_done_callback(partial(self._forget_future, msg_id))

    def _forget_future(self, msg_id: Any, _future: Any) -> None:
        # Later on the loop, not now: pygls' shutdown cancels pending futures while it
        # iterates over `_request_futures` (the cancel runs this callback at once).
        try:
            asyncio.get_running_loop().call_soon(self._request_futures.pop, msg_id, None)
        except RuntimeError:  # a handler's own thread (@server.thread): no loop there
            self._request_futures.pop(msg_id, None)

    @lsp_method(t.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: t.DidOpenTextDocumentParams):
        if (handler := self.fm.features.get(t.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(t.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: t.DidChangeTextDocumentParams):
        if (handler := self.fm.features.get(t.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(t.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: t.DidCloseTextDocumentParams):
        if (handler := self.fm.features.get(t.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


def _sends_a_response(callback: Any, protocol: LanguageServerProtocol) -> bool:
    return isinstance(callback, partial) and callback.func == protocol._send_handler_result


class EnvServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            NAME,
            __version__,
            protocol_cls=Protocol,
            text_document_sync_kind=t.TextDocumentSyncKind.Incremental,
        )
        self.session: Session | None = None
        self._error_shown = False

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Every error goes to the log (redacted); at most one popup per session."""
        message = redact_text(
            f"{getattr(source, '__name__', source)}: {type(error).__name__}: {error}"
        )
        try:
            self.window_log_message(convert.log("error", message))
            if not self._error_shown:
                self._error_shown = True
                self.window_show_message(
                    convert.show(
                        "error",
                        "alembic-env: internal error; details are in the server log. The server keeps running.",
                    )
                )
        except Exception:  # the transport itself is gone
            pass


class _Port:
    """The session's view of the client."""

    def __init__(self, ls: EnvServer):
        self.ls = ls

    def publish(self, params) -> None:
        self.ls.text_document_publish_diagnostics(params)

    def log(self, level: str, message: str) -> None:
        self.ls.window_log_message(convert.log(level, redact_text(message)))

    def show(self, level: str, message: str) -> None:
        self.ls.window_show_message(convert.show(level, redact_text(message)))

    def refresh_diagnostics(self) -> None:
        _quietly(self.ls.workspace_diagnostic_refresh(None))

    def refresh_code_lens(self) -> None:
        _quietly(self.ls.workspace_code_lens_refresh(None))

    async def apply_edit(self, params):
        return await self.ls.workspace_apply_edit_async(params)


def _quietly(future) -> None:
    """A request whose answer does not matter: do not let a refusal become an error."""
    if future is not None and hasattr(future, "add_done_callback"):
        future.add_done_callback(lambda f: f.cancelled() or f.exception())


def _warm_up(session: Session) -> None:
    """Import the engine and load the driver table off the loop, before the first analysis."""
    try:
        import importlib

        from .. import drivers, engine, suppress  # noqa: F401
        from ..rules import all_rules

        all_rules()
        from .. import project  # noqa: F401  (the index itself is made on the loop, once)

        # what the first hover, code action and code lens need, so none pays for an import
        for name in ("hovers", "explain", "docs", "workspace"):
            importlib.import_module(f"..{name}", __package__)
        drivers.warm_up()
        # Everything imported so far lives for the whole session: keep it out of the cycle
        # collector's full passes, which otherwise scan it after every few analyses.
        import gc

        gc.freeze()
    except Exception as error:
        message = redact_text(f"warm-up failed: {type(error).__name__}: {error}")
        session.loop.call_soon_threadsafe(session.client.log, "warning", message)


def _start_warm_up(session: Session) -> None:
    threading.Thread(
        target=_warm_up, args=(session,), name="alembic-env-warm-up", daemon=True
    ).start()


def _alembic_project(folders: list[str]) -> bool:
    """An alembic.ini in a workspace folder or one level below it (a cheap look, no walk)."""
    import os

    for folder in folders:
        try:
            with os.scandir(folder) as entries:
                names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
        except OSError:
            continue
        if any(name == "alembic.ini" for name, _ in names):
            return True
        for name, is_dir in names:
            if (
                is_dir
                and not name.startswith(".")
                and os.path.isfile(os.path.join(folder, name, "alembic.ini"))
            ):
                return True
    return False


def _guarded(default):
    """Requests answer something harmless instead of failing; the error is logged."""

    def wrap(handler):
        async def run(ls: EnvServer, params):
            session = ls.session
            if session is None:
                return default
            try:
                return await handler(session, params)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                ls.report_server_error(error, "request")
                return default

        run.__name__ = handler.__name__
        return run

    return wrap


def create_server() -> EnvServer:
    server = EnvServer()

    @server.feature(t.INITIALIZE)
    def initialize(ls: EnvServer, params: t.InitializeParams) -> None:
        ls.session = Session(_Port(ls), asyncio.get_running_loop())
        ls.session.initialize(
            params.initialization_options,
            convert.ClientFeatures.of(params.capabilities),
            convert.Codec(ls.workspace.position_codec),
            convert.initial_folders(params),
        )

    @server.feature(t.INITIALIZED)
    async def initialized(ls: EnvServer, params: t.InitializedParams) -> None:
        session = ls.session
        if session is None:
            return
        if _alembic_project(session.settings.folders()):
            _start_warm_up(session)
        else:  # a workspace without alembic.ini pays nothing until an env script or ini opens
            session.on_first_alembic_file = lambda: _start_warm_up(session)
        features = session.features
        session.client.log(
            "info",
            f"{NAME} {__version__} on Python {sys.version.split()[0]}; positions in {session.codec.encoding}; "
            f"diagnostics {'pulled by the editor' if features.pull_diagnostics else 'pushed'}",
        )
        registrations = convert.registrations(
            watch=features.watch_dynamic,
            configuration=features.configuration_dynamic,
            section=SECTION,
        )
        if registrations is not None:
            try:
                await ls.client_register_capability_async(registrations)
            except Exception as error:
                session.client.log(
                    "warning", f"the editor refused to watch alembic.ini/pyproject.toml: {error}"
                )
        await _pull_configuration(ls)

    async def _pull_configuration(ls: EnvServer) -> None:
        session = ls.session
        if session is None or not session.features.configuration:
            return
        items, folders = session.settings.configuration_request()
        try:
            values = await ls.workspace_configuration_async(convert.configuration_request(items))
        except Exception as error:
            session.client.log(
                "warning", f"workspace/configuration failed: {error}; keeping the current settings"
            )
            return
        if session.apply_configuration(list(values or ()), folders):
            session.client.log("info", "settings changed: re-checking open files")
            session.settings_changed()

    @server.feature(t.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: EnvServer, params: t.DidChangeConfigurationParams
    ) -> None:
        session = ls.session
        if session is None:
            return
        if session.features.configuration:
            await _pull_configuration(ls)
        elif session.apply_pushed_settings(params.settings):
            session.client.log("info", "settings changed: re-checking open files")
            session.settings_changed()

    @server.feature(t.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_folders(ls: EnvServer, params: t.DidChangeWorkspaceFoldersParams) -> None:
        session = ls.session
        if session is None:
            return
        session.set_folders(convert.folders(ls.workspace.folders.values()))
        await _pull_configuration(ls)
        session.recheck_all()

    @server.feature(t.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: EnvServer, params: t.DidChangeWatchedFilesParams) -> None:
        if ls.session is None:
            return
        paths = [p for p in (uri_to_path(uri) for uri in convert.changed_files(params)) if p]
        if paths:
            ls.session.files_changed(paths)

    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: EnvServer, params: t.DidOpenTextDocumentParams) -> None:
        if ls.session is not None:
            doc = params.text_document
            ls.session.did_open(doc.uri, doc.language_id, doc.version, doc.text)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: EnvServer, params: t.DidChangeTextDocumentParams) -> None:
        if ls.session is not None:
            doc = params.text_document
            ls.session.did_change(doc.uri, doc.version, convert.content_changes(params))

    @server.feature(t.TEXT_DOCUMENT_DID_SAVE, convert.save_options())
    def did_save(ls: EnvServer, params: t.DidSaveTextDocumentParams) -> None:
        if ls.session is not None:
            ls.session.did_save(params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: EnvServer, params: t.DidCloseTextDocumentParams) -> None:
        if ls.session is not None:
            ls.session.did_close(params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DIAGNOSTIC, convert.diagnostic_options())
    @_guarded(None)
    async def pull_diagnostics(session: Session, params: t.DocumentDiagnosticParams):
        return await diagnostic.pull(session, params.text_document.uri, params.previous_result_id)

    @server.feature(t.TEXT_DOCUMENT_HOVER)
    @_guarded(None)
    async def on_hover(session: Session, params: t.HoverParams):
        return await hover.hover(session, params.text_document.uri, params.position)

    @server.feature(t.TEXT_DOCUMENT_CODE_ACTION, convert.code_action_options())
    @_guarded([])
    async def on_code_action(session: Session, params: t.CodeActionParams):
        return await code_action.code_actions(
            session, params.text_document.uri, params.range, convert.only_kinds(params)
        )

    @server.feature(t.CODE_ACTION_RESOLVE)
    async def resolve_code_action(ls: EnvServer, params: t.CodeAction):
        if ls.session is None:
            return params
        try:
            return await code_action.resolve(ls.session, params)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            ls.report_server_error(error, "request")
            return params

    @server.feature(t.TEXT_DOCUMENT_CODE_LENS)
    @_guarded([])
    async def on_code_lens(session: Session, params: t.CodeLensParams):
        return await code_lens.code_lens(session, params.text_document.uri)

    @server.command(convert.EXPLAIN_COMMAND)
    async def explain(ls, *args):
        if ls.session is None:
            return {"markdown": "", "summary": ""}
        return await commands.explain(ls.session, args[0] if args else None)

    @server.command(convert.CONVERT_COMMAND)
    async def convert_to_async(ls, *args):
        if ls.session is None:
            return {"applied": False, "reason": "the server is not initialized"}
        return await commands.convert_to_async(
            ls.session, args[0] if args else None, args[1] if len(args) > 1 else None
        )

    @server.command(convert.FIX_ALL_COMMAND)
    async def fix_all(ls, *args):
        if ls.session is None:
            return {"applied": False, "reason": "the server is not initialized"}
        return await commands.fix_all(ls.session, args[0] if args else None)

    @server.feature(t.SHUTDOWN)
    def shutdown(ls: EnvServer, params: None) -> None:
        if ls.session is not None:
            ls.session.shutdown()

    return server


class _RedactingStderr(logging.Handler):
    """pygls' own warnings go to stderr (the editor's server log), never with a password."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(redact_text(self.format(record)) + "\n")
            sys.stderr.flush()
        except Exception:
            pass


def _configure_logging() -> None:
    handler = _RedactingStderr()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # pygls logs every message it sends at INFO: keep that off (and unformatted).
    root.setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="alembic-env-lsp serve", description="Run the alembic-env language server."
    )
    parser.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    parser.add_argument(
        "--tcp", metavar="HOST:PORT", help="listen on a TCP port instead (for debugging)"
    )
    args = parser.parse_args(argv)
    _configure_logging()
    # Let the event loop take the GIL back quickly while the worker analyses a big file.
    sys.setswitchinterval(0.002)
    server = create_server()
    import gc

    gc.freeze()  # pygls and lsprotocol's types are permanent: not worth rescanning
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        try:
            port_number = int(port)
        except ValueError:
            parser.error(f"--tcp expects HOST:PORT, got {args.tcp!r}")
        server.start_tcp(host or "127.0.0.1", port_number)
    else:
        server.start_io()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
