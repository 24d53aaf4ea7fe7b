"""Bugs the property tests found, pinned as plain examples."""

import ast

from alembic_env_lsp.engine import analyze
from alembic_env_lsp.text import apply_edits

from robust_support import python_comments, template_env


def _only_fix(text, code):
    analysis = analyze(text, "env.py")
    [fix] = [fix for f in analysis.findings if f.code == code for fix in f.fixes]
    return apply_edits(text, fix.edits)


RUN_SYNC = """from alembic import context


async def run(connection, target_metadata):
    await connection.run_sync(
        context.configure,
{args}
    )
"""


def test_env006_fix_keeps_the_comment_on_the_removed_argument():
    text = RUN_SYNC.format(args="        connection=connection,  # already passed by run_sync\n        target_metadata=target_metadata,")
    fixed = _only_fix(text, "ENV006")
    ast.parse(fixed)
    assert "connection=connection" not in fixed
    assert python_comments(fixed) == python_comments(text)


def test_env006_fix_keeps_the_comment_of_the_argument_before_it():
    text = RUN_SYNC.format(args="        target_metadata=target_metadata,  # md\n        connection=connection,")
    fixed = _only_fix(text, "ENV006")
    ast.parse(fixed)
    assert "connection=connection" not in fixed
    assert "        target_metadata=target_metadata,  # md\n    )" in fixed
