"""Rewrite env.py to Alembic's async connection pattern (catalog §6), and the structural
repairs for async env.py files that are wired wrongly (ENV003-ENV006, ENV050, ENV051, ENV053).

Every function takes the file's text and returns a RewriteResult; none touches the disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from .async_shapes import normalize
from .rewrite_common import (
    ASYNC_FACTORIES,
    ASYNC_WRAP,
    SYNC_FACTORIES,
    Builder,
    ImportMap,
    Refusal,
    RewriteResult,
    add_kwarg,
    binds,
    blank_lines,
    canonical,
    carry_leading,
    comment_lines,
    comments_of,
    docstring_of,
    dotted,
    ensure_from_import,
    ensure_import_module,
    find_all,
    find_kwarg,
    has_await,
    has_star_kwargs,
    keep_comments,
    kwarg,
    module_level_names,
    plan_from_import,
    prune_imports,
    reads,
    remove_arg,
    run,
    sole_expr,
    taken_names,
    trim_leading_blank,
    unwrap_call,
    with_sole_expr,
)

__all__ = [
    "REPAIRS_BY_RULE",
    "RewriteResult",
    "add_dispose",
    "add_null_pool",
    "convert_to_async",
    "repair_async_connection_configure",
    "repair_legacy_async_engine",
    "repair_run_sync_misuse",
    "repair_unawaited",
]

_ASYNC_MODULE = "sqlalchemy.ext.asyncio"
# Pools that an AsyncEngine rejects ("Pool class QueuePool cannot be used with asyncio engine").
_SYNC_ONLY_POOLS = {"sqlalchemy.pool.QueuePool", "sqlalchemy.pool.SingletonThreadPool"}


def convert_to_async(
    source: str, *, sharing_branch: bool = True, async_driver: str | None = None
) -> RewriteResult:
    """The async pattern: sync online function -> do_run_migrations + run_async_migrations
    + asyncio.run, optionally with the connection-sharing branch.

    `async_driver` ("postgresql+asyncpg"): the driver for an engine built from another
    engine's URL (the application's), which keeps its sync driver otherwise."""
    return run(source, lambda module: _convert_to_async(module, sharing_branch, async_driver))


# --------------------------------------------------------------------------- helpers


def _engine_kind(call: cst.CSTNode, imports: ImportMap) -> str | None:
    """'sync', 'async' or 'wrap' (AsyncEngine(<sync factory>)) for an engine factory call."""
    if not isinstance(call, cst.Call):
        return None
    name = imports.qualname(call.func)
    if name in SYNC_FACTORIES:
        return "sync"
    if name in ASYNC_FACTORIES:
        return "async"
    if name == ASYNC_WRAP:
        return "wrap"
    return None


def _engine_assignment(stmt: cst.CSTNode, imports: ImportMap) -> tuple[str, cst.Call, str] | None:
    """`X = <engine factory>(...)` -> (X, call, kind)."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
        ):
            kind = _engine_kind(small.value, imports)
            if kind is not None:
                return small.targets[0].target.value, small.value, kind
    return None


def _replace_assigned_value(
    stmt: cst.SimpleStatementLine, value: cst.BaseExpression
) -> cst.SimpleStatementLine:
    return stmt.with_changes(body=[stmt.body[0].with_changes(value=value)])


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


class _Rename(cst.CSTTransformer):
    """Renames a variable (never an attribute name or a keyword argument's name)."""

    def __init__(self, old: str, new: str):
        self.old, self.new = old, new
        self.skip: set[int] = set()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.skip.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.skip.add(id(node.keyword))

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == self.old and id(original_node) not in self.skip:
            return updated_node.with_changes(value=self.new)
        return updated_node


def _rename(nodes: list[cst.BaseStatement], old: str, new: str) -> list[cst.BaseStatement]:
    if old == new:
        return nodes
    return [n.visit(_Rename(old, new)) for n in nodes]


def _config_expr(module: cst.Module, imports: ImportMap) -> str | None:
    """The module-level name bound to `context.config` (or `context.config` itself)."""
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            target = value = None
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target, value = small.targets[0].target, small.value
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                target, value = small.target, small.value
            if (
                isinstance(target, cst.Name)
                and isinstance(value, cst.Attribute)
                and value.attr.value == "config"
                and imports.qualname(value.value) == "alembic.context"
            ):
                return target.value
    ctx = sorted(n for n in imports.ctx_names() if imports.bindings[n].top_level)
    return f"{ctx[0]}.config" if ctx else None


def _nullpool_expr(
    module: cst.Module, imports: ImportMap, taken: set[str] | None = None
) -> tuple[cst.Module, str]:
    """An expression for NullPool, reusing whatever the file already imports."""
    for local, binding in imports.bindings.items():
        if binding.type_only:
            continue
        qn = canonical(binding.qualified)
        if qn == "sqlalchemy.pool.NullPool":
            return module, local
    for local, binding in imports.bindings.items():
        if not binding.type_only and canonical(binding.qualified) == "sqlalchemy.pool":
            return module, f"{local}.NullPool"
    for local, binding in imports.bindings.items():
        if not binding.type_only and binding.qualified == "sqlalchemy":
            return module, f"{local}.pool.NullPool"  # sqlalchemy/__init__ imports .pool
    module, local = ensure_from_import(
        module, "sqlalchemy", "pool", prefer_alias="sa_pool", taken=taken
    )
    return module, f"{local}.NullPool"


def _with_nullpool(call: cst.Call, imports: ImportMap, nullpool: str, builder: Builder) -> cst.Call:
    """poolclass=NullPool unless a pool that works with asyncio is already chosen."""
    i = find_kwarg(call, "poolclass")
    if i is None:
        if has_star_kwargs(call):
            return call  # poolclass may come in through **kwargs; adding one could clash
        return add_kwarg(call, kwarg("poolclass", builder.expr(nullpool)))
    if imports.qualname(call.args[i].value) in _SYNC_ONLY_POOLS:
        args = list(call.args)
        args[i] = args[i].with_changes(value=builder.expr(nullpool))
        return call.with_changes(args=args)
    return call


def _drop_future(call: cst.Call) -> cst.Call:
    i = find_kwarg(call, "future")
    return call if i is None else remove_arg(call, i)


