"""Fix behaviour mutation testing (scripts/mutate.py) found unpinned, asserted on the file a
user gets after applying the fix (in the editor, or with the CLI)."""

from __future__ import annotations

from alembic_env_lsp import cli
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.text import apply_edits


def fixed(text: str, code: str) -> str:
    """The file after applying the first fix of the one `code` finding (an editor quick fix)."""
    analysis = analyze(text, "env.py")
    assert not analysis.internal_errors, analysis.internal_errors
    [finding] = [f for f in analysis.findings if f.code == code]
    return apply_edits(text, list(finding.fixes[0].edits))


CONFIGURE_ON_ASYNC_CONNECTION = """\
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

target_metadata = None


async def run_async_migrations():
    engine = create_async_engine("postgresql+asyncpg://u@h/db")
    async with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata{extra})
        context.run_migrations()
    await engine.dispose()
"""


def test_env004_fix_moves_a_bare_run_migrations_into_a_transaction():
    text = fixed(CONFIGURE_ON_ASYNC_CONNECTION.format(extra=""), "ENV004")
    assert text == (
        "from alembic import context\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "from sqlalchemy.engine import Connection\n"
        "\n"
        "target_metadata = None\n"
        "\n"
        "\n"
        "def do_run_migrations(connection: Connection) -> None:\n"
        "    context.configure(connection=connection, target_metadata=target_metadata)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n"
        "\n"
        "\n"
        "async def run_async_migrations():\n"
        '    engine = create_async_engine("postgresql+asyncpg://u@h/db")\n'
        "    async with engine.connect() as connection:\n"
        "        await connection.run_sync(do_run_migrations)\n"
        "    await engine.dispose()\n"
    )
    assert not [f.code for f in analyze(text, "env.py").findings if f.code == "ENV007"]


def test_env004_fix_adds_no_transaction_when_each_migration_has_its_own():
    text = fixed(
        CONFIGURE_ON_ASYNC_CONNECTION.format(extra=", transaction_per_migration=True"), "ENV004"
    )
    assert (
        "def do_run_migrations(connection: Connection) -> None:\n"
        "    context.configure(connection=connection, target_metadata=target_metadata, "
        "transaction_per_migration=True)\n"
        "    context.run_migrations()\n"
    ) in text
    assert "begin_transaction" not in text


def test_env007_fix_names_context_the_way_the_file_does():
    text = fixed(
        "import alembic\n"
        "from sqlalchemy import create_engine\n\n\n"
        "def run_migrations_online():\n"
        '    engine = create_engine("postgresql+psycopg2://u@h/db")\n'
        "    with engine.connect() as connection:\n"
        "        alembic.context.configure(connection=connection)\n"
        "        alembic.context.run_migrations()\n\n\n"
        "run_migrations_online()\n",
        "ENV007",
    )
    assert (
        "        alembic.context.configure(connection=connection)\n"
        "        with alembic.context.begin_transaction():\n"
        "            alembic.context.run_migrations()\n"
    ) in text


def test_env050_fix_reaches_nullpool_through_the_sqlalchemy_module_alias():
    text = fixed(
        "import sqlalchemy as sa\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n\n\n"
        "async def run_async_migrations():\n"
        '    engine = create_async_engine("postgresql+asyncpg://u@h/db")\n'
        "    await engine.dispose()\n",
        "ENV050",
    )
    assert text == (
        "import sqlalchemy as sa\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n\n\n"
        "async def run_async_migrations():\n"
        '    engine = create_async_engine("postgresql+asyncpg://u@h/db", poolclass=sa.NullPool)\n'
        "    await engine.dispose()\n"
    )


SYNC_ENV_WITH_COMPAT_IMPORT = """\
from alembic import context
from sqlalchemy import pool

try:
    from app.compat import engine_from_config
except ImportError:
    from sqlalchemy import engine_from_config

config = context.config


def run_migrations_online():
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
"""


