import ast
import re

from ..findings import Fix
from ..fixes.edits import ensure_import, insert_lines_after
from ..model import names as N
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ..text import Position, Range
from . import _snippets as s

_LOG_SETUP_NAMES = frozenset(q.rpartition(".")[2] for q in N.LOG_SETUP)
_HELPER = re.compile(r"(setup|configure|config|init)_?(logging|logger|logs?)\b", re.IGNORECASE)


def configures_logging(facts) -> bool:
    for call in facts.calls:
        if call.qname in N.LOG_SETUP or call.attr == "addHandler":
            return True
        name = call.attr or (call.node.func.id if isinstance(call.node.func, ast.Name) else "")
        if name in _LOG_SETUP_NAMES:
            return (
                True  # e.g. a fileConfig imported from elsewhere: the fix would call that one again
            )
        if name and _HELPER.search(name):
            fn = call.scope.lookup_function(name)
            if fn is None:
                return True  # an imported helper: trust its name
    return False


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    if not facts.imports_alembic_context or configures_logging(facts):
        return
    anchor = next(
        (a for a in _config_assignments(facts)),
        None,
    )
    fixes = []
    if anchor is not None:
        file_config, imports = ensure_import(facts, ctx.source, "logging.config", "fileConfig")
        name = anchor.targets[0].id
        lines = [
            f"if {name}.config_file_name is not None:",
            f"    {file_config}({name}.config_file_name)",
        ]
        insert = insert_lines_after(
            ctx.source, anchor, lines, ctx.source.indent_of(anchor.lineno - 1)
        )
        fixes.append(Fix("Set up logging from alembic.ini (fileConfig)", (*imports, insert)))
        where = ctx.range(anchor)
    else:
        where = Range(Position(0, 0), Position(0, len(ctx.source.line(0))))
    ctx.report(
        "env.py configures no logging; 'alembic upgrade' will print nothing (no \"Running upgrade ...\" lines).",
        where,
        fixes=fixes,
    )


def _config_assignments(facts):
    for stmt in facts.tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id in facts.config_names
        ):
            yield stmt


RULE = Rule(
    code="ENV022",
    name="no-logging",
    severity=Severity.WARNING,
    summary="env.py never sets up logging (`fileConfig`, `dictConfig`, `basicConfig`), so Alembic prints nothing.",
    docs=Docs(
        what=(
            "Looks for standard-library logging setup anywhere in env.py: `fileConfig`, `dictConfig`, "
            "`basicConfig`, handlers added to a logger, or a call to an imported helper named like "
            "`setup_logging`. loguru or structlog alone do not count: Alembic logs through `logging`."
        ),
        why=(
            "Alembic never configures logging itself; the ini's logging sections are applied only by env.py. "
            'Without it `alembic upgrade head` runs silently: no "Running upgrade -> 0001" lines, which is what '
            "users most often ask about."
        ),
        example="config = context.config\n# no fileConfig(...)",
        instead="config = context.config\nif config.config_file_name is not None:\n    fileConfig(config.config_file_name)",
        fix_safety="Safe: inserts the guarded call from Alembic's templates after `config = context.config`.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from alembic import context\n\nconfig = context.config  # the Alembic Config\ntarget_metadata = None\n",
            span="config = context.config",
            fixed="from alembic import context\nfrom logging.config import fileConfig\n\n"
            "config = context.config  # the Alembic Config\n"
            "if config.config_file_name is not None:\n    fileConfig(config.config_file_name)\n"
            "target_metadata = None\n",
        ),
        Example(
            "from alembic import context\nfrom loguru import logger\n\nlogger.info('migrating')\n",
            note="loguru alone does not make Alembic's logging visible",
        ),
    ),
    valid=(
        Example(s.HEADER),
        Example(
            "import logging\nfrom alembic import context\nlogging.basicConfig(level=logging.INFO)\n"
        ),
        Example(
            "import logging.config\nfrom alembic import context\n"
            "logging.config.dictConfig({'version': 1})\n",
        ),
        Example(
            "from alembic import context\nfrom app.logs import setup_logging\nsetup_logging()\n"
        ),
        Example(
            "print('not an env script')\n", note="files without alembic.context are not env scripts"
        ),
    ),
)
