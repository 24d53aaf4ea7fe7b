"""One walk over env.py's syntax tree → EnvFacts.

The tree comes from Python's own parser (`ast`): it runs no code, gives exact positions,
and costs ~0.3 ms for a 90-line env.py where a libcst parse plus positions costs ~7 ms.
libcst is kept for the rewrites that must preserve comments and layout (fixes/).

This module is the walk: statements in order, the per-path state of each scope (flow.py),
function bodies deferred to after the module body. What each call or value *is* (engine,
connection, URL, config, dispatch) is classify.py's; where a URL comes from is urls.py's;
which functions run online/offline is paths.py's.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import cast

from ..text import SourceText
from . import names as N
from .classify import Classifier
from .facts import (
    Assignment,
    Binding,
    CallFact,
    Case,
    Condition,
    ConfigureFact,
    Dispatch,
    EngineFact,
    EnvFacts,
    ImportFact,
    Iteration,
    Kind,
    Raised,
    Reach,
    ReturnPath,
    Scope,
    WithFact,
)
from .flow import (
    PathConditions,
    State,
    exits,
    extend_path,
    join,
    merge_paths,
    narrow,
    none_of,
    terminates,
)
from .paths import Paths
from .qualify import annotation_name, qualified_name, subscript_name
from .urls import UrlResolver


@dataclass(frozen=True)
class _Ctx:
    scope: Scope
    stmt: ast.stmt | None
    withs: tuple[WithFact, ...]
    branches: tuple[tuple[ast.If, bool], ...]
    in_try: tuple[ast.Try, ...]


def build_facts(tree: ast.Module, source: SourceText, project=None) -> EnvFacts:
    return _Builder(tree, source, project).build()


class _Builder(Classifier):
    def __init__(self, tree: ast.Module, source: SourceText, project):
        self.tree = tree
        self.source = source
        self.project = project
        # id(ast.Name) -> the bindings reaching that read; shared by every scope of the file
        self.reaching: dict[int, tuple[Reach, ...]] = {}
        self.module = Scope("<module>", tree, False, None, reaching=self.reaching)
        # The reaching bindings at the point the walk has got to, per scope being walked.
        self._state: dict[Scope, State] = {self.module: {}}
        # The conditions every run reaching the walk's current point has met, per scope (None:
        # no run gets there, after a return or raise); a return records them (ReturnPath).
        self._path: dict[Scope, PathConditions] = {self.module: ()}
        # Function bodies run when called, after the module body has bound its names: they
        # are walked after it, so a function sees module names bound below it, as at run time.
        self._deferred: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, Scope]] = []
        self.scopes = [self.module]
        self.calls: list[CallFact] = []
        self.withs: list[WithFact] = []
        self.engines: list[EngineFact] = []
        self.references: set[str] = set()
        self.config_names: set[str] = set()
        self.dispatch: Dispatch | None = None
        self.imports_context = False
        self.imports: list[ImportFact] = []
        self.attribute_keys: set[str] = set()
        self.loaded_names: set[str] = set()
        self.urls = UrlResolver(self)
        self._engine_by_node: dict[int, EngineFact] = {}

    # ---- statements -------------------------------------------------------------------

    def build(self) -> EnvFacts:
        ctx = _Ctx(self.module, None, (), (), ())
        self._body(self.tree.body, ctx)
        while self._deferred:
            node, fn = self._deferred.pop(0)
            self._path[fn] = ()
            self._body(node.body, _Ctx(fn, None, (), (), ()))
            end = self._path[fn]
            if end is not None and fn.returns:
                fn.return_paths.append(ReturnPath(None, node, end))  # falls off its end: None
        # URLs once every name has its bindings (and module names bound below a function).
        for engine in self.engines:
            engine.url, engine.url_node = self.urls.engine_url(engine.wrapped or engine.call)
        # Deferred bodies were walked out of order: rules read calls in source order.
        self.calls.sort(key=_position)
        self.withs.sort(key=lambda w: _position_of(w.node))
        self.engines.sort(key=lambda e: _position(e.call))
        self.scopes.sort(key=lambda s: (0, 0) if s.is_module else _position_of(s.node))
        for scope in self.scopes:
            scope.calls.sort(key=_position)
        configures = [
            ConfigureFact(
                c, "online" if c.keyword("connection") is not None or c.node.args else "offline"
            )
            for c in self.calls
            if c.qname == "alembic.context.configure"
        ]
        for configure in configures:
            url = configure.keyword("url")
            if url is not None:
                configure.url = self.urls.evaluate(
                    url, configure.call.scope, configure.call.node.lineno
                )
        paths = Paths(self.module, self.scopes, self.calls, self.dispatch)
        online, offline, executed = paths.online_offline_executed()
        metadata = self.module.assignments.get("target_metadata")
        return EnvFacts(
            tree=self.tree,
            source=self.source,
            module=self.module,
            scopes=self.scopes,
            calls=self.calls,
            withs=self.withs,
            engines=self.engines,
            configures=configures,
            dispatch=self.dispatch,
            references=self.references,
            config_names=self.config_names,
            online_functions=online,
            offline_functions=offline,
            executed_functions=executed,
            in_caller_transaction=paths.in_caller_transaction(),
            target_metadata=metadata[-1] if metadata else None,
            imports_alembic_context=self.imports_context,
            imports=self.imports,
            attribute_keys=self.attribute_keys,
            loaded_names=self.loaded_names,
            evaluate_url=self.urls.evaluate,
        )

    def _body(self, stmts: list[ast.stmt], ctx: _Ctx) -> None:
        for stmt in stmts:
            self._stmt(stmt, _Ctx(ctx.scope, stmt, ctx.withs, ctx.branches, ctx.in_try))

    def _stmt(self, stmt: ast.stmt, ctx: _Ctx) -> None:
        scope = ctx.scope
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            self._import(stmt, scope)
            for alias in stmt.names:
                if alias.name != "*":
                    self._bind_unknown(scope, alias.asname or alias.name.split(".")[0], stmt)
            self.imports.append(
                ImportFact(
                    stmt,
                    (stmt.module or "") if isinstance(stmt, ast.ImportFrom) else None,
                    tuple((a.name, a.asname) for a in stmt.names),
                    stmt.level if isinstance(stmt, ast.ImportFrom) else 0,
                    scope,
                    any(
                        in_body and _is_type_checking(branch.test)
                        for branch, in_body in ctx.branches
                    ),
                )
            )
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in stmt.decorator_list:
                self._expr(deco, ctx, stmt)
            self._function(stmt, ctx)
            self._bind_unknown(scope, stmt.name, stmt)
        elif isinstance(stmt, ast.ClassDef):
            for node in stmt.bases + stmt.decorator_list:
                self._expr(node, ctx, stmt)
            self._body(stmt.body, ctx)
            self._bind_unknown(scope, stmt.name, stmt)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            withs = ctx.withs
            for item in stmt.items:
                self._expr(item.context_expr, ctx, stmt)
                fact = WithFact(stmt, isinstance(stmt, ast.AsyncWith), item, scope)
                self.withs.append(fact)
                withs = withs + (fact,)
                if isinstance(item.optional_vars, ast.Name):
                    self._bind_with_target(item, fact, scope)
                elif item.optional_vars is not None:
                    self._bind_targets(item.optional_vars, item, scope)
            self._body(stmt.body, _Ctx(scope, stmt, withs, ctx.branches, ctx.in_try))
        elif isinstance(stmt, ast.If):
            self._expr(stmt.test, ctx, stmt)
            self._note_dispatch(stmt, scope)
            pre = self._state[scope]
            pre_path = self._path[scope]
            sides: list[tuple[State, Condition | None]] = []
            path_ends: list[PathConditions] = []
            for holds, body in ((True, stmt.body), (False, stmt.orelse)):
                self._state[scope] = dict(narrow(pre, stmt.test, holds))
                self._path[scope] = extend_path(pre_path, Condition(stmt.test, holds))
                branches = ctx.branches + ((stmt, holds),)
                self._body(body, _Ctx(scope, stmt, ctx.withs, branches, ctx.in_try))
                path_ends.append(self._path[scope])
                if not terminates(body):
                    sides.append((self._state[scope], Condition(stmt.test, holds)))
            self._state[scope] = join(pre, sides)
            self._path[scope] = merge_paths(path_ends)
        elif isinstance(stmt, (ast.Try, *_TRY_STAR)):
            pre = self._state[scope]
            pre_path = self._path[scope]
            self._state[scope] = dict(pre)
            self._path[scope] = extend_path(pre_path, Raised(stmt, False))
            inner = _Ctx(scope, stmt, ctx.withs, ctx.branches, ctx.in_try + (cast(ast.Try, stmt),))
            self._body(stmt.body, inner)  # type: ignore[attr-defined]
            after_body = self._state[scope]
            path_ends = []
            body_path = self._path[scope]
            # A handler may start anywhere in the body: from either state.
            failed = join(pre, [(pre, None), (after_body, None)])
            ends: list[tuple[State, Condition | None]] = []
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                self._state[scope] = dict(failed)
                self._path[scope] = extend_path(pre_path, Raised(stmt, True, handler))
                if handler.type is not None:
                    self._expr(handler.type, ctx, handler)
                if handler.name:
                    self._bind_unknown(scope, handler.name, handler)
                self._body(handler.body, ctx)
                path_ends.append(self._path[scope])
                if not terminates(handler.body):
                    ends.append((self._state[scope], None))
            self._state[scope] = dict(after_body)
            self._path[scope] = body_path
            self._body(stmt.orelse, ctx)  # type: ignore[attr-defined]
            path_ends.append(self._path[scope])
            if not terminates(stmt.body):  # type: ignore[attr-defined]
                ends.append((self._state[scope], None))
            self._state[scope] = join(pre, ends) if ends else dict(failed)
            after = merge_paths(path_ends)
            # `finally` runs on every way out, returns included
            self._path[scope] = pre_path if after is None else after
            self._body(stmt.finalbody, ctx)  # type: ignore[attr-defined]
            if after is None:
                self._path[scope] = None
        elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            pre = self._state[scope]
            pre_path = self._path[scope]
            self._state[scope] = dict(pre)
            if isinstance(stmt, ast.While):
                self._expr(stmt.test, ctx, stmt)
                self._path[scope] = extend_path(pre_path, Condition(stmt.test, True))
            else:
                self._expr(stmt.iter, ctx, stmt)
                self._bind_targets(stmt.target, stmt, scope)
                self._path[scope] = extend_path(pre_path, Iteration(stmt, True))
            self._body(stmt.body, ctx)  # once: one iteration stands for all
            # The body may run zero or more times.
            self._state[scope] = join(pre, [(pre, None), (self._state[scope], None)])
            self._path[scope] = pre_path
            self._body(stmt.orelse, ctx)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            value = stmt.value
            if value is not None:
                self._expr(value, ctx, stmt)
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                if isinstance(stmt, ast.AugAssign):
                    self._expr(target, ctx, stmt)  # reads it first
                    self._bind_targets(target, stmt, scope)
                    continue
                self._assign(target, value, stmt, scope)
                self._expr(target, ctx, stmt)
        elif isinstance(stmt, ast.Return):
            if stmt.value is not None:
                scope.returns.append(stmt.value)
                self._expr(stmt.value, ctx, stmt)
            path = self._path.get(scope)
            if path is not None and not scope.is_module:
                scope.return_paths.append(ReturnPath(stmt.value, stmt, path))
            self._path[scope] = None
        elif isinstance(stmt, (ast.Raise, ast.Continue, ast.Break)) or exits(stmt):
            self._generic(stmt, ctx)
            self._path[scope] = None
        elif isinstance(stmt, _MATCH):
            self._expr(stmt.subject, ctx, stmt)  # type: ignore[attr-defined]
            pre = self._state[scope]
            pre_path = self._path[scope]
            ends = [(pre, None)]
            path_ends = [pre_path]  # no case matched
            for case in stmt.cases:  # type: ignore[attr-defined]
                self._state[scope] = dict(pre)
                taken = Case(case.pattern, True, stmt.subject)  # type: ignore[attr-defined]
                self._path[scope] = extend_path(pre_path, taken)
                self._body(case.body, ctx)
                ends.append((self._state[scope], None))
                path_ends.append(self._path[scope])
            self._state[scope] = join(pre, ends)
            self._path[scope] = merge_paths(path_ends)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    self._state[scope].pop(target.id, None)
                else:
                    self._expr(target, ctx, stmt)
        elif isinstance(stmt, ast.Assert):
            self._generic(stmt, ctx)
            # past it only when the test held (python -O drops asserts: env.py is not run so)
            self._state[scope] = dict(narrow(self._state[scope], stmt.test, True))
        else:
            self._generic(stmt, ctx)

    def _generic(self, stmt: ast.stmt, ctx: _Ctx) -> None:
        """A statement with no flow of its own: its expressions (and nested statements)."""
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.expr):
                self._expr(child, ctx, stmt)
            elif isinstance(child, ast.stmt):
                self._stmt(child, ctx)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: _Ctx) -> None:
        args = node.args
        fn = Scope(
            node.name,
            node,
            isinstance(node, ast.AsyncFunctionDef),
            ctx.scope,
            params=list(args.posonlyargs) + list(args.args),
            has_varargs=args.vararg is not None,
            reaching=self.reaching,
        )
        ctx.scope.functions[node.name] = fn
        self.scopes.append(fn)
        state: State = {}
        for param in fn.params + list(args.kwonlyargs) + [args.vararg, args.kwarg]:
            if param is None:
                continue
            label = annotation_name(param.annotation)
            binding = None
            if label == "AsyncConnection":
                binding = Binding(Kind.ASYNC_CONNECTION, param)
            elif label == "Connection":
                binding = Binding(Kind.CONNECTION, param)
            if binding is not None:
                fn.kinds[param.arg] = binding
            state[param.arg] = (Reach(binding, None, param),)
        self._state[fn] = state
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self._expr(default, ctx, node)
        self._deferred.append((node, fn))

    def _assign(
        self, target: ast.expr, value: ast.expr | None, stmt: ast.stmt, scope: Scope
    ) -> None:
        if value is None:
            return
        if (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and isinstance(target.slice, ast.Constant)
            and isinstance(target.slice.value, str)
        ):
            # section["sqlalchemy.url"] = ...: remembered under a synthetic name for the URL resolver
            key = subscript_name(target.value.id, target.slice.value)
            scope.assignments.setdefault(key, []).append(Assignment(key, value, stmt))
            return
        if not isinstance(target, ast.Name):
            self._bind_targets(target, stmt, scope)
            return
        name = target.id
        assignment = Assignment(name, value, stmt)
        scope.assignments.setdefault(name, []).append(assignment)
        # What the value holds is read before the name is rebound (`url = url.set(...)`).
        binding = self._binding_of(name, value, scope)
        scope.kinds.pop(name, None)
        scope.aliases.pop(name, None)
        if binding is not None:
            scope.kinds[name] = binding
            if binding.kind is Kind.CONFIG:
                scope.aliases[name] = N.CONFIG
                self.config_names.add(name)
        none = False if self._never_none(value, scope) else none_of(value, binding)
        self._state[scope][name] = (Reach(binding, assignment, value, (), none, scope),)

    def _bind_unknown(self, scope: Scope, name: str, node: ast.AST) -> None:
        scope.kinds.pop(name, None)
        self._state[scope][name] = (Reach(None, None, node, (), False),)

    def _bind_targets(self, target: ast.expr, node: ast.AST, scope: Scope) -> None:
        """Names bound by unpacking, `for`, `+=`, `with ... as (a, b)`: of unknown kind."""
        for child in ast.walk(target):
            if isinstance(child, ast.Name):
                scope.kinds.pop(child.id, None)
                self._state[scope][child.id] = (Reach(None, None, node),)

    def _bind_with_target(self, item: ast.withitem, fact: WithFact, scope: Scope) -> None:
        name = item.optional_vars.id  # type: ignore[union-attr]
        expr = item.context_expr
        binding = self._with_binding(expr, fact, scope)
        scope.kinds.pop(name, None)
        if binding is not None:
            scope.kinds[name] = binding
        self._state[scope][name] = (Reach(binding, None, item, (), none_of(None, binding)),)

    # ---- expressions ------------------------------------------------------------------

    def _expr(self, node: ast.AST, ctx: _Ctx, parent: ast.AST) -> None:
        # An explicit stack: deeply nested expressions must not hit Python's recursion limit.
        stack: list[tuple[ast.AST, ast.AST, _Ctx]] = [(node, parent, ctx)]
        while stack:
            node, parent, ctx = stack.pop()
            if isinstance(node, ast.Call):
                self._call(node, parent, ctx)
                children = [node.func, *node.args, *(kw.value for kw in node.keywords)]
                stack.extend((child, node, ctx) for child in reversed(children))
            elif isinstance(node, ast.Lambda):
                fn = Scope(
                    "<lambda>",
                    node,
                    False,
                    ctx.scope,
                    params=list(node.args.posonlyargs) + list(node.args.args),
                    has_varargs=node.args.vararg is not None,
                    reaching=self.reaching,
                )
                self.scopes.append(fn)
                params = fn.params + list(node.args.kwonlyargs)
                self._state[fn] = {p.arg: (Reach(None, None, p),) for p in params}
                stack.append((node.body, node, _Ctx(fn, ctx.stmt, (), (), ())))
            elif isinstance(node, (ast.Attribute, ast.Name)):
                if isinstance(node, ast.Attribute) or isinstance(node.ctx, ast.Load):
                    q = qualified_name(node, ctx.scope)
                    if q is not None:
                        self.references.add(q)
                if isinstance(node, ast.Attribute):
                    stack.append((node.value, node, ctx))
                elif isinstance(node.ctx, ast.Load):
                    self.loaded_names.add(node.id)
                    reaches = self._reaches(node.id, ctx.scope)
                    if reaches is not None:
                        self.reaching[id(node)] = reaches
            elif isinstance(node, ast.NamedExpr):
                # the value is read before the name is bound
                self._expr(node.value, ctx, node)
                if isinstance(node.target, ast.Name):
                    value = node.value
                    binding = self._binding_of(node.target.id, value, ctx.scope)
                    reach = Reach(binding, None, value, (), none_of(value, binding))
                    self._state[ctx.scope][node.target.id] = (reach,)
            elif isinstance(node, ast.Subscript):
                if (
                    isinstance(node.slice, ast.Constant)
                    and isinstance(node.slice.value, str)
                    and qualified_name(node.value, ctx.scope) == N.CONFIG + ".attributes"
                ):
                    self.attribute_keys.add(node.slice.value)
                stack.extend((child, node, ctx) for child in ast.iter_child_nodes(node))
            else:
                stack.extend((child, node, ctx) for child in ast.iter_child_nodes(node))

    def _call(self, node: ast.Call, parent: ast.AST, ctx: _Ctx) -> None:
        func = node.func
        qname = qualified_name(func, ctx.scope)
        receiver = attr = None
        if isinstance(func, ast.Attribute):
            attr = func.attr
            if isinstance(func.value, ast.Name):
                receiver = func.value.id
        elif isinstance(func, ast.Name) and qname is None:
            attr = None
        stmt = ctx.stmt if ctx.stmt is not None else cast(ast.stmt, parent)
        call = CallFact(
            node,
            qname,
            receiver,
            attr,
            ctx.scope,
            stmt,
            parent,
            ctx.withs,
            ctx.branches,
            ctx.in_try,
        )
        self.calls.append(call)
        if qname == N.CONFIG + ".attributes.get" and node.args:
            key = node.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self.attribute_keys.add(key.value)
        ctx.scope.calls.append(call)
        if qname in N.SYNC_FACTORIES or qname in N.ASYNC_FACTORIES or qname in N.ASYNC_WRAPPERS:
            self._engine(call, parent)


_TRY_STAR: tuple[type, ...] = (ast.TryStar,) if hasattr(ast, "TryStar") else ()
_MATCH: tuple[type, ...] = (ast.Match,) if hasattr(ast, "Match") else ()


def _position_of(node: ast.AST | None) -> tuple[int, int]:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _position(call: CallFact) -> tuple[int, int]:
    return _position_of(call.node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )
