#!/usr/bin/env python3
"""Run the tool over a folder of real-world env.py files the way a user would, and report
what broke.

    .venv/bin/python bench/realworld.py DIR [--json-out FILE] [--compare OLD.json]
                                            [--hover-every N] [--no-server] [--limit N]

DIR holds env scripts laid out as projects (DIR/<name>/<script dir>/env.py, with or
without an alembic.ini beside the script dir), or a `projects/` folder of them; every
env.py below it is one file of the run. For each file:

- `check --format json` (in process, the CLI's own code path): findings, internal errors;
- `fix --async` on a copy of the project (beside an alembic.ini with an aiosqlite URL when it
  has none), then `check` of the result: converted-and-clean / converted-with-errors /
  already async / refused (reason) / crashed; the result must parse, keep every comment
  and be stable under a second `fix --async`;
- `explain PATH`: must not crash, must not call a file Python parses unparseable;
- the real language server over stdio (pygls's client): open the file, wait for its
  diagnostics, code actions over the whole file; on every Nth file a hover on every
  identifier; a server that dies is restarted and the file counted as a crash.

Prints crashes (with the head of the traceback: exception type and our frames only),
findings per rule, rewrite outcomes by reason and timings (median per file). Nothing of the
files' text is printed beyond their names; --json-out keeps the per-file records.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import io
import json
import re
import shutil
import sys
import tempfile
import time
import tokenize
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))

from alembic_env_lsp import cli  # noqa: E402
from realworld_report import (  # noqa: E402
    Crash,
    FileRecord,
    print_comparison,
    print_report,
    stderr_head,
    summarise,
    traceback_head,
)
from realworld_server import stage_server  # noqa: E402

INTERNAL = "INTERNAL"
AIOSQLITE_URL = "sqlite+aiosqlite:///realworld-bench.db"


# ---------------------------------------------------------------------- discovery


def env_scripts(root: Path) -> list[Path]:
    base = root / "projects" if (root / "projects").is_dir() else root
    found = [
        path
        for path in base.rglob("env.py")
        if not any(part.startswith(".") for part in path.relative_to(base).parts)
    ]
    return sorted(found)


def display_name(root: Path, env: Path) -> str:
    base = root / "projects" if (root / "projects").is_dir() else root
    return str(env.relative_to(base))


def project_root(env: Path, stop: Path) -> Path:
    """The folder holding alembic.ini (or pyproject.toml) above the script dir; else the
    script dir's parent."""
    for folder in (env.parent.parent, env.parent, *env.parent.parent.parents):
        if (folder / "alembic.ini").is_file() or (folder / "pyproject.toml").is_file():
            return folder
        if folder == stop:
            break
    return env.parent.parent


# ---------------------------------------------------------------------- the CLI, in process


def run_cli(argv: list[str]) -> tuple[int, str, str, float, BaseException | None]:
    """The CLI's command as `main()` runs it, without main's catch-all (we want the traceback)."""
    out, err = io.StringIO(), io.StringIO()
    parser = cli.build_parser()
    args = parser.parse_args(argv)
    started = time.perf_counter()
    error: BaseException | None = None
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = args.run(args, out)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        except Exception as caught:  # noqa: BLE001 - this is what we measure
            error = caught
            code = 2
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - started, error


def findings_of(stdout: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(stdout or "[]")
    except json.JSONDecodeError:
        return []
    return data if isinstance(data, list) else data.get("findings", [])


def stage_check(record: FileRecord, env: Path) -> list[dict[str, Any]]:
    code, stdout, stderr, seconds, error = run_cli(["check", "--format", "json", str(env)])
    record.seconds["check"] = seconds
    if error is not None:
        record.crashes.append(Crash("check", traceback_head(error)))
        return []
    rows = findings_of(stdout)
    record.findings = [(r["code"], r["severity"], r["range"]["start"]["line"] + 1) for r in rows]
    if any(r["code"] == INTERNAL for r in rows) or code == 2:
        record.crashes.append(Crash("check", stderr_head(stderr)))
    return rows


def stage_explain(record: FileRecord, env: Path) -> None:
    code, stdout, stderr, seconds, error = run_cli(["explain", str(env)])
    record.seconds["explain"] = seconds
    if error is not None:
        record.crashes.append(Crash("explain", traceback_head(error)))
        record.explain = "crashed"
    elif code != 0:
        record.explain = f"exit {code}"
    elif record.parses and "does not parse" in stdout:
        record.explain = "says 'does not parse' of a file Python parses"
    elif "mermaid" not in stdout:
        record.explain = "no diagram"
    else:
        record.explain = "ok"


# ---------------------------------------------------------------------- fix --async


def comments(text: str) -> Counter[str]:
    found: Counter[str] = Counter()
    with contextlib.suppress(tokenize.TokenError, SyntaxError, IndentationError):
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                found[token.string.strip()] += 1
    return found


def minimal_ini(script_dir: str) -> str:
    from alembic_env_lsp import knowledge

    logging = knowledge.template_logging_block() or ""
    return (
        f"[alembic]\nscript_location = {script_dir}\nsqlalchemy.url = {AIOSQLITE_URL}\n\n" + logging
    )


def normalise_reason(text: str) -> str:
    """A refusal as a class: quoted code, names and numbers replaced."""
    text = text.strip().splitlines()[0] if text.strip() else ""
    text = re.sub(r"^.*?not rewritten: ", "", text)
    text = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"", "<…>", text)
    text = re.sub(r"\b(line|lines) \d+(\s*[-–,]\s*\d+)*", r"\1 N", text)
    text = re.sub(r"\d+", "N", text)
    return text[:160]


