from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..findings import Finding, Fix, Severity
from ..model import names as N
from ..model.facts import UrlValue
from ..rule import Docs, Example, Rule, RuleContext
from ..text import Position, Range, SourceText, TextEdit
from . import _snippets as s
from ._common import constant_str

if TYPE_CHECKING:
    from ..config_files import PyProject

KEY = "sqlalchemy.url"
_TABLE = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
_KEY_LINE = re.compile(r"""^\s*(sqlalchemy\s*\.\s*url|"sqlalchemy\.url"|'sqlalchemy\.url')\s*=""")
_URL_IN_TABLE = re.compile(r"^\s*url\s*=")


def check(ctx: RuleContext) -> None:
    project = ctx.project
    pyproject = getattr(project, "pyproject", None)
    if pyproject is None or pyproject.error or not pyproject.tool_alembic:
        return
    form = _url_form(pyproject)
    if form is None:
        return
    ini = getattr(project, "ini", None)
    if ini is None and not _points_here(pyproject, ctx.path):
        return
    main = getattr(project, "main_section", "alembic") or "alembic"
    facts = ctx.facts
    located = _locate(pyproject)
    reported = False
    if form == "dotted":
        for call in facts.calls_named(N.CONFIG + ".get_alembic_option"):
            if call.node.args and constant_str(call.node.args[0]) == KEY:
                message = (
                    "[tool.alembic] writes sqlalchemy.url as a dotted key, which TOML reads as the table "
                    'sqlalchemy = {url = ...}; get_alembic_option("sqlalchemy.url") looks up the quoted key '
                    '"sqlalchemy.url" and returns None.'
                )
                fixes = _quote_fix(pyproject, located)
                ctx.report(
                    message,
                    call.node,
                    fixes=fixes,
                    related=_twin(message, pyproject, located, fixes),
                )
                reported = True
    sites: list[tuple[UrlValue, object]] = [
        (e.url, e.url_node or e.call.node.func) for e in facts.engines
    ]
    sites += [(c.url, c.keyword("url")) for c in facts.configures if c.url is not None]
    for url, anchor in sites:
        if url.ini_key != (main, KEY) or url.ini_value is not None or url.text is not None:
            continue
        has_main = ini is not None and ini.has_section(main)
        ini_name = ini.path.name if ini is not None else "alembic.ini"
        if has_main:
            consequence = "online: KeyError: 'url'; offline: \"Connection, url, or dialect_name is required.\""
        else:
            consequence = (
                f"and {ini_name} has no [{main}] section: offline \"No config file '{ini_name}' found, or file has no "
                f"'[{main}]' section\", online KeyError: 'url'"
            )
        message = (
            f"sqlalchemy.url is set in [tool.alembic] of pyproject.toml, but Config.get_main_option()/get_section() "
            f"read only the .ini file ({consequence})."
        )
        fixes = _move_fix(pyproject, located, ini, main) if has_main else []
        related = () if reported else _twin(message, pyproject, located, fixes)
        ctx.report(message, anchor, severity=Severity.ERROR, fixes=fixes, related=related)
        reported = True


def _url_form(pyproject: PyProject) -> str | None:
    table = pyproject.tool_alembic
    nested = table.get("sqlalchemy")
    if isinstance(nested, dict) and isinstance(nested.get("url"), str):
        return "dotted"
    if isinstance(table.get(KEY), str):
        return "quoted"
    return None


def _value(pyproject: PyProject) -> str | None:
    table = pyproject.tool_alembic
    nested = table.get("sqlalchemy")
    if isinstance(nested, dict) and isinstance(nested.get("url"), str):
        return nested["url"]
    value = table.get(KEY)
    return value if isinstance(value, str) else None


def _points_here(pyproject: PyProject, env_path: str | None) -> bool:
    location = pyproject.script_location
    if location is None or env_path is None:
        return False
    return os.path.realpath(location) == os.path.realpath(
        os.path.dirname(os.path.abspath(env_path))
    )


