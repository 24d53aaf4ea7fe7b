import ast
import os

from ..findings import Fix
from ..fixes.edits import add_keyword
from ..model import names as N
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s
from ._common import workspace_view


def check(ctx: RuleContext) -> None:
    calls = [c for c in ctx.facts.calls_named(N.FILE_CONFIG) if not _keeps_loggers(c.node)]
    if not calls:
        return
    view = workspace_view(ctx)
    if view is None:
        return  # only the project's code can tell whether migrations run in-process
    callers = view.app_command_calls()
    if not callers:
        return
    first = callers[0]
    where = os.path.relpath(first.path, view.root) if view.root else first.path
    for call in calls:
        ctx.report(
            f"fileConfig() defaults to disable_existing_loggers=True; this project runs migrations in-process "
            f"(alembic.command.{first.function}() in {where}:{first.line + 1}), so every application logger not "
            f"named in alembic.ini is silenced from then on.",
            call.node,
            fixes=[
                Fix(
                    "Pass disable_existing_loggers=False",
                    (add_keyword(ctx.source, call.node, "disable_existing_loggers=False"),),
                )
            ],
        )


def _keeps_loggers(node: ast.Call) -> bool:
    if len(node.args) >= 3:
        return True
    return any(kw.arg == "disable_existing_loggers" or kw.arg is None for kw in node.keywords)


_APP = (
    "app/startup.py",
    "from alembic import command\nfrom alembic.config import Config\n\n\n"
    "def migrate():\n    command.upgrade(Config('alembic.ini'), 'head')\n",
)

RULE = Rule(
    code="ENV023",
    name="fileconfig-disables-loggers",
    severity=Severity.HINT,
    summary="`fileConfig()` without `disable_existing_loggers=False` in a project that runs migrations in-process.",
    docs=Docs(
        what=(
            "When the project's own code calls `alembic.command.*` (found in the workspace, outside the script "
            "folder), points at `fileConfig(...)` calls in env.py that keep the default "
            "`disable_existing_loggers=True`. Without such calls nothing is reported."
        ),
        why=(
            "`logging.config.fileConfig` disables every logger the ini does not name. When `command.upgrade()` runs "
            "inside an application (startup hook, tests), the application's loggers go quiet for the rest of the "
            'process; it also disables the `asyncio` logger, hiding "Task exception was never retrieved".'
        ),
        example="fileConfig(config.config_file_name)",
        instead="fileConfig(config.config_file_name, disable_existing_loggers=False)",
        fix_safety="Safe: existing loggers keep working; alembic's own loggers are configured as before.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.HEADER,
            ini=s.ini("sqlite:///app.db"),
            files=(_APP,),
            span="fileConfig(config.config_file_name)",
            message="alembic.command.upgrade() in app/startup.py:6",
            fixed=s.HEADER.replace(
                "fileConfig(config.config_file_name)",
                "fileConfig(config.config_file_name, disable_existing_loggers=False)",
            ),
        ),
    ),
    valid=(
        Example(s.HEADER, ini=s.ini("sqlite:///app.db"), note="no workspace: nothing to say"),
        Example(
            s.HEADER,
            ini=s.ini("sqlite:///app.db"),
            files=(("app/models.py", "import sqlalchemy as sa\n"),),
            note="the project never runs alembic commands itself",
        ),
        Example(
            s.HEADER.replace(
                "fileConfig(config.config_file_name)",
                "fileConfig(config.config_file_name, disable_existing_loggers=False)",
            ),
            ini=s.ini("sqlite:///app.db"),
            files=(_APP,),
        ),
    ),
)
