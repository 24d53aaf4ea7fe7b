"""Is a URL's driver sync, async or both? Answered by the installed SQLAlchemy.

Importing SQLAlchemy costs about a third of a second, and the language server must not
pay that at startup or on a keystroke. So the whole answer (every built-in dialect and
driver, plus third-party dialects registered as `sqlalchemy.dialects` entry points) is
computed once in a subprocess (`python -m alembic_env_lsp.drivers --dump`) and kept as
JSON in the cache directory, keyed by the SQLAlchemy version and the set of dialect
entry points. This process only reads that JSON.

When SQLAlchemy cannot be imported at all, a small built-in table stands in (see
docs/architecture.md, "Decisions"); `DriverInfo.source` says which one answered.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .driver_tables import (
    ASYNC_BY_DIALECT,
    FALLBACK_20_OVERRIDES,
    FALLBACK_21,
    PACKAGES,
    SYNC_BY_DIALECT,
)

CACHE_DIR_ENV = "ALEMBIC_ENV_LSP_CACHE_DIR"
FALLBACK_SOURCE = "built-in fallback table"
# Any async driver needs greenlet, which SQLAlchemy 2.1 only installs with this extra.
ASYNCIO_EXTRA = "sqlalchemy[asyncio]"

# Bump when the dump's JSON shape changes, so old cache files are ignored.
_DUMP_FORMAT = 1
_DUMP_TIMEOUT_SECONDS = 120

# SQLAlchemy's own URL pattern for the scheme is `[\w\+]+://` (engine/url.py `_parse_url`).
_URL_SCHEME = re.compile(r"\s*([\w+]+)://")
_BARE_SCHEME = re.compile(r"\s*([\w+]+)\s*")


@dataclass(frozen=True)
class DriverInfo:
    scheme: str
    dialect: str
    driver: str | None
    known: bool
    sync_ok: bool | None
    async_ok: bool | None
    wrap_ok: bool | None
    sync_dialect: str | None
    async_dialect: str | None
    dbapi_module: str | None
    packages: tuple[str, ...]
    source: str


# --- public API ---


def split_scheme(url: str) -> tuple[str, str | None] | None:
    """`"postgresql+asyncpg://u:p@h/db"` -> `("postgresql", "asyncpg")`; None without `scheme://`."""
    if not isinstance(url, str):
        return None
    match = _URL_SCHEME.match(url)
    return _split(match.group(1)) if match else None


def driver_info(url_or_scheme: str) -> DriverInfo | None:
    """What SQLAlchemy makes of a URL's scheme; a bare scheme ("postgresql+psycopg") works too.

    Lookup is exact, like SQLAlchemy's: `PostgreSQL://` is not a dialect there
    (NoSuchModuleError), so it is `known=False` here too."""
    scheme = _scheme_of(url_or_scheme)
    if scheme is None:
        return None
    with _state.lock:
        cached = _state.memo.get(scheme)
        if cached is not None:
            return cached
    info = _build_info(scheme)
    with _state.lock:
        _state.memo[scheme] = info
    return info


def async_alternative(scheme: str) -> str | None:
    """The usual async scheme for a sync-only one; None if already async-capable or unknown."""
    info = driver_info(scheme)
    if info is None or not info.known or info.async_ok is not False:
        return None
    return ASYNC_BY_DIALECT.get(info.dialect)


def sync_alternative(scheme: str) -> str | None:
    """The usual sync scheme for an async-only one; None if already sync-capable or unknown."""
    info = driver_info(scheme)
    if info is None or not info.known or info.sync_ok is not False:
        return None
    return SYNC_BY_DIALECT.get(info.dialect)


def sqlalchemy_version() -> str | None:
    """The installed SQLAlchemy's version from its metadata (no import), or None."""
    with _state.lock:
        if _state.version_read:
            return _state.version
    version = _read_installed_version()
    with _state.lock:
        _state.version, _state.version_read = version, True
    return version


def warm_up() -> str:
    """Load (computing if needed) the driver table now, e.g. from a background thread at
    server start, so the first hover does not wait for the subprocess. Returns its source."""
    return _table().source


def reset() -> None:
    """Forget everything loaded in this process (tests; a server told SQLAlchemy changed)."""
    with _state.lock:
        _state.memo.clear()
        _state.table = None
        _state.version = None
        _state.version_read = False


def cache_dir() -> Path | None:
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "alembic-env-lsp"
    try:
        return Path.home() / ".cache" / "alembic-env-lsp"
    except (RuntimeError, KeyError, OSError):
        return None


# --- loading the table ---


@dataclass
class _Table:
    source: str
    schemes: dict[str, dict[str, Any]]
    version: str | None = None


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.memo: dict[str, DriverInfo] = {}
        self.table: _Table | None = None
        self.version: str | None = None
        self.version_read = False


_state = _State()


