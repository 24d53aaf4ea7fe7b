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
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PY = sys.executable
HOVER_LINE, HOVER_COL = 73, 20  # on `async_engine_from_config(` in the 94-line sample
SERVERS = ("real", "none", "parse")
LABEL = {"real": "alembic-env-lsp", "none": "floor --mode none", "parse": "floor --mode parse"}
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"

# A module that uses SQLAlchemy but is not an env script (no `alembic.context`): the header of
# the 50,000-line file.  gen_big.py appends generated classes and functions to it.
NONENV_HEADER = '''"""Application models and helpers for the orders service (not a migration script)."""
from __future__ import annotations

import datetime as dt
import os

from sqlalchemy import DateTime, ForeignKey, Integer, MetaData, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+psycopg2://app@localhost/orders")
engine = create_engine(DATABASE_URL, pool_pre_ping=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={"pk": "pk_%(table_name)s"})


class Customer(Base):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    orders: Mapped[list["Order"]] = relationship(back_populates="customer")


class Order(Base):
    __tablename__ = "order"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    customer: Mapped[Customer] = relationship(back_populates="orders")
'''


def alembic_ini() -> str:
    """The benchmark project's ini: its URL plus the logging sections of Alembic's template."""
    from alembic_env_lsp.knowledge import template_logging_block

    head = (
        "[alembic]\nscript_location = %(here)s/migrations\nprepend_sys_path = .\n"
        "sqlalchemy.url = postgresql+asyncpg://app:secret@localhost/orders\n\n"
    )
    return head + template_logging_block()


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
GROUP_FILE = {
    "life-a": "a",
    "steady-a": "a",
    "steady-sync": "sync",
    "steady-1k": "k1",
    "steady-5k": "k5",
    "busy-5k": "k5",
    "big-50k": "c50",
    "big-50k-incr": "c50",
    "push-a": "a",
    "push-5k": "k5",
}
GROUPS = list(GROUP_FILE) + ["cli", "soak"]

