"""Where a conversion's refusal points: the line that blocks it, and what is on it.

A refusal the user can act on names a line ("line 98: the connection comes from
DBConnection(...), imported from app.db, ..."). The conversions find the blocking node in the
module they were given; this module turns it into a line number and describes where the
connection handed to `context.configure()` comes from.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .async_scope import _ctx_call, _method, _receiver
from .rewrite_common import Refusal
from .rewrite_names import ASYNC_FACTORIES, ImportMap, dotted, engine_kind
from .rewrite_nodes import find_all, find_instances, find_kwarg


class Lines:
    """Line numbers of the nodes of one module (computed once, on the first question)."""

    def __init__(self, module: cst.Module):
        self.module = module
        self._positions: dict[cst.CSTNode, int] | None = None

    def of(self, node: cst.CSTNode) -> int | None:
        if self._positions is None:
            # unsafe_skip_copy: the positions must be those of the caller's own nodes
            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            found = wrapper.resolve(PositionProvider)
            self._positions = {n: p.start.line for n, p in found.items()}
        return self._positions.get(node)

    def refusal(self, node: cst.CSTNode | None, message: str) -> Refusal:
        line = self.of(node) if node is not None else None
        return Refusal(f"line {line}: {message}" if line else message)

    def code(self, node: cst.CSTNode, limit: int = 60) -> str:
        text = " ".join(self.module.code_for_node(node).split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Origin:
    node: cst.CSTNode  # the statement where the connection is bound (or the configure call)
    text: str  # "the connection comes from `...`" and the like, without a final period
    unmanaged: str | None = None  # `engine.connect()` of `conn = engine.connect()` (no `with`)
    in_loop: bool = False  # bound inside a `for` loop (one connection per database)


def connection_origin(module: cst.Module, imports: ImportMap, lines: Lines) -> Origin | None:
    """Where the connection given to `context.configure(connection=...)` comes from."""
    for call in find_instances(module, cst.Call):
        assert isinstance(call, cst.Call)
        if _ctx_call(call, imports) != "configure":
            continue
        i = find_kwarg(call, "connection")
        if i is None:
            continue
        value = call.args[i].value
        name = lines.code(value, 200)
        bound = _binding(module, name, lines.of(call) or 0, lines)
        if bound is None:
            return Origin(call, f"the connection comes from `{lines.code(value)}`")
        stmt, expr = bound
        if expr is None:
            return Origin(stmt, f"the connection '{name}' is a parameter of this function")
        if isinstance(stmt, cst.With):
            return Origin(stmt, described(module, imports, expr, lines))
        if _method(expr) in ("connect", "begin"):
            return Origin(
                stmt,
                f"the connection is opened by `{lines.code(stmt, 80)}` outside a 'with' block",
                unmanaged=lines.code(expr),
                in_loop=_in_loop(module, stmt),
            )
        return Origin(stmt, described(module, imports, expr, lines))
    return None


def described(
    module: cst.Module, imports: ImportMap, expr: cst.BaseExpression, lines: Lines
) -> str:
    """ "the connection comes from `engine.connect()` ('engine' is `get_engine()` at line 12, a
    helper imported from app.db)": an expression that gives a connection, and its engine."""
    text = f"the connection comes from `{lines.code(expr)}`"
    call: cst.BaseExpression = expr
    if _method(expr) in ("connect", "begin"):
        receiver = _receiver(expr)
        bound = _binding(module, receiver, lines.of(expr) or 0, lines) if receiver else None
        if bound is None or bound[1] is None:
            return text
        call = bound[1]
        qualified = (
            imports.within(module).qualname(call.func) if isinstance(call, cst.Call) else None
        )
        if qualified in ASYNC_FACTORIES:
            return (
                f"{text}, and '{receiver}' is built at line {lines.of(bound[0])}, outside the async def"
                " that connects (the conversion needs both in one async def)"
            )
        text += f" ('{receiver}' is `{lines.code(call, 40)}` at line {lines.of(bound[0])})"
    owner = _project_module(imports.within(module), call)
    return f"{text}, a helper imported from {owner}" if owner else text


