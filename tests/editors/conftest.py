"""Fixtures of the real-editor tests (test_nvim.py, test_emacs.py): the broken project they open,
finding the editor binary, and a private environment for the editor process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PYTHON = Path(sys.executable)  # the venv running pytest, with alembic-env-lsp installed
ALEMBIC = PYTHON.with_name("alembic")
SKIP_VAR = "ALEMBIC_ENV_LSP_SKIP_EDITORS"
URL = "postgresql+psycopg2://app:secret@localhost/app"

GUARDED = "if config.config_file_name is not None:\n    fileConfig(config.config_file_name)\n"
UNGUARDED = "fileConfig(config.config_file_name)\n"


@dataclass
class BrokenProject:
    root: Path
    env: Path
    ini: Path
    fixed_env: str  # env.py as it must read after the ENV021 quick fix (= the template's text)


def _find_editor(binary: str, setup_script: str, optional: bool = False) -> str:
    if os.environ.get(SKIP_VAR) == "1":
        pytest.skip(f"{SKIP_VAR}=1")
    path = shutil.which(binary)
    if path is None:
        if optional:
            pytest.skip(f"`{binary}` is not installed ({setup_script} installs it)")
        pytest.fail(
            f"`{binary}` is not installed: run {setup_script} (scripts/test.sh does), "
            f"or set {SKIP_VAR}=1 to skip the real-editor tests",
            pytrace=False,
        )
    return path


@pytest.fixture
def find_editor():
    """find_editor(binary, setup_script, optional=False) -> the editor's path.

    Skips only when ALEMBIC_ENV_LSP_SKIP_EDITORS=1. A missing required editor is a failure, so
    CI cannot silently stop running the real-editor tests; a missing optional one is a skip."""
    return _find_editor


@pytest.fixture(scope="session")
def _async_template(tmp_path_factory) -> Path:
    """`alembic init -t async migrations`, made once per session by the installed alembic."""
    folder = tmp_path_factory.mktemp("async-template")
    subprocess.run(
        [str(ALEMBIC), "init", "-t", "async", "migrations"],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return folder


@pytest.fixture
def broken_project(_async_template, tmp_path) -> BrokenProject:
    """A copy of an async project that is broken twice: alembic.ini names the sync-only
    psycopg2 driver (ENV001, no safe fix) and env.py calls fileConfig() unguarded (ENV021,
    whose safe quick fix puts the template's guard back)."""
    root = tmp_path / "app"
    shutil.copytree(_async_template, root)
    ini, env = root / "alembic.ini", root / "migrations" / "env.py"

    ini_text = ini.read_text(encoding="utf-8")
    url_lines = [line for line in ini_text.splitlines() if line.startswith("sqlalchemy.url")]
    assert len(url_lines) == 1, f"alembic's template changed: sqlalchemy.url lines {url_lines}"
    ini.write_text(ini_text.replace(url_lines[0], f"sqlalchemy.url = {URL}"), encoding="utf-8")

    template = env.read_text(encoding="utf-8")
    assert template.count(GUARDED) == 1, (
        "alembic's async template no longer guards fileConfig() this way"
    )
    assert "async_engine_from_config(" in template and "poolclass=pool.NullPool" in template
    env.write_text(template.replace(GUARDED, UNGUARDED), encoding="utf-8")
    return BrokenProject(root=root, env=env, ini=ini, fixed_env=template)


@pytest.fixture
def editor_env(tmp_path) -> dict[str, str]:
    """The environment for an editor process: its config, state, cache and logs under tmp_path."""
    home = tmp_path / "editor-home"
    env = dict(os.environ)
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        folder = home / var.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[var] = str(folder)
    env["HOME"] = str(home)
    return env
