"""Canonical names through imports: `sa.ext.asyncio.create_async_engine` →
"sqlalchemy.ext.asyncio.create_async_engine". Read by the builder, the URL evaluator, rules
and hovers; it depends only on the scope's aliases."""

from __future__ import annotations

import ast

from .facts import Scope


def qualified_name(expr: ast.AST, scope: Scope) -> str | None:
    """The dotted name `expr` refers to through the imports visible from `scope`, or None."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    base = scope.lookup_alias(expr.id)
    if base is None:
        return None
    parts.append(base)
    return ".".join(reversed(parts))


def subscript_name(var: str, key: str) -> str:
    """The synthetic name `section["sqlalchemy.url"] = ...` is remembered under."""
    return f"{var}[{key}]"


def annotation_name(node: ast.expr | None) -> str | None:
    """The last name of an annotation: `Connection`, `sa.engine.Connection`, `"Connection"`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.rsplit(".", 1)[-1]
    return None
