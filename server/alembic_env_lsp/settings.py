"""Which rules run and how loud: `[tool.alembic-env-lsp]` in pyproject.toml and editor settings.

[tool.alembic-env-lsp]
select = ["ENV0"]            # codes or prefixes; default: every rule
ignore = ["ENV042"]
severity = { ENV030 = "info" }
python = ".venv/bin/python"  # the project's interpreter or environment folder (pyenv.py);
                             # relative to this pyproject.toml
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .findings import Severity

KNOWN_KEYS = ("select", "ignore", "severity", "python")


class SettingsError(ValueError):
    """A setting that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] | None = None  # None: all rules
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    python: str | None = None  # the project's interpreter (pyenv.py reads it where it applies)

    def enabled(self, code: str) -> bool:
        if self.select is not None and not any(code.startswith(p) for p in self.select):
            return False
        return not any(code.startswith(p) for p in self.ignore)

    def severity_of(self, code: str, default: Severity) -> Severity:
        return self.severity.get(code, default)

    def merged_with(self, override: Settings | None) -> Settings:
        """`override` wins key by key (the project file wins over editor settings)."""
        if override is None:
            return self
        return replace(
            self,
            select=override.select if override.select is not None else self.select,
            ignore=override.ignore or self.ignore,
            severity={**self.severity, **override.severity},
            python=override.python if override.python is not None else self.python,
        )


def parse_settings(raw: Mapping[str, Any] | None, *, where: str, known_codes=None) -> Settings:
    """Validate a settings table; raises SettingsError with a message naming `where`."""
    if not raw:
        return Settings()
    if not isinstance(raw, Mapping):
        raise SettingsError(f"{where}: expected a table of settings, got {type(raw).__name__}")
    unknown = [k for k in raw if k not in KNOWN_KEYS and k not in _EDITOR_ONLY]
    if unknown:
        raise SettingsError(
            f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(KNOWN_KEYS)})"
        )

    def codes(key: str) -> tuple[str, ...] | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f'{where}: {key} must be a list of rule codes like ["ENV001"]')
        result = tuple(v.strip().upper() for v in value if v.strip())
        for code in result:
            if not code.startswith("ENV") or (
                known_codes is not None and not any(k.startswith(code) for k in known_codes)
            ):
                raise SettingsError(f"{where}: {key} has {code!r}, which matches no rule")
        return result

    severity_raw = raw.get("severity") or {}
    if not isinstance(severity_raw, Mapping):
        raise SettingsError(f'{where}: severity must be a table like {{ ENV030 = "info" }}')
    severity: dict[str, Severity] = {}
    for code, level in severity_raw.items():
        code_u = str(code).strip().upper()
        if known_codes is not None and code_u not in known_codes:
            raise SettingsError(f"{where}: severity names {code!r}, which is not a rule code")
        if not isinstance(level, str):
            raise SettingsError(f"{where}: severity of {code} must be a string")
        try:
            severity[code_u] = Severity.parse(level)
        except ValueError as error:
            raise SettingsError(f"{where}: severity of {code}: {error}") from None
    python = raw.get("python")
    if python is not None and not isinstance(python, str):
        raise SettingsError(f'{where}: python must be a path like ".venv/bin/python"')
    return Settings(
        select=codes("select"),
        ignore=codes("ignore") or (),
        severity=severity,
        python=(python.strip() or None) if isinstance(python, str) else None,
    )


# Keys the editor extension sends alongside the rule settings; not rule settings themselves.
_EDITOR_ONLY = ("enable", "interpreter", "serverArgs", "codeLens", "trace", "showNotifications")
