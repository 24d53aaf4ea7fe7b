"""What the engine reports: findings and their fixes. No editor or LSP types here."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from .text import Range, TextEdit


class Severity(enum.IntEnum):
    # Same numbers as LSP's DiagnosticSeverity so adapters convert by value.
    ERROR = 1
    WARNING = 2
    INFO = 3
    HINT = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @staticmethod
    def parse(name: str) -> "Severity":
        try:
            return Severity[name.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity {name!r} (use one of: error, warning, info, hint)"
            ) from None


@dataclass(frozen=True)
class Fix:
    """A change that resolves a finding. `safe` fixes may be applied without review
    (`check --fix`, `source.fixAll`); unsafe ones change behaviour or need a new package."""

    title: str
    edits: tuple[TextEdit, ...]
    safe: bool = True


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    severity: Severity
    range: Range
    # None: the analysed env.py. Otherwise the file the finding is shown on (e.g. alembic.ini).
    path: str | None = None
    fixes: tuple[Fix, ...] = ()
    # Where else the same problem shows (e.g. the ini line an env.py finding reads).
    related: tuple["Finding", ...] = ()

    @property
    def fixable(self) -> bool:
        return any(f.safe for f in self.fixes)

    def with_severity(self, severity: Severity) -> "Finding":
        return replace(
            self,
            severity=severity,
            related=tuple(r.with_severity(severity) for r in self.related),
        )


@dataclass
class FindingSink:
    """Collects findings from one rule; rules call `report` and never build lists themselves."""

    code: str
    default_severity: Severity
    items: list[Finding] = field(default_factory=list)

    def report(
        self,
        message: str,
        range: Range,
        *,
        severity: Severity | None = None,
        fixes: tuple[Fix, ...] | list[Fix] = (),
        path: str | None = None,
        related: tuple[Finding, ...] | list[Finding] = (),
    ) -> Finding:
        finding = Finding(
            code=self.code,
            message=message,
            severity=severity or self.default_severity,
            range=range,
            path=path,
            fixes=tuple(fixes),
            related=tuple(related),
        )
        self.items.append(finding)
        return finding
