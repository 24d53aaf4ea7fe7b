"""What is async in an env.py function: its AsyncEngine and AsyncConnection variables, the
calls on them that must be awaited, the alembic.context calls it makes. Read by the ENV004-006
repairs (fixes/async_repairs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import libcst as cst

from .rewrite_names import ASYNC_WRAP, ImportMap, binds, dotted, engine_kind
from .rewrite_nodes import find_instances

# Methods of AsyncEngine/AsyncConnection that return something to await.
_AWAITABLE_METHODS = {
    "run_sync",
    "dispose",
    "commit",
    "rollback",
    "close",
    "execute",
    "exec_driver_sql",
    "begin",
    "connect",
    "scalar",
    "scalars",
}


@dataclass
class _Scope:
    engines: set[str]  # AsyncEngine variables
    conns: set[str]  # AsyncConnection variables
    sync_engines: dict[str, cst.Call]  # Engine variables (sync factory calls)
    local: set[str]  # every name bound in the function, parameters included


def _params(func: cst.FunctionDef) -> list[cst.Param]:
    p = func.params
    out = [*p.posonly_params, *p.params, *p.kwonly_params]
    if isinstance(p.star_arg, cst.Param):
        out.append(p.star_arg)
    if p.star_kwarg is not None:
        out.append(p.star_kwarg)
    return out


def _scope(func: cst.FunctionDef, imports: ImportMap) -> _Scope:
    engines: set[str] = set()
    conns: set[str] = set()
    sync_engines: dict[str, cst.Call] = {}
    for param in _params(func):
        if param.annotation is not None:
            qn = imports.qualname(param.annotation.annotation)
            if qn == ASYNC_WRAP:
                engines.add(param.name.value)
            elif qn == "sqlalchemy.ext.asyncio.AsyncConnection":
                conns.add(param.name.value)
    for node in find_instances(func.body, cst.Assign, stop_at_defs=True):
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            continue
        name = node.targets[0].target.value
        kind = engine_kind(node.value, imports)
        if kind in ("async", "wrap"):
            engines.add(name)
        elif kind == "sync":
            sync_engines[name] = cast(cst.Call, node.value)  # a factory call (engine_kind)
        elif isinstance(node.value, cst.Await) and _method(node.value.expression) in (
            "connect",
            "begin",
        ):
            conns.add(name)
    for with_stmt in find_instances(func.body, cst.With, stop_at_defs=True):
        for item in with_stmt.items:
            if item.asname is None or not isinstance(item.asname.name, cst.Name):
                continue
            if _method(item.item) not in ("connect", "begin"):
                continue
            receiver = _receiver(item.item)
            # Only an async object supports `async with x.connect()`.
            if with_stmt.asynchronous is not None or receiver in engines:
                conns.add(item.asname.name.value)
    local = binds(*func.body.body) if isinstance(func.body, cst.IndentedBlock) else set()
    local |= {p.name.value for p in _params(func)}
    return _Scope(engines, conns, sync_engines, local)


def _method(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value
    return None


def _ctx_ref(node: cst.CSTNode, imports: ImportMap) -> str | None:
    """'configure' for `context.configure` (the function itself, not a call)."""
    if isinstance(node, cst.Attribute) and imports.qualname(node.value) == "alembic.context":
        return node.attr.value
    return None


def _ctx_call(node: cst.CSTNode, imports: ImportMap) -> str | None:
    return _ctx_ref(node.func, imports) if isinstance(node, cst.Call) else None


def _module_defs(module: cst.Module) -> dict[str, cst.FunctionDef]:
    return {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}


def _receiver(node: cst.CSTNode) -> str | None:
    """'engine' for `engine.connect()`: the dotted name a method is called on."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return dotted(node.func.value)
    return None


def _run_sync_targets(module: cst.Module) -> set[str]:
    out = set()
    for call in find_instances(module, cst.Call):
        if (
            _method(call) == "run_sync"
            and call.args
            and isinstance(call.args[0].value, cst.Name)
            and not call.args[0].keyword
        ):
            out.add(call.args[0].value.value)
    return out


class _BeginTransactionToSync(cst.CSTTransformer):
    """`async with context.begin_transaction():` -> `with`: it is a sync context manager."""

    def __init__(self, imports: ImportMap):
        self.imports = imports
        self.count = 0

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        if updated_node.asynchronous is not None and any(
            _ctx_call(i.item, self.imports) == "begin_transaction" for i in updated_node.items
        ):
            self.count += 1
            return updated_node.with_changes(asynchronous=None)
        return updated_node


def _only_in_defs(
    module: cst.Module, names: set[str], transformer: cst.CSTTransformer
) -> cst.Module:
    """Apply `transformer` inside the functions called `names` only."""

    class _Scoped(cst.CSTTransformer):
        def leave_FunctionDef(
            self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
        ) -> cst.FunctionDef:
            if updated_node.name.value in names:
                return cast(cst.FunctionDef, updated_node.visit(transformer))
            return updated_node

    return module.visit(_Scoped())
