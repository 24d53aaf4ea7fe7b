"""The editor's end of the benchmark harness (bench/lsp_bench.py): JSON-RPC 2.0 over a server's
stdio with Content-Length framing, the capabilities a client advertises, and the server
process's memory as /proc reports it.  Standard library only.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


# --------------------------------------------------------------------------
# JSON-RPC connection
# --------------------------------------------------------------------------
class ServerDied(Exception):
    pass


class Connection:
    """JSON-RPC 2.0 over a subprocess's stdio with Content-Length framing."""

    def __init__(
        self, proc: subprocess.Popen, root_uri: str, config_value: Any, verbose: bool = False
    ) -> None:
        self.proc = proc
        self.root_uri = root_uri
        self.config_value = config_value
        self.verbose = verbose
        self.inbox: queue.Queue[tuple[float, dict | None]] = queue.Queue()
        self.write_lock = threading.Lock()
        self.next_id = 1
        self.server_requests: dict[str, int] = {}
        self.notifications: dict[str, int] = {}
        self.last_diags: dict[str, list] = {}
        self.stash: list[tuple[float, dict]] = []
        self.write_error: str | None = None
        self.outbox: queue.Queue[bytes | None] = queue.Queue()
        self.writer = threading.Thread(target=self._write_loop, daemon=True)
        self.writer.start()
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    # ---- low level -------------------------------------------------------
    def _write(self, body: bytes) -> float:
        """Queue one message for the writer thread; return the send timestamp.

        Like an editor, the client never blocks on a full pipe: a server that
        is busy (and not reading stdin) makes messages wait in this queue, and
        that wait is part of the measured latency."""
        if self.write_error:
            raise ServerDied(self.write_error)
        header = b"Content-Length: %d\r\n\r\n" % len(body)
        with self.write_lock:
            t = time.perf_counter()
            self.outbox.put(header + body)
        return t

    def _write_loop(self) -> None:
        while True:
            data = self.outbox.get()
            if data is None:
                return
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError) as exc:
                self.write_error = f"write failed: {exc}"
                return

    def drain(self, timeout: float = 10) -> None:
        """Wait until the writer thread has handed everything to the pipe."""
        deadline = time.perf_counter() + timeout
        while not self.outbox.empty() and time.perf_counter() < deadline:
            time.sleep(0.001)

    def _read_loop(self) -> None:
        out = self.proc.stdout
        try:
            while True:
                length = None
                while True:
                    line = out.readline()
                    if not line:
                        self.inbox.put((time.perf_counter(), None))
                        return
                    line = line.strip()
                    if not line:
                        if length is not None:
                            break
                        continue
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = out.read(length)
                t = time.perf_counter()
                if len(body) < length:
                    self.inbox.put((t, None))
                    return
                msg = json.loads(body)
                if self.verbose:
                    print(f"<- {body[:300]!r}", file=sys.stderr)
                if "method" in msg and "id" in msg:
                    self._answer_server_request(msg)
                    continue
                if "method" in msg:
                    m = msg["method"]
                    self.notifications[m] = self.notifications.get(m, 0) + 1
                self.inbox.put((t, msg))
        except Exception as exc:  # pragma: no cover - diagnostic aid
            print(f"lsp_bench: reader thread error: {exc!r}", file=sys.stderr)
            self.inbox.put((time.perf_counter(), None))

    def _answer_server_request(self, msg: dict) -> None:
        method = msg["method"]
        self.server_requests[method] = self.server_requests.get(method, 0) + 1
        params = msg.get("params") or {}
        result: Any = None
        if method == "workspace/configuration":
            result = [self.config_value for _ in params.get("items", [])]
        elif method == "workspace/workspaceFolders":
            result = [{"uri": self.root_uri, "name": "root"}]
        elif method == "workspace/applyEdit":
            result = {"applied": False}
        # client/registerCapability, client/unregisterCapability,
        # window/workDoneProgress/create, window/showMessageRequest,
        # workspace/*/refresh, window/showDocument(-> null is fine) ...
        reply = {"jsonrpc": "2.0", "id": msg["id"], "result": result}
        try:
            self._write(json.dumps(reply).encode())
        except ServerDied:
            pass

    # ---- high level ------------------------------------------------------
    def notify(self, method: str, params: Any = None, body: bytes | None = None) -> float:
        if body is None:
            body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params}).encode()
        return self._write(body)

    def request(self, method: str, params: Any = None) -> tuple[int, float]:
        rid = self.next_id
        self.next_id += 1
        body = json.dumps(
            {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        ).encode()
        return rid, self._write(body)

    def wait(self, pred: Callable[[dict], bool], timeout: float) -> tuple[float, dict]:
        """Return (arrival_time, msg) of the first message matching pred.

        Non-matching messages are passed to self.on_other(); responses and
        publishDiagnostics are also stashed so that a later wait() can still
        find them (needed when two answers are outstanding at once)."""
        for idx, (t, msg) in enumerate(self.stash):
            if pred(msg):
                del self.stash[idx]
                return t, msg
        deadline = time.perf_counter() + timeout
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError
            try:
                t, msg = self.inbox.get(timeout=remaining)
            except queue.Empty:
                raise TimeoutError from None
            if msg is None:
                raise ServerDied("server closed its stdout")
            if pred(msg):
                return t, msg
            self.on_other(msg)
            if "id" in msg or msg.get("method") == "textDocument/publishDiagnostics":
                self.stash.append((t, msg))

    def wait_response(self, rid: int, timeout: float) -> tuple[float, dict]:
        return self.wait(lambda m: m.get("id") == rid and "method" not in m, timeout)

    def on_other(self, msg: dict) -> None:
        if msg.get("method") == "textDocument/publishDiagnostics":
            p = msg.get("params") or {}
            self.last_diags[p.get("uri")] = p.get("diagnostics") or []


def proc_status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key in ("VmHWM", "VmRSS", "Threads"):
                    out[key] = int(val.split()[0])
    except OSError:
        pass
    return out


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                data = f.read()
            ppid = int(data.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    result, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            result.append(c)
            todo.append(c)
    return result


def client_capabilities(pull: bool) -> dict:
    td: dict[str, Any] = {
        "synchronization": {
            "dynamicRegistration": False,
            "didSave": True,
            "willSave": False,
            "willSaveWaitUntil": False,
        },
        "publishDiagnostics": {
            "relatedInformation": True,
            "versionSupport": True,
            "codeDescriptionSupport": True,
            "dataSupport": True,
        },
        "hover": {"dynamicRegistration": False, "contentFormat": ["markdown", "plaintext"]},
        "codeAction": {
            "dynamicRegistration": False,
            "isPreferredSupport": True,
            "dataSupport": True,
            "resolveSupport": {"properties": ["edit"]},
            "codeActionLiteralSupport": {
                "codeActionKind": {
                    "valueSet": [
                        "",
                        "quickfix",
                        "refactor",
                        "refactor.extract",
                        "refactor.inline",
                        "refactor.rewrite",
                        "source",
                        "source.organizeImports",
                        "source.fixAll",
                    ]
                }
            },
        },
    }
    if pull:
        td["diagnostic"] = {"dynamicRegistration": False, "relatedDocumentSupport": False}
    return {
        "general": {"positionEncodings": ["utf-16"]},
        "textDocument": td,
        "window": {"workDoneProgress": True, "showMessage": {}},
        "workspace": {
            "configuration": True,
            "workspaceFolders": True,
            "applyEdit": False,
            "didChangeConfiguration": {"dynamicRegistration": False},
            "diagnostics": {"refreshSupport": False},
        },
    }
