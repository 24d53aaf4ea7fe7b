"""One measured session of the benchmark harness (bench/lsp_bench.py): spawn the server,
initialize, open the file, then time N changes, hovers and code actions (and typing bursts)
the way an editor sends them, and shut down.  Returns the raw samples; lsp_bench.py sums them up (lsp_report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

from lsp_client import Connection, ServerDied, client_capabilities, descendants, proc_status

EDIT_LINE = "# lsp_bench edit\n"


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
            body = change_body(uri, version, i, enc_variants, nlines, args.change_mode)
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
                body = change_body(uri, version, edit_no, enc_variants, nlines, args.change_mode)
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


def change_body(
    uri: str, version: int, edit_no: int, enc_variants: list[str], nlines: int, mode: str
) -> bytes:
    """The didChange of edit number `edit_no`, pre-encoded: odd edits add EDIT_LINE at the
    end of the file, even ones take it away (the whole text, or with mode "incremental" a
    ranged edit at the end)."""
    if mode == "full":
        change_json = '{"text": ' + enc_variants[edit_no % 2] + "}"
    elif edit_no % 2:  # append the comment line
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
    return (
        '{"jsonrpc": "2.0", "method": "textDocument/didChange", "params": '
        f'{{"textDocument": {{"uri": {json.dumps(uri)}, "version": {version:d}}}, '
        f'"contentChanges": [{change_json}]}}}}'
    ).encode()
