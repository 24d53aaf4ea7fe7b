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
    def parse(name: str) -> Severity:
        try:
            return Severity[name.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity {name!r} (use one of: error, warning, info, hint)"
            ) from None


class Fix:
    """A change that resolves a finding. `safe` fixes may be applied without review
    (`check --fix`, `source.fixAll`); unsafe ones change behaviour or need a new package.

    Heavy fixes (whole-file rewrites) pass `compute` instead of `edits`: it runs the first
    time `edits` is read, i.e. when a user asks for code actions, not on every keystroke."""

    __slots__ = ("title", "safe", "_edits", "_compute")

    def __init__(
        self, title: str, edits: tuple[TextEdit, ...] = (), safe: bool = True, *, compute=None
    ):
        self.title = title
        self.safe = safe
        self._edits = None if compute is not None else tuple(edits)
        self._compute = compute

    @property
    def edits(self) -> tuple[TextEdit, ...]:
        if self._edits is None:
            try:
                self._edits = tuple(self._compute() or ())
            except Exception:
                self._edits = ()  # a failing rewrite offers nothing rather than breaking the request
            self._compute = None
        return self._edits

    def __repr__(self) -> str:
        state = "lazy" if self._edits is None else f"{len(self._edits)} edits"
        return f"Fix({self.title!r}, {state}, safe={self.safe})"


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
    related: tuple[Finding, ...] = ()

    @property
    def fixable(self) -> bool:
        return any(f.safe for f in self.fixes)

    def with_severity(self, severity: Severity) -> Finding:
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
