"""`alembic-env-lsp check | fix | explain | rules | serve`: argument parsing and output only."""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from pathlib import Path

from . import __version__
from .cli_files import FileText, UsageError, read_text, write_text_atomically
from .cli_output import (
    FORMATS,
    INTERNAL_ERROR_CODE,
    FileResult,
    Summary,
    display,
    plural,
    print_results,
)

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


# ---- checking files on disk -------------------------------------------------------------


class Checker:
    """One run over env scripts: the project index, the workspace and the settings they
    share, and the texts fixes have changed so far (not yet written)."""

    def __init__(self, paths: list[str], settings, python: str | None = None):
        from .project import ProjectIndex
        from .pyenv import CLI_FLAG, PythonChoice
        from .workspace import Workspace

        self.settings = settings
        # --python: the project's interpreter, whose packages the environment rules judge
        self.index = ProjectIndex(python=PythonChoice(python, CLI_FLAG) if python else None)
        # The project's other Python files, read once for this run (ENV009/023/031/032/052).
        self.workspace = Workspace(
            p if p.is_dir() else p.parent for p in (Path(raw).resolve() for raw in paths)
        )
        self.pending: dict[Path, FileText] = {}  # fixed texts by absolute path
        self.failed = 0  # env scripts that could not be checked (exit code 2)

    def text_of(self, path: Path) -> FileText:
        return self.pending.get(Path(os.path.abspath(path))) or read_text(path)

    def analyze(self, path: Path, text: str | None = None):
        from .engine import analyze, project_settings
        from .settings import SettingsError

        project = self.index.context_for(path)
        try:
            settings = project_settings(project, self.settings)
        except SettingsError as error:
            raise UsageError(str(error)) from None
        if text is None:
            text = self.text_of(path).text
        return analyze(
            text, str(path), project=project, settings=settings, workspace=self.workspace
        )

    def check(self, path: Path) -> FileResult | None:
        """Findings of one env script. A file that cannot be read, or on which the tool
        itself fails, is reported and the run goes on: one file never stops the others."""
        try:
            file = self.text_of(path)
        except UsageError as error:
            print(f"alembic-env-lsp: {error}", file=sys.stderr)
            self.failed += 1
            return None
        try:
            analysis = self.analyze(path, file.text)
        except UsageError:
            raise
        except Exception as error:  # a bug of ours on this file
            import traceback

            return self._internal_error(path, file.text, _one_line(error), traceback.format_exc())
        if getattr(analysis, "crashed", False):
            message = "; ".join(analysis.internal_errors) or "analysis failed"
            return self._internal_error(
                path, file.text, message, getattr(analysis, "traceback", None)
            )
        result = FileResult(
            path,
            analysis.source,
            analysis,
            [(Path(f.path) if f.path else path, f) for f in analysis.findings],
        )
        for message in analysis.internal_errors:  # one rule failed; the others reported
            result.findings.append((path, _internal_finding(message)))
            result.internal_error = message
            self._log(path, message, None)
        if result.internal_error:
            self.failed += 1
        return result

    def _internal_error(self, path: Path, text: str, message: str, trace: str | None):
        from .text import SourceText

        self.failed += 1
        self._log(path, message, trace)
        return FileResult(
            path, SourceText(text), None, [(path, _internal_finding(message))], message
        )

    @staticmethod
    def _log(path: Path, message: str, trace: str | None) -> None:
        from .redact import redact_text

        print(
            redact_text(f"alembic-env-lsp: {display(path)}: internal error: {message}"),
            file=sys.stderr,
        )
        if trace:
            sys.stderr.write(redact_text(trace).rstrip("\n") + "\n")

    # --- fixing ---

    def fix(self, path: Path, *, unsafe: bool):
        """Apply fixes to one env script (and the ini its fixes edit) until none is left;
        the new texts stay pending until written."""
        try:
            file = self.text_of(path)
        except UsageError:
            return None  # reported by check()
        try:
            return self._fix(path, file, unsafe=unsafe)
        except UsageError:
            raise
        except Exception as error:  # a bug of ours: this file stays as it was, the run goes on
            import traceback

            self.failed += 1
            self._log(path, f"fixing failed: {_one_line(error)}", traceback.format_exc())
            return None

    def _fix(self, path: Path, file: FileText, *, unsafe: bool):
        from .fixes.pipeline import fix_until_stable

        analysis = self.analyze(path, file.text)
        if analysis.facts is None or getattr(analysis, "crashed", False):
            return None

        def reanalyze(env_text: str, others):
            for key, text in others.items():
                self.index.set_overlay(Path(key), text)
            return self.analyze(path, env_text)

        def other_text(key: str) -> str | None:
            pending = self.pending.get(Path(key))
            if pending is not None:
                return pending.text
            try:
                return read_text(Path(key)).text
            except UsageError:
                return None

        outcome = fix_until_stable(analysis, reanalyze, unsafe=unsafe, other_text=other_text)
        if outcome.changed:
            self._stage(path, outcome.env_text)
            for key, text in outcome.others.items():
                self._stage(Path(key), text)
                self.index.set_overlay(Path(key), text)
        return outcome

    def _stage(self, path: Path, text: str) -> None:
        key = Path(os.path.abspath(path))
        current = self.pending.get(key) or read_text(path)
        self.pending[key] = FileText(current.path, text, current.bom, current.encoding)

    def write_pending(self, *, write: bool, out) -> int:
        """Write (or print as a diff) every file a fix changed; how many changed."""
        changed = 0
        for path, file in sorted(self.pending.items()):
            original = read_text(path)
            if original.text == file.text:
                continue
            changed += 1
            if write:
                write_text_atomically(original, file.text)
            else:
                out.write(_diff(original.text, file.text, path))
        for path in self.pending:
            self.index.set_overlay(path, None)
        self.index.invalidate()
        self.workspace.invalidate()
        return changed


