"""convert_to_sync: back to engine_from_config + `with connect()` for a sync driver."""

from __future__ import annotations

import ast

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
