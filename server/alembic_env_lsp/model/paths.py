"""Which top-level functions of env.py run online, offline, at all, and inside a
transaction their caller opened: read from the calls the builder recorded."""

from __future__ import annotations

import ast

from .facts import CallFact, Dispatch, Scope, WithFact
from .qualify import qualified_name


class Paths:
    def __init__(
        self, module: Scope, scopes: list[Scope], calls: list[CallFact], dispatch: Dispatch | None
    ):
        self.module = module
        self.scopes = scopes
        self.calls = calls
        self.dispatch = dispatch
        self._targets: dict[int, set[str]] = {}  # _call_targets, by id() of the CallFact

    def online_offline_executed(self) -> tuple[set[str], set[str], set[str]]:
        """Which top-level functions run in online mode, offline mode, or at all."""
        module = self.module
        edges: dict[str, set[str]] = {}
        for name, fn in module.functions.items():
            edges[name] = self._callees(fn)

        def closure(roots: set[str]) -> set[str]:
            seen: set[str] = set()
            todo = list(roots)
            while todo:
                name = todo.pop()
                if name in seen or name not in module.functions:
                    continue
                seen.add(name)
                todo.extend(edges.get(name, ()))
            return seen

        online_roots: set[str] = set()
        offline_roots: set[str] = set()
        all_roots: set[str] = set()
        dispatch = self.dispatch
        for call in module.calls:
            targets = self._call_targets(call)
            all_roots |= targets
            branch = None
            if dispatch is not None:
                for node, in_body in call.branches:
                    if node is dispatch.node:
                        branch = "offline" if in_body == dispatch.offline_in_body else "online"
            if branch == "offline":
                offline_roots |= targets
            elif branch == "online":
                online_roots |= targets
            else:
                online_roots |= targets
                if dispatch is not None:
                    offline_roots |= targets
        if dispatch is not None and not dispatch_in_module(dispatch, module):
            # The offline check lives inside a helper: everything reachable may run either way.
            executed = closure(all_roots)
            return executed, executed, executed
        return closure(online_roots), closure(offline_roots), closure(all_roots)

    def in_caller_transaction(self) -> set[str]:
        """Top-level functions only ever run inside a transaction their caller opened:
        `with engine.begin() as c: c.run_sync(fn)` / `fn(c)`, or called from such a function."""
        sites: dict[str, list[CallFact]] = {}
        for call in self.calls:
            for name in self._call_targets(call):
                sites.setdefault(name, []).append(call)
        inside: set[str] = set()
        changed = True
        while changed:
            changed = False
            for name, calls in sites.items():
                if name not in inside and all(
                    any(self._opens_transaction(w) for w in call.withs)
                    or _top_name(call.scope) in inside
                    for call in calls
                ):
                    inside.add(name)
                    changed = True
        return inside

    def _opens_transaction(self, with_: WithFact) -> bool:
        expr = with_.item.context_expr
        if not isinstance(expr, ast.Call):
            return False
        if qualified_name(expr.func, with_.scope) == "alembic.context.begin_transaction":
            return True
        return isinstance(expr.func, ast.Attribute) and expr.func.attr in (
            "begin",
            "begin_twophase",
        )

    def _callees(self, fn: Scope) -> set[str]:
        names: set[str] = set()
        for scope in self.scopes:
            if scope_within(scope, fn):
                for call in scope.calls:
                    names |= self._call_targets(call)
        return names

    def _call_targets(self, call: CallFact) -> set[str]:
        """Local functions a call runs: f(), run_sync(f), asyncio.run(f()), anyio.run(f)."""
        cached = self._targets.get(id(call))
        if cached is not None:
            return cached
        targets: set[str] = set()
        node = call.node
        if isinstance(node.func, ast.Name) and node.func.id in self.module.functions:
            targets.add(node.func.id)
        for arg in list(node.args) + [kw.value for kw in node.keywords]:
            if isinstance(arg, ast.Name) and arg.id in self.module.functions:
                targets.add(arg.id)
        self._targets[id(call)] = targets
        return targets


def dispatch_in_module(dispatch: Dispatch, module: Scope) -> bool:
    return any(dispatch.node is stmt for stmt in module.node.body)  # type: ignore[union-attr]


def _top_name(scope: Scope) -> str | None:
    while scope.parent is not None and not scope.parent.is_module:
        scope = scope.parent
    return None if scope.is_module else scope.name


def scope_within(scope: Scope, fn: Scope) -> bool:
    """True when `scope` is `fn` or nested in it."""
    while scope is not None:
        if scope is fn:
            return True
        scope = scope.parent  # type: ignore[assignment]
    return False
