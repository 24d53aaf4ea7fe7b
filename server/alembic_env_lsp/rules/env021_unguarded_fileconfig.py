import ast

from ..findings import Fix
from ..fixes.edits import wrap_in_block
from ..model import names as N
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ._common import is_config_file_name, text_of


def check(ctx: RuleContext) -> None:
    for call in ctx.facts.calls_named(N.FILE_CONFIG):
        if not call.node.args or not is_config_file_name(call.node.args[0], call.scope):
            continue
        if any(in_body and _tests_file_name(branch.test) for branch, in_body in call.branches):
            continue
        if any(t.handlers for t in call.in_try):
            continue
        file_name = call.node.args[0]
        # the config object: `config` in `config.config_file_name`
        owner = file_name.value if isinstance(file_name, ast.Attribute) else file_name
        header = f"if {text_of(ctx, owner)}.config_file_name is not None"
        fixes = []
        if isinstance(call.parent, ast.Expr):
            edits = wrap_in_block(ctx.source, [call.parent], header)
            if edits:
                fixes.append(Fix(f"Guard with '{header}:'", tuple(edits)))
        ctx.report(
            "config.config_file_name is None when Alembic is driven by a programmatic Config(); "
            "fileConfig(None) raises \"TypeError: 'NoneType' object is not iterable\".",
            call.node,
            fixes=fixes,
        )


def _tests_file_name(test: ast.expr) -> bool:
    for node in ast.walk(test):
        if isinstance(node, ast.Attribute) and node.attr in (
            "config_file_name",
            "exists",
            "is_file",
            "isfile",
        ):
            return True
        if isinstance(node, ast.Name) and "config_file" in node.id:
            return True
    return False


RULE = Rule(
    code="ENV021",
    name="unguarded-fileconfig",
    severity=Severity.WARNING,
    summary="`fileConfig(config.config_file_name)` is not guarded by `if config.config_file_name is not None:`.",
    docs=Docs(
        what="Finds `fileConfig(config.config_file_name)` outside an `if` that tests `config_file_name` (or that the file exists).",
        why=(
            "Tests and apps that run migrations with a programmatic `Config()` have no ini file: "
            "`fileConfig(None)` raises `TypeError: 'NoneType' object is not iterable`. The templates guard the "
            "call since alembic 1.7.7 (alembic#986)."
        ),
        example="fileConfig(config.config_file_name)",
        instead="if config.config_file_name is not None:\n    fileConfig(config.config_file_name)",
        fix_safety="Safe: the call still runs whenever there is a file name.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from logging.config import fileConfig\nfrom alembic import context\n\nconfig = context.config\n"
            "fileConfig(config.config_file_name)  # set up loggers\n",
            span="fileConfig(config.config_file_name)",
            fixed="from logging.config import fileConfig\nfrom alembic import context\n\nconfig = context.config\n"
            "if config.config_file_name is not None:\n    fileConfig(config.config_file_name)  # set up loggers\n",
        ),
        Example(
            "import logging.config as lc\nfrom alembic import context\n\n"
            "lc.fileConfig(context.config.config_file_name)\n",
            fixed="import logging.config as lc\nfrom alembic import context\n\n"
            "if context.config.config_file_name is not None:\n    lc.fileConfig(context.config.config_file_name)\n",
            note="aliased module, inline context.config",
        ),
    ),
    valid=(
        Example(
            "from logging.config import fileConfig\nfrom alembic import context\nconfig = context.config\n"
            "if config.config_file_name:\n    fileConfig(config.config_file_name)\n",
            note="truthiness guard",
        ),
        Example(
            "import os\nfrom logging.config import fileConfig\nfrom alembic import context\nconfig = context.config\n"
            "if config.config_file_name is not None and os.path.exists(config.config_file_name):\n"
            "    fileConfig(config.config_file_name, disable_existing_loggers=False)\n",
        ),
        Example(
            "from logging.config import fileConfig\nfrom alembic import context\nconfig = context.config\n"
            "fileConfig('alembic.ini')\n",
            note="a fixed file name is not None",
        ),
    ),
)
