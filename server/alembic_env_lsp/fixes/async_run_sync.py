"""Moving Alembic's sync work off the event loop: in an async def, runs of statements that use
Alembic's sync API on an AsyncConnection (configure(), begin_transaction(), run_migrations())
become one sync helper `do_run_migrations(connection)` called through `await conn.run_sync(...)`;
a sync helper called with the AsyncConnection goes through run_sync(). The transformer behind the
ENV004/ENV005 repair (fixes/async_repairs.py).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import cast

import libcst as cst

from .async_edits import Rename, rename_variable
from .async_online import _fresh
from .async_scope import (
    _ctx_call,
    _ctx_ref,
    _method,
    _module_defs,
    _params,
    _receiver,
    _Scope,
    _scope,
)
from .rewrite_common import Refusal
from .rewrite_imports import taken_names
from .rewrite_names import ImportMap, dotted, reads
from .rewrite_nodes import (
    Builder,
    blank_lines,
    find_kwarg,
    keep_comments,
    kwarg,
    leading_lines,
    remove_arg,
    sole_expr,
    with_sole_expr,
)


@dataclass
class _Mig:
    conns: set[str]  # AsyncConnection variables this statement refers to
    on_loop: bool  # does Alembic's sync work on the event-loop side (ENV004/ENV005)
    sync: cst.BaseStatement  # the same work written for a sync Connection


class MoveToRunSync(cst.CSTTransformer):
    """Finds runs of Alembic statements done on the event-loop side of an async def and
    turns each run into a sync helper called through run_sync()."""

    def __init__(self, module: cst.Module, imports: ImportMap, conn_type: str):
        self.module = module
        self.module_imports = imports
        self.conn_type = conn_type
        self.builder = Builder(module)
        self.stack: list[tuple[cst.FunctionDef, ImportMap, _Scope | None]] = []
        self.tx_bodies: set[int] = set()
        self.new_defs: list[cst.FunctionDef] = []
        self.reserved: set[str] = set()
        self.used_conn_type = False
        self.module_defs = _module_defs(module)
        self.taken = taken_names(module)

    # -- bookkeeping

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        imports = self.module_imports.within(node)
        self.stack.append(
            (node, imports, _scope(node, imports) if node.asynchronous is not None else None)
        )

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.stack.pop()
        return updated_node

    def visit_With(self, node: cst.With) -> None:
        if self.stack and any(
            _ctx_call(i.item, self.stack[-1][1]) == "begin_transaction" for i in node.items
        ):
            self.tx_bodies.add(id(node.body))  # handled as part of the enclosing run

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        # ENV005: `with` on an AsyncEngine/AsyncConnection must be `async with`.
        if not self.stack or self.stack[-1][2] is None or updated_node.asynchronous is not None:
            return updated_node
        scope = self.stack[-1][2]
        for item in updated_node.items:
            if (
                _method(item.item) in ("connect", "begin")
                and _receiver(item.item) in scope.engines | scope.conns
            ):
                return updated_node.with_changes(asynchronous=cst.Asynchronous())
        return updated_node

    # -- classification

    def _classify(self, stmt: cst.BaseStatement, imports: ImportMap, scope: _Scope) -> _Mig | None:
        if (
            isinstance(stmt, cst.With)
            and len(stmt.items) == 1
            and _ctx_call(stmt.items[0].item, imports) == "begin_transaction"
        ):
            if not isinstance(stmt.body, cst.IndentedBlock):
                return None
            conns: set[str] = set()
            # `with` or `async with` in an async def: begin_transaction() and its commit run on
            # the event-loop side (MissingGreenlet on PostgreSQL)
            on_loop = True
            inner = []
            for child in stmt.body.body:
                found = self._classify(child, imports, scope)
                if found is None:
                    return None
                conns |= found.conns
                on_loop = on_loop or found.on_loop
                inner.append(found.sync)
            return _Mig(
                conns,
                on_loop,
                stmt.with_changes(asynchronous=None, body=stmt.body.with_changes(body=inner)),
            )
        expr = sole_expr(stmt)
        if expr is None:
            return None
        line = cast(cst.SimpleStatementLine, stmt)  # sole_expr() found its expression
        awaited = isinstance(expr, cst.Await)
        call = expr.expression if isinstance(expr, cst.Await) else expr
        if not isinstance(call, cst.Call):
            return None
        method = _ctx_call(call, imports)
        if method in ("configure", "run_migrations", "execute") and not awaited:
            used: set[str] = set()
            if method == "configure":
                i = find_kwarg(call, "connection")
                given = dotted(call.args[i].value) if i is not None else None
                if given is None or given not in scope.conns:
                    return None
                used = {given}
            return _Mig(used, True, stmt)
        if _method(call) != "run_sync" or not call.args:
            return None
        conn = _receiver(call)
        first, rest = call.args[0], list(call.args[1:])
        if conn is None or first.keyword is not None or first.star:
            return None
        target = first.value
        ref = _ctx_ref(target, imports)
        if ref in ("configure", "run_migrations"):
            if any(a.keyword is None and a.star != "**" for a in rest):
                return None  # extra positional arguments: no safe reading
            if any(a.keyword is not None and a.keyword.value == "connection" for a in rest):
                rest = [
                    a
                    for a in rest
                    if not (a.keyword is not None and a.keyword.value == "connection")
                ]
            if ref == "run_migrations":
                new = cst.Call(func=target, args=_tidy_args(rest))
            else:
                lead = kwarg("connection", cst.Name(conn))
                args = (
                    [lead.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))]
                    if rest
                    else [lead]
                )
                new = cst.Call(func=target, args=[*args, *_tidy_args(rest)])
            return _Mig({conn}, False, keep_comments([stmt], with_sole_expr(line, new)))
        if isinstance(target, cst.Lambda) and not rest:
            params = target.params
            if (
                len(params.params) != 1
                or params.star_arg != cst.MaybeSentinel.DEFAULT
                and isinstance(params.star_arg, cst.Param)
            ):
                return None
            inner_method = _ctx_call(target.body, imports)
            if inner_method not in ("configure", "run_migrations"):
                return None
            body_call = cast(
                cst.Call, target.body.visit(Rename(params.params[0].name.value, conn))
            )  # a context.configure()/run_migrations() call (_ctx_call)
            if inner_method == "run_migrations":
                i = find_kwarg(body_call, "connection")
                if i is not None:
                    # run_migrations(**kw) hands kw to upgrade(), not to Alembic
                    body_call = remove_arg(body_call, i)
            return _Mig({conn}, False, keep_comments([stmt], with_sole_expr(line, body_call)))
        return None

    # -- rewriting a block

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not self.stack or id(original_node) in self.tx_bodies:
            return updated_node
        func, imports, scope = self.stack[-1]
        if scope is None:
            return updated_node
        stmts = list(updated_node.body)
        out: list[cst.BaseStatement] = []
        i = 0
        while i < len(stmts):
            run_: list[tuple[cst.BaseStatement, _Mig]] = []
            j = i
            while j < len(stmts):
                found = self._classify(stmts[j], imports, scope)
                if found is None:
                    break
                run_.append((stmts[j], found))
                j += 1
            if not run_:
                out.append(self._simple_fixes(stmts[i], imports, scope))
                i += 1
                continue
            conns = set().union(*(m.conns for _, m in run_))
            if any(m.on_loop for _, m in run_) and len(conns) == 1:
                out.append(self._extract(func, scope, conns.pop(), run_))
            else:
                out.extend(self._simple_fixes(s, imports, scope) for s, _ in run_)
            i = j
        return updated_node.with_changes(body=out)

    def _extract(
        self, func: cst.FunctionDef, scope: _Scope, conn: str, run_: list
    ) -> cst.BaseStatement:
        originals = [s for s, _ in run_]
        sync = [m.sync for _, m in run_]
        local = (scope.local - {conn}) & set(reads(*sync))
        if local:
            name = sorted(local)[0]
            raise Refusal(
                f"the Alembic calls in {func.name.value}() use the local variable '{name}', so they cannot move into a separate sync function; move it to module level first"
            )
        sync = self._in_transaction(sync, func)
        param = conn
        if conn != "connection" and not reads(*sync)["connection"]:
            param = "connection"
            sync = rename_variable(sync, conn, param)
        sync[0] = sync[0].with_changes(
            leading_lines=[e for e in leading_lines(sync[0]) if e.comment is not None]
        )
        name = self._helper_name(param, sync)
        call = self.builder.stmt(f"await {conn}.run_sync({name})")
        blank = [e for e in leading_lines(originals[0]) if e.comment is None]
        call = call.with_changes(leading_lines=blank)
        # When an existing helper is reused, the block's comments stay here.
        return keep_comments(originals, call) if name not in self.reserved else call

    def _in_transaction(
        self, sync: list[cst.BaseStatement], func: cst.FunctionDef
    ) -> list[cst.BaseStatement]:
        """Put a bare run_migrations() inside `with context.begin_transaction():` as the
        template does: without it PostgreSQL rolls the migration back at close, silently."""
        imports = self.stack[-1][1]
        if any(
            _ctx_call(s.items[0].item, imports) == "begin_transaction"
            for s in sync
            if isinstance(s, cst.With)
        ):
            return sync
        for stmt in sync:
            call = sole_expr(stmt)
            if (
                isinstance(call, cst.Call)
                and _ctx_call(call, imports) == "configure"
                and find_kwarg(call, "transaction_per_migration") is not None
            ):
                return sync  # each revision commits on its own then
        out: list[cst.BaseStatement] = []
        for stmt in sync:
            call = sole_expr(stmt)
            if isinstance(call, cst.Call) and _ctx_call(call, imports) == "run_migrations":
                ctx = self.builder.code(cast(cst.Attribute, call.func).value)  # context.<...>
                wrapper = cast(
                    cst.With, self.builder.stmt(f"with {ctx}.begin_transaction():\n    pass")
                )
                stmt = wrapper.with_changes(
                    leading_lines=leading_lines(stmt),
                    body=wrapper.body.with_changes(body=[stmt.with_changes(leading_lines=[])]),
                )
            out.append(stmt)
        return out

    def _helper_name(self, param: str, sync: list[cst.BaseStatement]) -> str:
        # Reuse an existing helper that already does exactly this.
        for existing in self.module_defs.values():
            ps = _params(existing)
            if (
                existing.asynchronous is None
                and len(ps) == 1
                and isinstance(existing.body, cst.IndentedBlock)
            ):
                candidate = rename_variable(sync, param, ps[0].name.value)
                if _same_code(self.builder, list(existing.body.body), candidate):
                    return existing.name.value
        for made in self.new_defs:
            if _same_code(self.builder, list(cast(cst.IndentedBlock, made.body).body), sync):
                return made.name.value
        name = _fresh(self.taken, "do_run_migrations")
        self.reserved.add(name)
        self.used_conn_type = True
        new = cast(
            cst.FunctionDef,
            self.builder.stmt(f"def {name}({param}: {self.conn_type}) -> None:\n    pass"),
        )
        new = new.with_changes(body=new.body.with_changes(body=sync), leading_lines=blank_lines(2))
        self.new_defs.append(new)
        return name

    # -- one statement at a time

    def _simple_fixes(
        self, stmt: cst.BaseStatement, imports: ImportMap, scope: _Scope
    ) -> cst.BaseStatement:
        if not isinstance(stmt, cst.SimpleStatementLine):
            return stmt
        expr = sole_expr(stmt)
        awaited = isinstance(expr, cst.Await)
        call = expr.expression if isinstance(expr, cst.Await) else expr
        # ENV004: helper(async_conn, ...) on a sync helper -> await async_conn.run_sync(helper, ...)
        if (
            not awaited
            and isinstance(call, cst.Call)
            and isinstance(call.func, cst.Name)
            and call.args
            and not call.args[0].keyword
            and dotted(call.args[0].value) in scope.conns
        ):
            helper = self.module_defs.get(call.func.value)
            conn = dotted(call.args[0].value)
            if helper is not None and helper.asynchronous is None and conn is not None:
                made = self._run_sync_call(conn, call.func, list(call.args[1:]))
                return keep_comments([stmt], with_sole_expr(stmt, cst.Await(expression=made)))
        # Every run_sync(...) call in the statement, wherever it sits (`x = await c.run_sync(...)`).
        outer = self

        class _Calls(cst.CSTTransformer):
            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False

            def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
                if _method(updated_node) == "run_sync" and updated_node.args:
                    return outer._fix_run_sync(updated_node)
                return updated_node

        fixed = cast(cst.SimpleStatementLine, stmt.visit(_Calls()))
        return stmt if fixed.deep_equals(stmt) else keep_comments([stmt], fixed)

    def _run_sync_call(self, conn: str, func: cst.BaseExpression, rest: list[cst.Arg]) -> cst.Call:
        args = [
            cst.Arg(func, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            if rest
            else cst.Arg(func)
        ]
        return cst.Call(
            func=cst.Attribute(value=cst.parse_expression(conn), attr=cst.Name("run_sync")),
            args=[*args, *_tidy_args(rest)],
        )

    def _fix_run_sync(self, call: cst.Call) -> cst.Call:
        first, rest = call.args[0], list(call.args[1:])
        target = first.value
        # run_sync(helper(conn, ...)) passes helper's result, not helper: pass the function.
        if isinstance(target, cst.Call) and isinstance(target.func, cst.Name) and target.args:
            helper = self.module_defs.get(target.func.value)
            if helper is not None and helper.asynchronous is None and not target.args[0].keyword:
                inner = list(target.args[1:])
                return call.with_changes(
                    args=[
                        cst.Arg(
                            target.func, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                        )
                        if inner or rest
                        else cst.Arg(target.func),
                        *_tidy_args(inner + rest),
                    ]
                )
        return call


def _tidy_args(args: list[cst.Arg]) -> list[cst.Arg]:
    """Arguments moved into a new call: plain separators, no trailing comma."""
    out = [
        a.with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
        for a in args
    ]
    if out:
        out[-1] = out[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return out


def _same_code(builder: Builder, a: list[cst.BaseStatement], b: list[cst.BaseStatement]) -> bool:
    def dump(stmts: list[cst.BaseStatement]) -> str | None:
        code = "".join(builder.code(s) for s in stmts)
        try:
            tree = ast.parse(
                "def _():\n" + "".join("    " + line + "\n" for line in code.splitlines())
            )
        except SyntaxError:
            return None
        body = cast(ast.FunctionDef, tree.body[0]).body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body = body[1:]
        return "".join(ast.dump(s) for s in body)

    first = dump(a)
    return first is not None and first == dump(b)