def _project_module(imports: ImportMap, call: cst.BaseExpression) -> str | None:
    """The project module a called function is imported from (None: a library's, or local)."""
    if not isinstance(call, cst.Call):
        return None
    qualified = imports.qualname(call.func)
    if not qualified or "." not in qualified or qualified == dotted(call.func):
        return None
    owner = qualified.rsplit(".", 1)[0]
    root = owner.split(".")[0]
    if root in ("sqlalchemy", "alembic") or root in sys.stdlib_module_names:
        return None
    return owner


def _binding(
    module: cst.Module, name: str, before: int, lines: Lines
) -> tuple[cst.CSTNode, cst.BaseExpression | None] | None:
    """The last statement before line `before` that binds `name` (a name, `rec["connection"]`):
    (statement, value), value None for a function parameter."""
    found: list[tuple[int, cst.CSTNode, cst.BaseExpression | None]] = []
    for with_ in find_instances(module, cst.With):
        assert isinstance(with_, cst.With)
        for item in with_.items:
            if item.asname is not None and lines.code(item.asname.name, 200) == name:
                found.append((lines.of(with_) or 0, with_, item.item))
    for assign in find_instances(module, cst.Assign):
        assert isinstance(assign, cst.Assign)
        if any(lines.code(t.target, 200) == name for t in assign.targets):
            found.append((lines.of(assign) or 0, assign, assign.value))
    for func in find_instances(module, cst.FunctionDef):
        assert isinstance(func, cst.FunctionDef)
        if any(p.name.value == name for p in func.params.params):
            found.append((lines.of(func) or 0, func, None))
    earlier = [f for f in found if f[0] <= before]
    if not earlier:
        return None
    _, stmt, value = max(earlier, key=lambda f: f[0])
    return stmt, value


def imported_runner(module: cst.Module, imports: ImportMap) -> tuple[cst.Call, str] | None:
    """The last module-level call of a function imported from the project's own code: where
    the migrations really run when env.py never configures the context itself."""
    found = None
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            call = small.value if isinstance(small, cst.Expr) else None
            owner = _project_module(imports, call) if isinstance(call, cst.Call) else None
            if isinstance(call, cst.Call) and owner is not None:
                found = (call, owner)
    return found


def _in_loop(module: cst.Module, stmt: cst.CSTNode) -> bool:
    def is_stmt(node: cst.CSTNode) -> bool:
        return node is stmt

    return any(find_all(loop, is_stmt) for loop in find_instances(module, cst.For))


def no_sync_connection(module: cst.Module) -> Refusal:
    """Why no online function can be converted, at the line of the connection or the engine."""
    imports = ImportMap.of_module(module)
    lines = Lines(module)
    origin = connection_origin(module, imports, lines)
    if origin is not None and origin.in_loop:
        return lines.refusal(
            origin.node,
            f"{origin.text}, in a loop over several databases; convert a multi-database env.py by hand",
        )
    if origin is not None and origin.unmanaged is not None:
        return lines.refusal(
            origin.node,
            f"{origin.text}; open it with `with {origin.unmanaged} as connection:` around the migration block, then convert",
        )
    engines = [n for n in find_instances(module, cst.Call) if engine_kind(n, imports) == "sync"]
    if engines and (origin is None or not isinstance(origin.node, cst.With)):
        return lines.refusal(
            engines[0],
            "this engine is not connected in the usual 'with engine.connect() as connection:' block inside a function, so the online part cannot be rewritten safely",
        )
    if origin is not None:
        return lines.refusal(
            origin.node,
            f"{origin.text}, not from an engine env.py builds with engine_from_config() or create_engine(); make that code async by hand",
        )
    configure = next(
        (c for c in find_instances(module, cst.Call) if _ctx_call(c, imports) == "configure"), None
    )
    if configure is None and (runner := imported_runner(module, imports)) is not None:
        call, owner = runner
        return lines.refusal(
            call,
            f"the migrations run in `{lines.code(call)}`, imported from {owner}, and env.py never calls context.configure(); convert that module instead",
        )
    return lines.refusal(
        configure,
        "env.py creates no engine with engine_from_config() or create_engine() and passes context.configure() no connection, so there is no sync connection to convert",
    )
