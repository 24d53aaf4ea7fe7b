import ast

from ..drivers import split_scheme
from ..findings import Fix, Severity
from ..fixes.edits import local_name_for, wrap_in_block
from ..knowledge import transactional_ddl
from ..model.qualify import qualified_name
from ..rule import Docs, Example, Rule, RuleContext
from . import _snippets as s

BEGIN_TRANSACTION = "alembic.context.begin_transaction"


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    for call in facts.calls_named("alembic.context.run_migrations"):
        if facts.path_of(call) not in ("online", "both"):
            continue
        if any(_opens_transaction(w.item.context_expr, w.scope) for w in call.withs):
            continue
        if facts.runs_in_caller_transaction(call.scope):
            continue  # every caller runs it inside `with engine.begin()`, which commits
        if _run_sync_under_begin_transaction(facts, call.scope):
            continue  # inside a transaction begun on the event loop: ENV005 reports that
        scope = call.scope
        configures = [c for c in facts.configures if c.call.scope is scope] or [
            c for c in facts.configures if c.mode == "online"
        ]
        if any(c.mode == "offline" and c.call.scope is scope for c in configures):
            continue  # offline never persists anything; --sql output only lacks BEGIN/COMMIT
        if any(_true(c.keyword("transaction_per_migration")) for c in configures):
            continue  # each revision commits on its own
        if any(c.attr in ("commit", "begin", "begin_twophase") for c in scope.calls):
            continue  # the transaction is managed by hand (multidb template)
        severity = Severity.ERROR if _transactional_online_dialect(facts) else Severity.WARNING
        context_name = local_name_for(facts, "alembic.context") or "context"
        fixes = []
        if isinstance(call.parent, ast.Expr):
            edits = wrap_in_block(
                ctx.source, [call.parent], f"with {context_name}.begin_transaction()"
            )
            if edits:
                fixes.append(Fix("Wrap in 'with context.begin_transaction():'", tuple(edits)))
        ctx.report(
            "context.run_migrations() is not inside 'with context.begin_transaction():'. On PostgreSQL and other "
            "transactional-DDL backends the changes are rolled back when the connection closes (SQLAlchemy 2.x "
            "does not autocommit).",
            call.node,
            severity=severity,
            fixes=fixes,
        )


def _run_sync_under_begin_transaction(facts, scope) -> bool:
    """`scope` (a lambda or a function) is what an `await conn.run_sync(...)` inside a sync
    `with context.begin_transaction():` of an async def runs."""
    for call in facts.calls:
        if call.attr != "run_sync" or not call.scope.is_async:
            continue
        if not any(
            not w.is_async
            and isinstance(w.item.context_expr, ast.Call)
            and qualified_name(w.item.context_expr.func, w.scope) == BEGIN_TRANSACTION
            for w in call.withs
        ):
            continue
        for arg in call.node.args:
            if arg is scope.node or (isinstance(arg, ast.Name) and arg.id == scope.name):
                return True
    return False


def _opens_transaction(expr: ast.expr, scope) -> bool:
    if not isinstance(expr, ast.Call):
        return False
    if qualified_name(expr.func, scope) == BEGIN_TRANSACTION:
        return True
    return isinstance(expr.func, ast.Attribute) and expr.func.attr in ("begin", "begin_twophase")


def _true(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _transactional_online_dialect(facts) -> bool:
    for engine in facts.engines:
        if facts.path_of(engine.call) in ("online", "both") and engine.url.scheme:
            dialect = (split_scheme(engine.url.text) or (None, None))[0]
            if dialect:
                return bool(transactional_ddl(dialect))
    return False


RULE = Rule(
    code="ENV007",
    name="run-migrations-outside-transaction",
    severity=Severity.ERROR,
    summary="`context.run_migrations()` runs online without `with context.begin_transaction():`, so nothing is committed.",
    docs=Docs(
        what=(
            "Finds online-path `context.run_migrations()` calls that are not inside `with "
            "context.begin_transaction():` (or a transaction the file opens itself). Error when the online "
            "URL's dialect has transactional DDL per Alembic (PostgreSQL, SQL Server), warning otherwise."
        ),
        why=(
            "SQLAlchemy 2.x connections autobegin and roll back at close unless something commits. Alembic logs "
            '"Running upgrade ... -> ..." and exits 0, but PostgreSQL keeps no tables and no version row. '
            "SQLite persists, which hides the bug in local development."
        ),
        example="context.configure(connection=connection)\ncontext.run_migrations()",
        instead="context.configure(connection=connection)\nwith context.begin_transaction():\n    context.run_migrations()",
        fix_safety="Safe: wraps the call in `with context.begin_transaction():`.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from sqlalchemy import create_engine\nfrom alembic import context\n\n"
            "def run_migrations_online():\n"
            "    engine = create_engine('postgresql+psycopg2://u@h/db')\n"
            "    with engine.connect() as connection:\n"
            "        context.configure(connection=connection)\n"
            "        context.run_migrations()  # keep this comment\n\n\nrun_migrations_online()\n",
            span="context.run_migrations()",
            fixed="from sqlalchemy import create_engine\nfrom alembic import context\n\n"
            "def run_migrations_online():\n"
            "    engine = create_engine('postgresql+psycopg2://u@h/db')\n"
            "    with engine.connect() as connection:\n"
            "        context.configure(connection=connection)\n"
            "        with context.begin_transaction():\n"
            "            context.run_migrations()  # keep this comment\n\n\nrun_migrations_online()\n",
        ),
        Example(
            "from sqlalchemy import create_engine\nfrom alembic import context\n\n"
            "engine = create_engine('sqlite:///a.db')\n"
            "with engine.connect() as connection:\n"
            "    context.configure(connection=connection)\n"
            "    context.run_migrations()\n",
            severity=Severity.WARNING,
            note="SQLite has no transactional DDL: warning",
        ),
    ),
    valid=(
        Example(s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS), note="the generic template"),
        Example(
            "from alembic import context\n\ndef run(connection):\n"
            "    context.configure(connection=connection, transaction_per_migration=True)\n"
            "    context.run_migrations()\n",
            note="transaction_per_migration=True commits each revision",
        ),
        Example(
            "from alembic import context\n\ndef run(engine):\n    conn = engine.connect()\n"
            "    trans = conn.begin()\n    context.configure(connection=conn)\n    context.run_migrations()\n"
            "    trans.commit()\n",
            note="the multidb template manages its own transaction",
        ),
        Example(
            "from alembic import context\n\nif context.is_offline_mode():\n"
            "    context.configure(url='sqlite://')\n    context.run_migrations()\n",
            note="offline mode never persists anything",
        ),
    ),
)
