"""What the benchmark suite reports (bench/run.py): the statistics of the samples, the machine
they were taken on, each budget's verdict, and the Markdown report that goes to bench/out/report.md
and, with --update-doc, into BENCHMARKS.md.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LABEL = {"real": "alembic-env-lsp", "none": "floor --mode none", "parse": "floor --mode parse"}


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

    def add_ratio(name, value, floor, limit):
        """A budget `value ≤ limit × floor` (both in ms)."""
        add(
            name,
            f"{fmt(value, ' ms')} = {fmt_ratio(ratio(value, floor))} of {fmt(floor, ' ms')}",
            f"{limit}x",
            verdict(ratio(value, floor), limit, "x"),
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
    add_ratio("change→diagnostics, 94-line env.py ≤ 1.5× floor parse", r, p, 1.5)
    r, p = g("steady-sync", "real", "change"), g("steady-sync", "parse", "change")
    add_ratio(
        "(same budget, extra input) change→diagnostics, Alembic's generic template + asyncpg URL ≤ 1.5× floor parse",
        r,
        p,
        1.5,
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
    add_ratio("startup (spawn→initialize) ≤ 1.1× floor none", r, n, 1.1)
    r, p = g("life-a", "real", "ttfd"), g("life-a", "parse", "ttfd")
    add_ratio(
        "spawn→first diagnostics (open right after initialize) ≤ 1.05× floor parse", r, p, 1.05
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
    add_ratio("5,000-line env script: change→diagnostics ≤ 1.3× floor parse", r, p, 1.3)
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
        add_ratio(f"CLI, {what} ≤ 1.3× (1,000 libcst parses + one interpreter start)", r, f, 1.3)
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
