"""Swap a database URL's driver between its sync and async variants (catalog §2.1, ENV001/ENV002).

Only the scheme changes; the rest of the URL (credentials, host, query) is kept byte for byte.
"""

from __future__ import annotations

import re

_SCHEME = re.compile(r"^(?P<dialect>[A-Za-z0-9_]+)(?:\+(?P<driver>[A-Za-z0-9_]+))?://")

# (dialect, driver or None) -> async scheme. Drivers that already work with
# create_async_engine (psycopg, oracledb, bare postgresql on SQLAlchemy 2.1) are absent
# on purpose: their URL needs no change.
_TO_ASYNC = {
    ("postgresql", "psycopg2"): "postgresql+asyncpg",
    ("postgresql", "psycopg2cffi"): "postgresql+asyncpg",
    ("postgresql", "pg8000"): "postgresql+asyncpg",
    ("sqlite", None): "sqlite+aiosqlite",
    ("sqlite", "pysqlite"): "sqlite+aiosqlite",
    ("mysql", None): "mysql+aiomysql",
    ("mysql", "pymysql"): "mysql+aiomysql",
    ("mysql", "mysqldb"): "mysql+aiomysql",
    ("mysql", "mysqlconnector"): "mysql+aiomysql",
    ("mysql", "cymysql"): "mysql+aiomysql",
    ("mariadb", None): "mariadb+aiomysql",
    ("mariadb", "pymysql"): "mariadb+aiomysql",
    ("mariadb", "mysqldb"): "mariadb+aiomysql",
    ("mariadb", "mariadbconnector"): "mariadb+aiomysql",
    ("mssql", None): "mssql+aioodbc",
    ("mssql", "pyodbc"): "mssql+aioodbc",
    ("oracle", "cx_oracle"): "oracle+oracledb",
}

_TO_SYNC = {
    ("postgresql", "asyncpg"): "postgresql+{pg}",
    ("postgresql", "psycopg_async"): "postgresql+psycopg",
    ("sqlite", "aiosqlite"): "sqlite",
    ("mysql", "aiomysql"): "mysql+pymysql",
    ("mysql", "asyncmy"): "mysql+pymysql",
    ("mariadb", "aiomysql"): "mariadb+pymysql",
    ("mariadb", "asyncmy"): "mariadb+pymysql",
    ("mssql", "aioodbc"): "mssql+pyodbc",
    ("oracle", "oracledb_async"): "oracle+oracledb",
}


def _swap(url: str, table: dict[tuple[str, str | None], str], **fmt: str) -> str | None:
    match = _SCHEME.match(url)
    if match is None:
        return None
    dialect = match.group("dialect").lower()
    driver = match.group("driver")
    scheme = table.get((dialect, driver.lower() if driver else None))
    if scheme is None:
        return None
    return scheme.format(**fmt) + url[match.end() - 3 :]


def async_driver_url(url: str) -> str | None:
    """The same URL with an asyncio driver, or None when it needs no change (already
    async, or a driver such as psycopg that switches by itself) or is not recognised.

    >>> async_driver_url("postgresql+psycopg2://u:p@h/db")
    'postgresql+asyncpg://u:p@h/db'
    """
    return _swap(url, _TO_ASYNC)


def sync_driver_url(url: str, *, postgresql_driver: str = "psycopg2") -> str | None:
    """The same URL with a synchronous driver, or None when it needs no change.

    >>> sync_driver_url("sqlite+aiosqlite:///./app.db")
    'sqlite:///./app.db'
    """
    return _swap(url, _TO_SYNC, pg=postgresql_driver)
