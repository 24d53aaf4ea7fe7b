"""Flow-aware facts: each use sees the bindings that reach it (fixtures in tests/fixtures/flow/)."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from alembic_env_lsp import engine
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.findings import Severity
from alembic_env_lsp.model.facts import Confidence
from alembic_env_lsp.project import ProjectIndex

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "flow"


def check(name: str, tmp_path: Path, env: str | None = None):
    """Every finding on the fixture's env.py as (code, line, text under the range)."""
    shutil.copytree(FIXTURES / name, tmp_path / name)
    env_path = tmp_path / name / (env or "env.py")
    project = ProjectIndex().context_for(env_path)
    analysis = analyze(env_path.read_text(encoding="utf-8"), str(env_path), project=project)
    assert not analysis.internal_errors, analysis.internal_errors
    rows = [
        (f.code, f.range.start.line + 1, analysis.source.slice(f.range))
        for f in analysis.findings
        if f.path is None
    ]
    return analysis, rows


def test_url_read_then_written_back_resolves_to_the_ini_value(tmp_path):
    # `url = get_main_option(k) or os.environ.get(...)`, then set_main_option(k, url):
    # used to recurse without bound; the engine URL is the ini's (async driver on a sync engine).
    analysis, rows = check("url_self_reference", tmp_path)
    assert rows == [
        ("ENV022", 6, "config = context.config"),
        ("ENV013", 8, "url"),
        ("ENV030", 9, "None"),
        ("ENV002", 13, "engine_from_config"),
        ("ENV055", 14, "config.get_section(config.config_ini_section)"),
        ("ENV042", 22, "run_migrations_online()"),
    ]
    [engine_fact] = analysis.facts.engines
    assert engine_fact.url.text == "postgresql+asyncpg://app@localhost/app"
    assert paths(analysis, engine_fact.url) == SELF_REFERENCE_PATHS


# `url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")`
SELF_REFERENCE_PATHS = [
    (
        "postgresql+asyncpg://app@localhost/app",
        "alembic.ini [alembic] sqlalchemy.url (line 3)",
        ['config.get_main_option("sqlalchemy.url")'],
    ),
    (
        None,
        "environment variable DATABASE_URL",
        ['not (config.get_main_option("sqlalchemy.url"))', "DATABASE_URL is set"],
    ),
    (
        None,
        "None: environment variable DATABASE_URL is not set",
        ['not (config.get_main_option("sqlalchemy.url"))', "DATABASE_URL is not set"],
    ),
]


def paths(analysis, value):
    """Each alternative of a URL value as (text, origin, condition texts)."""
    return [
        (a.text, a.origin, [c.text(analysis.source) for c in a.conditions])
        for a in value.alternatives
    ]


