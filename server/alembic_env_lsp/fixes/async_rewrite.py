"""Rewrite env.py to Alembic's async connection pattern (docs/architecture.md), and the structural
repairs for async env.py files that are wired wrongly (ENV003-ENV006, ENV050, ENV051, ENV053).

Every function takes the file's text and returns a RewriteResult; none touches the disk.
"""

from __future__ import annotations

from typing import cast

import libcst as cst

from .async_edits import (
    SYNC_ONLY_POOLS,
    config_expression,
    drop_future,
    nullpool_expression,
    rename_variable,
    replace_assigned_value,
    replace_statement,
    with_nullpool,
)
from .async_online import (
    _bare_return,
    _engine_uses,
    _find_online,
    _flow_escapes,
    _fresh,
    _listen_on_sync,
    _looks_async,
    _Online,
    _returns_in,
    _takes_params,
    _wrap_module_online,
)
from .async_shapes import normalize
from .refusal_lines import Lines, no_sync_connection
from .rewrite_common import Refusal, RewriteResult, run
from .rewrite_imports import (
    ensure_from_import,
    ensure_import_module,
    prune_imports,
    taken_names,
)
from .rewrite_names import (
    SYNC_FACTORIES,
    ImportMap,
    binds,
    dotted,
    engine_kind,
    reads,
)
from .rewrite_nodes import (
    Builder,
    blank_lines,
    carry_leading,
    comment_lines,
    comments_of,
    docstring_of,
    has_await,
    keep_comments,
    kwarg,
    leading_lines,
    sole_expr,
    trim_leading_blank,
    with_sole_expr,
)

__all__ = ["RewriteResult", "convert_to_async"]

_ASYNC_MODULE = "sqlalchemy.ext.asyncio"


def convert_to_async(
    source: str, *, sharing_branch: bool = True, async_driver: str | None = None
) -> RewriteResult:
    """The async pattern: sync online function -> do_run_migrations + run_async_migrations
    + asyncio.run, optionally with the connection-sharing branch.

    `async_driver` ("postgresql+asyncpg"): the driver for an engine built from another
    engine's URL (the application's), which keeps its sync driver otherwise."""
    return run(source, lambda module: _convert_to_async(module, sharing_branch, async_driver))


# --------------------------------------------------------------------------- finding the online function


