from ..drivers import driver_info
from ..model.facts import Confidence
from ..rule import Docs, Example, Rule, RuleContext, Severity


def _async_driver_removed(replaced) -> str | None:
    for old, new in replaced:
        if "+" in old and old.split("+", 1)[1] not in new:
            info = driver_info(f"x+{old.split('+', 1)[1].split(':', 1)[0]}://")
            driver = old.split("+", 1)[1].split(":", 1)[0]
            if (
                info is None
                or info.async_ok
                or driver.startswith("async")
                or driver.startswith("aio")
            ):
                return old
    return None


def check(ctx: RuleContext) -> None:
    for engine in ctx.facts.engines:
        url = engine.url
        if url.confidence is not Confidence.UNKNOWN or engine.url_node is None:
            continue  # a known URL is judged by ENV001/ENV002 on its real driver
        names = [n.upper() for n in url.names]
        if engine.is_async:
            sync_name = next(
                (
                    n
                    for n, u in zip(url.names, names, strict=True)
                    if "SYNC" in u and "ASYNC" not in u
                ),
                None,
            )
            if sync_name:
                ctx.report(
                    f"'{sync_name}' looks like the sync URL, but it is passed to an async engine.",
                    engine.url_node,
                )
                continue
            removed = _async_driver_removed(url.replaced)
            if removed:
                ctx.report(
                    f"'.replace(\"{removed}\", ...)' strips the async driver, but the URL is passed to an async engine.",
                    engine.url_node,
                )
        else:
            async_name = next(
                (n for n, u in zip(url.names, names, strict=True) if "ASYNC" in u), None
            )
            if async_name:
                ctx.report(
                    f"'{async_name}' looks like the async URL, but it is passed to a sync engine.",
                    engine.url_node,
                )


RULE = Rule(
    code="ENV060",
    name="url-name-suggests-other-mode",
    severity=Severity.INFO,
    summary="The URL comes from a name like `SYNC_DATABASE_URL` but feeds an async engine (or the reverse).",
    docs=Docs(
        what=(
            "When the URL cannot be read statically (settings, environment), looks at the names it comes "
            "through: `DATABASE_SYNC_URL` feeding an async engine, `ASYNC_DATABASE_URL` feeding a sync one, or "
            '`.replace("+asyncpg", "")` feeding an async engine. A heuristic, so only informational.'
        ),
        why=(
            'Projects often keep two URLs, one per driver, and env.py picks the wrong one: "The asyncio extension '
            'requires an async driver" or MissingGreenlet, only at run time.'
        ),
        example="connectable = create_async_engine(settings.SYNC_DATABASE_URL)",
        instead="connectable = create_async_engine(settings.DATABASE_URL)  # the asyncpg URL",
        fix_safety="No automatic fix: which URL is right is the project's choice.",
    ),
    check=check,
    invalid=(
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\nfrom app.config import settings\n"
            "engine = create_async_engine(settings.SYNC_DATABASE_URL)\n",
            span="settings.SYNC_DATABASE_URL",
        ),
        Example(
            "import os\nfrom sqlalchemy import create_engine\n"
            "engine = create_engine(os.environ['ASYNC_DATABASE_URL'])\n",
            span="os.environ['ASYNC_DATABASE_URL']",
        ),
        Example(
            "import os\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
            "engine = create_async_engine(os.environ['DATABASE_URL'].replace('+asyncpg', ''))\n",
            message="strips the async driver",
        ),
    ),
    valid=(
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\nfrom app.config import settings\n"
            "engine = create_async_engine(settings.DATABASE_URL)\n",
            note="DATABASE_URL says nothing",
        ),
        Example(
            "from sqlalchemy.ext.asyncio import create_async_engine\nfrom app.config import settings\n"
            "engine = create_async_engine(settings.ASYNC_DATABASE_URL)\n",
        ),
    ),
)
