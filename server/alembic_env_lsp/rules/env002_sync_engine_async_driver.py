from ..drivers import driver_info, sync_alternative
from ..fixes.rewrites import convert_to_async_fix
from ..fixes.url import ini_related, scheme_fix, shown
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s


def check(ctx: RuleContext) -> None:
    for engine in ctx.facts.engines:
        if engine.is_async:
            continue
        url = engine.url
        scheme = url.scheme
        info = driver_info(url.text) if scheme and url.text else None
        if info is None or not info.known or info.sync_ok is not False:
            continue
        severity = ctx.severity_for(url)
        if severity is None:
            continue
        driver = info.driver or info.dialect
        message = (
            f"Sync engine with async-only driver '{driver}' ({shown(url)}, from {url.origin}). The first "
            f"connection will fail with MissingGreenlet (\"greenlet_spawn has not been called; can't call "
            f'await_() here"). Use the async env.py pattern or a sync driver for migrations.'
        )
        fixes = []
        alternative = sync_alternative(scheme) if scheme else None
        if alternative:
            fix = scheme_fix(
                ctx.source,
                url,
                alternative,
                f"Use sync driver '{alternative}' for migrations",
                safe=False,
            )
            if fix:
                fixes.append(fix)
        rewrite = convert_to_async_fix(ctx.source.text)
        if rewrite:
            fixes.insert(0, rewrite)
        node = url.literal if url.literal is not None else engine.call.node.func
        related = ini_related(
            url, RULE.code, message, severity, tuple(f for f in fixes if f is not rewrite)
        )
        ctx.report(message, node, severity=severity, fixes=fixes, related=related)


RULE = Rule(
    code="ENV002",
    name="sync-engine-async-driver",
    severity=Severity.ERROR,
    summary="A sync engine (`engine_from_config`, `create_engine`) gets an async-only driver such as asyncpg or aiosqlite.",
    docs=Docs(
        what=(
            "Finds sync engine factories whose URL names a driver that only works under asyncio "
            "(`+asyncpg`, `+aiosqlite`, `+aiomysql`, `+asyncmy`, `+aioodbc`, `+psycopg_async`, `+oracledb_async`), "
            "as SQLAlchemy's dialect registry reports it. The offline `url=` is never reported: no DBAPI is loaded there."
        ),
        why=(
            "The most common async mistake: the app uses `postgresql+asyncpg` and env.py is still the sync "
            "`generic` template. The first connection fails with `MissingGreenlet: greenlet_spawn has not been "
            "called; can't call await_() here`."
        ),
        example=(
            "# alembic.ini: sqlalchemy.url = postgresql+asyncpg://app@db/app\n"
            'connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.")'
        ),
        instead=(
            'connectable = async_engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)\n'
            "async with connectable.connect() as connection:\n"
            "    await connection.run_sync(do_run_migrations)"
        ),
        fix_safety=(
            "Unsafe, two choices: convert env.py to the async connection pattern of Alembic's `async` template "
            "(keeping comments and `configure()` options), or use a sync driver for migrations, which needs a "
            "second DBAPI installed (e.g. psycopg)."
        ),
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=s.ini("postgresql+asyncpg://app:secret@db/app"),
            span="engine_from_config",
            message="async-only driver 'asyncpg'",
        ),
        Example(
            "import sqlalchemy as sa\nengine = sa.create_engine('sqlite+aiosqlite:///app.db')\n",
            span="'sqlite+aiosqlite:///app.db'",
            fixed="import sqlalchemy as sa\nengine = sa.create_engine('sqlite:///app.db')\n",
            note="sa.-aliased import",
        ),
        Example(
            "from sqlalchemy import engine_from_config\n\ndef run():\n"
            "    from alembic import context\n"
            "    cfg = context.config\n"
            "    cfg.set_main_option('sqlalchemy.url', 'mysql+aiomysql://u@h/db')\n"
            "    engine = engine_from_config(cfg.get_section(cfg.config_ini_section, {}), prefix='sqlalchemy.')\n",
            span="'mysql+aiomysql://u@h/db'",
            note="URL set with set_main_option inside a function, imports inside the function",
        ),
    ),
    valid=(
        Example(
            "import os\nfrom sqlalchemy import create_engine\n"
            "engine = create_engine(os.environ['DATABASE_URL'].replace('+asyncpg', ''))\n",
            note="the async driver is stripped before use (URL otherwise unknown)",
        ),
        Example(
            "from sqlalchemy import create_engine\n"
            "engine = create_engine('postgresql+asyncpg://u@h/db'.replace('+asyncpg', ''))\n",
            note="the async driver is stripped before use",
        ),
        Example(
            "from alembic import context\n"
            "context.configure(url='postgresql+asyncpg://u@h/db', literal_binds=True)\n",
            note="offline url= with an async driver works: no DBAPI is loaded",
        ),
        Example(
            "from sqlalchemy import create_engine\nengine = create_engine('postgresql+psycopg://u@h/db')\n",
            note="psycopg serves both modes",
        ),
        Example(
            "from sqlalchemy import engine_from_config\nfrom sqlalchemy.ext.asyncio import AsyncEngine\n"
            "engine = AsyncEngine(engine_from_config({'sqlalchemy.url': 'sqlite+aiosqlite:///a.db'}, prefix='sqlalchemy.'))\n",
            note="a sync factory used only under the AsyncEngine wrapper",
        ),
    ),
)