def _replace_stmt(
    module: cst.Module, old: cst.BaseStatement, new: list[cst.BaseStatement]
) -> cst.Module:
    body = list(module.body)
    i = next(i for i, s in enumerate(body) if s is old)
    body[i : i + 1] = new
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


# --------------------------------------------------------------------------- finding the online function


@dataclass
class _Online:
    func: cst.FunctionDef
    imports: ImportMap  # the module's imports plus the function's own
    engine_stmt: (
        cst.SimpleStatementLine | None
    )  # `X = factory(...)`; None when created inline in the with
    engine_in_module: bool  # the engine statement is at module level
    with_at: int
    engine: str | None
    factory: cst.Call
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
    assigned: dict[str, tuple[cst.SimpleStatementLine, cst.Call, str]] = {}
    for j, stmt in enumerate(body):
        found = _engine_assignment(stmt, imports)
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
        kind = _engine_kind(receiver, imports)
        if kind is not None:
            return _Online(func, imports, None, False, j, None, receiver, kind, conn)
        name = dotted(receiver)
        if isinstance(receiver, cst.Name) and receiver.value in assigned:
            estmt, ecall, ekind = assigned[receiver.value]
            return _Online(func, imports, estmt, False, j, receiver.value, ecall, ekind, conn)
        if isinstance(receiver, cst.Name):
            module_imports = ImportMap.of_module(module)
            for mstmt in module.body:
                found = _engine_assignment(mstmt, module_imports)
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
            if isinstance(receiver, cst.Name):
                local = next(
                    (
                        s
                        for s in reversed(body[:j])
                        if _assigned_name(s) == receiver.value
                        and _engine_assignment(s, imports) is None
                    ),
                    None,
                )
            if local is not None and any(
                receiver.value in binds(s) for s in body[:j] if s is not local
            ):
                return f"'{receiver.value}' is set more than once in {func.name.value}() before its 'with' block; convert it by hand"
            if local is not None:
                value = local.body[0].value  # type: ignore[attr-defined]
                return _Online(
                    func, imports, local, False, j, receiver.value, value, "borrowed", conn
                )
            if name is None and not isinstance(receiver, cst.Call):
                return f"the engine used in {func.name.value}() is not a plain name or attribute, so it cannot be converted safely"
            return _Online(func, imports, None, False, j, None, receiver, "borrowed", conn)
    return None


