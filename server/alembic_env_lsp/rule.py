"""The shape of a rule: code, message, docs, examples and check, in one small unit.

Each module in `rules/` defines `RULE = Rule(...)`. The docs feed `explain`, hovers and the
README table; the examples become tests (tests/test_rule_examples.py)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .findings import Finding, FindingSink, Fix, Severity
from .model.facts import Confidence, EnvFacts, UrlValue
from .text import Range, SourceText

if TYPE_CHECKING:
    from .project import ProjectContext
    from .pyenv import JudgedOnce
    from .workspace import Workspace


@dataclass(frozen=True)
class Example:
    """A snippet (a whole env.py) with what the rule must say about it.

    `ini`: alembic.ini text; the example is then checked as a project with that ini.
    `span`: for INVALID examples, the exact text the first finding's range covers.
    `message`: a substring of the first finding's message.
    `also`: the rule's further findings on the example, in order, as (span, message substring
    or None); without it the first finding must be the only one.
    `fixed`: the file after applying the first finding's first fix.
    `severity`: the severity the first finding must have (default: the rule's).
    `note`: why the example is there (the trap it covers).
    `pyproject`: pyproject.toml text written next to env.py (and the ini).
    `files`: other files of the project, as (relative path, text) pairs; the example is then
    checked with a workspace (ENV023, ENV031, ENV032, ENV052).
    `environment`: installed distributions to assume instead of the real ones, as
    (name, version) pairs; version None means "not installed" (ENV035, ENV056).
    """

    code: str
    ini: str | None = None
    span: str | None = None
    message: str | None = None
    fixed: str | None = None
    fixed_ini: str | None = None
    severity: Severity | None = None
    note: str = ""
    pyproject: str | None = None
    files: tuple[tuple[str, str], ...] = ()
    environment: tuple[tuple[str, str | None], ...] | None = None
    also: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Docs:
    what: str
    why: str
    example: str
    instead: str
    fix_safety: str


@dataclass
class RuleContext:
    facts: EnvFacts
    source: SourceText
    project: ProjectContext | None
    sink: FindingSink
    path: str | None = None
    # The other files of the project (imports, models, app code); None: this file alone.
    workspace: Workspace | None = None
    # Installed distributions to assume, by normalised name (None: not installed);
    # names not given are looked up in the environment the engine runs in.
    environment: dict[str, str | None] | None = None
    # The environment the rules judge, looked up once per analysis (pyenv.judged_environment).
    judged: JudgedOnce | None = None

    def installed_version(self, distribution: str) -> str | None:
        """The version of an installed distribution ("alembic", "greenlet"), or None."""
        from .knowledge import installed_version, normalize_distribution

        name = normalize_distribution(distribution)
        if self.environment is not None and name in self.environment:
            return self.environment[name]
        return installed_version(name)

    def range(self, node: ast.AST) -> Range:
        return self.source.node_range(node)

    def report(self, message: str, node_or_range, **kwargs) -> Finding:
        rng = node_or_range if isinstance(node_or_range, Range) else self.range(node_or_range)
        return self.sink.report(message, rng, **kwargs)

    def ini_source(self) -> SourceText | None:
        ini = getattr(self.project, "ini", None)
        return SourceText(ini.text) if ini is not None else None

    def severity_for(self, url: UrlValue, base: Severity | None = None) -> Severity | None:
        """docs/architecture.md, URL confidence: literal keeps the severity, a default drops error→warning,
        a heuristic drops to info, an unknown URL reports nothing."""
        base = base or self.sink.default_severity
        if url.confidence is Confidence.LITERAL:
            return base
        if url.confidence is Confidence.DEFAULT:
            return max(base, Severity.WARNING)
        if url.confidence is Confidence.HEURISTIC:
            return Severity.INFO
        return None


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str  # one line: the README table and `rules`
    docs: Docs
    check: Callable[[RuleContext], None]
    valid: tuple[Example, ...] = ()
    invalid: tuple[Example, ...] = ()
    fixable: bool = False  # has a fix for at least some findings

    def markdown(self) -> str:
        d = self.docs
        parts = [
            f"### {self.code} ({self.name})",
            f"*Default severity: {self.severity.label}.* {self.summary}",
            f"**What it does.** {d.what}",
            f"**Why it matters.** {d.why}",
            f"**Example.**\n\n```python\n{d.example.strip()}\n```",
            f"**Use instead.**\n\n```python\n{d.instead.strip()}\n```",
            f"**Fix safety.** {d.fix_safety}",
        ]
        return "\n\n".join(parts)

    def text(self) -> str:
        d = self.docs
        return (
            f"{self.code} ({self.name}), default severity {self.severity.label}\n\n"
            f"{self.summary}\n\n"
            f"What it does\n  {d.what}\n\nWhy it matters\n  {d.why}\n\n"
            f"Example\n{_indent(d.example)}\n\nUse instead\n{_indent(d.instead)}\n\n"
            f"Fix safety\n  {d.fix_safety}\n"
        )


def _indent(code: str) -> str:
    return "\n".join("    " + line if line else "" for line in code.strip("\n").splitlines())


__all__ = ["Docs", "Example", "Fix", "Rule", "RuleContext", "Severity"]
