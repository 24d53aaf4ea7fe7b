"""Edits the async conversion makes to single statements and calls: the engine factory's
poolclass and future= arguments, the name bound to context.config, renaming a variable, and
replacing a statement in place (docs/architecture.md: the rewrite)."""

from __future__ import annotations

from typing import cast

import libcst as cst

from .rewrite_imports import ensure_from_import
from .rewrite_names import ImportMap, canonical
from .rewrite_nodes import Builder, add_kwarg, find_kwarg, has_star_kwargs, kwarg, remove_arg

# Pools that an AsyncEngine rejects ("Pool class QueuePool cannot be used with asyncio engine").
SYNC_ONLY_POOLS = {"sqlalchemy.pool.QueuePool", "sqlalchemy.pool.SingletonThreadPool"}


def replace_assigned_value(
    stmt: cst.SimpleStatementLine, value: cst.BaseExpression
) -> cst.SimpleStatementLine:
    return stmt.with_changes(body=[stmt.body[0].with_changes(value=value)])


class Rename(cst.CSTTransformer):
    """Renames a variable (never an attribute name or a keyword argument's name)."""

    def __init__(self, old: str, new: str):
        self.old, self.new = old, new
        self.skip: set[int] = set()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.skip.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.skip.add(id(node.keyword))

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == self.old and id(original_node) not in self.skip:
            return updated_node.with_changes(value=self.new)
        return updated_node


def rename_variable(nodes: list[cst.BaseStatement], old: str, new: str) -> list[cst.BaseStatement]:
    if old == new:
        return nodes
    return [cast(cst.BaseStatement, n.visit(Rename(old, new))) for n in nodes]


def config_expression(module: cst.Module, imports: ImportMap) -> str | None:
    """The module-level name bound to `context.config` (or `context.config` itself)."""
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            target = value = None
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target, value = small.targets[0].target, small.value
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                target, value = small.target, small.value
            if (
                isinstance(target, cst.Name)
                and isinstance(value, cst.Attribute)
                and value.attr.value == "config"
                and imports.qualname(value.value) == "alembic.context"
            ):
                return target.value
    ctx = sorted(n for n in imports.ctx_names() if imports.bindings[n].top_level)
    return f"{ctx[0]}.config" if ctx else None


def nullpool_expression(
    module: cst.Module, imports: ImportMap, taken: set[str] | None = None
) -> tuple[cst.Module, str]:
    """An expression for NullPool, reusing whatever the file already imports."""
    for local, binding in imports.bindings.items():
        if binding.type_only:
            continue
        qn = canonical(binding.qualified)
        if qn == "sqlalchemy.pool.NullPool":
            return module, local
    for local, binding in imports.bindings.items():
        if not binding.type_only and canonical(binding.qualified) == "sqlalchemy.pool":
            return module, f"{local}.NullPool"
    for local, binding in imports.bindings.items():
        if not binding.type_only and binding.qualified == "sqlalchemy":
            return module, f"{local}.pool.NullPool"  # sqlalchemy/__init__ imports .pool
    module, local = ensure_from_import(
        module, "sqlalchemy", "pool", prefer_alias="sa_pool", taken=taken
    )
    return module, f"{local}.NullPool"


def with_nullpool(call: cst.Call, imports: ImportMap, nullpool: str, builder: Builder) -> cst.Call:
    """poolclass=NullPool unless a pool that works with asyncio is already chosen."""
    i = find_kwarg(call, "poolclass")
    if i is None:
        if has_star_kwargs(call):
            return call  # poolclass may come in through **kwargs; adding one could clash
        return add_kwarg(call, kwarg("poolclass", builder.expr(nullpool)))
    if imports.qualname(call.args[i].value) in SYNC_ONLY_POOLS:
        args = list(call.args)
        args[i] = args[i].with_changes(value=builder.expr(nullpool))
        return call.with_changes(args=args)
    return call


def drop_future(call: cst.Call) -> cst.Call:
    i = find_kwarg(call, "future")
    return call if i is None else remove_arg(call, i)


def replace_statement(
    module: cst.Module, old: cst.BaseStatement, new: list[cst.BaseStatement]
) -> cst.Module:
    body: list[cst.BaseStatement] = list(module.body)
    i = next(i for i, s in enumerate(body) if s is old)
    body[i : i + 1] = new
    return module.with_changes(body=body)
