import ast

from ..findings import Fix, Severity
from ..fixes.edits import add_keyword, replace_node
from ..rule import Docs, Example, Rule, RuleContext
from . import _snippets as s

MESSAGE = (
    "target_metadata is {what}; 'alembic revision --autogenerate' fails with \"Can't proceed with --autogenerate "
    'option; environment script ... does not provide a MetaData object or sequence of objects to the context."'
)


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    if not facts.imports_alembic_context:
        return
    online = [
        c
        for c in facts.configures
        if c.mode == "online" and facts.path_of(c.call) in ("online", "both")
    ]
    explicit = [c for c in online if c.keyword("target_metadata") is not None or c.has_splat]
    passed = [v for c in explicit if (v := c.keyword("target_metadata")) is not None]
    passes_other = any(
        not (isinstance(v, ast.Name) and v.id == "target_metadata") and not _is_none(v)
        for v in passed
    )
    for value in passed:
        if _is_none(value):  # `configure(..., target_metadata=None)`: None, not "provided"
            ctx.report(MESSAGE.format(what="None"), value, fixes=_metadata_guess(ctx, value))
    assignment = facts.target_metadata
    if assignment is not None:
        value = assignment.value
        if isinstance(value, ast.Constant) and value.value is None and not passes_other:
            ctx.report(MESSAGE.format(what="None"), value, fixes=_metadata_guess(ctx, value))
        elif isinstance(value, ast.Dict) and not value.keys:
            ctx.report(
                "target_metadata is an empty dict; multi-database autogenerate needs one MetaData per engine name.",
                value,
                severity=Severity.INFO,
            )
    for configure in online:
        if configure in explicit:
            continue
        fixes = []
        if assignment is not None:
            fixes.append(
                Fix(
                    "Pass target_metadata=target_metadata",
                    (
                        add_keyword(
                            ctx.source, configure.call.node, "target_metadata=target_metadata"
                        ),
                    ),
                )
            )
        ctx.report(
            MESSAGE.format(what="not passed to the online context.configure()"),
            configure.call.node.func,
            fixes=fixes,
        )


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _metadata_guess(ctx: RuleContext, value: ast.expr) -> list[Fix]:
    """`Base.metadata` when env.py already imports a Base or SQLModel; never a blind guess."""
    for local, qname in ctx.facts.module.aliases.items():
        if local in ("Base", "SQLModel") or qname.endswith((".Base", "sqlmodel.SQLModel")):
            return [
                Fix(
                    f"Use {local}.metadata",
                    (replace_node(ctx.source, value, f"{local}.metadata"),),
                    safe=False,
                )
            ]
    return []


RULE = Rule(
    code="ENV030",
    name="target-metadata-missing",
    severity=Severity.WARNING,
    summary="`target_metadata` is None or not passed to the online `context.configure()`, so autogenerate cannot run.",
    docs=Docs(
        what=(
            "Finds `target_metadata = None` (as `alembic init` writes it) and online `context.configure(...)` calls "
            "without `target_metadata=` (and without a `**` splat). Passing `target_metadata=<expr>` directly counts."
        ),
        why=(
            "`alembic revision --autogenerate` compares target_metadata with the database. Without it: "
            "\"FAILED: Can't proceed with --autogenerate option; environment script .../env.py does not provide a "
            'MetaData object or sequence of objects to the context." `alembic upgrade` still works.'
        ),
        example="target_metadata = None",
        instead="from myapp.models import Base\ntarget_metadata = Base.metadata",
        fix_safety=(
            "Unsafe when it replaces None with `Base.metadata` (offered only when env.py imports a Base or SQLModel). "
            "Safe when it adds `target_metadata=target_metadata` to configure()."
        ),
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            span="None",
            message="target_metadata is None",
        ),
        Example(
            "from alembic import context\nfrom myapp.models import Base\ntarget_metadata = None\n",
            span="None",
            fixed="from alembic import context\nfrom myapp.models import Base\ntarget_metadata = Base.metadata\n",
        ),
        Example(
            "from alembic import context\nfrom myapp.models import Base\ntarget_metadata = Base.metadata\n\n"
            "def run_migrations_online(connection):\n    context.configure(connection=connection)\n\nrun_migrations_online(None)\n",
            span="context.configure",
            fixed="from alembic import context\nfrom myapp.models import Base\ntarget_metadata = Base.metadata\n\n"
            "def run_migrations_online(connection):\n    context.configure(connection=connection, target_metadata=target_metadata)\n\nrun_migrations_online(None)\n",
        ),
        Example(
            "from alembic import context\nfrom myapp.models import Base\ntarget_metadata = Base.metadata\n\n"
            "def run_migrations_online(connection):\n"
            "    context.configure(connection=connection, target_metadata=None)\n\n"
            "run_migrations_online(None)\n",
            span="None",
            message="target_metadata is None",
            note="a literal None passed to the online configure() is None, not provided",
            fixed="from alembic import context\nfrom myapp.models import Base\ntarget_metadata = Base.metadata\n\n"
            "def run_migrations_online(connection):\n"
            "    context.configure(connection=connection, target_metadata=Base.metadata)\n\n"
            "run_migrations_online(None)\n",
        ),
    ),
    valid=(
        Example(
            "from alembic import context\nfrom myapp.models import Base\ntarget_metadata = Base.metadata\n\n"
            "def run(connection):\n    context.configure(connection=connection, target_metadata=target_metadata)\n",
        ),
        Example(
            "from alembic import context\nfrom myapp.models import Base\ntarget_metadata = None\n\n"
            "def run(connection):\n    context.configure(connection=connection, target_metadata=Base.metadata)\n\nrun(None)\n",
            note="metadata passed directly to the online configure counts",
        ),
        Example(
            "from alembic import context\nfrom myapp import a, b\ntarget_metadata = [a.metadata, b.metadata]\n\n"
            "def run(connection, **kwargs):\n    context.configure(connection=connection, **kwargs)\n",
            note="lists of MetaData and ** splats",
        ),
    ),
)
