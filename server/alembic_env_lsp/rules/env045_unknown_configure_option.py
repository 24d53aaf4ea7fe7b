import difflib

from ..findings import Fix
from ..knowledge import configure_options
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ..text import Position, Range, TextEdit


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    if not facts.configures:
        return
    options = None
    for configure in facts.configures:
        for keyword in configure.call.node.keywords:
            if keyword.arg is None:
                continue
            if options is None:
                options = configure_options()
                if options is None:
                    return  # alembic is not installed where the checker runs: nothing to compare with
            if keyword.arg in options:
                continue
            start = ctx.source.from_utf8(keyword.lineno, keyword.col_offset)
            name_range = Range(start, Position(start.line, start.character + len(keyword.arg)))
            passed = {k.arg for k in configure.call.node.keywords}
            close = [
                c
                for c in difflib.get_close_matches(keyword.arg, sorted(options), n=1, cutoff=0.75)
                if c not in passed
            ]
            fixes = []
            hint = ""
            if close:
                hint = f" Did you mean '{close[0]}'?"
                fixes.append(
                    Fix(f"Rename to {close[0]}", (TextEdit(name_range, close[0]),), safe=False)
                )
            version = ctx.installed_version("alembic")
            seen = f"alembic {version}" if version else "the installed alembic"
            ctx.report(
                f"context.configure() has no option '{keyword.arg}' in {seen}: unknown keywords are kept in the "
                f"context's options and silently ignored.{hint}",
                name_range,
                fixes=fixes,
            )


_ENV = """from alembic import context


def include_object(obj, name, type_, reflected, compare_to):
    return True


def run_migrations_online(connection):
    context.configure(connection=connection, include_objects=include_object)
    with context.begin_transaction():
        context.run_migrations()
"""

RULE = Rule(
    code="ENV045",
    name="unknown-configure-option",
    severity=Severity.WARNING,
    summary="`context.configure()` gets a keyword the installed alembic does not know (e.g. `include_objects=`); it is silently ignored.",
    docs=Docs(
        what=(
            "Checks every keyword of `context.configure()` against the options of `EnvironmentContext.configure` in "
            "the installed alembic: its parameters and the options its docstring documents (`version_table`, "
            "`version_table_schema`, ...), read from alembic's source without importing it. Suggests the closest "
            "valid name."
        ),
        why=(
            "`configure()` accepts `**kw` and stores unknown names without complaint, so a typo such as "
            "`include_objects=` means the filter never runs: autogenerate then proposes changes for every table "
            "the filter was meant to hide."
        ),
        example="context.configure(connection=connection, include_objects=include_object)",
        instead="context.configure(connection=connection, include_object=include_object)",
        fix_safety=(
            "Unsafe: renaming turns the option on (the filter starts running); check it is the one you meant. A "
            "value passed on purpose for migration scripts to read from `context.get_context().opts` can be kept "
            "with `# noqa: ENV045`."
        ),
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            _ENV,
            span="include_objects",
            message="Did you mean 'include_object'?",
            fixed=_ENV.replace("include_objects=", "include_object="),
        ),
        Example(
            "from alembic import context\n\ncontext.configure(url='sqlite://', script_location='migrations')\n",
            span="script_location",
            note="an ini option passed to configure (no close match, no fix)",
        ),
    ),
    valid=(
        Example(_ENV.replace("include_objects=", "include_object=")),
        Example(
            "from alembic import context\n\n"
            "def run(connection):\n"
            "    context.configure(connection=connection, version_table='v', version_table_schema='s',\n"
            "                      version_table_pk=False, output_encoding='utf-8')\n",
            note="options documented in configure()'s docstring and taken through **kw",
        ),
        Example(
            "from alembic import context\n\ndef run(connection, **extra):\n    context.configure(connection=connection, **extra)\n",
            note="** splats are not checked",
        ),
    ),
)
