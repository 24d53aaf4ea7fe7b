"""Hover prose: what each Alembic / SQLAlchemy symbol, keyword and ini section does.

General text only (alembic 1.x, SQLAlchemy 2.x); the facts of the hovered file are added by
the hover logic in the sibling modules. Plain data: no imports, no logic."""

from __future__ import annotations

SYMBOLS: dict[str, tuple[str, str]] = {
    "fileConfig": (
        "`logging.config.fileConfig`",
        "Configures Python logging from the ini file's `[loggers]`, `[handlers]` and `[formatters]` sections. "
        "Alembic never configures logging itself, so this call is what makes the "
        "`INFO  [alembic.runtime.migration] Running upgrade …` lines appear. A missing section raises `KeyError` "
        "(for example `KeyError: 'formatters'`). By default (`disable_existing_loggers=True`) it also disables "
        "every logger that already exists and is not named in the file, `asyncio`'s included.",
    ),
    "context": (
        "`alembic.context`",
        "A proxy to the `EnvironmentContext` that Alembic sets up just before it runs env.py. Its functions work "
        "only while an Alembic command runs; called outside one they raise `NameError: Can't invoke function "
        "'configure', as the proxy object has not yet been established for the Alembic 'EnvironmentContext' "
        "class.`",
    ),
    "config": (
        "`context.config` · `alembic.config.Config`",
        "The `Config` of this run. It wraps the ini file (a `ConfigParser` with `%(here)s` interpolation), the "
        "`[tool.alembic]` table of pyproject.toml, the command-line options (`cmd_opts`) and a free-form "
        "`attributes` dict. When Alembic is driven from Python, it is the same object that was passed to "
        "`alembic.command.*`.",
    ),
    "config.config_file_name": (
        "`config.config_file_name`",
        "The path of the ini file in use, or `None` when a `Config()` was built in code without a file. The "
        "`alembic` command always sets it (`alembic.ini` by default, or `-c` / `ALEMBIC_CONFIG`), even when that "
        "file does not exist. That is why the templates guard `fileConfig(config.config_file_name)` with "
        "`if config.config_file_name is not None`.",
    ),
    "config.config_ini_section": (
        "`config.config_ini_section`",
        'The name of the main ini section: `"alembic"` unless `alembic -n NAME` was given. The templates pass it '
        "to `get_section()` so that `-n` can switch between several databases or environments kept in one ini.",
    ),
    "config.get_main_option": (
        "`config.get_main_option(name, default=None)`",
        "Returns an option of the main ini section after `%` interpolation. It reads only the ini file, never "
        "`pyproject.toml` (`get_alembic_option()` does that). A missing key returns `default`, so a missing "
        '`sqlalchemy.url` only shows up later, as "Connection, url, or dialect_name is required."',
    ),
    "config.get_section": (
        "`config.get_section(name, default=None)`",
        "Returns a whole ini section as a dict, values interpolated. Engines are usually built from it with "
        '`prefix="sqlalchemy."`. A missing section returns `default` (the templates pass `{}`). Values assigned '
        "into the returned dict bypass configparser, so `%` needs no escaping there.",
    ),
    "config.get_section_option": (
        "`config.get_section_option(section, name, default=None)`",
        "Reads one option from any ini section, after `%` interpolation. The multidb template reads each "
        "database's `sqlalchemy.url` this way.",
    ),
    "config.get_alembic_option": (
        "`config.get_alembic_option(name, default=None)`",
        "Reads an option from the main ini section and, when it is not there, from `[tool.alembic]` in "
        "pyproject.toml. It is the only `Config` reader that looks at pyproject.toml.",
    ),
    "config.set_main_option": (
        "`config.set_main_option(name, value)`",
        "Overrides an option of the main ini section in memory, for this run only. The value goes through "
        "`ConfigParser.set`, so a literal `%` must be written `%%`; otherwise `ValueError: invalid interpolation "
        "syntax`, a common trap with URL-encoded passwords.",
    ),
    "config.set_section_option": (
        "`config.set_section_option(section, name, value)`",
        "Overrides an option of any ini section in memory. Like `set_main_option`, the value goes through "
        "`ConfigParser.set`, so a literal `%` must be written `%%`.",
    ),
    "config.attributes": (
        "`config.attributes`",
        "A plain dict for handing Python objects to env.py. Its documented use is connection sharing: the caller "
        'sets `cfg.attributes["connection"] = conn` before `command.upgrade(cfg, ...)`, and env.py uses that '
        "connection instead of creating an engine. This is the supported way to run migrations from async code "
        "or tests.",
    ),
    "engine_from_config": (
        '`sqlalchemy.engine_from_config(configuration, prefix="sqlalchemy.", **kw)` → `Engine`',
        "Builds a **synchronous** `Engine` from the keys that start with `prefix`, prefix stripped. `url` is "
        "required (`KeyError: 'url'` otherwise), string values such as `echo` or `pool_size` are coerced, and "
        "keyword arguments override the dict. An asyncio driver here fails at the first connection with "
        "`MissingGreenlet`.",
    ),
    "create_engine": (
        "`sqlalchemy.create_engine(url, **kw)` → `Engine`",
        "Builds a **synchronous** `Engine`. The URL's driver must be a sync DBAPI: an asyncio driver (asyncpg, "
        "aiosqlite, …) fails at the first connection with `MissingGreenlet`. Nothing connects until `connect()` "
        "or `begin()` is called.",
    ),
    "async_engine_from_config": (
        '`sqlalchemy.ext.asyncio.async_engine_from_config(configuration, prefix="sqlalchemy.", **kw)` → `AsyncEngine`',
        "Builds an **`AsyncEngine`** from the prefixed keys of a dict, like `engine_from_config`. The URL must "
        "name an asyncio driver; psycopg and oracledb switch to their async variants automatically. A sync-only "
        'driver is rejected when the engine is created: "The asyncio extension requires an async driver to be '
        'used". It needs greenlet (`sqlalchemy[asyncio]` on SQLAlchemy 2.1+).',
    ),
    "create_async_engine": (
        "`sqlalchemy.ext.asyncio.create_async_engine(url, **kw)` → `AsyncEngine`",
        "Builds an **`AsyncEngine`**. The URL must name an asyncio driver; psycopg and oracledb switch to their "
        'async variants automatically. A sync-only driver is rejected when the engine is created: "The asyncio '
        'extension requires an async driver to be used". It needs greenlet (`sqlalchemy[asyncio]` on '
        "SQLAlchemy 2.1+).",
    ),
    "AsyncEngine": (
        "`sqlalchemy.ext.asyncio.AsyncEngine`",
        "The asyncio facade over a sync `Engine` (its `.sync_engine`). `connect()` and `begin()` must be used with "
        "`async with` (or awaited), and `dispose()` is a coroutine. Wrapping a sync factory directly, "
        "`AsyncEngine(engine_from_config(...))`, skips the psycopg/oracledb async-variant selection that "
        "`async_engine_from_config` does.",
    ),
    "Engine": (
        "`sqlalchemy.engine.Engine`",
        "The synchronous engine: a connection pool plus a dialect. `connect()` gives the `Connection` that "
        "`context.configure(connection=...)` needs; use it with `with` so the connection is closed.",
    ),
    "Connection": (
        "`sqlalchemy.engine.Connection`",
        "The synchronous connection Alembic needs in `context.configure(connection=...)`. With SQLAlchemy 2.x it "
        "begins a transaction on first use and rolls it back on close unless committed, which is why "
        "`context.begin_transaction()` matters. In the async template it is only the type hint of the argument "
        "that `run_sync()` passes.",
    ),
    "AsyncConnection": (
        "`sqlalchemy.ext.asyncio.AsyncConnection`",
        "The asyncio connection returned by `AsyncEngine.connect()`. Alembic cannot use it directly: call "
        "`await conn.run_sync(fn)` so that `fn` receives the sync `Connection`. Its `begin()`, `commit()`, "
        "`execute()` and `run_sync()` are coroutines and must be awaited.",
    ),
    "run_sync": (
        "`AsyncConnection.run_sync(fn, *args, **kw)`",
        "Runs an ordinary synchronous function in a greenlet and passes it the sync `Connection` as its **first "
        "positional argument**: `fn(sync_conn, *args, **kw)`. It is the bridge that lets Alembic's synchronous "
        "API run on an asyncio driver. `fn` must not be an `async def`, and the coroutine `run_sync()` returns "
        "must be awaited.",
    ),
    "NullPool": (
        "`sqlalchemy.pool.NullPool`",
        "A pool that does no pooling: each checkout opens a new DBAPI connection and each check-in closes it. The "
        "templates use it because the migration engine is short-lived. With asyncio it also guarantees that no "
        "connection outlives the event loop that `asyncio.run()` closes.",
    ),
    "dispose": (
        "`dispose()`",
        "Closes every connection held in the engine's pool. On an `AsyncEngine` it is a coroutine: "
        "`await connectable.dispose()` after the `async with` block, as in the async template. With `NullPool` "
        "it prevents leaked or cross-loop connections when env.py runs more than once in a process.",
    ),
    "connect": (
        "`connect()`",
        "Opens a connection from the engine. On an `Engine` it returns a `Connection` (use `with`); on an "
        "`AsyncEngine` it returns an `AsyncConnection` (use `async with`). With SQLAlchemy 2.x the connection "
        "rolls back on close whatever was not committed.",
    ),
    "begin": (
        "`begin()`",
        "Opens a connection (on an engine) or a transaction (on a connection) that commits when the block exits "
        "without error. Alembic then sees an external transaction and `context.begin_transaction()` becomes a "
        "no-op. On asyncio objects use `async with`.",
    ),
    "asyncio.run": (
        "`asyncio.run(coro)`",
        "Creates a new event loop, runs the coroutine to completion and closes the loop. It raises "
        "`RuntimeError: asyncio.run() cannot be called from a running event loop` when the caller is already "
        "inside one (FastAPI startup, pytest-asyncio, Jupyter). From async callers, share a connection through "
        '`config.attributes["connection"]` or run `command.upgrade` in a thread (`asyncio.to_thread`).',
    ),
    "context.configure": (
        "`context.configure(...)`",
        "Sets up the `MigrationContext` for this run. Online, give it `connection=` (a sync `Connection`, never "
        "an Engine or AsyncConnection); offline (`--sql`), give it `url=` or `dialect_name=`. The other keywords "
        "tune autogenerate (`target_metadata`, `compare_type`, `include_object`, …) and the SQL output "
        "(`literal_binds`, `dialect_opts`).",
    ),
    "target_metadata": (
        "`target_metadata`",
        "The `MetaData` (normally `Base.metadata` or `SQLModel.metadata`) that autogenerate compares with the "
        "database. It only holds the tables whose model modules have been imported, so env.py must import all "
        "models. `None` makes `--autogenerate` fail, and missing imports make autogenerate propose `drop_table` "
        "for existing tables.",
    ),
    "context.begin_transaction": (
        "`context.begin_transaction()`",
        "A synchronous context manager that begins the migration transaction and commits it when the block exits "
        "without error. In `--sql` mode it writes `BEGIN;`/`COMMIT;` on backends with transactional DDL such as "
        "PostgreSQL. It is a no-op when the connection was already in a transaction at `configure()` time. Use "
        "`with`, never `async with`.",
    ),
    "context.run_migrations": (
        "`context.run_migrations(**kw)`",
        "Runs the upgrade or downgrade steps the command chose (`upgrade head`, `downgrade -1`, …) on the "
        "configured connection, or writes them as SQL. Extra keyword arguments (e.g. `engine_name=` in the "
        "multidb template) are passed to the revision functions. It takes no positional arguments, so it cannot "
        "be handed to `run_sync()` directly.",
    ),
    "context.is_offline_mode": (
        "`context.is_offline_mode()`",
        "True when the command was given `--sql`: SQL is written to stdout or a buffer and no database "
        "connection should be made. The templates branch on it to call `run_migrations_offline()`, which "
        "configures with a URL only.",
    ),
    "context.get_x_argument": (
        "`context.get_x_argument(as_dictionary=False)`",
        "The values of `alembic -x key=value`. A common way to choose a database URL or tenant on the command "
        "line; a URL built from it cannot be checked statically.",
    ),
    "context.execute": (
        "`context.execute(sql)`",
        "Runs a statement on the migration connection, or writes it to the script in `--sql` mode. It only works "
        "after `context.configure()`.",
    ),
}


