"""The repairs of broken async env.py files: the structural one (ENV004/ENV005) and the rules'
own fixes (ENV003, ENV006, ENV050, ENV051, ENV053), as the editor and `check --fix` apply them."""

from __future__ import annotations

import pytest
from alembic_env_lsp import cli
from alembic_env_lsp.fixes.async_repairs import REPAIRS_BY_RULE, repair_async_connection_configure
from support.rewrite_cases import BROKEN_CASES, HERE, SYNC_CASES, case_id, rule_fix, template
from support.rewrite_checks import assert_sound

REPAIRS = [repair_async_connection_configure]
RULE_FIXES = ["ENV003", "ENV006", "ENV050", "ENV051", "ENV053"]
# Rules about the async wiring; none of them may report at warning or above after a fix.
ASYNC_RULES = {
    "ENV001",
    "ENV002",
    "ENV003",
    "ENV004",
    "ENV005",
    "ENV006",
    "ENV009",
    "ENV050",
    "ENV051",
    "ENV052",
    "ENV053",
    "ENV054",
}


def broken(name: str) -> str:
    return (HERE / "broken" / f"{name}.py").read_text()


@pytest.mark.parametrize("repair", REPAIRS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("name", ["generic", "async", "multidb"])
def test_repairs_leave_shipped_templates_alone(repair, name):
    source = template(name)
    assert repair(source) == type(repair(source))(source, None, False)


@pytest.mark.parametrize("code", RULE_FIXES)
@pytest.mark.parametrize("name", ["generic", "async", "multidb"])
def test_rule_fixes_leave_shipped_templates_alone(code, name):
    assert not rule_fix(code, template(name)).changed


@pytest.mark.parametrize("case", SYNC_CASES + BROKEN_CASES, ids=case_id)
def test_async_rules_are_quiet_after_the_fix(case):
    from alembic_env_lsp.engine import analyze

    analysis = analyze(case.apply())
    assert not analysis.internal_errors
    loud = [
        (f.code, f.message) for f in analysis.findings if f.code in ASYNC_RULES and f.severity <= 2
    ]
    assert not loud


@pytest.mark.parametrize("case", BROKEN_CASES, ids=case_id)
def test_the_rule_fired_before_the_fix(case):
    """The broken fixtures really are what the catalog describes (sanity of the fixtures)."""
    from alembic_env_lsp.engine import analyze

    wanted = {f"ENV{case.name[3:6]}"}
    codes = {f.code for f in analyze(case.source).findings}
    assert wanted & codes, codes


def test_unawaited_inside_async_def_gets_await_not_asyncio_run():
    source = broken("env051_no_dispose").replace(
        "        await connection.run_sync(do_run_migrations)\n",
        "        await connection.run_sync(do_run_migrations)\n        connection.commit()\n",
    )
    result = rule_fix("ENV003", source)
    assert "        await connection.commit()\n" in result.text
    assert "asyncio.run(run_async_migrations())" in result.text  # untouched: it was right


def test_async_helper_that_awaits_is_refused():
    source = broken("env003_async_helper").replace(
        "    context.configure(connection=connection, target_metadata=target_metadata)\n",
        "    await asyncio.sleep(0)\n    context.configure(connection=connection, target_metadata=target_metadata)\n",
        1,
    )
    result = rule_fix("ENV003", source)
    assert result.text == source  # no fix offered: it cannot be made sync


def test_async_begin_transaction_in_run_sync_target_gets_no_fix():
    """ENV003's fix would have to make the helper sync and its `async with` a `with`: it
    offers nothing rather than a file that does not compile."""
    head, _, tail = broken("env003_async_helper").partition("async def do_run_migrations")
    source = (
        head
        + "async def do_run_migrations"
        + tail.replace(
            "    with context.begin_transaction():",
            "    async with context.begin_transaction():",
            1,
        )
    )
    result = rule_fix("ENV003", source)
    assert result.text == source and not result.changed


def test_configure_block_using_a_local_variable_is_refused():
    source = (
        broken("env004_configure_async_connection")
        .replace(
            "    async with connectable.connect() as connection:\n",
            "    schema = 'app'\n    async with connectable.connect() as connection:\n",
        )
        .replace(
            "target_metadata=target_metadata)\n        with",
            "target_metadata=target_metadata, version_table_schema=schema)\n        with",
        )
    )
    result = repair_async_connection_configure(source)
    assert result.text is None
    assert "use the local variable 'schema'" in result.refused


def test_extracted_helper_reuses_an_identical_existing_one():
    source = broken("env004_configure_async_connection").replace(
        "\n\nasync def run_async_migrations",
        "\n\ndef do_run_migrations(conn):\n    context.configure(connection=conn, target_metadata=target_metadata)\n    with context.begin_transaction():\n        context.run_migrations()\n\n\nasync def run_async_migrations",
    )
    result = repair_async_connection_configure(source)
    assert result.text.count("def do_run_migrations") == 1
    assert "await connection.run_sync(do_run_migrations)" in result.text


def check_fix(tmp_path, capsys, text: str, *options: str) -> tuple[int, str, str]:
    """`check --fix [options] env.py` as a user runs it: exit code, output, the file after."""
    env = tmp_path / "env.py"
    env.write_text(text)
    status = cli.main(["check", "--fix", *options, str(env)])
    out, _ = capsys.readouterr()
    return status, out, env.read_text()


def test_env006_fix_of_a_bare_run_migrations_leaves_env007_to_say_it_has_no_transaction(
    tmp_path, capsys
):
    """run_sync(context.run_migrations) with no begin_transaction(): the lambda fixes the
    TypeError, and ENV007 still tells that PostgreSQL would roll the migration back."""
    source = broken("env006_context_functions").replace(
        "        with context.begin_transaction():\n            await connection.run_sync(context.run_migrations)\n",
        "        await connection.run_sync(context.run_migrations)\n",
    )
    status, out, text = check_fix(tmp_path, capsys, source, "--select", "ENV006,ENV007")
    assert status == 1
    assert (
        "        )\n        await connection.run_sync(lambda _connection: context.run_migrations())\n"
        in text
    )
    assert "env.py:44:55: ENV007 [warning] context.run_migrations() is not inside" in out
    assert "(2 fixed, 1 remaining)" in out


def test_env006_fix_moves_run_syncs_keywords_into_run_migrations(tmp_path, capsys):
    """run_sync(fn, **kw) calls fn(connection, **kw): the keywords belong to run_migrations()
    inside the lambda, not to the lambda (TypeError: unexpected keyword argument)."""
    source = broken("env051_no_dispose").replace(
        "await connection.run_sync(do_run_migrations)",
        "await connection.run_sync(do_run_migrations)\n"
        "        await connection.run_sync(context.run_migrations, engine_name='db')\n"
        "        result = await connection.run_sync(\n"
        "            context.run_migrations,\n"
        "            engine_name='db',\n"
        "            **options,\n"
        "        )",
    )
    status, out, text = check_fix(tmp_path, capsys, source, "--select", "ENV006")
    assert status == 0, out
    assert text == source.replace(
        "        await connection.run_sync(context.run_migrations, engine_name='db')\n",
        "        await connection.run_sync(lambda _connection: context.run_migrations(engine_name='db'))\n",
    ).replace(
        "            context.run_migrations,\n            engine_name='db',\n            **options,\n",
        "            lambda _connection: context.run_migrations(engine_name='db', **options),\n",
    )


def test_env006_offers_no_fix_when_run_sync_passes_positional_arguments_or_comments(
    tmp_path, capsys
):
    """run_migrations() takes no positional argument, and a comment among the arguments
    would be lost: the error is reported, the file left as it is."""
    source = broken("env051_no_dispose").replace(
        "await connection.run_sync(do_run_migrations)",
        "await connection.run_sync(do_run_migrations)\n"
        "        await connection.run_sync(context.run_migrations, 'db')\n"
        "        await connection.run_sync(\n"
        "            context.run_migrations,  # the primary\n"
        "            engine_name='db',\n"
        "        )",
    )
    status, out, text = check_fix(tmp_path, capsys, source, "--select", "ENV006")
    assert status == 1
    assert text == source
    assert out.count("ENV006 [error] run_sync() passes the connection as the first argument") == 2


def test_null_pool_reuses_an_imported_null_pool_and_skips_kwargs_splats():
    source = (
        broken("env050_no_null_pool")
        .replace(
            "from sqlalchemy.engine import Connection\n",
            "from sqlalchemy.engine import Connection\nfrom sqlalchemy.pool import NullPool\n",
        )
        .replace(
            '        prefix="sqlalchemy.",\n    )',
            '        prefix="sqlalchemy.",\n    )\n    other = async_engine_from_config({}, **options)',
        )
    )
    text = rule_fix("ENV050", source).text
    assert "poolclass=NullPool," in text
    assert "from sqlalchemy import pool" not in text
    assert "other = async_engine_from_config({}, **options)" in text


def test_dispose_goes_after_the_last_use_of_the_engine():
    source = broken("env051_no_dispose").replace(
        "        await connection.run_sync(do_run_migrations)\n",
        "        await connection.run_sync(do_run_migrations)\n    print(connectable.url)\n    print('done')\n",
    )
    text = rule_fix("ENV051", source).text
    # right after the block that uses it; .url still works on a disposed AsyncEngine
    assert (
        "        await connection.run_sync(do_run_migrations)\n    await connectable.dispose()\n"
        "    print(connectable.url)\n"
    ) in text
    assert text.count("dispose()") == 1


def test_legacy_wrapper_with_create_engine():
    source = (
        "from sqlalchemy import create_engine\nfrom sqlalchemy.ext.asyncio import AsyncEngine\n\n"
        "engine = AsyncEngine(create_engine('sqlite+aiosqlite://', future=True, echo=True))\n"
    )
    text = rule_fix("ENV053", source).text
    assert "engine = create_async_engine('sqlite+aiosqlite://', echo=True)\n" in text
    assert "from sqlalchemy.ext.asyncio import create_async_engine\n" in text


def test_repairs_refuse_unparseable_files():
    for repair in REPAIRS:
        result = repair("def broken(:\n")
        assert result.text is None and "does not parse (line 1" in result.refused


def test_all_repairs_in_rule_order_fix_a_file_with_several_problems():
    # The 1.5.6 template with the online coroutine never run and a run_sync() misuse on top.
    source = (
        broken("env053_legacy_template")
        .replace("    asyncio.run(run_migrations_online())", "    run_migrations_online()")
        .replace(
            "await connection.run_sync(do_run_migrations)",
            "await connection.run_sync(do_run_migrations(connection))",
        )
    )
    text = rule_fix("ENV053", source).text
    for code, repair in REPAIRS_BY_RULE.items():
        result = repair(text)
        assert result.refused is None, (code, result.refused)
        text = result.text
    for code in ("ENV003", "ENV051"):
        text = rule_fix(code, text).text
    assert_sound(source, text)
    assert "connectable = async_engine_from_config(" in text
    assert "await connection.run_sync(do_run_migrations)\n    await connectable.dispose()" in text
    assert "    asyncio.run(run_migrations_online())" in text
    assert all(not repair(text).changed for repair in REPAIRS_BY_RULE.values())


def test_check_unsafe_fixes_turns_run_sync_of_context_functions_into_the_template(tmp_path, capsys):
    """ENV006's fixes, then ENV005's repair of the transaction they leave on the event loop:
    `check --fix --unsafe-fixes` gives the file that migrates on PostgreSQL (tests/databases)."""
    status, out, text = check_fix(
        tmp_path,
        capsys,
        broken("env006_context_functions"),
        "--unsafe-fixes",
        "--select",
        "ENV005,ENV006,ENV007",
    )
    assert text == (HERE / "expected" / "broken" / "env006_context_functions.py").read_text()
    assert (status, out) == (0, "Found 3 problems in 1 env script (3 fixed, 0 remaining).\n")
