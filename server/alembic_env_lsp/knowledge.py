"""Facts asked of the installed Alembic, loaded only when a rule needs them.

Importing alembic costs ~300 ms, so nothing here runs on the common keystroke path: only
when a finding depends on the answer."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def transactional_ddl(dialect: str) -> bool | None:
    """Whether Alembic runs DDL for `dialect` inside one transaction (PostgreSQL: yes, MySQL: no)."""
    try:
        import alembic.ddl  # noqa: F401  (registers the dialect implementations)
        from alembic.ddl.impl import _impls
    except Exception:
        return None
    impl = _impls.get(dialect)
    return None if impl is None else bool(getattr(impl, "transactional_ddl", False))


@lru_cache(maxsize=1)
def configure_keywords() -> frozenset[str] | None:
    """The keyword names EnvironmentContext.configure accepts in the installed alembic."""
    try:
        import inspect

        from alembic.runtime.environment import EnvironmentContext
    except Exception:
        return None
    params = inspect.signature(EnvironmentContext.configure).parameters
    return frozenset(name for name, p in params.items() if p.kind is not p.VAR_KEYWORD and name != "self")


def _template_text(name: str, filename: str) -> str | None:
    try:
        from importlib.resources import files

        return (files("alembic") / "templates" / name / filename).read_text(encoding="utf-8")
    except Exception:
        return None


@lru_cache(maxsize=1)
def template_logging_block() -> str | None:
    """The logging sections of the alembic.ini that `alembic init -t generic` writes."""
    text = _template_text("generic", "alembic.ini.mako")
    if text is None or "[loggers]" not in text:
        return None
    return text[text.index("[loggers]") :].rstrip() + "\n"


@lru_cache(maxsize=1)
def template_offline_function() -> str | None:
    """`run_migrations_offline` as the installed `generic` template writes it."""
    import ast

    text = _template_text("generic", "env.py")
    if text is None:
        return None
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == "run_migrations_offline":
            return ast.get_source_segment(text, node)
    return None
