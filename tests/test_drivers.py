from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic_env_lsp import driver_tables, drivers
from alembic_env_lsp.drivers import (
    FALLBACK_SOURCE,
    async_alternative,
    driver_info,
    split_scheme,
    sqlalchemy_version,
    sync_alternative,
)

SERVER_DIR = Path(__file__).resolve().parents[1] / "server"
SA_SOURCE = "SQLAlchemy 2.1.9"


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory) -> Path:
    # One dump for all verdict tests; cache behaviour tests use their own directory.
    return tmp_path_factory.mktemp("driver-cache")


@pytest.fixture(autouse=True)
def isolated_driver_state(monkeypatch, shared_cache_dir):
    monkeypatch.setenv(drivers.CACHE_DIR_ENV, str(shared_cache_dir))
    drivers.reset()
    yield
    drivers.reset()


def cache_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("drivers-*.json"))


def forbid_subprocess(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the driver table was recomputed instead of read from the cache")

    monkeypatch.setattr(drivers.subprocess, "run", refuse)


# --- what SQLAlchemy 2.1.9's dialect registry says of each URL (verified against it) ---

VERIFIED = [
    # url, sync_ok, async_ok, sync dialect class, async dialect class
    ("postgresql://u@h/db", True, True, "PGDialect_psycopg", "PGDialectAsync_psycopg"),
    ("postgresql+psycopg2://u@h/db", True, False, "PGDialect_psycopg2", "PGDialect_psycopg2"),
    ("postgresql+psycopg://u@h/db", True, True, "PGDialect_psycopg", "PGDialectAsync_psycopg"),
    (
        "postgresql+psycopg_async://",
        False,
        True,
        "PGDialectAsync_psycopg",
        "PGDialectAsync_psycopg",
    ),
    ("postgresql+asyncpg://u:p@h/db", False, True, "PGDialect_asyncpg", "PGDialect_asyncpg"),
    ("postgresql+pg8000://", True, False, "PGDialect_pg8000", "PGDialect_pg8000"),
    ("mysql://", True, False, "MySQLDialect_mysqldb", "MySQLDialect_mysqldb"),
    ("mysql+pymysql://", True, False, "MySQLDialect_pymysql", "MySQLDialect_pymysql"),
    ("mysql+aiomysql://", False, True, "MySQLDialect_aiomysql", "MySQLDialect_aiomysql"),
    ("mysql+asyncmy://", False, True, "MySQLDialect_asyncmy", "MySQLDialect_asyncmy"),
    ("mysql+mysqldb://", True, False, "MySQLDialect_mysqldb", "MySQLDialect_mysqldb"),
    ("sqlite://", True, False, "SQLiteDialect_pysqlite", "SQLiteDialect_pysqlite"),
    ("sqlite+pysqlite:///a.db", True, False, "SQLiteDialect_pysqlite", "SQLiteDialect_pysqlite"),
    ("sqlite+aiosqlite:///a.db", False, True, "SQLiteDialect_aiosqlite", "SQLiteDialect_aiosqlite"),
    ("oracle+oracledb://", True, True, "OracleDialect_oracledb", "OracleDialectAsync_oracledb"),
    (
        "oracle+oracledb_async://",
        False,
        True,
        "OracleDialectAsync_oracledb",
        "OracleDialectAsync_oracledb",
    ),
    ("mssql+pyodbc://", True, False, "MSDialect_pyodbc", "MSDialect_pyodbc"),
    ("mssql+aioodbc://", False, True, "MSDialectAsync_aioodbc", "MSDialectAsync_aioodbc"),
]


@pytest.mark.parametrize("url, sync_ok, async_ok, sync_cls, async_cls", VERIFIED)
def test_verified_table(url, sync_ok, async_ok, sync_cls, async_cls):
    info = driver_info(url)
    assert info is not None
    assert info.known is True
    assert (info.sync_ok, info.async_ok) == (sync_ok, async_ok)
    assert (info.sync_dialect, info.async_dialect) == (sync_cls, async_cls)
    # The legacy AsyncEngine(engine_from_config(...)) wrapper only accepts a sync-side async class.
    assert info.wrap_ok is (not sync_ok)
    assert info.source == SA_SOURCE


@pytest.mark.parametrize(
    "scheme",
    [
        "postgresql+psycopg2cffi",
        "mysql+mysqlconnector",
        "mysql+mariadbconnector",
        "mysql+cymysql",
        "mysql+pyodbc",
        "mariadb+pymysql",
        "mariadb+mariadbconnector",
        "sqlite+pysqlcipher",
        "oracle+cx_oracle",
        "mssql",
        "mssql+pymssql",
        "mssql+mssqlpython",
    ],
)
def test_other_sync_only_drivers(scheme):
    info = driver_info(scheme)
    assert (info.known, info.sync_ok, info.async_ok) == (True, True, False)


@pytest.mark.parametrize("scheme", ["mariadb+aiomysql", "mariadb+asyncmy"])
def test_other_async_only_drivers(scheme):
    info = driver_info(scheme)
    assert (info.known, info.sync_ok, info.async_ok) == (True, False, True)


def test_bare_oracle_is_both_on_21():
    info = driver_info("oracle://scott@h/xe")
    assert (info.driver, info.sync_ok, info.async_ok) == ("oracledb", True, True)


def test_bare_postgresql_resolves_to_psycopg3_on_21():
    info = driver_info("postgresql://app:secret@db/app")
    assert info.scheme == "postgresql"
    assert info.dialect == "postgresql"
    assert info.driver == "psycopg"
    assert info.dbapi_module == "psycopg"
    assert info.packages == ("psycopg[binary]",)


@pytest.mark.parametrize(
    "url, dialect, driver",
    [
        ("driver://user:pass@localhost/dbname", "driver", None),
        ("postgres://u:p@h/db", "postgres", None),
        ("postgresql+nosuchdriver://", "postgresql", "nosuchdriver"),
        # SQLAlchemy is case-sensitive here: make_url("PostgreSQL://").get_dialect()
        # raises NoSuchModuleError, so a checker must not call it fine.
        ("PostgreSQL://u@h/db", "PostgreSQL", None),
        ("postgresql+PSYCOPG2://", "postgresql", "PSYCOPG2"),
    ],
)
def test_unknown_schemes(url, dialect, driver):
    info = driver_info(url)
    assert info is not None
    assert info.known is False
    assert (info.dialect, info.driver) == (dialect, driver)
    assert (info.sync_ok, info.async_ok, info.wrap_ok) == (None, None, None)
    assert info.packages == ()


@pytest.mark.parametrize(
    "value", ["", "   ", "${DATABASE_URL}", "%(db_url)s", "not a url", "://x", 42, None]
)
def test_no_scheme_gives_none(value):
    assert driver_info(value) is None


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgresql+asyncpg://u:p@h/db", ("postgresql", "asyncpg")),
        ("sqlite:///./a.db", ("sqlite", None)),
        ("  mysql+pymysql://x", ("mysql", "pymysql")),
        ("a+b+c://", ("a", "b+c")),
        ("postgresql+asyncpg", None),
        ("${DATABASE_URL}", None),
        ("http//nope", None),
    ],
)
def test_split_scheme(url, expected):
    assert split_scheme(url) == expected


