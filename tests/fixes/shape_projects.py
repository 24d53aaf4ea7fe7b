"""Projects around the sync env.py shapes in tests/fixtures/rewrite/shapes, converted the way
`fix --async` converts a project (fixes.rewrites.convert_project: env.py, alembic.ini, notes)."""

from __future__ import annotations

import shutil
from pathlib import Path

from alembic_env_lsp.engine import analyze
from alembic_env_lsp.fixes.rewrites import Conversion, convert_project
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.text import apply_edits

SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "rewrite" / "shapes"
APP_MODULE = SHAPES / "app_db.py"  # the application module the shapes import
NAMES = sorted(p.stem for p in SHAPES.glob("*.py") if p != APP_MODULE)
# The URL is an f-string with a SQLite file path: only SQLite applies.
SQLITE_ONLY = {"fstring_sqlite_path"}


def source(name: str) -> str:
    return (SHAPES / f"{name}.py").read_text()


def write_project(root: Path, name: str, ini_url: str, ini_extra: str = "") -> Path:
    """root/alembic.ini, root/app_db.py, root/migrations/env.py; returns env.py's path."""
    migrations = root / "migrations"
    (migrations / "versions").mkdir(parents=True, exist_ok=True)
    env = migrations / "env.py"
    env.write_text(source(name))
    shutil.copy(APP_MODULE, root / "app_db.py")
    (root / "alembic.ini").write_text(
        "[alembic]\n"
        "script_location = %(here)s/migrations\n"
        "prepend_sys_path = .\n"
        f"sqlalchemy.url = {ini_url.replace('%', '%%')}\n" + ini_extra
    )
    return env


def analysis_of(env: Path):
    return analyze(env.read_text(), str(env), project=ProjectIndex().context_for(env))


def convert(env: Path, to: str = "async") -> Conversion:
    """Run the conversion and write what it changes, as `fix --async` does."""
    conversion = convert_project(analysis_of(env), to=to)
    if conversion.text is not None and conversion.changes:
        env.write_text(conversion.text)
        by_path: dict[str, list] = {}
        for edit in conversion.edits:
            if edit.path is not None:
                by_path.setdefault(edit.path, []).append(edit)
        for path, edits in by_path.items():
            target = Path(path)
            target.write_text(apply_edits(target.read_text(), edits))
    return conversion


def errors(env: Path) -> set[tuple[str, str]]:
    """(code, message start) of each error `check` reports on this project."""
    return {
        (f.code, f.message.split("(")[0]) for f in analysis_of(env).findings if int(f.severity) == 1
    }