def errors_of(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(r["code"] for r in rows if r["severity"] == "error")


def stage_fix(record: FileRecord, env: Path, stop: Path, work: Path) -> None:
    root = project_root(env, stop)
    copy = work / re.sub(r"[^A-Za-z0-9_.-]", "_", record.name)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".git", "*.db"))
    env_copy = copy / env.relative_to(root)
    if not (copy / "alembic.ini").exists():
        (copy / "alembic.ini").write_text(
            minimal_ini(env_copy.parent.relative_to(copy).as_posix()), encoding="utf-8"
        )
    before_text = env_copy.read_text(encoding="utf-8-sig", errors="replace")
    code, stdout, _, _, error = run_cli(["check", "--format", "json", str(env_copy)])
    before_errors = errors_of(findings_of(stdout)) if error is None else []

    code, stdout, stderr, seconds, error = run_cli(["fix", "--async", str(env_copy)])
    record.seconds["fix"] = seconds
    if error is not None:
        record.crashes.append(Crash("fix", traceback_head(error)))
        record.rewrite = "crashed"
        return
    if "internal error" in stderr:
        record.crashes.append(Crash("fix", stderr_head(stderr)))
        record.rewrite = "crashed"
        return
    if "not rewritten" in stderr:
        record.rewrite = "refused"
        record.rewrite_detail = normalise_reason(stderr)
        return
    after_text = env_copy.read_text(encoding="utf-8-sig", errors="replace")
    already = after_text == before_text
    if not already:
        try:
            ast.parse(after_text)
        except SyntaxError:
            if record.parses:
                record.rewrite_problems.append("result does not parse")
        lost = comments(before_text) - comments(after_text)
        if lost:
            record.rewrite_problems.append(f"{sum(lost.values())} comment(s) dropped")
        _, _, _, _, again = run_cli(["fix", "--async", str(env_copy)])
        if env_copy.read_text(encoding="utf-8-sig", errors="replace") != after_text:
            record.rewrite_problems.append("a second fix --async changed the file again")
        if again is not None:
            record.rewrite_problems.append("the second fix --async crashed")
    code, stdout, stderr, _, error = run_cli(["check", "--format", "json", str(env_copy)])
    if error is not None:
        record.crashes.append(Crash("fix", "check after fix: " + traceback_head(error)))
        record.rewrite = "crashed"
        return
    after_errors = errors_of(findings_of(stdout))
    new = sorted((Counter(after_errors) - Counter(before_errors)).elements())
    prefix = "already-async" if already else "converted"
    if not after_errors:
        record.rewrite = f"{prefix}-and-clean"
    else:
        record.rewrite = f"{prefix}-with-errors"
        record.rewrite_detail = ",".join(sorted(set(after_errors)))
        if new and not already:
            record.rewrite_problems.append("new errors: " + ",".join(new))


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--json-out", type=Path, help="write per-file records and the summary")
    parser.add_argument("--compare", type=Path, help="a previous --json-out: print before/after")
    parser.add_argument(
        "--hover-every",
        type=int,
        default=5,
        help="hover every identifier of every Nth file (0: none)",
    )
    parser.add_argument("--no-server", action="store_true")
    parser.add_argument("--limit", type=int, default=0, help="only the first N files")
    args = parser.parse_args(argv)

    root = args.dir.resolve()
    envs = env_scripts(root)
    if args.limit:
        envs = envs[: args.limit]
    if not envs:
        print(f"{root}: no env.py found", file=sys.stderr)
        return 2
    records = [FileRecord(display_name(root, env)) for env in envs]
    base = root / "projects" if (root / "projects").is_dir() else root
    with tempfile.TemporaryDirectory(prefix="realworld-") as tmp:
        for record, env in zip(records, envs, strict=True):
            try:
                ast.parse(env.read_bytes())
            except (SyntaxError, ValueError):
                record.parses = False
            stage_check(record, env)
            stage_explain(record, env)
            try:
                stage_fix(record, env, base, Path(tmp))
            except Exception as error:  # noqa: BLE001 - copying, not the tool
                record.rewrite = "bench error"
                record.rewrite_detail = traceback_head(error)
    server_info: dict[str, Any] = {}
    if not args.no_server:
        server_info = asyncio.run(stage_server(records, envs, base, args.hover_every))
    summary = summarise(records, server_info)
    print_report(summary)
    if args.compare and args.compare.exists():
        print_comparison(json.loads(args.compare.read_text())["summary"], summary)
    if args.json_out:
        args.json_out.write_text(
            json.dumps({"summary": summary, "files": [asdict(r) for r in records]}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