def test_an_internal_error_comes_back_as_data(monkeypatch):
    def broken(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(engine, "build_facts", broken)
    analysis = analyze("from alembic import context\n", "env.py")
    assert analysis.crashed and analysis.facts is None and analysis.findings == []
    [error] = analysis.internal_errors
    assert error.startswith("analysis failed: RecursionError: maximum recursion depth exceeded (")
    assert "test_flow.py" in error
    assert analysis.traceback is not None and "Traceback" in analysis.traceback


@pytest.mark.parametrize(
    "text", ["", "x = (\n", "import alembic\nalembic.context.configure(url=1)\n"]
)
def test_ordinary_files_do_not_crash(text):
    assert not analyze(text, "env.py").crashed


def messages(analysis, code):
    return [f.message for f in analysis.findings if f.code == code]


def test_a_shared_connection_is_not_the_engine_built_on_the_other_branch(tmp_path):
    # `connectable = config.attributes.get("connection")`; `if connectable is None:` builds an
    # engine; the else branch configures with the connection it was handed: no ENV010.
    assert check("shared_connection_valid", tmp_path)[1] == []


def test_the_engine_reaching_configure_on_one_path_is_reported_with_its_condition(tmp_path):
    analysis, rows = check("engine_on_one_path", tmp_path)
    assert rows == [("ENV010", 44, "connectable")]
    [message] = messages(analysis, "ENV010")
    assert message.startswith(
        "'connection' must be a Connection, not an Engine when connectable is None: Alembic raises"
    )


def test_isinstance_splits_async_and_sync_paths(tmp_path):
    # `if isinstance(connectable, AsyncEngine): asyncio.run(...) else: with connectable.begin()`:
    # the else branch holds the caller's sync connection: no ENV005, no ENV004.
    assert check("isinstance_split_valid", tmp_path)[1] == []


def test_an_async_engine_on_one_path_reaches_a_sync_with(tmp_path):
    analysis, rows = check("async_engine_on_one_path", tmp_path)
    assert rows == [
        ("ENV005", 43, "connectable.begin()"),
        ("ENV004", 44, "do_run_migrations(connection)"),
    ]
    assert messages(analysis, "ENV005") == [
        "'connectable.begin()' must be used with 'async with' when connectable is None "
        "('AsyncEngine' object does not support the context manager protocol)."
    ]


def test_a_url_rebound_in_a_branch_is_still_a_url(tmp_path):
    # db_url = make_url(...); if ...: db_url = db_url.set(...); str(db_url).replace("%", "%%")
    analysis, rows = check("url_set_in_branch", tmp_path)
    assert rows == [("ENV014", 38, "str(db_url)")]
    [finding] = [f for f in analysis.findings if f.code == "ENV014"]
    [edit] = finding.fixes[0].edits
    assert edit.new_text == "db_url.render_as_string(hide_password=False)"


def test_possible_bindings_give_every_path_with_its_condition(tmp_path):
    analysis, _ = check("engine_on_one_path", tmp_path)
    facts = analysis.facts
    [configure] = [c for c in facts.configures if c.call.node.lineno == 44]
    name = configure.keyword("connection")
    reaches = configure.call.scope.possible_bindings(name)
    rows = [
        (
            r.binding.kind.value if r.binding else None,
            analysis.source.slice(analysis.source.node_range(r.node)).split("(")[0],
            r.condition_text(analysis.source),
        )
        for r in reaches
    ]
    assert rows == [
        ("Engine", "engine_from_config", "connectable is None"),
        (None, "config.attributes.get", "not (connectable is None)"),
    ]


def kinds_at_last_use(text: str, name: str):
    """(kind, condition) of each binding reaching the last read of `name` in `text`."""
    import ast as _ast

    analysis = analyze(text, "env.py", rules=())
    facts = analysis.facts
    reads = [
        n
        for n in _ast.walk(facts.tree)
        if isinstance(n, _ast.Name) and n.id == name and isinstance(n.ctx, _ast.Load)
    ]
    last = max(reads, key=lambda n: (n.lineno, n.col_offset))
    scope = next(s for s in facts.scopes if s.reaching is facts.module.reaching)
    return [
        (r.binding.kind.value if r.binding else None, r.condition_text(analysis.source))
        + (() if r.none is None else (r.none,))
        for r in scope.possible_bindings(last)
    ]


HEADER = "from sqlalchemy import create_engine\nfrom sqlalchemy.ext.asyncio import AsyncEngine\n"


def test_an_early_return_removes_the_path_that_returned():
    text = HEADER + (
        "def f(c):\n    if c is None:\n        return\n    use(c)\n"
        "def g(c):\n    if c is None:\n        c = create_engine('sqlite://')\n    use(c)\n"
    )
    assert kinds_at_last_use(text.split("def g")[0], "c") == [(None, "not (c is None)", False)]
    assert kinds_at_last_use(text, "c") == [
        ("Engine", "c is None", False),
        (None, "not (c is None)", False),
    ]


def test_is_not_none_truthiness_and_isinstance_narrow_the_body():
    # Inside the branch the narrowed binding is the only path: no condition, but known not None.
    base = HEADER + "e = maybe()\n"
    assert kinds_at_last_use(base + "if e is not None:\n    use(e)\n", "e") == [(None, "", False)]
    assert kinds_at_last_use(base + "if e is None:\n    use(e)\n", "e") == [(None, "", True)]
    assert kinds_at_last_use(base + "if e:\n    use(e)\n", "e") == [(None, "", False)]
    assert kinds_at_last_use(base + "if not e:\n    use(e)\n", "e") == [(None, "")]
    text = HEADER + "e = pick()\nif not isinstance(e, AsyncEngine):\n    pass\nelse:\n    use(e)\n"
    assert kinds_at_last_use(text, "e") == [("AsyncEngine", "", False)]
    text = HEADER + "e = create_engine(u)\nif isinstance(e, AsyncEngine):\n    use(e)\n"
    assert kinds_at_last_use(text, "e") == [("Engine", "", False)]  # contradiction: unchanged


def test_a_loop_body_may_not_run_and_a_handler_may_start_before_the_assignment():
    text = HEADER + "e = None\nfor i in range(3):\n    e = create_engine('sqlite://')\nuse(e)\n"
    assert kinds_at_last_use(text, "e") == [(None, "", True), ("Engine", "", False)]
    text = (
        HEADER
        + "e = None\ntry:\n    e = create_engine('sqlite://')\nexcept Exception:\n    pass\nuse(e)\n"
    )
    assert kinds_at_last_use(text, "e") == [(None, "", True), ("Engine", "", False)]


def test_a_function_sees_module_names_bound_below_it():
    text = (
        HEADER
        + "def run():\n    with engine.connect() as c:\n        use(c)\n\nengine = create_engine(URL)\nrun()\n"
    )
    assert kinds_at_last_use(text, "c") == [("Connection", "", False)]


NO_OFFLINE = ("ENV042", 1, "import asyncio")
ASYNCIO_RUN = ("ENV009", 36, "asyncio.run(run_async_migrations())")


def test_a_transaction_opened_by_the_caller_commits(tmp_path):
    # `async with engine.begin() as connection: await connection.run_sync(do_run_migrations)`:
    # SQL before configure() and run_migrations() without begin_transaction() are committed.
    assert check("caller_transaction_valid", tmp_path)[1] == [NO_OFFLINE, ASYNCIO_RUN]


def test_under_connect_the_same_function_is_rolled_back(tmp_path):
    analysis, rows = check("caller_connect_not_begin", tmp_path)
    assert rows == [
        NO_OFFLINE,
        ("ENV008", 20, 'connection.execute(text("SET search_path TO app"))'),
        ("ENV007", 22, "context.run_migrations()"),
        ASYNCIO_RUN,
    ]
    assert analysis.facts.in_caller_transaction == set()


def test_sql_run_by_a_local_helper_before_configure(tmp_path):
    analysis, rows = check("sql_in_helper", tmp_path)
    assert rows == [
        ("ENV008", 29, "set_search_path(connection)"),
        ("ENV042", 35, "run_migrations_online()"),
    ]
    [finding] = [f for f in analysis.findings if f.code == "ENV008"]
    assert finding.message.startswith(
        "'set_search_path()' (it runs 'connection.execute()') before context.configure() starts a "
        "transaction that Alembic treats as external"
    )
    [edit] = finding.fixes[0].edits
    assert edit.new_text.strip() == "connection.commit()"


def test_the_url_evaluator_is_kept_for_any_expression(tmp_path):
    analysis, _ = check("url_self_reference", tmp_path)
    facts = analysis.facts
    url_name = facts.module.assignments["url"][0].stmt.targets[0]
    value = facts.evaluate_url(facts.module.assignments["url"][0].value, facts.module, 7)
    assert isinstance(url_name, ast.Name)
    assert value.text == "postgresql+asyncpg://app@localhost/app"
    assert paths(analysis, value) == SELF_REFERENCE_PATHS


def test_analysis_remembers_what_it_was_run_with():
    from alembic_env_lsp.settings import Settings

    settings = Settings()
    analysis = analyze("import alembic\n", "env.py", settings=settings)
    assert analysis.settings is settings and analysis.workspace is None


def test_interpolation_keys_set_by_env_py_are_defined(tmp_path):
    # sqlalchemy.url = postgresql+psycopg://%(DB_USER)s:%(DB_PASS)s@...; env.py sets both with
    # set_section_option(config.config_ini_section, ...) through a variable: no ENV011.
    # ENV013 still asks to escape '%' in the value it stores (set_section_option's value).
    analysis, rows = check("interpolation_set_in_env", tmp_path)
    assert rows == [("ENV013", 16, 'os.environ["DB_USER"]')]
    assert messages(analysis, "ENV013")[0].startswith("Config.set_section_option() stores values")


def test_an_interpolation_key_env_py_does_not_set_is_named(tmp_path):
    analysis, rows = check("interpolation_key_missing", tmp_path)
    assert rows == [
        ("ENV013", 16, 'os.environ["DB_USER"]'),
        ("ENV011", 21, 'config.get_main_option("sqlalchemy.url")'),
        ("ENV011", 32, "config.get_section(config.config_ini_section, {})"),
    ]
    assert all("uses '%(DB_PASS)s'" in m for m in messages(analysis, "ENV011"))


def test_an_empty_ini_url_before_or_falls_through_to_the_fallback(tmp_path):
    # `config.get_main_option("sqlalchemy.url") or get_settings().database_url`, empty in the ini
    analysis, rows = check("empty_url_or_fallback", tmp_path)
    assert rows == []
    [engine_fact] = analysis.facts.engines
    assert engine_fact.url.text is None  # unknown: what get_settings() returns
    facts = analysis.facts
    value = facts.evaluate_url(facts.module.assignments["url"][0].value, facts.module, 17)
    # the empty ini value is never the result of `or`: only the fallback is left
    assert (value.text, value.origin, value.alternatives) == (
        None,
        "get_settings().database_url",
        (),
    )


def test_a_url_rebound_on_one_path_keeps_both_values_with_their_conditions(tmp_path):
    analysis, _ = check("url_set_in_branch", tmp_path)
    [engine_fact] = analysis.facts.engines
    url = engine_fact.url
    # the driver is set only when the test holds: a default, not a certainty
    assert (url.text, url.confidence) == ("postgresql+psycopg://", Confidence.DEFAULT)
    rows = [
        (a.text, a.confidence, a.origin, [c.text(analysis.source) for c in a.conditions])
        for a in url.alternatives
    ]
    assert rows == [
        (
            "postgresql+psycopg://",
            Confidence.LITERAL,
            "environment variable DATABASE_URL",
            ['db_url.drivername == "postgresql"'],
        ),
        (
            None,
            Confidence.UNKNOWN,
            "environment variable DATABASE_URL",
            ['not (db_url.drivername == "postgresql")'],
        ),
    ]


def test_unquote_keeps_the_scheme():
    text = (
        "from urllib.parse import unquote\nfrom sqlalchemy import create_engine\n\n"
        "engine = create_engine(unquote('postgresql+asyncpg://u:p%40ss@h/db'))\n"
    )
    analysis = analyze(text, "env.py")
    assert [(f.code, analysis.source.slice(f.range)) for f in analysis.findings] == [
        ("ENV002", "'postgresql+asyncpg://u:p%40ss@h/db'")
    ]


def test_a_configure_replaced_by_the_one_run_sync_runs_loses_its_options(tmp_path):
    # configure(connection=<AsyncConnection>, include_object=...) then run_sync(do_run_migrations),
    # which configures again: Alembic does not fail, but include_object= never applies.
    analysis, rows = check("configure_replaced_by_run_sync", tmp_path)
    assert rows == [("ENV004", 35, "context.configure")]
    [finding] = [f for f in analysis.findings if f.code == "ENV004"]
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        "This context.configure() is replaced by the one in 'do_run_migrations()' that run_sync() "
        "runs (line 22): its include_object= is lost. Pass those options there."
    )