def _internal_finding(message: str):
    from .findings import Finding, Severity
    from .text import Position, Range

    return Finding(
        INTERNAL_ERROR_CODE,
        f"alembic-env-lsp could not check this file: {message}. Other files were checked; "
        "please report this (the traceback is on stderr).",
        Severity.ERROR,
        Range(Position(0, 0), Position(0, 0)),
    )


def _one_line(error: BaseException) -> str:
    where = ""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
    return f"{type(error).__name__}: {error}{where}"


def _diff(before: str, after: str, path: Path, header: str = "") -> str:
    import difflib

    from .redact import redact_text

    diff = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{display(path)}",
        tofile=f"b/{display(path)}",
    )
    # context lines may hold a URL
    return redact_text(header + "".join(diff))


def _targets(paths: list[str], index=None) -> list[Path]:
    """The env scripts to check; a path that does not exist, or in which no env script is
    found, is an error (a mistyped CI path must fail loudly). With the run's project
    `index`, each alembic.ini is read and parsed once for finding and for checking."""
    from .project import find_env_scripts

    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or directory")
        scripts = find_env_scripts([path], index)
        if not scripts:
            raise UsageError(
                f"{raw}: no env script found (no alembic.ini or pyproject.toml with a "
                "script_location, and no env.py that imports alembic's context)"
            )
        found.update(dict.fromkeys(scripts))
    return sorted(found)


def _base_settings(args):
    from .settings import Settings, SettingsError, parse_settings

    raw = {}
    if getattr(args, "select", None):
        raw["select"] = [c for c in args.select.split(",") if c.strip()]
    if getattr(args, "ignore", None):
        raw["ignore"] = [c for c in args.ignore.split(",") if c.strip()]
    if not raw:
        return Settings()
    from .rules import all_rules

    try:
        return parse_settings(raw, where="command line", known_codes={r.code for r in all_rules()})
    except SettingsError as error:
        raise UsageError(str(error)) from None


def _python(args) -> str | None:
    """`--python PATH`, checked: a path with no Python environment is a usage error."""
    from .pyenv import path_problem

    python = getattr(args, "python", None)
    if python:
        problem = path_problem(python)
        if problem is not None:
            raise UsageError(f"--python {problem}")
    return python


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
        return True
    except (SyntaxError, ValueError):
        return False


# ---- commands ---------------------------------------------------------------------------


def cmd_check(args, out) -> int:
    checker = Checker(args.paths or ["."], _base_settings(args), _python(args))
    targets = _targets(args.paths or ["."], checker.index)
    unsafe = bool(getattr(args, "unsafe_fixes", False))
    summary = Summary(fixing=bool(args.fix or args.diff), unsafe=unsafe)
    if summary.fixing:
        for target in targets:
            outcome = checker.fix(target, unsafe=unsafe)
            summary.fixed += outcome.fixed if outcome is not None else 0
        results = [r for r in (checker.check(t) for t in targets) if r is not None]
        checker.write_pending(write=not args.diff, out=out)
        if args.diff:  # stdout is the patch, nothing else
            return EXIT_ERROR if checker.failed else EXIT_OK
    else:
        results = [r for r in (checker.check(t) for t in targets) if r is not None]
    print_results(results, out, args.format, summary)
    if checker.failed:
        return EXIT_ERROR
    loud = any(int(f.severity) <= 2 for r in results for _, f in r.findings)
    return EXIT_FINDINGS if loud else EXIT_OK


