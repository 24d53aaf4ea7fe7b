import ast

from ..findings import Fix
from ..model.facts import CallFact, EnvFacts
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s
from ._common import insert_statement_before

SQL_METHODS = ("execute", "exec_driver_sql")


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    for configure in facts.configures:
        conn = configure.keyword("connection")
        if isinstance(conn, ast.Name):
            _check_point(ctx, conn.id, configure.call, awaited=False)
    for call in facts.calls:
        # `await conn.run_sync(do_run_migrations)` where do_run_migrations configures: SQL on
        # the AsyncConnection before it autobegins the same transaction.
        if (
            call.attr == "run_sync"
            and call.receiver
            and call.node.args
            and _configures(facts, call)
        ):
            _check_point(ctx, call.receiver, call, awaited=call.awaited)


def _configures(facts: EnvFacts, call: CallFact) -> bool:
    target = call.node.args[0]
    if not isinstance(target, ast.Name):
        return False
    fn = call.scope.lookup_function(target.id)
    if fn is None:
        return False
    return any(c.call.scope is fn for c in facts.configures)


def _check_point(ctx: RuleContext, var: str, point: CallFact, *, awaited: bool) -> None:
    scope = point.scope
    if any(_is_begin_of(w.item, var) for w in point.withs):
        return  # `with engine.begin() as conn`: the transaction is external on purpose
    if ctx.facts.runs_in_caller_transaction(scope):
        return  # run by `run_sync()` / a call inside `with engine.begin()`: that one commits
    line = point.node.lineno
    # SQL before an earlier configure() (or run_sync() of one) in this scope is that one's finding
    facts = ctx.facts
    since = max(
        [
            c.call.node.lineno
            for c in facts.configures
            if c.call.scope is scope and c.call.node.lineno < line
        ]
        + [
            c.node.lineno
            for c in facts.calls
            if c.attr == "run_sync"
            and c.scope is scope
            and c.node.lineno < line
            and _configures(facts, c)
        ],
        default=0,
    )
    window = [c for c in scope.calls if since < c.node.lineno < line]
    earlier = [c for c in window if c.receiver == var]
    sql = [(c, f"'{var}.{c.attr}()'") for c in earlier if c.attr in SQL_METHODS]
    sql += [(c, what) for c in window if (what := _helper_runs_sql(c, var)) is not None]
    sql.sort(key=lambda pair: (pair[0].node.lineno, pair[0].node.col_offset))
    for call, what in sql:
        if any(
            c.attr in ("commit", "rollback") and c.node.lineno > call.node.lineno for c in earlier
        ):
            continue
        if any(_is_begin(w.item, var) and w not in point.withs for w in call.withs):
            continue  # inside `with conn.begin():` that commits before configure
        if any(_binds(w.item, var) and w not in point.withs for w in call.withs):
            continue  # another connection under the same name, closed before configure
        if scope.last_assignment(var, call.node.lineno) is not scope.last_assignment(var, line):
            continue  # the name was bound to another connection in between
        commit = f"await {var}.commit()" if awaited else f"{var}.commit()"
        fixes = []
        edit = insert_statement_before(ctx.source, point.stmt, commit)
        if edit is not None:
            fixes.append(
                Fix(
                    f"Commit before {'run_sync' if point.attr == 'run_sync' else 'configure'}()",
                    (edit,),
                )
            )
        ctx.report(
            f"{what} before context.configure() starts a transaction that Alembic treats as "
            f"external: context.begin_transaction() then does not commit, and the migration's changes may be "
            f"rolled back when the connection closes. Call {commit} before configure().",
            call.node,
            fixes=fixes,
        )
        return


def _helper_runs_sql(call: CallFact, var: str) -> str | None:
    """`set_search_path(connection)`: a local function handed the connection runs SQL on it
    and does not commit: "'set_search_path(connection)' (connection.execute())"."""
    func = call.node.func
    if not isinstance(func, ast.Name):
        return None
    helper = call.scope.lookup_function(func.id)
    if helper is None:
        return None
    positions = [i for i, a in enumerate(call.node.args) if isinstance(a, ast.Name) and a.id == var]
    params = [helper.params[i].arg for i in positions if i < len(helper.params)]
    params += [
        kw.arg
        for kw in call.node.keywords
        if kw.arg and isinstance(kw.value, ast.Name) and kw.value.id == var
    ]
    for param in params:
        on_it = [c for c in helper.calls if c.receiver == param]
        runs = [c for c in on_it if c.attr in SQL_METHODS]
        if runs and not any(c.attr in ("commit", "rollback") for c in on_it):
            return f"'{func.id}()' (it runs '{param}.{runs[0].attr}()')"
    return None


def _is_begin(item: ast.withitem, var: str) -> bool:
    expr = item.context_expr
    return (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "begin"
        and isinstance(expr.func.value, ast.Name)
        and expr.func.value.id == var
    )


