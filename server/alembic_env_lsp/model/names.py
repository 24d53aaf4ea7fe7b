"""Canonical names of the APIs env.py uses, and how to recognise them.

These are import paths (where a function lives), not knowledge about drivers: the
driver verdicts come from SQLAlchemy itself (see drivers.py).
"""

from __future__ import annotations

CONTEXT = "alembic.context"
CONFIG = "alembic.context.config"

SYNC_FACTORIES = frozenset(
    {
        "sqlalchemy.create_engine",
        "sqlalchemy.engine.create_engine",
        "sqlalchemy.engine.create.create_engine",
        "sqlalchemy.engine_from_config",
        "sqlalchemy.engine.engine_from_config",
        "sqlalchemy.engine.create.engine_from_config",
        "sqlmodel.create_engine",
    }
)
ASYNC_FACTORIES = frozenset(
    {
        "sqlalchemy.ext.asyncio.create_async_engine",
        "sqlalchemy.ext.asyncio.engine.create_async_engine",
        "sqlalchemy.ext.asyncio.async_engine_from_config",
        "sqlalchemy.ext.asyncio.engine.async_engine_from_config",
    }
)
ASYNC_WRAPPERS = frozenset(
    {"sqlalchemy.ext.asyncio.AsyncEngine", "sqlalchemy.ext.asyncio.engine.AsyncEngine"}
)
FROM_CONFIG_FACTORIES = frozenset(
    name for name in SYNC_FACTORIES | ASYNC_FACTORIES if name.endswith("from_config")
)

LOG_SETUP = frozenset(
    {
        "logging.config.fileConfig",
        "logging.config.dictConfig",
        "logging.basicConfig",
    }
)
FILE_CONFIG = "logging.config.fileConfig"

RUNNERS = frozenset(
    {
        "asyncio.run",
        "asyncio.runners.run",
        "anyio.run",
        "trio.run",
        "uvloop.run",
    }
)
SCHEDULERS = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
SCHEDULER_METHODS = frozenset({"create_task", "ensure_future"})

NULL_POOL_SUFFIX = "NullPool"
URL_BUILDERS = frozenset(
    {
        "sqlalchemy.make_url",
        "sqlalchemy.engine.make_url",
        "sqlalchemy.engine.url.make_url",
        "sqlalchemy.URL.create",
        "sqlalchemy.engine.URL.create",
        "sqlalchemy.engine.url.URL.create",
    }
)
ENV_GETTERS = frozenset({"os.getenv", "os.environ.get"})

# What `target_metadata` may be built from (ENV031, ENV032).
DECLARATIVE_BASE_CLASSES = frozenset(
    {
        "sqlalchemy.orm.DeclarativeBase",
        "sqlalchemy.orm.DeclarativeBaseNoMeta",
        "sqlalchemy.orm.decl_api.DeclarativeBase",
        "sqlalchemy.orm.decl_api.DeclarativeBaseNoMeta",
        "sqlmodel.SQLModel",
        "sqlmodel.main.SQLModel",
    }
)
DECLARATIVE_BASE_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.declarative_base",
        "sqlalchemy.orm.decl_api.declarative_base",
        "sqlalchemy.ext.declarative.declarative_base",
    }
)
REGISTRY_FACTORIES = frozenset({"sqlalchemy.orm.registry", "sqlalchemy.orm.decl_api.registry"})
METADATA_FACTORIES = frozenset(
    {"sqlalchemy.MetaData", "sqlalchemy.schema.MetaData", "sqlalchemy.sql.schema.MetaData"}
)
SQLMODEL = "sqlmodel.SQLModel"


# Coroutine methods of AsyncConnection / AsyncEngine that do nothing unless awaited.
ASYNC_METHODS = frozenset(
    {"run_sync", "dispose", "commit", "close", "execute", "begin", "rollback"}
)

# Names of helpers that set up logging in application code (ENV022, docs/rules.md).
LOG_HELPER_WORDS = (
    "setup_logging",
    "configure_logging",
    "init_logging",
    "setup_logger",
    "configure_logger",
)


def short(qname: str | None) -> str:
    return qname.rsplit(".", 1)[-1] if qname else ""
