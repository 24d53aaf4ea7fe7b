"""The pre-commit configuration the README shows, run by the real `pre-commit` on a throwaway
git repository whose virtualenv has alembic-env-lsp installed (this one, first on PATH as in
an activated virtualenv): a broken env.py is refused with the finding a user would read."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
ALEMBIC = Path(sys.executable).with_name("alembic")


def _readme_config() -> str:
    """The YAML block of the README's pre-commit section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### pre-commit", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def pre_commit_home(tmp_path) -> Path:
    return tmp_path / "pre-commit-home"  # never the user's ~/.cache/pre-commit


def _project(tmp_path: Path, url: str, metadata: bool = False) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is needed to run pre-commit", pytrace=False)
    project = tmp_path / "app"
    project.mkdir()
    subprocess.run(
        [str(ALEMBIC), "init", "-t", "async", "migrations"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    if metadata:
        env = project / "migrations" / "env.py"
        env.write_text(
            env.read_text().replace(
                "target_metadata = None",
                "from sqlalchemy import MetaData\n\ntarget_metadata = MetaData()",
            ),
            encoding="utf-8",
        )
    ini = project / "alembic.ini"
    ini.write_text(
        re.sub(r"(?m)^sqlalchemy\.url = .*$", f"sqlalchemy.url = {url}", ini.read_text()),
        encoding="utf-8",
    )
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n{_readme_config()}", encoding="utf-8"
    )
    _git("init", "-q", cwd=project)
    _git("add", ".", cwd=project)
    return project


def _run(project: Path, home: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        "PATH": os.pathsep.join([str(PRE_COMMIT.parent), os.environ.get("PATH", "")]),
    }
    return subprocess.run(
        [str(PRE_COMMIT), "run", "--all-files", "--color", "never"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_readme_hook_refuses_a_sync_driver_under_an_async_engine(tmp_path, pre_commit_home):
    project = _project(tmp_path, "postgresql+psycopg2://app:Hook5ecret@db/app")
    result = _run(project, pre_commit_home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"alembic env\.py check\.+Failed", result.stdout), result.stdout
    assert re.search(r"migrations/env\.py:\d+:\d+: ENV001 \[error\]", result.stdout), result.stdout
    assert "Hook5ecret" not in result.stdout + result.stderr


def test_the_readme_hook_passes_a_correct_env(tmp_path, pre_commit_home):
    project = _project(tmp_path, "postgresql+asyncpg://app:Hook5ecret@db/app", metadata=True)
    result = _run(project, pre_commit_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"alembic env\.py check\.+Passed", result.stdout), result.stdout
