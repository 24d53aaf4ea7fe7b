from ..fixes.url import ini_related, scheme_fix
from ..knowledge import version_tuple
from ..pyenv import bare_default_driver, driver_info_for, judged_environment
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s

# How the message names a driver where its module name alone is ambiguous.
LABELS = {"psycopg": "psycopg (v3)"}


def check(ctx: RuleContext) -> None:
    for engine in ctx.facts.engines:
        url = engine.url
        scheme = url.scheme
        if not scheme:
            continue
        # what a bare scheme loads on each release (driver_tables, checked against SQLAlchemy)
        module21 = bare_default_driver(scheme, "2.1")
        old20 = bare_default_driver(scheme, "2.0")
        if module21 is None or old20 is None:
            continue
        # the project's SQLAlchemy decides which driver a bare scheme picks
        env = judged_environment(ctx)
        version = env.version("sqlalchemy") if env is not None else None
        # judged with that version: where it fails outright, ENV001/ENV002 say so instead
        info = driver_info_for(scheme, version)
        if info is None or not info.known:
            continue
        works = (
            info.wrap_ok
            if engine.wrapped is not None
            else info.async_ok
            if engine.is_async
            else info.sync_ok
        )
        if works is False:
            continue  # ENV001/ENV002 say it fails outright
        severity = ctx.severity_for(url)
        if severity is None:
            continue
        new21 = LABELS.get(module21, module21)
        if env is None:
            seen = "no project environment was found to tell which SQLAlchemy it runs"
        elif version:
            seen = f"SQLAlchemy {version} is installed {env.where.removeprefix('installed ')}"
        else:
            seen = f"SQLAlchemy is not installed {env.where.removeprefix('installed ')}"
        if engine.is_async:
            consequence = (
                f"fails: \"The loaded '{old20}' is not async\""
                if scheme == "postgresql"
                else "is sync only"
            )
            message = (
                f"'{scheme}://' selects {new21} on SQLAlchemy 2.1+ (works with async engines) but {old20} on 2.0 "
                f"({consequence}); {seen}. Name the driver explicitly."
            )
        else:
            message = (
                f"'{scheme}://' selects {new21} on SQLAlchemy 2.1+ but {old20} on 2.0; {seen}. An environment with "
                f"only {old20} installed fails on 2.1 with \"No module named '{module21}'\". Name the driver explicitly."
            )
        target = (
            f"{info.dialect}+{info.driver}"
            if info.driver and version_tuple(version)[:2] >= (2, 1)
            else (f"{scheme}+{module21}")
        )
        fix = scheme_fix(ctx.source, url, target, f"Use '{target}://'", safe=False)
        fixes = (fix,) if fix else ()
        node = url.literal if url.literal is not None else engine.call.node.func
        ctx.report(
            message,
            node,
            severity=severity,
            fixes=fixes,
            related=ini_related(url, RULE.code, message, severity, fixes),
        )


RULE = Rule(
    code="ENV057",
    name="bare-dialect-url",
    severity=Severity.INFO,
    summary="A bare `postgresql://` or `oracle://` URL picks a different driver on SQLAlchemy 2.0 and 2.1.",
    docs=Docs(
        what=(
            "Notes engine URLs (literal, default or alembic.ini) that name no driver for PostgreSQL or Oracle, and "
            "says which SQLAlchemy version the project's environment has. When that version makes the engine fail "
            "(an async engine on SQLAlchemy 2.0 gets psycopg2), ENV001 reports the error instead. Offline `url=` "
            "is not checked: no driver is loaded there."
        ),
        why=(
            "SQLAlchemy 2.1 made psycopg (v3) the default for `postgresql://` and oracledb for `oracle://`; 2.0 used "
            "psycopg2 and cx_oracle. The same env.py then works or fails depending on the installed SQLAlchemy: an "
            "async engine on 2.0 gets \"The loaded 'psycopg2' is not async\", a sync one on 2.1 \"No module named 'psycopg'\"."
        ),
        example="# alembic.ini\nsqlalchemy.url = postgresql://app@db/app",
        instead="# alembic.ini\nsqlalchemy.url = postgresql+psycopg://app@db/app",
        fix_safety="Unsafe: names the driver the installed SQLAlchemy picks; the project's deployment must have it.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            ini=s.ini("postgresql://app:secret@db/app"),
            span="async_engine_from_config",
            message="(works with async engines) but psycopg2 on 2.0",
            fixed_ini=s.ini("postgresql+psycopg://app:secret@db/app"),
        ),
        Example(
            "from sqlalchemy import create_engine\n\nengine = create_engine('oracle://u@h/db')\n",
            span="'oracle://u@h/db'",
            message="selects oracledb on SQLAlchemy 2.1+ but cx_oracle on 2.0",
            fixed="from sqlalchemy import create_engine\n\nengine = create_engine('oracle+oracledb://u@h/db')\n",
        ),
    ),
    valid=(
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            ini=s.ini("postgresql+asyncpg://app@db/app"),
        ),
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            ini=s.ini("postgresql://app@db/app"),
            environment=(("sqlalchemy", "2.0.36"),),
            note="on the project's SQLAlchemy 2.0 it fails outright: ENV001's error, not this note",
        ),
        Example(
            "from alembic import context\n\ncontext.configure(url='postgresql://u@h/db', literal_binds=True)\n",
            note="offline url= loads no driver",
        ),
        Example(
            "from sqlalchemy import create_engine\n\nengine = create_engine('sqlite:///a.db')\n"
        ),
    ),
)