def test_fix_async_reads_the_import_in_an_except_handler(tmp_path, capsys):
    """The name bound last (the except handler's import) is SQLAlchemy's factory: the file
    is converted, its async counterpart imported."""
    (tmp_path / "migrations").mkdir()
    env = tmp_path / "migrations" / "env.py"
    env.write_text(SYNC_ENV_WITH_COMPAT_IMPORT, encoding="utf-8")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = postgresql+asyncpg://u@h/db\n",
        encoding="utf-8",
    )
    status = cli.main(["fix", "--async", str(env)])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert out.startswith(f"{cli.display(env)}: rewritten to the async pattern: ")
    text = env.read_text(encoding="utf-8")
    assert "from sqlalchemy.ext.asyncio import async_engine_from_config\n" in text
    assert "    connectable = async_engine_from_config(\n" in text
    assert "        await connection.run_sync(do_run_migrations)\n" in text


ASYNC_ENV_RUN_UNDER_TRY = """\
import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

config = context.config
target_metadata = None


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    # one engine for the whole run
    connectable = async_engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    async with connectable.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await connectable.dispose()


def run_migrations_online() -> None:
    try:
        asyncio.run(run_async_migrations())
    except KeyboardInterrupt:
        raise SystemExit(1)


run_migrations_online()
"""


def fix_sync(tmp_path, capsys, text: str):
    (tmp_path / "migrations").mkdir()
    env = tmp_path / "migrations" / "env.py"
    env.write_text(text, encoding="utf-8")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite:///app.db\n",
        encoding="utf-8",
    )
    status = cli.main(["fix", "--sync", str(env)])
    out, err = capsys.readouterr()
    return status, out, err, env.read_text(encoding="utf-8")


def test_fix_sync_inlines_the_run_inside_a_try_keeping_its_comment(tmp_path, capsys):
    status, out, err, text = fix_sync(tmp_path, capsys, ASYNC_ENV_RUN_UNDER_TRY)
    assert (status, err) == (0, "")
    assert "rewritten to the sync pattern" in out
    assert text.endswith(
        "def run_migrations_online() -> None:\n"
        "    try:\n"
        "        # one engine for the whole run\n"
        "        connectable = engine_from_config(\n"
        "            config.get_section(config.config_ini_section, {}), "
        'prefix="sqlalchemy.", poolclass=pool.NullPool\n'
        "        )\n"
        "        with connectable.connect() as connection:\n"
        "            do_run_migrations(connection)\n"
        "        connectable.dispose()\n"
        "    except KeyboardInterrupt:\n"
        "        raise SystemExit(1)\n"
        "\n\n"
        "run_migrations_online()\n"
    )
    assert "async" not in text


def test_fix_sync_refuses_when_the_coroutine_is_also_awaited_elsewhere(tmp_path, capsys):
    text = ASYNC_ENV_RUN_UNDER_TRY + (
        "\n\nasync def run_inside_the_app() -> None:\n    await run_async_migrations()\n"
    )
    status, out, err, after = fix_sync(tmp_path, capsys, text)
    assert (status, out, after) == (1, "", text)
    assert err.startswith(f"{cli.display(tmp_path / 'migrations' / 'env.py')}: not rewritten: ")
    assert err.endswith(  # after the line it names, if it names one
        "run_async_migrations() must be started exactly once, by "
        "asyncio.run(run_async_migrations()), for the sync conversion to be safe\n"
    )
    assert err.count("\n") == 1


def test_env004_fix_never_moves_a_read_of_a_star_parameter_out_of_its_function(tmp_path, capsys):
    """`*metadata` is local to the coroutine: moving the configure() that reads it into a new
    function would leave a NameError, so `check --unsafe-fixes` leaves the file alone."""
    env = tmp_path / "env.py"
    text = (
        CONFIGURE_ON_ASYNC_CONNECTION.replace(
            "async def run_async_migrations():", "async def run_async_migrations(*metadata):"
        )
        .format(extra="")
        .replace("target_metadata=target_metadata", "target_metadata=metadata[0]")
    )
    env.write_text(text, encoding="utf-8")
    status = cli.main(["check", "--diff", "--unsafe-fixes", "--select", "ENV004", str(env)])
    out, err = capsys.readouterr()
    assert (status, out, err) == (0, "", "")
    assert env.read_text(encoding="utf-8") == text
    # the same file without the star parameter is fixed
    plain = text.replace("(*metadata)", "()").replace("metadata[0]", "None")
    env.write_text(plain, encoding="utf-8")
    assert cli.main(["check", "--diff", "--unsafe-fixes", "--select", "ENV004", str(env)]) == 0
    assert "+        await connection.run_sync(do_run_migrations)\n" in capsys.readouterr().out


