"""The tables drivers.py needs besides SQLAlchemy's registry: which distribution provides a
DBAPI module, the usual driver for the other mode, and the fallback answers used only when
SQLAlchemy cannot be imported (drivers.py says so in `DriverInfo.source`). Data only."""

from __future__ import annotations

# DBAPI module -> what to `pip install`. SQLAlchemy names the module but not its
# distribution, so this one mapping is ours.
PACKAGES: dict[str, tuple[str, ...]] = {
    "psycopg2": ("psycopg2-binary",),
    "psycopg": ("psycopg[binary]",),
    "psycopg2cffi": ("psycopg2cffi",),
    "asyncpg": ("asyncpg",),
    "pg8000": ("pg8000",),
    "pymysql": ("PyMySQL",),
    "MySQLdb": ("mysqlclient",),
    "aiomysql": ("aiomysql",),
    "asyncmy": ("asyncmy",),
    "mysql.connector": ("mysql-connector-python",),
    "mariadb": ("mariadb",),
    "cymysql": ("cymysql",),
    "sqlite3": (),
    "aiosqlite": ("aiosqlite",),
    "sqlcipher3": ("sqlcipher3",),
    "oracledb": ("oracledb",),
    "cx_Oracle": ("cx_Oracle",),
    "pyodbc": ("pyodbc",),
    "aioodbc": ("aioodbc",),
    "pymssql": ("pymssql",),
    "mssql_python": ("mssql-python",),
}


# --- the fallback table, only for when SQLAlchemy is not importable ---
# scheme -> (sync_ok, async_ok, driver, dbapi module), as on SQLAlchemy 2.1.
FALLBACK_21: dict[str, tuple[bool, bool, str, str]] = {
    "postgresql": (True, True, "psycopg", "psycopg"),
    "postgresql+psycopg2": (True, False, "psycopg2", "psycopg2"),
    "postgresql+psycopg2cffi": (True, False, "psycopg2cffi", "psycopg2cffi"),
    "postgresql+psycopg": (True, True, "psycopg", "psycopg"),
    "postgresql+psycopg_async": (False, True, "psycopg", "psycopg"),
    "postgresql+asyncpg": (False, True, "asyncpg", "asyncpg"),
    "postgresql+pg8000": (True, False, "pg8000", "pg8000"),
    "sqlite": (True, False, "pysqlite", "sqlite3"),
    "sqlite+pysqlite": (True, False, "pysqlite", "sqlite3"),
    "sqlite+pysqlcipher": (True, False, "pysqlcipher", "sqlcipher3"),
    "sqlite+aiosqlite": (False, True, "aiosqlite", "aiosqlite"),
    "oracle": (True, True, "oracledb", "oracledb"),
    "oracle+oracledb": (True, True, "oracledb", "oracledb"),
    "oracle+oracledb_async": (False, True, "oracledb", "oracledb"),
    "oracle+cx_oracle": (True, False, "cx_oracle", "cx_Oracle"),
    "mssql": (True, False, "pyodbc", "pyodbc"),
    "mssql+pyodbc": (True, False, "pyodbc", "pyodbc"),
    "mssql+pymssql": (True, False, "pymssql", "pymssql"),
    "mssql+mssqlpython": (True, False, "mssqlpython", "mssql_python"),
    "mssql+aioodbc": (False, True, "aioodbc", "aioodbc"),
}
for _dialect in ("mysql", "mariadb"):
    FALLBACK_21[_dialect] = (True, False, "mysqldb", "MySQLdb")
    for _driver, _module in (
        ("mysqldb", "MySQLdb"),
        ("pymysql", "pymysql"),
        ("mysqlconnector", "mysql.connector"),
        ("mariadbconnector", "mariadb"),
        ("cymysql", "cymysql"),
        ("pyodbc", "pyodbc"),
    ):
        FALLBACK_21[f"{_dialect}+{_driver}"] = (True, False, _driver, _module)
    for _driver in ("aiomysql", "asyncmy"):
        FALLBACK_21[f"{_dialect}+{_driver}"] = (False, True, _driver, _driver)

# SQLAlchemy 2.0 picked different default drivers for two bare dialect names.
FALLBACK_20_OVERRIDES: dict[str, tuple[bool, bool, str, str]] = {
    "postgresql": (True, False, "psycopg2", "psycopg2"),
    "oracle": (True, False, "cx_oracle", "cx_Oracle"),
}

# Suggestions for the other mode, by dialect: the usual driver people reach for.
ASYNC_BY_DIALECT = {
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "mysql": "mysql+aiomysql",
    "mariadb": "mariadb+aiomysql",
    "mssql": "mssql+aioodbc",
    "oracle": "oracle+oracledb",
}
SYNC_BY_DIALECT = {
    "postgresql": "postgresql+psycopg",
    "sqlite": "sqlite",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
    "mssql": "mssql+pyodbc",
    "oracle": "oracle+oracledb",
}
