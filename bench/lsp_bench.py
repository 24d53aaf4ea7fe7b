#!/usr/bin/env python3
"""lsp_bench.py - a small, dependency-free latency benchmark for LSP servers.

(Vendored from the team's shared/tools/lsp_bench.py for `make bench`; local
changes: the `ttfd` metric, and per-session raw RSS / burst counts in
--json-out; split into this command line, lsp_client.py (the JSON-RPC client),
lsp_session.py (one measured session) and lsp_report.py (statistics, table).
Everything else is unchanged.)

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
import sys
from pathlib import Path
from typing import Any

from lsp_report import print_table, stats
from lsp_session import parse_range, run_session


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


if __name__ == "__main__":
    sys.exit(main())
