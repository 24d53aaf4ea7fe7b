"""The node under the cursor: statements containing the position, then the expressions
down to the innermost one, and the scope it is in. Only the statements on the way are visited."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from ..model.facts import EnvFacts, Scope
from ..text import Position, Range, SourceText


def _contains(source: SourceText, node: ast.AST, pos: Position) -> bool:
    lineno = getattr(node, "lineno", None)
    if lineno is None:
        return False
    end_lineno = getattr(node, "end_lineno", None) or lineno
    if not lineno - 1 <= pos.line <= end_lineno - 1:
        return False
    rng = source.node_range(node)
    return rng.start <= pos < rng.end


def _blocks(stmt: ast.AST) -> Iterable[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list):
            yield value
    for handler in getattr(stmt, "handlers", ()) or ():
        yield handler.body
    for case in getattr(stmt, "cases", ()) or ():
        yield case.body


def _positioned_children(node: ast.AST) -> Iterable[ast.AST]:
    if isinstance(node, ast.JoinedStr):
        # Python 3.11 gives every part of an f-string the whole string's position; the
        # expressions inside `{...}` have their own: descend to those, else stay here.
        whole = (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                yield part.value
            elif (part.lineno, part.col_offset, part.end_lineno, part.end_col_offset) != whole:
                yield part
        return
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.stmt, ast.expr_context)):
            continue
        if hasattr(child, "lineno"):
            yield child
        else:  # withitem, arguments, comprehension, match_case: transparent containers
            yield from _positioned_children(child)


def chain_at(tree: ast.Module, source: SourceText, pos: Position) -> list[ast.AST]:
    """Statements containing `pos`, outermost first, then the expression nodes down to the
    innermost one. Only the statements on the way are visited."""
    chain: list[ast.AST] = []
    stmts: list[ast.stmt] = tree.body
    while stmts:
        hit = next((s for s in stmts if _contains(source, s, pos)), None)
        if hit is None:
            break
        chain.append(hit)
        stmts = next((b for b in _blocks(hit) if any(_contains(source, s, pos) for s in b)), [])
    if not chain:
        return chain
    node = chain[-1]
    while True:
        inner = next((c for c in _positioned_children(node) if _contains(source, c, pos)), None)
        if inner is None:
            return chain
        chain.append(inner)
        node = inner


def scope_at(facts: EnvFacts, chain: list[ast.AST]) -> Scope:
    by_node = {id(s.node): s for s in facts.scopes if s.node is not None}
    scope = facts.module
    for node in chain:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            scope = by_node.get(id(node), scope)
    return scope


def def_name_range(
    source: SourceText, node: ast.FunctionDef | ast.AsyncFunctionDef
) -> Range | None:
    start = source.from_utf8(node.lineno, node.col_offset)
    line = source.line(start.line)
    match = re.compile(r"(?:async\s+)?def\s+(" + re.escape(node.name) + r")\b").match(
        line, start.character
    )
    if match is None:
        return None
    return Range.of(start.line, match.start(1), start.line, match.end(1))


def attr_range(source: SourceText, node: ast.Attribute) -> Range:
    end = source.node_range(node).end
    return Range(Position(end.line, max(end.character - len(node.attr), 0)), end)
