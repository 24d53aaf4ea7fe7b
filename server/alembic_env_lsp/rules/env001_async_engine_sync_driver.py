from ..drivers import async_alternative
from ..findings import Fix
from ..fixes.url import ini_related, scheme_fix, shown
from ..pyenv import bare_default_driver, driver_info_for, judged_environment
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s


def check(ctx: RuleContext) -> None:
    judged: list = []  # looked up once, and only for a bare scheme
    for engine in ctx.facts.engines:
        if not engine.is_async:
            continue
        url = engine.url
        scheme = url.scheme
        # A bare `postgresql://` loads what the PROJECT's SQLAlchemy picks (2.0: psycopg2).
        version = None
        if scheme and bare_default_driver(scheme, "2.0") is not None:
            if not judged:
                env = judged_environment(ctx)
                judged.append((env, env.version("sqlalchemy") if env is not None else None))
            version = judged[0][1]
        info = driver_info_for(url.text, version) if scheme and url.text else None
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
        if version is not None and info.driver:
            env = judged[0][0]
            where = f", {env.where}" if env is not None else ""
            message += (
                f" A bare '{scheme}://' loads {info.driver} on SQLAlchemy {version}{where}; "
                f"2.1 loads {bare_default_driver(scheme or '', '2.1')}."
            )
        fixes: tuple[Fix, ...] = ()
        named = f"{info.dialect}+{info.driver}" if version is not None and info.driver else scheme
        alternative = async_alternative(named) if named else None
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
            "`AsyncEngine(engine_from_config(...))` wrapper, which never asks for their async variant. A bare "
            "`postgresql://` is judged with the project's SQLAlchemy: 2.0 loads psycopg2 (sync only), 2.1 psycopg."
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
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            ini=s.ini("postgresql://app@db/app"),
            environment=(("sqlalchemy", "2.0.36"),),
            span="async_engine_from_config",
            message="A bare 'postgresql://' loads psycopg2 on SQLAlchemy 2.0.36, installed here",
            fixed_ini=s.ini("postgresql+asyncpg://app@db/app"),
            note="the project's SQLAlchemy 2.0 loads psycopg2 for a bare postgresql://",
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
