"""alembic.ini and pyproject.toml, read the way Alembic's `Config` reads them, without
importing or running anything of the project (which files belong to an env.py is project.py's).

Alembic's `Config.file_config` is `ConfigParser({"here": <ini dir as POSIX path>})` (strict,
BasicInterpolation) reading the ini; `get_main_option`/`get_section` read only that ini,
and `get_alembic_option` falls back to `[tool.alembic]` of pyproject.toml. The same
interpreter's `configparser` is used here, so values and error texts are the ones
Alembic would produce. configparser does not report line numbers, so a small scanner that
follows configparser's own line rules supplies them.

Nothing here raises on a bad file: `error` carries a one-line, password-free reason.
"""

from __future__ import annotations

import configparser
import os
import re
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .redact import is_secret_name, password_span, redact_text
from .text import Range

_toml: Any
if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - Python 3.10
    try:
        import tomli as _toml  # type: ignore[import-not-found, no-redef]
    except ModuleNotFoundError:
        _toml = None

MAIN_SECTION = "alembic"
# Larger files are not configuration anyone writes by hand; refuse rather than stall.
MAX_CONFIG_BYTES = 2 * 1024 * 1024
LOGGING_SECTIONS = ("formatters", "handlers", "loggers")

_SECTION_HEADER = configparser.RawConfigParser.SECTCRE
_OPTION_LINE = configparser.RawConfigParser.OPTCRE
_COMMENT_PREFIXES = ("#", ";")


@dataclass(frozen=True)
class IniValue:
    key: str
    section: str
    raw: str
    value: str | None
    error: str | None
    line: int
    value_range: Range


@dataclass(frozen=True)
class _Located:
    line: int
    value_start: int
    value_end: int


