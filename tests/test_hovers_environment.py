"""Driver verdicts judge the PROJECT's SQLAlchemy (its .venv, read from dist-info names), not
the checker's: a bare `postgresql://` is psycopg2 on SQLAlchemy 2.0 (sync only) and psycopg on
2.1. The hover, the Explain diagram, ENV001 and ENV057 say which SQLAlchemy they judged and
where it is installed, and hedge when no project environment is found."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.explain import explain_markdown
from alembic_env_lsp.hovers import hover_at, hover_ini
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.text import Position

ASYNC = (files("alembic") / "templates" / "async" / "env.py").read_text(encoding="utf-8")
SYNC = (files("alembic") / "templates" / "generic" / "env.py").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _no_virtual_env(monkeypatch):
    """The shell running the tests may have a virtualenv activated."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)


def project(root: Path, url: str, sqlalchemy: str | None, env: str = ASYNC):
    """env.py + alembic.ini, and a .venv beside them holding SQLAlchemy `sqlalchemy` (as an
    empty dist-info folder: nothing is installed or run); `sqlalchemy` None: no .venv."""
    root.mkdir(parents=True, exist_ok=True)
    if sqlalchemy is not None:
        site = root / ".venv" / "lib" / "python3.12" / "site-packages"
        site.mkdir(parents=True)
        (root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\nversion_info = 3.12.4\n")
        (site / f"SQLAlchemy-{sqlalchemy}.dist-info").mkdir()
    (root / "env.py").write_text(env, encoding="utf-8")
    (root / "alembic.ini").write_text(
        f"[alembic]\nscript_location = %(here)s\nsqlalchemy.url = {url}\n", encoding="utf-8"
    )
    return analyze(env, str(root / "env.py"), project=ProjectIndex().context_for(root / "env.py"))


def engine_hover(analysis, factory: str = "async_engine_from_config(") -> str:
    text = analysis.source.text
    index = text.rindex(factory) + 2
    line = text.count("\n", 0, index)
    result = hover_at(analysis, Position(line, index - text.rfind("\n", 0, index) - 1))
    assert result is not None
    return result.markdown


def verdict_lines(md: str) -> list[str]:
    return [line for line in md.splitlines() if "✓" in line or "✗" in line]


def engine_node(analysis) -> str:
    md = explain_markdown(analysis)
    return next(
        line for line in md.splitlines() if "async_engine_from_config#40;#41; · line" in line
    )


def test_sqlalchemy_20_in_the_project_makes_a_bare_postgresql_async_engine_fail(tmp_path):
    analysis = project(tmp_path, "postgresql://app:secret@db/app", "2.0.36")
    [verdict] = verdict_lines(engine_hover(analysis))
    assert verdict.startswith("- ✗ Fails when the engine is created: `psycopg2` is sync-only")
    assert verdict.endswith("(SQLAlchemy 2.0.36 in .venv).")
    codes = {f.code: f for f in analysis.findings}
    assert "ENV057" not in codes  # one error, not an error and a note
    assert codes["ENV001"].message.endswith(
        "A bare 'postgresql://' loads psycopg2 on SQLAlchemy 2.0.36, in .venv (.venv beside "
        "alembic.ini); 2.1 loads psycopg."
    )
    assert codes["ENV001"].fixes[0].title == "Use async driver 'postgresql+asyncpg'"
    node = engine_node(analysis)
    assert (
        "driver psycopg2 is sync-only: fails at create<br/>judged with SQLAlchemy 2.0.36 in .venv"
        in node
    )


def test_sqlalchemy_21_in_the_project_makes_it_work_and_says_so(tmp_path):
    analysis = project(tmp_path, "postgresql://app:secret@db/app", "2.1.0")
    [verdict] = verdict_lines(engine_hover(analysis))
    assert verdict.startswith("- ✓ Works: the async engine loads `PGDialectAsync_psycopg`")
    assert verdict.endswith("(SQLAlchemy 2.1.0 in .venv).")
    codes = [f.code for f in analysis.findings]
    assert "ENV001" not in codes and "ENV057" in codes
    assert "SQLAlchemy 2.1.0 is installed in .venv" in next(
        f.message for f in analysis.findings if f.code == "ENV057"
    )
    assert "driver psycopg: works<br/>judged with SQLAlchemy 2.1.0 in .venv" in engine_node(
        analysis
    )


def test_no_project_environment_gives_both_versions_verdicts_never_a_single_works(tmp_path):
    analysis = project(tmp_path, "postgresql://app:secret@db/app", None)
    md = engine_hover(analysis)
    [verdict] = verdict_lines(md)
    assert verdict.startswith("- On SQLAlchemy 2.1+: ✓ Works")
    assert "; on 2.0: ✗ Fails when the engine is created: `psycopg2` is sync-only" in verdict
    assert verdict.endswith("(no project environment found to tell which one runs it).")
    assert "- On SQLAlchemy 2.1+: Works with sync and async engines" in md
    assert "checker's SQLAlchemy" in md and "no project environment found" in md
    codes = [f.code for f in analysis.findings]
    assert "ENV001" not in codes and "ENV057" in codes  # the version is unknown: a note
    node = engine_node(analysis)
    assert (
        "SQLAlchemy 2.1+: driver psycopg: works; 2.0: driver psycopg2 is sync-only: fails at create"
        in node
    )
    assert "judged with" not in node


def test_a_named_driver_says_which_sqlalchemy_judged_it(tmp_path):
    found = project(tmp_path / "a", "postgresql+asyncpg://app@db/app", "2.0.36")
    [verdict] = verdict_lines(engine_hover(found))
    assert (
        verdict
        == "- ✓ Works: the async engine loads `PGDialect_asyncpg` (SQLAlchemy 2.0.36 in .venv)."
    )
    missing = project(tmp_path / "b", "postgresql+asyncpg://app@db/app", None)
    [verdict] = verdict_lines(engine_hover(missing))
    assert verdict.startswith(
        "- ✓ Works: the async engine loads `PGDialect_asyncpg` (checker's SQLAlchemy"
    )
    assert verdict.endswith(": no project environment found).")


def test_the_ini_hover_judges_with_the_project_sqlalchemy(tmp_path):
    analysis = project(tmp_path, "postgresql://app:secret@db/app", "2.0.36")
    ini = tmp_path / "alembic.ini"
    text = ini.read_text(encoding="utf-8")
    result = hover_ini(analysis.project, str(ini), text, Position(2, 3))
    assert result is not None
    md = result.markdown
    assert "driver `psycopg2` (SQLAlchemy 2.0.36's default for `postgresql://`)" in md
    assert "2.0 picks `psycopg2` (sync only), 2.1 `psycopg`; SQLAlchemy 2.0.36 in .venv" in md
    assert "✗ Fails when the engine is created: `psycopg2` is sync-only" in md
    assert "✓" not in md


def test_a_sync_engine_on_a_bare_url_works_on_both_and_names_each_driver(tmp_path):
    analysis = project(tmp_path, "postgresql://app@db/app", None, env=SYNC)
    [verdict] = verdict_lines(engine_hover(analysis, "engine_from_config("))
    assert verdict == (
        "- On SQLAlchemy 2.1+: ✓ Works: a sync engine loads `PGDialect_psycopg`; on 2.0: ✓ Works: a "
        "sync engine loads `PGDialect_psycopg2` (no project environment found to tell which one runs it)."
    )


def test_forgotten_projects_release_their_remembered_environment(tmp_path):
    from alembic_env_lsp import pyenv

    kept = project(tmp_path / "kept", "sqlite:///a.db", "2.0.36")
    dropped = project(tmp_path / "dropped", "sqlite:///a.db", "2.1.0")
    for analysis in (kept, dropped):
        assert pyenv.find_environment(analysis.project) is not None

    def remembered(root: Path) -> bool:
        return any(str(root) in map(str, key[4:]) for key in pyenv._FOUND)

    assert remembered(tmp_path / "kept") and remembered(tmp_path / "dropped")
    pyenv.forget_folders([tmp_path / "kept" / "env.py"])
    assert remembered(tmp_path / "kept") and not remembered(tmp_path / "dropped")


def test_the_rules_of_one_analysis_look_the_environment_up_once(tmp_path, monkeypatch):
    from alembic_env_lsp import pyenv

    calls = []
    real = pyenv.find_environment

    def counting(project):
        calls.append(project)
        return real(project)

    monkeypatch.setattr(pyenv, "find_environment", counting)
    analysis = project(tmp_path, "postgresql://app@db/app", "2.0.36")
    assert "ENV001" in {f.code for f in analysis.findings}  # judged with the project's 2.0
    assert len(calls) == 1
