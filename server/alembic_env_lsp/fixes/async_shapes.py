"""Older sync shapes of the online code, brought to the `with <engine>.connect() as
connection:` form that the async conversion splits (fixes/async_rewrite.py).

Each step keeps the code's meaning in the sync world, so it is safe on its own:
- `connection = engine.connect()` ... `try: ... finally: connection.close()` (Alembic's and
  Flask-Migrate's older templates) becomes `with engine.connect() as connection:`;
- `connectable = config.attributes.get("connection", None)` followed by
  `if connectable is None: connectable = <factory>(...)` (connection sharing done by hand)
  becomes `connectable = <factory>(...)`: the async pattern adds its own sharing branch.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import libcst as cst

from .rewrite_names import ImportMap, binds, dotted, reads
from .rewrite_nodes import (
    Builder,
    comment_lines,
    comments_of,
    leading_lines,
    single_assignment,
    sole_expr,
)


def normalize(module: cst.Module, imports: ImportMap, is_factory) -> cst.Module:
    """`module` with both shapes rewritten in its body and its sync functions' bodies."""
    builder = Builder(module)
    body = _normalize_block(list(module.body), imports, is_factory, builder)
    out: list[cst.BaseStatement] = []
    for stmt in body:
        if (
            isinstance(stmt, cst.FunctionDef)
            and stmt.asynchronous is None
            and isinstance(stmt.body, cst.IndentedBlock)
        ):
            inner = _normalize_block(
                list(stmt.body.body), imports.within(stmt), is_factory, builder
            )
            stmt = stmt.with_changes(body=stmt.body.with_changes(body=inner))
        out.append(stmt)
    return module.with_changes(body=out)


def _normalize_block(
    stmts: list[cst.BaseStatement], imports: ImportMap, is_factory, builder: Builder
) -> list[cst.BaseStatement]:
    stmts = _drop_shared_lookup(stmts, imports, is_factory)
    return _close_to_with(stmts, builder)


def _is_shared_lookup(value: cst.BaseExpression, imports: ImportMap) -> bool:
    """`<config>.attributes.get("connection"...)` or `<config>.attributes["connection"]`."""
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        owner, method = value.func.value, value.func.attr.value
        key = value.args[0].value if value.args else None
    elif isinstance(value, cst.Subscript) and len(value.slice) == 1:
        owner, method = value.value, "get"
        index = value.slice[0].slice
        key = index.value if isinstance(index, cst.Index) else None
    else:
        return False
    return (
        method == "get"
        and isinstance(owner, cst.Attribute)
        and owner.attr.value == "attributes"
        and isinstance(key, cst.SimpleString)
        and key.evaluated_value == "connection"
    )


def _drop_shared_lookup(
    stmts: list[cst.BaseStatement], imports: ImportMap, is_factory
) -> list[cst.BaseStatement]:
    for i, stmt in enumerate(stmts):
        first = single_assignment(stmt)
        if first is None or not _is_shared_lookup(first[1], imports):
            continue
        name = first[0]
        for k in range(i + 1, len(stmts)):
            test = stmts[k]
            replacement = _engine_branch(test, name, imports, is_factory)
            if replacement is not None:
                new = [
                    replacement[0].with_changes(leading_lines=leading_lines(stmt)),
                    *replacement[1:],
                ]
                lost = comments_of(stmt, test) - comments_of(*new)
                if lost:
                    new[0] = new[0].with_changes(
                        leading_lines=[*leading_lines(new[0]), *comment_lines(lost.elements())]
                    )
                return [*stmts[:i], *stmts[i + 1 : k], *new, *stmts[k + 1 :]]
            if reads(test)[name] or name in binds(test):
                break
        break
    return stmts


