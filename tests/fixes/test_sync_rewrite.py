"""convert_to_sync: back to engine_from_config + `with connect()` for a sync driver."""

from __future__ import annotations

import ast
import contextlib
import io

from alembic_env_lsp import cli
from alembic_env_lsp.fixes.async_rewrite import convert_to_async
from alembic_env_lsp.fixes.sync_rewrite import convert_to_sync
from support.rewrite_cases import HERE, template
from support.rewrite_checks import assert_sound


def calls(text: str) -> set[str]:
    return {ast.unparse(n.func) for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call)}


def test_async_template_becomes_sync():
    source = template("async")
    result = convert_to_sync(source)
    assert result.changed and result.refused is None
    assert_sound(source, result.text)
    tree = ast.parse(result.text)
    assert not any(
        isinstance(n, (ast.Await, ast.AsyncFunctionDef, ast.AsyncWith)) for n in ast.walk(tree)
    )
    assert "engine_from_config" in calls(result.text) and "asyncio.run" not in calls(result.text)
    assert "import asyncio" not in result.text and "sqlalchemy.ext.asyncio" not in result.text
    online = next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run_migrations_online"
    )
    assert (
        "with connectable.connect() as connection:\n        do_run_migrations(connection)"
        in ast.unparse(online)
    )
    assert not convert_to_sync(result.text).changed


def test_generic_template_is_already_sync():
    source = template("generic")
    assert convert_to_sync(source) == type(convert_to_sync(source))(source, None, False)


def test_sharing_branch_survives_the_round_trip():
    async_text = convert_to_async(template("generic")).text
    result = convert_to_sync(async_text)
    assert_sound(async_text, result.text)
    online = ast.unparse(
        next(
            n
            for n in ast.parse(result.text).body
            if getattr(n, "name", "") == "run_migrations_online"
        )
    )
    assert 'connectable = config.attributes.get("connection", None)' in online.replace("'", '"')
    assert "else:\n        do_run_migrations(connectable)" in online
    assert "with connectable.connect() as connection:" in online
    assert "run_async_migrations" not in result.text


def test_online_function_that_is_itself_async_stays_in_place():
    source = (HERE / "broken" / "env053_legacy_template.py").read_text()
    text = convert_to_sync(source).text
    assert "\ndef run_migrations_online():\n" in text
    assert "else:\n    run_migrations_online()\n" in text
    assert "AsyncEngine" not in text and "future=True" not in text


def test_unknown_awaits_are_refused():
    result = convert_to_sync((HERE / "refuse" / "sync_awaits_something_else.py").read_text())
    assert result.text is None
    assert "'await wait_for_database()' has no sync equivalent" in result.refused


def test_asyncio_run_called_twice_is_refused():
    source = template("async").replace(
        "    asyncio.run(run_async_migrations())\n",
        "    asyncio.run(run_async_migrations())\n    asyncio.run(run_async_migrations())\n",
    )
    result = convert_to_sync(source)
    assert "must be started exactly once" in result.refused


def test_file_without_any_engine_is_refused():
    result = convert_to_sync((HERE / "refuse" / "no_engine.py").read_text())
    assert result.text is None and result.refused


# `fix --sync` as a user runs it on a project: the env.py a user wrote, the file after.
SHARED_CONNECTION_CLOSED_IN_FINALLY = """\
import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config
connection = config.attributes.get("connection")  # set when the app shares its connection


def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations():
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"))
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_online():
    try:
        asyncio.run(run_async_migrations())
    finally:
        if connection is not None:
            connection.close()


run_migrations_online()
"""


def fix_sync(tmp_path, text: str) -> tuple[int, str, str, str]:
    (tmp_path / "migrations").mkdir()
    env = tmp_path / "migrations" / "env.py"
    env.write_text(text, encoding="utf-8")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite:///app.db\n",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["fix", "--sync", str(env)])
    return status, out.getvalue(), err.getvalue(), env.read_text(encoding="utf-8")


def test_fix_sync_keeps_the_function_when_a_finally_reads_a_name_it_binds(tmp_path):
    """Inlined, `connection` would become run_migrations_online()'s local: the finally would
    close the migration's connection, or raise UnboundLocalError when the engine failed."""
    status, out, err, text = fix_sync(tmp_path, SHARED_CONNECTION_CLOSED_IN_FINALLY)
    assert (status, err) == (0, "")
    assert out.endswith("env.py: rewritten to the sync pattern: 4 changes\n")
    assert text == (
        "from alembic import context\n"
        "from sqlalchemy import create_engine\n"
        "\n"
        "config = context.config\n"
        'connection = config.attributes.get("connection")  # set when the app shares its connection\n'
        "\n\n"
        "def do_run_migrations(connection):\n"
        "    context.configure(connection=connection, target_metadata=None)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n"
        "\n\n"
        "def run_async_migrations():\n"
        '    engine = create_engine(config.get_main_option("sqlalchemy.url"))\n'
        "    with engine.connect() as connection:\n"
        "        do_run_migrations(connection)\n"
        "    engine.dispose()\n"
        "\n\n"
        "def run_migrations_online():\n"
        "    try:\n"
        "        run_async_migrations()\n"
        "    finally:\n"
        "        if connection is not None:\n"
        "            connection.close()\n"
        "\n\n"
        "run_migrations_online()\n"
    )


def test_fix_sync_keeps_the_function_when_an_except_reads_a_name_it_binds(tmp_path):
    source = SHARED_CONNECTION_CLOSED_IN_FINALLY.replace(
        "    finally:\n        if connection is not None:\n            connection.close()\n",
        "    except OSError:\n        print('cannot reach', engine.url)\n        raise\n",
    ).replace("connection = config.attributes", "engine = config.attributes")
    status, _, err, text = fix_sync(tmp_path, source)
    assert (status, err) == (0, "")
    assert "    try:\n        run_async_migrations()\n    except OSError:\n" in text


def test_fix_sync_inlines_when_the_finally_reads_nothing_the_function_binds(tmp_path):
    source = SHARED_CONNECTION_CLOSED_IN_FINALLY.replace(
        "        if connection is not None:\n            connection.close()\n",
        "        print('migrations done')\n",
    )
    status, _, err, text = fix_sync(tmp_path, source)
    assert (status, err) == (0, "")
    assert (
        "def run_migrations_online():\n"
        "    try:\n"
        '        engine = create_engine(config.get_main_option("sqlalchemy.url"))\n'
        "        with engine.connect() as connection:\n"
        "            do_run_migrations(connection)\n"
        "        engine.dispose()\n"
        "    finally:\n"
        "        print('migrations done')\n"
    ) in text


def test_fix_sync_leaves_no_blank_first_line_when_import_asyncio_was_line_1(tmp_path):
    status, _, err, text = fix_sync(
        tmp_path, "import asyncio\n\n" + template("async").replace("import asyncio\n", "", 1)
    )
    assert (status, err) == (0, "")
    assert text.startswith("from logging.config import fileConfig\n\n")
