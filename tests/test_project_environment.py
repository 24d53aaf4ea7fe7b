"""The environment rules judge the project's Python environment, not the checker's:
where it is found (pyenv.py), what is read from it (dist-info names,
never an import), and what ENV035 / ENV045 / ENV056 then say."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from alembic_env_lsp import pyenv
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.pyenv import CLI_FLAG, EDITOR_SETTING, PythonChoice
from alembic_env_lsp.rules import _snippets as s
from alembic_env_lsp.settings import SettingsError, parse_settings

ROOT = Path(__file__).resolve().parent.parent
ASYNC = s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS)
SYNC = s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS)


@pytest.fixture(autouse=True)
def _no_virtual_env(monkeypatch):
    """The shell running the tests may have a virtualenv activated."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)


# ---- fake environments: folder layouts with dist-info names, nothing installed --------------


def fake_venv(root: Path, packages: dict[str, str], *, python: str = "3.12", windows=False):
    """A virtualenv as uv/venv lay it out, with empty `<name>-<version>.dist-info` folders."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion_info = {python}.4\n")
    if windows:
        site = root / "Lib" / "site-packages"
        (root / "Scripts").mkdir()
        (root / "Scripts" / "python.exe").write_text("")
    else:
        site = root / "lib" / f"python{python}" / "site-packages"
        (root / "bin").mkdir()
        (root / "bin" / "python").write_text("")
    site.mkdir(parents=True)
    for name, version in packages.items():
        info = site / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return site


def project(tmp_path: Path, env_text: str = ASYNC, pyproject: str | None = None) -> Path:
    """alembic.ini + migrations/env.py; returns env.py."""
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\n"
        "sqlalchemy.url = postgresql+asyncpg://u@h/db\n" + s.INI_LOGGING
    )
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    env = tmp_path / "migrations" / "env.py"
    env.parent.mkdir()
    env.write_text(env_text)
    return env


def check(env: Path, choice: PythonChoice | None = None):
    context = ProjectIndex(python=choice).context_for(env)
    return analyze(env.read_text(), str(env), project=context)


def codes(analysis, code):
    return [f for f in analysis.findings if f.code == code]


ASYNCIO = {"SQLAlchemy": "2.1.0", "greenlet": "3.1.0", "alembic": "1.16.1"}
NO_GREENLET = {"SQLAlchemy": "2.1.0", "alembic": "1.16.1"}


# ---- finding site-packages without running anything -----------------------------------------


def test_interpreter_path_and_folder_lead_to_the_same_site_packages(tmp_path):
    site = fake_venv(tmp_path / "venv", ASYNCIO)
    for given in (tmp_path / "venv", tmp_path / "venv" / "bin" / "python"):
        found = pyenv.environment_at(given, CLI_FLAG)
        assert found is not None
        assert found.root == tmp_path / "venv" and found.site_packages == (site,)
        assert found.python_version == "3.12.4"
        assert found.version("sqlalchemy") == "2.1.0" and found.version("Greenlet") == "3.1.0"
        assert found.version("asyncpg") is None


def test_windows_layout(tmp_path):
    site = fake_venv(tmp_path / ".venv", NO_GREENLET, windows=True)
    found = pyenv.environment_at(tmp_path / ".venv" / "Scripts" / "python.exe", CLI_FLAG)
    assert found is not None and found.site_packages == (site,)
    assert found.version("greenlet") is None and found.version("alembic") == "1.16.1"


def test_only_the_interpreters_python_version_is_read(tmp_path):
    site = fake_venv(tmp_path / "env", {"alembic": "1.13.0"}, python="3.12")
    other = tmp_path / "env" / "lib" / "python3.9" / "site-packages"
    (other / "alembic-1.4.0.dist-info").mkdir(parents=True)
    found = pyenv.environment_at(tmp_path / "env", CLI_FLAG)
    assert found is not None and found.site_packages == (site,)
    assert found.version("alembic") == "1.13.0"


def test_system_site_packages_are_added_when_the_venv_includes_them(tmp_path):
    base_site = fake_venv(tmp_path / "base", {"greenlet": "3.0.3"})
    site = fake_venv(tmp_path / "venv", {"SQLAlchemy": "2.1.0"})
    (tmp_path / "venv" / "pyvenv.cfg").write_text(
        f"home = {tmp_path / 'base' / 'bin'}\ninclude-system-site-packages = true\nversion = 3.12.4\n"
    )
    found = pyenv.environment_at(tmp_path / "venv", CLI_FLAG)
    assert found is not None and found.site_packages == (site, base_site)
    assert found.version("greenlet") == "3.0.3" and found.version("sqlalchemy") == "2.1.0"


def test_a_folder_without_site_packages_is_no_environment(tmp_path):
    assert pyenv.environment_at(tmp_path, CLI_FLAG) is None
    assert pyenv.environment_at(tmp_path / "missing" / "python", CLI_FLAG) is None
    assert pyenv.path_problem(str(tmp_path / "missing")).endswith("no such file or folder")
    assert "no Python environment there" in pyenv.path_problem(str(tmp_path))


def test_installing_a_package_is_seen_without_restarting(tmp_path):
    site = fake_venv(tmp_path / ".venv", NO_GREENLET)
    env = project(tmp_path)
    assert codes(check(env), "ENV056")
    (site / "greenlet-3.1.0.dist-info").mkdir()
    stamp = os.stat(site).st_mtime_ns + 1_000_000_000  # coarse file-system clocks
    os.utime(site, ns=(stamp, stamp))
    assert not codes(check(env), "ENV056")


# ---- where the project's environment is found, first match wins ----------------------------


def test_dot_venv_beside_alembic_ini(tmp_path):
    fake_venv(tmp_path / ".venv", ASYNCIO)
    found = ProjectIndex().context_for(project(tmp_path)).python_environment()
    assert found is not None and found.root == tmp_path / ".venv"
    assert found.found_by == ".venv beside alembic.ini"


def test_venv_beside_pyproject_toml(tmp_path):
    fake_venv(tmp_path / "venv", ASYNCIO)
    app = tmp_path / "app"
    app.mkdir()
    env = project(app)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    found = ProjectIndex().context_for(env).python_environment()
    assert found is not None and found.found_by == "venv beside pyproject.toml"


def test_virtual_env_wins_over_dot_venv(tmp_path, monkeypatch):
    fake_venv(tmp_path / ".venv", ASYNCIO)
    fake_venv(tmp_path / "elsewhere", NO_GREENLET)
    env = project(tmp_path)
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "elsewhere"))
    found = ProjectIndex().context_for(env).python_environment()
    assert found is not None and found.found_by == "$VIRTUAL_ENV"
    assert found.root == tmp_path / "elsewhere"


@pytest.mark.parametrize("marker", pyenv.TOOL_ONLY_MARKERS)
def test_virtual_env_made_for_the_checker_alone_is_not_the_projects(tmp_path, monkeypatch, marker):
    """pre-commit exports its hook environment as VIRTUAL_ENV (and marks it .install_state_v*);
    pipx and uv tool venvs carry their own receipts."""
    fake_venv(tmp_path / ".venv", ASYNCIO)
    fake_venv(tmp_path / "hook", NO_GREENLET)
    env = project(tmp_path)
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "hook"))
    monkeypatch.setattr(pyenv, "_own_prefixes", lambda: (str(tmp_path / "hook"),))
    # the checker's own, activated project virtualenv: that IS the project's
    found = ProjectIndex().context_for(env).python_environment()
    assert found is not None and found.found_by == "$VIRTUAL_ENV"
    (tmp_path / "hook" / marker).write_text("")
    found = ProjectIndex().context_for(env).python_environment()
    assert found is not None and found.found_by == ".venv beside alembic.ini"
    # someone else's tool venv exported as VIRTUAL_ENV is still looked at
    monkeypatch.setattr(pyenv, "_own_prefixes", lambda: (sys.prefix,))
    found = ProjectIndex().context_for(env).python_environment()
    assert found is not None and found.found_by == "$VIRTUAL_ENV"


def test_cli_flag_beats_pyproject_which_beats_the_editor_setting(tmp_path):
    fake_venv(tmp_path / "cli", ASYNCIO)
    fake_venv(tmp_path / "configured", ASYNCIO)
    fake_venv(tmp_path / "editor", ASYNCIO)
    fake_venv(tmp_path / ".venv", ASYNCIO)
    env = project(tmp_path, pyproject='[tool.alembic-env-lsp]\npython = "configured/bin/python"\n')

    def found(choice):
        return ProjectIndex(python=choice).context_for(env).python_environment()

    cli = found(PythonChoice(str(tmp_path / "cli"), CLI_FLAG))
    assert cli.root == tmp_path / "cli" and cli.found_by == "--python"
    configured = found(PythonChoice(str(tmp_path / "editor"), EDITOR_SETTING))
    assert configured.root == tmp_path / "configured"
    assert configured.found_by == "[tool.alembic-env-lsp] python"
    (tmp_path / "pyproject.toml").write_text("[tool.alembic-env-lsp]\n")
    editor = found(PythonChoice(str(tmp_path / "editor" / "bin" / "python"), EDITOR_SETTING))
    assert editor.root == tmp_path / "editor" and editor.found_by == EDITOR_SETTING


def test_the_server_interpreter_only_when_the_editor_sent_no_python_setting(tmp_path):
    fake_venv(tmp_path / ".venv", ASYNCIO)
    env = project(tmp_path)
    silent = PythonChoice(None, EDITOR_SETTING, server_interpreter=True)
    found = ProjectIndex(python=silent).context_for(env).python_environment()
    assert found is not None and found.found_by == pyenv.SERVER_INTERPRETER
    unknown = PythonChoice("", EDITOR_SETTING, server_interpreter=True)  # "I do not know"
    found = ProjectIndex(python=unknown).context_for(env).python_environment()
    assert found is not None and found.found_by == ".venv beside alembic.ini"


def test_no_environment_found(tmp_path):
    env = project(tmp_path)
    assert ProjectIndex().context_for(env).python_environment() is None
    assert pyenv.find_environment(None) is None


def test_python_setting_is_validated(tmp_path):
    settings = parse_settings({"python": " .venv/bin/python "}, where="x")
    assert settings.python == ".venv/bin/python"
    with pytest.raises(SettingsError, match="python must be a path"):
        parse_settings({"python": 3}, where="x")


# ---- what the environment rules say ---------------------------------------------------------


def test_env056_judges_the_projects_venv(tmp_path):
    fake_venv(tmp_path / ".venv", NO_GREENLET)
    [finding] = codes(check(project(tmp_path)), "ENV056")
    assert finding.message.startswith(
        "SQLAlchemy 2.1.0, in .venv (.venv beside alembic.ini), no longer installs greenlet, "
        "and greenlet is not installed"
    )


def test_env056_silent_with_sqlalchemy_asyncio_in_the_project(tmp_path):
    fake_venv(tmp_path / ".venv", ASYNCIO)
    assert not codes(check(project(tmp_path)), "ENV056")


def test_env056_silent_without_a_project_environment(tmp_path):
    assert not codes(check(project(tmp_path)), "ENV056")


def test_env035_reads_the_projects_alembic(tmp_path):
    fake_venv(tmp_path / ".venv", {"alembic": "1.11.3"})
    [finding] = codes(check(project(tmp_path, SYNC)), "ENV035")
    assert finding.message.startswith(
        "alembic 1.11.3 (in .venv (.venv beside alembic.ini)) does not compare column types"
    )
    newer = tmp_path / "newer"
    newer.mkdir()
    fake_venv(newer / ".venv", {"alembic": "1.12.0"})
    assert not codes(check(project(newer, SYNC)), "ENV035")


def test_env035_silent_without_a_project_environment(tmp_path):
    assert not codes(check(project(tmp_path, SYNC)), "ENV035")


CONFIGURE_SOURCE = '''
class EnvironmentContext:
    def configure(self, connection=None, url=None, include_object=None, frobnicate_tables=False, **kw):
        """
        :param version_table: the table.
        """
'''


def test_env045_reads_the_option_list_of_the_projects_alembic(tmp_path):
    site = fake_venv(tmp_path / ".venv", {"alembic": "9.0.0"})
    (site / "alembic" / "runtime").mkdir(parents=True)
    (site / "alembic" / "runtime" / "environment.py").write_text(CONFIGURE_SOURCE)
    text = (
        "from alembic import context\n\n"
        "def run(connection, key):\n"
        "    context.configure(connection=connection, frobnicate_table=True, crypt_key=key)\n"
    )
    analysis = check(project(tmp_path, text))
    [finding] = codes(analysis, "ENV045")
    assert finding.message == (
        "context.configure() has no option 'frobnicate_table' in alembic 9.0.0: unknown keywords are kept "
        "in the context's options and silently ignored. Did you mean 'frobnicate_tables'?"
    )
    assert analysis.source.slice(finding.range) == "frobnicate_table"


def test_env045_keeps_a_projects_own_keyword(tmp_path):
    text = (
        "from alembic import context\n\n"
        "def run(connection, key):\n"
        "    context.configure(connection=connection, crypt_key=key, table_prefix='fief_')\n"
    )
    assert not codes(check(project(tmp_path, text)), "ENV045")


# ---- the CLI in an isolated tool environment without greenlet (pre-commit's situation) ------


@pytest.fixture(scope="module")
def tool_venv(tmp_path_factory) -> Path:
    """A virtualenv holding the checker and its dependencies, but no greenlet: the checker's
    own site-packages, linked entry by entry, minus greenlet."""
    root = tmp_path_factory.mktemp("tool venv")
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, capture_output=True
    )
    purelib = Path(sysconfig.get_paths()["purelib"])
    [target] = list((root / "lib").glob("python*/site-packages")) or list(
        (root / "Lib").glob("site-packages")
    )
    for entry in purelib.iterdir():
        name = entry.name.lower()
        if name.startswith("greenlet") or name.startswith("_virtualenv") or name.endswith(".pth"):
            continue
        (target / entry.name).symlink_to(entry)
    (target / "alembic_env_lsp_dev.pth").write_text(str(ROOT / "server") + "\n")
    return root


def tool_python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run_tool_check(tool: Path, folder: Path, *extra: str, virtual_env: str | None = None):
    environ = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    if virtual_env is not None:
        environ["VIRTUAL_ENV"] = virtual_env
    result = subprocess.run(
        [str(tool_python(tool)), "-m", "alembic_env_lsp", "check", *extra, str(folder)],
        capture_output=True,
        text=True,
        env=environ,
        cwd=folder,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_the_tool_venv_really_lacks_greenlet(tool_venv):
    probe = subprocess.run(
        [str(tool_python(tool_venv)), "-c", "import greenlet"], capture_output=True, text=True
    )
    assert probe.returncode != 0 and "greenlet" in probe.stderr


def test_isolated_tool_without_greenlet_judges_the_projects_venv(tool_venv, tmp_path):
    with_asyncio = tmp_path / "with asyncio"
    without = tmp_path / "without greenlet"
    for folder, packages in ((with_asyncio, ASYNCIO), (without, NO_GREENLET)):
        folder.mkdir()
        project(folder)
        fake_venv(folder / ".venv", packages)

    (tool_venv / ".install_state_v1").write_text("{}")  # what pre-commit writes in a hook env
    for hook_env in (None, str(tool_venv)):  # pre-commit also exports it as VIRTUAL_ENV
        clean = run_tool_check(tool_venv, with_asyncio, virtual_env=hook_env)
        assert "ENV056" not in clean.stdout, clean.stdout
        flagged = run_tool_check(tool_venv, without, virtual_env=hook_env)
        assert (
            "ENV056 [warning] SQLAlchemy 2.1.0, in .venv (.venv beside alembic.ini), no longer "
            "installs greenlet" in flagged.stdout
        ), flagged.stdout


def test_isolated_tool_without_a_project_environment_says_nothing_about_greenlet(
    tool_venv, tmp_path
):
    project(tmp_path)
    result = run_tool_check(tool_venv, tmp_path)
    assert "ENV056" not in result.stdout, result.stdout


# ---- --python on the command line -------------------------------------------------------------


def test_cli_python_flag_names_the_environment_judged(tmp_path, capsys):
    from alembic_env_lsp import cli

    fake_venv(tmp_path / ".venv", ASYNCIO)  # would say nothing
    fake_venv(tmp_path / "py312", NO_GREENLET)
    project(tmp_path)
    code = cli.main(
        ["check", "--python", str(tmp_path / "py312" / "bin" / "python"), str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "ENV056 [warning] SQLAlchemy 2.1.0, in py312 (--python), no longer installs" in out


def test_explain_judges_the_driver_with_the_python_given(tmp_path, capsys):
    from alembic_env_lsp import cli

    env = project(tmp_path)
    ini = tmp_path / "alembic.ini"
    ini.write_text(ini.read_text().replace("postgresql+asyncpg://", "postgresql://"))
    fake_venv(tmp_path / "py20", {"sqlalchemy": "2.0.36", "greenlet": "3.1.1"})
    code = cli.main(["explain", str(env), "--python", str(tmp_path / "py20" / "bin" / "python")])
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "driver psycopg2 is sync-only: fails at create<br/>judged with SQLAlchemy 2.0.36 in py20"
        in out
    ), "a bare postgresql:// loads psycopg2 on the project's SQLAlchemy 2.0"


def test_cli_python_flag_without_an_environment_is_a_usage_error(tmp_path, capsys):
    from alembic_env_lsp import cli

    project(tmp_path)
    assert cli.main(["check", "--python", str(tmp_path / "nope"), str(tmp_path)]) == 2
    assert "--python " in capsys.readouterr().err
    assert cli.main(["explain", "--python", str(tmp_path), str(tmp_path)]) == 2
    assert "no Python environment there" in capsys.readouterr().err


def test_a_bare_interpreter_name_is_looked_up_on_path(tmp_path, monkeypatch):
    fake_venv(tmp_path / "tools", ASYNCIO)
    (tmp_path / "tools" / "bin" / "python").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "tools" / "bin"))
    found = pyenv.environment_at("python", CLI_FLAG)
    assert found is not None and found.root == tmp_path / "tools"


def test_version_note_says_where_a_version_comes_from(tmp_path):
    from importlib import metadata

    env = project(tmp_path)
    context = ProjectIndex().context_for(env)
    assumed = pyenv.version_note(context, "sqlalchemy", "SQLAlchemy")
    assert assumed.startswith(
        f"assuming SQLAlchemy {metadata.version('sqlalchemy')} (the one installed"
    )
    fake_venv(tmp_path / ".venv", NO_GREENLET)
    assert (
        pyenv.version_note(context, "sqlalchemy", "SQLAlchemy")
        == "SQLAlchemy 2.1.0 in .venv (.venv beside alembic.ini)"
    )
    assert (
        pyenv.version_note(context, "greenlet", "greenlet")
        == "greenlet is not installed in .venv (.venv beside alembic.ini)"
    )


def test_a_venv_created_or_removed_later_is_seen(tmp_path):
    import shutil

    env = project(tmp_path)
    assert not codes(check(env), "ENV056")  # nothing found yet, and remembered
    fake_venv(tmp_path / ".venv", NO_GREENLET)
    assert codes(check(env), "ENV056")
    shutil.rmtree(tmp_path / ".venv")
    fake_venv(tmp_path / "venv", ASYNCIO)
    assert not codes(check(env), "ENV056")
    found = ProjectIndex().context_for(env).python_environment()
    assert found is not None and found.found_by == "venv beside alembic.ini"