def cmd_fix(args, out) -> int:
    """`fix --async|--sync PATH`: the whole-file rewrites (the async connection pattern or back)."""
    if not (args.to_async or args.to_sync):  # plain `fix` is `check --fix`
        check = argparse.Namespace(
            paths=args.paths,
            fix=not args.diff,
            diff=args.diff,
            unsafe_fixes=args.unsafe_fixes,
            select=None,
            ignore=None,
            format="text",
            python=args.python,
        )
        return cmd_check(check, out)
    from .fixes.rewrites import convert_project
    from .redact import redact_text
    from .text import apply_edits

    checker = Checker(args.paths or ["."], _base_settings(args), _python(args))
    targets = _targets(args.paths or ["."], checker.index)
    status = EXIT_OK
    pattern = "async" if args.to_async else "sync"
    for target in targets:
        file = read_text(target)
        conversion = convert_project(checker.analyze(target, file.text), to=pattern)
        name = display(target)
        if conversion.refused or conversion.text is None:
            print(f"{name}: not rewritten: {conversion.refused}", file=sys.stderr)
            status = max(status, EXIT_FINDINGS)
            continue
        by_hand = [redact_text(f"to change by hand: {item}") for item in conversion.manual]
        if conversion.already:
            out.write(f"{name}: already in the {pattern} pattern\n")
            out.writelines(f"  {line}\n" for line in by_hand)
            continue
        if not _parses(conversion.text):
            print(f"{name}: not rewritten: the result would not parse", file=sys.stderr)
            status = EXIT_ERROR
            continue
        others: dict[Path, list] = {}
        for edit in conversion.edits:
            if edit.path is not None and Path(edit.path).resolve() != target.resolve():
                others.setdefault(Path(edit.path), []).append(edit)
        changed = [(target, file, conversion.text)]
        for path, edits in sorted(others.items()):
            other = read_text(path)
            changed.append((path, other, apply_edits(other.text, edits)))
        summary = f"{name}: {plural(conversion.changes, 'change')} to the {pattern} pattern"
        if args.diff:
            header = "".join(f"# {line}\n" for line in [summary, *by_hand])
            for index, (path, before, after) in enumerate(changed):
                out.write(_diff(before.text, after, path, header if index == 0 else ""))
            continue
        for _path, before, after in changed:
            if after != before.text:
                write_text_atomically(before, after)
        configs = ", ".join(display(p) for p, _, _ in changed[1:])
        if conversion.text == file.text:
            # env.py already had the pattern: only the URL's driver moved in the config files.
            line = (
                f"{name}: already in the {pattern} pattern; the URL's driver changed in {configs}"
            )
        else:
            also = f" (also {configs})" if configs else ""
            line = f"{name}: rewritten to the {pattern} pattern{also}"
        out.write(f"{line}: {plural(conversion.changes, 'change')}\n")
        out.writelines(f"  {line}\n" for line in by_hand)
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
    from .redact import redact_text

    # A folder: its (first) env script; an alembic.ini or pyproject.toml: the env scripts its
    # script_location names; any other file: that file, whatever its name.
    if path.is_dir():
        targets = _targets([args.target])[:1]
    elif path.suffix in (".ini", ".toml"):
        targets = _env_scripts_named_by(path)
    else:
        targets = [path]
    checker = Checker([args.target], _base_settings(args), _python(args))
    for target in targets:
        file = read_text(target)
        analysis = checker.analyze(target, file.text)
        out.write(redact_text(explain_markdown(analysis)))
        out.write("\n")
    return EXIT_OK


def _env_scripts_named_by(config: Path) -> list[Path]:
    """The env scripts an alembic ini or pyproject.toml points at; a config file naming
    none is a usage error (its text is not Python to explain)."""
    from .project import env_scripts_of_config

    scripts = [p for p in env_scripts_of_config(config) if p.is_file()]
    if not scripts:
        raise UsageError(
            f"{config}: not an env script, and it names no env script (script_location)"
        )
    return scripts


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


PYTHON_HELP = (
    "the project's Python (an interpreter or an environment folder) whose installed packages the "
    "environment rules judge (default: [tool.alembic-env-lsp] python, $VIRTUAL_ENV, a .venv beside "
    "alembic.ini or pyproject.toml)"
)


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
        "--diff", action="store_true", help="print the fixes as a diff instead of writing"
    )
    check.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="with --fix or --diff, also apply fixes that need review (driver changes, rewrites)",
    )
    check.add_argument("--select", help="comma-separated rule codes or prefixes to run")
    check.add_argument("--ignore", help="comma-separated rule codes or prefixes to skip")
    check.add_argument("--python", metavar="PATH", help=PYTHON_HELP)
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
    fix.add_argument(
        "--unsafe-fixes", action="store_true", help="also apply fixes that need review"
    )
    fix.add_argument("--python", metavar="PATH", help=PYTHON_HELP)
    fix.set_defaults(run=cmd_fix)

    explain = sub.add_parser(
        "explain", help="explain a rule (ENV001) or the flow of an env.py (PATH)"
    )
    explain.add_argument("target")
    explain.add_argument("--python", metavar="PATH", help=PYTHON_HELP)
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
