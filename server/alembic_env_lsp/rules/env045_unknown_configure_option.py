import difflib
import os

from ..findings import Fix
from ..knowledge import configure_options, configure_options_of_file
from ..pyenv import judged_environment
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ..text import Position, Range, TextEdit

# How close an unknown keyword must be to a known option to be a likely typo
# (include_objects/include_object: 0.97; a project's own key such as crypt_key: no match).
TYPO_CUTOFF = 0.85


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    if not facts.configures:
        return
    known: tuple[frozenset[str], str] | None = None
    for configure in facts.configures:
        passed = {k.arg for k in configure.call.node.keywords}
        for keyword in configure.call.node.keywords:
            if keyword.arg is None:
                continue
            if known is None:
                known = _known_options(ctx)
                if known is None:
                    return  # no alembic to compare with
            options, seen = known
            if keyword.arg in options:
                continue
            # Any other keyword is legal: Alembic keeps it in context.opts, where migration
            # scripts read it. Only a near miss of a real option is worth a word.
            close = [
                c
                for c in difflib.get_close_matches(
                    keyword.arg, sorted(options), n=1, cutoff=TYPO_CUTOFF
                )
                if c not in passed
            ]
            if not close:
                continue
            start = ctx.source.from_utf8(keyword.lineno, keyword.col_offset)
            name_range = Range(start, Position(start.line, start.character + len(keyword.arg)))
            ctx.report(
                f"context.configure() has no option '{keyword.arg}' in {seen}: unknown keywords are kept in "
                f"the context's options and silently ignored. Did you mean '{close[0]}'?",
                name_range,
                fixes=[Fix(f"Rename to {close[0]}", (TextEdit(name_range, close[0]),), safe=False)],
            )


def _known_options(ctx: RuleContext) -> tuple[frozenset[str], str] | None:
    """configure()'s options in the project's alembic when its environment is found, else in
    the alembic installed with the checker; and how to name where they came from."""
    environment = judged_environment(ctx)
    found = environment.environment if environment is not None else None
    if found is not None:
        source = found.package_file("alembic", "runtime", "environment.py")
        if source is not None:
            try:
                mtime = os.stat(source).st_mtime_ns
            except OSError:
                mtime = 0
            options = configure_options_of_file(str(source), mtime)
            if options is not None:
                version = found.version("alembic")
                return options, f"alembic {version}" if version else "the project's alembic"
    options = configure_options()
    if options is None:
        return None
    version = ctx.installed_version("alembic")
    if environment is not None:  # versions given by the caller (tests, rule examples)
        return options, f"alembic {version}" if version else "the installed alembic"
    # No project environment: say whose alembic the option list comes from.
    mine = f"alembic {version}" if version else "the alembic installed with alembic-env-lsp"
    return options, f"{mine} (the checker's own; no project environment found)"


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
    summary="`context.configure()` gets a near miss of one of its options (e.g. `include_objects=` for `include_object=`); Alembic ignores it.",
    docs=Docs(
        what=(
            "Checks every keyword of `context.configure()` against the options of `EnvironmentContext.configure`: "
            "its parameters and the options its docstring documents (`version_table`, `version_table_schema`, ...), "
            "read without importing it from the alembic in the project's environment (else the one installed with "
            "the checker). A keyword Alembic does not know is legal (it is kept in `context.opts`, where migration "
            "scripts read it, e.g. `tenant=` or `crypt_key=`); only a likely typo of a known option is reported, "
            "naming the option meant."
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
            "near-miss name passed on purpose for migration scripts to read from `context.get_context().opts` can "
            "be kept with `# noqa: ENV045`."
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
            "from alembic import context\n\n"
            "def run(connection):\n"
            "    context.configure(connection=connection, compare_types=True)\n",
            span="compare_types",
            message="Did you mean 'compare_type'?",
            fixed="from alembic import context\n\n"
            "def run(connection):\n"
            "    context.configure(connection=connection, compare_type=True)\n",
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
        Example(
            "from alembic import context\n\n"
            "def run(connection, key):\n"
            "    context.configure(connection=connection, crypt_key=key, tenant='acme')\n",
            note="the project's own options for its migration scripts (context.opts): legal",
        ),
        Example(
            "from alembic import context\n\ncontext.configure(url='sqlite://', script_location='migrations')\n",
            note="an ini option passed to configure: kept in context.opts, no near miss of an option",
        ),
        Example(
            "from alembic import context\n\n"
            "def f(*args):\n    return True\n\n"
            "def run(connection):\n"
            "    context.configure(connection=connection, include_object=f, include_objects=f)\n",
            note="the option meant is passed too: a separate key on purpose",
        ),
    ),
)
