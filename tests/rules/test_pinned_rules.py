"""Rule conditions beyond each rule's examples, pinned by what a user sees (the finding's
range, message and fixes): behaviour mutation testing (scripts/mutate.py) changed without a
test noticing."""

from __future__ import annotations

from alembic_env_lsp import cli
from alembic_env_lsp.engine import analyze


def findings(text: str, code: str):
    analysis = analyze(text, "env.py")
    assert not analysis.internal_errors, analysis.internal_errors
    return [
        (analysis.source.slice(f.range), f.range.start.line, f.message, f.fixes)
        for f in analysis.findings
        if f.code == code
    ]


SCHEDULED = """\
import asyncio

from alembic import context
from app.tasks import notify


def heartbeat():
    return asyncio.sleep(0)


async def run_async_migrations():
    context.run_migrations()


asyncio.ensure_future(notify())
asyncio.ensure_future(heartbeat())
asyncio.ensure_future(run_async_migrations())
"""


def test_env009_scheduling_counts_only_the_files_own_coroutine_functions():
    [(span, line, message, _)] = findings(SCHEDULED, "ENV009")
    assert (span, line) == ("asyncio.ensure_future(run_async_migrations())", 16)
    assert message.startswith("Scheduling migrations as a task lets env.py return before they run")


def test_env006_offers_no_parameter_fix_it_cannot_place():
    """`def f ():` (a space before the parenthesis): reported, but no edit at a wrong column."""
    text = (
        "from alembic import context\n\n\n"
        "def do_run_migrations ():\n    context.run_migrations()\n\n\n"
        "async def run(connection):\n    await connection.run_sync(do_run_migrations)\n"
    )
    [(span, line, message, fixes)] = findings(text, "ENV006")
    assert (span, line) == ("do_run_migrations", 8)
    assert message.startswith(
        "'do_run_migrations' must accept the Connection that run_sync() passes"
    )
    assert not fixes
    spaced = text.replace("do_run_migrations ()", "do_run_migrations()")
    [(_, _, _, (fix,))] = findings(spaced, "ENV006")
    assert fix.title == "Add a 'connection' parameter"


def test_env052_reports_the_first_reuse_in_the_file_once():
    """A nested function's body is walked after the later functions; the finding is still
    on the first `async with` of the file."""
    text = (
        "from alembic import context\nfrom app import db\n\n\n"
        "async def outer():\n"
        "    async def inner():\n"
        "        async with db.engine.connect() as connection:\n"
        "            await connection.run_sync(do_run_migrations)\n\n"
        "    await inner()\n\n\n"
        "async def later():\n"
        "    async with db.engine.connect() as connection:\n"
        "        await connection.run_sync(do_run_migrations)\n"
    )
    [(span, line, message, _)] = findings(text, "ENV052")
    assert (span, line) == ("db.engine", 6)
    assert "'db.engine'" in message


def test_env048_counts_a_key_given_by_setdefault():
    text = (
        "from alembic import context\n\ntarget_metadata = None\n\n\n"
        "def run_migrations_online(connection):\n"
        '    options = {"render_as_batch": True}\n'
        '    options.setdefault("compare_type", True)\n'
        "    context.configure(\n"
        "        connection=connection, target_metadata=target_metadata, compare_type=False, **options\n"
        "    )\n"
    )
    [(span, line, message, _)] = findings(text, "ENV048")
    assert (span, line) == ("compare_type", 9)
    assert message == (
        "'compare_type' is passed explicitly and also through **options: \"TypeError: configure() "
        "got multiple values for keyword argument 'compare_type'\"."
    )


def test_env031_accepts_a_name_bound_to_something_else_than_a_base():
    text = (
        "from alembic import context\nfrom app.models import load_metadata\n\n"
        "metadata = load_metadata()\ntarget_metadata = metadata\n"
    )
    assert findings(text, "ENV031") == []
    wrong = text.replace("load_metadata()", "declarative_base()").replace(
        "from app.models import load_metadata", "from sqlalchemy.orm import declarative_base"
    )
    [(span, line, message, _)] = findings(wrong, "ENV031")
    assert (span, line) == ("metadata", 4)
    assert message.startswith(
        "target_metadata must be a MetaData (e.g. Base.metadata), not the declarative base class 'metadata'"
    )


def test_env047_inside_an_assignment_expression():
    text = (
        "import os\n\nfrom alembic import context\n\nconfig = context.config\n"
        'if (url := os.getenv("DATABASE_URL").replace("postgres://", "postgresql://")):\n'
        '    config.set_main_option("sqlalchemy.url", url)\n'
    )
    [(span, line, message, _)] = findings(text, "ENV047")
    assert (span, line) == ('os.getenv("DATABASE_URL").replace', 5)
    assert message == (
        "os.getenv('DATABASE_URL') is None when the variable is not set, so '.replace' raises "
        "AttributeError: 'NoneType' object has no attribute 'replace'. Use os.environ[...] (a "
        "clear KeyError) or give a default."
    )