def _assigned_name(stmt: cst.CSTNode) -> str | None:
    """X for a one-target `X = value` statement line."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
        ):
            return small.targets[0].target.value
    return None


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
            if _engine_kind(node, imports) in ("async", "wrap"):
                return True
            return isinstance(node.func, cst.Attribute) and node.func.attr.value == "run_sync"
        return False

    return bool(find_all(module, marker))


def _convert_to_async(
    module: cst.Module, sharing_branch: bool, async_driver: str | None = None
) -> cst.Module | None:
    imports = ImportMap.of_module(module)
    if not _looks_async(module, imports):
        module = normalize(module, imports, lambda node, imp: _engine_kind(node, imp) == "sync")
        imports = ImportMap.of_module(module)
    plans, reasons = _find_online(module, imports)
    if not plans and not reasons and not _looks_async(module, imports):
        wrapped = _wrap_module_online(module, imports)
        if wrapped is not None:
            module = wrapped
            imports = ImportMap.of_module(module)
            module = normalize(module, imports, lambda node, imp: _engine_kind(node, imp) == "sync")
            imports = ImportMap.of_module(module)
            plans, reasons = _find_online(module, imports)
    sync_plans = [p for p in plans if p.kind == "sync"]
    if not sync_plans and not _looks_async(module, imports):
        sync_plans = [p for p in plans if p.kind == "borrowed"]
    if not sync_plans:
        if _looks_async(module, imports):
            return None  # already async; the repairs handle async files wired wrongly
        if reasons:
            raise Refusal(reasons[0])
        if any(
            _engine_kind(n, imports) == "sync"
            for n in find_all(module, lambda n: isinstance(n, cst.Call))
        ):
            raise Refusal(
                "env.py creates a sync engine but not in the usual 'with engine.connect() as connection:' block inside a function, so the online part cannot be rewritten safely"
            )
        raise Refusal(
            "env.py creates no engine with engine_from_config() or create_engine(), so there is no sync connection to convert"
        )
    if len(sync_plans) > 1:
        names = ", ".join(f"{p.func.name.value}()" for p in sync_plans)
        raise Refusal(
            f"more than one function connects to a database ({names}); convert a multi-database env.py by hand"
        )
    return _asyncify(
        module,
        imports,
        sync_plans[0],
        convert_factory=True,
        sharing_branch=sharing_branch,
        async_driver=async_driver,
    )


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
            branches: list[cst.CSTNode] = [stmt]
            node: cst.CSTNode | None = stmt.orelse
            while node is not None:
                branches.append(node)
                node = node.orelse if isinstance(node, cst.If) else None
            for branch in branches:
                body = branch.body
                if isinstance(body, cst.IndentedBlock) and any(
                    _connect_with(s) is not None for s in body.body
                ):
                    top_at, block, owner = i, body, branch
                    break
            if top_at is not None:
                break
    if top_at is None:
        return None
    if block is None:
        with_stmt = module.body[top_at]
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
    def_stmt = def_stmt.with_changes(
        body=def_stmt.body.with_changes(body=[first.with_changes(leading_lines=[]), *moved[1:]]),
        leading_lines=[
            *blank_lines(2),
            *(line for line in first.leading_lines if block is None and line.comment is not None),
        ],
    )
    call = builder.stmt(f"{name}()")
    body = list(module.body)
    if block is None:
        at = body.index(first)
        for stmt in moved:
            body.remove(stmt)
        body[at:at] = [def_stmt, call.with_changes(leading_lines=blank_lines(2))]
        return module.with_changes(body=body)
    new_block = block.with_changes(body=[call.with_changes(leading_lines=first.leading_lines)])
    new_owner = owner.with_changes(body=new_block)  # type: ignore[union-attr]
    top = body[top_at]
    new_top = top.deep_replace(owner, new_owner) if top is not owner else new_owner
    own = list(top.leading_lines)
    while own and own[0].comment is None:
        own.pop(0)
    top_leading = [*blank_lines(2), *own]
    body[top_at : top_at + 1] = [def_stmt, new_top.with_changes(leading_lines=top_leading)]
    return module.with_changes(body=body)


# --------------------------------------------------------------------------- the transform


def _asyncify(
    module: cst.Module,
    imports: ImportMap,
    plan: _Online,
    *,
    convert_factory: bool,
    sharing_branch: bool,
    async_driver: str | None = None,
) -> cst.Module:
    func = plan.func
    fname = func.name.value
    if _takes_params(func):
        raise Refusal(
            f"{fname}() takes parameters; only a parameterless online function can be split safely"
        )
    escapes = [e for e in _flow_escapes(func) if not _bare_return(e)]
    if escapes:
        kind = type(escapes[0]).__name__.lower()
        raise Refusal(
            f"{fname}() contains a '{kind}' statement, which would change meaning once its body is split into several functions"
        )
    body = list(func.body.body)
    doc = docstring_of(body)
    with_node: cst.With = body[plan.with_at]
    if not isinstance(with_node.body, cst.IndentedBlock):
        raise Refusal(
            f"the 'with' block in {fname}() is written on one line; put its body on its own lines first"
        )
    inner = list(with_node.body.body)
    conn = plan.conn
    engine = plan.engine
    if engine is not None:
        # Event listeners go on the AsyncEngine's sync_engine (SQLAlchemy's asyncio docs).
        body = [
            s
            if s is doc or s is plan.engine_stmt or s is with_node
            else _listen_on_sync(s, engine, plan.imports)
            for s in body
        ]
    pre = [s for s in body[: plan.with_at] if s is not doc and s is not plan.engine_stmt]
    post = body[plan.with_at + 1 :]

    # The engine becomes an AsyncEngine: only the async function may touch it.
    dispose_stmts = [s for s in post if _is_call_on(s, engine, "dispose")]
    post = [s for s in post if s not in dispose_stmts]
    if engine is not None:
        if reads(*inner)[engine]:
            raise Refusal(
                f"the migration block uses the engine '{engine}' itself, which becomes an AsyncEngine that sync code cannot use"
            )
        outside = [*pre, *post]
        if plan.kind == "borrowed" and plan.engine_stmt is not None:
            outside = [s for s in outside if s is not plan.engine_stmt]
        unsafe = _engine_uses(outside, engine)
        if unsafe is not None:
            raise Refusal(
                f"{fname}() hands the engine '{engine}' to sync code outside the 'with' block (`{unsafe}`), where it becomes an AsyncEngine: change that line by hand, e.g. to use {engine}.sync_engine"
            )
    if _returns_in(inner) and [s for s in post if s not in dispose_stmts]:
        raise Refusal(
            f"the 'with' block in {fname}() returns early and code follows it; once the block is its own function that code would run, so move it by hand"
        )
    if has_await(with_node.body):
        raise Refusal(f"the 'with' block in {fname}() already awaits something; fix that first")

    inner_binds = binds(*inner)
    post_reads = reads(*post)
    if post_reads[conn]:
        raise Refusal(f"'{conn}' is used after its 'with' block in {fname}()")
    clash = sorted(n for n in inner_binds if post_reads[n])
    if clash:
        raise Refusal(
            f"'{clash[0]}' is set inside the migration block and used after it, so the block cannot move into its own function"
        )

    # Statements before the `with`: those that only feed the migration block move with it
    # into do_run_migrations; everything else (URL overrides...) stays before the engine.
    engine_reads = reads(plan.engine_stmt, with_node.items[0].item) + post_reads
    body_reads = reads(*inner)
    to_body: list[cst.BaseStatement] = []
    for stmt in reversed(pre):
        bound = binds(stmt)
        in_body = any(body_reads[n] for n in bound)
        in_engine = any(engine_reads[n] for n in bound)
        if not bound and not _returns_in([stmt]):
            # A statement binding nothing (`if opts.get(k) is None: opts[k] = v`) goes with
            # the names it works on when only the migration block uses them.
            used = reads(stmt)
            in_body = any(body_reads[n] for n in used) and not any(engine_reads[n] for n in used)
            in_engine = False
        if in_body and in_engine:
            both = sorted(n for n in bound if body_reads[n] and engine_reads[n])
            raise Refusal(
                f"'{both[0]}' is used both to build the engine and inside the migration block of {fname}(); split it by hand"
            )
        if in_body and engine is not None and reads(stmt)[engine]:
            raise Refusal(
                f"a statement before the 'with' in {fname}() uses the engine '{engine}' and feeds the migration block; read it from the connection instead (connection.dialect)"
            )
        if in_body and _returns_in([stmt]):
            raise Refusal(
                f"a 'return' in {fname}() sits in code that feeds the migration block; move it by hand"
            )
        if in_body:
            to_body.insert(0, stmt)
            body_reads += reads(stmt)
        else:
            engine_reads += reads(stmt)
    engine_side = [s for s in body[: plan.with_at] if s is not doc and s not in to_body]

    # Reuse an existing `do_run_migrations(conn, ...)`-style helper when that is all the block does.
    target, extra_args = _reusable_helper(module, inner, conn, body)

    # Imports first (they may shift module.body), then the functions. Names are checked
    # against the original file once, plus every name this rewrite adds.
    builder = Builder(module)
    taken = taken_names(module) | set(reads(func))
    module, aio = ensure_import_module(module, "asyncio")
    taken.add(aio)
    if target is None:
        module, conn_type = ensure_from_import(
            module, "sqlalchemy.engine", "Connection", prefer_alias="SAConnection", taken=taken
        )
    factory = plan.factory
    sync_qualified = None
    if plan.kind == "borrowed":
        module, local = ensure_from_import(
            module, _ASYNC_MODULE, "create_async_engine", taken=taken
        )
        module, nullpool = _nullpool_expr(module, plan.imports, taken)
        url: cst.BaseExpression = cst.Attribute(value=factory, attr=cst.Name("url"))
        if async_driver:
            url = cst.Call(
                func=cst.Attribute(value=url, attr=cst.Name("set")),
                args=[kwarg("drivername", cst.SimpleString(repr(async_driver)))],
            )
        factory = cst.Call(
            func=cst.Name(local),
            args=[
                cst.Arg(url, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                kwarg("poolclass", builder.expr(nullpool)),
            ],
        )
    elif convert_factory:
        sync_qualified = plan.imports.qualname(factory.func)
        async_name = SYNC_FACTORIES[sync_qualified]
        module, local = ensure_from_import(module, _ASYNC_MODULE, async_name, taken=taken)
        module, nullpool = _nullpool_expr(module, plan.imports, taken)
        factory = _with_nullpool(
            _drop_future(factory.with_changes(func=cst.Name(local))),
            plan.imports,
            nullpool,
            builder,
        )

    # def do_run_migrations(connection: Connection) -> None
    new_defs: list[cst.BaseStatement] = []
    if target is None:
        target = _fresh(taken, "do_run_migrations")
        if to_body and not inner[0].leading_lines:
            inner = [inner[0].with_changes(leading_lines=blank_lines(1)), *inner[1:]]
        moved = trim_leading_blank([*to_body, *inner])
        param = conn
        if (
            conn != "connection"
            and not reads(*moved)["connection"]
            and "connection" not in binds(*moved)
        ):
            param = "connection"
            moved = _rename(moved, conn, param)
        do_def = builder.stmt(f"def {target}({param}: {conn_type}) -> None:\n    pass")
        do_def = do_def.with_changes(
            body=do_def.body.with_changes(body=moved, footer=with_node.body.footer),
            leading_lines=blank_lines(2),
        )
        new_defs.append(do_def)
    elif to_body:
        raise Refusal(
            f"statements before the 'with' in {fname}() feed the migration helper's arguments; move them by hand"
        )

    # async def run_async_migrations() -> None
    runner = _fresh(taken, "run_async_migrations", target)
    async_body: list[cst.BaseStatement] = []
    item = with_node.items[0]
    if plan.engine_stmt is None:
        engine = _fresh(taken, "connectable")
        async_body.append(builder.stmt(f"{engine} = None").with_changes())
        async_body[-1] = _replace_assigned_value(async_body[-1], factory)
        item = item.with_changes(
            item=item.item.with_changes(func=item.item.func.with_changes(value=cst.Name(engine)))
        )
    engine_stmt = None
    if plan.engine_stmt is not None:
        engine_stmt = keep_comments(
            [plan.engine_stmt], _replace_assigned_value(plan.engine_stmt, factory)
        )
    if plan.engine_in_module:
        async_body.append(engine_stmt.with_changes(leading_lines=[]))
    for stmt in engine_side:
        async_body.append(engine_stmt if stmt is plan.engine_stmt else stmt)
    run_sync = builder.stmt(f"await {conn}.run_sync({target})")
    if extra_args:
        call = sole_expr(run_sync).expression
        call = call.with_changes(
            args=[
                call.args[0].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                ),
                *extra_args,
            ]
        )
        run_sync = with_sole_expr(run_sync, sole_expr(run_sync).with_changes(expression=call))
    async_with = with_node.with_changes(
        asynchronous=cst.Asynchronous(),
        items=[item],
        body=with_node.body.with_changes(
            body=[run_sync], footer=[] if new_defs else with_node.body.footer
        ),
    )
    async_body.append(async_with)
    async_body.extend(post)
    dispose = builder.stmt(f"await {engine}.dispose()").with_changes(leading_lines=blank_lines(1))
    if dispose_stmts:
        first = dispose_stmts[0]
        dispose = dispose.with_changes(
            leading_lines=first.leading_lines, trailing_whitespace=first.trailing_whitespace
        )
        dispose = keep_comments(dispose_stmts, dispose)
    async_body.append(dispose)
    runner_def = builder.stmt(f"async def {runner}() -> None:\n    pass")
    runner_def = runner_def.with_changes(
        body=runner_def.body.with_changes(body=trim_leading_blank(async_body)),
        leading_lines=blank_lines(2),
    )
    new_defs.append(runner_def)

    # def run_migrations_online(): asyncio.run(...) with the connection-sharing branch
    online_body: list[cst.BaseStatement] = [doc] if doc is not None else []
    extra_code = "".join(
        ", " + builder.code(a.with_changes(comma=cst.MaybeSentinel.DEFAULT)) for a in extra_args
    )
    if sharing_branch:
        cfg = _config_expr(module, ImportMap.of_module(module))
        if cfg is None:
            raise Refusal(
                "env.py has no module-level 'config = context.config' to read the shared connection from; use the variant without the connection-sharing branch"
            )
        shared = (
            _fresh(module, "connectable", *reads(*extra_args))
            if reads(*extra_args)["connectable"]
            else "connectable"
        )
        stmts = builder.stmts(
            f'{shared} = {cfg}.attributes.get("connection", None)\n'
            f"if {shared} is None:\n"
            f"    {aio}.run({runner}())\n"
            f"else:\n"
            f"    {target}({shared}{extra_code})\n"
        )
    else:
        stmts = builder.stmts(f"{aio}.run({runner}())")
    if doc is not None:
        stmts[0] = stmts[0].with_changes(leading_lines=blank_lines(1))
    online_body.extend(stmts)
    new_func = func.with_changes(body=func.body.with_changes(body=online_body))
    # Comments above the online function (often a section banner) now open the online part.
    new_defs[0] = new_defs[0].with_changes(leading_lines=func.leading_lines)
    new_func = new_func.with_changes(leading_lines=blank_lines(2))

    module = _replace_stmt(module, func, [*new_defs, new_func])
    if plan.engine_in_module:
        module = _drop_module_stmt(module, plan.engine_stmt)
    if convert_factory and sync_qualified is not None:
        module = prune_imports(module, [sync_qualified, *_SYNC_ONLY_POOLS])
    return module


# Attributes an AsyncEngine has like an Engine: reading them outside the `with` stays valid.
_ENGINE_ATTRS = {"url", "dialect", "name", "driver", "echo", "sync_engine", "pool"}


def _engine_uses(stmts: list[cst.BaseStatement], engine: str) -> str | None:
    """The first statement using `engine` in a way an AsyncEngine would not support, as code."""
    for stmt in stmts:
        allowed: set[int] = set()
        for node in find_all(stmt, lambda n: isinstance(n, cst.Comparison)):
            assert isinstance(node, cst.Comparison)
            if (
                isinstance(node.left, cst.Name)
                and node.left.value == engine
                and len(node.comparisons) == 1
                and isinstance(node.comparisons[0].operator, (cst.Is, cst.IsNot))
                and dotted(node.comparisons[0].comparator) == "None"
            ):
                allowed.add(id(node.left))  # `engine is None` holds for an AsyncEngine too
        for node in find_all(stmt, lambda n: isinstance(n, cst.Attribute)):
            assert isinstance(node, cst.Attribute)
            if (
                isinstance(node.value, cst.Name)
                and node.value.value == engine
                and node.attr.value in _ENGINE_ATTRS
            ):
                allowed.add(id(node.value))
        for node in find_all(stmt, lambda n: isinstance(n, cst.Name) and n.value == engine):
            if id(node) not in allowed:
                first = cst.Module(body=[stmt]).code.strip().splitlines()
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
        find_all(s, lambda n: isinstance(n, cst.Return), stop_at_defs=True)
        for s in stmts
        if not isinstance(s, (cst.FunctionDef, cst.ClassDef))
    )


def _drop_module_stmt(module: cst.Module, stmt: cst.BaseStatement) -> cst.Module:
    body = list(module.body)
    i = next(i for i, s in enumerate(body) if s is stmt)
    removed = body.pop(i)
    if i < len(body):
        body[i] = carry_leading(removed, body[i])
    else:
        lost = comments_of(removed)
        return module.with_changes(
            body=body, footer=[*comment_lines(lost.elements()), *module.footer]
        )
    return module.with_changes(body=body)


def _is_call_on(stmt: cst.CSTNode, receiver: str | None, method: str) -> bool:
    call = sole_expr(stmt)
    return (
        receiver is not None
        and isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == method
        and dotted(call.func.value) == receiver
    )


def _reusable_helper(
    module: cst.Module,
    inner: list[cst.BaseStatement],
    conn: str,
    online_body: list[cst.BaseStatement],
) -> tuple[str | None, list[cst.Arg]]:
    """`with ... as conn: helper(conn, *rest)` where helper is a module-level def: reuse it."""
    if len(inner) != 1:
        return None, []
    call = sole_expr(inner[0])
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.args):
        return None, []
    first, rest = call.args[0], list(call.args[1:])
    if (
        first.keyword is not None
        or first.star
        or not (isinstance(first.value, cst.Name) and first.value.value == conn)
    ):
        return None, []
    helper = next(
        (
            s
            for s in module.body
            if isinstance(s, cst.FunctionDef) and s.name.value == call.func.value
        ),
        None,
    )
    if helper is None or helper.asynchronous is not None:
        return None, []
    local = binds(*online_body)
    if any(reads(*rest)[n] for n in local | {conn}):
        return None, []
    if comments_of(inner[0]) - comments_of(*inner[0].leading_lines):
        return None, []  # a comment inside the call would have nowhere to go
    if rest:
        rest[-1] = rest[-1].with_changes(
            comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=cst.SimpleWhitespace("")
        )
    return call.func.value, rest


# --------------------------------------------------------------------------- what is async in a function

# Methods of AsyncEngine/AsyncConnection that return something to await.
_AWAITABLE_METHODS = {
    "run_sync",
    "dispose",
    "commit",
    "rollback",
    "close",
    "execute",
    "exec_driver_sql",
    "begin",
    "connect",
    "scalar",
    "scalars",
}


@dataclass
class _Scope:
    engines: set[str]  # AsyncEngine variables
    conns: set[str]  # AsyncConnection variables
    sync_engines: dict[str, cst.Call]  # Engine variables (sync factory calls)
    local: set[str]  # every name bound in the function, parameters included


def _params(func: cst.FunctionDef) -> list[cst.Param]:
    p = func.params
    out = [*p.posonly_params, *p.params, *p.kwonly_params]
    if isinstance(p.star_arg, cst.Param):
        out.append(p.star_arg)
    if p.star_kwarg is not None:
        out.append(p.star_kwarg)
    return out


def _scope(func: cst.FunctionDef, imports: ImportMap) -> _Scope:
    engines: set[str] = set()
    conns: set[str] = set()
    sync_engines: dict[str, cst.Call] = {}
    for param in _params(func):
        if param.annotation is not None:
            qn = imports.qualname(param.annotation.annotation)
            if qn == ASYNC_WRAP:
                engines.add(param.name.value)
            elif qn == "sqlalchemy.ext.asyncio.AsyncConnection":
                conns.add(param.name.value)
    for node in find_all(func.body, lambda n: isinstance(n, cst.Assign), stop_at_defs=True):
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            continue
        name = node.targets[0].target.value
        kind = _engine_kind(node.value, imports)
        if kind in ("async", "wrap"):
            engines.add(name)
        elif kind == "sync":
            sync_engines[name] = node.value
        elif isinstance(node.value, cst.Await) and _method(node.value.expression) in (
            "connect",
            "begin",
        ):
            conns.add(name)
    for node in find_all(func.body, lambda n: isinstance(n, cst.With), stop_at_defs=True):
        for item in node.items:
            if item.asname is None or not isinstance(item.asname.name, cst.Name):
                continue
            if _method(item.item) not in ("connect", "begin"):
                continue
            receiver = dotted(item.item.func.value)
            # Only an async object supports `async with x.connect()`.
            if node.asynchronous is not None or receiver in engines:
                conns.add(item.asname.name.value)
    local = binds(*func.body.body) if isinstance(func.body, cst.IndentedBlock) else set()
    local |= {p.name.value for p in _params(func)}
    return _Scope(engines, conns, sync_engines, local)


def _method(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value
    return None


def _ctx_ref(node: cst.CSTNode, imports: ImportMap) -> str | None:
    """'configure' for `context.configure` (the function itself, not a call)."""
    if isinstance(node, cst.Attribute) and imports.qualname(node.value) == "alembic.context":
        return node.attr.value
    return None


def _ctx_call(node: cst.CSTNode, imports: ImportMap) -> str | None:
    return _ctx_ref(node.func, imports) if isinstance(node, cst.Call) else None


def _module_defs(module: cst.Module) -> dict[str, cst.FunctionDef]:
    return {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}


def _run_sync_targets(module: cst.Module) -> set[str]:
    out = set()
    for call in find_all(module, lambda n: _method(n) == "run_sync"):
        if call.args and isinstance(call.args[0].value, cst.Name) and not call.args[0].keyword:
            out.add(call.args[0].value.value)
    return out


class _BeginTransactionToSync(cst.CSTTransformer):
    """`async with context.begin_transaction():` -> `with`: it is a sync context manager."""

    def __init__(self, imports: ImportMap):
        self.imports = imports
        self.count = 0

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        if updated_node.asynchronous is not None and any(
            _ctx_call(i.item, self.imports) == "begin_transaction" for i in updated_node.items
        ):
            self.count += 1
            return updated_node.with_changes(asynchronous=None)
        return updated_node


# --------------------------------------------------------------------------- ENV003


def repair_unawaited(source: str) -> RewriteResult:
    """ENV003: drive or await the coroutines env.py creates and drops."""
    return run(source, _repair_unawaited)


class _Unawaited(cst.CSTTransformer):
    def __init__(self, imports: ImportMap, async_defs: set[str], aio: str):
        self.imports = imports
        self.async_defs = async_defs
        self.aio = aio
        self.stack: list[_Scope | None] = []  # None for a sync def
        self.wrapped = 0
        self.awaited = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack.append(
            _scope(node, self.imports.within(node)) if node.asynchronous is not None else None
        )

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.stack.pop()
        return updated_node

    def _fix(self, value: cst.BaseExpression) -> cst.BaseExpression:
        if not isinstance(value, cst.Call):
            return value
        scope = self.stack[-1] if self.stack else None
        if isinstance(value.func, cst.Name) and value.func.value in self.async_defs:
            if scope is not None:
                self.awaited += 1
                return cst.Await(expression=value)
            self.wrapped += 1
            return cst.Call(func=cst.parse_expression(f"{self.aio}.run"), args=[cst.Arg(value)])
        if scope is not None and isinstance(value.func, cst.Attribute):
            method = value.func.attr.value
            receiver = dotted(value.func.value)
            if method == "run_sync" or (
                method in _AWAITABLE_METHODS and receiver in scope.engines | scope.conns
            ):
                self.awaited += 1
                return cst.Await(expression=value)
        return value

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.Expr:
        return updated_node.with_changes(value=self._fix(updated_node.value))

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        return updated_node.with_changes(value=self._fix(updated_node.value))


class _MakeSync(cst.CSTTransformer):
    def __init__(self, names: set[str]):
        self.names = names

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if updated_node.name.value in self.names and updated_node.asynchronous is not None:
            return updated_node.with_changes(asynchronous=None)
        return updated_node


def _repair_unawaited(module: cst.Module) -> cst.Module | None:
    imports = ImportMap.of_module(module)
    original = module
    defs = find_all(module, lambda n: isinstance(n, cst.FunctionDef) and n.asynchronous is not None)
    targets = _run_sync_targets(module)
    # (c) an `async def` handed to run_sync() is never awaited by it: make it a plain def.
    to_sync = set()
    for func in defs:
        if func.name.value not in targets:
            continue
        probe = func.visit(_BeginTransactionToSync(imports))
        if has_await(probe.body):
            raise Refusal(
                f"{func.name.value}() is passed to run_sync() but awaits inside; run_sync() needs a plain def that uses the sync connection it is given"
            )
        to_sync.add(func.name.value)
    if to_sync:
        module = _only_in_defs(module, to_sync, _BeginTransactionToSync(imports))
        module = module.visit(_MakeSync(to_sync))
    async_defs = {f.name.value for f in defs} - to_sync
    local = imports.local_for("asyncio")
    aio = local if local is not None and imports.bindings[local].top_level else "asyncio"
    fixer = _Unawaited(imports, async_defs, aio)
    module = module.visit(fixer)
    if fixer.wrapped and aio == "asyncio" and local != "asyncio":
        module, _ = ensure_import_module(module, "asyncio")
    return None if module.deep_equals(original) else module


def _only_in_defs(
    module: cst.Module, names: set[str], transformer: cst.CSTTransformer
) -> cst.Module:
    """Apply `transformer` inside the functions called `names` only."""

    class _Scoped(cst.CSTTransformer):
        def leave_FunctionDef(
            self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
        ) -> cst.FunctionDef:
            if updated_node.name.value in names:
                return updated_node.visit(transformer)
            return updated_node

    return module.visit(_Scoped())


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


@dataclass
class _Mig:
    conns: set[str]  # AsyncConnection variables this statement refers to
    tags: set[str]  # which rules the statement breaks ("003", "004", "005", "006")
    sync: cst.BaseStatement  # the same work written for a sync Connection


class _Blocks(cst.CSTTransformer):
    """Finds runs of Alembic statements done on the event-loop side of an async def and
    turns each run into a sync helper called through run_sync()."""

    def __init__(self, module: cst.Module, imports: ImportMap, mode: str, conn_type: str):
        self.module = module
        self.module_imports = imports
        self.mode = mode
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
        if (
            self.mode != "004"
            or not self.stack
            or self.stack[-1][2] is None
            or updated_node.asynchronous is not None
        ):
            return updated_node
        scope = self.stack[-1][2]
        for item in updated_node.items:
            if (
                _method(item.item) in ("connect", "begin")
                and dotted(item.item.func.value) in scope.engines | scope.conns
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
            tags: set[str] = {"005"} if stmt.asynchronous is not None else set()
            inner = []
            for child in stmt.body.body:
                found = self._classify(child, imports, scope)
                if found is None:
                    return None
                conns |= found.conns
                tags |= found.tags
                inner.append(found.sync)
            if stmt.asynchronous is not None:
                tags.add("004")  # the begin_transaction() itself runs on the event-loop side
            return _Mig(
                conns,
                tags,
                stmt.with_changes(asynchronous=None, body=stmt.body.with_changes(body=inner)),
            )
        expr = sole_expr(stmt)
        if expr is None:
            return None
        awaited = isinstance(expr, cst.Await)
        call = expr.expression if awaited else expr
        if not isinstance(call, cst.Call):
            return None
        method = _ctx_call(call, imports)
        if method in ("configure", "run_migrations", "execute") and not awaited:
            conns = set()
            if method == "configure":
                i = find_kwarg(call, "connection")
                if i is None or dotted(call.args[i].value) not in scope.conns:
                    return None
                conns = {dotted(call.args[i].value)}
            return _Mig(conns, {"004"}, stmt)
        if _method(call) != "run_sync" or not call.args:
            return None
        conn = dotted(call.func.value)
        first, rest = call.args[0], list(call.args[1:])
        if conn is None or first.keyword is not None or first.star:
            return None
        tags = set() if awaited else {"003"}
        target = first.value
        ref = _ctx_ref(target, imports)
        if ref in ("configure", "run_migrations"):
            if any(a.keyword is None and a.star != "**" for a in rest):
                return None  # extra positional arguments: no safe reading
            if any(a.keyword is not None and a.keyword.value == "connection" for a in rest):
                tags.add("006")
                rest = [
                    a
                    for a in rest
                    if not (a.keyword is not None and a.keyword.value == "connection")
                ]
            if ref == "run_migrations":
                tags.add("006")
                new = cst.Call(func=target, args=_tidy_args(rest))
            else:
                lead = kwarg("connection", cst.Name(conn))
                args = (
                    [lead.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))]
                    if rest
                    else [lead]
                )
                new = cst.Call(func=target, args=[*args, *_tidy_args(rest)])
            return _Mig({conn}, tags, keep_comments([stmt], with_sole_expr(stmt, new)))
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
            body_call = target.body.visit(_Rename(params.params[0].name.value, conn))
            if inner_method == "run_migrations":
                i = find_kwarg(body_call, "connection")
                if i is not None:
                    tags.add("006")  # run_migrations(**kw) hands kw to upgrade(), not to Alembic
                    body_call = remove_arg(body_call, i)
            return _Mig({conn}, tags, keep_comments([stmt], with_sole_expr(stmt, body_call)))
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
            tags = set().union(*(m.tags for _, m in run_))
            if self.mode in tags and len(conns) == 1:
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
            sync = _rename(sync, conn, param)
        sync[0] = sync[0].with_changes(
            leading_lines=[e for e in sync[0].leading_lines if e.comment is not None]
        )
        name = self._helper_name(param, sync)
        call = self.builder.stmt(f"await {conn}.run_sync({name})")
        blank = [e for e in originals[0].leading_lines if e.comment is None]
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
                _ctx_call(call, imports) == "configure"
                and find_kwarg(call, "transaction_per_migration") is not None
            ):
                return sync  # each revision commits on its own then
        out = []
        for stmt in sync:
            call = sole_expr(stmt)
            if isinstance(call, cst.Call) and _ctx_call(call, imports) == "run_migrations":
                ctx = self.builder.code(call.func.value)
                wrapper = self.builder.stmt(f"with {ctx}.begin_transaction():\n    pass")
                stmt = wrapper.with_changes(
                    leading_lines=stmt.leading_lines,
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
                candidate = _rename(sync, param, ps[0].name.value)
                if _same_code(self.builder, existing.body.body, candidate):
                    return existing.name.value
        for made in self.new_defs:
            if _same_code(self.builder, made.body.body, sync):
                return made.name.value
        name = _fresh(self.taken, "do_run_migrations")
        self.reserved.add(name)
        self.used_conn_type = True
        new = self.builder.stmt(f"def {name}({param}: {self.conn_type}) -> None:\n    pass")
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
        call = expr.expression if awaited else expr
        # ENV004: helper(async_conn, ...) on a sync helper -> await async_conn.run_sync(helper, ...)
        if (
            self.mode == "004"
            and not awaited
            and isinstance(call, cst.Call)
            and isinstance(call.func, cst.Name)
            and call.args
            and not call.args[0].keyword
            and dotted(call.args[0].value) in scope.conns
        ):
            helper = self.module_defs.get(call.func.value)
            if helper is not None and helper.asynchronous is None:
                conn = dotted(call.args[0].value)
                new = self._run_sync_call(conn, call.func, list(call.args[1:]))
                return keep_comments([stmt], with_sole_expr(stmt, cst.Await(expression=new)))
        # Every run_sync(...) call in the statement, wherever it sits (`x = await c.run_sync(...)`).
        outer = self

        class _Calls(cst.CSTTransformer):
            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False

            def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
                if _method(updated_node) == "run_sync" and updated_node.args:
                    return outer._fix_run_sync(updated_node, imports)
                return updated_node

        new = stmt.visit(_Calls())
        return stmt if new.deep_equals(stmt) else keep_comments([stmt], new)

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

    def _fix_run_sync(self, call: cst.Call, imports: ImportMap) -> cst.Call:
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
        if self.mode != "006":
            return call
        ref = _ctx_ref(target, imports)
        if ref == "configure":
            i = find_kwarg(call, "connection")
            if i is not None:
                return remove_arg(call, i)
        elif ref == "run_migrations":
            kw = _tidy_args(
                [a for a in rest if not (a.keyword is not None and a.keyword.value == "connection")]
            )
            lam = cst.parse_expression("lambda _connection: None")
            lam = lam.with_changes(body=cst.Call(func=target, args=kw))
            return call.with_changes(
                args=[first.with_changes(value=lam, comma=cst.MaybeSentinel.DEFAULT)]
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
    import ast

    def dump(stmts: list[cst.BaseStatement]) -> str | None:
        code = "".join(builder.code(s) for s in stmts)
        try:
            tree = ast.parse(
                "def _():\n" + "".join("    " + line + "\n" for line in code.splitlines())
            )
        except SyntaxError:
            return None
        body = tree.body[0].body
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
    # A sync def that opens `with <async engine>.connect()`: the §6 split, engine kept as it is.
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
            f.name.value
            for f in find_all(module, lambda n: isinstance(n, cst.FunctionDef))
            if f.asynchronous is None
        }
        module = _only_in_defs(module, sync_defs | targets, _BeginTransactionToSync(imports))
        module = _async_with_on_sync_engine(module, imports)
        imports = ImportMap.of_module(module)

    conn_type = plan_from_import(
        module, "sqlalchemy.engine", "Connection", prefer_alias="SAConnection"
    )
    blocks = _Blocks(module, imports, mode, conn_type)
    body: list[cst.BaseStatement] = []
    for stmt in module.body:
        blocks.new_defs = []
        new = stmt.visit(blocks)
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
            for with_node in find_all(
                node.body, lambda n: isinstance(n, cst.With) and n.asynchronous is not None
            ):
                for item in with_node.items:
                    receiver = (
                        dotted(item.item.func.value)
                        if _method(item.item) in ("connect", "begin")
                        else None
                    )
                    if receiver in scope.sync_engines:
                        qn = imports.within(node).qualname(scope.sync_engines[receiver].func)
                        wanted[receiver] = SYNC_FACTORIES[qn]
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
            if target in wanted and _engine_kind(updated_node.value, imports) == "sync":
                call = _drop_future(
                    updated_node.value.with_changes(func=cst.Name(locals_[wanted[target]]))
                )
                return updated_node.with_changes(value=call)
            return updated_node

    module = module.visit(_Swap())
    for name, local in locals_.items():
        module, _ = ensure_from_import(module, _ASYNC_MODULE, name, local=local)
    return prune_imports(module, SYNC_FACTORIES)


# --------------------------------------------------------------------------- ENV053 / ENV050 / ENV051


def repair_legacy_async_engine(source: str) -> RewriteResult:
    """ENV053: AsyncEngine(engine_from_config(A, prefix=P, poolclass=X, future=True)) ->
    async_engine_from_config(A, prefix=P, poolclass=X) (create_engine -> create_async_engine)."""
    return run(source, _repair_legacy)


def _legacy_inner(node: cst.CSTNode, imports: ImportMap) -> cst.Call | None:
    if _engine_kind(node, imports) != "wrap":
        return None
    args = node.args
    if len(args) != 1 or args[0].keyword is not None or args[0].star:
        return None
    return args[0].value if _engine_kind(args[0].value, imports) == "sync" else None


def _repair_legacy(module: cst.Module) -> cst.Module | None:
    all_imports = _all_imports(module)
    wraps = [
        n
        for n in find_all(module, lambda n: isinstance(n, cst.Call))
        if _legacy_inner(n, all_imports) is not None
    ]
    if not wraps:
        return None
    needed = {
        SYNC_FACTORIES[all_imports.qualname(_legacy_inner(w, all_imports).func)] for w in wraps
    }
    locals_ = {name: plan_from_import(module, _ASYNC_MODULE, name) for name in needed}

    class _Unwrap(cst.CSTTransformer):
        def leave_SimpleStatementLine(self, original_node, updated_node):
            return keep_comments([original_node], updated_node)

        def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
            inner = _legacy_inner(updated_node, all_imports)
            if inner is None:
                return updated_node
            factory = SYNC_FACTORIES[all_imports.qualname(inner.func)]
            new = _drop_future(inner.with_changes(func=cst.Name(locals_[factory])))
            return unwrap_call(updated_node, new)

    module = module.visit(_Unwrap())
    for name, local in locals_.items():
        module, _ = ensure_from_import(module, _ASYNC_MODULE, name, local=local)
    return prune_imports(module, [ASYNC_WRAP, *SYNC_FACTORIES])


def add_null_pool(source: str) -> RewriteResult:
    """ENV050: poolclass=NullPool on every async engine env.py builds without a pool choice."""
    return run(source, _add_null_pool)


def _async_factory_calls(module: cst.Module, imports: ImportMap) -> list[cst.Call]:
    """The calls that build an async engine: async factories, and the sync call inside AsyncEngine(...)."""
    out = []
    for node in find_all(module, lambda n: isinstance(n, cst.Call)):
        kind = _engine_kind(node, imports)
        if kind == "async":
            out.append(node)
        elif kind == "wrap":
            inner = _legacy_inner(node, imports)
            if inner is not None:
                out.append(inner)
    return out


def _add_null_pool(module: cst.Module) -> cst.Module | None:
    imports = _all_imports(module)
    todo = [
        c
        for c in _async_factory_calls(module, imports)
        if find_kwarg(c, "poolclass") is None and not has_star_kwargs(c)
    ]
    if not todo:
        return None
    targets = {id(c) for c in todo}
    module, nullpool = _nullpool_expr(module, ImportMap.of_module(module))
    builder = Builder(module)

    class _Add(cst.CSTTransformer):
        def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
            if id(original_node) in targets:
                return add_kwarg(updated_node, kwarg("poolclass", builder.expr(nullpool)))
            return updated_node

    return module.visit(_Add())


def _all_imports(module: cst.Module) -> ImportMap:
    """Module and function-local imports together (enough to recognise factory calls)."""
    imports = ImportMap.of_module(module)
    return imports.within(module)


def add_dispose(source: str) -> RewriteResult:
    """ENV051: `await engine.dispose()` after the work in the async def that built the engine."""
    return run(source, _add_dispose)


def _add_dispose(module: cst.Module) -> cst.Module | None:
    imports = ImportMap.of_module(module)
    builder = Builder(module)
    changed = False

    class _Dispose(cst.CSTTransformer):
        def leave_FunctionDef(
            self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
        ) -> cst.FunctionDef:
            nonlocal changed
            if updated_node.asynchronous is None or not isinstance(
                updated_node.body, cst.IndentedBlock
            ):
                return updated_node
            scope = _scope(updated_node, imports.within(updated_node))
            body = list(updated_node.body.body)
            for engine in sorted(scope.engines):
                disposed = find_all(
                    updated_node.body,
                    lambda n, engine=engine: (
                        _method(n) == "dispose" and dotted(n.func.value) == engine
                    ),
                    stop_at_defs=True,
                )
                if disposed or engine in {p.name.value for p in _params(updated_node)}:
                    continue
                users = [i for i, s in enumerate(body) if reads(s)[engine]]
                if not users:
                    continue
                last = body[users[-1]]
                if find_all(
                    last,
                    lambda n: isinstance(n, (cst.Return, cst.Global, cst.Nonlocal)),
                    stop_at_defs=True,
                ):
                    raise Refusal(
                        f"{updated_node.name.value}() hands the engine '{engine}' on, so it is not safe to dispose of it there"
                    )
                stmt = builder.stmt(f"await {engine}.dispose()").with_changes(
                    leading_lines=blank_lines(1)
                )
                body.insert(users[-1] + 1, stmt)
                changed = True
            return updated_node.with_changes(body=updated_node.body.with_changes(body=body))

    module = module.visit(_Dispose())
    return module if changed else None


# Which structural repair answers which rule (for quick-fixes and `fix`). Each one is a no-op
# (changed=False) on files where it has nothing to do, so applying them in this order to a
# broken async env.py is safe.
REPAIRS_BY_RULE = {
    "ENV053": repair_legacy_async_engine,
    "ENV005": repair_async_connection_configure,
    "ENV004": repair_async_connection_configure,
    "ENV006": repair_run_sync_misuse,
    "ENV003": repair_unawaited,
    "ENV050": add_null_pool,
    "ENV051": add_dispose,
}
