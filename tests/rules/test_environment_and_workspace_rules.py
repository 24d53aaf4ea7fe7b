"""Rules that read installed versions (ENV035, ENV045, ENV048, ENV056, ENV057) or the workspace
(ENV009a's severity, ENV023)."""

import subprocess
import sys
from importlib import metadata

from alembic_env_lsp import knowledge
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.rules import _snippets as s
from alembic_env_lsp.workspace import Workspace

ASYNC = s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS)


def codes(analysis, code):
    return [f for f in analysis.findings if f.code == code]


def test_configure_options_come_from_the_installed_alembic_without_importing_it():
    script = (
        "import sys\nfrom alembic_env_lsp.knowledge import configure_options\n"
        "options = configure_options()\n"
        "assert 'alembic' not in sys.modules, 'alembic was imported'\n"
        "print(sorted(options))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    options = eval(result.stdout)
    # parameters of EnvironmentContext.configure and the options its docstring documents
    assert {
        "connection",
        "url",
        "target_metadata",
        "include_object",
        "compare_type",
        "render_as_batch",
    } <= set(options)
    assert {"version_table", "version_table_schema", "version_table_pk", "output_encoding"} <= set(
        options
    )
    assert "include_objects" not in options and "kw" not in options and "self" not in options


def test_installed_version_reads_package_metadata():
    assert knowledge.installed_version("SQLAlchemy") == metadata.version("sqlalchemy")
    assert knowledge.installed_version("no-such-distribution-here") is None
    assert knowledge.version_tuple("2.1.0b2") == (2, 1, 0) and knowledge.version_tuple(None) == ()


def test_env035_names_the_version_seen():
    text = s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS)
    [finding] = codes(analyze(text, environment={"alembic": "1.9.2"}), "ENV035")
    assert "alembic 1.9.2 (installed here)" in finding.message
    assert not codes(analyze(text), "ENV035")  # alembic 1.20 is installed with the checker


def test_env056_reads_greenlet_and_sqlalchemy_versions():
    analysis = analyze(ASYNC, environment=[("SQLAlchemy", "2.1.0"), ("greenlet", None)])
    [finding] = codes(analysis, "ENV056")
    assert "SQLAlchemy 2.1.0, installed here, no longer installs greenlet" in finding.message
    assert not codes(analyze(ASYNC, environment={"greenlet": "3.1.1"}), "ENV056")


def test_env057_message_says_which_sqlalchemy_the_project_runs(monkeypatch):
    # the project's environment decides, never the checker's own SQLAlchemy
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    text = "from sqlalchemy import create_engine\nengine = create_engine('postgresql://u@h/db')\n"
    [finding] = codes(analyze(text), "ENV057")
    assert "no project environment was found to tell which SQLAlchemy it runs" in finding.message
    assert metadata.version("sqlalchemy") not in finding.message
    [finding] = codes(analyze(text, environment={"sqlalchemy": "2.0.36"}), "ENV057")
    assert "SQLAlchemy 2.0.36 is installed here" in finding.message
    [finding] = codes(analyze(text, environment={"sqlalchemy": None}), "ENV057")
    assert "SQLAlchemy is not installed here" in finding.message


def project_with(tmp_path, app_code: str | None):
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = postgresql+asyncpg://u@h/db\n"
        + s.INI_LOGGING
    )
    env = tmp_path / "migrations" / "env.py"
    env.parent.mkdir()
    env.write_text(ASYNC)
    if app_code is not None:
        (tmp_path / "app").mkdir()
        (tmp_path / "app" / "__init__.py").write_text("")
        (tmp_path / "app" / "main.py").write_text(app_code)
    return env


def run(env, workspace=True):
    ws = Workspace([env.parent.parent]) if workspace else None
    return analyze(env.read_text(), str(env), project=ProjectIndex().context_for(env), workspace=ws)


ASYNC_CALLER = (
    "from alembic import command\n\nasync def startup(cfg):\n    command.upgrade(cfg, 'head')\n"
)
SYNC_CALLER = "from alembic import command\n\ndef migrate(cfg):\n    command.upgrade(cfg, 'head')\n"


def test_env009a_is_info_unless_async_code_runs_alembic_commands(tmp_path):
    env = project_with(tmp_path, ASYNC_CALLER)
    [finding] = codes(run(env), "ENV009")
    assert finding.severity.label == "warning"
    assert "alembic.command.upgrade() from async code (app/main.py:4)" in finding.message
    [finding] = codes(run(env, workspace=False), "ENV009")
    assert finding.severity.label == "info"


def test_env009a_sync_callers_keep_it_info_env023_sees_them(tmp_path):
    env = project_with(tmp_path, SYNC_CALLER)
    analysis = run(env)
    assert [f.severity.label for f in codes(analysis, "ENV009")] == ["info"]
    [hint] = codes(analysis, "ENV023")
    assert hint.severity.label == "hint" and "app/main.py:4" in hint.message


def test_env023_silent_without_alembic_commands_in_the_project(tmp_path):
    env = project_with(tmp_path, "print('hello')\n")
    assert not codes(run(env), "ENV023")


def test_commands_in_migration_scripts_do_not_count(tmp_path):
    env = project_with(tmp_path, None)
    versions = env.parent / "versions"
    versions.mkdir()
    (versions / "0001_x.py").write_text(ASYNC_CALLER)
    assert [f.severity.label for f in codes(run(env), "ENV009")] == ["info"]
    assert not codes(run(env), "ENV023")