def _engine_branch(
    test: cst.CSTNode, name: str, imports: ImportMap, is_factory
) -> list[cst.BaseStatement] | None:
    """For `if <name> is None: <name> = <factory>(...) [with ...]` (with an `else:` that runs
    the same migration block on the shared connection), the statements of the if branch."""
    if not (
        isinstance(test, cst.If)
        and isinstance(test.test, cst.Comparison)
        and dotted(test.test.left) == name
        and len(test.test.comparisons) == 1
        and isinstance(test.test.comparisons[0].operator, cst.Is)
        and dotted(test.test.comparisons[0].comparator) == "None"
        and isinstance(test.body, cst.IndentedBlock)
        and test.body.body
    ):
        return None
    body = list(test.body.body)
    made = single_assignment(body[0])
    if made is None or made[0] != name or not is_factory(made[1], imports):
        return None
    if test.orelse is None:
        return body if len(body) == 1 else None
    if not (
        isinstance(test.orelse, cst.Else)
        and isinstance(test.orelse.body, cst.IndentedBlock)
        and len(body) == 2
        and isinstance(body[1], cst.With)
        and len(body[1].items) == 1
        and body[1].items[0].asname is not None
        and isinstance(body[1].items[0].asname.name, cst.Name)
        and isinstance(body[1].body, cst.IndentedBlock)
    ):
        return None
    conn = body[1].items[0].asname.name.value
    shared = _shape(test.orelse.body.body, {name: conn})
    if shared is None or shared != _shape(body[1].body.body, {}):
        return None  # the shared-connection branch does something else: keep it
    lost = comments_of(test.orelse) - comments_of(*body)
    if lost:
        body[1] = body[1].with_changes(
            leading_lines=[*leading_lines(body[1]), *comment_lines(lost.elements())]
        )
    return body


def _shape(stmts: Sequence[cst.BaseStatement], rename: dict[str, str]) -> str | None:
    """The statements' syntax tree without comments or layout, names renamed."""
    empty = cst.Module(body=[])
    code = "".join(empty.code_for_node(s) for s in stmts)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in rename:
            node.id = rename[node.id]
    return ast.dump(tree)


def _closes(stmt: cst.CSTNode, conn: str) -> bool:
    call = sole_expr(stmt)
    return (
        isinstance(call, cst.Call)
        and not call.args
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "close"
        and dotted(call.func.value) == conn
    )


def _close_to_with(stmts: list[cst.BaseStatement], builder: Builder) -> list[cst.BaseStatement]:
    for i, stmt in enumerate(stmts):
        found = single_assignment(stmt)
        if found is None:
            continue
        conn, value = found
        if not (
            isinstance(value, cst.Call)
            and not value.args
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == "connect"
        ):
            continue
        for j in range(i + 1, len(stmts)):
            end = stmts[j]
            if not isinstance(end, cst.Try):
                continue
            final = end.finalbody
            if (
                end.handlers
                or end.orelse is not None
                or final is None
                or not isinstance(final.body, cst.IndentedBlock)
                or len(final.body.body) != 1
                or not _closes(final.body.body[0], conn)
                or not isinstance(end.body, cst.IndentedBlock)
            ):
                break
            between = stmts[i + 1 : j]
            after = stmts[j + 1 :]
            if reads(*after)[conn]:
                break
            block = [*between, *end.body.body]
            if block and end.body.body and between:
                first_try = end.body.body[0]
                if not leading_lines(first_try):
                    block[len(between)] = first_try.with_changes(
                        leading_lines=[cst.EmptyLine(indent=False)]
                    )
            code = builder.code(value)
            with_stmt = builder.stmt(f"with {code} as {conn}:\n    pass")
            assert isinstance(with_stmt, cst.With)
            with_stmt = with_stmt.with_changes(
                body=with_stmt.body.with_changes(body=block),
                leading_lines=leading_lines(stmt),
            )
            # comments on the connect line, the `try:` and `finally:` lines stay above the with
            lost = comments_of(stmt, end) - comments_of(with_stmt)
            if lost:
                with_stmt = with_stmt.with_changes(
                    leading_lines=[*leading_lines(with_stmt), *comment_lines(lost.elements())]
                )
            return [*stmts[:i], with_stmt, *after]
        break
    return stmts
