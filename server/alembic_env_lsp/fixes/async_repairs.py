"""Structural repairs for async env.py files wired wrongly: the quick-fix of ENV004
(configure() given an AsyncConnection) and ENV005 (sync/async `with` mismatches).
ENV006 (run_sync() handed the wrong thing) ships its own line edits in its rule.

Every function takes the file's text and returns a RewriteResult; none touches the disk.
"""

from __future__ import annotations

from typing import cast

import libcst as cst

from .async_edits import drop_future
from .async_online import _find_online
from .async_rewrite import _ASYNC_MODULE, _asyncify
from .async_run_sync import MoveToRunSync
from .async_scope import (
    _BeginTransactionToSync,
    _method,
    _only_in_defs,
    _receiver,
    _run_sync_targets,
    _scope,
)
from .rewrite_common import Refusal, RewriteResult, run
from .rewrite_imports import ensure_from_import, plan_from_import, prune_imports
from .rewrite_names import (
    SYNC_FACTORIES,
    ImportMap,
    dotted,
    engine_kind,
)
from .rewrite_nodes import find_instances

__all__ = ["REPAIRS_BY_RULE", "repair_async_connection_configure"]


# --------------------------------------------------------------------------- ENV004 / ENV005


def repair_async_connection_configure(source: str) -> RewriteResult:
    """ENV004/ENV005: Alembic's sync API used on an AsyncConnection (or a sync `with` on an
    async object): move that work into `do_run_migrations(connection)` and call it
    through `await conn.run_sync(...)`."""
    return run(source, _repair_blocks)


def _repair_blocks(module: cst.Module) -> cst.Module | None:
    imports = ImportMap.of_module(module)
    original = module
    # A sync def that opens `with <async engine>.connect()`: the async template's split, engine kept as it is.
    plans, _ = _find_online(module, imports)
    async_plans = [p for p in plans if p.kind in ("async", "wrap")]
    if len(async_plans) > 1:
        raise Refusal(
            "more than one function opens a connection on an async engine; repair them by hand"
        )
    if async_plans:
        module = _asyncify(
            module, imports, async_plans[0], convert_factory=False, sharing_branch=False
        )
        imports = ImportMap.of_module(module)
    # `async with context.begin_transaction()` inside a sync def or a run_sync() target
    targets = _run_sync_targets(module)
    sync_defs = {
        f.name.value for f in find_instances(module, cst.FunctionDef) if f.asynchronous is None
    }
    module = _only_in_defs(module, sync_defs | targets, _BeginTransactionToSync(imports))
    module = _async_with_on_sync_engine(module, imports)
    imports = ImportMap.of_module(module)

    conn_type = plan_from_import(
        module, "sqlalchemy.engine", "Connection", prefer_alias="SAConnection"
    )
    blocks = MoveToRunSync(module, imports, conn_type)
    body: list[cst.BaseStatement] = []
    for stmt in module.body:
        blocks.new_defs = []
        new = cast(cst.BaseStatement, stmt.visit(blocks))
        body.extend(blocks.new_defs)
        body.append(new)
    module = module.with_changes(body=body)
    if blocks.used_conn_type:
        module, _ = ensure_from_import(module, "sqlalchemy.engine", "Connection", local=conn_type)
    return None if module.deep_equals(original) else module


def _async_with_on_sync_engine(module: cst.Module, imports: ImportMap) -> cst.Module:
    """ENV005 the other way round: `async with engine.connect()` on a sync Engine; the
    engine is what is wrong, so build it with the async factory."""
    wanted: dict[str, str] = {}

    class _Find(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            if node.asynchronous is None:
                return True
            scope = _scope(node, imports.within(node))
            for with_node in find_instances(node.body, cst.With):
                if with_node.asynchronous is None:
                    continue
                for item in with_node.items:
                    receiver = (
                        _receiver(item.item) if _method(item.item) in ("connect", "begin") else None
                    )
                    if receiver is not None and receiver in scope.sync_engines:
                        qn = imports.within(node).qualname(scope.sync_engines[receiver].func)
                        wanted[receiver] = SYNC_FACTORIES[qn or ""]
            return True

    module.visit(_Find())
    if not wanted:
        return module
    locals_ = {name: plan_from_import(module, _ASYNC_MODULE, name) for name in set(wanted.values())}

    class _Swap(cst.CSTTransformer):
        def __init__(self) -> None:
            self.stack: list[bool] = []

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.stack.append(node.asynchronous is not None)

        def leave_FunctionDef(
            self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
        ) -> cst.FunctionDef:
            self.stack.pop()
            return updated_node

        def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
            if not (self.stack and self.stack[-1]) or len(updated_node.targets) != 1:
                return updated_node
            target = dotted(updated_node.targets[0].target)
            value = updated_node.value
            if (
                target in wanted
                and isinstance(value, cst.Call)
                and engine_kind(value, imports) == "sync"
            ):
                call = drop_future(value.with_changes(func=cst.Name(locals_[wanted[target]])))
                return updated_node.with_changes(value=call)
            return updated_node

    module = module.visit(_Swap())
    for name, local in locals_.items():
        module, _ = ensure_from_import(module, _ASYNC_MODULE, name, local=local)
    return prune_imports(module, SYNC_FACTORIES)


# Which structural repair answers which rule (quick-fixes of ENV004/ENV005). Each one is a
# no-op (changed=False) on files where it has nothing to do.
REPAIRS_BY_RULE = {
    "ENV005": repair_async_connection_configure,
    "ENV004": repair_async_connection_configure,
}
