import ast

from ..findings import Fix
from ..fixes.edits import add_keyword
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ._common import offline_configures, online_configures

# Options that change what `alembic upgrade --sql` writes. Autogenerate-only options
# (target_metadata, include_*, compare_type, render_as_batch, ...) do nothing offline.
OUTCOME = {
    "version_table": "the default 'alembic_version' table",
    "version_table_schema": None,  # own message
    "version_table_pk": "a primary key on version_num",
    "transaction_per_migration": "one transaction around all revisions",
    "transactional_ddl": "the dialect's default transaction handling",
}


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    online = online_configures(facts)
    offline = [c for c in offline_configures(facts) if c not in online]
    if not online or not offline:
        return
    for target in offline:
        if target.has_splat:
            continue
        for key, outcome in OUTCOME.items():
            source = next((c for c in online if c.keyword(key) is not None), None)
            if source is None:
                continue
            value = source.keyword(key)
            if value is None or _unknowable(value, source):
                continue
            theirs = target.keyword(key)
            if theirs is not None:
                if (
                    isinstance(value, ast.Constant)
                    and isinstance(theirs, ast.Constant)
                    and value.value != theirs.value
                ):
                    ctx.report(
                        f"'{key}' differs between online ({ctx.source.slice(ctx.range(value))}) and offline "
                        f"({ctx.source.slice(ctx.range(theirs))}) migrations; the --sql script and the database disagree.",
                        theirs,
                    )
                continue
            if key == "version_table_schema":
                message = (
                    "'version_table_schema' is set for online migrations but not for offline (--sql); the --sql script "
                    "will write alembic_version in the default schema."
                )
            else:
                message = f"'{key}' is set for online migrations but not for offline (--sql); the generated script will use {outcome}."
            fixes = []
            if _portable(value, source, facts):
                text = ctx.source.slice(ctx.range(value))
                fixes.append(
                    Fix(
                        f"Pass {key}= offline too",
                        (add_keyword(ctx.source, target.call.node, f"{key}={text}"),),
                    )
                )
            ctx.report(message, target.call.node.func, fixes=fixes)


def _unknowable(value: ast.expr, source) -> bool:
    """None, or a parameter of the online function (its caller decides; the CLI passes the default)."""
    if isinstance(value, ast.Constant) and value.value is None:
        return True
    return isinstance(value, ast.Name) and any(p.arg == value.id for p in source.call.scope.params)


def _portable(value: ast.expr, source, facts) -> bool:
    """A constant, or a name the offline function sees too (module level, not rebound locally)."""
    if isinstance(value, ast.Constant):
        return True
    node = value
    while isinstance(node, ast.Attribute):
        node = node.value
    if not isinstance(node, ast.Name):
        return False
    scope = source.call.scope
    while scope is not None and not scope.is_module:
        if node.id in scope.assignments or any(p.arg == node.id for p in scope.params):
            return False
        scope = scope.parent
    module = facts.module
    return node.id in module.assignments or node.id in module.aliases or node.id in module.functions


_ENV = """from alembic import context

config = context.config
target_metadata = None
SCHEMA = "app"


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online(connection):
    context.configure(connection=connection, target_metadata=target_metadata, version_table_schema=SCHEMA)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online(None)
"""

RULE = Rule(
    code="ENV043",
    name="online-offline-drift",
    severity=Severity.WARNING,
    summary="An option that shapes the `--sql` script (`version_table`, `version_table_schema`, ...) is set online only.",
    docs=Docs(
        what=(
            "Compares the online and offline `context.configure()` calls for the options that change what "
            "`alembic upgrade --sql` writes: `version_table`, `version_table_schema`, `version_table_pk`, "
            "`transaction_per_migration`, `transactional_ddl`. Autogenerate-only options are not compared: offline "
            "mode never autogenerates. An offline `**options` dict counts as the same."
        ),
        why=(
            "The offline script is meant to do what `alembic upgrade` does. With `version_table_schema` only online, "
            "the --sql script creates and updates alembic_version in the default schema, so running it leaves the "
            "real version table untouched and the next online upgrade re-applies everything."
        ),
        example=(
            "context.configure(url=url, literal_binds=True)  # offline\n"
            'context.configure(connection=connection, version_table_schema="app")  # online'
        ),
        instead='context.configure(url=url, literal_binds=True, version_table_schema="app")  # offline',
        fix_safety="Safe: copies the keyword when its value is a constant or a module-level name.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            _ENV,
            span="context.configure",
            message="alembic_version in the default schema",
            fixed=_ENV.replace(
                "literal_binds=True)", "literal_binds=True, version_table_schema=SCHEMA)"
            ),
        ),
        Example(
            _ENV.replace("version_table_schema=SCHEMA)", "version_table='app_version')").replace(
                "literal_binds=True)", "literal_binds=True, version_table='other_version')"
            ),
            span="'other_version'",
            message="'version_table' differs",
            note="both set, different literals",
        ),
    ),
    valid=(
        Example(
            _ENV.replace("literal_binds=True)", "literal_binds=True, version_table_schema=SCHEMA)")
        ),
        Example(
            _ENV.replace("literal_binds=True)", "literal_binds=True, **COMMON)").replace(
                "version_table_schema=SCHEMA)", "**COMMON)"
            ),
            note="a shared options dict",
        ),
        Example(
            _ENV.replace(
                "version_table_schema=SCHEMA)", "compare_type=True, render_as_batch=True)"
            ),
            note="autogenerate-only options do nothing offline",
        ),
        Example(
            _ENV.replace(
                "def run_migrations_online(connection):",
                "def run_migrations_online(connection, schema=None):",
            ).replace("version_table_schema=SCHEMA)", "version_table_schema=schema)"),
            note="a parameter: programmatic callers choose it, the command line passes None",
        ),
    ),
)
