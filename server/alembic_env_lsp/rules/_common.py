"""Small readings of the model that several rules share."""

import ast

from ..model import names as N
from ..model.qualify import qualified_name


def is_config_file_name(expr: ast.expr, scope) -> bool:
    return qualified_name(expr, scope) == N.CONFIG + ".config_file_name"


def text_of(ctx, node) -> str:
    return ctx.source.slice(ctx.range(node))


def escapes_percent(expr: ast.expr, scope, depth: int = 0) -> bool:
    """`x.replace("%", "%%")`, a name assigned from one, or a local helper returning one."""
    if depth > 5:
        return False
    if isinstance(expr, ast.Call):
        func = expr.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "replace"
            and len(expr.args) >= 2
            and all(isinstance(a, ast.Constant) for a in expr.args[:2])
            and expr.args[0].value == "%"
            and expr.args[1].value == "%%"
        ):
            return True
        if isinstance(func, ast.Name):
            helper = scope.lookup_function(func.id)
            if helper is not None and helper.returns:
                return all(escapes_percent(r, helper, depth + 1) for r in helper.returns)
    if isinstance(expr, ast.Name):
        assignment = scope.last_assignment(expr.id, expr.lineno)
        if assignment is not None:
            return escapes_percent(assignment.value, scope, depth + 1)
    return False


def call_on_expr(ctx, expr: ast.expr, method: str) -> str:
    """`expr.method` with parentheses only when needed."""
    text = text_of(ctx, expr)
    if isinstance(expr, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)):
        return f"{text}.{method}"
    return f"({text}).{method}"


def path_note(ctx, name: ast.expr, scope) -> str:
    """ " when connectable is None" when the kind `scope.kind_at(name)` gives holds only on
    the path through that test; "" when it holds on every path."""
    if not isinstance(name, ast.Name):
        return ""
    binding = scope.kind_at(name)
    reaches = scope.possible_bindings(name)
    if binding is None or len(reaches) < 2:
        return ""
    for reach in reaches:
        if reach.binding is binding and reach.conditions:
            return f" when {reach.condition_text(ctx.source)}"
    return ""
