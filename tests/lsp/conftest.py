"""Fixtures for the language server's end-to-end tests (helpers: tests/support/lsp.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from support.lsp import ALEMBIC, Project

# ---------------------------------------------------------------------- projects


@pytest.fixture(scope="session")
def _templates(tmp_path_factory) -> Path:
    """`alembic init -t async` and `-t generic` output, made once per test session."""
    root = tmp_path_factory.mktemp("templates")
    for template in ("async", "generic"):
        folder = root / template
        folder.mkdir()
        subprocess.run(
            [str(ALEMBIC), "init", "-t", template, "migrations"],
            cwd=folder,
            check=True,
            capture_output=True,
        )
    return root


@pytest.fixture
def make_project(_templates, tmp_path):
    def make(
        name: str = "app",
        template: str = "async",
        url: str = "postgresql+asyncpg://app:s3cr3t@db/app",
    ) -> Project:
        root = tmp_path / name
        shutil.copytree(_templates / template, root)
        project = Project(root)
        project.set_url(url)
        return project

    return make
