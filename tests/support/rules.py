"""Runs a rule's examples the way a user meets them: a file (and its alembic.ini) on disk."""

from __future__ import annotations

from pathlib import Path

from alembic_env_lsp.engine import analyze
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.rule import Example, Rule
from alembic_env_lsp.text import apply_edits


def run_example(rule: Rule, example: Example, tmp_path: Path):
    env_path = tmp_path / "env.py"
    env_path.write_text(example.code, encoding="utf-8")
    project = None
    pyproject = getattr(example, "pyproject", None)
    if example.ini is not None or pyproject is not None:
        if example.ini is not None:
            (tmp_path / "alembic.ini").write_text(example.ini, encoding="utf-8")
        if pyproject is not None:
            (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
        project = ProjectIndex().context_for(env_path)
    workspace = None
    files = getattr(example, "files", ())
    if files:
        from alembic_env_lsp.workspace import Workspace

        for relative, text in files:
            target = tmp_path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        workspace = Workspace([tmp_path])
        if project is None:
            project = ProjectIndex().context_for(env_path)
    analysis = analyze(
        example.code,
        str(env_path),
        project=project,
        environment=getattr(example, "environment", None),
        workspace=workspace,
    )
    assert not analysis.internal_errors, analysis.internal_errors
    return analysis, [f for f in analysis.findings if f.code == rule.code]


def apply_fix(example: Example, fix, env_path: Path, ini_path: Path | None):
    env_text = example.code
    ini_text = example.ini
    env_edits = [e for e in fix.edits if e.path in (None, str(env_path))]
    ini_edits = [e for e in fix.edits if ini_path is not None and e.path == str(ini_path)]
    assert len(env_edits) + len(ini_edits) == len(fix.edits), fix.edits
    return apply_edits(env_text, env_edits), (
        apply_edits(ini_text, ini_edits) if ini_text is not None else None
    )