def test_a_function_using_a_module_engine_bound_below_it(tmp_path):
    # Python resolves `engine` when run_migrations_online() runs, after the module bound it:
    # the connection is an AsyncConnection (ENV004 was missed when facts followed file order).
    analysis, rows = check("module_name_bound_below", tmp_path)
    assert rows == [
        ("ENV005", 16, "engine.connect()"),
        ("ENV004", 17, "connection"),
        ("ENV050", 33, "create_async_engine"),
    ]


def test_a_conditional_override_gives_each_value_its_condition(tmp_path):
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s\nsqlalchemy.url = sqlite:///app.db\n"
    )
    env = tmp_path / "env.py"
    env.write_text(
        "import os\nfrom alembic import context\nfrom sqlalchemy import engine_from_config\n\n"
        "config = context.config\nif os.environ.get('DB_KIND') == 'pg':\n"
        "    config.set_main_option('sqlalchemy.url', os.environ['PG_URL'])\n"
        "engine = engine_from_config(config.get_section(config.config_ini_section, {}))\n"
    )
    project = ProjectIndex().context_for(env)
    analysis = analyze(env.read_text(), str(env), project=project, rules=())
    [engine_fact] = analysis.facts.engines
    rows = [
        (a.text, [c.text(analysis.source) for c in a.conditions])
        for a in engine_fact.url.alternatives
    ]
    assert rows == [
        (None, ["os.environ.get('DB_KIND') == 'pg'"]),
        ("sqlite:///app.db", ["not (os.environ.get('DB_KIND') == 'pg')"]),
    ]
