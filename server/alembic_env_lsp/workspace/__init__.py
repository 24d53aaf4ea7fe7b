"""The project around an env.py, as Python code: which modules it imports, where the models
and the application's engine are defined, whether app code runs `alembic.command.*`.

Nothing is imported or run. Each file is read and parsed with `ast` at most once per
version: summaries are cached by (mtime, size), so a language server keeps one `Workspace`
and only changed files are read again (`invalidate(path)` after a file event drops the
folder listings and aggregate answers; summaries of unchanged files are reused). The CLI
builds one per run.

Answers are conservative: when dynamic imports (`importlib.import_module`, `__import__`,
`pkgutil.walk_packages`) or a star import from a package make the import closure unknown,
the questions that depend on it answer None ("cannot tell") and rules stay silent.
"""

from .index import MAX_FILES, Workspace
from .summary import (
    DECLARATIVE_BASE_CLASSES,
    AssignInfo,
    ClassInfo,
    CommandCall,
    ImportRef,
    ModuleSummary,
    summarize,
)
from .view import Definition, EnvView, view_for

__all__ = [
    "DECLARATIVE_BASE_CLASSES",
    "MAX_FILES",
    "AssignInfo",
    "ClassInfo",
    "CommandCall",
    "Definition",
    "EnvView",
    "ImportRef",
    "ModuleSummary",
    "Workspace",
    "summarize",
    "view_for",
]