def _binds(item: ast.withitem, var: str) -> bool:
    return isinstance(item.optional_vars, ast.Name) and item.optional_vars.id == var


def _is_begin_of(item: ast.withitem, var: str) -> bool:
    """`with <engine>.begin() as var:`"""
    expr = item.context_expr
    return (
        isinstance(item.optional_vars, ast.Name)
        and item.optional_vars.id == var
        and isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "begin"
    )


_SEARCH_PATH = """\
from alembic import context
from sqlalchemy import engine_from_config, pool, text

config = context.config


def run_migrations_online():
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}), poolclass=pool.NullPool)
    with connectable.connect() as connection:
        connection.execute(text("SET search_path TO app"))
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
"""

_ASYNC = (
    s.ASYNC_IMPORTS
    + "from sqlalchemy import text\n"
    + s.HEADER
    + s.ASYNC_ONLINE.replace(
        "    async with connectable.connect() as connection:\n",
        "    async with connectable.connect() as connection:\n"
        '        await connection.execute(text("CREATE SCHEMA IF NOT EXISTS app"))\n',
    )
)

RULE = Rule(
    code="ENV008",
    name="sql-before-configure",
    severity=Severity.WARNING,
    summary="SQL runs on the migration connection before `context.configure()`, so Alembic never commits.",
    docs=Docs(
        what=(
            "Finds `connection.execute(...)` / `exec_driver_sql(...)` on the connection that is then passed to "
            "`context.configure(connection=...)` (or, in the async layout, on the AsyncConnection before "
            "`run_sync(do_run_migrations)`), with no `commit()` or `rollback()` in between."
        ),
        why=(
            "SQLAlchemy 2.x autobegins a transaction on the first statement. Alembic records at configure() time "
            "that the connection is already in a transaction, treats it as external, and `begin_transaction()` "
            'becomes a no-op that never commits: on PostgreSQL the upgrade logs "Running upgrade" and exits 0, '
            "but the changes may be rolled back when the connection closes."
        ),
        example='connection.execute(text("SET search_path TO app"))\ncontext.configure(connection=connection)',
        instead=(
            'connection.execute(text("SET search_path TO app"))\nconnection.commit()\n'
            "context.configure(connection=connection)"
        ),
        fix_safety="Safe: inserts `connection.commit()` (awaited for an AsyncConnection) before configure()/run_sync().",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            _SEARCH_PATH,
            span='connection.execute(text("SET search_path TO app"))',
            message="may be rolled back",
            fixed=_SEARCH_PATH.replace(
                "        context.configure(connection=connection)\n",
                "        connection.commit()\n        context.configure(connection=connection)\n",
            ),
        ),
        Example(
            _ASYNC,
            span='connection.execute(text("CREATE SCHEMA IF NOT EXISTS app"))',
            fixed=_ASYNC.replace(
                "        await connection.run_sync(do_run_migrations)\n",
                "        await connection.commit()\n        await connection.run_sync(do_run_migrations)\n",
            ),
            note="async layout: SQL on the AsyncConnection before run_sync",
        ),
        Example(
            "from alembic import context\nfrom sqlalchemy import text\n\n"
            "def do_run_migrations(connection):\n"
            "    connection.exec_driver_sql('SET lock_timeout = 5000')\n"
            "    context.configure(connection=connection)\n"
            "    with context.begin_transaction():\n        context.run_migrations()\n",
            span="connection.exec_driver_sql('SET lock_timeout = 5000')",
            note="exec_driver_sql inside the run_sync callback",
        ),
    ),
    valid=(
        Example(
            _SEARCH_PATH.replace(
                "        context.configure(connection=connection)\n",
                "        connection.commit()\n        context.configure(connection=connection)\n",
            ),
            note="committed before configure",
        ),
        Example(
            _SEARCH_PATH.replace(
                '        connection.execute(text("SET search_path TO app"))\n',
                '        with connection.begin():\n            connection.execute(text("SET search_path TO app"))\n',
            ),
            note="inside `with connection.begin():` that commits before configure",
        ),
        Example(
            _SEARCH_PATH.replace(
                "connectable.connect() as connection", "connectable.begin() as connection"
            ),
            note="engine.begin(): the external transaction is intended and committed by the with block",
        ),
        Example(
            _SEARCH_PATH.replace(
                '        connection.execute(text("SET search_path TO app"))\n        context.configure(connection=connection)\n',
                '        context.configure(connection=connection)\n        connection.execute(text("SET search_path TO app"))\n',
            ),
            note="SQL after configure is Alembic's business",
        ),
        Example(s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS), note="the async template"),
        Example(
            _SEARCH_PATH.replace(
                "    with connectable.connect() as connection:\n",
                "    with connectable.connect() as connection:\n"
                '        connection.execute(text("SELECT 1"))\n'
                "    with connectable.connect() as connection:\n",
            ).replace('        connection.execute(text("SET search_path TO app"))\n', ""),
            note="the same name for an earlier connection that is already closed",
        ),
    ),
)
