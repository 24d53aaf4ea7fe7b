"""convert_to_async (the async pattern, docs/architecture.md) on the sync shapes people have, and what it refuses."""

from __future__ import annotations

import ast
import os

import pytest
from alembic_env_lsp.fixes.async_repairs import repair_async_connection_configure
from alembic_env_lsp.fixes.async_rewrite import convert_to_async
from support.rewrite_cases import (
    ALL_CASES,
    BROKEN_CASES,
    EXPECTED,
    HERE,
    SYNC_CASES,
    case_id,
    resolve,
    template,
)
from support.rewrite_checks import assert_sound, structure

REGENERATE = os.environ.get("ALEMBIC_ENV_LSP_REGEN") == "1"
REPAIRS = [repair_async_connection_configure]

# The cookbook's connection-sharing body for run_migrations_online (alembic docs, "Programmatic
# API use (connection sharing) With Asyncio").
SHARING_BODY = """
connectable = config.attributes.get("connection", None)
if connectable is None:
    asyncio.run(run_async_migrations())
else:
    do_run_migrations(connectable)
"""


def check_golden(case, text: str) -> None:
    path = case.expected_path
    if path is None:
        return
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, newline="")
    assert path.read_text() == text, f"{case.name}: output differs from {path.relative_to(HERE)}"


@pytest.mark.parametrize("case", ALL_CASES, ids=case_id)
def test_fix_output(case):
    """Each fixture's fix: the file a user gets, sound and idempotent."""
    text = case.apply()
    assert_sound(case.source, text)
    check_golden(case, text)
    for fix in case.fixes:  # applying a fix again changes nothing
        again = resolve(fix)(text)
        assert again.refused is None and not again.changed and again.text == text, fix


@pytest.mark.parametrize("case", SYNC_CASES + BROKEN_CASES, ids=case_id)
def test_async_result_needs_no_repair(case):
    text = case.apply()
    assert not convert_to_async(text).changed
    for repair in REPAIRS:
        result = repair(text)
        assert result.refused is None and not result.changed, (repair.__name__, result.refused)


@pytest.mark.parametrize("case", SYNC_CASES, ids=case_id)
def test_sync_shapes_get_the_async_layout(case):
    tree = ast.parse(case.apply())
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not calls & {
        "engine_from_config",
        "create_engine",
        "sa.engine_from_config",
        "make_engine",
    }
    assert calls & {"async_engine_from_config", "create_async_engine"}
    assert "asyncio.run" in calls
    awaited = {
        ast.unparse(n.value.func)
        for n in ast.walk(tree)
        if isinstance(n, ast.Await) and isinstance(n.value, ast.Call)
    }
    assert any(a.endswith(".run_sync") for a in awaited) and any(
        a.endswith(".dispose") for a in awaited
    )
    reads = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert "attributes" in reads  # the connection-sharing branch


def test_generic_template_becomes_async_template_plus_sharing_branch():
    expected = ast.parse(template("async"))
    for node in expected.body:
        if isinstance(node, ast.FunctionDef) and node.name == "run_migrations_online":
            node.body = ast.parse(SHARING_BODY).body
    result = convert_to_async(template("generic"))
    assert result.changed and result.refused is None
    assert structure(result.text) == structure(expected)


def test_generic_template_without_sharing_branch_is_the_async_template():
    result = convert_to_async(template("generic"), sharing_branch=False)
    assert structure(result.text) == structure(template("async"))
    assert_sound(template("generic"), result.text)
    assert not convert_to_async(result.text, sharing_branch=False).changed


@pytest.mark.parametrize("name", ["async", "pyproject_async"])
def test_async_templates_are_left_alone(name):
    source = template(name)
    result = convert_to_async(source)
    assert result == type(result)(source, None, False)


def test_pyproject_template_is_converted_like_generic():
    assert (
        convert_to_async(template("pyproject")).text == convert_to_async(template("generic")).text
    )


