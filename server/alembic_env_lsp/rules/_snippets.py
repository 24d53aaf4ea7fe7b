"""Pieces the rule examples share, so each example shows only what matters to its rule."""

HEADER = """\
from logging.config import fileConfig

from alembic import context

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
target_metadata = None
"""

OFFLINE = """
def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()
"""

DISPATCH = """
if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
"""

INI_LOGGING = """
[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""


def ini(url: str, logging: bool = True) -> str:
    text = f"[alembic]\nscript_location = %(here)s\nsqlalchemy.url = {url}\n"
    return text + (INI_LOGGING if logging else "")


def env(body: str, *, offline: bool = True, header: str = HEADER, imports: str = "") -> str:
    """A whole env.py: header, the given online code, the stock offline function and dispatch."""
    return imports + header + (OFFLINE if offline else "") + body + (DISPATCH if offline else "")


ASYNC_ONLINE = """
def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations():
    connectable = async_engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    async with connectable.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await connectable.dispose()


def run_migrations_online():
    asyncio.run(run_async_migrations())
"""

ASYNC_IMPORTS = """\
import asyncio

from sqlalchemy import pool
from sqlalchemy.ext.asyncio import async_engine_from_config
"""

SYNC_ONLINE = """
def run_migrations_online():
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
"""

SYNC_IMPORTS = """\
from sqlalchemy import engine_from_config, pool
"""
