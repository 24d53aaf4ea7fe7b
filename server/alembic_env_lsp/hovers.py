"""Hover: what the symbol under the cursor does, with the facts of this file.

`hover_at` reads the Analysis of the current text and nothing else: the node under the
cursor is found by descending from the module body through the statements that contain
the position (a few `node_range` calls), then interpreted with the facts (calls, engines,
configures, bindings). It never parses, never imports SQLAlchemy or Alembic;
`drivers.driver_info` answers from its cache. Over a finding's range the rule's docs are
appended. Every text leaves this module through `redact_text`.

`hover_ini` answers on alembic.ini: `sqlalchemy.url` (dialect, driver, support, package,
which env.py reads it and with which engine), `script_location`, and section headers.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import drivers
from .model import names as N
from .model.build import qualified_name
from .model.facts import CallFact, Confidence, EngineFact, EnvFacts, Kind, Scope, UrlValue
from .redact import redact_text, redact_url
from .text import Position, Range, SourceText

if TYPE_CHECKING:
    from .engine import Analysis
    from .findings import Finding
    from .project import IniFile, ProjectContext


@dataclass(frozen=True)
class HoverResult:
    markdown: str
    range: Range  # the symbol's range in the hovered file


# --------------------------------------------------------------------------------------
# Texts (catalog §5, alembic 1.20 / SQLAlchemy 2.x)
# --------------------------------------------------------------------------------------

_SYMBOLS: dict[str, tuple[str, str]] = {
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

_CONFIGURE_KEYWORDS: dict[str, str] = {
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
    "target_metadata": _SYMBOLS["target_metadata"][1],
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

_FACTORY_KEYWORDS: dict[str, str] = {
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

_CONFIG_MEMBERS = {
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
_CONTEXT_MEMBERS = {
    "configure",
    "begin_transaction",
    "run_migrations",
    "is_offline_mode",
    "get_x_argument",
    "execute",
}
_SQLALCHEMY_CLASSES = {"Connection", "AsyncConnection", "AsyncEngine", "Engine", "NullPool"}
_SECRETISH_KEY = re.compile(r"(?i)pass|pwd|secret|token|key")
_MAX_SNIPPET = 70


# --------------------------------------------------------------------------------------
# hover_at
# --------------------------------------------------------------------------------------


@dataclass
class _Here:
    analysis: Analysis
    facts: EnvFacts
    source: SourceText
    pos: Position
    chain: list[ast.AST]
    scope: Scope

    @property
    def node(self) -> ast.AST:
        return self.chain[-1]

    @property
    def parent(self) -> ast.AST | None:
        return self.chain[-2] if len(self.chain) > 1 else None

    @property
    def project(self):
        return self.analysis.project

    def rng(self, node: ast.AST) -> Range:
        return self.source.node_range(node)

    def line_of(self, node: ast.AST) -> int:
        return self.source.from_utf8(node.lineno, node.col_offset).line + 1

    def snippet(self, node: ast.AST, limit: int = _MAX_SNIPPET) -> str:
        return _shorten(self.source.slice(self.rng(node)), limit)

    def call_fact(self, node: ast.AST | None) -> CallFact | None:
        if not isinstance(node, ast.Call):
            return None
        return next((c for c in self.facts.calls if c.node is node), None)


def hover_at(analysis: Analysis, position: Position) -> HoverResult | None:
    """The hover for `position` (0-based line, code-point column) in the analysed file."""
    source = analysis.source
    pos = _on_text(source, position)
    if pos is None:
        return None
    sections: list[str] = []
    symbol_range: Range | None = None
    facts = analysis.facts
    if facts is not None:
        found = _symbol_hover(analysis, facts, pos)
        if found is not None:
            sections.append(found[0])
            symbol_range = found[1]
    if not sections:
        noqa = _noqa_hover(source, pos)
        if noqa is not None:
            sections.append(noqa[0])
            symbol_range = noqa[1]
    hits = [f for f in analysis.findings if f.path is None and _finding_covers(f.range, pos)]
    sections.extend(_finding_sections(hits))
    if not sections:
        return None
    if symbol_range is None:
        symbol_range = min(
            hits,
            key=lambda f: (
                f.range.end.line - f.range.start.line,
                f.range.end.character - f.range.start.character,
            ),
        ).range
    return HoverResult(redact_markdown("\n\n---\n\n".join(sections)), symbol_range)


def redact_markdown(text: str) -> str:
    """`redact_text` over Markdown, one backtick-delimited piece at a time.

    Texts built here never put a backtick inside a URL (snippets turn them into quotes),
    so every URL is seen whole; and a masked query secret right before a closing backtick
    (`...?password=***`) keeps its backtick, which one pass over the whole text would eat."""
    return "`".join(redact_text(piece) for piece in text.split("`"))


def _on_text(source: SourceText, pos: Position) -> Position | None:
    """The position itself when it is on a visible character; the character before it
    at the very end of a line (editors that place the cursor after a word); else None."""
    if pos.line < 0 or pos.line >= source.line_count or pos.character < 0:
        return None
    line = source.line(pos.line)
    ch = pos.character
    if ch < len(line):
        return pos if not line[ch].isspace() else None
    if ch == len(line) and ch > 0 and (line[ch - 1].isalnum() or line[ch - 1] == "_"):
        return Position(pos.line, ch - 1)
    return None


def _finding_covers(rng: Range, pos: Position) -> bool:
    if rng.start == rng.end:
        return pos == rng.start
    return rng.start <= pos < rng.end


def _finding_sections(findings: Iterable[Finding]) -> list[str]:
    from .rules import rule_by_code

    out: list[str] = []
    documented: set[str] = set()
    for finding in findings:
        text = f"⚠ **{finding.code}** ({finding.severity.label}): {finding.message}"
        rule = rule_by_code(finding.code)
        if rule is not None and finding.code not in documented:
            documented.add(finding.code)
            text += "\n\n" + rule.markdown()
        out.append(text)
    return out


_NOQA = re.compile(
    r"#\s*noqa\s*:\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*)", re.IGNORECASE
)


def _noqa_hover(source: SourceText, pos: Position) -> tuple[str, Range] | None:
    """Over a code in `# noqa: ENV001`: that rule's docs (as ruff does)."""
    from .rules import rule_by_code

    line = source.line(pos.line)
    if "#" not in line[: pos.character + 1]:
        return None
    for match in _NOQA.finditer(line):
        base = match.start("codes")
        for code in re.finditer(r"[A-Za-z]+[0-9]+", match.group("codes")):
            start, end = base + code.start(), base + code.end()
            if start <= pos.character < end:
                rule = rule_by_code(code.group())
                if rule is None:
                    return None
                return rule.markdown(), Range.of(pos.line, start, pos.line, end)
    return None


# --- finding the node under the cursor ----------------------------------------------------


def _contains(source: SourceText, node: ast.AST, pos: Position) -> bool:
    lineno = getattr(node, "lineno", None)
    if lineno is None:
        return False
    end_lineno = getattr(node, "end_lineno", None) or lineno
    if not lineno - 1 <= pos.line <= end_lineno - 1:
        return False
    rng = source.node_range(node)
    return rng.start <= pos < rng.end


def _blocks(stmt: ast.AST) -> Iterable[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list):
            yield value
    for handler in getattr(stmt, "handlers", ()) or ():
        yield handler.body
    for case in getattr(stmt, "cases", ()) or ():
        yield case.body


def _positioned_children(node: ast.AST) -> Iterable[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.stmt, ast.expr_context)):
            continue
        if hasattr(child, "lineno"):
            yield child
        else:  # withitem, arguments, comprehension, match_case: transparent containers
            yield from _positioned_children(child)


def _chain_at(tree: ast.Module, source: SourceText, pos: Position) -> list[ast.AST]:
    """Statements containing `pos`, outermost first, then the expression nodes down to the
    innermost one. Only the statements on the way are visited."""
    chain: list[ast.AST] = []
    stmts: list[ast.stmt] = tree.body
    while stmts:
        hit = next((s for s in stmts if _contains(source, s, pos)), None)
        if hit is None:
            break
        chain.append(hit)
        stmts = next((b for b in _blocks(hit) if any(_contains(source, s, pos) for s in b)), [])
    if not chain:
        return chain
    node = chain[-1]
    while True:
        inner = next((c for c in _positioned_children(node) if _contains(source, c, pos)), None)
        if inner is None:
            return chain
        chain.append(inner)
        node = inner


def _scope_at(facts: EnvFacts, chain: list[ast.AST]) -> Scope:
    by_node = {id(s.node): s for s in facts.scopes if s.node is not None}
    scope = facts.module
    for node in chain:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            scope = by_node.get(id(node), scope)
    return scope