def _read_installed_version() -> str | None:
    try:
        from importlib import metadata

        return metadata.version("sqlalchemy")
    except Exception:
        return None


def _entry_point_fingerprint() -> str:
    """A short hash of the registered third-party dialects, so installing one refreshes the cache."""
    try:
        from importlib import metadata

        points = metadata.entry_points(group="sqlalchemy.dialects")
        parts = sorted(
            f"{ep.name}={ep.value}@{getattr(getattr(ep, 'dist', None), 'version', '')}"
            for ep in points
        )
    except Exception:
        parts = []
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return digest[:12]


def _cache_file(version: str) -> Path | None:
    directory = cache_dir()
    if directory is None:
        return None
    safe_version = re.sub(r"[^\w.+-]", "_", version)
    py = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return directory / f"drivers-sa{safe_version}-py{py}-{_entry_point_fingerprint()}.json"


def _table() -> _Table:
    with _state.lock:
        if _state.table is not None:
            return _state.table
        table = _load_table()
        _state.table = table
        return table


def _load_table() -> _Table:
    version = sqlalchemy_version()
    if version is None:
        return _fallback_table(None)
    path = _cache_file(version)
    if path is not None:
        cached = _read_cache(path, version)
        if cached is not None:
            return cached
    dump = _run_dump()
    if dump is None:
        return _fallback_table(version)
    table = _table_from_dump(dump)
    if table is None:
        return _fallback_table(version)
    if path is not None:
        _write_cache(path, dump)
    return table


def _read_cache(path: Path, version: str) -> _Table | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("installed_version") != version:
        return None
    return _table_from_dump(data)


def _write_cache(path: Path, dump: dict[str, Any]) -> None:
    # Write-then-rename so a concurrent reader never sees half a file.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".drivers-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(dump, handle, indent=1, sort_keys=True)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass  # not writable: the table lives in memory for this process only


def _table_from_dump(data: dict[str, Any]) -> _Table | None:
    if data.get("format") != _DUMP_FORMAT or not isinstance(data.get("schemes"), dict):
        return None
    version = data.get("sqlalchemy_version")
    if not isinstance(version, str):
        return None
    return _Table(source=f"SQLAlchemy {version}", schemes=data["schemes"], version=version)


