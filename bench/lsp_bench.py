#!/usr/bin/env python3
"""lsp_bench.py - a small, dependency-free latency benchmark for LSP servers.

(Vendored from the team's shared/tools/lsp_bench.py for `make bench`; local
changes: the `ttfd` metric, and per-session raw RSS / burst counts in
--json-out.  Everything else is unchanged.)

Python 3.11+ standard library only (subprocess + JSON-RPC over stdio with
Content-Length framing).  It drives one language server the way an editor
would and measures, in milliseconds:

  startup             process spawn -> `initialize` response
  open->diagnostics   textDocument/didOpen -> first publishDiagnostics for the
                      uri (push), or -> textDocument/diagnostic response (pull)
  ttfd                spawn -> those first diagnostics (time to first
                      diagnostics of a file opened right after initialize)
  change->diagnostics didChange (alternately append / remove a comment line,
                      version += 1) -> publishDiagnostics carrying that version
                      (push), or -> textDocument/diagnostic response (pull)
  hover               textDocument/hover round trip at --hover-line/--hover-col
  codeAction          textDocument/codeAction round trip over --range
  busyHover           (--busy-hover) hover sent immediately after each
                      didChange, i.e. while the server is analysing: shows
                      whether analysis blocks request handling (the extra
                      hover competes with the analysis, so change->diagnostics
                      from such a run is not comparable to a plain run)
  burst               (--bursts B) B simulated typing bursts of --burst-size
                      changes sent --burst-gap-ms apart without waiting;
                      latency from the LAST change of a burst to diagnostics
                      for that version, plus how many publishDiagnostics the
                      server sent per burst (= analyses it did not coalesce)
  peak RSS            VmHWM of the server process (read from /proc/PID/status
                      just before shutdown); child processes (e.g. a worker
                      pool) are listed in children_peak_rss_kb and added up
                      in peak_rss_tree_mb (an upper bound of the combined peak)

Each metric is reported as median / p90 / max (plus n, min and the first
sample).  One "session" = spawn, initialize, open, N changes, N hovers,
N codeActions, [B bursts], shutdown + exit.  --sessions K repeats the whole session K
times so that startup and open->diagnostics also get K samples.

Diagnostics mode (--diagnostics):
  auto (default)  the client advertises pull-diagnostic support; if the
                  server answers with a `diagnosticProvider` capability the
                  harness uses textDocument/diagnostic (pull) and says so,
                  otherwise it waits for textDocument/publishDiagnostics.
  push            the client does NOT advertise pull support and always waits
                  for publishDiagnostics (servers such as ruff then push).
  pull            like auto, but fail if the server has no diagnosticProvider.

Change mode (--change-mode): `full` (default) sends the whole document text in
every didChange; `incremental` sends a ranged edit at the end of the file.

Server -> client traffic: requests are answered at once with defaults
(workspace/configuration -> one --configuration-json value per item,
client/registerCapability, client/unregisterCapability,
window/workDoneProgress/create, window/showMessageRequest, */refresh -> null,
workspace/workspaceFolders -> the root folder, workspace/applyEdit ->
{"applied": false}, anything else -> null).  Notifications
(window/logMessage, $/progress, telemetry/event, ...) are counted and
ignored.  If the server does not advertise hoverProvider / codeActionProvider
the corresponding requests are skipped unless --force-requests is given (the
latency of the resulting error response is then a pure JSON-RPC round trip).

Output: the first stdout line is one JSON object (summary; add --raw to embed
every sample), followed by a human-readable table.  --json-out FILE also
writes the JSON (always with raw samples) to FILE.  Exit status is 0 when all
requested metrics were measured, 1 otherwise.

Examples:
  lsp_bench.py --file env.py --hover-line 73 --hover-col 20 -- ruff server
  lsp_bench.py --file env.py --runs 20 --sessions 5 -- fixit lsp
  lsp_bench.py --file env.py --diagnostics push -- ruff server
  lsp_bench.py --file big.py --change-mode incremental -- python my_server.py

Timing notes: timestamps are taken with time.perf_counter() when a message
is handed to the client's writer thread (like an editor, the client never
blocks on a full pipe, so a busy server's unread input counts as latency) and
immediately after the complete response body has been read (before JSON
decoding) by a dedicated reader thread.  Message bodies are pre-encoded, so client-side JSON encoding
of large documents is not counted.  Lines and columns are 0-based (LSP).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

EDIT_LINE = "# lsp_bench edit\n"


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


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def stats(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    s = sorted(samples)
    if len(s) >= 2:
        p90 = statistics.quantiles(s, n=10, method="inclusive")[8]
    else:
        p90 = s[0]
    return {
        "n": len(s),
        "median": round(statistics.median(s), 3),
        "p90": round(p90, 3),
        "max": round(s[-1], 3),
        "min": round(s[0], 3),
        "first": round(samples[0], 3),
    }


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


def parse_range(spec: str) -> dict:
    a, _, b = spec.partition("-")
    l1, c1 = (int(x) for x in a.split(":"))
    l2, c2 = (int(x) for x in b.split(":"))
    return {"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}}


def overlaps(diag: dict, rng: dict) -> bool:
    try:
        ds, de = diag["range"]["start"]["line"], diag["range"]["end"]["line"]
    except (KeyError, TypeError):
        return False
    return not (de < rng["start"]["line"] or ds > rng["end"]["line"])


# --------------------------------------------------------------------------
# one session
# --------------------------------------------------------------------------
def run_session(
    args: argparse.Namespace,
    cmd: list[str],
    text: str,
    uri: str,
    root_uri: str,
    hover_pos: dict,
    action_range: dict,
) -> dict:
    res: dict[str, Any] = {
        "startup": [],
        "open": [],
        "ttfd": [],
        "change": [],
        "hover": [],
        "codeAction": [],
        "busyHover": [],
        "burst": [],
        "burst_publishes": [],
        "errors": [],
        "notes": [],
    }
    stderr = open(args.stderr, "ab") if args.stderr else subprocess.DEVNULL
    env = dict(os.environ)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        cwd=args.cwd or None,
    )
    conn = Connection(proc, root_uri, json.loads(args.configuration_json), args.verbose)
    res["pid"] = proc.pid
    timeout = args.timeout
    try:
        want_pull_cap = args.diagnostics in ("auto", "pull")
        init_params = {
            "processId": os.getpid(),
            "clientInfo": {"name": "lsp_bench", "version": "1"},
            "rootUri": root_uri,
            "rootPath": args.root,
            "workspaceFolders": [{"uri": root_uri, "name": "root"}],
            "capabilities": client_capabilities(want_pull_cap),
            "initializationOptions": json.loads(args.init_options) if args.init_options else None,
            "trace": "off",
        }
        rid, _ = conn.request("initialize", init_params)
        t_init, msg = conn.wait_response(rid, timeout)
        res["startup"].append((t_init - t0) * 1000)
        if "error" in msg:
            raise RuntimeError(f"initialize failed: {msg['error']}")
        caps = msg.get("result", {}).get("capabilities", {}) or {}
        res["server_info"] = msg.get("result", {}).get("serverInfo")
        res["rss_after_init_kb"] = proc_status(proc.pid).get("VmRSS")
        conn.notify("initialized", {})

        pull = bool(caps.get("diagnosticProvider")) and want_pull_cap
        if args.diagnostics == "pull" and not pull:
            raise RuntimeError("--diagnostics pull but server has no diagnosticProvider")
        res["diagnostics_mode"] = "pull" if pull else "push"
        sync = caps.get("textDocumentSync")
        sync_kind = sync.get("change") if isinstance(sync, dict) else sync
        res["server_sync_kind"] = {0: "none", 1: "full", 2: "incremental"}.get(sync_kind, sync_kind)
        has_hover = bool(caps.get("hoverProvider"))
        has_action = bool(caps.get("codeActionProvider"))
        res["capabilities"] = {
            "hover": has_hover,
            "codeAction": has_action,
            "diagnosticProvider": bool(caps.get("diagnosticProvider")),
        }

        def pull_diag() -> tuple[float, dict]:
            prid, _ = conn.request("textDocument/diagnostic", {"textDocument": {"uri": uri}})
            return conn.wait_response(prid, timeout)

        def diag_count(msg: dict) -> int:
            if pull:
                return len((msg.get("result") or {}).get("items") or [])
            return len(msg["params"].get("diagnostics") or [])

        # ---- open ----------------------------------------------------------
        version = 0
        open_params = {
            "textDocument": {
                "uri": uri,
                "languageId": args.language_id,
                "version": version,
                "text": text,
            }
        }
        open_body = json.dumps(
            {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": open_params}
        ).encode()
        t_send = conn.notify("", body=open_body)
        if pull:
            t_recv, msg = pull_diag()
            conn.last_diags[uri] = (msg.get("result") or {}).get("items") or []
        else:
            t_recv, msg = conn.wait(_is_publish(uri, version), timeout)
            conn.on_other(msg)
        res["open"].append((t_recv - t_send) * 1000)
        res["ttfd"].append((t_recv - t0) * 1000)
        res["diagnostics_on_open"] = diag_count(msg)
        if not pull:
            res["publish_has_version"] = "version" in msg["params"]

        # ---- changes -------------------------------------------------------
        busy_hover = args.busy_hover and (has_hover or args.force_requests)
        if args.busy_hover and not busy_hover:
            res["notes"].append("--busy-hover ignored: server has no hoverProvider")
        nlines = text.count("\n")
        variants = [text, text + EDIT_LINE]
        enc_variants = [json.dumps(v) for v in variants]
        for i in range(1, args.runs + 1):
            version += 1
            if args.change_mode == "full":
                change_json = '{"text": ' + enc_variants[i % 2] + "}"
            elif i % 2:  # append the comment line
                change_json = json.dumps(
                    {
                        "range": {
                            "start": {"line": nlines, "character": 0},
                            "end": {"line": nlines, "character": 0},
                        },
                        "text": EDIT_LINE,
                    }
                )
            else:  # remove it again
                change_json = json.dumps(
                    {
                        "range": {
                            "start": {"line": nlines, "character": 0},
                            "end": {"line": nlines + 1, "character": 0},
                        },
                        "text": "",
                    }
                )
            body = (
                '{"jsonrpc": "2.0", "method": "textDocument/didChange", "params": '
                f'{{"textDocument": {{"uri": {json.dumps(uri)}, "version": {version:d}}}, '
                f'"contentChanges": [{change_json}]}}}}'
            ).encode()
            conn.stash.clear()  # everything older than this iteration is stale
            t_send = conn.notify("", body=body)
            if busy_hover:
                hid, t_hsend = conn.request(
                    "textDocument/hover", {"textDocument": {"uri": uri}, "position": hover_pos}
                )
            if pull:
                t_recv, msg = pull_diag()
                conn.last_diags[uri] = (msg.get("result") or {}).get("items") or []
            else:
                t_recv, msg = conn.wait(_is_publish(uri, version), timeout)
                conn.on_other(msg)
            res["change"].append((t_recv - t_send) * 1000)
            if busy_hover:
                t_hrecv, _ = conn.wait_response(hid, timeout)
                res["busyHover"].append((t_hrecv - t_hsend) * 1000)
            if args.interval_ms:
                time.sleep(args.interval_ms / 1000)
        # Make sure the document is back at the base text for hover/codeAction.
        if args.runs % 2:
            version += 1
            if args.change_mode == "full":
                change = {"text": text}
            else:
                change = {
                    "range": {
                        "start": {"line": nlines, "character": 0},
                        "end": {"line": nlines + 1, "character": 0},
                    },
                    "text": "",
                }
            conn.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
            )
            if pull:
                pull_diag()
            else:
                _, msg = conn.wait(_is_publish(uri, version), timeout)
                conn.on_other(msg)

        # ---- hover ---------------------------------------------------------
        if has_hover or args.force_requests:
            if not has_hover:
                res["notes"].append("hover forced although server lacks hoverProvider")
            hover_result_kind = None
            for _ in range(args.runs):
                rid, t_send = conn.request(
                    "textDocument/hover", {"textDocument": {"uri": uri}, "position": hover_pos}
                )
                t_recv, msg = conn.wait_response(rid, timeout)
                res["hover"].append((t_recv - t_send) * 1000)
                hover_result_kind = (
                    "error" if "error" in msg else "null" if msg.get("result") is None else "hover"
                )
            res["hover_result"] = hover_result_kind
        else:
            res["notes"].append("hover skipped: server has no hoverProvider")

        # ---- codeAction ----------------------------------------------------
        if has_action or args.force_requests:
            if not has_action:
                res["notes"].append("codeAction forced although server lacks codeActionProvider")
            diags = [d for d in conn.last_diags.get(uri, []) if overlaps(d, action_range)]
            n_actions = None
            for _ in range(args.runs):
                rid, t_send = conn.request(
                    "textDocument/codeAction",
                    {
                        "textDocument": {"uri": uri},
                        "range": action_range,
                        "context": {"diagnostics": diags, "triggerKind": 1},
                    },
                )
                t_recv, msg = conn.wait_response(rid, timeout)
                res["codeAction"].append((t_recv - t_send) * 1000)
                r = msg.get("result")
                n_actions = "error" if "error" in msg else (len(r) if isinstance(r, list) else r)
            res["codeAction_result"] = n_actions
        else:
            res["notes"].append("codeAction skipped: server has no codeActionProvider")

        # ---- typing bursts ---------------------------------------------------
        edit_no = args.runs + (args.runs % 2)  # document is at the base text here
        for _ in range(args.bursts):
            conn.stash.clear()
            pubs_before = conn.notifications.get("textDocument/publishDiagnostics", 0)
            for k in range(args.burst_size):
                version += 1
                edit_no += 1
                if args.change_mode == "full":
                    change_json = '{"text": ' + enc_variants[edit_no % 2] + "}"
                elif edit_no % 2:
                    change_json = json.dumps(
                        {
                            "range": {
                                "start": {"line": nlines, "character": 0},
                                "end": {"line": nlines, "character": 0},
                            },
                            "text": EDIT_LINE,
                        }
                    )
                else:
                    change_json = json.dumps(
                        {
                            "range": {
                                "start": {"line": nlines, "character": 0},
                                "end": {"line": nlines + 1, "character": 0},
                            },
                            "text": "",
                        }
                    )
                body = (
                    '{"jsonrpc": "2.0", "method": "textDocument/didChange", "params": '
                    f'{{"textDocument": {{"uri": {json.dumps(uri)}, "version": {version:d}}}, '
                    f'"contentChanges": [{change_json}]}}}}'
                ).encode()
                t_send = conn.notify("", body=body)
                if k < args.burst_size - 1:
                    time.sleep(args.burst_gap_ms / 1000)
            if pull:
                t_recv, msg = pull_diag()
            else:
                t_recv, msg = conn.wait(_is_publish(uri, version), timeout)
                conn.on_other(msg)
            res["burst"].append((t_recv - t_send) * 1000)
            # let stragglers (if any) arrive before counting analyses
            time.sleep(0.05)
            pubs = conn.notifications.get("textDocument/publishDiagnostics", 0) - pubs_before
            if not pull:
                res["burst_publishes"].append(pubs)
            # leave the document at the base text for the next burst
            if edit_no % 2:
                version += 1
                edit_no += 1
                conn.notify(
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": uri, "version": version},
                        "contentChanges": [{"text": text}]
                        if args.change_mode == "full"
                        else [
                            {
                                "range": {
                                    "start": {"line": nlines, "character": 0},
                                    "end": {"line": nlines + 1, "character": 0},
                                },
                                "text": "",
                            }
                        ],
                    },
                )
                if pull:
                    pull_diag()
                else:
                    _, msg = conn.wait(_is_publish(uri, version), timeout)
                    conn.on_other(msg)
            time.sleep(args.burst_pause_ms / 1000)

        # ---- memory --------------------------------------------------------
        st = proc_status(proc.pid)
        res["peak_rss_kb"] = st.get("VmHWM")
        res["rss_end_kb"] = st.get("VmRSS")
        res["threads"] = st.get("Threads")
        kids = descendants(proc.pid)
        if kids:
            res["children_peak_rss_kb"] = {k: proc_status(k).get("VmHWM") for k in kids}
        res["peak_rss_tree_kb"] = (res["peak_rss_kb"] or 0) + sum(
            v or 0 for v in res.get("children_peak_rss_kb", {}).values()
        )

        # ---- shutdown ------------------------------------------------------
        rid, _ = conn.request("shutdown", None)
        try:
            conn.wait_response(rid, 10)
        except TimeoutError:
            res["errors"].append("no shutdown response within 10s")
        conn.notify("exit", None)
        conn.drain()
        try:
            proc.wait(timeout=5)
            res["exit_code"] = proc.returncode
        except subprocess.TimeoutExpired:
            res["errors"].append("server did not exit within 5s of `exit`; killed")
    except TimeoutError:
        res["errors"].append(f"timeout ({timeout}s) waiting for the server")
    except (ServerDied, RuntimeError) as exc:
        res["errors"].append(str(exc))
    finally:
        if proc.poll() is None:
            proc.kill()  # only our own child, by its Popen handle
            proc.wait()
        conn.outbox.put(None)
        if stderr is not subprocess.DEVNULL:
            stderr.close()
    res["server_requests"] = dict(conn.server_requests)
    res["notifications"] = dict(conn.notifications)
    return res


def _is_publish(uri: str, version: int) -> Callable[[dict], bool]:
    def pred(m: dict) -> bool:
        if m.get("method") != "textDocument/publishDiagnostics":
            return False
        p = m.get("params") or {}
        if p.get("uri") != uri:
            return False
        v = p.get("version")
        return v is None or v >= version

    return pred


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        split = argv.index("--")
        argv, cmd = argv[:split], argv[split + 1 :]
    else:
        cmd = []
    ap = argparse.ArgumentParser(
        prog="lsp_bench.py",
        usage="%(prog)s --file FILE [options] -- SERVER_CMD [ARGS...]",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--file", required=True, help="document to open (read from disk)")
    ap.add_argument("--uri", help="document uri (default: file:// uri of --file)")
    ap.add_argument("--root", help="workspace root folder (default: the file's directory)")
    ap.add_argument(
        "--language-id", default="python", help="languageId for didOpen (default python)"
    )
    ap.add_argument(
        "--runs",
        type=int,
        default=50,
        help="number of didChange / hover / codeAction samples per session (default 50)",
    )
    ap.add_argument(
        "--sessions",
        type=int,
        default=1,
        help="repeat the whole server lifecycle K times (default 1)",
    )
    ap.add_argument("--hover-line", type=int, default=0, help="0-based hover line (default 0)")
    ap.add_argument(
        "--hover-col", type=int, default=0, help="0-based hover column, UTF-16 (default 0)"
    )
    ap.add_argument(
        "--range",
        dest="action_range",
        help="codeAction range L1:C1-L2:C2, 0-based (default: the whole hover line)",
    )
    ap.add_argument(
        "--diagnostics",
        choices=("auto", "push", "pull"),
        default="auto",
        help="diagnostics mode, see above (default auto)",
    )
    ap.add_argument(
        "--change-mode",
        choices=("full", "incremental"),
        default="full",
        help="didChange payload: whole text or a ranged edit (default full)",
    )
    ap.add_argument(
        "--interval-ms",
        type=float,
        default=0,
        help="sleep between consecutive didChange iterations (default 0)",
    )
    ap.add_argument(
        "--busy-hover",
        action="store_true",
        help="also send a hover right after every didChange (while the server is "
        "analysing) and report its latency as busyHover",
    )
    ap.add_argument(
        "--bursts",
        type=int,
        default=0,
        help="after the other metrics, simulate B typing bursts (default 0 = off)",
    )
    ap.add_argument(
        "--burst-size", type=int, default=10, help="didChange messages per burst (default 10)"
    )
    ap.add_argument(
        "--burst-gap-ms",
        type=float,
        default=100,
        help="gap between the changes of a burst, i.e. typing speed (default 100)",
    )
    ap.add_argument(
        "--burst-pause-ms", type=float, default=200, help="idle time between bursts (default 200)"
    )
    ap.add_argument(
        "--force-requests",
        action="store_true",
        help="send hover/codeAction even if the server does not advertise them",
    )
    ap.add_argument(
        "--timeout",
        type=float,
        default=120,
        help="seconds to wait for any single response (default 120)",
    )
    ap.add_argument("--init-options", help="JSON for initializationOptions")
    ap.add_argument(
        "--configuration-json",
        default="{}",
        help="JSON value returned per item for workspace/configuration (default {})",
    )
    ap.add_argument("--cwd", help="working directory for the server (default: inherit)")
    ap.add_argument("--stderr", help="append the server's stderr to this file (default: discard)")
    ap.add_argument("--label", help="free-form label copied into the JSON output")
    ap.add_argument("--json-out", help="also write the JSON result, with raw samples, to this file")
    ap.add_argument(
        "--raw", action="store_true", help="include raw samples in the stdout JSON line"
    )
    ap.add_argument("--no-table", action="store_true", help="print only the JSON line")
    ap.add_argument("-v", "--verbose", action="store_true", help="echo server messages to stderr")
    args = ap.parse_args(argv)
    if not cmd:
        ap.error("missing server command after `--`")

    path = Path(args.file).resolve()
    text = path.read_text(encoding="utf-8")
    normalised = False
    if not text.endswith("\n"):
        text += "\n"
        normalised = True
    args.root = str(Path(args.root).resolve()) if args.root else str(path.parent)
    root_uri = Path(args.root).as_uri()
    uri = args.uri or path.as_uri()
    hover_pos = {"line": args.hover_line, "character": args.hover_col}
    action_range = (
        parse_range(args.action_range)
        if args.action_range
        else {
            "start": {"line": args.hover_line, "character": 0},
            "end": {"line": args.hover_line + 1, "character": 0},
        }
    )

    sessions = [
        run_session(args, cmd, text, uri, root_uri, hover_pos, action_range)
        for _ in range(args.sessions)
    ]

    def gather(key: str) -> list[float]:
        return [x for s in sessions for x in s[key]]

    metrics = {
        k: gather(k)
        for k in ("startup", "open", "ttfd", "change", "hover", "codeAction", "busyHover", "burst")
    }
    peaks = [s.get("peak_rss_kb") for s in sessions if s.get("peak_rss_kb")]
    first = sessions[0]
    summary: dict[str, Any] = {
        "label": args.label,
        "cmd": cmd,
        "file": str(path),
        "lines": text.count("\n"),
        "bytes": len(text.encode()),
        "runs": args.runs,
        "sessions": args.sessions,
        "change_mode": args.change_mode,
        "diagnostics_mode": first.get("diagnostics_mode"),
        "server_sync_kind": first.get("server_sync_kind"),
        "server_info": first.get("server_info"),
        "capabilities": first.get("capabilities"),
        "diagnostics_on_open": first.get("diagnostics_on_open"),
        "publish_has_version": first.get("publish_has_version"),
        "hover_result": first.get("hover_result"),
        "codeAction_result": first.get("codeAction_result"),
        "ms": {k: stats(v) for k, v in metrics.items()},
        "burst": (
            {
                "size": args.burst_size,
                "gap_ms": args.burst_gap_ms,
                "publishes_per_burst": stats(
                    [float(x) for s in sessions for x in s["burst_publishes"]]
                ),
            }
            if args.bursts
            else None
        ),
        "peak_rss_mb": stats([p / 1024 for p in peaks]),
        "peak_rss_tree_mb": stats(
            [s["peak_rss_tree_kb"] / 1024 for s in sessions if s.get("peak_rss_tree_kb")]
        ),
        "rss_after_init_mb": stats(
            [s["rss_after_init_kb"] / 1024 for s in sessions if s.get("rss_after_init_kb")]
        ),
        "server_requests": first.get("server_requests"),
        "notifications": first.get("notifications"),
        "notes": sorted({n for s in sessions for n in s["notes"]}),
        "errors": [e for s in sessions for e in s["errors"]],
    }
    if normalised:
        summary["notes"].append("file had no trailing newline; one was added to the opened text")
    kids = [s["children_peak_rss_kb"] for s in sessions if s.get("children_peak_rss_kb")]
    if kids:
        summary["children_peak_rss_kb"] = kids
    full = dict(
        summary,
        raw={k: [round(x, 3) for x in v] for k, v in metrics.items()},
        raw_peak_rss_kb=peaks,
        raw_peak_rss_tree_kb=[s.get("peak_rss_tree_kb") for s in sessions],
        raw_rss_after_init_kb=[s.get("rss_after_init_kb") for s in sessions],
        raw_burst_publishes=[x for s in sessions for x in s["burst_publishes"]],
    )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(full, indent=1) + "\n")
    print(json.dumps(full if args.raw else summary), flush=True)
    if not args.no_table:
        print_table(summary)
    wanted = ["startup", "open", "change"]
    ok = not summary["errors"] and all(metrics[k] for k in wanted)
    return 0 if ok else 1


def print_table(s: dict) -> None:
    names = {
        "startup": "startup (spawn->initialize)",
        "open": f"open->diagnostics ({s['diagnostics_mode']})",
        "ttfd": "spawn->first diagnostics",
        "change": f"change->diagnostics ({s['diagnostics_mode']}, {s['change_mode']})",
        "hover": "hover",
        "codeAction": "codeAction",
        "busyHover": "hover sent right after didChange (busy)",
        "burst": "burst: last change->its diagnostics",
    }
    print()
    print(f"server : {' '.join(s['cmd'])}   {s.get('server_info') or ''}")
    print(
        f"file   : {s['file']} ({s['lines']} lines, {s['bytes']} bytes)  "
        f"runs={s['runs']} sessions={s['sessions']}"
    )
    print(f"{'metric':44} {'n':>5} {'median':>10} {'p90':>10} {'max':>10}  (ms)")
    for key, label in names.items():
        st = s["ms"][key]
        if key in ("busyHover", "burst") and not st.get("n"):
            continue
        if not st.get("n"):
            print(f"{label:44} {0:>5} {'-':>10} {'-':>10} {'-':>10}")
            continue
        print(
            f"{label:44} {st['n']:>5} {st['median']:>10.2f} {st['p90']:>10.2f} {st['max']:>10.2f}"
        )
    if s.get("burst"):
        b = s["burst"]
        pubs = b["publishes_per_burst"].get("median")
        print(
            f"bursts of {b['size']} changes every {b['gap_ms']} ms: diagnostics published "
            f"per burst median {'n/a (pull mode)' if pubs is None else pubs}"
        )
    pr = s["peak_rss_mb"]
    if pr.get("n"):
        print(
            f"{'peak RSS (VmHWM, MiB)':44} {pr['n']:>5} {pr['median']:>10.1f} "
            f"{pr['p90']:>10.1f} {pr['max']:>10.1f}"
        )
    pt = s.get("peak_rss_tree_mb") or {}
    if s.get("children_peak_rss_kb") and pt.get("n"):
        print(
            f"{'peak RSS incl. child processes (MiB)':44} {pt['n']:>5} {pt['median']:>10.1f} "
            f"{pt['p90']:>10.1f} {pt['max']:>10.1f}"
        )
    for n in s["notes"]:
        print(f"note   : {n}")
    for e in s["errors"]:
        print(f"ERROR  : {e}")
    if s.get("server_requests"):
        print(f"server->client requests answered: {s['server_requests']}")


if __name__ == "__main__":
    sys.exit(main())