# --- what the node is -----------------------------------------------------------------------


def _symbol_hover(analysis: Analysis, facts: EnvFacts, pos: Position) -> tuple[str, Range] | None:
    source = analysis.source
    chain = _chain_at(facts.tree, source, pos)
    if not chain:
        return None
    here = _Here(analysis, facts, source, pos, chain, _scope_at(facts, chain))
    node = here.node
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        name_range = _def_name_range(source, node)
        if name_range is not None and name_range.start <= pos < name_range.end:
            text = _function_hover(here, node.name)
            return (text, name_range) if text else None
        return None
    if isinstance(node, ast.arg):
        return _param_hover(here, node)
    if isinstance(node, ast.keyword):
        return _keyword_hover(here, node)
    if isinstance(node, ast.alias):
        return _import_hover(here, node)
    if isinstance(node, ast.Attribute):
        return _attribute_hover(here, node)
    if isinstance(node, ast.Name):
        return _name_hover(here, node)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _string_hover(here, node)
    return None


def _def_name_range(
    source: SourceText, node: ast.FunctionDef | ast.AsyncFunctionDef
) -> Range | None:
    start = source.from_utf8(node.lineno, node.col_offset)
    line = source.line(start.line)
    match = re.compile(r"(?:async\s+)?def\s+(" + re.escape(node.name) + r")\b").match(
        line, start.character
    )
    if match is None:
        return None
    return Range.of(start.line, match.start(1), start.line, match.end(1))


def _attr_range(source: SourceText, node: ast.Attribute) -> Range:
    end = source.node_range(node).end
    return Range(Position(end.line, max(end.character - len(node.attr), 0)), end)


def _symbol_key(qname: str | None) -> str | None:
    """A `_SYMBOLS` key for a qualified name, if it is one of the catalog's symbols."""
    if not qname:
        return None
    if qname == N.FILE_CONFIG:
        return "fileConfig"
    if qname == N.CONTEXT:
        return "context"
    if qname == N.CONFIG:
        return "config"
    if qname in ("asyncio.run", "asyncio.runners.run"):
        return "asyncio.run"
    if qname in N.SYNC_FACTORIES or qname in N.ASYNC_FACTORIES:
        return N.short(qname)
    if qname in N.ASYNC_WRAPPERS:
        return "AsyncEngine"
    head, _, last = qname.rpartition(".")
    if head == N.CONFIG and last in _CONFIG_MEMBERS:
        return "config." + last
    if head == N.CONTEXT and last in _CONTEXT_MEMBERS:
        return "context." + last
    if head.split(".", 1)[0] == "sqlalchemy" and last in _SQLALCHEMY_CLASSES:
        return last
    return None


def _attribute_hover(here: _Here, node: ast.Attribute) -> tuple[str, Range] | None:
    rng = _attr_range(here.source, node)
    qname = qualified_name(node, here.scope)
    key = _symbol_key(qname)
    call = (
        here.call_fact(here.parent)
        if isinstance(here.parent, ast.Call) and here.parent.func is node
        else None
    )
    if key is not None:
        return _symbol_text(here, key, call, node), rng
    # Methods of engines and connections: known by the receiver's kind, not by an import.
    receiver = node.value
    binding = here.scope.lookup_kind(receiver.id) if isinstance(receiver, ast.Name) else None
    kind = binding.kind if binding is not None else None
    if node.attr == "run_sync":
        return _run_sync_hover(here, call, receiver), rng
    if node.attr in ("dispose", "connect", "begin") and kind in (
        Kind.ENGINE,
        Kind.ASYNC_ENGINE,
        Kind.CONNECTION,
        Kind.ASYNC_CONNECTION,
    ):
        if node.attr == "dispose" and kind not in (Kind.ENGINE, Kind.ASYNC_ENGINE):
            return None
        return _method_hover(here, node.attr, call, receiver, binding), rng
    return None


def _name_hover(here: _Here, node: ast.Name) -> tuple[str, Range] | None:
    rng = here.rng(node)
    qname = qualified_name(node, here.scope)
    key = _symbol_key(qname)
    call = (
        here.call_fact(here.parent)
        if isinstance(here.parent, ast.Call) and here.parent.func is node
        else None
    )
    if key is not None:
        return _symbol_text(here, key, call, node), rng
    name = node.id
    binding = here.scope.lookup_kind(name)
    if (
        binding is not None
        and binding.kind in (Kind.ENGINE, Kind.ASYNC_ENGINE)
        and binding.engine is not None
    ):
        return _engine_variable_hover(here, name, binding.engine), rng
    connection = _connection_origin(here, name, here.scope)
    if connection is not None:
        return connection, rng
    if name == "target_metadata" and (here.scope.is_module or name not in here.scope.assignments):
        return _symbol_text(here, "target_metadata", None, node), rng
    if here.scope.lookup_function(name) is not None and name in here.facts.module.functions:
        text = _function_hover(here, name)
        return (text, rng) if text else None
    return None


def _import_hover(here: _Here, node: ast.alias) -> tuple[str, Range] | None:
    stmt = next(
        (n for n in reversed(here.chain) if isinstance(n, (ast.Import, ast.ImportFrom))), None
    )
    if stmt is None:
        return None
    if isinstance(stmt, ast.ImportFrom):
        if stmt.level or not stmt.module:
            return None
        qname = f"{stmt.module}.{node.name}"
    else:
        qname = node.name
    key = _symbol_key(qname)
    if key is None:
        return None
    rng = here.rng(node)
    rng = Range(rng.start, Position(rng.start.line, rng.start.character + len(node.name)))
    return _symbol_text(here, key, None, node), rng


def _param_hover(here: _Here, node: ast.arg) -> tuple[str, Range] | None:
    rng = here.rng(node)
    rng = Range(rng.start, Position(rng.start.line, rng.start.character + len(node.arg)))
    if here.pos >= rng.end:
        return None  # on the annotation's ':' or default
    text = _connection_origin(here, node.arg, here.scope)
    return (text, rng) if text else None


def _keyword_hover(here: _Here, node: ast.keyword) -> tuple[str, Range] | None:
    if node.arg is None:
        return None
    start = here.source.from_utf8(node.lineno, node.col_offset)
    rng = Range(start, Position(start.line, start.character + len(node.arg)))
    if not rng.start <= here.pos < rng.end:
        return None  # on '=' or between: the value has its own hover
    call_node = here.parent
    call = here.call_fact(call_node)
    if call is None:
        return None
    key = _symbol_key(call.qname)
    lines: list[str] = []
    if key == "context.configure":
        doc = _CONFIGURE_KEYWORDS.get(node.arg, "An option of `EnvironmentContext.configure()`.")
        title = f"**`{node.arg}=`** · `context.configure()`"
        lines = _configure_keyword_facts(here, call, node)
    elif key in (
        "engine_from_config",
        "create_engine",
        "async_engine_from_config",
        "create_async_engine",
    ):
        doc = _FACTORY_KEYWORDS.get(node.arg)
        if doc is None:
            doc = "Passed on to the engine (or its pool or dialect)."
        title = f"**`{node.arg}=`** · `{key}()`"
        value = here.snippet(node.value)
        lines = [f"Here: `{node.arg}={value}`" if value else ""]
        if node.arg == "poolclass":
            q = qualified_name(node.value, here.scope) or ""
            if not q.endswith("NullPool") and not value.endswith("NullPool"):
                lines.append(
                    "This is not `NullPool`: pooled connections outlive a migration run (and, with asyncio, the event loop)."
                )
    else:
        return None
    return _compose(title, doc, [line for line in lines if line]), rng


def _string_hover(here: _Here, node: ast.Constant) -> tuple[str, Range] | None:
    value = node.value
    parent = here.parent
    rng = here.rng(node)
    if drivers.split_scheme(value) is not None:
        return _url_literal_hover(here, node), rng
    # "sqlalchemy.url" in config.get_main_option("sqlalchemy.url"): the option it names
    if isinstance(parent, ast.Call) and parent.args and parent.args[0] is node:
        call = here.call_fact(parent)
        key = _symbol_key(call.qname) if call is not None else None
        if key in ("config.get_main_option", "config.set_main_option", "config.get_alembic_option"):
            title = f"**`{value}`** · main-section option"
            lines = _option_facts(here, here.project, _main_section(here.project), value, call)
            return _compose(title, None, lines), rng
    return None


# --- texts with the facts of this file -----------------------------------------------------


