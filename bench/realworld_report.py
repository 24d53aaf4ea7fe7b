"""The records and the report of bench/realworld.py: one record per env.py (findings, crashes,
the rewrite's outcome, what the server answered, timings), how a crash is described without
quoting the file (exception type and our frames only), and the summary printed at the end.
"""

from __future__ import annotations

import re
import statistics
import sys
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE_DIR = str(Path(__file__).resolve().parent.parent / "server" / "alembic_env_lsp")


# ---------------------------------------------------------------------- records


@dataclass
class Crash:
    stage: str  # check / fix / explain / server-open / server-hover / server-action / server-died
    head: str  # exception type and our frames, never the file's text


@dataclass
class FileRecord:
    name: str
    parses: bool = True
    findings: list[tuple[str, str, int]] = field(default_factory=list)  # code, severity, line
    crashes: list[Crash] = field(default_factory=list)
    rewrite: str = ""  # outcome class
    rewrite_detail: str = ""  # normalised reason / codes
    rewrite_problems: list[str] = field(default_factory=list)  # invariant violations
    explain: str = ""
    server: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def traceback_head(error: BaseException) -> str:
    """Exception type plus the frames in our package (file:line function): no message, which
    may quote the file."""
    frames = [
        f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith(PACKAGE_DIR)
    ]
    return f"{type(error).__name__} at " + " <- ".join(reversed(frames[-4:]))


def stderr_head(text: str) -> str:
    """From a traceback the CLI printed: the exception line's type and our frames."""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', text)
    ours = [f"{Path(f).name}:{n} {fn}" for f, n, fn in frames if f.startswith(PACKAGE_DIR)]
    kinds = re.findall(r"^(\w+(?:Error|Exception|Exit|Interrupt))\b", text, re.MULTILINE)
    if not kinds:
        kinds = re.findall(r"internal error: (?:analysis failed: )?(\w+)", text)
    kind = kinds[-1] if kinds else "internal error"
    where = re.findall(r" at (\w+\.py:\d+)", text) if not ours else []
    return f"{kind} at " + " <- ".join(reversed(ours[-4:]) if ours else where[:1])


# ---------------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(records: list[FileRecord], server_info: dict[str, Any]) -> dict[str, Any]:
    findings: dict[str, Counter[str]] = defaultdict(Counter)
    files_per_rule: dict[str, set[str]] = defaultdict(set)
    for record in records:
        for code, severity, _ in record.findings:
            findings[code][severity] += 1
            files_per_rule[code].add(record.name)
    rewrite = Counter(r.rewrite for r in records if r.rewrite)
    reasons = Counter(r.rewrite_detail for r in records if r.rewrite == "refused")
    leftover = Counter(r.rewrite_detail for r in records if r.rewrite.endswith("-with-errors"))
    problems = Counter(p for r in records for p in r.rewrite_problems)
    explain = Counter(r.explain for r in records if r.explain)
    timings = {}
    for stage in ("check", "fix", "explain", "open", "actions", "hover"):
        values = [r.seconds[stage] for r in records if stage in r.seconds]
        if values:
            timings[stage] = {
                "n": len(values),
                "median_ms": round(statistics.median(values) * 1000, 1),
                "p90_ms": round(percentile(values, 0.9) * 1000, 1),
                "max_ms": round(max(values) * 1000, 1),
            }
    hovers: Counter[str] = Counter()
    for record in records:
        for key in ("hovers", "hover_answered", "hover_empty", "hover_failed", "actions"):
            hovers[key] += record.server.get(key) or 0
    return {
        "files": len(records),
        "parse": sum(r.parses for r in records),
        "crashed_files": sum(bool(r.crashes) for r in records),
        "crashes": [(r.name, c.stage, c.head) for r in records for c in r.crashes],
        "findings": {code: dict(counts) for code, counts in sorted(findings.items())},
        "files_per_rule": {code: len(names) for code, names in sorted(files_per_rule.items())},
        "error_findings": sum(c.get("error", 0) for c in findings.values()),
        "rewrite": dict(rewrite),
        "refusals": dict(reasons),
        "rewrite_leftover_errors": dict(leftover),
        "rewrite_problems": dict(problems),
        "explain": dict(explain),
        "server": {**dict(hovers), **server_info},
        "timings": timings,
    }


def print_report(summary: dict[str, Any], out=sys.stdout) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"files: {summary['files']}  (Python parses {summary['parse']})")
    p(f"files with a crash: {summary['crashed_files']}")
    for name, stage, head in summary["crashes"]:
        p(f"  CRASH {stage:<14} {name}: {head}")
    p("\nfindings per rule (severity: count; files):")
    for code, counts in summary["findings"].items():
        text = ", ".join(f"{sev} {n}" for sev, n in sorted(counts.items()))
        p(f"  {code}  {text}; {summary['files_per_rule'][code]} files")
    p(f"  error-level findings: {summary['error_findings']}")
    p("\nfix --async outcomes:")
    for outcome, n in sorted(summary["rewrite"].items(), key=lambda kv: -kv[1]):
        p(f"  {n:4d}  {outcome}")
    if summary["refusals"]:
        p("  refused, by reason:")
        for reason, n in sorted(summary["refusals"].items(), key=lambda kv: -kv[1]):
            p(f"    {n:4d}  {reason}")
    if summary["rewrite_leftover_errors"]:
        p("  errors left after the rewrite (or in already-async files), by codes:")
        for codes, n in sorted(summary["rewrite_leftover_errors"].items(), key=lambda kv: -kv[1]):
            p(f"    {n:4d}  {codes}")
    if summary["rewrite_problems"]:
        p("  rewrite invariant violations:")
        for problem, n in summary["rewrite_problems"].items():
            p(f"    {n:4d}  {problem}")
    converted = sum(n for k, n in summary["rewrite"].items() if k.startswith("converted"))
    clean = summary["rewrite"].get("converted-and-clean", 0)
    refused = summary["rewrite"].get("refused", 0)
    attempts = converted + refused
    if attempts:
        p(f"  sync files converted and clean: {clean}/{attempts} ({100 * clean / attempts:.0f}%)")
    p("\nexplain PATH:")
    for outcome, n in summary["explain"].items():
        p(f"  {n:4d}  {outcome}")
    p("\nserver:")
    for key, n in summary["server"].items():
        p(f"  {key}: {n}")
    p("\ntimings per file (ms):")
    for stage, t in summary["timings"].items():
        p(
            f"  {stage:<8} median {t['median_ms']:8.1f}  p90 {t['p90_ms']:8.1f}  "
            f"max {t['max_ms']:8.1f}  (n={t['n']})"
        )


def print_comparison(old: dict[str, Any], new: dict[str, Any], out=sys.stdout) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p("\nbefore -> after")
    for key in ("files", "crashed_files", "error_findings"):
        p(f"  {key}: {old.get(key)} -> {new.get(key)}")
    codes = sorted(set(old["findings"]) | set(new["findings"]))
    for code in codes:
        before = sum(old["findings"].get(code, {}).values())
        after = sum(new["findings"].get(code, {}).values())
        if before != after:
            p(f"  {code}: {before} -> {after}")
    for outcome in sorted(set(old["rewrite"]) | set(new["rewrite"])):
        p(
            f"  fix --async {outcome}: {old['rewrite'].get(outcome, 0)} -> "
            f"{new['rewrite'].get(outcome, 0)}"
        )