def test_env007_a_with_on_a_connection_variable_opens_no_transaction():
    text = (
        "from alembic import context\nfrom sqlalchemy import create_engine\n\n\n"
        "def do_run_migrations(connection):\n"
        "    context.configure(connection=connection)\n"
        "    context.run_migrations()\n\n\n"
        'engine = create_engine("postgresql+psycopg2://app@db/app")\n'
        "connection = engine.connect()\n"
        "with connection:\n"
        "    do_run_migrations(connection)\n"
    )
    [(span, line, message, _)] = findings(text, "ENV007")
    assert (span, line) == ("context.run_migrations()", 6)
    assert message.startswith(
        "context.run_migrations() is not inside 'with context.begin_transaction():'"
    )


ENV011_ENV = """\
import os

from alembic import context
from sqlalchemy import create_engine

config = context.config
{sets}
for option in [("alembic", "DB_PORT", "5432")]:
    config.set_section_option(*option)
engine = create_engine(config.get_main_option("sqlalchemy.url"))
"""


def test_env011_interpolation_keys_set_by_env_py(tmp_path, capsys):
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = .\n"
        "sqlalchemy.url = postgresql+psycopg2://app@%(DB_HOST)s/app\n",
        encoding="utf-8",
    )
    env = tmp_path / "env.py"
    env.write_text(ENV011_ENV.format(sets=""), encoding="utf-8")
    status = cli.main(["check", "--select", "ENV011", str(env)])
    out, err = capsys.readouterr()
    assert (status, err) == (1, "")
    assert (
        ":10:24: ENV011 [error] sqlalchemy.url uses '%(DB_HOST)s' (alembic.ini [alembic] "
        "sqlalchemy.url (line 3)), which is neither an option of [alembic] nor of [DEFAULT]"
    ) in out
    # set_main_option() before the URL is read supplies it
    env.write_text(
        ENV011_ENV.format(sets='config.set_main_option("DB_HOST", os.environ["DB_HOST"])'),
        encoding="utf-8",
    )
    assert cli.main(["check", "--select", "ENV011", str(env)]) == 0
    assert capsys.readouterr() == ("All checks passed (1 env script).\n", "")


def test_env043_copies_no_name_the_online_function_rebinds():
    text = (
        'from alembic import context\n\nSCHEMA = "app"\n\n\n'
        "def run_migrations_offline():\n"
        '    context.configure(url="postgresql://app@db/app", literal_binds=True)\n\n\n'
        "def run_migrations_online(connection):\n"
        '    SCHEMA = "tenant"\n'
        "    context.configure(connection=connection, version_table_schema=SCHEMA)\n\n\n"
        "if context.is_offline_mode():\n    run_migrations_offline()\n"
        "else:\n    run_migrations_online(None)\n"
    )
    [(span, line, message, fixes)] = findings(text, "ENV043")
    assert (span, line) == ("context.configure", 6)
    assert message.startswith(
        "'version_table_schema' is set for online migrations but not for offline (--sql);"
    )
    assert not fixes
    module_level = text.replace('    SCHEMA = "tenant"\n', "")
    [(_, _, _, (fix,))] = findings(module_level, "ENV043")
    assert fix.title == "Pass version_table_schema= offline too"


def test_env044_trusts_a_create_schema_construct():
    text = (
        "from alembic import context\nfrom sqlalchemy.schema import CreateSchema\n\n\n"
        "def run_migrations_online(connection):\n"
        '    connection.execute(CreateSchema("audit", if_not_exists=True))\n'
        "    connection.commit()\n"
        '    context.configure(connection=connection, version_table_schema="audit")\n'
    )
    assert findings(text, "ENV044") == []


def test_env047_follows_an_annotated_assignment():
    text = (
        "import os\n\nfrom alembic import context\n\nconfig = context.config\n"
        'url: str | None = os.getenv("DATABASE_URL")\n'
        'config.set_main_option("sqlalchemy.url", url.replace("postgres://", "postgresql://"))\n'
    )
    [(span, line, message, _)] = findings(text, "ENV047")
    assert (span, line) == ('url.replace("postgres://", "postgresql://")', 6)
    assert message.startswith("os.getenv('DATABASE_URL') is None when the variable is not set")


def test_env060_a_replace_that_adds_a_driver_strips_nothing():
    text = (
        "from alembic import context\nfrom app import settings\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
        "engine = create_async_engine(\n"
        '    settings.DATABASE_URL.replace("postgresql://", "postgresql+asyncpg://")\n'
        ")\n"
    )
    assert findings(text, "ENV060") == []
    stripped = text.replace(
        '.replace("postgresql://", "postgresql+asyncpg://")', '.replace("+asyncpg", "")'
    )
    [(_, line, message, _)] = findings(stripped, "ENV060")
    assert line == 5
    assert message == (
        "'.replace(\"+asyncpg\", ...)' strips the async driver, but the URL is passed to an "
        "async engine."
    )


def test_env048_counts_keys_given_by_update_and_only_by_update():
    text = (
        "from alembic import context\n\ntarget_metadata = None\n\n\n"
        "def run_migrations_online(connection):\n"
        "    options = {}\n"
        "    options.update(compare_type=True)\n"
        '    options.get("render_as_batch", True)\n'
        "    context.configure(\n"
        "        connection=connection, target_metadata=target_metadata, compare_type=False,\n"
        "        render_as_batch=True, **options\n"
        "    )\n"
    )
    [(span, line, message, _)] = findings(text, "ENV048")
    assert (span, line) == ("compare_type", 10)
    assert message.startswith("'compare_type' is passed explicitly and also through **options")
