"""Hover on alembic.ini: `sqlalchemy.url` (dialect, driver, support, package, which env.py
reads it and with which engine), `script_location`, and section headers (logging included)."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import names as N
from ..model.facts import EnvFacts
from ..pyenv import sqlalchemy_basis
from ..text import Position, Range, SourceText
from .common import (
    HoverResult,
    assemble,
    compose,
    finding_covers,
    finding_sections,
    shorten,
)
from .texts import LOGGING_HEADERS
from .url import engine_mode, shown_url, url_lines, verdict_for

if TYPE_CHECKING:
    from ..config_files import IniFile
    from ..engine import Analysis
    from ..project import ProjectContext


# configparser's own option pattern: the line is located the way Alembic's Config reads it.
_OPTION = configparser.RawConfigParser.OPTCRE


def hover_ini(
    project: ProjectContext | None,
    ini_path: str,
    ini_text: str,
    position: Position,
    *,
    analysis: Analysis | None = None,
) -> HoverResult | None:
    """Hover on alembic.ini: `sqlalchemy.url`, `script_location` and section headers.

    `analysis`: the current Analysis of the env.py paired with this ini, if the caller has
    one; otherwise that env.py is read from disk and its facts built (no rules run)."""
    from ..config_files import IniFile

    source = SourceText(ini_text[1:] if ini_text.startswith("\ufeff") else ini_text)
    if position.line < 0 or position.line >= source.line_count:
        return None
    line = source.line(position.line)
    if position.character >= len(line) or line[position.character].isspace():
        return None
    stripped = line.lstrip()
    if not stripped or stripped[0] in "#;":
        return None
    ini = IniFile(Path(ini_path), ini_text)
    header = _header_at(ini, position.line)
    if header is not None:
        name, rng = header
        if not rng.start.character <= position.character < rng.end.character:
            return None
        text = _ini_header_text(project, ini, name, ini_path, analysis)
        return _ini_result(text, rng, ini_path, position, analysis)
    section = _section_of(ini, position.line)
    option = _OPTION.match(stripped)
    found = ini.get(section, option.group("option").strip()) if section and option else None
    if section is None or option is None or found is None or found.line != position.line:
        # not an option line as configparser reads it (a continuation, a comment, ...)
        return _ini_result(None, None, ini_path, position, analysis)
    key = found.key
    start = len(line) - len(stripped) + option.start("option")
    key_end = start + len(option.group("option").rstrip())
    end = found.value_range.end.character if found.raw else key_end
    if not start <= position.character < max(end, key_end):
        return _ini_result(None, None, ini_path, position, analysis)
    rng = Range.of(position.line, start, position.line, end)
    text = None
    if key == "sqlalchemy.url":
        text = _ini_url_text(project, ini, section, ini_path, analysis)
    elif key == "script_location" and section == "alembic":
        text = _ini_script_location_text(project, ini, section)
    return _ini_result(text, rng, ini_path, position, analysis)


def _ini_result(
    text: str | None, rng: Range | None, ini_path: str, position: Position, analysis
) -> HoverResult | None:
    """The symbol text plus, over a finding shown on this ini, the finding and its rule's docs."""
    hits = []
    if analysis is not None:
        for finding in analysis.findings:
            for shown in (finding, *finding.related):
                if (
                    shown.path is not None
                    and _same_path(shown.path, ini_path)
                    and finding_covers(shown.range, position)
                ):
                    hits.append(shown)
    if not text and not hits:
        return None
    if rng is None:
        rng = hits[0].range
    return HoverResult(assemble(text, finding_sections(hits)), rng)


def _header_at(ini: IniFile, line: int) -> tuple[str, Range] | None:
    """The section whose header is on `line` (from the ini reader), with the header's range."""
    for name in ini.sections():
        rng = ini.section_range(name)
        if rng is not None and rng.start.line == line:
            return name, rng
    return None


def _section_of(ini: IniFile, line: int) -> str | None:
    """The section a line belongs to: the last header at or above it."""
    best: tuple[int, str] | None = None
    for name in ini.sections():
        rng = ini.section_range(name)
        if (
            rng is not None
            and rng.start.line <= line
            and (best is None or rng.start.line > best[0])
        ):
            best = (rng.start.line, name)
    return best[1] if best else None


