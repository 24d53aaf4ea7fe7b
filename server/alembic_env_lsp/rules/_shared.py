"""Readings of the model shared by the configuration, event-loop and cross-file rules."""

from __future__ import annotations

import ast

from ..fixes.edits import local_name_for
from ..model import names as N
from ..model.facts import CallFact, ConfigureFact, EnvFacts
from ..text import Position, SourceText, TextEdit

# Modules whose functions never run migrations on env.py's behalf.
LIBRARY_PREFIXES = (
    "alembic.",
    "sqlalchemy.",
    "sqlmodel.",
    "logging.",
    "os.",
    "sys.",
    "asyncio.",
    "pathlib.",
    "typing.",
    "re.",
    "json.",
    "warnings.",
    "dotenv.",
    "decouple.",
    "urllib.",
    "functools.",
    "contextlib.",
    "importlib.",
    "pkgutil.",
    "builtins.",
    "datetime.",
    "uuid.",
    "anyio.",
    "trio.",
    "uvloop.",
    "nest_asyncio.",
    "inspect.",
    "loguru.",
    "structlog.",
    "pydantic.",
    "pydantic_settings.",
    "flask.",
    "configparser.",
    "shutil.",
)


def online_configures(facts: EnvFacts) -> list[ConfigureFact]:
    return [
        c
        for c in facts.configures
        if c.mode == "online" and facts.path_of(c.call) in ("online", "both")
    ]


def offline_configures(facts: EnvFacts) -> list[ConfigureFact]:
    return [
        c
        for c in facts.configures
        if c.mode == "offline" and facts.path_of(c.call) in ("offline", "both")
    ]


def is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def constant_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def context_name(facts: EnvFacts) -> str:
    return local_name_for(facts, N.CONTEXT) or "context"


def config_name(facts: EnvFacts) -> str:
    """How this file spells the alembic Config: `config`, or `context.config`."""
    for name, target in facts.module.aliases.items():
        if target == N.CONFIG:
            return name
    return f"{context_name(facts)}.config"


def is_library(qname: str | None) -> bool:
    return qname is None or qname.startswith(LIBRARY_PREFIXES) or "." not in qname


def user_calls(calls: list[CallFact]) -> list[CallFact]:
    """Calls of functions imported from the user's own modules (they might do anything)."""
    return [c for c in calls if c.qname is not None and not is_library(c.qname)]


def insert_statement_before(source: SourceText, stmt: ast.stmt, text: str) -> TextEdit | None:
    """A new line `text` before `stmt`, at its indentation; None when `stmt` shares its line."""
    start = source.from_utf8(stmt.lineno, stmt.col_offset)
    line = source.line(start.line)
    if line[: start.character].strip():
        return None
    indent = line[: start.character]
    return TextEdit(_empty_range(Position(start.line, 0)), f"{indent}{text}{source.line_ending()}")


def _empty_range(pos: Position):
    from ..text import Range

    return Range(pos, pos)


def names_in(node: ast.AST) -> set[str]:
    """Plain names read in a small expression (an `if` test)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def workspace_view(ctx):
    """The workspace view of the env.py being checked; None (without importing workspace.py)
    when the analysis has no workspace."""
    if getattr(ctx, "workspace", None) is None:
        return None
    from ..workspace import view_for

    return view_for(ctx)
