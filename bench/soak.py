#!/usr/bin/env python3
"""Memory over a day of editing: RSS slope per edit cycle, and the open/close run.

    .venv/bin/python bench/soak.py [--cycles 12000] [--files 1000] [--json-out FILE]

Two runs, each a real server process over stdio (the harness of bench/lsp_bench.py):

- edit soak: the 94-line async sample open in a project with alembic.ini; each cycle is one
  didChange (a comment line added / removed), the diagnostics of that version, a hover and a
  code action. VmRSS is sampled every `--every` cycles; the slope (least squares, KB per cycle)
  is fitted after the first 10% (imports, caches and the allocator's arenas settle there). The
  same run is made against the bare pygls floor (bench/floor_server.py --mode none: no analysis,
  an empty diagnostic list per version, a constant hover): its slope is what pygls itself costs.
- open/close: `--files` projects (alembic.ini + migrations/env.py each) in one workspace, a
  further project open all along; for each: open env.py, open its alembic.ini, switch the ini's
  driver (psycopg2 -> asyncpg), wait for env.py's new diagnostics, close both. RSS before the
  first and after the last, and the slope per file.

Budget (BENCHMARKS.md): growth at most 0.1 KB per edit cycle (1.2 MB over 12,000); the open/close
run back within a few MB of where it started. Nothing here asserts: run.py reports verdicts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from lsp_client import Connection, client_capabilities, proc_status  # noqa: E402

PY = sys.executable
SAMPLE = BENCH / "env_async_sample.py"
HOVER = {"line": 73, "character": 20}  # on `async_engine_from_config(` in the sample
SYNC_URL = "postgresql+psycopg2://app:secret@localhost/orders"
ASYNC_URL = "postgresql+asyncpg://app:secret@localhost/orders"
TIMEOUT = 30.0


def make_project(folder: Path, url: str) -> tuple[Path, Path]:
    (folder / "migrations").mkdir(parents=True, exist_ok=True)
    env = folder / "migrations" / "env.py"
    env.write_text(SAMPLE.read_text(encoding="utf-8").replace("orders", folder.name))
    ini = folder / "alembic.ini"
    ini.write_text(
        f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n",
        encoding="utf-8",
    )
    return env, ini


def slope_kb(samples: list[tuple[int, int]]) -> float:
    """Least-squares slope of (x, rss_kb) samples: KB per unit of x."""
    n = len(samples)
    if n < 2:
        return float("nan")
    mx = sum(x for x, _ in samples) / n
    my = sum(y for _, y in samples) / n
    sxx = sum((x - mx) ** 2 for x, _ in samples)
    sxy = sum((x - mx) * (y - my) for x, y in samples)
    return sxy / sxx if sxx else float("nan")


class Server:
    def __init__(self, cmd: list[str], root: Path, env: dict[str, str], stderr: Any) -> None:
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd=str(root),
        )
        self.root_uri = root.as_uri()
        self.conn = Connection(self.proc, self.root_uri, {})
        rid, _ = self.conn.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": self.root_uri,
                "workspaceFolders": [{"uri": self.root_uri, "name": "root"}],
                "capabilities": client_capabilities(False),  # pushed diagnostics
            },
        )
        _, msg = self.conn.wait_response(rid, TIMEOUT)
        if "error" in msg:
            raise RuntimeError(f"initialize failed: {msg['error']}")
        self.conn.notify("initialized", {})

    def rss_kb(self) -> int:
        return proc_status(self.proc.pid).get("VmRSS") or 0

    def publish(self, uri: str, version: int | None = None, *, empty: bool = False) -> dict:
        """The next publishDiagnostics for `uri` (of `version` or later when given; with no
        diagnostics when `empty`)."""

        def pred(m: dict) -> bool:
            if m.get("method") != "textDocument/publishDiagnostics":
                return False
            p = m.get("params") or {}
            v = p.get("version")
            if empty and p.get("diagnostics"):
                return False
            return p.get("uri") == uri and (version is None or v is None or v >= version)

        _, msg = self.conn.wait(pred, TIMEOUT)
        return msg

    def forget_unread(self) -> None:
        """What we did not wait for is not needed (and would pile up in the client)."""
        self.conn.stash.clear()

    def request(self, method: str, params: Any) -> dict:
        rid, _ = self.conn.request(method, params)
        _, msg = self.conn.wait_response(rid, TIMEOUT)
        return msg

    def open(self, path: Path, language: str) -> str:
        uri = path.as_uri()
        self.conn.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": language,
                    "version": 1,
                    "text": path.read_text(encoding="utf-8"),
                }
            },
        )
        return uri

    def change(self, uri: str, version: int, text: str) -> None:
        self.conn.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )

    def close(self, uri: str) -> None:
        self.conn.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def stop(self) -> None:
        try:
            rid, _ = self.conn.request("shutdown", None)
            self.conn.wait_response(rid, 10)
            self.conn.notify("exit", None)
            self.conn.drain()
            self.proc.wait(timeout=5)
        except Exception:
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()  # our own child, by its handle
                self.proc.wait()
            self.conn.outbox.put(None)


def edit_soak(
    cmd: list[str], tmp: Path, env: dict[str, str], cycles: int, every: int, stderr: Any
) -> dict:
    root = tmp / f"soak-{len(list(tmp.iterdir()))}"
    path, _ = make_project(root, ASYNC_URL)
    text = path.read_text(encoding="utf-8")
    server = Server(cmd, root, env, stderr)
    samples: list[tuple[int, int]] = []
    t0 = time.perf_counter()
    try:
        uri = server.open(path, "python")
        server.publish(uri, 1)
        samples.append((0, server.rss_kb()))
        rng = {"start": {"line": 70, "character": 0}, "end": {"line": 76, "character": 0}}
        doc = {"uri": uri}
        for cycle in range(1, cycles + 1):
            version = cycle + 1
            server.change(uri, version, text + ("# edited\n" if cycle % 2 else ""))
            server.publish(uri, version)
            server.request("textDocument/hover", {"textDocument": doc, "position": HOVER})
            server.request(
                "textDocument/codeAction",
                {"textDocument": doc, "range": rng, "context": {"diagnostics": []}},
            )
            server.forget_unread()
            if cycle % every == 0:
                samples.append((cycle, server.rss_kb()))
    finally:
        server.stop()
    settled = [s for s in samples if s[0] >= cycles // 10]
    return {
        "cycles": cycles,
        "seconds": time.perf_counter() - t0,
        "rss_start_mb": samples[0][1] / 1024,
        "rss_end_mb": samples[-1][1] / 1024,
        "slope_kb_per_cycle": slope_kb(settled),
        "samples": samples,
    }


def open_close(cmd: list[str], tmp: Path, env: dict[str, str], files: int, stderr: Any) -> dict:
    root = tmp / "many"
    main_env, _ = make_project(root / "main", ASYNC_URL)
    projects = [make_project(root / f"p{n:04d}", SYNC_URL) for n in range(files)]
    server = Server(cmd, root, env, stderr)
    samples: list[tuple[int, int]] = []
    t0 = time.perf_counter()
    try:
        main_uri = server.open(main_env, "python")
        server.publish(main_uri, 1)
        # warm-up: what any first file pays once (imports, the driver table) is not growth
        warm_env, _ = make_project(root / "warm", SYNC_URL)
        warm = server.open(warm_env, "python")
        server.publish(warm, 1)
        server.close(warm)
        server.publish(warm, empty=True)
        server.forget_unread()
        start = server.rss_kb()
        samples.append((0, start))
        for n, (env_path, ini_path) in enumerate(projects, 1):
            env_uri = server.open(env_path, "python")
            server.publish(env_uri, 1)
            ini_uri = server.open(ini_path, "ini")
            server.publish(ini_uri, 1)
            ini_text = ini_path.read_text(encoding="utf-8").replace(SYNC_URL, ASYNC_URL)
            server.change(ini_uri, 2, ini_text)
            server.publish(ini_uri, 2)
            server.publish(env_uri)  # env.py re-checked against the switched ini
            server.close(ini_uri)
            server.close(env_uri)
            server.publish(env_uri, empty=True)  # its diagnostics taken back
            server.forget_unread()
            if n % max(1, files // 20) == 0:
                samples.append((n, server.rss_kb()))
        end = server.rss_kb()
    finally:
        server.stop()
    return {
        "files": files,
        "seconds": time.perf_counter() - t0,
        "rss_start_mb": start / 1024,
        "rss_end_mb": end / 1024,
        "growth_mb": (end - start) / 1024,
        "slope_kb_per_file": slope_kb(samples[len(samples) // 5 :]),
        "samples": samples,
    }


def run(
    cmds: dict[str, list[str]],
    tmp: Path,
    env: dict[str, str],
    *,
    cycles: int,
    files: int,
    every: int,
    stderr_path: Path | None = None,
) -> dict:
    """Edit soak for every server in `cmds` (interleaved is not needed: one long run each),
    then the open/close run for "real"."""
    stderr: Any = open(stderr_path, "ab") if stderr_path else subprocess.DEVNULL
    out: dict[str, Any] = {"edit": {}, "errors": []}
    try:
        for name, cmd in cmds.items():
            try:
                out["edit"][name] = edit_soak(cmd, tmp, env, cycles, every, stderr)
            except (TimeoutError, RuntimeError, OSError) as error:
                out["errors"].append(f"edit soak of {name}: {type(error).__name__}: {error}")
        if "real" in cmds and files:
            try:
                out["open_close"] = open_close(cmds["real"], tmp, env, files, stderr)
            except (TimeoutError, RuntimeError, OSError) as error:
                out["errors"].append(f"open/close run: {type(error).__name__}: {error}")
    finally:
        if stderr is not subprocess.DEVNULL:
            stderr.close()
    return out


def report(soak: dict, labels: dict[str, str]) -> list[str]:
    lines = ["### Memory over a day of editing (soak)", ""]
    edit = soak.get("edit") or {}
    if edit:
        cycles = next(iter(edit.values()))["cycles"]
        lines += [
            f"Edit soak: {cycles:,} cycles (didChange + its diagnostics + hover + code action) on "
            "the 94-line async sample; VmRSS sampled along the run, slope fitted after the first 10%.",
            "",
            "| server | RSS at start (MB) | RSS at end (MB) | slope (KB / cycle) | time (s) |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, r in edit.items():
            lines.append(
                f"| {labels.get(name, name)} | {r['rss_start_mb']:.1f} | {r['rss_end_mb']:.1f} | "
                f"{r['slope_kb_per_cycle']:.3f} | {r['seconds']:.0f} |"
            )
        lines.append("")
    oc = soak.get("open_close")
    if oc:
        lines += [
            f"Open/close: {oc['files']:,} projects, each: open env.py and alembic.ini, switch the "
            "ini's driver, close both (one further project open all along).",
            "",
            "| RSS before (MB) | RSS after (MB) | growth (MB) | slope (KB / project) | time (s) |",
            "|---:|---:|---:|---:|---:|",
            f"| {oc['rss_start_mb']:.1f} | {oc['rss_end_mb']:.1f} | {oc['growth_mb']:+.1f} | "
            f"{oc['slope_kb_per_file']:.2f} | {oc['seconds']:.0f} |",
            "",
        ]
    for error in soak.get("errors") or []:
        lines.append(f"- error: {error}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cycles", type=int, default=12_000)
    ap.add_argument("--files", type=int, default=1_000)
    ap.add_argument("--every", type=int, default=250, help="sample RSS every N cycles")
    ap.add_argument("--only", help="comma-separated servers: real,none")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    cmds = {
        "real": [PY, "-m", "alembic_env_lsp", "serve"],
        "none": [PY, str(BENCH / "floor_server.py"), "--mode", "none"],
    }
    if args.only:
        cmds = {k: v for k, v in cmds.items() if k in args.only.split(",")}
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="alembic-env-lsp-soak-") as tmp:
        env["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        soak = run(cmds, Path(tmp), env, cycles=args.cycles, files=args.files, every=args.every)
    labels = {"real": "alembic-env-lsp", "none": "floor --mode none (bare pygls)"}
    print("\n".join(report(soak, labels)))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(soak, indent=1) + "\n")
    return 1 if soak["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