def _ini_url_text(project, ini: IniFile, section: str, ini_path: str, analysis) -> str:
    found = ini.get(section, "sqlalchemy.url")
    lines: list[str] = []
    if found is None or found.value is None:
        error = found.error if found is not None else None
        lines.append(f"The value cannot be read{': ' + error if error else ''}.")
    else:
        lines.append(
            f"Value: `{shown_url(found.value)}`"
            + (" (after `%` interpolation)" if "%(" in found.raw else "")
        )
        lines.extend(url_lines(found.value, project=project))
    lines.extend(
        _ini_readers(
            project, ini_path, section, found.value if found is not None else None, analysis
        )
    )
    doc = (
        'The database URL Alembic\'s templates read with `config.get_main_option("sqlalchemy.url")` (offline) and '
        '`config.get_section(config.config_ini_section)` with `prefix="sqlalchemy."` (online). `%` is '
        "configparser interpolation here: a literal `%` in a password must be written `%%`."
    )
    return compose(f"**`sqlalchemy.url`** · `[{section}]`", doc, lines)


def _ini_readers(project, ini_path: str, section: str, value: str | None, analysis) -> list[str]:
    facts, env_path = _paired_facts(project, ini_path, analysis)
    if env_path is None:
        return ["No env.py whose folder this ini's `script_location` names was found."]
    lines = []
    shown = _display_path(env_path, ini_path)
    if facts is None:
        return [f"Read by `{shown}` (it could not be parsed)."]
    source = facts.source
    readers = [
        e
        for e in facts.engines
        if e.url.ini_path is not None and _same_path(e.url.ini_path, ini_path)
    ]
    for engine in readers:
        line = source.from_utf8(engine.call.node.lineno, engine.call.node.col_offset).line + 1
        kind = "an AsyncEngine" if engine.is_async else "a sync Engine"
        text = f"`{shown}` line {line}: `{engine.factory}` builds {kind} from it"
        basis = sqlalchemy_basis(project)
        verdict = verdict_for(value, engine_mode(engine), basis) if value else None
        lines.append(text + (f". {verdict}" if verdict else "."))
    offline = [c for c in facts.configures if c.mode == "offline" and c.keyword("url") is not None]
    for configure in offline:
        line = configure.call.node.lineno
        lines.append(
            f"`{shown}` line {line}: the offline `context.configure(url=...)` (no driver loaded)."
        )
    if not readers and not offline:
        lines.append(
            f"`{shown}` is paired with this ini but no engine built there reads this value."
        )
    return lines


def _paired_facts(project, ini_path: str, analysis) -> tuple[EnvFacts | None, Path | None]:
    env_path = getattr(project, "env_path", None)
    if analysis is not None and analysis.facts is not None:
        path = Path(analysis.path) if analysis.path else env_path
        return analysis.facts, path
    if env_path is None:
        return None, None
    ini = getattr(project, "ini", None)
    if (
        ini is not None
        and not _same_path(str(ini.path), ini_path)
        and not any(_same_path(str(o.path), ini_path) for o in getattr(project, "other_inis", []))
    ):
        return None, None
    from ..model.build import build_facts
    from ..model.parse import parse
    from ..project import MAX_ENV_SCRIPT_BYTES

    try:
        data = Path(env_path).read_bytes()[: MAX_ENV_SCRIPT_BYTES + 1]
        text = data.decode("utf-8", "replace")
    except OSError:
        return None, Path(env_path)
    if len(data) > MAX_ENV_SCRIPT_BYTES:
        return None, Path(env_path)
    source = SourceText(text[1:] if text.startswith("\ufeff") else text)
    tree = parse(source)
    if not isinstance(tree, ast.Module):
        return None, Path(env_path)
    return build_facts(tree, source, project), Path(env_path)


def _same_path(a: str, b: str) -> bool:
    import os

    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _display_path(env_path: Path, ini_path: str) -> str:
    import os

    try:
        return os.path.relpath(env_path, Path(ini_path).parent).replace(os.sep, "/")
    except ValueError:
        return str(env_path)