CONFIGURE_KEYWORDS: dict[str, str] = {
    "connection": (
        "The sync `Connection` the migrations run on (online mode). It must be a `sqlalchemy.engine.Connection`: "
        "Alembic rejects an Engine, and an `AsyncConnection` cannot be used. With an async engine it is the "
        "connection that `run_sync()` passes to your function."
    ),
    "url": (
        "The database URL for offline (`--sql`) mode. Alembic only uses it to pick the dialect that renders the "
        "SQL, so no DBAPI is loaded and an async driver is fine here."
    ),
    "dialect_name": 'Offline alternative to `url=`: only the dialect name (e.g. `"postgresql"`) used to render the SQL.',
    "target_metadata": SYMBOLS["target_metadata"][1],
    "literal_binds": (
        "Renders bound values inline (`'abc'` instead of `:param`) in `--sql` output, so the script can run as "
        "is. Offline mode needs it; online it has no effect."
    ),
    "dialect_opts": (
        "Keyword arguments for the dialect that renders offline SQL. The templates pass "
        '`{"paramstyle": "named"}` so that drivers with pyformat/format paramstyles (psycopg2, psycopg, '
        "pymysql, mysqldb) render clean SQL too."
    ),
    "render_as_batch": (
        "Makes autogenerate wrap ALTER operations in `op.batch_alter_table()`, which copies and recreates the "
        "table. SQLite needs it because it supports almost no ALTER TABLE."
    ),
    "compare_type": "Whether autogenerate compares column types. `True` by default since alembic 1.12; a callable customises the comparison.",
    "compare_server_default": "Whether autogenerate compares server defaults. `False` by default, so changed server defaults go unnoticed unless this is set.",
    "include_schemas": (
        "Makes autogenerate look at every schema the database reports, not only the default one. Without an "
        "`include_name`/`include_object` filter it also proposes to drop tables in schemas you do not manage."
    ),
    "include_name": "A callable `(name, type_, parent_names) -> bool` that decides, before reflection, which schemas, tables and columns autogenerate considers.",
    "include_object": "A callable `(object, name, type_, reflected, compare_to) -> bool` that filters objects after reflection, e.g. to skip tables other tools own.",
    "version_table": "The table that stores the current revision (default `alembic_version`).",
    "version_table_schema": "The schema of the version table. The schema must already exist; Alembic does not create it.",
    "transaction_per_migration": "Runs each revision in its own transaction instead of one for the whole command, so a failure keeps the revisions before it.",
    "process_revision_directives": "A callable that can rewrite or drop the revision autogenerate is about to write (e.g. skip empty migrations).",
    "as_sql": "Forces SQL-output mode. `--sql` sets it; it is rarely passed by hand.",
    "output_buffer": "A file-like object that receives the offline SQL instead of stdout (the multidb template writes one file per engine).",
    "upgrade_token": "The template variable that receives the generated upgrade code (multidb template).",
    "downgrade_token": "The template variable that receives the generated downgrade code (multidb template).",
    "render_item": "A callable that customises how autogenerate renders an item (e.g. custom column types).",
    "user_module_prefix": "The prefix autogenerate writes before types from your own modules.",
    "sqlalchemy_module_prefix": "The prefix autogenerate writes before SQLAlchemy names (default `sa.`).",
    "on_version_apply": "Callables run after each revision step, e.g. for auditing.",
}