def _run_dump() -> dict[str, Any] | None:
    """Run the dump in a fresh interpreter; None if that fails for any reason."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH", "")) if p)
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "alembic_env_lsp.drivers", "--dump"],
            cwd=package_parent,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_DUMP_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if completed.returncode != 0:
        return None
    # The JSON is the last line; anything a third-party dialect printed comes before it.
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        data = json.loads(lines[-1])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data["installed_version"] = sqlalchemy_version()
    return data


def _fallback_table(version: str | None) -> _Table:
    rows = dict(FALLBACK_21)
    if version is not None and _major_minor(version) < (2, 1):
        rows.update(FALLBACK_20_OVERRIDES)
    schemes = {}
    for scheme, (sync_ok, async_ok, driver, module) in rows.items():
        schemes[scheme] = {
            "driver": driver,
            "sync_is_async": not sync_ok,
            "async_is_async": async_ok,
            "sync_dialect": None,
            "async_dialect": None,
            "dbapi_module": module,
        }
    return _Table(source=FALLBACK_SOURCE, schemes=schemes, version=version)


def _major_minor(version: str) -> tuple[int, int]:
    numbers = re.findall(r"\d+", version)[:2]
    while len(numbers) < 2:
        numbers.append("0")
    return int(numbers[0]), int(numbers[1])


# --- building one answer ---


def _split(scheme: str) -> tuple[str, str | None]:
    dialect, plus, driver = scheme.partition("+")
    return dialect, (driver if plus else None)


def _scheme_of(url_or_scheme: str) -> str | None:
    if not isinstance(url_or_scheme, str):
        return None
    match = _URL_SCHEME.match(url_or_scheme) or _BARE_SCHEME.fullmatch(url_or_scheme)
    if match is None:
        return None
    scheme = match.group(1)
    if not scheme or scheme.startswith("+"):
        return None
    return scheme


def _build_info(scheme: str) -> DriverInfo:
    table = _table()
    dialect, written_driver = _split(scheme)
    row = table.schemes.get(scheme)
    if row is None or row.get("error"):
        return DriverInfo(
            scheme=scheme,
            dialect=dialect,
            driver=written_driver,
            known=row is not None,
            sync_ok=None,
            async_ok=None,
            wrap_ok=None,
            sync_dialect=None,
            async_dialect=None,
            dbapi_module=None,
            packages=(),
            source=table.source,
        )
    sync_is_async = row.get("sync_is_async")
    async_is_async = row.get("async_is_async")
    module = row.get("dbapi_module")
    return DriverInfo(
        scheme=scheme,
        dialect=dialect,
        driver=row.get("driver") or written_driver,
        known=True,
        sync_ok=None if sync_is_async is None else not sync_is_async,
        async_ok=async_is_async,
        wrap_ok=sync_is_async,
        sync_dialect=row.get("sync_dialect"),
        async_dialect=row.get("async_dialect"),
        dbapi_module=module,
        packages=PACKAGES.get(module, ()) if module else (),
        source=table.source,
    )


# --- the dump, run in the subprocess only ---


class _BlockedImport(ImportError):
    pass


def _dbapi_module_of(dialect_cls: type) -> str | None:
    """The module the dialect's `import_dbapi()` would import, learned without importing it:
    the call runs with imports intercepted, and the first non-SQLAlchemy one is recorded
    and refused."""
    import builtins
    import importlib

    importer = getattr(dialect_cls, "import_dbapi", None) or getattr(dialect_cls, "dbapi", None)
    if importer is None:
        return None
    requested: list[str] = []
    real_import = builtins.__import__
    real_import_module = importlib.import_module

    def is_ours(name: str) -> bool:
        return name == "sqlalchemy" or name.startswith("sqlalchemy.")

    def intercept(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and not is_ours(name):
            requested.append(name)
            raise _BlockedImport(name)
        return real_import(name, globals, locals, fromlist, level)

    def intercept_module(name, package=None):
        if not name.startswith(".") and not is_ours(name):
            requested.append(name)
            raise _BlockedImport(name)
        return real_import_module(name, package)

    builtins.__import__ = intercept
    importlib.import_module = intercept_module
    try:
        importer()
    except BaseException:
        pass
    finally:
        builtins.__import__ = real_import
        importlib.import_module = real_import_module
    return requested[0] if requested else None


def _candidate_schemes() -> tuple[set[str], set[str]]:
    """(built-in guesses to try, third-party entry-point schemes)."""
    import importlib
    import pkgutil

    import sqlalchemy.dialects as dialects_package

    builtin: set[str] = set()
    for dialect in (*dialects_package.__all__, "mariadb"):
        builtin.add(dialect)
        # mariadb's drivers live in the mysql package (see sqlalchemy.dialects._auto_fn).
        package_name = "mysql" if dialect == "mariadb" else dialect
        try:
            package = importlib.import_module(f"sqlalchemy.dialects.{package_name}")
        except Exception:
            continue
        names = {info.name for info in pkgutil.iter_modules(package.__path__)}
        # Some drivers are attributes, not modules (postgresql.psycopg_async).
        names.update(n for n in dir(package) if hasattr(getattr(package, n, None), "dialect"))
        for name in names:
            if name != "base" and not name.startswith("_"):
                builtin.add(f"{dialect}+{name}")

    third_party: set[str] = set()
    try:
        from importlib import metadata

        for point in metadata.entry_points(group="sqlalchemy.dialects"):
            third_party.add(point.name.replace(".", "+"))
    except Exception:
        pass
    return builtin, third_party


def _dump() -> dict[str, Any]:
    import sqlalchemy
    from sqlalchemy import exc
    from sqlalchemy.engine import make_url

    builtin, third_party = _candidate_schemes()
    schemes: dict[str, dict[str, Any]] = {}
    for scheme in sorted(builtin | third_party):
        try:
            url = make_url(f"{scheme}://")
            sync_cls = url.get_dialect()
        except exc.NoSuchModuleError:
            continue
        except Exception as error:
            if scheme in third_party:
                # Registered but broken: SQLAlchemy knows the name, loading it fails.
                schemes[scheme] = {"error": f"{type(error).__name__}: {error}"[:300]}
            continue
        try:
            async_cls = url.get_dialect(_is_async=True)
        except Exception:
            async_cls = None
        sync_is_async = bool(getattr(sync_cls, "is_async", False))
        async_is_async = bool(getattr(async_cls, "is_async", False)) if async_cls else None
        # The DBAPI of the class each engine kind would actually load.
        module_source = sync_cls if not sync_is_async or async_cls is None else async_cls
        schemes[scheme] = {
            "driver": getattr(sync_cls, "driver", None),
            "sync_is_async": sync_is_async,
            "async_is_async": async_is_async,
            "sync_dialect": sync_cls.__name__,
            "async_dialect": async_cls.__name__ if async_cls else None,
            "dbapi_module": _dbapi_module_of(module_source),
        }
    return {
        "format": _DUMP_FORMAT,
        "sqlalchemy_version": sqlalchemy.__version__,
        "python": sys.version.split()[0],
        "schemes": schemes,
    }


def _main(argv: list[str]) -> int:
    if argv != ["--dump"]:
        print("usage: python -m alembic_env_lsp.drivers --dump", file=sys.stderr)
        return 2
    # Keep stdout for the JSON alone; a dialect that prints on import goes to stderr.
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        data = _dump()
    finally:
        sys.stdout = real_stdout
    real_stdout.write("\n" + json.dumps(data, sort_keys=True) + "\n")
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
