"""The online flow, in the order env.py runs it: the module's statements, then the bodies of
the local functions they call (`run_migrations_online()`, the coroutine `asyncio.run()`
drives, the function `run_sync()` calls), one node per step that matters (logging, engine,
`config.attributes["connection"]`, connection, `asyncio.run`, `run_sync`, `configure`,
`run_migrations`, `dispose`) and one decision per `if` around such steps (connection
sharing, `isinstance(..., AsyncEngine)`, `is None`), with both branches drawn.

Every node is reached from the start and leads to the end: a step hands its open ends
("tails") to the next one, a decision gives one tail per branch."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from ..model import names as N
from ..model.facts import CallFact, Scope
from ..model.qualify import qualified_name

if TYPE_CHECKING:
    from .graph import Builder, Node

Tails = list[tuple["Node", str]]

_MAX_DEPTH = 6
_MAX_NODES = 60  # a huge file still gives a readable diagram
_STEP_METHODS = frozenset({"connect", "begin", "dispose", "run_sync"})


class Walker:
    def __init__(self, builder: Builder):
        self.b = builder
        self.facts = builder.facts
        self.calls = {id(c.node): c for c in builder.facts.calls}
        self.engines = {id(e.call.node): e for e in builder.facts.engines}
        self.engines.update(
            {id(e.wrapped.node): e for e in builder.facts.engines if e.wrapped is not None}
        )
        self._interesting: dict[int, bool] = {}
        self._logged = False

    # --- statements ----------------------------------------------------------------------

    def module(self, tails: Tails) -> Tails:
        return self.block(self.facts.tree.body, tails, self.facts.module, 0, ())

    def block(
        self, stmts: list[ast.stmt], tails: Tails, scope: Scope, depth: int, stack: tuple
    ) -> Tails:
        for stmt in stmts:
            if len(self.b.flow.nodes) > _MAX_NODES:
                break
            tails = self.stmt(stmt, tails, scope, depth, stack)
        return tails

    def stmt(self, stmt: ast.stmt, tails: Tails, scope: Scope, depth: int, stack: tuple) -> Tails:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import)):
            return tails
        if isinstance(stmt, ast.ImportFrom):
            return tails
        dispatch = self.facts.dispatch
        if dispatch is not None and stmt is dispatch.node:
            _, tails = self.b.dispatch_step(tails)
            online = dispatch.node.orelse if dispatch.offline_in_body else dispatch.node.body
            return self.block(online, tails, scope, depth, stack)
        if isinstance(stmt, ast.If):
            return self._if(stmt, tails, scope, depth, stack)
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                tails = self._with_item(stmt, item, tails, scope, depth, stack)
            return self.block(stmt.body, tails, scope, depth, stack)
        if isinstance(stmt, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            tails = self.block(stmt.body, tails, scope, depth, stack)  # type: ignore[attr-defined]
            return self.block(stmt.finalbody, tails, scope, depth, stack)  # type: ignore[attr-defined]
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            return self.block(stmt.body, tails, scope, depth, stack)
        for call in self._calls_in(stmt):
            tails = self.call(call, tails, scope, depth, stack)
        return tails

    def _if(self, stmt: ast.If, tails: Tails, scope: Scope, depth: int, stack: tuple) -> Tails:
        if not self._holds_steps(stmt, scope, stack):
            return tails
        if self._only_logging(stmt):
            # `if config.config_file_name is not None: fileConfig(...)`: the logging step
            # says whether it is guarded; no decision of its own
            return self.block(stmt.body, tails, scope, depth, stack)
        b = self.b
        test = b.text(stmt.test, 50)
        decision = b.flow.add(
            [f"{test} · line {b.line(stmt)}"], shape="decision", spans=[b.span(stmt.test)]
        )
        for node, label in tails:
            b.flow.link(node, decision, label)
        yes = self.block(stmt.body, [(decision, "yes")], scope, depth, stack)
        no = self.block(stmt.orelse, [(decision, "no")], scope, depth, stack)
        return yes + no

    def _with_item(
        self,
        stmt: ast.With | ast.AsyncWith,
        item: ast.withitem,
        tails: Tails,
        scope: Scope,
        depth: int,
        stack: tuple,
    ) -> Tails:
        expr = item.context_expr
        for call in self._calls_in(expr):
            if call is expr and self._is_connection(call):
                how = "async with" if isinstance(stmt, ast.AsyncWith) else "with"
                target = item.optional_vars
                name = target.id if isinstance(target, ast.Name) else ""
                is_async = isinstance(stmt, ast.AsyncWith) or self._async_receiver(call, scope)
                kind = "AsyncConnection" if is_async else "Connection"
                tails = self._step(
                    [f"{how} {self.b.text(call, 40)} · line {self.b.line(call)}", f"{kind} {name}"],
                    call,
                    tails,
                )
            else:
                tails = self.call(call, tails, scope, depth, stack)
        return tails

    # --- calls ---------------------------------------------------------------------------

    def call(self, call: ast.Call, tails: Tails, scope: Scope, depth: int, stack: tuple) -> Tails:
        b = self.b
        fact = self.calls.get(id(call))
        qname = fact.qname if fact is not None else qualified_name(call.func, scope)
        engine = self.engines.get(id(call))
        if engine is not None:
            if engine.wrapped is not None and engine.wrapped.node is call:
                return tails  # the factory inside AsyncEngine(...): drawn with the wrapper
            node = b.engine_step(engine)
            for prev, label in tails:
                b.flow.link(prev, node, label)
            return [(node, "")]
        if qname in N.LOG_SETUP and fact is not None:
            if self._logged:
                return tails
            self._logged = True
            node = b.logging_step(fact)
            for prev, label in tails:
                b.flow.link(prev, node, label)
            return [(node, "")]
        if qname == "alembic.context.configure" and fact is not None:
            configure = next((c for c in self.facts.configures if c.call is fact), None)
            if configure is None or configure.mode == "offline":
                return tails
            return self._link_to(b.configure_node(configure), tails)
        if qname == "alembic.context.run_migrations" and fact is not None:
            return self._link_to(b.run_node(fact), tails)
        if qname in N.RUNNERS:
            node_tails = self._step(
                [f"{b.text(call)} · line {b.line(call)}", "new event loop"], call, tails
            )
            inner = call.args[0] if call.args else None
            if isinstance(inner, ast.Call):
                return self._enter(inner, node_tails, scope, depth, stack, through_runner=True)
            return node_tails
        if self._is_shared_connection(call, scope):
            return self._step(
                [
                    f"{b.text(call, 50)} · line {b.line(call)}",
                    "the caller's connection, if one was shared",
                ],
                call,
                tails,
            )
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _STEP_METHODS:
            return self._method(call, func, tails, scope, depth, stack)
        if isinstance(func, ast.Name):
            return self._enter(call, tails, scope, depth, stack)
        return tails

    def _method(
        self,
        call: ast.Call,
        func: ast.Attribute,
        tails: Tails,
        scope: Scope,
        depth: int,
        stack: tuple,
    ) -> Tails:
        b = self.b
        awaited = self._awaited(call)
        prefix = "await " if awaited else ""
        if func.attr == "run_sync":
            tails = self._step(
                [f"{prefix}{b.text(call, 50)} · line {b.line(call)}", "passes a sync Connection"],
                call,
                tails,
            )
            target = call.args[0] if call.args else None
            if isinstance(target, ast.Name):
                fn = scope.lookup_function(target.id)
                if fn is not None and self._fn_holds_steps(fn, stack):
                    label = f"{target.id}(connection)"
                    return self._body(fn, [(n, label) for n, _ in tails], depth, stack)
            return tails
        if func.attr == "dispose":
            if not self._is_engine_expr(func.value, scope):
                return tails
            return self._step([f"{prefix}{b.text(call, 50)} · line {b.line(call)}"], call, tails)
        if self._is_connection(call):  # conn = engine.connect()
            fact = self.calls.get(id(call))
            started = fact is not None and isinstance(fact.parent, ast.Attribute)  # .start()
            is_async = awaited or started or self._async_receiver(call, scope)
            known = is_async or self._known_engine(func.value, scope)
            kind = "AsyncConnection" if is_async else "Connection" if known else "connection"
            return self._step(
                [f"{prefix}{b.text(call, 40)} · line {b.line(call)}", kind], call, tails
            )
        return tails

    def _enter(
        self,
        call: ast.Call,
        tails: Tails,
        scope: Scope,
        depth: int,
        stack: tuple,
        through_runner: bool = False,
    ) -> Tails:
        """A call to a local function: its steps, in place (a coroutine nobody runs is drawn
        as its own step, whose findings break the link into the body)."""
        if not isinstance(call.func, ast.Name):
            return tails
        fn = scope.lookup_function(call.func.id)
        if fn is None or fn.node is None or not self._fn_holds_steps(fn, stack):
            return tails
        label = f"{call.func.id}()"
        if fn.is_async and not through_runner and not self._awaited(call):
            b = self.b
            tails = self._step([f"{b.text(call, 50)} · line {b.line(call)}"], call, tails)
            label = ""
        return self._body(fn, [(n, lbl or label) for n, lbl in tails], depth, stack)

    def _body(self, fn: Scope, tails: Tails, depth: int, stack: tuple) -> Tails:
        if depth >= _MAX_DEPTH or fn in stack or fn.node is None:
            return tails
        body = getattr(fn.node, "body", [])
        return self.block(body, tails, fn, depth + 1, (*stack, fn))

    # --- helpers -------------------------------------------------------------------------

    def _step(self, lines: list[str], node: ast.AST, tails: Tails) -> Tails:
        return self._link_to(self.b.flow.add(lines, spans=[self.b.span(node)]), tails)

    def _link_to(self, node: Node, tails: Tails) -> Tails:
        for prev, label in tails:
            self.b.flow.link(prev, node, label)
        return [(node, "")]

    def _calls_in(self, node: ast.AST) -> list[ast.Call]:
        """The calls of an expression or simple statement in evaluation order (arguments
        before the call), without entering lambdas; a runner's argument is its own."""
        out: list[ast.Call] = []

        def visit(sub: ast.AST) -> None:
            if isinstance(sub, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
                return
            if isinstance(sub, ast.Call):
                q = qualified_name(sub.func, self.facts.module) or ""
                if q in N.RUNNERS:
                    out.append(sub)
                    return
                for child in ast.iter_child_nodes(sub):
                    visit(child)
                out.append(sub)
                return
            for child in ast.iter_child_nodes(sub):
                visit(child)

        visit(node)
        return out

    def _awaited(self, call: ast.Call) -> bool:
        fact = self.calls.get(id(call))
        return fact is not None and fact.awaited

    def _is_connection(self, call: ast.Call) -> bool:
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr in ("connect", "begin")):
            return False
        fact = self.calls.get(id(call))
        scope = fact.scope if fact is not None else self.facts.module
        return self._is_engine_expr(func.value, scope)

    def _is_engine_expr(self, expr: ast.expr, scope: Scope) -> bool:
        if isinstance(expr, ast.Call):
            return id(expr) in self.engines
        if isinstance(expr, ast.Name):
            binding = scope.lookup_kind(expr.id)
            if binding is not None and binding.kind.name in ("ENGINE", "ASYNC_ENGINE"):
                return True
            # a parameter or a name bound on several paths (shared connection or engine)
            return any(e.var == expr.id for e in self.facts.engines) or expr.id in (
                "engine",
                "connectable",
            )
        return False

    def _known_engine(self, expr: ast.expr, scope: Scope) -> bool:
        """An engine env.py builds (not one it only guesses from a name like `engine`)."""
        if isinstance(expr, ast.Call):
            return id(expr) in self.engines
        if isinstance(expr, ast.Name):
            binding = scope.lookup_kind(expr.id)
            return binding is not None or any(e.var == expr.id for e in self.facts.engines)
        return False

    def _async_receiver(self, call: ast.Call, scope: Scope) -> bool:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return False
        value = func.value
        if isinstance(value, ast.Call):
            engine = self.engines.get(id(value))
            return engine is not None and engine.is_async
        if isinstance(value, ast.Name):
            # what the name holds on this path (an isinstance() test narrows it)
            kind_at = getattr(scope, "kind_at", None)
            binding = kind_at(value) if kind_at is not None else scope.lookup_kind(value.id)
            if binding is not None:
                return binding.kind.name == "ASYNC_ENGINE"
            for param in scope.params:  # `def f(engine: AsyncEngine)`
                if param.arg == value.id and param.annotation is not None:
                    return "AsyncEngine" in ast.unparse(param.annotation)
        return False

    def _is_shared_connection(self, call: ast.Call, scope: Scope) -> bool:
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "get" and call.args):
            return False
        key = call.args[0]
        return (
            isinstance(key, ast.Constant)
            and key.value == "connection"
            and qualified_name(func.value, scope) == N.CONFIG + ".attributes"
        )

    def _holds_steps(self, node: ast.AST, scope: Scope, stack: tuple) -> bool:
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Call):
                continue
            if self._is_step(sub, scope, stack):
                return True
        return False

    def _is_step(self, call: ast.Call, scope: Scope, stack: tuple) -> bool:
        fact: CallFact | None = self.calls.get(id(call))
        qname = fact.qname if fact is not None else None
        if id(call) in self.engines or qname in N.RUNNERS or qname in N.LOG_SETUP:
            return True
        if qname in ("alembic.context.configure", "alembic.context.run_migrations"):
            return True
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _STEP_METHODS:
            return True
        if self._is_shared_connection(call, scope):
            return True
        if isinstance(func, ast.Name):
            fn = scope.lookup_function(func.id)
            return fn is not None and self._fn_holds_steps(fn, stack)
        return False

    def _only_logging(self, stmt: ast.If) -> bool:
        calls = [c for c in ast.walk(stmt) if isinstance(c, ast.Call)]
        steps = [c for c in calls if id(c) in self.calls and self.calls[id(c)].qname in N.LOG_SETUP]
        return (
            bool(steps)
            and not stmt.orelse
            and all(not self._is_step(c, self.facts.module, ()) or c in steps for c in calls)
        )

    def _fn_holds_steps(self, fn: Scope, stack: tuple) -> bool:
        key = id(fn)
        if key not in self._interesting:
            self._interesting[key] = False  # a recursive helper holds none through itself
            body = getattr(fn.node, "body", [])
            self._interesting[key] = any(self._holds_steps(stmt, fn, (*stack, fn)) for stmt in body)
        return self._interesting[key]