def _compose(title: str, doc: str | None, lines: list[str], heading: str = "In this file") -> str:
    parts = [title]
    if doc:
        parts.append(doc)
    if lines:
        parts.append(f"**{heading}**\n\n" + "\n".join(f"- {line}" for line in lines))
    return "\n\n".join(parts)


def _symbol_text(here: _Here, key: str, call: CallFact | None, node: ast.AST) -> str:
    title, doc = _SYMBOLS[key]
    facts_for = _FACTS.get(key)
    lines = facts_for(here, call, node) if facts_for is not None else []
    return _compose(f"**{title}**", doc, lines)


def _facts_file_config(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    calls = [call] if call is not None else here.facts.calls_named(N.FILE_CONFIG)
    lines = []
    if not calls:
        lines.append("Imported but never called: logging is not configured from the ini.")
    for c in calls:
        arg = c.node.args[0] if c.node.args else None
        text = f"Line {here.line_of(c.node)}: `{here.snippet(c.node)}`"
        if arg is not None and qualified_name(arg, c.scope) == N.CONFIG + ".config_file_name":
            text += (
                ", guarded by a `config_file_name is not None` check."
                if _guards_file_name(c)
                else ", **not** guarded: a `Config()` without a file passes `None`."
            )
        lines.append(text)
    ini = getattr(here.project, "ini", None)
    if ini is None:
        lines.append(
            "No alembic.ini is paired with this env.py, so its logging sections cannot be checked."
        )
    else:
        missing = ini.missing_logging_sections()
        name = ini.path.name
        if missing:
            lines.append(
                f"`{name}` has no `[{missing[0]}]` section: `fileConfig` raises `KeyError: '{missing[0]}'`."
            )
        else:
            keys = ini.get("loggers", "keys")
            shown = (
                f" (loggers: `{_shorten(keys.value or keys.raw, 50)}`)" if keys is not None else ""
            )
            lines.append(f"`{name}` has `[loggers]`, `[handlers]` and `[formatters]`{shown}.")
    return lines


def _guards_file_name(call: CallFact) -> bool:
    for branch, in_body in call.branches:
        for sub in ast.walk(branch.test):
            if isinstance(sub, ast.Attribute) and sub.attr == "config_file_name":
                return True
    return False


def _facts_config(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    lines = []
    names = sorted(here.facts.config_names)
    if names:
        lines.append("Bound here as " + ", ".join(f"`{n}`" for n in names) + ".")
    lines.extend(_ini_pairing(here.project))
    return lines


def _ini_pairing(project) -> list[str]:
    ini = getattr(project, "ini", None)
    if ini is None:
        return [
            "No alembic.ini whose `script_location` points at this folder was found; values read through `config` cannot be checked."
        ]
    section = getattr(project, "main_section", "alembic")
    line = f"Its ini file: `{ini.path}`, main section `[{section}]`."
    others = getattr(project, "other_inis", None) or []
    if others:
        line += " Also pointed at by: " + ", ".join(f"`{o.path.name}`" for o in others) + "."
    return [line]


def _facts_config_file_name(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    lines = []
    ini = getattr(here.project, "ini", None)
    if ini is not None:
        lines.append(f"With `alembic` run next to it, this is `{ini.path}`.")
    for c in here.facts.calls_named(N.FILE_CONFIG):
        guarded = _guards_file_name(c)
        lines.append(
            f"`fileConfig` at line {here.line_of(c.node)} is {'guarded' if guarded else '**not** guarded'} by a `None` check."
        )
    return lines


def _facts_config_ini_section(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    return [
        f'For this env.py\'s ini it is `"{_main_section(here.project)}"` (unless `-n` is given).'
    ]


def _main_section(project) -> str:
    return getattr(project, "main_section", None) or "alembic"


def _facts_get_main_option(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    if call is None:
        return _usage_lines(here, N.CONFIG + ".get_main_option")
    key = _const_str(call.node.args[0]) if call.node.args else None
    if key is None:
        return ["The option name is computed; its value cannot be read statically."]
    return _option_facts(here, here.project, _main_section(here.project), key, call)


def _option_facts(here: _Here, project, section: str, key: str, call: CallFact | None) -> list[str]:
    lines = []
    ini = getattr(project, "ini", None)
    overrides = [
        c
        for c in here.facts.calls_named(N.CONFIG + ".set_main_option")
        if c.node.args and _const_str(c.node.args[0]) == key and c is not call
    ]
    for o in overrides:
        value = o.node.args[1] if len(o.node.args) > 1 else None
        lines.append(
            f"Overridden at line {here.line_of(o.node)} by `set_main_option` with `{here.snippet(value) if value is not None else '?'}`"
            + (" (inside an `if`: only sometimes)." if o.branches else ".")
        )
    if ini is None:
        lines.append(f"No alembic.ini is paired with this env.py; `{key}` cannot be read.")
        return lines
    found = ini.get(section, key)
    if found is None:
        lines.append(f"`{ini.path.name}` `[{section}]` has no `{key}`: this returns the default.")
        return lines
    where = f"`{ini.path.name}` `[{found.section}]` line {found.line + 1}"
    if found.value is None:
        lines.append(f"{where}: the value cannot be interpolated ({found.error or 'error'}).")
        return lines
    if key == "sqlalchemy.url" or drivers.split_scheme(found.value) is not None:
        lines.append(f"{where}: `{_shown_url(found.value)}`")
        lines.extend(_url_lines(found.value))
    elif _SECRETISH_KEY.search(key):
        lines.append(f"{where} (value hidden).")
    else:
        lines.append(f"{where}: `{_shorten(found.value, 60)}`")
    return lines


def _facts_get_section(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    if call is None:
        return _usage_lines(here, N.CONFIG + ".get_section")
    lines = []
    arg = call.node.args[0] if call.node.args else call.keyword("name")
    section = None
    if arg is not None and qualified_name(arg, call.scope) == N.CONFIG + ".config_ini_section":
        section = _main_section(here.project)
        lines.append(f"Reads the main section, `[{section}]` for this env.py's ini.")
    elif arg is not None and _const_str(arg) is not None:
        section = _const_str(arg)
        lines.append(f"Reads section `[{section}]`.")
    default = call.node.args[1] if len(call.node.args) > 1 else call.keyword("default")
    if default is None:
        lines.append("No default: it returns `None` when the section is missing.")
    ini = getattr(here.project, "ini", None)
    if section is not None and ini is not None:
        if not ini.has_section(section):
            lines.append(f"`{ini.path.name}` has no `[{section}]` section.")
        else:
            url = ini.get(section, "sqlalchemy.url")
            if url is not None and url.value:
                lines.append(
                    f"Its `sqlalchemy.url` (`{ini.path.name}` line {url.line + 1}): `{_shown_url(url.value)}`"
                )
    engine = next((e for e in here.facts.engines if e.url_node is call.node), None)
    if engine is not None:
        lines.append(
            f"Feeds `{engine.factory}` at line {here.line_of(engine.call.node)}, which builds "
            f"{'an AsyncEngine' if engine.is_async else 'a sync Engine'}."
        )
    return lines


def _facts_set_main_option(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    if call is None:
        return _usage_lines(here, N.CONFIG + ".set_main_option")
    lines = []
    key = _const_str(call.node.args[0]) if call.node.args else None
    value = call.node.args[1] if len(call.node.args) > 1 else None
    if key is not None and value is not None:
        lines.append(
            f"Sets `{key}` to `{here.snippet(value)}`"
            + (" (inside an `if`)." if call.branches else ".")
        )
    if (
        isinstance(value, ast.Constant)
        and isinstance(value.value, str)
        and re.search(r"%(?!%|\()", value.value)
    ):
        lines.append(
            "The value holds a single `%`: `ConfigParser` raises `ValueError: invalid interpolation syntax`."
        )
    if key is not None:
        for engine in here.facts.engines:
            if engine.url.origin.startswith(f"config.set_main_option({key!r}"):
                lines.append(
                    f"`{engine.factory}` at line {here.line_of(engine.call.node)} reads this value."
                )
    return lines


def _facts_attributes(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    reads = []
    for c in here.facts.calls:
        func = c.node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and qualified_name(func.value, c.scope) == N.CONFIG + ".attributes"
            and c.node.args
            and _const_str(c.node.args[0]) == "connection"
        ):
            reads.append(here.line_of(c.node))
    parent = here.parent
    if (
        isinstance(parent, ast.Subscript)
        and _const_str(parent.slice) == "connection"
        and here.line_of(parent) not in reads
    ):
        reads.append(here.line_of(parent))
    if reads:
        return [
            f'Reads `attributes["connection"]` (line {", ".join(map(str, sorted(reads)))}): a caller can share its connection.'
        ]
    return [
        'No read of `attributes["connection"]` is seen here: callers cannot share a connection with this env.py.'
    ]


def _facts_engine_factory(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    if call is not None:
        engine = next(
            (
                e
                for e in here.facts.engines
                if e.call.node is call.node
                or (e.wrapped is not None and e.wrapped.node is call.node)
            ),
            None,
        )
        if engine is not None:
            return _engine_lines(here, engine)
        return []
    # On an import: every engine this file builds with it.
    name = (
        node.name if isinstance(node, ast.alias) else _symbol_key(qualified_name(node, here.scope))
    )
    return [_engine_summary(here, e) for e in here.facts.engines if e.factory == name]


def _facts_async_engine(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    if call is not None:
        engine = next((e for e in here.facts.engines if e.call.node is call.node), None)
        if engine is not None:
            return _engine_lines(here, engine)
    return [_engine_summary(here, e) for e in here.facts.engines if e.is_async]


def _facts_connection_class(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    # An annotation: of which parameter, and what really arrives there.
    for outer in reversed(here.chain[:-1]):
        if isinstance(outer, ast.arg) and outer.annotation is not None:
            fn = here.scope
            label = _annotation_label(outer.annotation)
            if fn.params and fn.params[0] is outer and fn.name in _run_sync_targets(here.facts):
                site = _run_sync_calls_for(here.facts, fn.name)
                where = f" (line {here.line_of(site[0].node)})" if site else ""
                verdict = "right" if label == "Connection" else "wrong: it is a sync `Connection`"
                return [
                    f"Annotates `{outer.arg}` of `{fn.name}`, which `run_sync()`{where} calls with the sync Connection: the annotation is {verdict}."
                ]
            return [f"Annotates parameter `{outer.arg}` of `{fn.name}`."]
    return []


def _facts_null_pool(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    lines = []
    for engine in here.facts.engines:
        pool = engine.poolclass
        if pool is None:
            continue
        q = qualified_name(pool, engine.call.scope) or here.snippet(pool)
        if q.endswith("NullPool"):
            lines.append(f"Used by `{engine.factory}` at line {here.line_of(engine.call.node)}.")
    unpooled = [e for e in here.facts.engines if e.poolclass is None and e.is_async]
    for engine in unpooled:
        lines.append(
            f"`{engine.factory}` at line {here.line_of(engine.call.node)} does not use it (ENV050)."
        )
    return lines


def _facts_asyncio_run(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    calls = (
        [call] if call is not None else here.facts.calls_named("asyncio.run", "asyncio.runners.run")
    )
    lines = []
    for c in calls:
        arg = c.node.args[0] if c.node.args else None
        text = f"Line {here.line_of(c.node)} runs `{here.snippet(arg) if arg is not None else '?'}`"
        if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name):
            fn = c.scope.lookup_function(arg.func.id)
            if fn is not None:
                text += f" ({'async def' if fn.is_async else '**plain def**: not a coroutine, asyncio.run raises ValueError'}, line {here.line_of(fn.node)})"
        path = here.facts.path_of(c)
        text += f"; {_path_words(path)}."
        lines.append(text)
        if c.scope.is_async:
            lines.append(
                "It is called inside an `async def`: at run time a loop is already running, so it raises `RuntimeError`."
            )
    return lines


def _facts_configure(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    configures = [c for c in here.facts.configures if call is None or c.call is call]
    lines = []
    for configure in configures:
        c = configure.call
        keywords = [k.arg for k in c.node.keywords if k.arg]
        text = f"Line {here.line_of(c.node)}: **{configure.mode}** (`{'connection=' if configure.mode == 'online' else 'url=/dialect_name='}`)"
        text += f", {_path_words(here.facts.path_of(c))}"
        if keywords:
            text += "; keywords: " + ", ".join(f"`{k}`" for k in keywords)
        if configure.has_splat:
            text += " and `**` options"
        lines.append(text + ".")
        if call is not None:
            lines.extend(_configure_details(here, configure))
    return lines


def _configure_details(here: _Here, configure) -> list[str]:
    lines = []
    connection = configure.keyword("connection")
    if connection is not None and isinstance(connection, ast.Name):
        origin = _connection_summary(here, connection.id, configure.call.scope)
        if origin:
            lines.append(f"`connection={connection.id}`: {origin}")
    if configure.mode == "offline":
        literal = configure.keyword("literal_binds")
        if literal is None:
            lines.append(
                "No `literal_binds=True`: `--sql` output keeps bound-parameter placeholders."
            )
        url = configure.keyword("url")
        if url is not None:
            value = configure_url(here.facts, here.project, configure)
            if value is not None:
                lines.append(
                    f"URL: `{_shown_url(value[0])}` ({value[1]}); offline mode loads no driver."
                )
    metadata = configure.keyword("target_metadata")
    if configure.mode == "online" and metadata is None and not configure.has_splat:
        lines.append("No `target_metadata=`: autogenerate has nothing to compare.")
    return lines


def _configure_keyword_facts(here: _Here, call: CallFact, keyword: ast.keyword) -> list[str]:
    value = keyword.value
    lines = [f"Here: `{keyword.arg}={here.snippet(value)}`"]
    scope = call.scope
    if keyword.arg == "connection" and isinstance(value, ast.Name):
        origin = _connection_summary(here, value.id, scope)
        if origin:
            lines.append(f"`{value.id}` is {origin}")
    elif keyword.arg == "target_metadata":
        lines.extend(_metadata_lines(here, value, scope))
    elif keyword.arg == "url":
        configure = next((c for c in here.facts.configures if c.call is call), None)
        found = (
            configure_url(here.facts, here.project, configure) if configure is not None else None
        )
        if found is not None:
            lines.append(f"Resolves to `{_shown_url(found[0])}` ({found[1]}).")
            lines.extend(_url_lines(found[0]))
        lines.append("Offline mode loads no DBAPI, so any driver (async ones too) works here.")
    elif keyword.arg == "literal_binds" and not (
        isinstance(value, ast.Constant) and value.value is True
    ):
        lines.append("Not `True`: `--sql` output keeps `:param` placeholders.")
    return lines


def _metadata_lines(here: _Here, value: ast.expr, scope: Scope) -> list[str]:
    lines = []
    if isinstance(value, ast.Name):
        assignment = scope.last_assignment(value.id)
        if assignment is not None:
            assigned = assignment.value
            lines.append(
                f"`{value.id}` is assigned at line {here.line_of(assignment.stmt)}: `{here.snippet(assigned)}`."
            )
            if isinstance(assigned, ast.Constant) and assigned.value is None:
                lines.append("It is `None`: `alembic revision --autogenerate` fails.")
    elif isinstance(value, ast.Constant) and value.value is None:
        lines.append("It is `None`: `alembic revision --autogenerate` fails.")
    return lines


def _facts_target_metadata(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    assignment = here.facts.target_metadata
    lines = []
    if assignment is not None:
        lines.extend(_metadata_lines(here, ast.Name(id="target_metadata"), here.facts.module))
    uses = [
        here.line_of(c.call.node)
        for c in here.facts.configures
        if isinstance(c.keyword("target_metadata"), ast.Name)
        and c.keyword("target_metadata").id == "target_metadata"
    ]
    if uses:
        lines.append(
            f"Passed to `context.configure` at line{'s' if len(uses) > 1 else ''} "
            + ", ".join(map(str, uses))
            + "."
        )
    else:
        lines.append("Not passed to any `context.configure` call here.")
    return lines


def _facts_begin_transaction(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    calls = (
        [call] if call is not None else here.facts.calls_named("alembic.context.begin_transaction")
    )
    lines = []
    for c in calls:
        with_ = next((w for w in here.facts.withs if w.item.context_expr is c.node), None)
        how = (
            "`async with` (wrong: it is a sync context manager)"
            if with_ is not None and with_.is_async
            else "`with`"
            if with_
            else "no `with` (the transaction is never entered)"
        )
        text = f"Line {here.line_of(c.node)}: used with {how}; {_path_words(here.facts.path_of(c))}"
        per_migration = any(
            isinstance(conf.keyword("transaction_per_migration"), ast.Constant)
            and conf.keyword("transaction_per_migration").value is True
            for conf in here.facts.configures
            if conf.call.scope is c.scope
        )
        if per_migration:
            text += "; `transaction_per_migration=True` makes each revision commit on its own"
        lines.append(text + ".")
    return lines


def _facts_run_migrations(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    calls = [call] if call is not None else here.facts.calls_named("alembic.context.run_migrations")
    lines = []
    for c in calls:
        inside = any(
            qualified_name(w.item.context_expr.func, w.scope) == "alembic.context.begin_transaction"
            for w in c.withs
            if isinstance(w.item.context_expr, ast.Call)
        )
        text = f"Line {here.line_of(c.node)}: {'inside' if inside else '**not** inside'} `with context.begin_transaction()`"
        lines.append(text + f"; {_path_words(here.facts.path_of(c))}.")
    return lines


def _facts_is_offline_mode(here: _Here, call: CallFact | None, node: ast.AST) -> list[str]:
    dispatch = here.facts.dispatch
    if dispatch is None:
        return [
            "This file has no `if context.is_offline_mode():` branch: `--sql` runs the online code."
        ]
    offline_body = dispatch.node.body if dispatch.offline_in_body else dispatch.node.orelse
    online_body = dispatch.node.orelse if dispatch.offline_in_body else dispatch.node.body

    def called(body):
        names = []
        for stmt in body:
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.Call):
                    names.append(here.snippet(sub.func))
        return ", ".join(f"`{n}()`" for n in names[:3]) or "nothing"

    return [
        f"Line {here.line_of(dispatch.node)}: offline runs {called(offline_body)}; online runs {called(online_body)}.",
    ]


def _usage_lines(here: _Here, qname: str) -> list[str]:
    calls = here.facts.calls_named(qname)
    if not calls:
        return []
    return ["Called at line " + ", ".join(str(here.line_of(c.node)) for c in calls) + "."]


_FACTS = {
    "fileConfig": _facts_file_config,
    "config": _facts_config,
    "config.config_file_name": _facts_config_file_name,
    "config.config_ini_section": _facts_config_ini_section,
    "config.get_main_option": _facts_get_main_option,
    "config.get_section": _facts_get_section,
    "config.set_main_option": _facts_set_main_option,
    "config.attributes": _facts_attributes,
    "engine_from_config": _facts_engine_factory,
    "create_engine": _facts_engine_factory,
    "async_engine_from_config": _facts_engine_factory,
    "create_async_engine": _facts_engine_factory,
    "AsyncEngine": _facts_async_engine,
    "Connection": _facts_connection_class,
    "AsyncConnection": _facts_connection_class,
    "NullPool": _facts_null_pool,
    "asyncio.run": _facts_asyncio_run,
    "context.configure": _facts_configure,
    "target_metadata": _facts_target_metadata,
    "context.begin_transaction": _facts_begin_transaction,
    "context.run_migrations": _facts_run_migrations,
    "context.is_offline_mode": _facts_is_offline_mode,
}


# --- engines, connections, run_sync ---------------------------------------------------------


def _engine_summary(here: _Here, engine: EngineFact) -> str:
    kind = "AsyncEngine" if engine.is_async else "sync Engine"
    target = f" `{engine.var}`" if engine.var else ""
    return f"Line {here.line_of(engine.call.node)}: builds the {kind}{target}; URL {_url_origin_words(engine.url)}."


def _engine_lines(here: _Here, engine: EngineFact) -> list[str]:
    kind = "an **AsyncEngine**" if engine.is_async else "a **sync Engine**"
    how = f"`{engine.factory}`" + (
        " wrapped in `AsyncEngine(...)`" if engine.wrapped is not None else ""
    )
    first = f"Line {here.line_of(engine.call.node)}: {how} builds {kind}"
    if engine.var:
        first += f", assigned to `{engine.var}`"
    lines = [first + f"; {_path_words(here.facts.path_of(engine.call))}."]
    url = engine.url
    if url.text and url.scheme:
        text = f"URL `{_shown_url(url.text)}` from {url.origin}"
        if url.confidence is Confidence.DEFAULT:
            text += " — only a default; the real value at run time may differ"
        elif url.confidence is Confidence.HEURISTIC:
            text += " — a guess"
        lines.append(text + ".")
        lines.extend(_url_lines(url.text, engine_mode=_engine_mode(engine)))
    else:
        lines.append(f"URL not known statically ({url.origin}); its driver cannot be checked.")
    if engine.poolclass is not None:
        lines.append(f"Pool: `{here.snippet(engine.poolclass)}`.")
    elif engine.is_async:
        lines.append(
            "No `poolclass`: the default pool keeps connections that can outlive the event loop."
        )
    return lines


def _engine_mode(engine: EngineFact) -> str:
    if engine.wrapped is not None:
        return "wrap"
    return "async" if engine.is_async else "sync"


def _engine_variable_hover(here: _Here, name: str, engine: EngineFact) -> str:
    kind = "AsyncEngine" if engine.is_async else "Engine"
    title = f"**`{name}`** · `{kind}`"
    return _compose(title, _SYMBOLS[kind][1], _engine_lines(here, engine))


def _run_sync_targets(facts: EnvFacts) -> set[str]:
    return {
        c.node.args[0].id
        for c in facts.calls
        if c.attr == "run_sync" and c.node.args and isinstance(c.node.args[0], ast.Name)
    }


def _run_sync_calls_for(facts: EnvFacts, name: str) -> list[CallFact]:
    return [
        c
        for c in facts.calls
        if c.attr == "run_sync"
        and c.node.args
        and isinstance(c.node.args[0], ast.Name)
        and c.node.args[0].id == name
    ]


def _connection_summary(here: _Here, name: str, scope: Scope) -> str | None:
    """One sentence: what the connection variable `name` holds in `scope`, or None."""
    fn = scope
    if fn.node is not None and not fn.is_module and fn.params and fn.params[0].arg == name:
        sites = _run_sync_calls_for(here.facts, fn.name)
        if sites:
            site = sites[0]
            return (
                f"the sync `Connection` that `{here.snippet(site.node)}` (line {here.line_of(site.node)}) passes to "
                f"`{fn.name}` as its first argument."
            )
    binding = scope.lookup_kind(name)
    if binding is None or binding.kind not in (Kind.CONNECTION, Kind.ASYNC_CONNECTION):
        return None
    kind = "`AsyncConnection`" if binding.kind is Kind.ASYNC_CONNECTION else "sync `Connection`"
    origin = binding.node
    if isinstance(origin, ast.arg):
        return f"a {kind}, by the annotation of parameter `{origin.arg}`."
    with_ = next((w for w in here.facts.withs if w.item.context_expr is origin), None)
    how = (
        f"`{'async with' if with_.is_async else 'with'} {here.snippet(origin)}`"
        if with_ is not None
        else f"`{here.snippet(origin)}`"
    )
    text = f"an {kind}" if binding.kind is Kind.ASYNC_CONNECTION else f"a {kind}"
    text += f" from {how} at line {here.line_of(origin)}"
    if binding.engine is not None:
        engine = binding.engine
        text += f", of the {'AsyncEngine' if engine.is_async else 'sync Engine'} built by `{engine.factory}` (line {here.line_of(engine.call.node)})"
    return text + "."


def _connection_origin(here: _Here, name: str, scope: Scope) -> str | None:
    summary = _connection_summary(here, name, scope)
    if summary is None:
        return None
    is_async = summary.startswith("an `AsyncConnection`")
    key = "AsyncConnection" if is_async else "Connection"
    title = f"**`{name}`** · `{key}`"
    lines = [summary[0].upper() + summary[1:]]
    if is_async:
        doc = _SYMBOLS["AsyncConnection"][1]
    else:
        doc = (
            "The synchronous connection Alembic runs the migrations on, given to `context.configure(connection=...)`. "
            "With SQLAlchemy 2.x it rolls back on close whatever was not committed, so the migrations must run "
            "inside `with context.begin_transaction():`."
        )
    return _compose(title, doc, lines)


def _run_sync_hover(here: _Here, call: CallFact | None, receiver: ast.expr) -> str:
    title, doc = _SYMBOLS["run_sync"]
    lines: list[str] = []
    if call is not None:
        if isinstance(receiver, ast.Name):
            summary = _connection_summary(here, receiver.id, call.scope)
            if summary:
                lines.append(f"`{receiver.id}` is {summary}")
        target = call.node.args[0] if call.node.args else None
        if isinstance(target, ast.Name):
            fn = call.scope.lookup_function(target.id)
            if fn is None:
                lines.append(f"`{target.id}` receives the sync `Connection` as its first argument.")
            elif fn.is_async:
                lines.append(
                    f"`{target.id}` is an `async def` (line {here.line_of(fn.node)}): `run_sync` only creates a coroutine that is never awaited, so the migrations do not run."
                )
            elif not fn.params and not fn.has_varargs:
                lines.append(
                    f"`{target.id}` (line {here.line_of(fn.node)}) takes no parameters: `TypeError: {target.id}() takes 0 positional arguments but 1 was given`."
                )
            else:
                first = fn.params[0].arg if fn.params else "*args"
                lines.append(
                    f"`{target.id}` (plain def, line {here.line_of(fn.node)}) receives the sync `Connection` as `{first}`."
                )
        elif (
            target is not None
            and qualified_name(target, call.scope) == "alembic.context.run_migrations"
        ):
            lines.append(
                "`context.run_migrations` takes no positional arguments: `run_sync` passing the connection raises `TypeError`."
            )
        elif isinstance(target, ast.Call):
            lines.append(
                f"`{here.snippet(target)}` is called right away (with the AsyncConnection); `run_sync` needs the function itself."
            )
        elif target is not None:
            lines.append(
                f"`{here.snippet(target)}` receives the sync `Connection` as its first argument."
            )
        if not call.awaited:
            lines.append("**Not awaited**: the returned coroutine never runs.")
        else:
            lines.append("Awaited: good.")
    return _compose(f"**{title}**", doc, lines)


def _method_hover(
    here: _Here, method: str, call: CallFact | None, receiver: ast.expr, binding
) -> str:
    title, doc = _SYMBOLS[method]
    kind = binding.kind
    owner = {
        Kind.ENGINE: "Engine",
        Kind.ASYNC_ENGINE: "AsyncEngine",
        Kind.CONNECTION: "Connection",
        Kind.ASYNC_CONNECTION: "AsyncConnection",
    }[kind]
    lines = []
    name = receiver.id if isinstance(receiver, ast.Name) else here.snippet(receiver)
    if binding.engine is not None:
        engine = binding.engine
        lines.append(
            f"`{name}` is the {owner} built by `{engine.factory}` at line {here.line_of(engine.call.node)}."
        )
    else:
        lines.append(f"`{name}` is a `{owner}`.")
    is_async = kind in (Kind.ASYNC_ENGINE, Kind.ASYNC_CONNECTION)
    if call is not None:
        if method == "dispose":
            if is_async:
                lines.append(
                    "Awaited: good."
                    if call.awaited
                    else "**Not awaited**: on an AsyncEngine `dispose()` returns a coroutine that does nothing unless awaited."
                )
        else:
            with_ = next((w for w in here.facts.withs if w.item.context_expr is call.node), None)
            if with_ is not None:
                right = with_.is_async == is_async
                used = "async with" if with_.is_async else "with"
                lines.append(
                    f"Used with `{used}`: "
                    + (
                        "right."
                        if right
                        else f"wrong, `{owner}.{method}()` needs `{'async with' if is_async else 'with'}`."
                    )
                )
    return _compose(f"**`{owner}.{method}()`**", doc, lines)


def _function_hover(here: _Here, name: str) -> str | None:
    facts = here.facts
    fn = facts.module.functions.get(name)
    if fn is None or fn.node is None:
        return None
    kind = "async def" if fn.is_async else "def"
    title = f"**`{name}`** · local `{kind}` (line {here.line_of(fn.node)})"
    lines = []
    if name in facts.online_functions and name in facts.offline_functions:
        lines.append("Runs in online and offline mode.")
    elif name in facts.online_functions:
        lines.append("Runs in online mode (`alembic upgrade ...`).")
    elif name in facts.offline_functions:
        lines.append("Runs in offline mode (`alembic upgrade ... --sql`).")
    elif name not in facts.executed_functions:
        lines.append("Never called from the module level: it does not run.")
    for c in facts.calls:
        func = c.node.func
        direct = isinstance(func, ast.Name) and func.id == name
        passed = any(isinstance(a, ast.Name) and a.id == name for a in c.node.args)
        if not (direct or passed):
            continue
        if c.attr == "run_sync" and passed:
            lines.append(
                f"`{here.snippet(c.node)}` (line {here.line_of(c.node)}) calls it with the sync `Connection` as first argument."
            )
        elif direct and fn.is_async and not c.awaited:
            parent_call = c.parent if isinstance(c.parent, ast.Call) else None
            if parent_call is not None:
                lines.append(
                    f"Line {here.line_of(c.node)}: its coroutine is run by `{here.snippet(parent_call.func)}(...)`."
                )
            else:
                lines.append(
                    f"Line {here.line_of(c.node)}: called without `await` or `asyncio.run`: the coroutine never runs."
                )
        elif direct:
            lines.append(
                f"Called at line {here.line_of(c.node)}{' (awaited)' if c.awaited else ''}."
            )
    engines = [e for e in facts.engines if e.call.scope is fn]
    for engine in engines:
        lines.append(_engine_summary(here, engine))
    configures = [c for c in facts.configures if c.call.scope is fn]
    for configure in configures:
        lines.append(
            f"Calls `context.configure` ({configure.mode}) at line {here.line_of(configure.call.node)}."
        )
    return _compose(title, None, lines)


def _annotation_label(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.rsplit(".", 1)[-1]
    return None


# --- URLs -----------------------------------------------------------------------------------


def _url_literal_hover(here: _Here, node: ast.Constant) -> str:
    text = node.value
    lines = _url_lines(text)
    for engine in here.facts.engines:
        if engine.url.literal is node:
            lines.append(_engine_summary(here, engine))
            verdict = _verdict(drivers.driver_info(text), _engine_mode(engine))
            if verdict:
                lines.append(verdict)
    for configure in here.facts.configures:
        url = configure.keyword("url")
        if url is node:
            lines.append(
                "Passed to the offline `context.configure(url=...)`: no driver is loaded there, any driver works."
            )
    title = f"**Database URL** `{_shown_url(text)}`"
    return _compose(title, None, lines)


def _url_lines(text: str, engine_mode: str | None = None) -> list[str]:
    """Dialect, driver, sync/async support, package; plus the verdict for an engine kind."""
    info = drivers.driver_info(text)
    if info is None:
        return ["Not a URL SQLAlchemy can parse: it has no `scheme://`."]
    if not info.known:
        return [_unknown_dialect(info, text)]
    lines = []
    written = "+" in info.scheme
    driver = info.driver or "?"
    first = f"Dialect `{info.dialect}`, driver `{driver}`"
    if not written:
        first += f" (SQLAlchemy {_sa_version(info)} default for `{info.dialect}://`)"
    lines.append(first + ".")
    lines.append(_support(info))
    install = _install(info)
    if install:
        lines.append(install)
    if not written and info.dialect in ("postgresql", "oracle"):
        old = "psycopg2" if info.dialect == "postgresql" else "cx_oracle"
        lines.append(
            f"A bare `{info.dialect}://` depends on the SQLAlchemy version: 2.0 picks `{old}` (sync only); name the driver to be explicit."
        )
    if engine_mode is not None:
        verdict = _verdict(info, engine_mode)
        if verdict:
            lines.append(verdict)
    return lines


def _sa_version(info: drivers.DriverInfo) -> str:
    source = info.source
    if source.startswith("SQLAlchemy "):
        return source[len("SQLAlchemy ") :] + "'s"
    return "2.1's"


def _support(info: drivers.DriverInfo) -> str:
    if info.sync_ok and info.async_ok:
        extra = ""
        if info.async_dialect and info.sync_dialect and info.async_dialect != info.sync_dialect:
            extra = f" (an async engine loads `{info.async_dialect}`)"
        return f"Works with sync and async engines{extra}."
    if info.sync_ok:
        return (
            "Sync engines only (`create_engine`, `engine_from_config`); an async engine rejects it."
        )
    if info.async_ok:
        return "Async engines only (`create_async_engine`, `async_engine_from_config`); a sync engine fails at the first connection with `MissingGreenlet`."
    return "SQLAlchemy could not load this dialect."


def _install(info: drivers.DriverInfo) -> str | None:
    module = info.dbapi_module
    if module == "sqlite3":
        text = "DBAPI `sqlite3` comes with Python: nothing to install."
    elif info.packages:
        text = "Package to install: " + " or ".join(f"`{p}`" for p in info.packages)
        if module:
            text += f" (DBAPI module `{module}`)"
        text += "."
    elif module:
        text = f"DBAPI module `{module}`."
    else:
        return None
    if info.async_ok:
        text += f" Async use also needs greenlet: `{drivers.ASYNCIO_EXTRA}`."
    return text


def _unknown_dialect(info: drivers.DriverInfo, text: str) -> str:
    plugin = info.scheme.replace("+", ".")
    error = f"`NoSuchModuleError: Can't load plugin: sqlalchemy.dialects:{plugin}`"
    if info.dialect == "driver":
        return f"`driver://` is the placeholder `alembic init` writes: put a real URL here. SQLAlchemy raises {error}."
    if info.dialect == "postgres":
        return f"`postgres://` is not a SQLAlchemy dialect name (hosting providers hand it out): use `postgresql://`. SQLAlchemy raises {error}."
    if "${" in text or "%(" in text:
        return f"The URL still holds a placeholder; SQLAlchemy sees the scheme `{info.scheme}` and raises {error}."
    return f"SQLAlchemy ({info.source}) has no dialect `{info.scheme}` and raises {error}; a third-party dialect may not be installed."


def _greenlet_text() -> str:
    version = drivers.sqlalchemy_version() or ""
    call = "await_only()" if version.startswith("2.0") or version.startswith("1.") else "await_()"
    return f"greenlet_spawn has not been called; can't call {call} here. Was IO attempted in an unexpected place?"


def _verdict(info: drivers.DriverInfo | None, mode: str) -> str | None:
    if info is None or not info.known:
        return None
    driver = info.driver or info.dialect
    if mode == "sync":
        if info.sync_ok:
            return f"✓ Works: a sync engine loads `{info.sync_dialect or driver}`."
        if info.sync_ok is False:
            return f"✗ Fails at the first connection: `{driver}` is async-only and SQLAlchemy raises `MissingGreenlet: {_greenlet_text()}`"
        return None
    works = info.wrap_ok if mode == "wrap" else info.async_ok
    if works:
        loaded = info.sync_dialect if mode == "wrap" else info.async_dialect
        note = ""
        if (
            mode == "async"
            and info.sync_dialect
            and info.async_dialect
            and info.sync_dialect != info.async_dialect
            and not info.wrap_ok
        ):
            note = " (SQLAlchemy switches to the driver's async variant)"
        return f"✓ Works: the async engine loads `{loaded or driver}`{note}."
    if works is False:
        error = (
            f"`InvalidRequestError: The asyncio extension requires an async driver to be used. "
            f"The loaded '{driver}' is not async.`"
        )
        if mode == "wrap" and info.async_ok:
            return (
                f"✗ Fails when the engine is created: `AsyncEngine(...)` around a sync factory gets the sync dialect "
                f"`{info.sync_dialect or driver}` (it never asks for the async variant that `async_engine_from_config` "
                f"would pick) and SQLAlchemy raises {error}"
            )
        return f"✗ Fails when the engine is created: `{driver}` is sync-only and SQLAlchemy raises {error}"
    return None


def _shown_url(text: str) -> str:
    if drivers.split_scheme(text) is None:
        return "(not a URL)"
    return _shorten(redact_url(text), 90)


def _url_origin_words(url: UrlValue) -> str:
    if url.text and url.scheme:
        return f"`{_shown_url(url.text)}` from {url.origin}"
    return f"not known statically ({url.origin})"


def configure_url(facts: EnvFacts, project, configure) -> tuple[str, str] | None:
    """(URL, where from) of a `context.configure(url=...)`: the model's resolution when it
    has one (`ConfigureFact.url`), else `offline_url`'s reading of the common shapes."""
    resolved = getattr(configure, "url", None)
    if isinstance(resolved, UrlValue) and resolved.text and resolved.scheme:
        return resolved.text, resolved.origin
    expr = configure.keyword("url")
    return offline_url(facts, project, expr, configure.call.scope) if expr is not None else None


def offline_url(
    facts: EnvFacts, project, expr: ast.expr, scope: Scope, depth: int = 0
) -> tuple[str, str] | None:
    """(URL, where from) an offline `configure(url=...)` gets, for the common shapes only:
    a literal, a variable, `config.get_main_option("key")` not overridden in env.py."""
    if depth > 4:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value, "string literal in env.py"
    if isinstance(expr, ast.Name):
        assignment = scope.last_assignment(expr.id, expr.lineno)
        if assignment is None:
            return None
        return offline_url(facts, project, assignment.value, scope, depth + 1)
    if isinstance(expr, ast.Call):
        q = qualified_name(expr.func, scope)
        if q == N.CONFIG + ".get_main_option" and expr.args:
            key = _const_str(expr.args[0])
            if key is None:
                return None
            if any(
                c.node.args and _const_str(c.node.args[0]) == key
                for c in facts.calls_named(N.CONFIG + ".set_main_option")
            ):
                return None  # overridden in env.py
            ini = getattr(project, "ini", None)
            found = ini.get(_main_section(project), key) if ini is not None else None
            if found is not None and found.value:
                return (
                    found.value,
                    f"{ini.path.name} [{found.section}] {key}, line {found.line + 1}",
                )
    return None


def _path_words(path: str) -> str:
    return {
        "online": "runs in online mode",
        "offline": "runs in offline mode",
        "both": "runs in online and offline mode",
        "none": "never runs (not reached from the module level)",
    }.get(path, path)


# --- small helpers --------------------------------------------------------------------------


def _const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _shorten(text: str, limit: int = _MAX_SNIPPET) -> str:
    text = " ".join(text.split()).replace("`", "'")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


# --------------------------------------------------------------------------------------
# hover_ini
# --------------------------------------------------------------------------------------

_INI_HEADER = re.compile(r"^\s*\[(?P<name>[^\]]+)\]")
_INI_OPTION = re.compile(r"^(?P<indent>\s*)(?P<key>[^=:\s\[][^=:]*?)\s*[=:]\s*(?P<value>.*?)\s*$")

_LOGGING_HEADERS = {
    "loggers": "Lists the loggers `fileConfig` configures (`keys = root,sqlalchemy,alembic`); each needs a `[logger_NAME]` section. `fileConfig` raises `KeyError: 'loggers'` without it.",
    "handlers": "Lists the handlers (`keys = console`); each needs a `[handler_NAME]` section with `class`, `args` and `formatter`. `fileConfig` raises `KeyError: 'handlers'` without it.",
    "formatters": "Lists the formatters (`keys = generic`); each needs a `[formatter_NAME]` section with `format`. `fileConfig` raises `KeyError: 'formatters'` without it, and it is the first section it reads.",
}


def hover_ini(
    project: ProjectContext | None,
    ini_path: str,
    ini_text: str,
    position: Position,
    *,
    analysis: Analysis | None = None,
) -> HoverResult | None:
    """Hover on alembic.ini: `sqlalchemy.url`, `script_location` and section headers.

    `analysis`: the current Analysis of the env.py paired with this ini, if the caller has
    one; otherwise that env.py is read from disk and its facts built (no rules run)."""
    from .project import IniFile

    source = SourceText(ini_text[1:] if ini_text.startswith("\ufeff") else ini_text)
    if position.line < 0 or position.line >= source.line_count:
        return None
    line = source.line(position.line)
    if position.character >= len(line) or line[position.character].isspace():
        return None
    stripped = line.lstrip()
    if not stripped or stripped[0] in "#;":
        return None
    ini = IniFile(Path(ini_path), ini_text)
    section = _ini_section_of_line(source, position.line)
    header = _INI_HEADER.match(line)
    if header is not None:
        start, end = header.start("name") - 1, header.end("name") + 1
        if not start <= position.character < end:
            return None
        text = _ini_header_text(project, ini, header.group("name").strip(), ini_path, analysis)
        return _ini_result(
            text, Range.of(position.line, start, position.line, end), ini_path, position, analysis
        )
    option = _INI_OPTION.match(line)
    if option is None or section is None:
        return _ini_result(None, None, ini_path, position, analysis)
    key = option.group("key").strip().lower()
    start = option.start("key")
    end = option.end("value") if option.group("value") else option.end("key")
    if not start <= position.character < max(end, option.end("key")):
        return _ini_result(None, None, ini_path, position, analysis)
    rng = Range.of(position.line, start, position.line, end)
    text = None
    if key == "sqlalchemy.url":
        text = _ini_url_text(project, ini, section, ini_path, analysis)
    elif key == "script_location" and section == "alembic":
        text = _ini_script_location_text(project, ini, section)
    return _ini_result(text, rng, ini_path, position, analysis)


def _ini_result(
    text: str | None, rng: Range | None, ini_path: str, position: Position, analysis
) -> HoverResult | None:
    """The symbol text plus, over a finding shown on this ini, the finding and its rule's docs."""
    hits = []
    if analysis is not None:
        for finding in analysis.findings:
            for shown in (finding, *finding.related):
                if (
                    shown.path is not None
                    and _same_path(shown.path, ini_path)
                    and _finding_covers(shown.range, position)
                ):
                    hits.append(shown)
    sections = ([text] if text else []) + _finding_sections(hits)
    if not sections:
        return None
    if rng is None:
        rng = hits[0].range
    return HoverResult(redact_markdown("\n\n---\n\n".join(sections)), rng)


def _ini_section_of_line(source: SourceText, line: int) -> str | None:
    for index in range(line, -1, -1):
        match = _INI_HEADER.match(source.line(index))
        if match is not None:
            return match.group("name").strip()
    return None


def _ini_url_text(project, ini: IniFile, section: str, ini_path: str, analysis) -> str:
    found = ini.get(section, "sqlalchemy.url")
    lines: list[str] = []
    if found is None or found.value is None:
        error = found.error if found is not None else None
        lines.append(f"The value cannot be read{': ' + error if error else ''}.")
    else:
        lines.append(
            f"Value: `{_shown_url(found.value)}`"
            + (" (after `%` interpolation)" if "%(" in found.raw else "")
        )
        lines.extend(_url_lines(found.value))
    lines.extend(
        _ini_readers(
            project, ini_path, section, found.value if found is not None else None, analysis
        )
    )
    doc = (
        'The database URL Alembic\'s templates read with `config.get_main_option("sqlalchemy.url")` (offline) and '
        '`config.get_section(config.config_ini_section)` with `prefix="sqlalchemy."` (online). `%` is '
        "configparser interpolation here: a literal `%` in a password must be written `%%`."
    )
    return _compose(f"**`sqlalchemy.url`** · `[{section}]`", doc, lines, heading="Here")


def _ini_readers(project, ini_path: str, section: str, value: str | None, analysis) -> list[str]:
    facts, env_path = _paired_facts(project, ini_path, analysis)
    if env_path is None:
        return ["No env.py whose folder this ini's `script_location` names was found."]
    lines = []
    shown = _display_path(env_path, ini_path)
    if facts is None:
        return [f"Read by `{shown}` (it could not be parsed)."]
    source = facts.source
    readers = [
        e
        for e in facts.engines
        if e.url.ini_path is not None and _same_path(e.url.ini_path, ini_path)
    ]
    for engine in readers:
        line = source.from_utf8(engine.call.node.lineno, engine.call.node.col_offset).line + 1
        kind = "an AsyncEngine" if engine.is_async else "a sync Engine"
        text = f"`{shown}` line {line}: `{engine.factory}` builds {kind} from it"
        info = drivers.driver_info(value) if value else None
        verdict = _verdict(info, _engine_mode(engine)) if info is not None else None
        lines.append(text + (f". {verdict}" if verdict else "."))
    offline = [c for c in facts.configures if c.mode == "offline" and c.keyword("url") is not None]
    for configure in offline:
        line = configure.call.node.lineno
        lines.append(
            f"`{shown}` line {line}: the offline `context.configure(url=...)` (no driver loaded)."
        )
    if not readers and not offline:
        lines.append(
            f"`{shown}` is paired with this ini but no engine built there reads this value."
        )
    return lines


def _paired_facts(project, ini_path: str, analysis) -> tuple[EnvFacts | None, Path | None]:
    env_path = getattr(project, "env_path", None)
    if analysis is not None and analysis.facts is not None:
        path = Path(analysis.path) if analysis.path else env_path
        return analysis.facts, path
    if env_path is None:
        return None, None
    ini = getattr(project, "ini", None)
    if (
        ini is not None
        and not _same_path(str(ini.path), ini_path)
        and not any(_same_path(str(o.path), ini_path) for o in getattr(project, "other_inis", []))
    ):
        return None, None
    from .model.build import build_facts
    from .model.parse import parse
    from .project import MAX_ENV_SCRIPT_BYTES

    try:
        data = Path(env_path).read_bytes()[: MAX_ENV_SCRIPT_BYTES + 1]
        text = data.decode("utf-8", "replace")
    except OSError:
        return None, Path(env_path)
    if len(data) > MAX_ENV_SCRIPT_BYTES:
        return None, Path(env_path)
    source = SourceText(text[1:] if text.startswith("\ufeff") else text)
    tree = parse(source)
    if not isinstance(tree, ast.Module):
        return None, Path(env_path)
    return build_facts(tree, source, project), Path(env_path)


def _same_path(a: str, b: str) -> bool:
    import os

    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _display_path(env_path: Path, ini_path: str) -> str:
    import os

    try:
        return os.path.relpath(env_path, Path(ini_path).parent).replace(os.sep, "/")
    except ValueError:
        return str(env_path)


def _ini_script_location_text(project, ini: IniFile, section: str) -> str:
    doc = (
        "Where the migration environment (env.py, `script.py.mako`, `versions/`) lives. `%(here)s` is the ini "
        "file's folder; a relative path is taken from the working directory, normally the ini's folder; "
        "`package:dir` names a folder inside an installed package."
    )
    location = ini.script_location_for(section)
    lines = []
    if location is None:
        lines.append("It does not resolve to a folder.")
    else:
        env = location / "env.py"
        lines.append(
            f"Resolves to `{location}`"
            + (" (env.py found)." if env.is_file() else " (no env.py there).")
        )
    return _compose("**`script_location`**", doc, lines, heading="Here")


def _ini_header_text(project, ini: IniFile, name: str, ini_path: str, analysis) -> str | None:
    lower = name.lower()
    if lower in _LOGGING_HEADERS:
        doc = _LOGGING_HEADERS[lower]
        title = f"**`[{name}]`** · logging"
    elif lower.startswith(("logger_", "handler_", "formatter_")):
        what, _, item = name.partition("_")
        doc = {
            "logger": f"Settings of logger `{item}`: `level`, `handlers` and `qualname` (the Python logger name). "
            + {
                "root": "This is the root logger: records of loggers without their own section end up here.",
                "sqlalchemy": "With `qualname = sqlalchemy.engine` at INFO it prints every SQL statement; the template keeps it at WARNING.",
                "alembic": "At INFO it prints Alembic's `Running upgrade …` lines; the template sets INFO.",
            }.get(item.lower(), ""),
            "handler": f"Settings of handler `{item}`: `class` (e.g. `StreamHandler`), `args` (evaluated, e.g. `(sys.stderr,)`), `level` and `formatter`.",
            "formatter": f"Settings of formatter `{item}`: `format` and `datefmt`, as for `logging.Formatter`.",
        }[what.lower()]
        title = f"**`[{name}]`** · logging"
        lines = _logging_item_lines(ini, what.lower(), item, name)
        return _ini_logging_text(project, ini, ini_path, analysis, title, doc, lines)
    elif lower == "alembic" or lower == getattr(project, "main_section", "alembic"):
        doc = (
            "The main section: `script_location`, `sqlalchemy.url`, `prepend_sys_path` and the other options "
            "`config.get_main_option()` reads. `alembic -n NAME` makes another section the main one."
        )
        title = f"**`[{name}]`** · Alembic's main section"
        return _compose(title, doc, [])
    else:
        return None
    return _ini_logging_text(project, ini, ini_path, analysis, title, doc, [])


_LOGGING_ITEM_KEYS = {
    "logger": ("level", "handlers", "qualname", "propagate"),
    "handler": ("class", "args", "level", "formatter"),
    "formatter": ("format", "datefmt"),
}


def _logging_item_lines(ini: IniFile, what: str, item: str, section: str) -> list[str]:
    lines = []
    values = []
    for key in _LOGGING_ITEM_KEYS.get(what, ()):
        found = ini.get(section, key)
        if found is not None and found.section == section:
            raw = _shorten(found.raw, 40)
            values.append(f"`{key} = {raw}`" if raw else f"`{key}` empty")
    if values:
        lines.append(", ".join(values) + ".")
    listing = {"logger": "loggers", "handler": "handlers", "formatter": "formatters"}.get(what)
    keys = ini.get(listing, "keys") if listing else None
    if keys is not None and keys.value is not None:
        names = [k.strip() for k in keys.value.split(",") if k.strip()]
        if item not in names:
            lines.append(
                f"`{item}` is not listed in `[{listing}] keys`, so `fileConfig` ignores this section."
            )
    return lines


def _ini_logging_text(
    project, ini: IniFile, ini_path: str, analysis, title: str, doc: str, lines: list[str]
) -> str:
    missing = ini.missing_logging_sections()
    if missing:
        lines.append(
            f"This file has no `[{']`, `['.join(missing)}]`: `fileConfig` would raise `KeyError: '{missing[0]}'`."
        )
    facts, env_path = _paired_facts(project, ini_path, analysis)
    if facts is not None:
        shown = _display_path(env_path, ini_path) if env_path else "env.py"
        calls = facts.calls_named(N.FILE_CONFIG)
        if calls:
            line = calls[0].node.lineno
            lines.append(f"`{shown}` line {line} calls `fileConfig`, which applies these sections.")
        else:
            lines.append(f"`{shown}` does not call `fileConfig`: these sections are not applied.")
    return _compose(title, doc, lines, heading="Here")


__all__ = ["HoverResult", "hover_at", "hover_ini"]