def test_crlf_and_no_trailing_newline_are_kept():
    source = (
        (HERE / "sync" / "code_before_with.py").read_text().replace("\n", "\r\n").rstrip("\r\n")
    )
    result = convert_to_async(source)
    assert result.changed
    assert "\n" not in result.text.replace("\r\n", "")
    assert not result.text.endswith("\n")
    assert_sound(source, result.text)
    lf = convert_to_async((HERE / "sync" / "code_before_with.py").read_text()).text
    assert result.text.replace("\r\n", "\n") == lf.rstrip("\n")


def test_tab_indented_file_stays_tab_indented():
    source = (HERE / "sync" / "custom_names.py").read_text().replace("    ", "\t")
    result = convert_to_async(source)
    assert result.changed
    assert_sound(source, result.text)
    assert not any(line.startswith(" ") for line in result.text.splitlines())
    assert (
        "\tasync with engine.connect() as conn:\n\t\tawait conn.run_sync(do_run_migrations)"
        in result.text
    )


def test_variant_without_sharing_branch():
    result = convert_to_async(
        (HERE / "sync" / "create_engine_url.py").read_text(), sharing_branch=False
    )
    assert "attributes" not in result.text
    assert (
        "def run_migrations_online() -> None:\n    asyncio.run(run_async_migrations())\n"
        in result.text
    )


def test_names_already_taken_get_fresh_ones():
    source = (
        (HERE / "sync" / "create_engine_url.py")
        .read_text()
        .replace(
            "target_metadata = None\n",
            "target_metadata = None\ndo_run_migrations = run_async_migrations = None\n",
        )
    )
    result = convert_to_async(source)
    assert result.refused is None
    assert "def do_run_migrations_2(connection: Connection) -> None:" in result.text
    assert "async def run_async_migrations_2() -> None:" in result.text
    assert "asyncio.run(run_async_migrations_2())" in result.text


def test_connection_name_shadowed_by_another_import():
    source = (
        (HERE / "sync" / "create_engine_url.py")
        .read_text()
        .replace(
            "import os\n",
            "import os\n\nfrom asyncpg import Connection  # the app's raw driver connection\n",
        )
    )
    result = convert_to_async(source)
    assert "from sqlalchemy.engine import Connection as SAConnection" in result.text
    assert "def do_run_migrations(connection: SAConnection) -> None:" in result.text


def test_connection_variable_is_renamed_but_keywords_and_attributes_are_not():
    source = (
        (HERE / "sync" / "custom_names.py")
        .read_text()
        .replace(
            "context.configure(connection=conn, target_metadata=target_metadata)",
            "context.configure(connection=conn, target_metadata=target_metadata, conn=conn.dialect.name)",
        )
    )
    text = convert_to_async(source).text
    assert (
        "context.configure(connection=connection, target_metadata=target_metadata, conn=connection.dialect.name)"
        in text
    )


REFUSED = {
    "online_takes_parameters": "takes parameters",
    "name_shared_by_engine_and_block": "'schema' is used both to build the engine and inside the migration block",
    "two_databases": "more than one function connects to a database (run_main(), run_audit())",
    "no_engine": "creates no engine",
    "syntax_error": "does not parse (line 3",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_shapes(name):
    source = (HERE / "refuse" / f"{name}.py").read_text()
    result = convert_to_async(source)
    assert result.text is None and not result.changed
    assert REFUSED[name] in result.refused
    assert ". " not in result.refused and "\n" not in result.refused  # one sentence


def test_fixture_files_and_expected_files_match_up():
    used = {c.expected_path for c in ALL_CASES if c.expected_path is not None}
    on_disk = set(EXPECTED.rglob("*.py"))
    assert on_disk == used or REGENERATE, (
        f"stale or missing expected files: {sorted(on_disk ^ used)}"
    )
    for group in ("sync", "broken", "async"):
        fixtures = {p.stem for p in (HERE / group).glob("*.py")}
        named = {c.name for c in ALL_CASES if c.group == group}
        assert fixtures == named, f"{group}: fixtures without a case: {sorted(fixtures - named)}"
