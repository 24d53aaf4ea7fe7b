import re

from ..findings import Finding, Fix, Severity
from ..knowledge import template_logging_block
from ..model import names as N
from ..rule import Docs, Example, Rule, RuleContext
from ..text import Position, Range, SourceText, TextEdit
from . import _snippets as s
from ._common import is_config_file_name

REQUIRED = ("formatters", "handlers", "loggers")


def check(ctx: RuleContext) -> None:
    ini = getattr(ctx.project, "ini", None)
    if ini is None or ini.error:
        return
    missing = [name for name in REQUIRED if not ini.has_section(name)]
    if not missing:
        return
    for call in ctx.facts.calls_named(N.FILE_CONFIG):
        if not call.node.args or not is_config_file_name(call.node.args[0], call.scope):
            continue
        severity = Severity.HINT if _catches(call) else Severity.ERROR
        message = (
            f"{ini.path.name} has no [{']/['.join(missing)}] section{'s' if len(missing) > 1 else ''}; "
            f"fileConfig() will raise KeyError: '{missing[0]}'."
        )
        fixes = _fixes(ini)
        ini_range = ini.section_range("alembic") or Range(Position(0, 0), Position(0, 0))
        related = (
            Finding(RULE.code, message, severity, ini_range, path=str(ini.path), fixes=fixes),
        )
        ctx.report(message, call.node, severity=severity, fixes=fixes, related=related)


def _catches(call) -> bool:
    return any(t.handlers for t in call.in_try)


def _fixes(ini) -> tuple[Fix, ...]:
    block = template_logging_block()
    if block is None:
        return ()
    if any(ini.has_section(name) for name in re.findall(r"(?m)^\[([^\]]+)\]", block)):
        return ()  # appending the block would repeat a section: configparser then rejects the file
    source = SourceText(ini.text)
    last = source.line_count - 1
    end = Position(last, len(source.line(last)))
    eol = source.line_ending()
    separator = ("" if ini.text.endswith(("\n", "\r")) or not ini.text else eol) + eol
    text = separator + block.replace("\n", eol)
    return (
        Fix(
            "Add the logging sections of Alembic's template to " + ini.path.name,
            (TextEdit(Range(end, end), text, path=str(ini.path)),),
        ),
    )


RULE = Rule(
    code="ENV020",
    name="ini-without-logging",
    severity=Severity.ERROR,
    summary="env.py calls `fileConfig(config.config_file_name)` but alembic.ini has no logging sections.",
    docs=Docs(
        what=(
            "Checks the alembic.ini that owns this env.py for `[formatters]`, `[handlers]` and `[loggers]` when "
            "env.py passes it to `logging.config.fileConfig`. Also shown on the ini file."
        ),
        why=(
            "`fileConfig()` reads those sections; without them every `alembic` command fails with "
            "`KeyError: 'formatters'` before running anything (alembic#985)."
        ),
        example="# alembic.ini has only [alembic]\nfileConfig(config.config_file_name)",
        instead="# alembic.ini also has [loggers], [handlers], [formatters] (as `alembic init` writes them)",
        fix_safety="Safe: appends the logging sections of the installed Alembic's own template to the ini.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.HEADER,
            ini=s.ini("sqlite:///a.db", logging=False),
            span="fileConfig(config.config_file_name)",
            message="alembic.ini has no [formatters]/[handlers]/[loggers] sections; fileConfig() will raise KeyError: 'formatters'.",
        ),
        Example(
            "from logging.config import fileConfig\nfrom alembic import context\nconfig = context.config\n"
            "try:\n    fileConfig(config.config_file_name)\nexcept Exception:\n    pass\n",
            ini=s.ini("sqlite:///a.db", logging=False),
            severity=Severity.HINT,
            note="a try/except that swallows the error on purpose",
        ),
    ),
    valid=(
        Example(s.HEADER, ini=s.ini("sqlite:///a.db")),
        Example(s.HEADER, note="no alembic.ini known (a loose file): nothing to compare"),
    ),
)
