"""What the benchmark harness (bench/lsp_bench.py) reports: each metric's samples as
n / median / p90 / max / min / first, and the human-readable table printed after the JSON line.
"""

from __future__ import annotations

import statistics


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
