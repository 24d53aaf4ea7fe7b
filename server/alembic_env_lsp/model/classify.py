"""What a call or a value is, as the builder meets it: engines (sync and async factories, the
`AsyncEngine(...)` wrapper), connections (`engine.connect()`, `with ... as conn`), URLs,
config sections, import aliases and the offline/online dispatch.

`Classifier` is mixed into the builder (build.py), which walks the statements and carries the
per-path state this reads (`_state`); the URL evaluator (urls.py) asks it what an expression
holds.
"""

from __future__ import annotations

import ast

from . import names as N
from .facts import Binding, CallFact, Dispatch, EngineFact, Kind, Reach, Scope, WithFact
from .flow import State
from .qualify import qualified_name
from .url_values import unknown


class Classifier:
    """Kinds of values and calls; the state it reads and the facts it adds are the builder's."""

    _state: dict[Scope, State]
    _engine_by_node: dict[int, EngineFact]
    engines: list[EngineFact]
    dispatch: Dispatch | None
    imports_context: bool

    def _import(self, stmt: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    scope.aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    scope.aliases[top] = top
                if alias.name == "alembic" or alias.name.startswith(N.CONTEXT):
                    self.imports_context = True  # `import alembic`: alembic.context.configure()
            return
        if stmt.level or not stmt.module:
            return  # relative imports point into the user's package: nothing we know
        for alias in stmt.names:
            if alias.name == "*":
                continue
            full = f"{stmt.module}.{alias.name}"
            scope.aliases[alias.asname or alias.name] = full
            if full == N.CONTEXT:
                self.imports_context = True

    def _binding_of(self, name: str, value: ast.expr, scope: Scope) -> Binding | None:
        if qualified_name(value, scope) == N.CONFIG:
            return Binding(Kind.CONFIG, value)
        inner = value.value if isinstance(value, ast.Await) else value
        if isinstance(inner, ast.Call):
            engine = self._engine_by_node.get(id(inner))
            if engine is not None:
                engine.var = name
                kind = Kind.ASYNC_ENGINE if engine.is_async else Kind.ENGINE
                return Binding(kind, inner, engine)
            call_q = qualified_name(inner.func, scope)
            if call_q in N.URL_BUILDERS or (
                isinstance(inner.func, ast.Attribute)
                and inner.func.attr in ("set", "create")
                and self._is_url(inner.func.value, scope)
            ):
                return Binding(Kind.URL, inner)
            if call_q and call_q.startswith(N.CONFIG + ".get_section"):
                return Binding(Kind.SECTION, inner)
            if isinstance(inner.func, ast.Attribute) and inner.func.attr == "connect":
                base = self._kind_of_expr(inner.func.value, scope)
                if base is not None and base.kind in (Kind.ENGINE, Kind.ASYNC_ENGINE):
                    is_async = base.kind is Kind.ASYNC_ENGINE or isinstance(value, ast.Await)
                    kind = Kind.ASYNC_CONNECTION if is_async else Kind.CONNECTION
                    return Binding(kind, inner, base.engine)
        elif isinstance(inner, ast.Attribute) and inner.attr == "url":
            base = self._kind_of_expr(inner.value, scope)
            if base is not None and base.kind in (Kind.ENGINE, Kind.ASYNC_ENGINE):
                return Binding(Kind.URL, inner, base.engine)
        elif isinstance(inner, ast.Name):
            return self._kind_of_expr(inner, scope)
        return None

    def _never_none(self, value: ast.expr, scope: Scope) -> bool:
        """`os.environ["X"]` (KeyError when unset) and `os.getenv("X", "default")`."""
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(value, ast.Subscript):
            return qualified_name(value.value, scope) == "os.environ"
        if isinstance(value, ast.Call) and qualified_name(value.func, scope) in N.ENV_GETTERS:
            default = value.args[1] if len(value.args) > 1 else None
            for kw in value.keywords:
                if kw.arg == "default":
                    default = kw.value
            return isinstance(default, ast.Constant) and isinstance(default.value, str)
        return False

    def _with_binding(self, expr: ast.expr, fact: WithFact, scope: Scope) -> Binding | None:
        if (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr
            in (
                "connect",
                "begin",
            )
        ):
            base = self._kind_of_expr(expr.func.value, scope)
            if fact.is_async:
                return Binding(Kind.ASYNC_CONNECTION, expr, base.engine if base else None)
            if base is not None and base.kind in (Kind.ENGINE, Kind.ASYNC_ENGINE):
                kind = Kind.ASYNC_CONNECTION if base.kind is Kind.ASYNC_ENGINE else Kind.CONNECTION
                return Binding(kind, expr, base.engine)
        return None

    def _reaches(self, name: str, scope: Scope) -> tuple[Reach, ...] | None:
        """The bindings of `name` that reach the walk's current point (None: bound nowhere)."""
        current: Scope | None = scope
        while current is not None:
            state = self._state.get(current)
            if state is not None and name in state:
                return state[name]
            current = current.parent
        return None

    def _kind_of_expr(self, expr: ast.expr, scope: Scope) -> Binding | None:
        if isinstance(expr, ast.Name):
            reaches = self._reaches(expr.id, scope)
            if reaches is None:
                return scope.lookup_kind(expr.id)
            for reach in reversed(reaches):
                if reach.binding is not None:
                    return reach.binding
            return None
        if isinstance(expr, ast.Call):
            engine = self._engine_by_node.get(id(expr))
            if engine is not None:
                return Binding(Kind.ASYNC_ENGINE if engine.is_async else Kind.ENGINE, expr, engine)
        return None

    def _is_url(self, expr: ast.expr, scope: Scope) -> bool:
        binding = self._kind_of_expr(expr, scope)
        if binding is not None and binding.kind is Kind.URL:
            return True
        if isinstance(expr, ast.Call):
            q = qualified_name(expr.func, scope)
            return q in N.URL_BUILDERS
        return False

    def _note_dispatch(self, stmt: ast.If, scope: Scope) -> None:
        test, negated = stmt.test, False
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, negated = test.operand, True
        if (
            isinstance(test, ast.Call)
            and qualified_name(test.func, scope) == "alembic.context.is_offline_mode"
        ):
            if self.dispatch is None or (scope.is_module and not self._dispatch_at_module):
                self.dispatch = Dispatch(stmt, offline_in_body=not negated)
                self._dispatch_at_module = scope.is_module

    _dispatch_at_module = False

    def _engine(self, call: CallFact, parent: ast.AST) -> None:
        qname = call.qname or ""
        if qname in N.ASYNC_WRAPPERS:
            inner = call.node.args[0] if call.node.args else None
            # The inner sync factory call is visited after this one; resolve it here directly.
            if isinstance(inner, ast.Call):
                inner_q = qualified_name(inner.func, call.scope)
                if inner_q in N.SYNC_FACTORIES:
                    inner_call = CallFact(
                        inner,
                        inner_q,
                        None,
                        None,
                        call.scope,
                        call.stmt,
                        call.node,
                        call.withs,
                        call.branches,
                        call.in_try,
                    )
                    fact = EngineFact(
                        call,
                        True,
                        inner_call,
                        N.short(inner_q),
                        NOT_YET,
                        None,
                        None,
                        inner_call.keyword("poolclass"),
                    )
                    self.engines.append(fact)
                    self._engine_by_node[id(call.node)] = fact
                    self._engine_by_node[id(inner)] = fact
            return
        if id(call.node) in self._engine_by_node:
            return  # the sync call inside AsyncEngine(...), already recorded as the wrapper
        fact = EngineFact(
            call,
            qname in N.ASYNC_FACTORIES,
            None,
            N.short(qname),
            NOT_YET,
            None,
            None,
            call.keyword("poolclass"),
        )
        self.engines.append(fact)
        self._engine_by_node[id(call.node)] = fact


NOT_YET = unknown("not evaluated yet")  # engine URLs are evaluated after the walk