def _convert_to_async(
    module: cst.Module, sharing_branch: bool, async_driver: str | None = None
) -> cst.Module | None:
    original = module
    imports = ImportMap.of_module(module)
    if not _looks_async(module, imports):
        module = normalize(module, imports, lambda node, imp: engine_kind(node, imp) == "sync")
        imports = ImportMap.of_module(module)
    plans, reasons = _find_online(module, imports)
    if not plans and not reasons and not _looks_async(module, imports):
        wrapped = _wrap_module_online(module, imports)
        if wrapped is not None:
            module = wrapped
            imports = ImportMap.of_module(module)
            module = normalize(module, imports, lambda node, imp: engine_kind(node, imp) == "sync")
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
        raise no_sync_connection(original)
    if len(sync_plans) > 1:
        names = ", ".join(f"{p.func.name.value}()" for p in sync_plans)
        raise Lines(module).refusal(
            sync_plans[1].func,
            f"more than one function connects to a database ({names}); convert a multi-database env.py by hand",
        )
    return _asyncify(
        module,
        imports,
        sync_plans[0],
        convert_factory=True,
        sharing_branch=sharing_branch,
        async_driver=async_driver,
    )


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
    lines = Lines(module)  # a refusal names the line that blocks the conversion
    if _takes_params(func):
        raise lines.refusal(
            func,
            f"{fname}() takes parameters; only a parameterless online function can be split safely",
        )
    escapes = [e for e in _flow_escapes(func) if not _bare_return(e)]
    if escapes:
        kind = type(escapes[0]).__name__.lower()
        raise lines.refusal(
            escapes[0],
            f"{fname}() contains a '{kind}' statement, which would change meaning once its body is split into several functions",
        )
    assert isinstance(func.body, cst.IndentedBlock)  # _online_in() checked it
    body: list[cst.BaseStatement] = list(func.body.body)
    doc = docstring_of(body)
    with_node = body[plan.with_at]
    assert isinstance(with_node, cst.With)
    if not isinstance(with_node.body, cst.IndentedBlock):
        raise lines.refusal(
            with_node,
            f"the 'with' block in {fname}() is written on one line; put its body on its own lines first",
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
            raise lines.refusal(
                with_node,
                f"the migration block uses the engine '{engine}' itself, which becomes an AsyncEngine that sync code cannot use",
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
        raise lines.refusal(
            with_node,
            f"the 'with' block in {fname}() returns early and code follows it; once the block is its own function that code would run, so move it by hand",
        )
    if has_await(with_node.body):
        raise lines.refusal(
            with_node, f"the 'with' block in {fname}() already awaits something; fix that first"
        )

    inner_binds = binds(*inner)
    post_reads = reads(*post)
    if post_reads[conn]:
        raise lines.refusal(
            next(s for s in post if reads(s)[conn]),
            f"'{conn}' is used after its 'with' block in {fname}()",
        )
    clash = sorted(n for n in inner_binds if post_reads[n])
    if clash:
        raise lines.refusal(
            next(s for s in post if reads(s)[clash[0]]),
            f"'{clash[0]}' is set inside the migration block and used after it, so the block cannot move into its own function",
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
            raise lines.refusal(
                stmt,
                f"'{both[0]}' is used both to build the engine and inside the migration block of {fname}(); split it by hand",
            )
        if in_body and engine is not None and reads(stmt)[engine]:
            raise lines.refusal(
                stmt,
                f"a statement before the 'with' in {fname}() uses the engine '{engine}' and feeds the migration block; read it from the connection instead (connection.dialect)",
            )
        if in_body and _returns_in([stmt]):
            raise lines.refusal(
                stmt,
                f"a 'return' in {fname}() sits in code that feeds the migration block; move it by hand",
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
        module, nullpool = nullpool_expression(module, plan.imports, taken)
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
        assert isinstance(factory, cst.Call)  # a sync factory call (_online_in)
        qualified = plan.imports.qualname(factory.func)
        assert qualified is not None
        sync_qualified = qualified
        async_name = SYNC_FACTORIES[qualified]
        module, local = ensure_from_import(module, _ASYNC_MODULE, async_name, taken=taken)
        module, nullpool = nullpool_expression(module, plan.imports, taken)
        factory = with_nullpool(
            drop_future(factory.with_changes(func=cst.Name(local))),
            plan.imports,
            nullpool,
            builder,
        )

    # def do_run_migrations(connection: Connection) -> None
    new_defs: list[cst.BaseStatement] = []
    if target is None:
        target = _fresh(taken, "do_run_migrations")
        if to_body and not leading_lines(inner[0]):
            inner = [inner[0].with_changes(leading_lines=blank_lines(1)), *inner[1:]]
        moved = _in_transaction(trim_leading_blank([*to_body, *inner]), builder)
        param = conn
        if (
            conn != "connection"
            and not reads(*moved)["connection"]
            and "connection" not in binds(*moved)
        ):
            param = "connection"
            moved = rename_variable(moved, conn, param)
        do_def = cast(
            cst.FunctionDef, builder.stmt(f"def {target}({param}: {conn_type}) -> None:\n    pass")
        )
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
        placeholder = cast(cst.SimpleStatementLine, builder.stmt(f"{engine} = None"))
        async_body.append(replace_assigned_value(placeholder, factory))
        opened = cast(cst.Call, item.item)  # `<engine>.connect()` (_online_in)
        func_attr = cast(cst.Attribute, opened.func)
        item = item.with_changes(
            item=opened.with_changes(func=func_attr.with_changes(value=cst.Name(engine)))
        )
    engine_stmt = None
    if plan.engine_stmt is not None:
        engine_line = cast(cst.SimpleStatementLine, plan.engine_stmt)  # `X = ...`
        engine_stmt = keep_comments(
            [plan.engine_stmt], replace_assigned_value(engine_line, factory)
        )
    if plan.engine_in_module and engine_stmt is not None:
        async_body.append(engine_stmt.with_changes(leading_lines=[]))
    for stmt in engine_side:
        is_engine = stmt is plan.engine_stmt and engine_stmt is not None
        async_body.append(cast(cst.BaseStatement, engine_stmt) if is_engine else stmt)
    run_sync = cast(cst.SimpleStatementLine, builder.stmt(f"await {conn}.run_sync({target})"))
    if extra_args:
        awaited = cast(cst.Await, sole_expr(run_sync))
        call = cast(cst.Call, awaited.expression)
        call = call.with_changes(
            args=[
                call.args[0].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                ),
                *extra_args,
            ]
        )
        run_sync = with_sole_expr(run_sync, awaited.with_changes(expression=call))
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
        first = cast(cst.SimpleStatementLine, dispose_stmts[0])  # `engine.dispose()`
        dispose = dispose.with_changes(
            leading_lines=leading_lines(first), trailing_whitespace=first.trailing_whitespace
        )
        dispose = keep_comments(dispose_stmts, dispose)
    async_body.append(dispose)
    runner_def = cast(cst.FunctionDef, builder.stmt(f"async def {runner}() -> None:\n    pass"))
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
        cfg = config_expression(module, ImportMap.of_module(module))
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
    new_defs[0] = new_defs[0].with_changes(leading_lines=leading_lines(func))
    new_func = new_func.with_changes(leading_lines=blank_lines(2))

    module = replace_statement(module, func, [*new_defs, new_func])
    if plan.engine_in_module and plan.engine_stmt is not None:
        module = _drop_module_stmt(module, plan.engine_stmt)
    if convert_factory and sync_qualified is not None:
        module = prune_imports(module, [sync_qualified, *SYNC_ONLY_POOLS])
    return module


def _drop_module_stmt(module: cst.Module, stmt: cst.BaseStatement) -> cst.Module:
    body: list[cst.BaseStatement] = list(module.body)
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


def _in_transaction(stmts: list[cst.BaseStatement], builder: Builder) -> list[cst.BaseStatement]:
    """Wrap a bare `context.run_migrations()` in `with context.begin_transaction():`.

    A sync block under `engine.begin()` needed none, but the async pattern also calls the
    helper with a shared connection (config.attributes), where nothing else commits; under
    `engine.begin()` Alembic sees the connection's transaction and the block does nothing."""
    code = cst.Module(body=[])
    if any("begin_transaction" in code.code_for_node(stmt) for stmt in stmts):
        return stmts
    out: list[cst.BaseStatement] = []
    for stmt in stmts:
        call = sole_expr(stmt)
        if (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "run_migrations"
        ):
            owner = code.code_for_node(call.func.value)
            block = cast(cst.With, builder.stmt(f"with {owner}.begin_transaction():\n    pass"))
            line = cast(cst.SimpleStatementLine, stmt)
            stmt = block.with_changes(
                body=block.body.with_changes(body=[line.with_changes(leading_lines=[])]),
                leading_lines=line.leading_lines,
            )
        out.append(stmt)
    return out


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
    if comments_of(inner[0]) - comments_of(*leading_lines(inner[0])):
        return None, []  # a comment inside the call would have nowhere to go
    if rest:
        rest[-1] = rest[-1].with_changes(
            comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=cst.SimpleWhitespace("")
        )
    return call.func.value, rest
