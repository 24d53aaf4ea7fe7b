from ..findings import Fix
from ..fixes.edits import add_keyword, insert_at, statement_lines
from ..model.facts import Scope
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ..text import Position
from ._common import is_true

INCLUDE_NAME = """def include_name(name, type_, parent_names):
    if type_ == "schema":
        return name in (None, "public")  # None is the default schema; list the schemas you manage
    return True"""


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    for configure in facts.configures:
        value = configure.keyword("include_schemas")
        if not is_true(value) or configure.has_splat:
            continue
        if configure.mode == "offline" or facts.path_of(configure.call) == "offline":
            continue  # autogenerate never runs offline
        if (
            configure.keyword("include_name") is not None
            or configure.keyword("include_object") is not None
        ):
            continue
        ctx.report(
            "include_schemas=True makes autogenerate reflect every schema; tables in schemas not covered by "
            "target_metadata will be proposed for DROP. Add include_name to limit the schemas.",
            value,
            fixes=_fix(ctx, configure),
        )


def _fix(ctx: RuleContext, configure) -> list[Fix]:
    facts = ctx.facts
    keyword = add_keyword(ctx.source, configure.call.node, "include_name=include_name")
    if "include_name" in facts.module.functions:
        return [Fix("Pass include_name=include_name", (keyword,), safe=False)]
    if "include_name" in facts.module.assignments or "include_name" in facts.module.aliases:
        return []
    top = _top(configure.call.scope)
    stmt = top.node if top is not None else configure.call.stmt
    first, _ = statement_lines(stmt)  # type: ignore[arg-type]
    if ctx.source.indent_of(first):
        return []
    eol = ctx.source.line_ending()
    text = INCLUDE_NAME.replace("\n", eol) + eol + eol + eol
    return [
        Fix(
            "Add an include_name filter (default schema and 'public')",
            (insert_at(Position(first, 0), text), keyword),
            safe=False,
        )
    ]


def _top(scope: Scope) -> Scope | None:
    while scope.parent is not None and not scope.parent.is_module:
        scope = scope.parent
    return None if scope.is_module else scope


_ONLINE = """from alembic import context

target_metadata = None


def run_migrations_online(connection):
    context.configure(connection=connection, target_metadata=target_metadata, include_schemas=True)
    with context.begin_transaction():
        context.run_migrations()
"""

RULE = Rule(
    code="ENV034",
    name="include-schemas-unfiltered",
    severity=Severity.WARNING,
    summary="`include_schemas=True` without `include_name`/`include_object`: autogenerate proposes dropping other schemas' tables.",
    docs=Docs(
        what="Finds `context.configure(include_schemas=True)` with neither `include_name=` nor `include_object=` (and no `**` options).",
        why=(
            "With include_schemas=True Alembic compares every schema the inspector lists. Tables in schemas that "
            "target_metadata does not describe (another app's, an extension's) show up as removed: autogenerate "
            "writes `op.drop_table('other', schema='s1')`."
        ),
        example="context.configure(connection=connection, target_metadata=target_metadata, include_schemas=True)",
        instead=(
            'def include_name(name, type_, parent_names):\n    if type_ == "schema":\n'
            '        return name in (None, "public")\n    return True\n\n'
            "context.configure(connection=connection, target_metadata=target_metadata, include_schemas=True,\n"
            "                  include_name=include_name)"
        ),
        fix_safety="Unsafe: the inserted filter keeps only the default schema and 'public'; list your own schemas.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            _ONLINE,
            span="True",
            fixed=_ONLINE.replace(
                "def run_migrations_online(connection):",
                INCLUDE_NAME + "\n\n\ndef run_migrations_online(connection):",
            ).replace("include_schemas=True)", "include_schemas=True, include_name=include_name)"),
        ),
    ),
    valid=(
        Example(
            "from alembic import context\n\n\ndef run_migrations_offline():\n"
            "    context.configure(url='postgresql://h/db', include_schemas=True)\n\n\n"
            "run_migrations_offline()\n",
            note="offline: autogenerate never runs there",
        ),
        Example(
            _ONLINE.replace(
                "include_schemas=True)", "include_schemas=True, include_name=include_name)"
            ),
            note="a name filter",
        ),
        Example(
            _ONLINE.replace(
                "include_schemas=True)", "include_schemas=True, include_object=include_object)"
            ),
            note="an object filter",
        ),
        Example(_ONLINE.replace("include_schemas=True)", "include_schemas=False)")),
        Example(
            _ONLINE.replace("include_schemas=True)", "include_schemas=True, **options)"),
            note="options from a dict may carry a filter",
        ),
    ),
)
