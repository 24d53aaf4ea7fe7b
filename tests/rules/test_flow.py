"""Flow-aware facts: each use sees the bindings that reach it (fixtures in tests/fixtures/flow/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic_env_lsp import engine
from alembic_env_lsp.engine import analyze
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
    origins = [a.origin for a in engine_fact.url.alternatives]
    assert origins == [
        "alembic.ini [alembic] sqlalchemy.url (line 3)",
        "environment variable DATABASE_URL",
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
