"""Editor settings: `initializationOptions.settings`, then `workspace/configuration`
(section `alembicEnv`, one answer per workspace folder).

    {"enable": true, "select": [], "ignore": [], "severity": {"ENV030": "info"}, "codeLens": true,
     "python": "/path/to/project/.venv/bin/python"}

The rule part (select/ignore/severity) is validated by `settings.parse_settings`, one key at
a time so that one bad value costs only that value; problems are reported, never fatal.
`python` is the project's interpreter, whose installed packages the environment rules judge
(pyenv.py decides what absent, "" and a path mean). Keys the extension sends for itself
(interpreter, serverArgs, trace, ...) are ignored.
`[tool.alembic-env-lsp]` in pyproject.toml is merged later, per env script (the file wins).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..settings import Settings, SettingsError, parse_settings

SECTION = "alembicEnv"
_RULE_KEYS = ("select", "ignore", "severity")


@dataclass(frozen=True)
class EditorSettings:
    enable: bool = True
    code_lens: bool = True
    rules: Settings = field(default_factory=Settings)
    problems: tuple[str, ...] = ()
    # The project's interpreter as the editor sent it: None = not sent (the server's own
    # interpreter is then the guess), "" = the editor does not know, else a path.
    python: str | None = None


DEFAULT = EditorSettings()


def parse_editor_settings(raw: Any, where: str = "editor settings") -> EditorSettings | None:
    """EditorSettings from what a client sent; None when it sent nothing usable."""
    if raw is None:
        return None
    if isinstance(raw, Mapping) and isinstance(raw.get(SECTION), Mapping):
        raw = raw[SECTION]  # {"alembicEnv": {...}} from a didChangeConfiguration push
    if not isinstance(raw, Mapping):
        return EditorSettings(
            problems=(f"{where}: expected an object, got {type(raw).__name__}; using defaults",)
        )
    problems: list[str] = []

    def flag(key: str, default: bool) -> bool:
        value = raw.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        problems.append(f"{where}: {key} must be true or false; using {str(default).lower()}")
        return default

    rules = Settings()
    codes = None  # checked against the rule catalog later (`unknown_codes`): importing it here would slow startup
    for key in _RULE_KEYS:
        value = raw.get(key)
        if value is None or (key == "select" and isinstance(value, (list, tuple)) and not value):
            continue  # an empty `select` means "every rule", as in the extension's defaults
        if key == "severity" and isinstance(value, Mapping):
            # one entry at a time, so a typo in one code keeps the others
            for code, level in value.items():
                try:
                    part = parse_settings(
                        {"severity": {code: level}}, where=where, known_codes=codes
                    )
                except SettingsError as error:
                    problems.append(str(error))
                    continue
                rules = rules.merged_with(part)
            continue
        try:
            rules = rules.merged_with(parse_settings({key: value}, where=where, known_codes=codes))
        except SettingsError as error:
            problems.append(str(error))
    python = raw.get("python")
    if python is not None and not isinstance(python, str):
        problems.append(f"{where}: python must be a path (a string); ignoring it")
        python = None
    return EditorSettings(
        enable=flag("enable", True),
        code_lens=flag("codeLens", True),
        rules=rules,
        problems=tuple(problems),
        python=python,
    )


def unknown_codes(settings: EditorSettings, known: set[str]) -> list[str]:
    """Codes or prefixes in the rule settings that match no rule (a typo silences nothing)."""
    rules = settings.rules
    named = list(rules.select or ()) + list(rules.ignore) + list(rules.severity)
    return sorted({c for c in named if not any(k.startswith(c) for k in known)})


class SettingsStore:
    """Settings by workspace folder; a file outside every folder gets the global ones."""

    def __init__(self) -> None:
        self.initial: EditorSettings = DEFAULT
        self.global_: EditorSettings | None = None
        self._folders: dict[str, EditorSettings | None] = {}  # folder -> settings (None: unknown)
        self._folder_uris: dict[str, str] = {}  # folder -> the URI the editor names it by

    # --- what the editor sends, at each step of the protocol; each returns the problems to show

    def initialize(self, init_options: Any, folders: list[tuple[str, str]]) -> list[str]:
        """`initializationOptions.settings` and the workspace folders as (uri, path)."""
        raw = init_options.get("settings") if isinstance(init_options, Mapping) else None
        self.set_initial(parse_editor_settings(raw, where="initializationOptions.settings"))
        self.set_workspace_folders(folders)
        return list(self.initial.problems)

    def set_workspace_folders(self, folders: list[tuple[str, str]]) -> None:
        self.set_folders([path for _, path in folders])
        self._folder_uris = {_norm(path): uri for uri, path in folders}

    def configuration_request(self) -> tuple[list[tuple[str, str | None]], list[str]]:
        """What to ask `workspace/configuration` for (our section globally, then per folder),
        and the folders the answers after the first belong to."""
        folders = self.folders()
        items: list[tuple[str, str | None]] = [(SECTION, None)]
        for folder in folders:
            items.append((SECTION, self._folder_uris.get(folder) or Path(folder).as_uri()))
        return items, folders

    def apply_configuration(self, values: list[Any], folders: list[str]) -> tuple[bool, list[str]]:
        """Store the answers to `configuration_request()`: (anything changed, problems)."""
        if not values:
            return False, []
        before = self._snapshot()
        self.set_global(parse_editor_settings(values[0], where="alembicEnv settings"))
        # a client may answer fewer items than asked: the folders left keep what they had
        for folder, value in zip(folders, values[1:], strict=False):
            where = f"alembicEnv settings of {folder}"
            self.set_folder(folder, parse_editor_settings(value, where=where))
        return self._changes(before)

    def apply_pushed(self, raw: Any) -> tuple[bool, list[str]]:
        """A `didChangeConfiguration` that carries the settings (clients without `configuration`)."""
        parsed = parse_editor_settings(raw, where="alembicEnv settings")
        if parsed is None:
            return False, []
        before = self._snapshot()
        self.set_global(parsed)
        return self._changes(before)

    def _snapshot(self) -> tuple:
        return self.for_path(None), tuple(self.for_path(f) for f in self.folders())

    def _changes(self, before: tuple) -> tuple[bool, list[str]]:
        after = self._snapshot()
        problems = [p for settings in [after[0], *after[1]] for p in settings.problems]
        return after != before, problems

    # --- the store

    def set_initial(self, settings: EditorSettings | None) -> None:
        self.initial = settings or DEFAULT

    def set_folders(self, paths: list[str]) -> None:
        self._folders = {_norm(p): self._folders.get(_norm(p)) for p in paths}

    def folders(self) -> list[str]:
        return list(self._folders)

    def set_global(self, settings: EditorSettings | None) -> None:
        self.global_ = settings

    def set_folder(self, path: str, settings: EditorSettings | None) -> None:
        self._folders[_norm(path)] = settings

    def folder_of(self, path: str | None) -> str | None:
        if not path:
            return None
        path = _norm(path)
        best = None
        for folder in self._folders:
            if path == folder or path.startswith(folder.rstrip(os.sep) + os.sep):
                if best is None or len(folder) > len(best):
                    best = folder
        return best

    def for_path(self, path: str | None) -> EditorSettings:
        folder = self.folder_of(path)
        if folder is not None and self._folders.get(folder) is not None:
            return self._folders[folder]  # type: ignore[return-value]
        return self.global_ or self.initial


def _norm(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))
