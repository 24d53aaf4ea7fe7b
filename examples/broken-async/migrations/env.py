import asyncio
import os
from logging.config import fileConfig

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import async_engine_from_config

from alembic import context

config = context.config

# Set up loggers from alembic.ini
fileConfig(config.config_file_name)

# Deployments override the URL from the environment.
if os.getenv("DATABASE_URL"):
    config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"])

target_metadata = MetaData()


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=target_metadata)
    context.run_migrations()


async def run_async_migrations() -> None:
    connectable = async_engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
    )
    async with connectable.connect() as connection:
        connection.run_sync(do_run_migrations)


def run_migrations_online() -> None:
    run_async_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
