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
import keyword
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import tokenize
import traceback
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))

from alembic_env_lsp import cli  # noqa: E402

PACKAGE_DIR = str(ROOT / "server" / "alembic_env_lsp")
INTERNAL = "INTERNAL"
AIOSQLITE_URL = "sqlite+aiosqlite:///realworld-bench.db"
OPEN_TIMEOUT = 15.0
REQUEST_TIMEOUT = 15.0


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


# ---------------------------------------------------------------------- the server


def _converter():
    """pygls' converter; a CodeAction carrying a `command` object stays a CodeAction
    (lsprotocol turns any item with a "command" key into a Command)."""
    from typing import Union

    from lsprotocol import types as t
    from pygls.protocol import default_converter

    converter = default_converter()

    def code_action_or_command(obj, _):
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, t.Command)
        return converter.structure(obj, t.CodeAction)

    converter.register_structure_hook(Union[t.Command, t.CodeAction], code_action_or_command)  # noqa: UP007
    return converter


def identifier_positions(text: str) -> list[tuple[int, int]]:
    """The start and the middle of every identifier (0-based line, UTF-16 column)."""
    positions: list[tuple[int, int]] = []
    lines = text.splitlines()
    with contextlib.suppress(tokenize.TokenError, SyntaxError, IndentationError):
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type != tokenize.NAME or keyword.iskeyword(token.string):
                continue
            line, col = token.start
            prefix = lines[line - 1][:col] if line - 1 < len(lines) else ""
            utf16 = len(prefix.encode("utf-16-le")) // 2
            positions.append((line - 1, utf16))
            if len(token.string) > 2:
                positions.append((line - 1, utf16 + len(token.string) // 2))
    return positions


class Server:
    """One language server process over stdio, restarted when it dies."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.client: Any = None
        self.diagnostics: dict[str, asyncio.Event] = {}
        self.published: dict[str, list[Any]] = {}
        self.errors_logged: list[str] = []
        self.stderr: list[str] = []
        self.restarts = 0

    async def start(self) -> None:
        from lsprotocol import types as t
        from pygls.lsp.client import BaseLanguageClient

        client = BaseLanguageClient("realworld-bench", "1", converter_factory=_converter)

        @client.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: t.PublishDiagnosticsParams) -> None:
            self.published[params.uri] = list(params.diagnostics)
            event = self.diagnostics.get(params.uri)
            if event is not None:
                event.set()

        @client.feature(t.WINDOW_LOG_MESSAGE)
        def logged(params: t.LogMessageParams) -> None:
            if params.type == t.MessageType.Error:
                self.errors_logged.append(params.message)

        @client.feature(t.WINDOW_SHOW_MESSAGE)
        def shown(params: t.ShowMessageParams) -> None:
            if params.type == t.MessageType.Error:
                self.errors_logged.append(params.message)

        @client.feature(t.WORKSPACE_CONFIGURATION)
        def configuration(params: t.ConfigurationParams) -> list[Any]:
            return [None for _ in params.items]

        @client.feature(t.CLIENT_REGISTER_CAPABILITY)
        def register(params: t.RegistrationParams) -> None:
            return None

        @client.feature(t.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def progress(params: t.WorkDoneProgressCreateParams) -> None:
            return None

        @client.feature(t.WORKSPACE_CODE_LENS_REFRESH)
        def lens_refresh(params: None) -> None:
            return None

        @client.feature(t.WORKSPACE_DIAGNOSTIC_REFRESH)
        def diagnostic_refresh(params: None) -> None:
            return None

        # the server of this tree, not whichever copy the interpreter has installed
        environ = dict(os.environ, PYTHONPATH=str(ROOT / "server"))
        await client.start_io(sys.executable, "-m", "alembic_env_lsp", "serve", env=environ)
        process = client._server
        if process is not None:
            asyncio.get_running_loop().create_task(self._drain(process.stderr))
        folder = t.WorkspaceFolder(uri=self.folder.as_uri(), name=self.folder.name)
        await asyncio.wait_for(
            client.initialize_async(
                t.InitializeParams(
                    capabilities=t.ClientCapabilities(
                        text_document=t.TextDocumentClientCapabilities(
                            hover=t.HoverClientCapabilities(content_format=[t.MarkupKind.Markdown]),
                            code_action=t.CodeActionClientCapabilities(
                                code_action_literal_support=t.ClientCodeActionLiteralOptions(
                                    code_action_kind=t.ClientCodeActionKindOptions(
                                        value_set=[k.value for k in t.CodeActionKind]
                                    )
                                )
                            ),
                            publish_diagnostics=t.PublishDiagnosticsClientCapabilities(),
                        ),
                        workspace=t.WorkspaceClientCapabilities(configuration=True),
                    ),
                    workspace_folders=[folder],
                    root_uri=folder.uri,
                )
            ),
            30,
        )
        client.initialized(t.InitializedParams())
        self.client = client

    async def _drain(self, stream) -> None:
        while stream is not None:
            line = await stream.readline()
            if not line:
                return
            self.stderr.append(line.decode("utf-8", "replace"))

    @property
    def alive(self) -> bool:
        server = getattr(self.client, "_server", None)
        return server is not None and server.returncode is None

    async def stop(self) -> None:
        if self.client is None:
            return
        with contextlib.suppress(Exception):
            if self.alive:
                await asyncio.wait_for(self.client.shutdown_async(None), 5)
                self.client.exit(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.stop(), 5)
        server = getattr(self.client, "_server", None)
        if server is not None and server.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                server.kill()
        self.client = None

    async def visit(self, record: FileRecord, env: Path, hover_all: bool) -> None:
        from lsprotocol import types as t

        if self.client is None or not self.alive:
            await self.stop()
            await self.start()
            self.restarts += 1
        text = env.read_text(encoding="utf-8-sig", errors="replace")
        uri = env.as_uri()
        stats: dict[str, Any] = {}
        record.server = stats
        errors_before, stderr_before = len(self.errors_logged), len(self.stderr)
        self.diagnostics[uri] = asyncio.Event()
        started = time.perf_counter()
        self.client.text_document_did_open(
            t.DidOpenTextDocumentParams(
                t.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        try:
            await asyncio.wait_for(self.diagnostics[uri].wait(), OPEN_TIMEOUT)
            record.seconds["open"] = time.perf_counter() - started
            stats["diagnostics"] = len(self.published.get(uri, []))
        except TimeoutError:
            stats["diagnostics"] = None
            record.crashes.append(Crash("server-open", "no diagnostics within 15 s"))
        lines = text.splitlines() or [""]
        whole = t.Range(
            t.Position(0, 0), t.Position(len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2)
        )
        started = time.perf_counter()
        try:
            actions = await asyncio.wait_for(
                self.client.text_document_code_action_async(
                    t.CodeActionParams(
                        t.TextDocumentIdentifier(uri),
                        whole,
                        t.CodeActionContext(diagnostics=self.published.get(uri, [])),
                    )
                ),
                REQUEST_TIMEOUT,
            )
            record.seconds["actions"] = time.perf_counter() - started
            stats["actions"] = len(actions or [])
        except Exception as error:  # noqa: BLE001
            record.crashes.append(Crash("server-action", _request_error(error)))
        if hover_all:
            await self._hover_all(record, uri, text, stats)
        self.client.text_document_did_close(
            t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri))
        )
        if not self.alive:
            record.crashes.append(Crash("server-died", stderr_head("".join(self.stderr))))
        logged = self.errors_logged[errors_before:]
        stderr = "".join(self.stderr[stderr_before:])
        if "Traceback" in stderr or logged:
            stats["errors_logged"] = len(logged)
            record.crashes.append(Crash("server-log", stderr_head(stderr + "\n".join(logged))))

    async def _hover_all(self, record: FileRecord, uri: str, text: str, stats) -> None:
        from lsprotocol import types as t

        positions = identifier_positions(text)
        answered = empty = failed = 0
        times: list[float] = []
        heads: Counter[str] = Counter()
        for line, col in positions:
            started = time.perf_counter()
            try:
                result = await asyncio.wait_for(
                    self.client.text_document_hover_async(
                        t.HoverParams(t.TextDocumentIdentifier(uri), t.Position(line, col))
                    ),
                    REQUEST_TIMEOUT,
                )
            except Exception as error:  # noqa: BLE001
                failed += 1
                heads[_request_error(error)] += 1
                if not self.alive:
                    break
                continue
            times.append(time.perf_counter() - started)
            if result is None:
                empty += 1
            else:
                answered += 1
        stats.update(hovers=len(positions), hover_answered=answered, hover_empty=empty)
        stats["hover_failed"] = failed
        if times:
            record.seconds["hover"] = statistics.median(times)
        for head, count in heads.items():
            record.crashes.append(Crash("server-hover", f"{head} (x{count})"))


def _request_error(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no answer within 15 s"
    message = str(error).splitlines()[0] if str(error) else ""
    kind = re.findall(r"\b(\w+Error)\b", message)
    return f"{type(error).__name__}: {kind[-1] if kind else 'error response'}"


async def stage_server(
    records: list[FileRecord], envs: list[Path], folder: Path, every: int
) -> dict[str, Any]:
    server = Server(folder)
    await server.start()
    try:
        for index, (record, env) in enumerate(zip(records, envs, strict=True)):
            try:
                await server.visit(record, env, hover_all=every > 0 and index % every == 0)
            except Exception as error:  # noqa: BLE001 - the bench itself goes on
                record.crashes.append(Crash("server", traceback_head(error)))
                await server.stop()
    finally:
        await server.stop()
    return {"restarts": server.restarts}


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
