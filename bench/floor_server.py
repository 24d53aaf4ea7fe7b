"""(Vendored unchanged from the team's shared/tools/floor_server.py for `make bench`.)

Floor pygls 2.x + libcst language server for latency anchors.

On didOpen/didChange it (optionally) parses the document with libcst and
publishes an EMPTY diagnostic list for the document version; hover returns a
constant, codeAction returns [].

  --mode none      no parsing at all (pure pygls/JSON-RPC overhead)
  --mode parse     libcst.parse_module(source)                    (default)
  --mode metadata  parse + MetadataWrapper + resolve PositionProvider and
                   QualifiedNameProvider (what an alias-aware checker needs)
  --skip-copy      MetadataWrapper(module, unsafe_skip_copy=True)
  --thread         run the analysis in pygls' thread pool (@server.thread())
  --lazy           import libcst on first use instead of at startup
  --sync full      advertise TextDocumentSyncKind.Full (default incremental)
  --coalesce       latest-wins: handlers only record "uri is dirty"; one worker
                   thread analyses the newest text and drops intermediate
                   versions (no timer, no debounce delay)
  --debounce S     timer debounce of S seconds (like fixit/pylsp), 0 = off
  --process        latest-wins, but the analysis runs in a 1-worker process
                   pool forked at startup (the worker imports libcst in the
                   background; the server process never imports it), so the
                   event loop stays free while a big file is analysed
  --chatty         exercise server->client traffic (harness self-test): after
                   `initialized` ask workspace/configuration,
                   client/registerCapability, window/workDoneProgress/create,
                   workspace/workspaceFolders, window/showMessageRequest, and
                   send window/logMessage on every change
"""

import argparse
import sys
import time

from lsprotocol import types
from pygls.lsp.server import LanguageServer

ap = argparse.ArgumentParser()
ap.add_argument("--mode", choices=("none", "parse", "metadata"), default="parse")
ap.add_argument("--skip-copy", action="store_true")
ap.add_argument("--thread", action="store_true")
ap.add_argument("--lazy", action="store_true")
ap.add_argument("--sync", choices=("full", "incremental"), default="incremental")
ap.add_argument("--coalesce", action="store_true")
ap.add_argument("--chatty", action="store_true")
ap.add_argument("--process", action="store_true")
ap.add_argument("--debounce", type=float, default=0.0)
ap.add_argument("--log-timing", action="store_true", help="log analysis time to stderr")
args = ap.parse_args()

if not args.lazy and not args.process and args.mode != "none":
    import libcst  # noqa: F401
    import libcst.metadata  # noqa: F401

sync_kind = (
    types.TextDocumentSyncKind.Full
    if args.sync == "full"
    else types.TextDocumentSyncKind.Incremental
)
server = LanguageServer("floor-server", "0.1", text_document_sync_kind=sync_kind)


def analyse(source: str) -> None:
    if args.mode == "none":
        return
    import libcst

    module = libcst.parse_module(source)
    if args.mode == "metadata":
        from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

        wrapper = MetadataWrapper(module, unsafe_skip_copy=args.skip_copy)
        wrapper.resolve_many([PositionProvider, QualifiedNameProvider])


def validate(ls: LanguageServer, uri: str, version: int) -> None:
    doc = ls.workspace.get_text_document(uri)
    t = time.perf_counter()
    analyse(doc.source)
    if args.log_timing:
        print(
            f"analyse {uri} v{version}: {(time.perf_counter() - t) * 1000:.1f} ms",
            file=sys.stderr,
            flush=True,
        )
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=[], version=version)
    )


def _warm_worker() -> None:
    import libcst
    import libcst.metadata  # noqa: F401

    libcst.parse_module("x = 1\n")


def _analyse_in_worker(source: str) -> int:
    analyse(source)
    return 0


