"""Structural repairs for async env.py files wired wrongly: the quick-fixes of ENV004
(configure() given an AsyncConnection), ENV005 (sync/async `with` mismatches) and ENV006
(run_sync handed context functions or a helper without a connection parameter).

Every function takes the file's text and returns a RewriteResult; none touches the disk.
"""

from __future__ import annotations

from typing import cast

import libcst as cst

from .async_online import _find_online
from .async_rewrite import _ASYNC_MODULE, _asyncify, _drop_future
from .async_run_sync import MoveToRunSync
from .async_scope import (
    _BeginTransactionToSync,
    _method,
    _module_defs,
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
    binds,
    dotted,
    engine_kind,
    module_level_names,
    reads,
)
from .rewrite_nodes import find_instances

__all__ = ["REPAIRS_BY_RULE", "repair_async_connection_configure", "repair_run_sync_misuse"]


# --------------------------------------------------------------------------- ENV004 / ENV005 / ENV006


def repair_async_connection_configure(source: str) -> RewriteResult:
    """ENV004/ENV005: Alembic's sync API used on an AsyncConnection (or a sync `with` on an
    async object): move that work into `do_run_migrations(connection)` and call it
    through `await conn.run_sync(...)`."""
    return run(source, lambda module: _repair_blocks(module, "004"))


def repair_run_sync_misuse(source: str) -> RewriteResult:
    """ENV006: run_sync() given context.run_migrations, context.configure(connection=...),
    a function without a connection parameter, or a call instead of a function."""
    return run(source, lambda module: _repair_blocks(module, "006"))


def _add_connection_param(module: cst.Module, names: set[str], conn_type: str) -> cst.Module:
    """ENV006c: run_sync() passes the connection positionally; give the helper a parameter."""
    module_names = module_level_names(module)

    class _AddParam(cst.CSTTransformer):
        def leave_FunctionDef(
            self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
        ) -> cst.FunctionDef:
            if updated_node.name.value not in names:
                return updated_node
            body_reads = reads(updated_node.body)
            name = "connection"
            if "connection" in binds(*updated_node.body.body) or (
                "connection" in module_names and body_reads["connection"]
            ):
                name = "sync_connection"
            param = cst.Param(
                name=cst.Name(name),
                annotation=cst.Annotation(annotation=cst.Name(conn_type)),
            )
            params = updated_node.params
            others = [*params.params, *params.kwonly_params] or isinstance(
                params.star_arg, (cst.Param, cst.ParamStar)
            )
            if others:
                param = param.with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
            return updated_node.with_changes(
                params=params.with_changes(params=[param, *params.params])
            )

    return module.visit(_AddParam())


def _positionless(func: cst.FunctionDef) -> bool:
    p = func.params
    return not p.posonly_params and not p.params and not isinstance(p.star_arg, cst.Param)


def _repair_blocks(module: cst.Module, mode: str) -> cst.Module | None:
    imports = ImportMap.of_module(module)
    original = module
    # A sync def that opens `with <async engine>.connect()`: the async template's split, engine kept as it is.
    if mode == "004":
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
    blocks = MoveToRunSync(module, imports, mode, conn_type)
    body: list[cst.BaseStatement] = []
    for stmt in module.body:
        blocks.new_defs = []
        new = cast(cst.BaseStatement, stmt.visit(blocks))
        body.extend(blocks.new_defs)
        body.append(new)
    module = module.with_changes(body=body)
    needs_type = blocks.used_conn_type
    if mode == "006":
        defs = _module_defs(module)
        missing = {
            n
            for n in _run_sync_targets(module)
            if n in defs and defs[n].asynchronous is None and _positionless(defs[n])
        }
        if missing:
            module = _add_connection_param(module, missing, conn_type)
            needs_type = True
    if needs_type:
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
                call = _drop_future(value.with_changes(func=cst.Name(locals_[wanted[target]])))
                return updated_node.with_changes(value=call)
            return updated_node

    module = module.visit(_Swap())
    for name, local in locals_.items():
        module, _ = ensure_from_import(module, _ASYNC_MODULE, name, local=local)
    return prune_imports(module, SYNC_FACTORIES)


# Which structural repair answers which rule (quick-fixes of ENV004/ENV005/ENV006). Each one is
# a no-op (changed=False) on files where it has nothing to do.
REPAIRS_BY_RULE = {
    "ENV005": repair_async_connection_configure,
    "ENV004": repair_async_connection_configure,
    "ENV006": repair_run_sync_misuse,
}
