"""Finding the online code of a sync env.py: the function whose
`with <engine>.connect() as connection:` block the async conversion splits (its engine
created there, at module level, or borrowed from the application), and online code written
at module level, moved into a function first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import libcst as cst

from .rewrite_common import Refusal
from .rewrite_imports import (
    taken_names,
)
from .rewrite_names import (
    ImportMap,
    binds,
    canonical,
    dotted,
    engine_assignment,
    engine_kind,
    reads,
)
from .rewrite_nodes import (
    Builder,
    blank_lines,
    find_all,
    find_instances,
    leading_lines,
    single_assignment,
)


def _fresh(module: cst.Module | set[str], base: str, *also_taken: str) -> str:
    """`base`, or `base_2`, `base_3`... when taken. Pass a set of taken names to record the choice."""
    taken = module if isinstance(module, set) else taken_names(module)
    name = base
    n = 2
    while name in taken or name in also_taken:
        name = f"{base}_{n}"
        n += 1
    if isinstance(module, set):
        module.add(name)
    return name


@dataclass
class _Online:
    func: cst.FunctionDef
    imports: ImportMap  # the module's imports plus the function's own
    # `X = factory(...)`; None when created inline in the with
    engine_stmt: cst.BaseStatement | None
    engine_in_module: bool  # the engine statement is at module level
    with_at: int
    engine: str | None
    # the factory call, or for "borrowed" the expression giving the application's engine
    factory: cst.BaseExpression
    kind: str
    conn: str


def _online_in(
    module: cst.Module, func: cst.FunctionDef, imports: ImportMap
) -> _Online | str | None:
    """The `with <engine>.connect() as conn:` plan of a function, a reason it cannot be
    used, or None when the function opens no connection."""
    if not isinstance(func.body, cst.IndentedBlock):
        return None
    body = func.body.body
    assigned: dict[str, tuple[cst.BaseStatement, cst.Call, str]] = {}
    for j, stmt in enumerate(body):
        found = engine_assignment(stmt, imports)
        if found is not None:
            assigned[found[0]] = (stmt, found[1], found[2])
            continue
        if not (isinstance(stmt, cst.With) and len(stmt.items) == 1):
            continue
        item = stmt.items[0]
        call = item.item
        if not (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value in ("connect", "begin")
            and not call.args
        ):
            continue
        receiver = call.func.value
        if item.asname is None or not isinstance(item.asname.name, cst.Name):
            return f"'with {dotted(receiver) or 'engine'}.{call.func.attr.value}()' in {func.name.value}() has no 'as <connection>' name to hand to Alembic"
        conn = item.asname.name.value
        kind = engine_kind(receiver, imports)
        if kind is not None:
            return _Online(func, imports, None, False, j, None, receiver, kind, conn)
        name = dotted(receiver)
        if isinstance(receiver, cst.Name) and receiver.value in assigned:
            estmt, ecall, ekind = assigned[receiver.value]
            return _Online(func, imports, estmt, False, j, receiver.value, ecall, ekind, conn)
        if isinstance(receiver, cst.Name):
            module_imports = ImportMap.of_module(module)
            for mstmt in module.body:
                found = engine_assignment(mstmt, module_imports)
                if found is not None and found[0] == receiver.value:
                    # Moved into the async function: only if nothing else uses it.
                    if reads(module)[receiver.value] != 2:
                        return f"the engine '{receiver.value}' is created at module level and used elsewhere in env.py, so it cannot be turned into an async engine here"
                    return _Online(
                        func, imports, mstmt, True, j, receiver.value, found[1], found[2], conn
                    )
        if stmt.asynchronous is None:
            # An engine from the application or a helper: the migration gets its own async
            # engine built from that engine's URL.
            local = None
            rname = receiver.value if isinstance(receiver, cst.Name) else None
            if rname is not None:
                local = next(
                    (
                        s
                        for s in reversed(body[:j])
                        if _assigned_name(s) == rname and engine_assignment(s, imports) is None
                    ),
                    None,
                )
            if local is not None and any(rname in binds(s) for s in body[:j] if s is not local):
                return f"'{rname}' is set more than once in {func.name.value}() before its 'with' block; convert it by hand"
            value = _assigned_value(local) if local is not None else None
            if value is not None:
                return _Online(func, imports, local, False, j, rname, value, "borrowed", conn)
            if name is None and not isinstance(receiver, cst.Call):
                return f"the engine used in {func.name.value}() is not a plain name or attribute, so it cannot be converted safely"
            return _Online(func, imports, None, False, j, None, receiver, "borrowed", conn)
    return None


def _assigned_value(stmt: cst.CSTNode) -> cst.BaseExpression | None:
    """value for a one-target `X = value` statement line."""
    found = single_assignment(stmt)
    return found[1] if found is not None else None


def _assigned_name(stmt: cst.CSTNode) -> str | None:
    """X for a one-target `X = value` statement line."""
    found = single_assignment(stmt)
    return found[0] if found is not None else None


def _find_online(module: cst.Module, imports: ImportMap) -> tuple[list[_Online], list[str]]:
    plans: list[_Online] = []
    reasons: list[str] = []
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.asynchronous is None:
            found = _online_in(module, stmt, imports.within(stmt))
            if isinstance(found, _Online):
                plans.append(found)
            elif isinstance(found, str):
                reasons.append(found)
    return plans, reasons


def _looks_async(module: cst.Module, imports: ImportMap) -> bool:
    def marker(node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Call):
            if engine_kind(node, imports) in ("async", "wrap"):
                return True
            return isinstance(node.func, cst.Attribute) and node.func.attr.value == "run_sync"
        return False

    return bool(find_all(module, marker))


def _connect_with(stmt: cst.CSTNode) -> cst.With | None:
    """`with <x>.connect()/.begin() as name:` (sync, one item)."""
    if not (isinstance(stmt, cst.With) and stmt.asynchronous is None and len(stmt.items) == 1):
        return None
    item = stmt.items[0]
    call = item.item
    if (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value in ("connect", "begin")
        and not call.args
        and item.asname is not None
    ):
        return stmt
    return None


def _wrap_module_online(module: cst.Module, imports: ImportMap) -> cst.Module | None:
    """Online code written at module level (or in a module-level if/else) moved into its
    own `def run_migrations_online()` and called where it was, so the usual split applies."""
    top_at, block, owner = None, None, None
    for i, stmt in enumerate(module.body):
        if _connect_with(stmt) is not None:
            top_at, block = i, None
            break
        if isinstance(stmt, cst.If):
            branches: list[cst.If | cst.Else] = [stmt]
            node: cst.If | cst.Else | None = stmt.orelse
            while node is not None:
                branches.append(node)
                node = node.orelse if isinstance(node, cst.If) else None
            for branch in branches:
                suite = branch.body
                if isinstance(suite, cst.IndentedBlock) and any(
                    _connect_with(s) is not None for s in suite.body
                ):
                    top_at, block, owner = i, suite, branch
                    break
            if top_at is not None:
                break
    if top_at is None:
        return None
    if block is None:
        with_stmt = _connect_with(module.body[top_at])
        assert with_stmt is not None
        moved: list[cst.BaseStatement] = [with_stmt]
        receiver = with_stmt.items[0].item.func.value  # type: ignore[attr-defined]
        if isinstance(receiver, cst.Name):
            # The statements just before that set up the engine (`x = ...`, `if x is None: ...`).
            for stmt in reversed(module.body[:top_at]):
                if receiver.value not in binds(stmt):
                    break
                moved.insert(0, stmt)
    else:
        moved = list(block.body)
    moved_reads = reads(*moved)
    rest_reads = reads(module) - moved_reads
    used_later = sorted(n for n in binds(*moved) if rest_reads[n])
    if used_later:
        raise Refusal(
            f"the online code at module level binds '{used_later[0]}', which env.py uses elsewhere; move it into a function by hand"
        )
    if find_all(
        module.with_changes(body=moved),
        lambda n: isinstance(n, (cst.Global, cst.Nonlocal, cst.Return, cst.Yield)),
        stop_at_defs=True,
    ):
        return None
    name = _fresh(module, "run_migrations_online")
    builder = Builder(module)
    first = moved[0]
    def_stmt = builder.stmt(f"def {name}() -> None:\n    pass")
    assert isinstance(def_stmt, cst.FunctionDef)
    def_stmt = def_stmt.with_changes(
        body=def_stmt.body.with_changes(body=[first.with_changes(leading_lines=[]), *moved[1:]]),
        leading_lines=[
            *blank_lines(2),
            *(line for line in leading_lines(first) if block is None and line.comment is not None),
        ],
    )
    call = builder.stmt(f"{name}()")
    body: list[cst.BaseStatement] = list(module.body)
    if block is None:
        at = body.index(first)
        for gone in moved:
            body.remove(gone)
        body[at:at] = [def_stmt, call.with_changes(leading_lines=blank_lines(2))]
        return module.with_changes(body=body)
    new_block = block.with_changes(body=[call.with_changes(leading_lines=leading_lines(first))])
    assert owner is not None
    new_owner = owner.with_changes(body=new_block)
    top = body[top_at]
    # the if/elif/else branch holding the online code, replaced inside its module-level if
    new_top = cast(cst.BaseStatement, top.deep_replace(owner, new_owner))
    own = list(leading_lines(top))
    while own and own[0].comment is None:
        own.pop(0)
    top_leading = [*blank_lines(2), *own]
    body[top_at : top_at + 1] = [def_stmt, new_top.with_changes(leading_lines=top_leading)]
    return module.with_changes(body=body)


def _takes_params(func: cst.FunctionDef) -> bool:
    p = func.params
    return bool(
        p.params
        or p.posonly_params
        or p.kwonly_params
        or isinstance(p.star_arg, cst.Param)
        or p.star_kwarg
    )


def _flow_escapes(func: cst.FunctionDef) -> list[cst.CSTNode]:
    return find_all(
        func.body,
        lambda n: isinstance(n, (cst.Return, cst.Yield, cst.Global, cst.Nonlocal)),
        stop_at_defs=True,
    )


# Attributes an AsyncEngine has like an Engine: reading them outside the `with` stays valid.
_ENGINE_ATTRS = {"url", "dialect", "name", "driver", "echo", "sync_engine", "pool"}


def _engine_uses(stmts: list[cst.BaseStatement], engine: str) -> str | None:
    """The first statement using `engine` in a way an AsyncEngine would not support, as code."""
    for stmt in stmts:
        allowed: set[int] = set()
        for node in find_instances(stmt, cst.Comparison):
            assert isinstance(node, cst.Comparison)
            if (
                isinstance(node.left, cst.Name)
                and node.left.value == engine
                and len(node.comparisons) == 1
                and isinstance(node.comparisons[0].operator, (cst.Is, cst.IsNot))
                and dotted(node.comparisons[0].comparator) == "None"
            ):
                allowed.add(id(node.left))  # `engine is None` holds for an AsyncEngine too
        for attribute in find_instances(stmt, cst.Attribute):
            if (
                isinstance(attribute.value, cst.Name)
                and attribute.value.value == engine
                and attribute.attr.value in _ENGINE_ATTRS
            ):
                allowed.add(id(attribute.value))
        for use in find_instances(stmt, cst.Name):
            if use.value == engine and id(use) not in allowed:
                first = cst.Module(body=[]).code_for_node(stmt).strip().splitlines()
                return first[0] if first else engine
    return None


_LISTENERS = {"sqlalchemy.event.listens_for", "sqlalchemy.event.listen"}


class _ListenOnSync(cst.CSTTransformer):
    def __init__(self, engine: str, imports: ImportMap):
        self.engine, self.imports = engine, imports

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        args = updated_node.args
        if (
            canonical(self.imports.qualname(updated_node.func)) in _LISTENERS
            and args
            and args[0].keyword is None
            and isinstance(args[0].value, cst.Name)
            and args[0].value.value == self.engine
        ):
            target = cst.Attribute(value=args[0].value, attr=cst.Name("sync_engine"))
            return updated_node.with_changes(args=[args[0].with_changes(value=target), *args[1:]])
        return updated_node


def _listen_on_sync(stmt: cst.BaseStatement, engine: str, imports: ImportMap) -> cst.BaseStatement:
    """`event.listens_for(engine, ...)` -> `event.listens_for(engine.sync_engine, ...)`."""
    if not reads(stmt)[engine]:
        return stmt
    return stmt.visit(_ListenOnSync(engine, imports))  # type: ignore[return-value]


def _bare_return(node: cst.CSTNode) -> bool:
    """`return` or `return None`: the online function's result is never used."""
    return isinstance(node, cst.Return) and (
        node.value is None or (isinstance(node.value, cst.Name) and node.value.value == "None")
    )


def _returns_in(stmts: list[cst.BaseStatement]) -> bool:
    return any(
        find_instances(s, cst.Return, stop_at_defs=True)
        for s in stmts
        if not isinstance(s, (cst.FunctionDef, cst.ClassDef))
    )