if args.process:
    import asyncio
    import concurrent.futures
    import multiprocessing

    # fork now, before pygls starts any thread; the worker warms up in parallel
    _pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("fork")
    )
    _pool.submit(_warm_worker)
    _pdirty: dict = {}
    _prunning = [False]

    async def _process_loop() -> None:
        loop = asyncio.get_running_loop()
        try:
            while _pdirty:
                uri, _ = _pdirty.popitem()
                doc = server.workspace.get_text_document(uri)
                version, source = doc.version, doc.source
                await loop.run_in_executor(_pool, _analyse_in_worker, source)
                server.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(uri=uri, diagnostics=[], version=version)
                )
        finally:
            _prunning[0] = False

    def schedule(ls: LanguageServer, uri: str, version: int) -> None:
        _pdirty[uri] = version
        if not _prunning[0]:
            _prunning[0] = True
            asyncio.get_running_loop().create_task(_process_loop())
elif args.coalesce:
    import threading

    _dirty: dict = {}
    _cv = threading.Condition()

    def _worker() -> None:
        while True:
            with _cv:
                while not _dirty:
                    _cv.wait()
                uri, _ = _dirty.popitem()
            doc = server.workspace.get_text_document(uri)
            version, source = doc.version, doc.source
            analyse(source)
            server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[], version=version)
            )

    threading.Thread(target=_worker, daemon=True).start()

    def schedule(ls: LanguageServer, uri: str, version: int) -> None:
        with _cv:
            _dirty[uri] = version
            _cv.notify()
elif args.debounce > 0:
    import threading

    _timers: dict = {}

    def schedule(ls: LanguageServer, uri: str, version: int) -> None:
        old = _timers.get(uri)
        if old is not None:
            old.cancel()
        t = threading.Timer(
            args.debounce, lambda: validate(ls, uri, ls.workspace.get_text_document(uri).version)
        )
        _timers[uri] = t
        t.start()
else:
    schedule = validate


def _did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    schedule(ls, params.text_document.uri, params.text_document.version)


def _did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    schedule(ls, params.text_document.uri, params.text_document.version)


if args.thread:
    _did_open = server.thread()(_did_open)
    _did_change = server.thread()(_did_change)
server.feature(types.TEXT_DOCUMENT_DID_OPEN)(_did_open)
server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(_did_change)

if args.chatty:

    @server.feature(types.INITIALIZED)
    async def _initialized(ls: LanguageServer, params: types.InitializedParams) -> None:
        cfg = await ls.workspace_configuration_async(
            types.ConfigurationParams(
                items=[
                    types.ConfigurationItem(section="envpy"),
                    types.ConfigurationItem(section="x"),
                ]
            )
        )
        await ls.client_register_capability_async(
            types.RegistrationParams(
                registrations=[
                    types.Registration(
                        id="1",
                        method="workspace/didChangeWatchedFiles",
                        register_options={"watchers": [{"globPattern": "**/*.py"}]},
                    )
                ]
            )
        )
        await ls.window_work_done_progress_create_async(
            types.WorkDoneProgressCreateParams(token="bench")
        )
        folders = await ls.workspace_workspace_folders_async(None)
        choice = await ls.window_show_message_request_async(
            types.ShowMessageRequestParams(type=types.MessageType.Info, message="hello", actions=[])
        )
        ls.window_log_message(
            types.LogMessageParams(
                type=types.MessageType.Log,
                message=f"chatty: configuration={cfg!r} folders={folders!r} choice={choice!r}",
            )
        )

    _inner_schedule = schedule

    def schedule(ls: LanguageServer, uri: str, version: int) -> None:  # noqa: F811
        ls.window_log_message(
            types.LogMessageParams(type=types.MessageType.Log, message=f"change {uri} v{version}")
        )
        _inner_schedule(ls, uri, version)


HOVER = types.Hover(
    contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="floor-server")
)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: LanguageServer, params: types.HoverParams) -> types.Hover:
    return HOVER


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION)
def code_action(ls: LanguageServer, params: types.CodeActionParams) -> list:
    return []


if __name__ == "__main__":
    server.start_io()
