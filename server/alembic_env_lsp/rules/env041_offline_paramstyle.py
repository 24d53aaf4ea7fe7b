import ast

from ..drivers import driver_info
from ..findings import Fix
from ..fixes.edits import add_keyword
from ..knowledge import offline_paramstyle
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s
from ._common import constant_str

DOUBLING = ("pyformat", "format")


def check(ctx: RuleContext) -> None:
    for configure in ctx.facts.configures:
        if (
            configure.keyword("connection") is not None
            or configure.call.node.args
            or configure.has_splat
        ):
            continue
        if configure.keyword("url") is None and configure.keyword("dialect_name") is None:
            continue
        opts = configure.keyword("dialect_opts")
        if opts is not None and not (
            isinstance(opts, ast.Dict) and "paramstyle" not in _keys(opts)
        ):
            continue
        severity, driver = _severity(ctx, configure)
        fixes = []
        if opts is None:
            fixes.append(
                Fix(
                    'Add dialect_opts={"paramstyle": "named"}',
                    (
                        add_keyword(
                            ctx.source, configure.call.node, 'dialect_opts={"paramstyle": "named"}'
                        ),
                    ),
                )
            )
        shown = f"for {driver} " if driver else ""
        ctx.report(
            f'Without dialect_opts={{"paramstyle": "named"}}, a \'%\' in literal SQL is written doubled in '
            f"--sql output {shown}('50%% off').",
            opts if opts is not None else configure.call.node.func,
            severity=severity,
            fixes=fixes,
        )


def _keys(node: ast.Dict) -> set[str]:
    return {k for k in (constant_str(key) for key in node.keys) if k}


def _severity(ctx: RuleContext, configure) -> tuple[Severity, str | None]:
    url = configure.url
    scheme = url.scheme if url is not None else None
    if scheme is None:
        scheme = constant_str(configure.keyword("dialect_name"))
        confidence_ok = scheme is not None
    else:
        confidence_ok = ctx.severity_for(url, Severity.WARNING) is Severity.WARNING
    if not scheme or not confidence_ok:
        return Severity.INFO, None
    info = driver_info(scheme)
    if info is None or not info.known:
        return Severity.INFO, None
    style = offline_paramstyle(scheme)
    driver = info.driver or info.dialect
    if style in DOUBLING:
        return Severity.WARNING, f"{driver} ({style} paramstyle)"
    return Severity.INFO, None


_OFFLINE = """from alembic import context

config = context.config


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
"""

RULE = Rule(
    code="ENV041",
    name="offline-paramstyle",
    severity=Severity.INFO,
    summary='The offline `configure(url=...)` lacks `dialect_opts={"paramstyle": "named"}`, so `%` is doubled in `--sql` output.',
    docs=Docs(
        what=(
            "Finds offline `context.configure()` calls (`url=` or `dialect_name=`, no `connection=`) without "
            '`dialect_opts={"paramstyle": "named"}`. Warning when the offline URL\'s driver uses the pyformat or format '
            "paramstyle (psycopg2, psycopg, PyMySQL, mysqlclient: asked of SQLAlchemy's dialect), info otherwise."
        ),
        why=(
            "Offline, Alembic compiles SQL with the dialect's default paramstyle. Pyformat and format drivers escape "
            "'%' as '%%', so `op.execute(\"UPDATE t SET note = '50% off'\")` is written as '50%% off' in the script "
            "that `alembic upgrade --sql` produces. The named paramstyle (the template's default since alembic 1.1) "
            "avoids that."
        ),
        example="context.configure(url=url, target_metadata=target_metadata, literal_binds=True)",
        instead=(
            "context.configure(url=url, target_metadata=target_metadata, literal_binds=True,\n"
            '                  dialect_opts={"paramstyle": "named"})'
        ),
        fix_safety="Safe: only changes how offline SQL is rendered, as Alembic's templates do.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            _OFFLINE,
            ini=s.ini("postgresql+psycopg2://app@db/app"),
            span="context.configure",
            severity=Severity.WARNING,
            message="for psycopg2 (pyformat paramstyle)",
            fixed=_OFFLINE.replace(
                "literal_binds=True)", 'literal_binds=True, dialect_opts={"paramstyle": "named"})'
            ),
        ),
        Example(
            _OFFLINE,
            ini=s.ini("sqlite:///app.db"),
            severity=Severity.INFO,
            note="qmark drivers do not double '%': info",
        ),
        Example(
            _OFFLINE.replace(
                "literal_binds=True)", "literal_binds=True, dialect_opts={'stuff': 1})"
            ),
            severity=Severity.INFO,
            span="{'stuff': 1}",
            note="dialect_opts without paramstyle; URL unknown",
        ),
    ),
    valid=(
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=s.ini("postgresql+psycopg2://app@db/app"),
        ),
        Example(
            _OFFLINE.replace(
                "literal_binds=True)", "literal_binds=True, dialect_opts=DIALECT_OPTS)"
            ),
            note="options built elsewhere",
        ),
        Example(
            "from alembic import context\n\ndef run(connection):\n    context.configure(connection=connection)\n",
            note="online configure",
        ),
    ),
)