FACTORY_KEYWORDS: dict[str, str] = {
    "prefix": "Only the configuration keys starting with this prefix are used, with the prefix stripped (`sqlalchemy.url` → `url`).",
    "poolclass": (
        "The pool implementation. `NullPool` opens a real connection per checkout and closes it on check-in, "
        "which is what a short-lived migration engine wants (and, with asyncio, what keeps connections from "
        "outliving the event loop)."
    ),
    "url": "The URL to connect to; it overrides the configuration dict's `url`.",
    "future": "A SQLAlchemy 1.4 switch for 2.0-style engines; in 2.x it is always on and the argument is ignored.",
    "echo": "Logs every SQL statement through the `sqlalchemy.engine` logger.",
    "connect_args": "Extra keyword arguments passed to the DBAPI's `connect()`.",
    "pool_pre_ping": "Tests each pooled connection before use; pointless with `NullPool`.",
}


CONFIG_MEMBERS = {
    "config_file_name",
    "config_ini_section",
    "get_main_option",
    "get_section",
    "get_section_option",
    "get_alembic_option",
    "set_main_option",
    "set_section_option",
    "attributes",
}


CONTEXT_MEMBERS = {
    "configure",
    "begin_transaction",
    "run_migrations",
    "is_offline_mode",
    "get_x_argument",
    "execute",
}


SQLALCHEMY_CLASSES = {"Connection", "AsyncConnection", "AsyncEngine", "Engine", "NullPool"}


LOGGING_HEADERS = {
    "loggers": "Lists the loggers `fileConfig` configures (`keys = root,sqlalchemy,alembic`); each needs a `[logger_NAME]` section. `fileConfig` raises `KeyError: 'loggers'` without it.",
    "handlers": "Lists the handlers (`keys = console`); each needs a `[handler_NAME]` section with `class`, `args` and `formatter`. `fileConfig` raises `KeyError: 'handlers'` without it.",
    "formatters": "Lists the formatters (`keys = generic`); each needs a `[formatter_NAME]` section with `format`. `fileConfig` raises `KeyError: 'formatters'` without it, and it is the first section it reads.",
}