def _locate(pyproject: PyProject) -> tuple[SourceText, int, str] | None:
    """(text, 0-based line, line text) of the URL's key in pyproject.toml."""
    try:
        text = Path(pyproject.path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    source = SourceText(text)
    table = None
    for index in range(source.line_count):
        line = source.line(index)
        header = _TABLE.match(line)
        if header and not line.lstrip().startswith("[["):
            table = header.group(1).replace(" ", "")
            continue
        if table == "tool.alembic" and _KEY_LINE.match(line):
            return source, index, line
        if table == "tool.alembic.sqlalchemy" and _URL_IN_TABLE.match(line):
            return source, index, line
    return None


def _twin(message: str, pyproject: PyProject, located, fixes) -> tuple[Finding, ...]:
    if located is None:
        return ()
    _, index, line = located
    start = len(line) - len(line.lstrip())
    rng = Range.of(index, start, index, len(line.rstrip()))
    return (
        Finding(
            RULE.code, message, Severity.ERROR, rng, path=str(pyproject.path), fixes=tuple(fixes)
        ),
    )


def _move_fix(pyproject: PyProject, located, ini, main: str) -> list[Fix]:
    value = _value(pyproject)
    header = ini.section_range(main)
    if value is None or header is None or "\n" in value:
        return []
    ini_source = SourceText(ini.text)
    eol = ini_source.line_ending()
    at = Position(header.start.line, len(ini_source.line(header.start.line)))
    escaped = value.replace("%", "%%")
    edits = [TextEdit(Range(at, at), f"{eol}{KEY} = {escaped}", path=str(ini.path))]
    if located is not None:
        source, index, _ = located
        end = (
            Position(index + 1, 0)
            if index + 1 < source.line_count
            else Position(index, len(source.line(index)))
        )
        edits.append(TextEdit(Range(Position(index, 0), end), "", path=str(pyproject.path)))
    return [Fix(f"Move sqlalchemy.url to {ini.path.name} [{main}]", tuple(edits), safe=False)]


def _quote_fix(pyproject: PyProject, located) -> list[Fix]:
    if located is None:
        return []
    _, index, line = located
    match = _KEY_LINE.match(line)
    if match is None or match.group(1).startswith(('"', "'")):
        return []
    rng = Range.of(index, match.start(1), index, match.end(1))
    return [
        Fix(
            'Quote the key: "sqlalchemy.url"',
            (TextEdit(rng, '"sqlalchemy.url"', path=str(pyproject.path)),),
            safe=False,
        )
    ]


_INI = "[alembic]\n" + s.INI_LOGGING
_PYPROJECT = '[project]\nname = "app"\n\n[tool.alembic]\nscript_location = "%(here)s"\nsqlalchemy.url = "postgresql://app:secret@db/app"\n'
_PYPROJECT_DOTTED = _PYPROJECT
_PYPROJECT_QUOTED = _PYPROJECT.replace("\nsqlalchemy.url", '\n"sqlalchemy.url"')

RULE = Rule(
    code="ENV012",
    name="url-only-in-pyproject",
    severity=Severity.ERROR,
    summary="`sqlalchemy.url` is in `[tool.alembic]` of pyproject.toml, where `get_main_option()`/`get_section()` never look.",
    docs=Docs(
        what=(
            "Finds a URL in `[tool.alembic]` (the dotted key `sqlalchemy.url = ...` or the quoted "
            '`"sqlalchemy.url" = ...`) while env.py reads it through `config.get_main_option("sqlalchemy.url")` or '
            '`config.get_section(...)` and alembic.ini does not set it. Also flags `get_alembic_option("sqlalchemy.url")` '
            "when the TOML key is dotted. Shown on env.py and on the pyproject.toml line."
        ),
        why=(
            "Alembic's `get_main_option` and `get_section` are documented as \"Does NOT consume from the "
            "pyproject.toml file\": online `engine_from_config` raises KeyError: 'url', offline configure raises "
            '"Connection, url, or dialect_name is required.". A dotted TOML key is a nested table, so even '
            '`get_alembic_option("sqlalchemy.url")` returns None.'
        ),
        example='# pyproject.toml\n[tool.alembic]\nscript_location = "%(here)s/migrations"\nsqlalchemy.url = "postgresql://app@db/app"',
        instead="# alembic.ini\n[alembic]\nsqlalchemy.url = postgresql://app@db/app",
        fix_safety=(
            "Unsafe: moves the value into alembic.ini (doubling `%`) and deletes it from pyproject.toml; or quotes the "
            "TOML key for `get_alembic_option`."
        ),
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=_INI,
            pyproject=_PYPROJECT_DOTTED,
            span='config.get_main_option("sqlalchemy.url")',
            message="read only the .ini file (online: KeyError: 'url'",
            also=(
                ("config.get_section(config.config_ini_section, {})", "read only the .ini file"),
            ),
            note="the dotted TOML key, the pyproject template's alembic.ini without the URL",
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=_INI,
            pyproject=_PYPROJECT_QUOTED,
            also=(("config.get_section(config.config_ini_section, {})", None),),
            note="the quoted TOML key is not read by get_main_option either",
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            pyproject=_PYPROJECT_DOTTED,
            message="has no [alembic] section: offline \"No config file 'alembic.ini' found",
            also=(
                ("config.get_section(config.config_ini_section, {})", "has no [alembic] section"),
            ),
            note="no alembic.ini at all",
        ),
        Example(
            s.HEADER + "\nurl = config.get_alembic_option('sqlalchemy.url')\n",
            ini=_INI,
            pyproject=_PYPROJECT_DOTTED,
            span="config.get_alembic_option('sqlalchemy.url')",
            message="returns None",
            note="get_alembic_option() reads only the quoted key",
        ),
    ),
    valid=(
        Example(
            s.HEADER + "\nurl = config.get_alembic_option('sqlalchemy.url')\n",
            ini=_INI,
            pyproject=_PYPROJECT_QUOTED,
            note="get_alembic_option() with the quoted key works (alembic >= 1.16)",
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini="[alembic]\nsqlalchemy.url = sqlite:///app.db\n" + s.INI_LOGGING,
            pyproject=_PYPROJECT_DOTTED,
            note="alembic.ini sets it too: that value is what runs",
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=_INI,
            pyproject=_PYPROJECT.replace("\nsqlalchemy.url", "\n# sqlalchemy.url"),
            note="no URL in [tool.alembic]",
        ),
        Example(
            s.env(
                s.SYNC_ONLINE,
                imports="import os\n" + s.SYNC_IMPORTS,
                header=s.HEADER
                + 'config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"].replace("%", "%%"))\n',
            ),
            ini=_INI,
            pyproject=_PYPROJECT_DOTTED,
            note="env.py sets the URL itself",
        ),
    ),
)