def test_bare_scheme_accepted_by_driver_info():
    assert driver_info("sqlite+aiosqlite").async_ok is True


@pytest.mark.parametrize(
    "scheme, module, packages",
    [
        ("postgresql+psycopg2", "psycopg2", ("psycopg2-binary",)),
        ("postgresql+asyncpg", "asyncpg", ("asyncpg",)),
        ("sqlite", "sqlite3", ()),
        ("sqlite+aiosqlite", "aiosqlite", ("aiosqlite",)),
        ("mysql", "MySQLdb", ("mysqlclient",)),
        ("mysql+pymysql", "pymysql", ("PyMySQL",)),
        ("mysql+mysqlconnector", "mysql.connector", ("mysql-connector-python",)),
        ("oracle+cx_oracle", "cx_Oracle", ("cx_Oracle",)),
        ("mssql+aioodbc", "aioodbc", ("aioodbc",)),
    ],
)
def test_dbapi_module_and_packages(scheme, module, packages):
    info = driver_info(scheme)
    assert info.dbapi_module == module
    assert info.packages == packages


@pytest.mark.parametrize(
    "scheme, expected",
    [
        ("postgresql+psycopg2", "postgresql+asyncpg"),
        ("postgresql+pg8000", "postgresql+asyncpg"),
        ("sqlite", "sqlite+aiosqlite"),
        ("sqlite+pysqlite", "sqlite+aiosqlite"),
        ("mysql", "mysql+aiomysql"),
        ("mysql+pymysql", "mysql+aiomysql"),
        ("mysql+mysqldb", "mysql+aiomysql"),
        ("mariadb", "mariadb+aiomysql"),
        ("mssql", "mssql+aioodbc"),
        ("mssql+pyodbc", "mssql+aioodbc"),
        ("oracle+cx_oracle", "oracle+oracledb"),
        # already async-capable
        ("postgresql", None),
        ("postgresql+psycopg", None),
        ("postgresql+asyncpg", None),
        ("oracle+oracledb", None),
        # unknown
        ("postgres", None),
        ("driver", None),
    ],
)
def test_async_alternative(scheme, expected):
    assert async_alternative(scheme) == expected