class IniFile:
    """One ini file. `error` is set when Alembic itself could not read it (then the values
    come from a lenient re-read, for hovers and positions only)."""

    def __init__(self, path: Path, text: str, error: str | None = None):
        self.path = Path(path)
        # Editors do not count a byte-order mark as a character, so positions skip it.
        self.has_bom = text.startswith("\ufeff")
        self.text = text[1:] if self.has_bom else text
        self.here = Path(os.path.abspath(self.path)).parent.as_posix()
        self.error: str | None = error
        self._parser = self._parse(text)
        self._sections_in_order: list[str] = []
        self._headers: dict[str, int] = {}
        self._options: dict[tuple[str, str], _Located] = {}
        self._entries: dict[int, tuple[str, str | None]] = {}  # line -> (section, option)
        self._scan()
        if self.error is None:
            self.error = self._interpolation_loop()

    # --- construction ---

    @classmethod
    def read(cls, path: Path) -> IniFile:
        """Read a file from disk; never raises."""
        path = Path(path)
        data, error = read_bytes(path, MAX_CONFIG_BYTES)
        if data is None:
            return cls(path, "", error)
        if b"\x00" in data:
            return cls(path, "", "binary file (contains NUL bytes), not an ini file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return cls(
                path,
                data.decode("utf-8", "replace"),
                f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                "Alembic reads ini files in the locale encoding",
            )
        return cls(path, text)

    def _parse(self, original: str) -> configparser.ConfigParser:
        normalized = _universal_newlines(original)
        strict = configparser.ConfigParser({"here": self.here})
        try:
            strict.read_string(normalized, source=str(self.path))
            return strict
        except configparser.MissingSectionHeaderError as exc:
            if original.startswith("\ufeff"):
                self._set_error(
                    "starts with a UTF-8 byte-order mark, so configparser finds no section "
                    "header on line 1 (MissingSectionHeaderError); save it without BOM"
                )
            else:
                self._set_error(f"{type(exc).__name__}: {_one_line(exc)}")
        except configparser.ParsingError as exc:
            # configparser keeps every good line and reports the bad ones at the end.
            self._set_error(f"{type(exc).__name__}: {_one_line(exc)}")
            return strict
        except Exception as exc:  # DuplicateSectionError, DuplicateOptionError, ...
            self._set_error(f"{type(exc).__name__}: {_one_line(exc)}")
        lenient = configparser.ConfigParser({"here": self.here}, strict=False)
        try:
            lenient.read_string(_universal_newlines(self.text), source=str(self.path))
        except configparser.ParsingError:
            pass
        except Exception:
            lenient = configparser.ConfigParser({"here": self.here}, strict=False)
        return lenient

    def _set_error(self, message: str) -> None:
        if self.error is None:
            self.error = redact_text(message)

    def _scan(self) -> None:
        """Where each section header and option is, following configparser's `_read` rules."""
        section: str | None = None
        option: str | None = None
        indent_level = 0
        for index, line in enumerate(_universal_newlines(self.text).split("\n")):
            stripped = line.strip()
            if not stripped or stripped.startswith(_COMMENT_PREFIXES):
                if section is not None:
                    self._entries[index] = (section, None)
                continue
            indent = len(line) - len(line.lstrip())
            if section is not None and option and indent > indent_level:
                self._entries[index] = (section, option)
                continue  # continuation of the current value
            indent_level = indent
            header = _SECTION_HEADER.match(stripped)
            if header:
                section = header.group("header")
                option = None
                self._entries[index] = (section, None)
                if section not in self._headers:
                    self._headers[section] = index
                    self._sections_in_order.append(section)
                continue
            if section is None:
                return  # configparser stops here too (MissingSectionHeaderError)
            match = _OPTION_LINE.match(stripped)
            if not match:
                self._entries[index] = (section, None)
                continue
            option = match.group("option").rstrip().lower()
            self._entries[index] = (section, option)
            raw_value = match.group("value")
            offset = indent + match.start("value")
            start = offset + len(raw_value) - len(raw_value.lstrip())
            self._options[(section, option)] = _Located(
                index, start, start + len(raw_value.strip())
            )

    def _interpolation_loop(self) -> str | None:
        parser = self._parser
        for section in [parser.default_section, *parser.sections()]:
            for located_section, key in self._options:
                if located_section != section:
                    continue
                try:
                    raw = parser.get(section, key, raw=True)
                    if "%(" in raw:
                        parser.get(section, key)
                except configparser.InterpolationDepthError as exc:
                    return self._redact_error(f"interpolation loop: {_one_line(exc)}", section)
                except Exception:
                    continue
        return None

    # --- queries ---

    def has_section(self, name: str) -> bool:
        return self._parser.has_section(name)

    def entry_at(self, line: int) -> tuple[str, str | None] | None:
        """(section, option) of a 0-based line: the option whose line or continuation it is,
        or None for a header, comment or blank line of the section; None before any section."""
        return self._entries.get(line)

    def sections(self) -> list[str]:
        return self._parser.sections()

    def section_range(self, name: str) -> Range | None:
        line = self._headers.get(name)
        if line is None:
            return None
        text = self._line(line)
        start = len(text) - len(text.lstrip())
        return Range.of(line, start, line, len(text.rstrip()))

    def get(self, section: str, key: str) -> IniValue | None:
        """An option as Alembic's `Config` sees it; inherited [DEFAULT] values included."""
        parser = self._parser
        key = key.lower()
        if section != parser.default_section and not parser.has_section(section):
            return None
        located_section = section
        located = self._options.get((section, key))
        if located is None:
            located_section = parser.default_section
            located = self._options.get((parser.default_section, key))
        if located is None:
            return None  # e.g. "here": Alembic supplies it, the file does not say it
        try:
            raw = parser.get(section, key, raw=True)
        except Exception:
            return None
        value: str | None
        error: str | None = None
        try:
            value = parser.get(section, key)
        except Exception as exc:
            value = None
            error = self._redact_error(f"{type(exc).__name__}: {_one_line(exc)}", section)
        return IniValue(
            key=key,
            section=located_section,
            raw=raw,
            value=value,
            error=error,
            line=located.line,
            value_range=Range.of(
                located.line, located.value_start, located.line, located.value_end
            ),
        )

    def script_location_for(self, section: str = MAIN_SECTION) -> Path | None:
        found = self.get(section, "script_location")
        if found is None or found.value is None:
            return None
        return resolve_script_location(
            found.value, Path(self.here), self._prepend_sys_path(section)
        )

    @property
    def script_location(self) -> Path | None:
        return self.script_location_for(MAIN_SECTION)

    def missing_logging_sections(self) -> list[str]:
        """The logging sections `fileConfig` needs and this file lacks, in the order
        `logging.config.fileConfig` reads them (formatters, handlers, loggers)."""
        return [name for name in LOGGING_SECTIONS if not self.has_section(name)]

    def _prepend_sys_path(self, section: str) -> list[str]:
        found = self.get(section, "prepend_sys_path")
        if found is None or not found.value:
            return []
        return [p for p in re.split(rf"[\s,{re.escape(os.pathsep)}]+", found.value) if p]

    def _line(self, index: int) -> str:
        lines = _universal_newlines(self.text).split("\n")
        return lines[index] if 0 <= index < len(lines) else ""

    def _redact_error(self, message: str, section: str) -> str:
        """configparser quotes the rest of a value after a bad '%': mask any part of a password."""
        parser = self._parser
        secrets: list[tuple[str, int, int]] = []
        for where, key in self._options:
            if where not in (section, parser.default_section):
                continue
            try:
                raw = parser.get(where, key, raw=True)
            except Exception:
                continue
            span = password_span(raw)
            if span is not None:
                secrets.append((raw, *span))
            elif is_secret_name(key) and len(raw) >= 3:
                secrets.append((raw, 0, len(raw)))
        for raw, start, end in secrets:
            for cut in range(start, end):
                tail = raw[cut:]
                # A tail of one or two characters would mask every such letter in the message.
                if len(tail) >= 3 and tail in message:
                    message = message.replace(tail, "***" + raw[end:])
                    break
        return redact_text(message)

    def __repr__(self) -> str:
        return f"IniFile({str(self.path)!r}, error={self.error!r})"


