#!/usr/bin/env python3
"""Where the time goes: profile the server (over stdio, through the harness) or the engine.

    .venv/bin/python bench/profile.py server [--input a|sync|k1|k5|c50] [--profiler pyinstrument|py-spy]
                                             [--runs N] [--busy-hover] [--bursts B] [--startup]
    .venv/bin/python bench/profile.py engine [--input a|sync|k1|k5|c50] [--repeat N]
    .venv/bin/python bench/profile.py imports          # -X importtime of `serve` up to initialize
    .venv/bin/python bench/profile.py trace [--input k5] [--bursts 2] [--runs 4]
                                             # timeline: didChange arrivals, analyses, pull answers

`server` wraps `python -m alembic_env_lsp serve` in pyinstrument (main thread, 1 ms samples) or
py-spy (all threads and worker processes: `--subprocesses`), drives it with bench/lsp_bench.py
on a generated input, and writes the profile to bench/out/profile-<input>-<profiler>.txt.
`engine` times alembic_env_lsp.engine.analyze() in-process and prints a pyinstrument tree.
Needs `pip install pyinstrument py-spy` in the venv (not a project dependency).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from bench_inputs import prepare  # noqa: E402

PY = sys.executable


def inputs(tmp: Path, key: str) -> tuple[Path, Path]:
    group = {
        "a": "steady-a",
        "sync": "steady-sync",
        "k1": "steady-1k",
        "k5": "steady-5k",
        "c50": "big-50k",
    }[key]
    files = prepare(tmp, [group])
    return files[key]


def cmd_server(args) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="alembic-env-lsp-prof-"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        path, root = inputs(tmp, args.input)
        prof = out / f"profile-{args.input}-{args.profiler}.txt"
        serve = [PY, "-m", "alembic_env_lsp", "serve"]
        if args.profiler == "pyinstrument":
            wrapped = [
                PY,
                "-m",
                "pyinstrument",
                "-i",
                "0.0005",
                "-r",
                "text",
                "--show-all",
                "-o",
                str(prof),
                "-m",
                "alembic_env_lsp",
                "serve",
            ]
        else:
            pyspy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
            wrapped = [
                pyspy,
                "record",
                "--subprocesses",
                "--threads",
                "-r",
                "1000",
                "-f",
                "raw",
                "-o",
                str(prof),
                "--",
                *serve,
            ]
        env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"))
        if not args.startup:  # fill the drivers cache first so the profile shows steady work
            subprocess.run(
                [
                    PY,
                    str(BENCH / "lsp_bench.py"),
                    "--file",
                    str(path),
                    "--root",
                    str(root),
                    "--runs",
                    "1",
                    "--no-table",
                    "--",
                    *serve,
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=root,
            )
        argv = [
            PY,
            str(BENCH / "lsp_bench.py"),
            "--file",
            str(path),
            "--root",
            str(root),
            "--cwd",
            str(root),
            "--hover-line",
            "73",
            "--hover-col",
            "20",
            "--runs",
            str(args.runs),
            "--timeout",
            "600",
        ]
        if args.busy_hover:
            argv.append("--busy-hover")
        if args.bursts:
            argv += ["--bursts", str(args.bursts)]
        subprocess.run([*argv, "--", *wrapped], env=env, cwd=root)
        if args.profiler == "py-spy" and prof.exists():
            summarize_collapsed(prof, args.min_pct)
        elif prof.exists():
            print(prof.read_text()[: args.chars])
        print(f"\nprofile written to {prof}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def summarize_collapsed(path: Path, min_pct: float = 1.5, max_depth: int = 40) -> None:
    """py-spy's raw (collapsed) stacks -> a top-down tree of the frames with >= min_pct of the
    samples (per process and thread), skipping the frames that only pass the call on."""
    tree: dict = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        try:
            n = int(count)
        except ValueError:
            continue
        total += n
        node = tree
        for frame in stack.split(";"):
            entry = node.setdefault(frame, [0, {}])
            entry[0] += n
            node = entry[1]
    print(f"{total} samples (1 ms each, busy threads only); frames >= {min_pct}%:")

    def walk(node: dict, depth: int, parent_n: int) -> None:
        for frame, (n, kids) in sorted(node.items(), key=lambda kv: -kv[1][0]):
            if n / max(total, 1) * 100 < min_pct or depth > max_depth:
                continue
            # collapse chains of single children with the same count (plumbing)
            label = frame
            while len(kids) == 1 and next(iter(kids.values()))[0] == n and depth < max_depth:
                frame, (n, kids) = next(iter(kids.items()))
                label = frame
            print(f"{n:7d} {n / max(total, 1) * 100:5.1f}%  {'  ' * depth}{label[:140]}")
            walk(kids, depth + 1, n)

    walk(tree, 0, total)


def cmd_trace(args) -> int:
    """Run bench/traced_server.py under the harness and print its timeline (see that file)."""
    tmp = Path(tempfile.mkdtemp(prefix="alembic-env-lsp-prof-"))
    try:
        path, root = inputs(tmp, args.input)
        log = tmp / "trace.log"
        env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"))
        argv = [
            PY,
            str(BENCH / "lsp_bench.py"),
            "--file",
            str(path),
            "--root",
            str(root),
            "--cwd",
            str(root),
            "--runs",
            str(args.runs),
            "--bursts",
            str(args.bursts),
            "--stderr",
            str(log),
            "--hover-line",
            "73",
            "--hover-col",
            "20",
            "--",
            PY,
            str(BENCH / "traced_server.py"),
        ]
        subprocess.run(argv, env=env)
        lines = log.read_text().splitlines()
        print("\n".join(lines))
        changes = [float(x.split()[1]) for x in lines if x.startswith("change ")]
        gaps = [b - a for a, b in zip(changes, changes[1:], strict=False)]
        an = [float(x.split()[3]) for x in lines if x.startswith("analyze ")]
        if an:
            print(
                f"\n{len(an)} analyses, median {statistics.median(an):.1f} ms, max {max(an):.1f} ms; "
                f"didChange arrival gaps: max {max(gaps, default=0):.0f} ms (the client sends bursts "
                "100 ms apart: a larger gap is time the event loop could not read its input)"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def cmd_engine(args) -> int:
    from alembic_env_lsp.engine import analyze
    from pyinstrument import Profiler

    tmp = Path(tempfile.mkdtemp(prefix="alembic-env-lsp-prof-"))
    try:
        path, _root = inputs(tmp, args.input)
        text = path.read_text()
        analyze(text, str(path))  # warm: imports, rule registry, drivers table
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            analyze(text, str(path))
            times.append((time.perf_counter() - t) * 1000)
        print(
            f"analyze({args.input}, {text.count(chr(10))} lines): median {statistics.median(times):.2f} ms, "
            f"min {min(times):.2f} ms over {len(times)}"
        )
        # Cycle-collector pauses inside analyze(): gen, ms and objects examined per collection.
        import gc

        pauses: list[tuple[int, float]] = []
        started: list[float] = []

        def on_gc(phase: str, info: dict) -> None:
            if phase == "start":
                started.append(time.perf_counter())
            elif started:
                pauses.append((info["generation"], (time.perf_counter() - started.pop()) * 1000))

        gc.callbacks.append(on_gc)
        try:
            per_call = []
            for _ in range(args.repeat):
                pauses.clear()
                t = time.perf_counter()
                analyze(text, str(path))
                per_call.append(((time.perf_counter() - t) * 1000, list(pauses)))
        finally:
            gc.callbacks.remove(on_gc)
        gc_ms = [sum(ms for _, ms in p) for _, p in per_call]
        worst = max(per_call, key=lambda c: sum(ms for _, ms in c[1]))
        print(
            f"cycle collector inside analyze(): median {statistics.median(gc_ms):.2f} ms per call "
            f"({statistics.median(gc_ms) / statistics.median([c[0] for c in per_call]) * 100:.0f}% of it); "
            f"worst call {worst[0]:.1f} ms with collections {[(g, round(ms, 1)) for g, ms in worst[1]]}"
        )
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(args.repeat):
            analyze(text, str(path))
        profiler.stop()
        print(profiler.output_text(unicode=True, show_all=False)[: args.chars])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def cmd_imports(args) -> int:
    """Import time of the server's startup path (median of --repeat runs of -X importtime), and
    the wall-clock difference to the floor's imports, interleaved."""
    code = "import alembic_env_lsp.cli, alembic_env_lsp.lsp.server"
    floor = "import argparse, lsprotocol.types, pygls.lsp.server"
    per: dict[str, list[tuple[int, int]]] = {}
    walls: dict[str, list[float]] = {"server": [], "floor": []}
    for _ in range(args.repeat):
        p = subprocess.run([PY, "-X", "importtime", "-c", code], capture_output=True, text=True)
        if p.returncode:
            print(p.stderr[-2000:])
            return p.returncode
        for line in p.stderr.splitlines():
            if not line.startswith("import time:") or "cumulative" in line:
                continue
            head, cum_us, name = line.split("|", 2)
            per.setdefault(name.rstrip(), []).append((int(cum_us), int(head.split(":", 1)[1])))
        for label, c in (("server", code), ("floor", floor)):
            t = time.perf_counter()
            subprocess.run([PY, "-c", c], check=True)
            walls[label].append((time.perf_counter() - t) * 1000)
    rows = sorted(
        (
            (statistics.median(c for c, _ in v), statistics.median(s for _, s in v), k)
            for k, v in per.items()
        ),
        reverse=True,
    )
    print(
        f"wall: `{code}` {statistics.median(walls['server']):.0f} ms, `{floor}` "
        f"{statistics.median(walls['floor']):.0f} ms (medians of {args.repeat}, interleaved)"
    )
    print(f"{'cumulative ms':>13} {'self ms':>8}  module (medians)")
    for cum, self_, name in rows[: args.top]:
        print(f"{cum / 1000:13.1f} {self_ / 1000:8.1f}  {name}")
    own = sorted(
        (
            (statistics.median(s for _, s in v), k.strip())
            for k, v in per.items()
            if k.strip().startswith("alembic_env_lsp")
        ),
        reverse=True,
    )
    print(
        "\nthe project's own modules, self time (ms):",
        ", ".join(f"{k} {v / 1000:.1f}" for v, k in own),
    )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("server")
    s.add_argument("--input", default="a", choices=("a", "sync", "k1", "k5", "c50"))
    s.add_argument("--profiler", default="pyinstrument", choices=("pyinstrument", "py-spy"))
    s.add_argument("--runs", type=int, default=200)
    s.add_argument("--busy-hover", action="store_true")
    s.add_argument("--bursts", type=int, default=0)
    s.add_argument("--startup", action="store_true", help="profile a cold start (empty cache)")
    s.add_argument("--out", default=str(BENCH / "out"))
    s.add_argument("--chars", type=int, default=20000)
    s.add_argument("--min-pct", type=float, default=1.5, help="py-spy tree: hide smaller frames")
    c = sub.add_parser("tree", help="print the tree of an existing py-spy raw profile")
    c.add_argument("file")
    c.add_argument("--min-pct", type=float, default=1.5)
    e = sub.add_parser("engine")
    e.add_argument("--input", default="a", choices=("a", "sync", "k1", "k5", "c50"))
    e.add_argument("--repeat", type=int, default=50)
    e.add_argument("--chars", type=int, default=12000)
    tr = sub.add_parser("trace")
    tr.add_argument("--input", default="k5", choices=("a", "sync", "k1", "k5", "c50"))
    tr.add_argument("--runs", type=int, default=4)
    tr.add_argument("--bursts", type=int, default=2)
    i = sub.add_parser("imports")
    i.add_argument("--top", type=int, default=40)
    i.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    if args.what == "tree":
        summarize_collapsed(Path(args.file), args.min_pct)
        return 0
    return {"server": cmd_server, "engine": cmd_engine, "imports": cmd_imports, "trace": cmd_trace}[
        args.what
    ](args)


if __name__ == "__main__":
    sys.exit(main())
