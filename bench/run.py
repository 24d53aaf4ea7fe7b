#!/usr/bin/env python3
"""The benchmark suite (BENCHMARKS.md): the real server against the pygls + libcst floor, in one run.

    .venv/bin/python bench/run.py [--quick] [--update-doc] [--server-cmd "..."] [--only GROUP,...]

Drives `python -m alembic_env_lsp serve` over stdio with the vendored harness
(bench/lsp_bench.py), interleaved round by round with the floor server
(bench/floor_server.py --mode none / --mode parse), and times the CLI on a folder of
1,000 env.py files against (1,000 x one libcst parse) + one interpreter start.
All inputs are generated into a temporary folder and deleted afterwards.

Writes bench/out/results.json (every raw sample) and bench/out/report.md (the tables and
the budget verdicts); --update-doc also copies the report into BENCHMARKS.md between the
`bench:results` markers.  Nothing here asserts on timings: a missed budget is reported, the
exit status is 0 unless a measurement could not be taken.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_inputs import GROUP_FILE, prepare
from bench_report import LABEL, budgets, loadavg, machine, med, ratio, report, stats

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PY = sys.executable
HOVER_LINE, HOVER_COL = 73, 20  # on `async_engine_from_config(` in the 94-line sample
SERVERS = ("real", "none", "parse")
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"

# (runs per session, sessions per round, rounds, extra harness args) per group, full / quick
PLANS = {
    "full": {
        "life-a": (1, 3, 5, []),
        "steady-a": (50, 1, 2, ["--bursts", "3"]),
        "steady-sync": (50, 1, 2, ["--bursts", "1"]),
        "steady-1k": (30, 1, 1, ["--bursts", "2"]),
        "steady-5k": (20, 1, 1, ["--bursts", "2"]),
        "busy-5k": (20, 1, 1, ["--busy-hover"]),
        "big-50k": (20, 1, 2, []),
        "big-50k-incr": (20, 1, 2, ["--change-mode", "incremental"]),
        "push-a": (50, 1, 1, ["--diagnostics", "push", "--bursts", "3"]),
        "push-5k": (10, 1, 1, ["--diagnostics", "push", "--bursts", "3"]),
        "cli": 3,
        "soak": (12_000, 1_000),  # edit cycles, projects opened and closed (bench/soak.py)
    },
    "quick": {
        "life-a": (1, 1, 2, []),
        "steady-a": (10, 1, 1, ["--bursts", "1"]),
        "steady-sync": (10, 1, 1, ["--bursts", "1"]),
        "steady-1k": (5, 1, 1, ["--bursts", "1"]),
        "steady-5k": (4, 1, 1, ["--bursts", "1"]),
        "busy-5k": (4, 1, 1, ["--busy-hover"]),
        "big-50k": (5, 1, 1, []),
        "big-50k-incr": (5, 1, 1, ["--change-mode", "incremental"]),
        "push-a": (10, 1, 1, ["--diagnostics", "push", "--bursts", "1"]),
        "push-5k": (4, 1, 1, ["--diagnostics", "push", "--bursts", "1"]),
        "cli": 1,
        "soak": (1_500, 150),
    },
}
GROUPS = list(GROUP_FILE) + ["cli", "soak"]

T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[bench {time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# ---- LSP runs -----------------------------------------------------------------------------


class Runner:
    def __init__(self, tmp: Path, server_cmds: dict[str, list[str]], env: dict, stderr_log: Path):
        self.tmp = tmp
        self.cmds = server_cmds
        self.env = env
        self.stderr_log = stderr_log
        self.counter = 0

    def bench(
        self,
        server: str,
        file: Path,
        root: Path,
        runs: int,
        sessions: int,
        extra: list[str],
        timeout: float = 900,
    ) -> dict:
        self.counter += 1
        out = self.tmp / f"run{self.counter:04d}.json"
        argv = [
            PY,
            str(BENCH / "lsp_bench.py"),
            "--file",
            str(file),
            "--root",
            str(root),
            "--cwd",
            str(root),
            "--hover-line",
            str(HOVER_LINE),
            "--hover-col",
            str(HOVER_COL),
            "--runs",
            str(runs),
            "--sessions",
            str(sessions),
            "--json-out",
            str(out),
            "--no-table",
            "--timeout",
            "300",
            "--stderr",
            str(self.stderr_log),
            "--label",
            server,
            *extra,
            "--",
            *self.cmds[server],
        ]
        try:
            proc = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=self.env,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"errors": [f"harness timed out after {timeout}s"]}
        if out.exists():
            data = json.loads(out.read_text())
            out.unlink()
            return data
        return {"errors": [f"harness exit {proc.returncode}: {proc.stderr.strip()[-800:]}"]}


def merge(runs: list[dict]) -> dict:
    keys = ("startup", "open", "ttfd", "change", "hover", "codeAction", "busyHover", "burst")
    raw = {k: [x for r in runs for x in (r.get("raw") or {}).get(k, [])] for k in keys}
    tree = [x / 1024 for r in runs for x in r.get("raw_peak_rss_tree_kb", []) if x]
    own = [x / 1024 for r in runs for x in r.get("raw_peak_rss_kb", []) if x]
    init = [x / 1024 for r in runs for x in r.get("raw_rss_after_init_kb", []) if x]
    pubs = [x for r in runs for x in r.get("raw_burst_publishes", [])]
    first = runs[0] if runs else {}
    return {
        "ms": {k: stats(v) for k, v in raw.items()},
        "raw": raw,
        "peak_rss_tree_mb": stats(tree),
        "peak_rss_mb": stats(own),
        "rss_after_init_mb": stats(init),
        "burst_publishes": stats(pubs),
        "raw_burst_publishes": pubs,
        "raw_peak_rss_tree_mb": tree,
        "children": [r.get("children_peak_rss_kb") for r in runs if r.get("children_peak_rss_kb")],
        "diagnostics_mode": first.get("diagnostics_mode"),
        "server_info": first.get("server_info"),
        "diagnostics_on_open": first.get("diagnostics_on_open"),
        "hover_result": first.get("hover_result"),
        "codeAction_result": first.get("codeAction_result"),
        "notes": sorted({n for r in runs for n in r.get("notes", [])}),
        "errors": [e for r in runs for e in r.get("errors", [])],
    }


def run_group(runner: Runner, name: str, plan: tuple, files: dict, servers: list[str]) -> dict:
    runs, sessions, rounds, extra = plan
    path, root = files[GROUP_FILE[name]]
    if name.startswith("push-"):  # the real server with the client not offering pull diagnostics
        servers = [s for s in servers if s == "real"]
    if name.startswith("big-50k"):
        servers = [s for s in servers if s != "parse"] + (
            ["parse"] if "parse" in servers and runner.with_parse_50k else []
        )
    per: dict[str, list[dict]] = {s: [] for s in servers}
    for r in range(rounds):
        order = servers[r % len(servers) :] + servers[: r % len(servers)]
        for s in order:
            n_runs = runs
            if name == "big-50k" and s == "parse":
                n_runs = 2
            t = time.perf_counter()
            res = runner.bench(s, path, root, n_runs, sessions, extra)
            log(
                f"{name}: {LABEL[s]} round {r + 1}/{rounds} in {time.perf_counter() - t:.1f}s"
                + (f"  ERRORS {res.get('errors')}" if res.get("errors") else "")
            )
            per[s].append(res)
    return {s: merge(v) for s, v in per.items()}


# ---- CLI ----------------------------------------------------------------------------------


def wall(
    argv: list[str], env: dict, cwd: Path | None = None
) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd)
    return (time.perf_counter() - t) * 1000, p


def run_cli(folders: dict[str, Path], reps: int, env: dict) -> dict:
    """Interleaved: `python -c pass` x3, the CLI on each corpus, the libcst floor; `reps` rounds."""
    start = [PY, "-c", "pass"]
    floor = [PY, str(BENCH / "cli_floor.py"), str(folders["bare"])]
    out: dict = {
        "start_ms": [],
        "parse_sum_ms": [],
        "floor_wall_ms": [],
        "import_libcst_ms": [],
        "errors": [],
        "corpora": {},
    }
    for name in folders:
        out["corpora"][name] = {"cli_ms": []}
    # warm-up (page cache, .pyc, the drivers cache) on the bare corpus and the floor
    wall([PY, "-m", "alembic_env_lsp", "check", str(folders["bare"])], env)
    wall(floor, env)
    for r in range(reps):
        for _ in range(3):
            ms, _p = wall(start, env)
            out["start_ms"].append(ms)
        for name, folder in folders.items():
            ms, p = wall([PY, "-m", "alembic_env_lsp", "check", str(folder)], env)
            out["corpora"][name]["cli_ms"].append(ms)
            if r == 0:  # exit 1 = findings; anything else means the CLI failed
                out["corpora"][name].update(
                    exit=p.returncode, output_lines=len(p.stdout.splitlines())
                )
                if p.returncode not in (0, 1):
                    out["errors"].append(
                        f"CLI exit {p.returncode} on {name}: {p.stderr.strip()[-500:]}"
                    )
        ms, p = wall(floor, env)
        info = json.loads(p.stdout.strip().splitlines()[-1])
        out["files"] = info["files"]
        out["parse_sum_ms"].append(info["parse_ms_sum"])
        out["import_libcst_ms"].append(info["import_libcst_ms"])
        out["floor_wall_ms"].append(ms)
        log(
            f"cli: round {r + 1}/{reps}: "
            + ", ".join(f"CLI {n} {c['cli_ms'][-1]:.0f} ms" for n, c in out["corpora"].items())
            + f", floor parses {info['parse_ms_sum']:.0f} ms, python -c pass {out['start_ms'][-1]:.0f} ms"
        )
    for k in ("start_ms", "parse_sum_ms", "floor_wall_ms", "import_libcst_ms"):
        out[k + "_stats"] = stats(out[k])
    out["floor_ms"] = med(out["parse_sum_ms_stats"]) + med(out["start_ms_stats"])
    for c in out["corpora"].values():
        c["cli_ms_stats"] = stats(c["cli_ms"])
        c["ratio"] = ratio(med(c["cli_ms_stats"]), out["floor_ms"])
    return out


# ---- main ---------------------------------------------------------------------------------


def absolute(token: str) -> str:
    """Servers run with the project folder as cwd: make relative paths in a command absolute."""
    if (
        "/" in token
        and not token.startswith("-")
        and not os.path.isabs(token)
        and os.path.exists(token)
    ):
        return os.path.abspath(token)
    return token


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="few samples: a smoke run (~1-2 minutes)")
    ap.add_argument("--only", help="comma-separated groups: " + ",".join(GROUPS))
    ap.add_argument(
        "--server-cmd",
        help="command of the server under test "
        "(default: this interpreter -m alembic_env_lsp serve)",
    )
    ap.add_argument(
        "--with-parse-50k",
        action="store_true",
        help="also run floor --mode parse on the 50,000-line file (2 edits, ~30 s, ~900 MiB)",
    )
    ap.add_argument("--out", default=str(BENCH / "out"), help="output folder (default bench/out)")
    ap.add_argument(
        "--update-doc",
        action="store_true",
        help="copy the report into BENCHMARKS.md between the bench:results markers",
    )
    ap.add_argument("--keep-inputs", action="store_true", help="do not delete the generated inputs")
    args = ap.parse_args()

    plan_name = "quick" if args.quick else "full"
    plan = PLANS[plan_name]
    groups = args.only.split(",") if args.only else GROUPS
    unknown = set(groups) - set(GROUPS)
    if unknown:
        ap.error(f"unknown groups: {sorted(unknown)}")
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="alembic-env-lsp-bench-"))
    env = dict(os.environ)
    env["XDG_CACHE_HOME"] = str(tmp / "cache")  # a fresh cache: the first session fills it
    env.pop("PYTHONDEVMODE", None)
    # Measure the server as installed: with its .pyc files. (An editable install compiles on first
    # import, which PYTHONDONTWRITEBYTECODE=1 prevents; compiling the 15 modules `serve` imports
    # costs ~60 ms per start on this machine.) pip compiles regular installs at install time.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    import alembic_env_lsp

    pkg = Path(alembic_env_lsp.__file__).parent
    subprocess.run([PY, "-m", "compileall", "-q", str(pkg)], env=env, stdout=subprocess.DEVNULL)
    env["PYTHONUNBUFFERED"] = "0"
    real_cmd = (
        [absolute(t) for t in shlex.split(args.server_cmd)]
        if args.server_cmd
        else [PY, "-m", "alembic_env_lsp", "serve"]
    )
    cmds = {
        "real": real_cmd,
        "none": [PY, str(BENCH / "floor_server.py"), "--mode", "none"],
        "parse": [PY, str(BENCH / "floor_server.py"), "--mode", "parse"],
    }
    res: dict = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "plan": plan_name,
        "machine": machine(),
        "load_before": loadavg(),
        "cmds": cmds,
        "groups": {},
        "files": {},
    }
    try:
        log(f"generating inputs in {tmp}")
        files = prepare(tmp, groups)
        for g in GROUP_FILE:
            if GROUP_FILE[g] in files.get("_lines", {}):
                res["files"][g] = files["_lines"][GROUP_FILE[g]]
        runner = Runner(tmp, cmds, env, outdir / "server-stderr.log")
        runner.with_parse_50k = args.with_parse_50k
        (outdir / "server-stderr.log").write_text("")
        servers = list(SERVERS)
        lsp_groups = [g for g in groups if g in GROUP_FILE]
        if lsp_groups:
            # Probe + warm-up: the real server's first session runs with an empty cache.
            a_path, a_root = files["a"]
            probe = runner.bench("real", a_path, a_root, 1, 1, [], timeout=120)
            res["drivers_cache_after_probe"] = sorted(
                p.name for p in (tmp / "cache").rglob("*.json")
            )
            if probe.get("errors") or not (probe.get("raw") or {}).get("ttfd"):
                res["real_unavailable"] = (
                    f"`{' '.join(real_cmd)}` did not answer: "
                    f"{'; '.join(probe.get('errors') or ['no diagnostics'])[:400]}"
                )
                log(res["real_unavailable"])
                servers.remove("real")
            else:
                res["cold"] = {k: probe["raw"][k][0] for k in ("startup", "ttfd")}
                res["cold"]["peak_rss_tree_mb"] = (probe.get("raw_peak_rss_tree_kb") or [0])[
                    0
                ] / 1024
            # A session this short ends before the server's background warm-up has written the
            # drivers cache (it runs `python -m alembic_env_lsp.drivers --dump` and is killed with
            # the server), so fill the cache the way the server does, once, before measuring.
            warm = subprocess.run(
                [PY, "-c", "from alembic_env_lsp import drivers; print(drivers.warm_up())"],
                env=env,
                capture_output=True,
                text=True,
            )
            cached = sorted(p.name for p in (tmp / "cache").rglob("*.json"))
            res["drivers_cache"] = {
                "source": warm.stdout.strip(),
                "files": cached,
                "written_by_probe_session": res.get("drivers_cache_after_probe"),
            }
            log(f"drivers cache: {warm.stdout.strip() or warm.stderr.strip()[-200:]} -> {cached}")
            for s in servers:
                if s != "real":
                    runner.bench(s, a_path, a_root, 1, 1, [], timeout=120)
        for g in lsp_groups:
            load = loadavg()
            res["groups"][g] = run_group(runner, g, plan[g], files, servers)
            res.setdefault("group_load", {})[g] = f"{load} / {loadavg()}"
        if "cli" in groups:
            load = loadavg()
            res["cli"] = run_cli(files["cli"], plan["cli"], env)
            res["cli"]["load"] = f"{load} / {loadavg()}"
        if "soak" in groups and "real" in servers:
            import soak

            cycles, projects = plan["soak"]
            log(f"soak: {cycles:,} edit cycles (real, floor --mode none), {projects:,} projects")
            load = loadavg()
            soak_dir = tmp / "soak"
            soak_dir.mkdir()
            res["soak"] = soak.run(
                {"real": cmds["real"], "none": cmds["none"]},
                soak_dir,
                env,
                cycles=cycles,
                files=projects,
                every=max(50, cycles // 48),
                stderr_path=outdir / "server-stderr.log",
            )
            res["soak"]["load"] = f"{load} / {loadavg()}"
    finally:
        if args.keep_inputs:
            log(f"inputs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    res["load_after"] = loadavg()
    res["elapsed_s"] = time.perf_counter() - T0
    res["budgets"] = budgets(res)
    text = report(res)
    (outdir / "results.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    (outdir / "report.md").write_text(text)
    print(text)
    if args.update_doc:
        doc = REPO / "BENCHMARKS.md"
        body = doc.read_text() if doc.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
        if BEGIN in body and END in body:
            head, rest = body.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            doc.write_text(f"{head}{BEGIN}\n{text}{END}{tail}")
            log("BENCHMARKS.md updated")
        else:
            log("BENCHMARKS.md has no bench:results markers; not updated")
    log(f"wrote {outdir / 'report.md'} and {outdir / 'results.json'}")
    errors = [e for grp in res["groups"].values() for d in grp.values() for e in d["errors"]]
    errors += (res.get("cli") or {}).get("errors", [])
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
