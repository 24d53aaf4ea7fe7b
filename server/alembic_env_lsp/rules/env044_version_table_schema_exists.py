from ..rule import Docs, Example, Rule, RuleContext, Severity
from ._common import constant_str

DEFAULT_SCHEMAS = frozenset({"public", "dbo", "main"})
CREATE_SCHEMA = frozenset(
    {"sqlalchemy.schema.CreateSchema", "sqlalchemy.CreateSchema", "sqlalchemy.sql.ddl.CreateSchema"}
)


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    if _creates_schema(facts):
        return
    seen: set[str] = set()
    for configure in facts.configures:
        value = configure.keyword("version_table_schema")
        schema = constant_str(value)
        if not schema or schema.lower() in DEFAULT_SCHEMAS or schema in seen:
            continue
        seen.add(schema)
        ctx.report(
            f"The schema '{schema}' must exist before the first upgrade: Alembic creates the alembic_version table "
            f"in it but not the schema itself ('schema \"{schema}\" does not exist').",
            value,
        )


def _creates_schema(facts) -> bool:
    for call in facts.calls:
        if call.qname in CREATE_SCHEMA:
            return True
        for arg in call.node.args:
            text = constant_str(arg)
            if text and "create schema" in text.lower():
                return True
    return False


_ENV = """from alembic import context


def run_migrations_online(connection):
    context.configure(connection=connection, version_table_schema="audit")
    with context.begin_transaction():
        context.run_migrations()
"""

RULE = Rule(
    code="ENV044",
    name="version-table-schema-exists",
    severity=Severity.INFO,
    summary="`version_table_schema` names a schema that must already exist; Alembic does not create it.",
    docs=Docs(
        what=(
            'Notes `context.configure(version_table_schema="...")` with a literal schema other than the usual default '
            "schemas (public, dbo, main), unless env.py itself runs `CREATE SCHEMA`."
        ),
        why=(
            "Alembic creates the alembic_version table inside that schema but never the schema: the first "
            '`alembic upgrade` on a fresh database fails with `schema "audit" does not exist`.'
        ),
        example='context.configure(connection=connection, version_table_schema="audit")',
        instead=(
            "connection.execute(text('CREATE SCHEMA IF NOT EXISTS \"audit\"'))\nconnection.commit()  # see ENV008\n"
            'context.configure(connection=connection, version_table_schema="audit")'
        ),
        fix_safety="No automatic fix: where the schema comes from (a DBA, a first migration, env.py) is a project decision.",
    ),
    check=check,
    invalid=(Example(_ENV, span='"audit"', message="The schema 'audit' must exist"),),
    valid=(
        Example(_ENV.replace('"audit"', '"public"'), note="the default schema exists"),
        Example(_ENV.replace('"audit"', "settings.SCHEMA"), note="not a literal"),
        Example(
            "from alembic import context\nfrom sqlalchemy import text\n\n\ndef run_migrations_online(connection):\n"
            "    connection.execute(text('CREATE SCHEMA IF NOT EXISTS audit'))\n    connection.commit()\n"
            "    context.configure(connection=connection, version_table_schema='audit')\n",
            note="env.py creates the schema",
        ),
    ),
)