@dataclass(frozen=True)
class PyProject:
    path: Path
    data: dict
    error: str | None
    tool_alembic: dict = field(default_factory=dict)
    tool_alembic_env_lsp: dict = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> PyProject:
        path = Path(path)
        raw, error = read_bytes(path, MAX_CONFIG_BYTES)
        if raw is None:
            return cls(path, {}, error)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return cls(path, {}, "not UTF-8 text, so not TOML")
        return cls.from_text(path, text)

    @classmethod
    def from_text(cls, path: Path, text: str) -> PyProject:
        path = Path(path)
        if _toml is None:
            return cls(path, {}, "no TOML parser available (install tomli on Python 3.10)")
        try:
            data = _toml.loads(text)
        except Exception as exc:
            return cls(path, {}, redact_text(f"not valid TOML: {_one_line(exc)}"))
        tool = data.get("tool")
        tool = tool if isinstance(tool, dict) else {}
        alembic = tool.get("alembic", {})
        error = None
        if not isinstance(alembic, dict):
            # Alembic's Config.toml_alembic_config raises CommandError("Incorrect TOML format").
            error, alembic = "[tool.alembic] is not a table (Alembic: Incorrect TOML format)", {}
        ours = tool.get("alembic-env-lsp", {})
        return cls(path, data, error, alembic, ours if isinstance(ours, dict) else {})

    @property
    def here(self) -> str:
        return Path(os.path.abspath(self.path)).parent.as_posix()

    @property
    def script_location(self) -> Path | None:
        """`[tool.alembic] script_location`, %-formatted with `here` like
        `Config._get_toml_config_value`."""
        value = self.tool_alembic.get("script_location")
        if not isinstance(value, str):
            return None
        try:
            value = value % {"here": self.here}
        except (KeyError, ValueError, TypeError):
            return None
        prepend = self.tool_alembic.get("prepend_sys_path")
        extra = [p for p in prepend if isinstance(p, str)] if isinstance(prepend, list) else []
        return resolve_script_location(value, Path(self.here), extra)


def resolve_script_location(
    value: str, base: Path, prepend_sys_path: Iterable[str] = ()
) -> Path | None:
    """Where `script_location` points, like alembic's `coerce_resource_to_filename`.

    A relative path is taken relative to the config file's folder (Alembic uses the
    working directory, which is normally that folder). `package:dir` is found by looking
    for the package's folder instead of importing it; None if it is not found."""
    value = value.strip()
    if not value:
        return None
    if not os.path.isabs(value) and ":" in value:
        package, *parts = value.split(":")
        if not package:
            return None
        relative = Path(*package.split("."))
        roots = [base] + [Path(p) if os.path.isabs(p) else base / p for p in prepend_sys_path]
        for root in roots:
            folder = root / relative
            if folder.is_dir():
                return Path(os.path.normpath(folder.joinpath(*parts)))
        return None
    path = Path(value)
    if not path.is_absolute():
        path = base / path
    return Path(os.path.normpath(path))


# --- small helpers ---


def read_bytes(path: Path, limit: int) -> tuple[bytes | None, str | None]:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None, "not a regular file"
        if info.st_size > limit:
            return None, f"file too large ({info.st_size} bytes; limit {limit})"
        with open(path, "rb") as handle:
            return handle.read(limit + 1), None
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or type(exc).__name__}"


def _universal_newlines(text: str) -> str:
    # Alembic opens the ini in text mode, which turns \r\n and \r into \n.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _one_line(exc: BaseException) -> str:
    return re.sub(r"\s*\n\s*", " ", str(exc)).strip()