@pytest.mark.parametrize(
    "scheme, expected",
    [
        ("postgresql+asyncpg", "postgresql+psycopg"),
        ("postgresql+psycopg_async", "postgresql+psycopg"),
        ("sqlite+aiosqlite", "sqlite"),
        ("mysql+aiomysql", "mysql+pymysql"),
        ("mysql+asyncmy", "mysql+pymysql"),
        ("mariadb+aiomysql", "mariadb+pymysql"),
        ("mssql+aioodbc", "mssql+pyodbc"),
        ("oracle+oracledb_async", "oracle+oracledb"),
        ("postgresql+psycopg", None),
        ("sqlite", None),
        ("postgres", None),
    ],
)
def test_sync_alternative(scheme, expected):
    assert sync_alternative(scheme) == expected


def test_sqlalchemy_version_from_metadata():
    assert sqlalchemy_version() == "2.1.9"


def test_memoized_per_scheme():
    first = driver_info("postgresql+asyncpg://a:b@h/one")
    second = driver_info("postgresql+asyncpg://c:d@h/two")
    assert first is second


# --- the cache ---


def test_cache_written_then_reused_without_subprocess(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(drivers.CACHE_DIR_ENV, str(cache))
    drivers.reset()
    assert driver_info("sqlite+aiosqlite://").async_ok is True
    files = cache_files(cache)
    assert len(files) == 1
    assert "sa2.1.9" in files[0].name
    stored = json.loads(files[0].read_text())
    assert stored["sqlalchemy_version"] == "2.1.9"
    assert stored["schemes"]["postgresql+asyncpg"]["sync_is_async"] is True

    # A fresh process state that cannot spawn anything still answers from SQLAlchemy's data.
    drivers.reset()
    forbid_subprocess(monkeypatch)
    info = driver_info("postgresql+psycopg2://")
    assert info.source == SA_SOURCE
    assert (info.sync_ok, info.async_ok) == (True, False)


def test_cache_dir_defaults_to_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv(drivers.CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert drivers.cache_dir() == tmp_path / "xdg" / "alembic-env-lsp"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert drivers.cache_dir() == tmp_path / "home" / ".cache" / "alembic-env-lsp"


def test_corrupt_cache_is_recomputed(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(drivers.CACHE_DIR_ENV, str(cache))
    drivers.reset()
    driver_info("sqlite://")
    [path] = cache_files(cache)
    path.write_text("{not json")
    drivers.reset()
    assert driver_info("sqlite://").source == SA_SOURCE
    assert json.loads(path.read_text())["format"] == drivers._DUMP_FORMAT


def test_version_change_refreshes_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(drivers.CACHE_DIR_ENV, str(cache))
    drivers.reset()
    driver_info("sqlite://")
    assert len(cache_files(cache)) == 1
    # Pretend SQLAlchemy was upgraded: the old file no longer applies, a new one is made.
    monkeypatch.setattr(drivers, "_read_installed_version", lambda: "2.1.10")
    drivers.reset()
    driver_info("sqlite://")
    names = [p.name for p in cache_files(cache)]
    assert len(names) == 2
    assert any("sa2.1.10" in name for name in names)


def test_unwritable_cache_dir_keeps_table_in_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(drivers.CACHE_DIR_ENV, str(blocker / "cache"))
    drivers.reset()
    info = driver_info("postgresql+asyncpg://")
    assert info.source == SA_SOURCE and info.async_ok is True
    # Memoized in memory: later lookups in this process need no subprocess.
    forbid_subprocess(monkeypatch)
    assert driver_info("mysql+aiomysql://").sync_ok is False


def test_keystroke_path_never_imports_sqlalchemy(tmp_path):
    # Fill the cache, then check a fresh interpreter answers without importing SQLAlchemy.
    env_vars = {drivers.CACHE_DIR_ENV: str(tmp_path / "cache"), "PYTHONPATH": str(SERVER_DIR)}
    code = textwrap.dedent(
        """
        import sys
        from alembic_env_lsp.drivers import driver_info
        info = driver_info("postgresql+asyncpg://u:p@h/db")
        print(info.source, info.async_ok, "sqlalchemy" in sys.modules)
        """
    )
    import os

    env = {**os.environ, **env_vars}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert outputs[0] == ["SQLAlchemy", "2.1.9", "True", "False"]
    assert outputs[1] == outputs[0]


# --- without SQLAlchemy ---


def test_fallback_when_sqlalchemy_not_installed(tmp_path, monkeypatch):
    monkeypatch.setenv(drivers.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(drivers, "_read_installed_version", lambda: None)
    forbid_subprocess(monkeypatch)
    drivers.reset()
    assert sqlalchemy_version() is None
    info = driver_info("postgresql+asyncpg://u:p@h/db")
    assert info.source == FALLBACK_SOURCE
    assert (info.known, info.sync_ok, info.async_ok, info.wrap_ok) == (True, False, True, True)
    assert (info.sync_dialect, info.async_dialect) == (None, None)
    assert info.packages == ("asyncpg",)
    assert driver_info("postgresql://").async_ok is True
    assert driver_info("postgres://").known is False
    assert not cache_files(tmp_path / "cache")


def test_fallback_when_dump_fails(tmp_path, monkeypatch):
    # SQLAlchemy "installed" per metadata, but the interpreter cannot run the dump.
    monkeypatch.setenv(drivers.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "executable", "/bin/false")
    drivers.reset()
    info = driver_info("sqlite+pysqlite://")
    assert info.source == FALLBACK_SOURCE
    assert (info.sync_ok, info.async_ok) == (True, False)
    assert not cache_files(tmp_path / "cache")


def test_fallback_for_sqlalchemy_20_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv(drivers.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(drivers, "_read_installed_version", lambda: "2.0.58")
    monkeypatch.setattr(drivers, "_run_dump", lambda: None)
    drivers.reset()
    pg = driver_info("postgresql://")
    assert (pg.driver, pg.sync_ok, pg.async_ok) == ("psycopg2", True, False)
    assert driver_info("oracle://").async_ok is False
    assert async_alternative("postgresql") == "postgresql+asyncpg"
    # Explicit drivers behave the same on 2.0 and 2.1.
    assert driver_info("postgresql+psycopg://").async_ok is True


def test_fallback_table_agrees_with_installed_sqlalchemy(tmp_path, monkeypatch):
    monkeypatch.setenv(drivers.CACHE_DIR_ENV, str(tmp_path / "cache"))
    drivers.reset()
    real = {s: driver_info(s) for s in driver_tables.FALLBACK_21}
    monkeypatch.setattr(drivers, "_read_installed_version", lambda: None)
    drivers.reset()
    for scheme, expected in real.items():
        fallback = driver_info(scheme)
        assert fallback.source == FALLBACK_SOURCE
        got = (
            fallback.known,
            fallback.sync_ok,
            fallback.async_ok,
            fallback.driver,
            fallback.dbapi_module,
        )
        want = (
            expected.known,
            expected.sync_ok,
            expected.async_ok,
            expected.driver,
            expected.dbapi_module,
        )
        assert got == want, scheme


# --- the dump itself ---


def test_dbapi_probe_does_not_import_the_dbapi():
    import builtins

    from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

    real_import = builtins.__import__
    sys.modules.pop("aiosqlite", None)
    assert drivers._dbapi_module_of(SQLiteDialect_aiosqlite) == "aiosqlite"
    assert "aiosqlite" not in sys.modules
    assert builtins.__import__ is real_import


def test_third_party_entry_point_dialects(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "fakedb_dialect.py").write_text(
        textwrap.dedent(
            """
            from sqlalchemy.engine.default import DefaultDialect
            print("a chatty dialect printing on import")

            class FakeDialect(DefaultDialect):
                name = "fakedb"
                driver = "fakedriver"
                supports_statement_cache = True

                @classmethod
                def import_dbapi(cls):
                    import fakedbapi
                    return fakedbapi

            class FakeAsyncDialect(FakeDialect):
                driver = "fakeasync"
                is_async = True
            """
        )
    )
    dist = site / "fakedb_dialect-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakedb-dialect\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[sqlalchemy.dialects]\n"
        "fakedb = fakedb_dialect:FakeDialect\n"
        "fakedb.fakeasync = fakedb_dialect:FakeAsyncDialect\n"
        "fakedb.broken = no_such_module_anywhere:Dialect\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    cache = tmp_path / "cache"
    monkeypatch.setenv(drivers.CACHE_DIR_ENV, str(cache))
    drivers.reset()

    sync_one = driver_info("fakedb://x")
    assert (sync_one.known, sync_one.sync_ok, sync_one.async_ok) == (True, True, False)
    assert sync_one.driver == "fakedriver"
    assert sync_one.sync_dialect == "FakeDialect"
    assert sync_one.dbapi_module == "fakedbapi"
    assert sync_one.packages == ()  # we do not guess distribution names

    async_one = driver_info("fakedb+fakeasync://x")
    assert (async_one.sync_ok, async_one.async_ok) == (False, True)

    broken = driver_info("fakedb+broken://x")
    assert broken.known is True
    assert (broken.sync_ok, broken.async_ok) == (None, None)

    # The entry points are part of the cache key: a different set gets its own file.
    [path] = cache_files(cache)
    monkeypatch.setenv("PYTHONPATH", "")
    monkeypatch.setattr(drivers, "_entry_point_fingerprint", lambda: "nothirdparty")
    drivers.reset()
    assert driver_info("postgresql://").known is True
    assert len(cache_files(cache)) == 2
    assert path.exists()