T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[bench {time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# ---- statistics ---------------------------------------------------------------------------


def stats(xs: list[float]) -> dict:
    xs = [x for x in xs if x is not None]
    if not xs:
        return {"n": 0}
    s = sorted(xs)
    p90 = statistics.quantiles(s, n=10, method="inclusive")[8] if len(s) >= 2 else s[0]
    return {"n": len(s), "median": statistics.median(s), "p90": p90, "min": s[0], "max": s[-1]}


def med(st: dict | None) -> float | None:
    return st.get("median") if st and st.get("n") else None


def fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "–"
    if abs(x) >= 100:
        s = f"{x:,.0f}"
    elif abs(x) >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    return s + unit


def fmt_st(st: dict | None) -> str:
    if not st or not st.get("n"):
        return "–"
    return f"{fmt(st['median'])} / {fmt(st['p90'])}"


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r: float | None) -> str:
    return "–" if r is None else f"{r:.2f}x"


# ---- inputs -------------------------------------------------------------------------------


def gen_big(header: Path, out: Path, lines: int) -> None:
    subprocess.run(
        [PY, str(BENCH / "gen_big.py"), str(header), str(out), str(lines)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def make_project(root: Path, env_text: str) -> Path:
    (root / "migrations").mkdir(parents=True)
    (root / "alembic.ini").write_text(alembic_ini())
    env = root / "migrations" / "env.py"
    env.write_text(env_text)
    return env


def cli_templates() -> list[tuple[str, str]]:
    """The env.py texts the CLI folder is made of: the async sample plus Alembic's own templates."""
    out = [("sample", (BENCH / "env_async_sample.py").read_text())]
    try:
        import alembic

        tdir = Path(alembic.__file__).parent / "templates"
        for t in sorted(tdir.iterdir()):
            env = t / "env.py"
            if env.is_file():
                out.append((t.name, env.read_text()))
    except ImportError:
        pass
    return out


def prepare(tmp: Path, groups: list[str]) -> dict:
    sample = (BENCH / "env_async_sample.py").read_text()
    files: dict = {}
    files["a"] = (make_project(tmp / "a", sample), tmp / "a")
    if any(GROUP_FILE.get(g) == "sync" for g in groups):
        # Alembic's own `generic` template (engine_from_config + connect()) in a project whose
        # URL is postgresql+asyncpg: the mistake this product exists for, so ENV002 fires.
        generic = dict(cli_templates()).get("generic")
        if generic is not None:
            files["sync"] = (make_project(tmp / "sync", generic), tmp / "sync")
    big_env = tmp / "big_env_header.py"
    big_env.write_text(sample)
    if any(GROUP_FILE.get(g) == "k1" for g in groups):
        env = make_project(tmp / "k1", "")
        gen_big(big_env, env, 1000)
        files["k1"] = (env, tmp / "k1")
    if any(GROUP_FILE.get(g) == "k5" for g in groups):
        env = make_project(tmp / "k5", "")
        gen_big(big_env, env, 5000)
        files["k5"] = (env, tmp / "k5")
    if any(GROUP_FILE.get(g) == "c50" for g in groups):
        make_project(tmp / "c50", sample)
        (tmp / "c50" / "app").mkdir()
        header = tmp / "nonenv_header.py"
        header.write_text(NONENV_HEADER)
        big = tmp / "c50" / "app" / "bulk.py"
        gen_big(header, big, 50000)
        files["c50"] = (big, tmp / "c50")
    if "cli" in groups:
        # 1,000 env.py files, round-robin over the templates, each made unique by a first-line
        # comment, twice: bare (env.py files found because they import alembic's context) and
        # as 1,000 Alembic projects (alembic.ini + migrations/env.py, found through the ini).
        templates = cli_templates()
        for i in range(1000):
            name, text = templates[i % len(templates)]
            text = f"# project {i} ({name} template)\n{text}"
            (tmp / "cli-bare" / f"p{i:04d}").mkdir(parents=True)
            (tmp / "cli-bare" / f"p{i:04d}" / "env.py").write_text(text)
            make_project(tmp / "cli-projects" / f"p{i:04d}", text)
        files["cli"] = {"bare": tmp / "cli-bare", "projects": tmp / "cli-projects"}
    files["_lines"] = {
        key: v[0].read_text().count("\n")
        for key, v in files.items()
        if isinstance(v, tuple) and v[0].is_file()
    }
    return files


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


# ---- machine ------------------------------------------------------------------------------


def machine() -> dict:
    info: dict = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        info["nproc"] = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    except (OSError, ValueError):
        pass
    versions = {}
    for dist in (
        "alembic-env-lsp",
        "pygls",
        "lsprotocol",
        "cattrs",
        "libcst",
        "SQLAlchemy",
        "alembic",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    info["versions"] = versions
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "server"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        info["commit"] = rev + (" (server/ has local changes)" if dirty else "")
    except OSError:
        pass
    return info


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# ---- budgets ------------------------------------------------------------------------------


def verdict(value: float | None, limit: float | None, unit: str, kind: str = "max") -> tuple:
    """(met?, text): value vs limit; 'by how much' in the unit and in percent of the limit."""
    if value is None or limit is None:
        return None, "not measured"
    diff = value - limit
    pct = diff / limit * 100 if limit else 0
    if diff <= 0:
        return True, f"met ({fmt(abs(diff))}{unit} / {abs(pct):.0f}% headroom)"
    return False, f"**missed** by {fmt(diff)}{unit} ({pct:.0f}% over)"


def budgets(res: dict) -> list[dict]:
    out = []

    def add(name, value_txt, limit_txt, met_txt):
        met, txt = met_txt
        out.append(
            {"budget": name, "value": value_txt, "limit": limit_txt, "met": met, "verdict": txt}
        )

    def g(group, server, metric):
        try:
            return med(res["groups"][group][server]["ms"][metric])
        except KeyError:
            return None

    def rss(group, server):
        try:
            return med(res["groups"][group][server]["peak_rss_tree_mb"])
        except KeyError:
            return None

    def rss_max(group, server):
        try:
            return res["groups"][group][server]["peak_rss_tree_mb"].get("max")
        except KeyError:
            return None

    # change->diagnostics, 94 lines, <= 1.5x floor parse
    r, p = g("steady-a", "real", "change"), g("steady-a", "parse", "change")
    add(
        "change→diagnostics, 94-line env.py ≤ 1.5× floor parse",
        f"{fmt(r, ' ms')} = {fmt_ratio(ratio(r, p))} of {fmt(p, ' ms')}",
        "1.5x",
        verdict(ratio(r, p), 1.5, "x"),
    )
    r, p = g("steady-sync", "real", "change"), g("steady-sync", "parse", "change")
    add(
        "(same budget, extra input) change→diagnostics, Alembic's generic template + asyncpg URL ≤ 1.5× floor parse",
        f"{fmt(r, ' ms')} = {fmt_ratio(ratio(r, p))} of {fmt(p, ' ms')}",
        "1.5x",
        verdict(ratio(r, p), 1.5, "x"),
    )
    for metric in ("hover", "codeAction"):
        v = g("steady-a", "real", metric)
        add(f"{metric}, 94-line env.py ≤ 1 ms", fmt(v, " ms"), "1 ms", verdict(v, 1.0, " ms"))
    for metric in ("hover", "codeAction"):
        v = g("steady-5k", "real", metric)
        add(
            f"{metric}, 5,000-line env.py ≤ 1 ms (from the cached analysis)",
            fmt(v, " ms"),
            "1 ms",
            verdict(v, 1.0, " ms"),
        )
    r, n = g("life-a", "real", "startup"), g("life-a", "none", "startup")
    add(
        "startup (spawn→initialize) ≤ 1.1× floor none",
        f"{fmt(r, ' ms')} = {fmt_ratio(ratio(r, n))} of {fmt(n, ' ms')}",
        "1.1x",
        verdict(ratio(r, n), 1.1, "x"),
    )
    r, p = g("life-a", "real", "ttfd"), g("life-a", "parse", "ttfd")
    add(
        "spawn→first diagnostics (open right after initialize) ≤ 1.05× floor parse",
        f"{fmt(r, ' ms')} = {fmt_ratio(ratio(r, p))} of {fmt(p, ' ms')}",
        "1.05x",
        verdict(ratio(r, p), 1.05, "x"),
    )
    for grp_name, how in (("big-50k", "full-text edits"), ("big-50k-incr", "incremental edits")):
        v, n = g(grp_name, "real", "change"), g(grp_name, "none", "change")
        add(
            f"50,000-line non-env file, {how}: change→diagnostics ≤ 5 ms",
            f"{fmt(v, ' ms')} (floor none: {fmt(n, ' ms')}, {fmt_ratio(ratio(v, n))})",
            "5 ms",
            verdict(v, 5.0, " ms"),
        )
    r, n = rss("big-50k", "real"), rss("big-50k", "none")
    d = None if r is None or n is None else r - n
    add(
        "50,000-line non-env file: peak RSS within 5 MB of floor none",
        f"{fmt(r, ' MiB')} vs {fmt(n, ' MiB')} (Δ {fmt(d, ' MiB')})",
        "+5 MiB",
        verdict(d, 5.0, " MiB"),
    )
    r, p = g("steady-5k", "real", "change"), g("steady-5k", "parse", "change")
    add(
        "5,000-line env script: change→diagnostics ≤ 1.3× floor parse",
        f"{fmt(r, ' ms')} = {fmt_ratio(ratio(r, p))} of {fmt(p, ' ms')}",
        "1.3x",
        verdict(ratio(r, p), 1.3, "x"),
    )
    # Bursts: the last edit of a burst waits for at most the analysis already running plus its
    # own, i.e. <= 2 analyses (one analysis = the steady change->diagnostics median).
    b, c = g("steady-5k", "real", "burst"), g("steady-5k", "real", "change")
    try:
        pubs = med(res["groups"]["push-5k"]["real"]["burst_publishes"])
    except KeyError:
        pubs = None
    add(
        "5,000 lines, burst: last edit→its diagnostics ≤ 2 analyses (never queues behind more than one)",
        f"{fmt(b, ' ms')} = {fmt(ratio(b, c))} analyses of {fmt(c, ' ms')}"
        + (
            f"; {fmt(pubs)} diagnostics published per 10-edit burst (push run)"
            if pubs is not None
            else ""
        ),
        "2 analyses",
        verdict(ratio(b, c), 2.0, " analyses"),
    )
    # A hover sent right after a didChange answers from the analysis of that (current) version,
    # so it waits for that one analysis: compare with change->diagnostics of the same run.
    h, c2 = g("busy-5k", "real", "busyHover"), g("busy-5k", "real", "change")
    add(
        "5,000 lines: hover sent during an analysis waits ≤ that one analysis (+20% noise)",
        f"{fmt(h, ' ms')} = {fmt(ratio(h, c2))} analyses of {fmt(c2, ' ms')} (same run)",
        "1.2 analyses",
        verdict(ratio(h, c2), 1.2, " analyses"),
    )
    peaks = [x for x in (rss_max("steady-a", "real"), rss_max("life-a", "real")) if x is not None]
    v = max(peaks) if peaks else None
    add(
        "peak RSS (server + workers) over the 94-line runs ≤ 60 MB",
        fmt(v, " MiB"),
        "60 MiB",
        verdict(v, 60.0, " MiB"),
    )
    v = rss_max("steady-sync", "real")
    add(
        "(same budget, extra input) peak RSS over the generic-template + asyncpg run ≤ 60 MB",
        fmt(v, " MiB"),
        "60 MiB",
        verdict(v, 60.0, " MiB"),
    )
    cli = res.get("cli") or {}
    for name, what in (
        ("bare", "a folder of 1,000 env.py files"),
        ("projects", "1,000 projects (alembic.ini + migrations/env.py)"),
    ):
        c = (cli.get("corpora") or {}).get(name) or {}
        r, f = med(c.get("cli_ms_stats")), cli.get("floor_ms")
        add(
            f"CLI, {what} ≤ 1.3× (1,000 libcst parses + one interpreter start)",
            f"{fmt(r, ' ms')} = {fmt_ratio(ratio(r, f))} of {fmt(f, ' ms')}",
            "1.3x",
            verdict(ratio(r, f), 1.3, "x"),
        )
    # memory over a day of editing: flat, i.e. ≤ 0.1 KB per edit cycle
    edit = ((res.get("soak") or {}).get("edit") or {}).get("real")
    if edit:
        slope = edit["slope_kb_per_cycle"]
        floor = ((res["soak"].get("edit") or {}).get("none") or {}).get("slope_kb_per_cycle")
        add(
            f"RSS growth per edit cycle over {edit['cycles']:,} cycles ≤ 0.1 KB",
            f"{slope:.3f} KB"
            + (f" (bare pygls floor: {floor:.2f} KB)" if floor is not None else ""),
            "0.1 KB",
            verdict(slope, 0.1, " KB"),
        )
    oc = (res.get("soak") or {}).get("open_close")
    if oc:
        add(
            f"open/close {oc['files']:,} projects: RSS back within a few MB (≤ 5 MB)",
            f"{oc['growth_mb']:+.1f} MB",
            "5 MB",
            verdict(oc["growth_mb"], 5.0, " MB"),
        )
    return out


# ---- report -------------------------------------------------------------------------------

GROUP_TITLE = {
    "life-a": "Lifecycle, 94-line env.py (one session per sample)",
    "steady-a": "Steady state, 94-line env.py",
    "steady-sync": "Steady state, Alembic's `generic` template with an asyncpg URL (ENV002 fires)",
    "steady-1k": "Steady state, 1,000-line env script",
    "steady-5k": "Steady state, 5,000-line env script",
    "busy-5k": "Hover while a 5,000-line env script is being analysed (`--busy-hover`)",
    "big-50k": "50,000-line Python file that is not an env script, full-text didChange",
    "big-50k-incr": "50,000-line Python file that is not an env script, incremental didChange (what editors send to this server)",
    "push-a": "Push diagnostics (client without pull support), 94-line env.py",
    "push-5k": "Push diagnostics (client without pull support), 5,000-line env script",
}
GROUP_METRICS = {
    "life-a": ["startup", "open", "ttfd"],
    "steady-a": ["change", "hover", "codeAction", "burst"],
    "steady-sync": ["open", "change", "hover", "codeAction", "burst"],
    "steady-1k": ["open", "change", "hover", "codeAction", "burst"],
    "steady-5k": ["open", "change", "hover", "codeAction", "burst"],
    "busy-5k": ["change", "busyHover"],
    "big-50k": ["open", "change", "hover", "codeAction"],
    "big-50k-incr": ["open", "change", "hover", "codeAction"],
    "push-a": ["open", "change", "hover", "codeAction", "burst"],
    "push-5k": ["open", "change", "hover", "codeAction", "burst"],
}
METRIC_TITLE = {
    "startup": "startup",
    "open": "open→diag",
    "ttfd": "spawn→first diag",
    "change": "change→diag",
    "hover": "hover",
    "codeAction": "codeAction",
    "burst": "burst: last edit→diag",
    "busyHover": "hover during analysis",
}


def report(res: dict) -> str:
    m = res["machine"]
    L = []
    L.append(
        f"Run of {res['started']} ({res['plan']} plan, {res['elapsed_s']:.0f} s in all); "
        f"commit {m.get('commit')}; load average before/after: {res['load_before']} / "
        f"{res['load_after']}."
    )
    L.append("")
    L.append(
        f"Machine: {m.get('nproc')} CPUs ({m.get('cpu')}), {m.get('ram_gib')} GiB RAM, "
        f"Python {m.get('python')}, {m.get('platform')}.  Versions: "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + "."
    )
    L.append("")
    L.append(
        "Cells are **median / p90** in ms over all samples of the run; ratios are medians "
        "divided by the floor's median from the same group of interleaved runs."
    )
    if res.get("real_unavailable"):
        L.append("")
        L.append(f"**The real server was not measured**: {res['real_unavailable']}")
    cold = res.get("cold")
    if cold:
        L.append("")
        L.append(
            f"First session with an empty cache directory (drivers table not yet computed): "
            f"startup {fmt(cold.get('startup'), ' ms')}, spawn→first diagnostics "
            f"{fmt(cold.get('ttfd'), ' ms')}, peak RSS with children {fmt(cold.get('peak_rss_tree_mb'), ' MiB')} "
            "(not part of the budgets: every later start reads the cache).  Drivers cache files "
            f"after that session: {res.get('drivers_cache_after_probe') or 'none'}; the suite then "
            f"fills the cache itself: {(res.get('drivers_cache') or {}).get('files')}."
        )
    L.append("")
    L.append("### Budgets")
    L.append("")
    L.append("| budget | measured | limit | verdict |")
    L.append("|---|---|---|---|")
    for b in res["budgets"]:
        L.append(f"| {b['budget']} | {b['value']} | {b['limit']} | {b['verdict']} |")
    for name in GROUP_TITLE:
        grp = res["groups"].get(name)
        if not grp:
            continue
        L.append("")
        lines = res["files"].get(name)
        L.append(f"### {GROUP_TITLE[name]}" + (f" ({lines:,} lines)" if lines else ""))
        L.append("")
        metrics = GROUP_METRICS[name]
        head = ["server", "n"] + [METRIC_TITLE[k] for k in metrics] + ["peak RSS MiB (tree)"]
        if any(grp[s]["burst_publishes"].get("n") for s in grp):
            head.append("analyses per 10-edit burst")
        L.append("| " + " | ".join(head) + " |")
        L.append("|" + "---|" * len(head))
        for s, d in grp.items():
            ns = {d["ms"][k].get("n", 0) for k in metrics}
            row = [
                LABEL[s]
                + (f" ({d['diagnostics_mode']})" if d.get("diagnostics_mode") == "pull" else ""),
                "/".join(str(x) for x in sorted(ns)),
            ]
            row += [fmt_st(d["ms"][k]) for k in metrics]
            row.append(fmt_st(d["peak_rss_tree_mb"]) if d["peak_rss_tree_mb"].get("n") else "–")
            if len(head) > len(row):
                row.append(fmt(med(d["burst_publishes"])))
            L.append("| " + " | ".join(row) + " |")
            if d["errors"]:
                L.append(f"| ^ errors: {'; '.join(d['errors'])[:300]} |")
        if "real" in grp:
            rows = []
            for floor in ("none", "parse"):
                if floor not in grp:
                    continue
                cells = [
                    fmt_ratio(ratio(med(grp["real"]["ms"][k]), med(grp[floor]["ms"][k])))
                    for k in metrics
                ]
                cells.append(
                    fmt_ratio(
                        ratio(
                            med(grp["real"]["peak_rss_tree_mb"]),
                            med(grp[floor]["peak_rss_tree_mb"]),
                        )
                    )
                )
                if len(head) > len(cells) + 2:
                    cells.append("")
                rows.append(f"| real ÷ {LABEL[floor]} | | " + " | ".join(cells) + " |")
            L.extend(rows)
        notes = {n for d in grp.values() for n in d["notes"]}
        if res.get("group_load", {}).get(name):
            L.append("")
            L.append(f"Load average before / after this group: {res['group_load'][name]}.")
        info = grp.get("real")
        if info:
            L.append("")
            L.append(
                f"real server: diagnostics {info.get('diagnostics_mode')}, "
                f"{info.get('diagnostics_on_open')} diagnostics on open, hover result "
                f"`{info.get('hover_result')}`, codeAction result `{info.get('codeAction_result')}`"
                + (f"; worker processes seen: {info['children']}" if info.get("children") else "")
                + "."
            )
        for n in sorted(notes):
            L.append(f"note: {n}")
    cli = res.get("cli")
    if cli:
        L.append("")
        L.append(f"### CLI: `alembic-env-lsp check FOLDER`, {cli.get('files')} env.py files")
        L.append("")
        L.append(
            "`bare`: a folder of 1,000 env.py files (the async sample and Alembic's own templates, "
            "round-robin), found because they import alembic's context; `projects`: the same "
            "files as 1,000 Alembic projects, each an alembic.ini + migrations/env.py. "
            f"Load average before / after: {cli.get('load')}."
        )
        L.append("")
        L.append("| measurement | median / p90 (ms) | ÷ floor |")
        L.append("|---|---|---|")
        for name, c in cli["corpora"].items():
            L.append(
                f"| `python -m alembic_env_lsp check` {name} (wall) | {fmt_st(c['cli_ms_stats'])} "
                f"| {fmt_ratio(c['ratio'])} |"
            )
        L.append(
            f"| `python -c pass` (one interpreter start) | {fmt_st(cli['start_ms_stats'])} | |"
        )
        L.append(
            f"| 1,000 × `libcst.parse_module` (in-process sum, same files) | {fmt_st(cli['parse_sum_ms_stats'])} | |"
        )
        L.append(
            f"| **floor** = parses + interpreter start (medians) | {fmt(cli['floor_ms'])} | 1.00x |"
        )
        L.append(f"| (info) `import libcst` | {fmt_st(cli['import_libcst_ms_stats'])} | |")
        L.append(
            f"| (info) the whole floor process: read + import libcst + parse | {fmt_st(cli['floor_wall_ms_stats'])} | |"
        )
        if cli["errors"]:
            L.append(f"\nerrors: {cli['errors']}")
    if res.get("soak"):
        import soak

        L.append("")
        L.extend(soak.report(res["soak"], LABEL))
        L.append(f"Load average before / after: {res['soak'].get('load')}.")
    return "\n".join(L) + "\n"


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
