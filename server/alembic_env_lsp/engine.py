"""text → parse → facts → rules → findings. The one entry point both adapters call."""

from __future__ import annotations

import gc
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .findings import Finding, FindingSink, Severity
from .model.build import build_facts
from .model.facts import EnvFacts
from .model.parse import SyntaxProblem, parse
from .pyenv import JudgedOnce
from .redact import redact_text
from .rule import Rule, RuleContext
from .rules import all_rules
from .settings import Settings, SettingsError, parse_settings
from .suppress import Suppressions
from .text import SourceText

if TYPE_CHECKING:
    from .project import ProjectContext
    from .workspace import Workspace

SYNTAX_ERROR_CODE = "ENV000"


@dataclass
class Analysis:
    path: str | None
    source: SourceText
    facts: EnvFacts | None
    findings: list[Finding]
    # A rule that crashed: logged by the adapters, never fatal; other rules still report.
    internal_errors: list[str] = field(default_factory=list)
    project: ProjectContext | None = None
    # The file could not be analysed at all (a bug in parse or facts): no finding is
    # trustworthy; `internal_errors` says why in one line, `traceback` has the detail.
    crashed: bool = False
    traceback: str | None = None
    # What it was analysed with, so a re-analysis (fix-all rounds) selects the same rules.
    settings: Settings | None = None
    workspace: Workspace | None = None

    @property
    def parsed(self) -> bool:
        return self.facts is not None


def analyze(
    text: str,
    path: str | None = None,
    *,
    project: ProjectContext | None = None,
    settings: Settings | None = None,
    rules: Iterable[Rule] | None = None,
    workspace: Workspace | None = None,
    environment: dict[str, str | None] | Iterable[tuple[str, str | None]] | None = None,
) -> Analysis:
    """`workspace`: the project's other files (ENV009, ENV023, ENV031, ENV032, ENV052 read it);
    `environment`: installed distributions to assume instead of looking them up.

    Never raises: a bug of ours on this file comes back as `crashed` with the error."""
    try:
        return _analyze(text, path, project, settings, rules, workspace, environment)
    except Exception as error:  # one file must never stop the others (CLI) or the server
        return Analysis(
            path,
            SourceText(text),
            None,
            [],
            [redact_text(f"analysis failed: {_one_line(error)}")],
            project,
            crashed=True,
            settings=settings,
            workspace=workspace,
            traceback=redact_text("".join(traceback.format_exception(error))),
        )


def _one_line(error: BaseException) -> str:
    where = traceback.extract_tb(error.__traceback__)
    at = f" ({where[-1].filename}:{where[-1].lineno})" if where else ""
    return f"{type(error).__name__}: {error}{at}"


def _analyze(
    text: str,
    path: str | None,
    project: ProjectContext | None,
    settings: Settings | None,
    rules: Iterable[Rule] | None,
    workspace: Workspace | None,
    environment: dict[str, str | None] | Iterable[tuple[str, str | None]] | None,
) -> Analysis:
    source = SourceText(text)
    settings = settings or Settings()
    # The tree and facts are thousands of short-lived acyclic objects: pausing the cycle
    # collector while they are built saves about a third of the time on large files.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        parsed = parse(source)
        if isinstance(parsed, SyntaxProblem):
            finding = Finding(SYNTAX_ERROR_CODE, parsed.message, Severity.ERROR, parsed.range)
            return Analysis(
                path,
                source,
                None,
                [finding],
                project=project,
                settings=settings,
                workspace=workspace,
            )
        facts = build_facts(parsed, source, project)
    finally:
        if gc_was_enabled:
            gc.enable()
    findings: list[Finding] = []
    errors: list[str] = []
    assumed = None
    if environment is not None:
        from .knowledge import normalize_distribution

        pairs = environment.items() if isinstance(environment, dict) else environment
        assumed = {normalize_distribution(name): version for name, version in pairs}
    judged = JudgedOnce()  # the project's environment, looked up by the first rule that asks
    for rule in rules if rules is not None else all_rules():
        if rule.code == SYNTAX_ERROR_CODE or not settings.enabled(rule.code):
            continue
        sink = FindingSink(rule.code, rule.severity)
        try:
            rule.check(RuleContext(facts, source, project, sink, path, workspace, assumed, judged))
        except Exception as error:  # a bug in one rule must not hide the others
            errors.append(redact_text(f"{rule.code} failed: {_one_line(error)}"))
            continue
        findings.extend(sink.items)

    suppressions = Suppressions(source)
    kept = []
    for finding in findings:
        if finding.path is None and (
            suppressions.suppresses(finding.code, finding.range.start.line)
            or suppressions.suppresses(finding.code, finding.range.end.line)
        ):
            continue
        override = settings.severity.get(finding.code)
        kept.append(finding.with_severity(override) if override else finding)
    kept.sort(key=lambda f: (f.path or "", f.range.start, f.code))
    return Analysis(
        path, source, facts, kept, errors, project, settings=settings, workspace=workspace
    )


def project_settings(project: ProjectContext | None, base: Settings | None = None) -> Settings:
    """Editor/CLI settings merged with `[tool.alembic-env-lsp]` (the file wins).

    Raises SettingsError with a message that names the file."""
    base = base or Settings()
    pyproject = getattr(project, "pyproject", None)
    if pyproject is None:
        return base
    if pyproject.error:
        raise SettingsError(f"{pyproject.path}: {pyproject.error}")
    table = pyproject.tool_alembic_env_lsp
    if not table:
        return base
    codes = {r.code for r in all_rules()}
    return base.merged_with(
        parse_settings(table, where=f"{pyproject.path} [tool.alembic-env-lsp]", known_codes=codes)
    )


__all__ = ["Analysis", "SettingsError", "analyze", "project_settings"]
