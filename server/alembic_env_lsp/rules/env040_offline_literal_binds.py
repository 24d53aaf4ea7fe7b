import ast

from ..findings import Fix
from ..fixes.edits import add_keyword
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s


def check(ctx: RuleContext) -> None:
    for configure in ctx.facts.configures:
        if configure.mode != "offline" or configure.has_splat:
            continue
        if configure.keyword("url") is None and configure.keyword("dialect_name") is None:
            continue
        value = configure.keyword("literal_binds")
        if isinstance(value, ast.Constant) and value.value is True:
            continue
        if value is not None and not isinstance(value, ast.Constant):
            continue  # computed: trust it
        fixes = []
        if value is None:
            fixes.append(
                Fix(
                    "Add literal_binds=True",
                    (add_keyword(ctx.source, configure.call.node, "literal_binds=True"),),
                )
            )
        ctx.report(
            "Without literal_binds=True, 'alembic upgrade --sql' emits bound-parameter placeholders (e.g. "
            '"UPDATE t SET x=:x WHERE t.id = :id_1") that cannot be run as-is.',
            configure.call.node.func,
            fixes=fixes,
        )


RULE = Rule(
    code="ENV040",
    name="offline-without-literal-binds",
    severity=Severity.WARNING,
    summary="The offline `context.configure(url=...)` lacks `literal_binds=True`, so `--sql` output has placeholders.",
    docs=Docs(
        what="Finds offline-mode `context.configure(url=...)` / `(dialect_name=...)` calls without `literal_binds=True`.",
        why=(
            "`alembic upgrade head --sql` writes a script to run by hand. Without literal binds, data statements "
            "keep their parameters: `UPDATE t SET x=:x WHERE t.id = :id_1;`."
        ),
        example="context.configure(url=url, target_metadata=target_metadata)",
        instead='context.configure(url=url, target_metadata=target_metadata, literal_binds=True, dialect_opts={"paramstyle": "named"})',
        fix_safety="Safe: only changes the text of --sql output.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from alembic import context\nurl = 'sqlite://'\n"
            "context.configure(\n    url=url,\n    target_metadata=None,\n)\n",
            span="context.configure",
            fixed="from alembic import context\nurl = 'sqlite://'\n"
            "context.configure(\n    url=url,\n    target_metadata=None,\n    literal_binds=True,\n)\n",
        ),
        Example(
            "from alembic import context\ncontext.configure(url='sqlite://')\n",
            fixed="from alembic import context\ncontext.configure(url='sqlite://', literal_binds=True)\n",
        ),
    ),
    valid=(
        Example(s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS)),
        Example(
            "from alembic import context\ncontext.configure(url='sqlite://', **opts)\n",
            note="options from a dict",
        ),
    ),
)
