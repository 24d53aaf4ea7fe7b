from ..drivers import async_alternative, driver_info
from ..findings import Fix
from ..fixes.url import ini_related, scheme_fix, shown
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s


def check(ctx: RuleContext) -> None:
    for engine in ctx.facts.engines:
        if not engine.is_async:
            continue
        url = engine.url
        scheme = url.scheme
        info = driver_info(url.text) if scheme and url.text else None
        if info is None or not info.known:
            continue
        # Under the legacy AsyncEngine(sync factory) wrapper, psycopg/oracledb do not switch
        # to their async variant; async factories do (SQLAlchemy's dialect registry, drivers.py).
        works = info.wrap_ok if engine.wrapped is not None else info.async_ok
        if works is not False:
            continue
        severity = ctx.severity_for(url)
        if severity is None:
            continue
        driver = info.driver or info.dialect
        message = (
            f"Async engine with sync-only driver '{driver}' ({shown(url)}, from {url.origin}). "
            f'SQLAlchemy will raise "The asyncio extension requires an async driver to be used. '
            f"The loaded '{driver}' is not async.\""
        )
        fixes: tuple[Fix, ...] = ()
        alternative = async_alternative(scheme) if scheme else None
        if alternative:
            fix = scheme_fix(
                ctx.source, url, alternative, f"Use async driver '{alternative}'", safe=False
            )
            fixes = (fix,) if fix else ()
        node = url.literal if url.literal is not None else engine.call.node.func
        related = ini_related(url, RULE.code, message, severity, fixes)
        ctx.report(message, node, severity=severity, fixes=fixes, related=related)


RULE = Rule(
    code="ENV001",
    name="async-engine-sync-driver",
    severity=Severity.ERROR,
    summary="An async engine (`create_async_engine`, `async_engine_from_config`) gets a URL whose driver is sync-only.",
    docs=Docs(
        what=(
            "Finds async engine factories whose URL (a literal, an `os.getenv` default, or `sqlalchemy.url` "
            "in alembic.ini) names a driver that SQLAlchemy's dialect registry says cannot run under asyncio. "
            "psycopg (v3) and oracledb serve both modes and are not reported, except under the legacy "
            "`AsyncEngine(engine_from_config(...))` wrapper, which never asks for their async variant."
        ),
        why=(
            'SQLAlchemy refuses when the engine is created: "The asyncio extension requires an async driver '
            "to be used. The loaded 'psycopg2' is not async.\" Every `alembic upgrade` fails."
        ),
        example=(
            "# alembic.ini: sqlalchemy.url = postgresql+psycopg2://app@db/app\n"
            'connectable = async_engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.")'
        ),
        instead="# alembic.ini: sqlalchemy.url = postgresql+asyncpg://app@db/app",
        fix_safety=(
            "Unsafe: switching the driver (e.g. to asyncpg) needs that package installed. The fix edits the "
            "scheme where the URL is written, in env.py or alembic.ini."
        ),
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            ini=s.ini("postgresql+psycopg2://app:secret@db/app"),
            span="async_engine_from_config",
            message="sync-only driver 'psycopg2' (postgresql+psycopg2://app:***@db/app",
            fixed_ini=s.ini("postgresql+asyncpg://app:secret@db/app"),
            note="URL from alembic.ini",
        ),
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine as cae\n"
            "engine = cae('sqlite:///app.db')\n",
            span="'sqlite:///app.db'",
            fixed="from sqlalchemy.ext.asyncio import create_async_engine as cae\n"
            "engine = cae('sqlite+aiosqlite:///app.db')\n",
            note="aliased import, literal URL",
        ),
        Example(
            "import os\nimport sqlalchemy.ext.asyncio as aio\n"
            "engine = aio.create_async_engine(os.getenv('DATABASE_URL', 'mysql+pymysql://u@h/db'))\n",
            span="'mysql+pymysql://u@h/db'",
            severity=Severity.WARNING,
            note="env var default: evidence drops error to warning",
        ),
        Example(
            "from sqlalchemy import engine_from_config\nfrom sqlalchemy.ext.asyncio import AsyncEngine\n"
            "engine = AsyncEngine(engine_from_config({'sqlalchemy.url': 'postgresql+psycopg://u@h/db'}, prefix='sqlalchemy.'))\n",
            message="'psycopg'",
            note="the legacy wrapper does not switch psycopg to its async dialect",
        ),
    ),
    valid=(
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            ini=s.ini("postgresql+psycopg://app@db/app"),
            note="psycopg (v3) works with async engines",
        ),
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\n"
            "engine = create_async_engine('oracle+oracledb://u@h/db')\n",
            note="oracledb serves both modes",
        ),
        Example(
            "import os\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
            "url = 'postgresql+psycopg2://u@h/db'.replace('postgresql+psycopg2', 'postgresql+asyncpg')\n"
            "engine = create_async_engine(url)\n",
            note="URL rewritten before use",
        ),
        Example(
            "from sqlalchemy.engine import make_url\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
            "engine = create_async_engine(make_url('sqlite:///a.db').set(drivername='sqlite+aiosqlite'))\n",
            note="driver set with URL.set(drivername=...)",
        ),
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            ini=s.ini("driver://user:pass@localhost/dbname"),
            note="unknown dialect: not this rule's business",
        ),
        Example(
            "import os\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
            "engine = create_async_engine(os.environ['DATABASE_URL'])\n",
            note="unknown URL: nothing to say",
        ),
        Example(
            "from alembic import context\n"
            "context.configure(url='postgresql+psycopg2://u@h/db', literal_binds=True)\n",
            note="offline url= is not an engine",
        ),
    ),
)