def _ini_script_location_text(project, ini: IniFile, section: str) -> str:
    doc = (
        "Where the migration environment (env.py, `script.py.mako`, `versions/`) lives. `%(here)s` is the ini "
        "file's folder; a relative path is taken from the working directory, normally the ini's folder; "
        "`package:dir` names a folder inside an installed package."
    )
    location = ini.script_location_for(section)
    lines = []
    if location is None:
        lines.append("It does not resolve to a folder.")
    else:
        env = location / "env.py"
        lines.append(
            f"Resolves to `{location}`"
            + (" (env.py found)." if env.is_file() else " (no env.py there).")
        )
    return compose("**`script_location`**", doc, lines)


def _ini_header_text(project, ini: IniFile, name: str, ini_path: str, analysis) -> str | None:
    lower = name.lower()
    if lower in LOGGING_HEADERS:
        doc = LOGGING_HEADERS[lower]
        title = f"**`[{name}]`** · logging"
    elif lower.startswith(("logger_", "handler_", "formatter_")):
        what, _, item = name.partition("_")
        doc = {
            "logger": f"Settings of logger `{item}`: `level`, `handlers` and `qualname` (the Python logger name). "
            + {
                "root": "This is the root logger: records of loggers without their own section end up here.",
                "sqlalchemy": "With `qualname = sqlalchemy.engine` at INFO it prints every SQL statement; the template keeps it at WARNING.",
                "alembic": "At INFO it prints Alembic's `Running upgrade …` lines; the template sets INFO.",
            }.get(item.lower(), ""),
            "handler": f"Settings of handler `{item}`: `class` (e.g. `StreamHandler`), `args` (evaluated, e.g. `(sys.stderr,)`), `level` and `formatter`.",
            "formatter": f"Settings of formatter `{item}`: `format` and `datefmt`, as for `logging.Formatter`.",
        }[what.lower()]
        title = f"**`[{name}]`** · logging"
        lines = _logging_item_lines(ini, what.lower(), item, name)
        return _ini_logging_text(project, ini, ini_path, analysis, title, doc, lines)
    elif lower == "alembic" or lower == getattr(project, "main_section", "alembic"):
        doc = (
            "The main section: `script_location`, `sqlalchemy.url`, `prepend_sys_path` and the other options "
            "`config.get_main_option()` reads. `alembic -n NAME` makes another section the main one."
        )
        title = f"**`[{name}]`** · Alembic's main section"
        return compose(title, doc, [])
    else:
        return None
    return _ini_logging_text(project, ini, ini_path, analysis, title, doc, [])


_LOGGING_ITEM_KEYS = {
    "logger": ("level", "handlers", "qualname", "propagate"),
    "handler": ("class", "args", "level", "formatter"),
    "formatter": ("format", "datefmt"),
}


def _logging_item_lines(ini: IniFile, what: str, item: str, section: str) -> list[str]:
    lines = []
    values = []
    for key in _LOGGING_ITEM_KEYS.get(what, ()):
        found = ini.get(section, key)
        if found is not None and found.section == section:
            raw = shorten(found.raw, 40)
            values.append(f"`{key} = {raw}`" if raw else f"`{key}` empty")
    if values:
        lines.append(", ".join(values) + ".")
    listing = {"logger": "loggers", "handler": "handlers", "formatter": "formatters"}.get(what)
    keys = ini.get(listing, "keys") if listing else None
    if keys is not None and keys.value is not None:
        names = [k.strip() for k in keys.value.split(",") if k.strip()]
        if item not in names:
            lines.append(
                f"`{item}` is not listed in `[{listing}] keys`, so `fileConfig` ignores this section."
            )
    return lines


def _ini_logging_text(
    project, ini: IniFile, ini_path: str, analysis, title: str, doc: str, lines: list[str]
) -> str:
    missing = ini.missing_logging_sections()
    if missing:
        lines.append(
            f"This file has no `[{']`, `['.join(missing)}]`: `fileConfig` would raise `KeyError: '{missing[0]}'`."
        )
    facts, env_path = _paired_facts(project, ini_path, analysis)
    if facts is not None:
        shown = _display_path(env_path, ini_path) if env_path else "env.py"
        calls = facts.calls_named(N.FILE_CONFIG)
        if calls:
            line = calls[0].node.lineno
            lines.append(f"`{shown}` line {line} calls `fileConfig`, which applies these sections.")
        else:
            lines.append(f"`{shown}` does not call `fileConfig`: these sections are not applied.")
    return compose(title, doc, lines)
