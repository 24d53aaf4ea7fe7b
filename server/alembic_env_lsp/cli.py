"""`alembic-env-lsp check | fix | explain | rules | serve`: argument parsing and output only."""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ("text", "json", "github", "sarif")


class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit code 2."""


# ---- reading and writing files ---------------------------------------------------------


@dataclass
class FileText:
    path: Path
    text: str
    bom: bool
    encoding: str = "utf-8"


def read_text(path: Path) -> FileText:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory") from None
    except OSError as error:
        raise UsageError(f"{path}: cannot read ({error.strerror or error})") from None
    bom = data.startswith(b"\xef\xbb\xbf")
    encoding = _declared_encoding(data) or "utf-8"
    try:
        text = data.decode(
            "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        )
    except (UnicodeDecodeError, LookupError) as error:
        reason = (
            f"not valid {encoding}"
            if isinstance(error, UnicodeDecodeError)
            else f"unknown encoding {encoding!r}"
        )
        position = f" (byte {error.start})" if isinstance(error, UnicodeDecodeError) else ""
        raise UsageError(f"{path}: {reason}{position}") from None
    return FileText(path, text, bom, encoding)


def _declared_encoding(data: bytes) -> str | None:
    """PEP 263 coding cookie on the first two lines."""
    import re

    for line in data.splitlines()[:2]:
        match = re.match(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", line)
        if match:
            return match.group(1).decode("ascii", "replace")
    return None


def write_text_atomically(original: FileText, new_text: str) -> None:
    """Temp file + rename: a crash never leaves half a file; keeps encoding, BOM and mode."""
    path = Path(
        os.path.realpath(original.path)
    )  # through a symlink: keep the link, update its target
    import tempfile

    data = new_text.encode(
        original.encoding if original.encoding.lower() not in ("utf8",) else "utf-8"
    )
    if original.bom and not data.startswith(b"\xef\xbb\xbf"):  # a utf-8-sig cookie writes its own
        data = b"\xef\xbb\xbf" + data
    mode = path.stat().st_mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---- analysis of files on disk ----------------------------------------------------------


@dataclass
class FileResult:
    path: Path
    file: FileText
    analysis: object
    findings: list = field(default_factory=list)  # (path, Finding) with the path resolved


def _analyze_path(path: Path, index, base_settings, workspace=None):
    from .engine import analyze, project_settings
    from .settings import SettingsError

    file = read_text(path)
    project = index.context_for(path)
    try:
        settings = project_settings(project, base_settings)
    except SettingsError as error:
        raise UsageError(str(error)) from None
    analysis = analyze(
        file.text, str(path), project=project, settings=settings, workspace=workspace
    )
    for error in analysis.internal_errors:
        print(f"alembic-env-lsp: {error}", file=sys.stderr)
    analysis.facts = None  # only findings and positions are needed from here: keep memory flat
    return FileResult(
        path, file, analysis, [(Path(f.path) if f.path else path, f) for f in analysis.findings]
    )


def _targets(paths: list[str]) -> list[Path]:
    from .project import find_env_scripts

    resolved = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or directory")
        resolved.append(path)
    return find_env_scripts(resolved)


def _base_settings(args):
    from .settings import Settings, SettingsError, parse_settings

    raw = {}
    if args.select:
        raw["select"] = [c for c in args.select.split(",") if c.strip()]
    if args.ignore:
        raw["ignore"] = [c for c in args.ignore.split(",") if c.strip()]
    if not raw:
        return Settings()
    from .rules import all_rules

    try:
        return parse_settings(raw, where="command line", known_codes={r.code for r in all_rules()})
    except SettingsError as error:
        raise UsageError(str(error)) from None


# ---- output formats ---------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _source_for(path: Path, result: FileResult, extra: dict):
    from .text import SourceText

    if path == result.path:
        return result.analysis.source
    if path not in extra:
        try:
            extra[path] = SourceText(read_text(path).text)
        except UsageError:
            extra[path] = SourceText("")
    return extra[path]


def _rows(results: list[FileResult]):
    """(display path, finding, utf-16 range) once per finding, ini findings deduplicated."""
    seen = set()
    extra: dict = {}
    for result in results:
        for path, finding in result.findings:
            key = (str(path.resolve()), finding.code, finding.range, finding.message)
            if key in seen:
                continue
            seen.add(key)
            source = _source_for(path, result, extra)
            yield _display(path), finding, source.range_to_utf16(finding.range)


def _print_text(results, out) -> None:
    from .redact import redact_text

    count = 0
    for path, finding, _ in _rows(results):
        count += 1
        start = finding.range.start
        fixable = " [*]" if finding.fixable else ""
        out.write(
            redact_text(
                f"{path}:{start.line + 1}:{start.character + 1}: {finding.code} [{finding.severity.label}] {finding.message}{fixable}"
            )
            + "\n"
        )
    files = len(results)
    if count:
        fixable = sum(1 for _, f, _ in _rows(results) if f.fixable)
        out.write(
            f"Found {count} problem{'s' if count != 1 else ''} in {files} env script{'s' if files != 1 else ''}"
        )
        out.write(f" ({fixable} fixable with --fix).\n" if fixable else ".\n")
    else:
        out.write(f"All checks passed ({files} env script{'s' if files != 1 else ''}).\n")


def _json_rows(results):
    from .redact import redact_text

    rows = []
    for path, finding, rng in _rows(results):
        rows.append(
            {
                "path": path,
                "code": finding.code,
                "severity": finding.severity.label,
                "message": redact_text(finding.message),
                "range": {
                    "start": {"line": rng.start.line, "character": rng.start.character},
                    "end": {"line": rng.end.line, "character": rng.end.character},
                },
                "fixable": finding.fixable,
            }
        )
    return rows


def _print_github(results, out) -> None:
    from .redact import redact_text

    level = {1: "error", 2: "warning", 3: "notice", 4: "notice"}
    for path, finding, _ in _rows(results):
        start, end = finding.range.start, finding.range.end
        message = (
            redact_text(finding.message)
            .replace("%", "%25")
            .replace("\r", "%0D")
            .replace("\n", "%0A")
        )
        out.write(
            f"::{level[int(finding.severity)]} file={path},line={start.line + 1},col={start.character + 1},"
            f"endLine={end.line + 1},endColumn={end.character + 1},title={finding.code}::{message}\n"
        )


def _print_sarif(results, out) -> None:
    from .redact import redact_text
    from .rules import all_rules

    level = {1: "error", 2: "warning", 3: "note", 4: "note"}
    rules = [
        {
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.docs.what},
            "help": {"text": r.text(), "markdown": r.markdown()},
            "defaultConfiguration": {"level": level[int(r.severity)]},
        }
        for r in all_rules()
    ]
    findings = []
    for path, finding, _ in _rows(results):
        start, end = finding.range.start, finding.range.end
        findings.append(
            {
                "ruleId": finding.code,
                "level": level[int(finding.severity)],
                "message": {"text": redact_text(finding.message)},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": Path(path).as_posix()},
                            "region": {
                                "startLine": start.line + 1,
                                "startColumn": start.character + 1,
                                "endLine": end.line + 1,
                                "endColumn": end.character + 1,
                            },
                        }
                    }
                ],
            }
        )
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "alembic-env-lsp",
                        "version": __version__,
                        "informationUri": "https://github.com/alembic-env-lsp/alembic-env-lsp",
                        "rules": rules,
                    }
                },
                "results": findings,
            }
        ],
    }
    json.dump(document, out, indent=2)
    out.write("\n")


# ---- fixing -----------------------------------------------------------------------------


def _safe_edits_by_file(result: FileResult) -> dict[Path, list]:
    """The first safe fix of each finding, skipping fixes that overlap one already taken."""
    from .findings import Finding

    chosen: dict[Path, list] = {}
    for path, finding in result.findings:
        if not isinstance(finding, Finding):
            continue
        fix = next((f for f in finding.fixes if f.safe), None)
        if fix is None:
            continue
        by_file: dict[Path, list] = {}
        for edit in fix.edits:
            by_file.setdefault(Path(edit.path) if edit.path else result.path, []).append(edit)
        if any(_overlaps(chosen.get(p, []), edits) for p, edits in by_file.items()):
            continue
        for p, edits in by_file.items():
            chosen.setdefault(p, []).extend(edits)
    return chosen


def _overlaps(taken: list, new: list) -> bool:
    for a in taken:
        for b in new:
            if a.range.start < b.range.end and b.range.start < a.range.end:
                return True
            if a.range.start == b.range.start and a.range.end == b.range.end:
                return True
    return False


def _fix_files(
    targets: list[Path], index, settings, *, write: bool, out, workspace=None
) -> list[FileResult]:
    from .text import apply_edits

    pending: dict[Path, FileText] = {}
    for _round in range(5):  # fixes can uncover others (e.g. add NullPool, then dispose)
        changed = False
        for target in targets:
            result = _analyze_path_overlay(target, index, settings, pending, workspace)
            for path, edits in _safe_edits_by_file(result).items():
                current = pending.get(path) or read_text(path)
                new_text = apply_edits(current.text, edits)
                if path.suffix == ".py" and not _parses(new_text):
                    continue  # never produce a file that does not parse
                if new_text != current.text:
                    pending[path] = FileText(current.path, new_text, current.bom, current.encoding)
                    if path.suffix != ".py":
                        index.set_overlay(path, new_text)  # the next round reads the fixed ini
                    changed = True
        if not changed:
            break
    for path, file in pending.items():
        original = read_text(path)
        if original.text == file.text:
            continue
        if write:
            write_text_atomically(original, file.text)
        else:
            import difflib

            diff = difflib.unified_diff(
                original.text.splitlines(keepends=True),
                file.text.splitlines(keepends=True),
                fromfile=f"a/{_display(path)}",
                tofile=f"b/{_display(path)}",
            )
            from .redact import redact_text

            out.write(redact_text("".join(diff)))
    for path in pending:
        index.set_overlay(path, None)
    index.invalidate()
    return [
        _analyze_path_overlay(t, index, settings, pending if not write else {}, workspace)
        for t in targets
    ]


def _analyze_path_overlay(path: Path, index, settings, pending, workspace=None):
    from .engine import analyze, project_settings
    from .settings import SettingsError

    file = pending.get(path) or read_text(path)
    project = index.context_for(path)
    try:
        effective = project_settings(project, settings)
    except SettingsError as error:
        raise UsageError(str(error)) from None
    analysis = analyze(
        file.text, str(path), project=project, settings=effective, workspace=workspace
    )
    return FileResult(
        path, file, analysis, [(Path(f.path) if f.path else path, f) for f in analysis.findings]
    )


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
        return True
    except (SyntaxError, ValueError):
        return False


# ---- commands ---------------------------------------------------------------------------


def cmd_check(args, out) -> int:
    from .project import ProjectIndex
    from .workspace import Workspace

    targets = _targets(args.paths or ["."])
    settings = _base_settings(args)
    index = ProjectIndex()
    # The project's other Python files, read once for this run (ENV009/023/031/032/052).
    workspace = Workspace(
        p if p.is_dir() else p.parent for p in (Path(raw).resolve() for raw in args.paths or ["."])
    )
    if args.fix or args.diff:
        results = _fix_files(
            targets, index, settings, write=args.fix and not args.diff, out=out, workspace=workspace
        )
        if args.diff:
            return EXIT_OK
    else:
        results = [_analyze_path(t, index, settings, workspace) for t in targets]
    if args.format == "json":
        json.dump(_json_rows(results), out, indent=2)
        out.write("\n")
    elif args.format == "github":
        _print_github(results, out)
    elif args.format == "sarif":
        _print_sarif(results, out)
    else:
        _print_text(results, out)
    loud = any(int(f.severity) <= 2 for r in results for _, f in r.findings)
    return EXIT_FINDINGS if loud else EXIT_OK


def cmd_fix(args, out) -> int:
    """`fix --async|--sync PATH`: the whole-file rewrites (the async connection pattern or back)."""
    if not (args.to_async or args.to_sync):  # plain `fix` is `check --fix`
        check = argparse.Namespace(
            paths=args.paths,
            fix=not args.diff,
            diff=args.diff,
            select=None,
            ignore=None,
            format="text",
        )
        return cmd_check(check, out)
    try:
        from .fixes import async_rewrite
    except ImportError as error:  # pragma: no cover - shipped with the package
        raise UsageError(f"the rewrite is not available: {error}") from None
    targets = _targets(args.paths or ["."])
    status = EXIT_OK
    for target in targets:
        file = read_text(target)
        if args.to_async:
            result = async_rewrite.convert_to_async(file.text)
        else:
            from .fixes import sync_rewrite

            result = sync_rewrite.convert_to_sync(file.text)
        if result.refused:
            print(f"{_display(target)}: not rewritten: {result.refused}", file=sys.stderr)
            status = EXIT_FINDINGS
            continue
        if not result.changed or result.text is None:
            out.write(
                f"{_display(target)}: already in the {'async' if args.to_async else 'sync'} pattern\n"
            )
            continue
        if not _parses(result.text):
            print(f"{_display(target)}: not rewritten: the result would not parse", file=sys.stderr)
            status = EXIT_ERROR
            continue
        if args.diff:
            import difflib

            diff = difflib.unified_diff(
                file.text.splitlines(keepends=True),
                result.text.splitlines(keepends=True),
                fromfile=f"a/{_display(target)}",
                tofile=f"b/{_display(target)}",
            )
            from .redact import redact_text

            out.write(redact_text("".join(diff)))  # like check --diff: context lines may hold a URL
        else:
            write_text_atomically(file, result.text)
            out.write(
                f"{_display(target)}: rewritten to the {'async' if args.to_async else 'sync'} pattern\n"
            )
    return status


def cmd_explain(args, out) -> int:
    from .rules import rule_by_code

    rule = rule_by_code(args.target)
    if rule is not None:
        out.write(rule.text())
        return EXIT_OK
    path = Path(args.target)
    if not path.exists():
        raise UsageError(f"{args.target}: neither a rule code (like ENV001) nor a file")
    from .explain import explain_markdown
    from .project import ProjectIndex
    from .redact import redact_text

    [target] = _targets([args.target])[:1] or [path]
    result = _analyze_path(
        target, ProjectIndex(), _base_settings(argparse.Namespace(select=None, ignore=None))
    )
    out.write(redact_text(explain_markdown(result.analysis)))
    out.write("\n")
    return EXIT_OK


def cmd_rules(args, out) -> int:
    from .rules import all_rules

    if args.format == "json":
        json.dump(
            [
                {
                    "code": r.code,
                    "name": r.name,
                    "severity": r.severity.label,
                    "fixable": r.fixable,
                    "summary": r.summary,
                }
                for r in all_rules()
            ],
            out,
            indent=2,
        )
        out.write("\n")
        return EXIT_OK
    if args.format == "markdown":
        from .docs import rule_table

        out.write(rule_table())
        return EXIT_OK
    for r in all_rules():
        out.write(
            f"{r.code}  {r.severity.label:<7}  {'fix' if r.fixable else '   '}  {r.name}: {r.summary}\n"
        )
    return EXIT_OK


def cmd_serve(args, out) -> int:
    from .lsp.server import main as serve_main

    argv = []
    if args.tcp:
        argv += ["--tcp", args.tcp]
    return serve_main(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alembic-env-lsp",
        description="Find and fix the mistakes in Alembic's env.py (async drivers, logging, transactions).",
    )
    parser.add_argument("--version", action="version", version=f"alembic-env-lsp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser(
        "check", help="check env.py files (a file, or folders searched through alembic.ini)"
    )
    check.add_argument("paths", nargs="*", help="env.py files or folders (default: .)")
    check.add_argument("--format", choices=FORMATS, default="text")
    check.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    check.add_argument(
        "--diff", action="store_true", help="print the safe fixes as a diff instead of writing"
    )
    check.add_argument("--select", help="comma-separated rule codes or prefixes to run")
    check.add_argument("--ignore", help="comma-separated rule codes or prefixes to skip")
    check.set_defaults(run=cmd_check)

    fix = sub.add_parser(
        "fix", help="apply safe fixes, or rewrite env.py to the async (or sync) pattern"
    )
    fix.add_argument("paths", nargs="*", help="env.py files or folders (default: .)")
    mode = fix.add_mutually_exclusive_group()
    mode.add_argument(
        "--async", dest="to_async", action="store_true", help="rewrite to Alembic's async pattern"
    )
    mode.add_argument(
        "--sync", dest="to_sync", action="store_true", help="rewrite to the sync pattern"
    )
    fix.add_argument("--diff", action="store_true", help="print the change instead of writing it")
    fix.set_defaults(run=cmd_fix)

    explain = sub.add_parser(
        "explain", help="explain a rule (ENV001) or the flow of an env.py (PATH)"
    )
    explain.add_argument("target")
    explain.set_defaults(run=cmd_explain)

    rules = sub.add_parser("rules", help="list the rules")
    rules.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    rules.set_defaults(run=cmd_rules)

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP port (for debugging)")
    serve.set_defaults(run=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = sys.stdout
    try:
        return args.run(args, out)
    except UsageError as error:
        print(f"alembic-env-lsp: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:  # a bug: one line, never a traceback with the user's data in it
        from .redact import redact_text

        where = ""
        tb = error.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        print(
            redact_text(f"alembic-env-lsp: internal error: {type(error).__name__}: {error}{where}"),
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
