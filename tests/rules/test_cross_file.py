"""ENV011/ENV012 on real alembic.ini and pyproject.toml files: the finding on env.py, its twin on
the config line, and fixes that edit the config files."""

import textwrap
from pathlib import Path

from alembic_env_lsp.engine import analyze
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.rules import _snippets as s
from alembic_env_lsp.text import apply_edits
from alembic_env_lsp.workspace import Workspace

GENERIC = s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS)


def check(root: Path, env_text: str = GENERIC, *, workspace=None):
    env = root / "migrations" / "env.py"
    env.parent.mkdir(parents=True, exist_ok=True)
    env.write_text(env_text)
    analysis = analyze(
        env_text, str(env), project=ProjectIndex().context_for(env), workspace=workspace
    )
    assert not analysis.internal_errors
    return env, analysis


def ini(url_line: str) -> str:
    return "[alembic]\nscript_location = %(here)s/migrations\n" + url_line + "\n" + s.INI_LOGGING


def test_env011_twin_sits_on_the_ini_line_once(tmp_path):
    (tmp_path / "alembic.ini").write_text(ini("sqlalchemy.url = postgres://app:hunter2@db/app"))
    _, analysis = check(tmp_path)
    found = [f for f in analysis.findings if f.code == "ENV011"]
    # read twice (offline get_main_option, online get_section), shown on the ini line once
    assert len(found) == 2
    twins = [t for f in found for t in f.related]
    assert len(twins) == 1
    [twin] = twins
    assert twin.path == str(tmp_path / "alembic.ini")
    line = (tmp_path / "alembic.ini").read_text().splitlines()[twin.range.start.line]
    assert line.startswith("sqlalchemy.url = ")
    assert (
        line[twin.range.start.character : twin.range.end.character]
        == "postgres://app:hunter2@db/app"
    )
    assert all("hunter2" not in f.message for f in found)
    # the fix edits the ini, on both the finding and its twin
    [fix] = twin.fixes
    [edit] = fix.edits
    assert edit.path == str(tmp_path / "alembic.ini") and fix.safe
    fixed = apply_edits((tmp_path / "alembic.ini").read_text(), fix.edits)
    assert "sqlalchemy.url = postgresql://app:hunter2@db/app" in fixed


def test_env011_missing_interpolation_key_unless_the_app_passes_config_args(tmp_path):
    (tmp_path / "alembic.ini").write_text(ini("sqlalchemy.url = postgresql://app@%(DB_HOST)s/app"))
    _, analysis = check(tmp_path)
    assert any("'%(DB_HOST)s'" in f.message for f in analysis.findings if f.code == "ENV011")
    app = tmp_path / "app.py"
    app.write_text(
        "from alembic.config import Config\n\ncfg = Config('alembic.ini', config_args={'DB_HOST': 'db'})\n"
    )
    _, analysis = check(tmp_path, workspace=Workspace([tmp_path]))
    assert not [f for f in analysis.findings if f.code == "ENV011"]


def test_env011_only_when_env_py_reads_the_ini_value(tmp_path):
    (tmp_path / "alembic.ini").write_text(ini("sqlalchemy.url = ${DATABASE_URL}"))
    text = GENERIC.replace(
        "config = context.config\n",
        'config = context.config\nconfig.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"].replace("%", "%%"))\n',
    )
    _, analysis = check(tmp_path, "import os\n" + text)
    assert not [f for f in analysis.findings if f.code == "ENV011"]


PYPROJECT = textwrap.dedent(
    """\
    [project]
    name = "inventory"

    [tool.alembic]
    script_location = "%(here)s/migrations"
    sqlalchemy.url = "postgresql://inv:p%40ss@localhost/inv"

    [tool.ruff]
    line-length = 100
    """
)


def test_env012_twin_on_the_pyproject_line_and_the_move_fix(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "alembic.ini").write_text("[alembic]\n" + s.INI_LOGGING)
    env, analysis = check(tmp_path)
    found = [f for f in analysis.findings if f.code == "ENV012"]
    assert len(found) == 2 and all("p%40ss" not in f.message for f in found)
    [twin] = [t for f in found for t in f.related]
    assert twin.path == str(tmp_path / "pyproject.toml")
    assert PYPROJECT.splitlines()[twin.range.start.line].startswith("sqlalchemy.url = ")
    [fix] = found[0].fixes
    assert not fix.safe
    for path in (tmp_path / "alembic.ini", tmp_path / "pyproject.toml"):
        path.write_text(
            apply_edits(path.read_text(), [e for e in fix.edits if e.path == str(path)])
        )
    assert (
        "sqlalchemy.url = postgresql://inv:p%%40ss@localhost/inv"
        in (tmp_path / "alembic.ini").read_text()
    )
    assert "sqlalchemy.url" not in (tmp_path / "pyproject.toml").read_text()
    assert "[tool.ruff]" in (tmp_path / "pyproject.toml").read_text()
    _, after = check(tmp_path)
    assert not [f for f in after.findings if f.code in ("ENV011", "ENV012")]


def test_env012_table_form_and_get_alembic_option(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.alembic]\nscript_location = "%(here)s/migrations"\n\n[tool.alembic.sqlalchemy]\nurl = "sqlite:///a.db"\n'
    )
    (tmp_path / "alembic.ini").write_text("[alembic]\n" + s.INI_LOGGING)
    text = s.HEADER + "\nurl = config.get_alembic_option('sqlalchemy.url')\n"
    _, analysis = check(tmp_path, text)
    [finding] = [f for f in analysis.findings if f.code == "ENV012"]
    assert "returns None" in finding.message
    [twin] = finding.related
    assert twin.range.start.line == 4  # the `url = ...` line of [tool.alembic.sqlalchemy]


def test_env012_silent_for_a_pyproject_of_another_project(tmp_path):
    # the nearest pyproject.toml configures some other script folder: not this env.py's
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT.replace("%(here)s/migrations", "%(here)s/other")
    )
    _, analysis = check(tmp_path)
    assert not [f for f in analysis.findings if f.code == "ENV012"]
