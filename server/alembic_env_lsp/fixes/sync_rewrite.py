"""Convert an async env.py back to the sync pattern, for projects that keep a sync driver
for migrations (the inverse of the async pattern in docs/architecture.md, offered with ENV001/ENV002).

The async function that builds the engine becomes plain sync code: the async factory
becomes the sync one, `async with` becomes `with`, `await conn.run_sync(fn, ...)` becomes
`fn(conn, ...)`, and `asyncio.run(...)` goes. The function is inlined where asyncio.run()
called it when that is safe; do_run_migrations and a connection-sharing branch stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import libcst as cst

from .async_scope import _ctx_call
from .refusal_lines import Lines, described, imported_runner
from .rewrite_common import Refusal, RewriteResult, run
from .rewrite_imports import (
    ensure_from_import,
    plan_from_import,
    prune_imports,
)
from .rewrite_names import (
    ASYNC_FACTORIES,
    ASYNC_WRAP,
    ImportMap,
    binds,
    dotted,
    engine_assignment,
    reads,
)
from .rewrite_nodes import (
    comment_lines,
    comments_of,
    docstring_of,
    find_all,
    find_instances,
    find_kwarg,
    keep_comments,
    leading_lines,
    remove_arg,
    sole_expr,
    unwrap_call,
)

__all__ = ["RewriteResult", "convert_to_sync"]

# Awaited AsyncConnection methods whose sync Connection twin has the same signature.
_SAME_ON_SYNC = {
    "execute",
    "exec_driver_sql",
    "commit",
    "rollback",
    "close",
    "scalar",
    "scalars",
    "begin",
    "invalidate",
}
_RUNNERS = {"asyncio.run"}


def convert_to_sync(source: str) -> RewriteResult:
    """Async env.py -> engine_from_config/create_engine + `with engine.connect()`."""
    return run(source, _convert_to_sync)


@dataclass
class _Plan:
    func: cst.FunctionDef  # the async def that builds the engine
    imports: ImportMap
    engine_stmt: cst.SimpleStatementLine
    engine: str
    sync_call: cst.Call  # the engine factory call, already in its sync spelling (func name aside)
    sync_factory: str | None  # name to import from sqlalchemy, None when the call is kept as it is


def _find(module: cst.Module, imports: ImportMap) -> list[_Plan]:
    plans = []
    for stmt in module.body:
        if not (
            isinstance(stmt, cst.FunctionDef)
            and stmt.asynchronous is not None
            and isinstance(stmt.body, cst.IndentedBlock)
        ):
            continue
        fimp = imports.within(stmt)
        for child in stmt.body.body:
            found = engine_assignment(child, fimp)
            if found is None or not isinstance(child, cst.SimpleStatementLine):
                continue
            engine, value, kind = found
            if kind == "async":
                factory = ASYNC_FACTORIES[fimp.qualname(value.func) or ""]
                plans.append(_Plan(stmt, fimp, child, engine, value, factory))
                break
            if kind == "wrap":
                args = value.args
                if len(args) == 1 and not args[0].keyword and isinstance(args[0].value, cst.Call):
                    inner = unwrap_call(value, args[0].value)
                    plans.append(_Plan(stmt, fimp, child, engine, inner, None))
                    break
                raise Lines(module).refusal(
                    child,
                    f"the AsyncEngine(...) in {stmt.name.value}() does not wrap a plain engine factory call",
                )
    return plans


class _Desync(cst.CSTTransformer):
    """The body of the async function, rewritten for a sync Engine/Connection."""

    def __init__(self, engine: str, imports: ImportMap):
        self.engine = engine
        self.imports = imports
        self.conns: set[str] = set()
        self.problem: str | None = None
        self.where: cst.CSTNode | None = None  # the statement part the problem is on

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # nested defs keep their own meaning

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is None:
            return
        for item in node.items:
            call = item.item
            ok = (
                isinstance(call, cst.Call)
                and isinstance(call.func, cst.Attribute)
                and call.func.attr.value in ("connect", "begin")
                and dotted(call.func.value) in {self.engine, *self.conns}
            )
            if not ok:
                self._note(
                    call,
                    f"'async with {self._code(call)}' has no sync equivalent this rewrite knows",
                )
            elif item.asname is not None and isinstance(item.asname.name, cst.Name):
                self.conns.add(item.asname.name.value)

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        return updated_node.with_changes(asynchronous=None)

    def leave_Await(self, original_node: cst.Await, updated_node: cst.Await) -> cst.BaseExpression:
        call = updated_node.expression
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute):
            receiver = dotted(call.func.value)
            method = call.func.attr.value
            if (
                receiver in self.conns
                and method == "run_sync"
                and call.args
                and not call.args[0].keyword
            ):
                # run_sync(fn, *args, **kw) calls fn(sync_connection, *args, **kw).
                fn = call.args[0].value
                conn_arg = cst.Arg(cst.Name(receiver))
                rest = list(call.args[1:])
                if rest:
                    conn_arg = conn_arg.with_changes(
                        comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                    )
                return cst.Call(
                    func=fn, args=[conn_arg, *rest], lpar=updated_node.lpar, rpar=updated_node.rpar
                )
            if (receiver in self.conns and method in _SAME_ON_SYNC) or (
                receiver == self.engine and method == "dispose"
            ):
                return call.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
        self._note(
            original_node, f"'await {self._code(call)}' has no sync equivalent this rewrite knows"
        )
        return updated_node

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None:
            self._note(node, "'async for' has no sync equivalent this rewrite knows")

    def _note(self, node: cst.CSTNode, problem: str) -> None:
        if self.problem is None:
            self.problem, self.where = problem, node

    @staticmethod
    def _code(node: cst.CSTNode) -> str:
        return cst.Module([]).code_for_node(node)


def _call_sites(module: cst.Module, name: str, imports: ImportMap) -> list[cst.SimpleStatementLine]:
    """Statements `asyncio.run(name())` (or `loop.run_until_complete(name())`)."""
    sites: list[cst.SimpleStatementLine] = []
    for stmt in find_instances(module, cst.SimpleStatementLine):
        assert isinstance(stmt, cst.SimpleStatementLine)
        call = sole_expr(stmt)
        if not (isinstance(call, cst.Call) and len(call.args) == 1):
            continue
        inner = call.args[0].value
        if not (
            isinstance(inner, cst.Call)
            and isinstance(inner.func, cst.Name)
            and inner.func.value == name
            and not inner.args
        ):
            continue
        runner = imports.qualname(call.func)
        if runner in _RUNNERS or (
            isinstance(call.func, cst.Attribute) and call.func.attr.value == "run_until_complete"
        ):
            sites.append(stmt)
    return sites


def _following(stmts: list[cst.BaseStatement], target: cst.CSTNode) -> list[cst.CSTNode] | None:
    """What may run after `target` inside this block (None: target not in it): later statements,
    the `except`/`else`/`finally` parts of a `try` around it, and a loop whole (it may run
    `target` again)."""
    for i, stmt in enumerate(stmts):
        if stmt is target:
            return list(stmts[i + 1 :])
        for block, then in _child_blocks(stmt):
            found = _following(block, target)
            if found is not None:
                return found + then + list(stmts[i + 1 :])
    return None


def _child_blocks(
    stmt: cst.BaseStatement,
) -> list[tuple[list[cst.BaseStatement], list[cst.CSTNode]]]:
    """Each block of a compound statement, with what else of the statement may run after it."""
    out: list[tuple[list[cst.BaseStatement], list[cst.CSTNode]]] = []

    def add(suite: cst.CSTNode | None, *then: cst.CSTNode | None) -> None:
        if isinstance(suite, cst.IndentedBlock):
            out.append((list(suite.body), [n for n in then if n is not None]))

    if isinstance(stmt, cst.If):
        add(stmt.body)
        orelse = stmt.orelse
        while isinstance(orelse, cst.If):
            add(orelse.body)
            orelse = orelse.orelse
        if isinstance(orelse, cst.Else):
            add(orelse.body)
    elif isinstance(stmt, cst.With):
        add(stmt.body)
    elif isinstance(stmt, cst.For):
        add(stmt.body, stmt.body)
        if stmt.orelse is not None:
            add(stmt.orelse.body)
    elif isinstance(stmt, cst.While):
        add(stmt.body, stmt.test, stmt.body)
        if stmt.orelse is not None:
            add(stmt.orelse.body)
    elif isinstance(stmt, (cst.Try, cst.TryStar)):
        add(stmt.body, *stmt.handlers, stmt.orelse, stmt.finalbody)
        for handler in stmt.handlers:
            add(handler.body, stmt.finalbody)
        if stmt.orelse is not None:
            add(stmt.orelse.body, stmt.finalbody)
        if stmt.finalbody is not None:
            add(stmt.finalbody.body)
    return out


class _Inline(cst.CSTTransformer):
    def __init__(self, site: cst.SimpleStatementLine, stmts: list[cst.BaseStatement]):
        self.site = site
        self.stmts = stmts

    def leave_SimpleStatementLine(self, original_node, updated_node):
        if original_node is self.site:
            return cst.FlattenSentinel(self.stmts)
        return updated_node


class _Unrun(cst.CSTTransformer):
    """`asyncio.run(f())` -> `f()`."""

    def __init__(self, site: cst.SimpleStatementLine):
        self.site = site

    def leave_SimpleStatementLine(self, original_node, updated_node):
        if original_node is not self.site:
            return updated_node
        call = cast(cst.Call, sole_expr(updated_node))  # `asyncio.run(main())` (_call_sites)
        return updated_node.with_changes(
            body=[updated_node.body[0].with_changes(value=call.args[0].value)]
        )


def _convert_to_sync(module: cst.Module) -> cst.Module | None:
    imports = ImportMap.of_module(module)
    plans = _find(module, imports)
    if not plans:
        refusal = _no_async_engine(module, imports)
        if refusal is None:
            return None  # nothing async: already sync
        raise refusal
    if len(plans) > 1:
        names = ", ".join(f"{p.func.name.value}()" for p in plans)
        raise Lines(module).refusal(
            plans[1].func,
            f"more than one async function builds an engine ({names}); convert a multi-database env.py by hand",
        )
    plan = plans[0]
    func = plan.func
    name = func.name.value

    sites = _call_sites(module, name, imports)
    uses = reads(module)[name] - 1  # the def's own name counts once
    if len(sites) != 1 or uses != 1:
        raise Lines(module).refusal(
            _other_use(module, func, sites),
            f"{name}() must be started exactly once, by asyncio.run({name}()), for the sync conversion to be safe",
        )
    site = sites[0]

    # The engine factory, in its sync spelling.
    factory_local = (
        plan_from_import(module, "sqlalchemy", plan.sync_factory) if plan.sync_factory else None
    )
    sync_call = plan.sync_call
    if factory_local is not None:
        sync_call = sync_call.with_changes(func=cst.Name(factory_local))
    i = find_kwarg(sync_call, "future")
    if i is not None:
        sync_call = remove_arg(sync_call, i)

    desync = _Desync(plan.engine, plan.imports)
    body = []
    for stmt in func.body.body:
        if stmt is plan.engine_stmt:
            # keep_comments: a comment on a dropped argument (`future=True,  # legacy`) stays
            body.append(
                keep_comments(
                    [stmt], stmt.with_changes(body=[stmt.body[0].with_changes(value=sync_call)])
                )
            )
        else:
            body.append(cast(cst.BaseStatement, stmt.visit(desync)))
    if desync.problem:
        raise Lines(module).refusal(desync.where, f"{name}(): {desync.problem}")
    sync_func = func.with_changes(asynchronous=None, body=func.body.with_changes(body=body))

    host = _enclosing_def(module, site)
    inline = host is not None and host is not func and _safe_to_inline(host, site, sync_func)
    if inline:
        stmts: list[cst.BaseStatement] = list(cast(cst.IndentedBlock, sync_func.body).body)
        doc = docstring_of(stmts)
        if doc is not None:
            stmts.remove(doc)
        if not stmts:
            raise Refusal(f"{name}() has nothing left to run")
        lost = comments_of(func) - comments_of(*stmts)
        if (
            site.trailing_whitespace.comment is not None
        ):  # `asyncio.run(main())  # note` goes away too
            lost[site.trailing_whitespace.comment.value.rstrip()] += 1
        own = [
            line for line in leading_lines(stmts[0]) if line.comment is not None
        ]  # the site's blank lines suffice
        stmts[0] = stmts[0].with_changes(
            leading_lines=[*leading_lines(site), *comment_lines(lost.elements()), *own]
        )
        # Identity of nodes does not survive a visit(): edit the body list first.
        module = module.with_changes(body=[s for s in module.body if s is not func])
        module = module.visit(_Inline(site, stmts))
    else:
        module = module.with_changes(body=[sync_func if s is func else s for s in module.body])
        module = module.visit(_Unrun(site))

    if factory_local is not None and plan.sync_factory is not None:
        module, _ = ensure_from_import(module, "sqlalchemy", plan.sync_factory, local=factory_local)
    module = prune_imports(
        module,
        ["asyncio", *ASYNC_FACTORIES, ASYNC_WRAP, "sqlalchemy.ext.asyncio.AsyncConnection"],
    )
    leftover = _still_async(module, ImportMap.of_module(module))
    if leftover:
        raise Refusal(f"env.py would still use {leftover} after the conversion; convert it by hand")
    return _no_blank_start(module)


def _no_blank_start(module: cst.Module) -> cst.Module:
    """With `import asyncio` gone from line 1, the blank line that followed it would start the file."""
    if module.header or not module.body:
        return module
    first = module.body[0]
    lines = list(leading_lines(first))
    while lines and lines[0].comment is None:
        lines.pop(0)
    if len(lines) == len(leading_lines(first)):
        return module
    first = first.with_changes(leading_lines=lines)
    return module.with_changes(body=[first, *module.body[1:]])


def _other_use(
    module: cst.Module, func: cst.FunctionDef, sites: list[cst.SimpleStatementLine]
) -> cst.CSTNode:
    """Where the coroutine is used besides its one asyncio.run() (its def when it is never run)."""
    in_site = {id(n) for site in sites[:1] for n in find_instances(site, cst.Name)}
    others = [
        n
        for n in find_instances(module, cst.Name)
        if isinstance(n, cst.Name)
        and n.value == func.name.value
        and n is not func.name
        and id(n) not in in_site
    ]
    return others[0] if others else func


def _no_async_engine(module: cst.Module, imports: ImportMap) -> Refusal | None:
    """Nothing to convert: None when the file is already sync, else why, at the line of the
    async code whose connection does not come from an engine this env.py builds."""
    lines = Lines(module)
    left = _AsyncLeft(imports)
    module.visit(left)
    configures = any(_ctx_call(c, imports) == "configure" for c in find_instances(module, cst.Call))
    if left.node is None and (configures or _builds_sync_engine(module, imports)):
        return None
    opened = next(
        (
            item.item
            for w in find_instances(module, cst.With)
            if isinstance(w, cst.With) and w.asynchronous is not None
            for item in w.items
        ),
        None,
    )
    if opened is not None:
        return lines.refusal(
            opened,
            f"{described(module, imports, opened, lines)}, not from an engine env.py builds with async_engine_from_config()/create_async_engine(); convert that code by hand",
        )
    if left.node is not None:
        return lines.refusal(
            left.node,
            f"env.py uses {left.found} but builds no engine with async_engine_from_config()/create_async_engine() in an async def, so it cannot be converted safely",
        )
    runner = imported_runner(module, imports)
    if runner is not None:
        call, owner = runner
        return lines.refusal(
            call,
            f"the migrations run in `{lines.code(call)}`, imported from {owner}; convert that module instead",
        )
    return Refusal(
        "env.py has no async def that builds its engine with async_engine_from_config()/create_async_engine(), and calls neither context.configure() nor an engine factory, so there is nothing to convert"
    )


def _builds_sync_engine(module: cst.Module, imports: ImportMap) -> bool:
    factories = {"sqlalchemy.create_engine", "sqlalchemy.engine_from_config"}
    for call in find_instances(module, cst.Call):
        assert isinstance(call, cst.Call)
        if imports.within(module).qualname(call.func) in factories:
            return True
    return False


def _enclosing_def(module: cst.Module, site: cst.CSTNode) -> cst.FunctionDef | None:
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and find_all(stmt, lambda n: n is site):
            return stmt
    return None


def _safe_to_inline(
    host: cst.FunctionDef, site: cst.SimpleStatementLine, func: cst.FunctionDef
) -> bool:
    """Inlining must not let the function's variables clash with the host's."""
    if host.asynchronous is not None or not isinstance(host.body, cst.IndentedBlock):
        return False
    after = _following(list(host.body.body), site)
    if after is None:
        return False
    own = binds(*func.body.body)
    later = reads(*after)
    if any(later[n] for n in own):
        return False
    host_locals = binds(*host.body.body)
    return not any(reads(func.body)[n] for n in host_locals - own)


def _still_async(module: cst.Module, imports: ImportMap) -> str | None:
    """What async machinery is left outside the import lines (None when there is none)."""
    finder = _AsyncLeft(imports)
    module.visit(finder)
    return finder.found


class _AsyncLeft(cst.CSTVisitor):
    def __init__(self, imports: ImportMap):
        self.imports = imports
        self.found: str | None = None
        self.node: cst.CSTNode | None = None  # where `found` is

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Await(self, node: cst.Await) -> None:
        self._note(node, "'await'")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "run_sync":
            self._note(node, "run_sync()")
        self._check(node)

    def visit_Name(self, node: cst.Name) -> None:
        self._check(node)

    def _check(self, node: cst.BaseExpression) -> None:
        qn = self.imports.qualname(node)
        if qn is not None and qn.startswith("sqlalchemy.ext.asyncio"):
            self._note(node, f"'{dotted(node)}'")

    def _note(self, node: cst.CSTNode, what: str) -> None:
        if self.found is None:
            self.found, self.node = what, node