ASYNC_WITH_IN_SYNC_HELPER = """\
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

target_metadata = None


def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=target_metadata)
    async with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations():
    engine = create_async_engine("postgresql+asyncpg://u@h/db")
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()
"""


def test_env005_fix_makes_begin_transaction_a_plain_with_in_the_sync_helper():
    text = fixed(ASYNC_WITH_IN_SYNC_HELPER, "ENV005")
    assert text == ASYNC_WITH_IN_SYNC_HELPER.replace(
        "    async with context.begin_transaction():", "    with context.begin_transaction():"
    )


SYNC_ENV_FROM_ENGINE_MODULE = """\
from alembic import context
from sqlalchemy.engine import engine_from_config

config = context.config


def run_migrations_online():
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.")
    with connectable.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
"""


def test_fix_async_knows_the_factory_by_any_of_its_import_paths_and_adds_nullpool(tmp_path, capsys):
    (tmp_path / "migrations").mkdir()
    env = tmp_path / "migrations" / "env.py"
    env.write_text(SYNC_ENV_FROM_ENGINE_MODULE, encoding="utf-8")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = postgresql+asyncpg://u@h/db\n",
        encoding="utf-8",
    )
    assert cli.main(["fix", "--async", str(env)]) == 0
    assert "rewritten to the async pattern" in capsys.readouterr().out
    text = env.read_text(encoding="utf-8")
    assert (
        "    connectable = async_engine_from_config(config.get_section(config.config_ini_section, "
        '{}), prefix="sqlalchemy.", poolclass=pool.NullPool)\n'
    ) in text
    assert "from sqlalchemy import pool\n" in text
    assert "engine_from_config(" not in text.replace("async_engine_from_config(", "")


def test_fix_sync_keeps_an_import_still_read_elsewhere(tmp_path, capsys):
    text = ASYNC_ENV_RUN_UNDER_TRY.replace(
        "except KeyboardInterrupt:", "except asyncio.TimeoutError:"
    )
    status, out, err, after = fix_sync(tmp_path, capsys, text)
    assert (status, err) == (0, "")
    assert after.startswith("import asyncio\n")
    assert "    except asyncio.TimeoutError:\n" in after


def test_fix_async_puts_nullpool_on_its_own_line_in_a_call_split_over_lines(tmp_path, capsys):
    split = SYNC_ENV_FROM_ENGINE_MODULE.replace(
        'engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.")',
        'engine_from_config(\n        config.get_section(config.config_ini_section, {}),\n        prefix="sqlalchemy."\n    )',
    )
    (tmp_path / "migrations").mkdir()
    env = tmp_path / "migrations" / "env.py"
    env.write_text(split, encoding="utf-8")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = postgresql+asyncpg://u@h/db\n",
        encoding="utf-8",
    )
    assert cli.main(["fix", "--async", str(env)]) == 0
    capsys.readouterr()
    assert (
        "    connectable = async_engine_from_config(\n"
        "        config.get_section(config.config_ini_section, {}),\n"
        '        prefix="sqlalchemy.",\n'
        "        poolclass=pool.NullPool\n"
        "    )\n"
    ) in env.read_text(encoding="utf-8")


def test_fix_sync_inlines_the_run_inside_a_with_block(tmp_path, capsys):
    text = ASYNC_ENV_RUN_UNDER_TRY.replace(
        "    try:\n        asyncio.run(run_async_migrations())\n"
        "    except KeyboardInterrupt:\n        raise SystemExit(1)\n",
        "    with warnings.catch_warnings():\n        asyncio.run(run_async_migrations())\n",
    ).replace("import asyncio\n", "import asyncio\nimport warnings\n")
    status, out, err, after = fix_sync(tmp_path, capsys, text)
    assert (status, err) == (0, "")
    assert after.endswith(
        "def run_migrations_online() -> None:\n"
        "    with warnings.catch_warnings():\n"
        "        # one engine for the whole run\n"
        "        connectable = engine_from_config(\n"
        "            config.get_section(config.config_ini_section, {}), "
        'prefix="sqlalchemy.", poolclass=pool.NullPool\n'
        "        )\n"
        "        with connectable.connect() as connection:\n"
        "            do_run_migrations(connection)\n"
        "        connectable.dispose()\n"
        "\n\n"
        "run_migrations_online()\n"
    )
