"""`check` output: text, JSON, GitHub annotations and SARIF. Every message is redacted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .findings import Finding
from .fixes.pipeline import hidden_unsafe
from .redact import redact_text
from .text import Range, SourceText

if TYPE_CHECKING:
    from .engine import Analysis

FORMATS = ("text", "json", "github", "sarif")
INTERNAL_ERROR_CODE = "INTERNAL"


@dataclass
class FileResult:
    """One env script as checked: its findings (with the file each is shown on, ini
    findings included) and, when the tool itself failed on it, why."""

    path: Path
    source: SourceText
    analysis: Analysis | None
    findings: list[tuple[Path, Finding]] = field(default_factory=list)
    internal_error: str | None = None


@dataclass
class Summary:
    """What `--fix` did, for the last line of the text output."""

    fixing: bool = False  # --fix or --diff was given
    unsafe: bool = False  # --unsafe-fixes was given
    fixed: int = 0


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 'es' if word.endswith('x') else 's'}"


def _source_for(path: Path, result: FileResult, extra: dict[Path, SourceText]) -> SourceText:
    if path == result.path:
        return result.source
    if path not in extra:
        try:
            extra[path] = SourceText(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError):
            extra[path] = SourceText("")
    return extra[path]


def rows(results: list[FileResult]) -> Iterator[tuple[str, Finding, Range]]:
    """(display path, finding, utf-16 range) once per finding, ini findings deduplicated."""
    seen = set()
    extra: dict[Path, SourceText] = {}
    for result in results:
        for path, finding in result.findings:
            key = (str(path.resolve()), finding.code, finding.range, finding.message)
            if key in seen:
                continue
            seen.add(key)
            source = _source_for(path, result, extra)
            yield display(path), finding, source.range_to_utf16(finding.range)


def _marked(finding: Finding, unsafe: bool) -> bool:
    """Shown with [*]: the fix `--fix` (with `unsafe`: `--fix --unsafe-fixes`) applies."""
    if finding.fixable:
        return True
    return unsafe and hidden_unsafe(finding)


def print_text(results: list[FileResult], out: TextIO, summary: Summary) -> None:
    count = fixable = hidden = 0
    for path, finding, _ in rows(results):
        count += 1
        start = finding.range.start
        marked = _marked(finding, summary.unsafe)
        fixable += marked
        hidden += not marked and hidden_unsafe(finding)
        out.write(
            redact_text(
                f"{path}:{start.line + 1}:{start.character + 1}: {finding.code} "
                f"[{finding.severity.label}] {finding.message}{' [*]' if marked else ''}"
            )
            + "\n"
        )
    files = plural(len(results), "env script")
    more = f"{plural(hidden, 'more fix')} with --unsafe-fixes" if hidden else ""
    if summary.fixing and summary.fixed:
        total = count + summary.fixed
        remaining = f"{summary.fixed} fixed, {count} remaining"
        out.write(
            f"Found {plural(total, 'problem')} in {files} ({remaining}{'; ' + more if more else ''}).\n"
        )
    elif count:
        flags = "--fix --unsafe-fixes" if summary.unsafe else "--fix"
        notes = [f"{fixable} fixable with {flags}"] if fixable and not summary.fixing else []
        notes += [more] if more else []
        out.write(f"Found {plural(count, 'problem')} in {files}")
        out.write(f" ({'; '.join(notes)}).\n" if notes else ".\n")
    else:
        out.write(f"All checks passed ({files}).\n")


def json_rows(results: list[FileResult]) -> list[dict]:
    out = []
    for path, finding, rng in rows(results):
        applicability = "safe" if finding.fixable else "unsafe" if hidden_unsafe(finding) else None
        out.append(
            {
                "path": path,
                "code": finding.code,
                "severity": finding.severity.label,
                "message": redact_text(finding.message),
                "range": {
                    "start": {"line": rng.start.line, "character": rng.start.character},
                    "end": {"line": rng.end.line, "character": rng.end.character},
                },
                "fixable": applicability is not None,
                "applicability": applicability,
            }
        )
    return out


def print_json(results: list[FileResult], out: TextIO) -> None:
    json.dump(json_rows(results), out, indent=2)
    out.write("\n")


def print_github(results: list[FileResult], out: TextIO) -> None:
    level = {1: "error", 2: "warning", 3: "notice", 4: "notice"}
    for path, finding, _ in rows(results):
        start, end = finding.range.start, finding.range.end
        message = (
            redact_text(finding.message)
            .replace("%", "%25")
            .replace("\r", "%0D")
            .replace("\n", "%0A")
        )
        out.write(
            f"::{level[int(finding.severity)]} file={path},line={start.line + 1},"
            f"col={start.character + 1},endLine={end.line + 1},endColumn={end.character + 1},"
            f"title={finding.code}::{message}\n"
        )


SARIF_LEVEL = {1: "error", 2: "warning", 3: "note", 4: "note"}


def print_sarif(results: list[FileResult], out: TextIO) -> None:
    from .rules import all_rules

    rules = [
        {
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.docs.what},
            "help": {"text": r.text(), "markdown": r.markdown()},
            "defaultConfiguration": {"level": SARIF_LEVEL[int(r.severity)]},
        }
        for r in all_rules()
    ]
    findings = []
    for path, finding, _ in rows(results):
        start, end = finding.range.start, finding.range.end
        findings.append(
            {
                "ruleId": finding.code,
                "level": SARIF_LEVEL[int(finding.severity)],
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


def print_results(results: list[FileResult], out: TextIO, fmt: str, summary: Summary) -> None:
    if fmt == "json":
        print_json(results, out)
    elif fmt == "github":
        print_github(results, out)
    elif fmt == "sarif":
        print_sarif(results, out)
    else:
        print_text(results, out, summary)
