"""Facts asked of the installed Alembic, loaded only when a rule needs them.

Importing alembic costs ~300 ms, so nothing here runs on the common keystroke path: only
when a finding depends on the answer."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any


@cache
def transactional_ddl(dialect: str) -> bool | None:
    """Whether Alembic runs DDL for `dialect` inside one transaction (PostgreSQL: yes, MySQL: no)."""
    try:
        import alembic.ddl  # noqa: F401  (registers the dialect implementations)
        from alembic.ddl.impl import _impls
    except Exception:
        return None
    impl = _impls.get(dialect)
    return None if impl is None else bool(getattr(impl, "transactional_ddl", False))


@lru_cache(maxsize=1)
def configure_keywords() -> frozenset[str] | None:
    """The keyword names EnvironmentContext.configure accepts in the installed alembic."""
    try:
        import inspect

        from alembic.runtime.environment import EnvironmentContext
    except Exception:
        return None
    params = inspect.signature(EnvironmentContext.configure).parameters
    return frozenset(
        name for name, p in params.items() if p.kind is not p.VAR_KEYWORD and name != "self"
    )


def _template_text(name: str, filename: str) -> str | None:
    # Read from the installed package's folder without importing alembic (~450 ms).
    return _alembic_source("templates", name, filename)


@lru_cache(maxsize=1)
def template_logging_block() -> str | None:
    """The logging sections of the alembic.ini that `alembic init -t generic` writes."""
    text = _template_text("generic", "alembic.ini.mako")
    if text is None or "[loggers]" not in text:
        return None
    return text[text.index("[loggers]") :].rstrip() + "\n"


@lru_cache(maxsize=1)
def template_offline_function() -> str | None:
    """`run_migrations_offline` as the installed `generic` template writes it."""
    import ast

    text = _template_text("generic", "env.py")
    if text is None:
        return None
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == "run_migrations_offline":
            return ast.get_source_segment(text, node)
    return None


# ---- installed versions (ENV035, ENV048, ENV056, ENV057) ---------------------------------


def normalize_distribution(name: str) -> str:
    """PEP 503 name: "Flask_Migrate" and "flask-migrate" are the same distribution."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def installed_version(distribution: str) -> str | None:
    """The version of a distribution installed where the engine runs, or None when it is
    not installed. Read from the `<name>-<version>.dist-info` (or `.egg-info`) folder names on
    sys.path, which is where `importlib.metadata` looks too; importing `importlib.metadata`
    itself costs ~45 ms (email, socket...), more than the whole analysis of an env.py."""
    wanted = normalize_distribution(distribution)
    for entry in _dist_info_names():
        name, version = entry
        if name == wanted:
            return version
    return None


@lru_cache(maxsize=1)
def _dist_info_names() -> tuple[tuple[str, str], ...]:
    import os
    import sys

    found: list[tuple[str, str]] = []
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        found.extend(dist_info_entries(names))
    return tuple(found)


def dist_info_entries(names) -> list[tuple[str, str]]:
    """(normalised name, version) of the `.dist-info` / `.egg-info` entries among folder names."""
    found: list[tuple[str, str]] = []
    for name in names:
        if name.endswith(".dist-info"):
            stem = name[: -len(".dist-info")]
            project, _, version = stem.rpartition("-")
        elif name.endswith(".egg-info"):
            parts = name[: -len(".egg-info")].split("-")
            if len(parts) < 2:
                continue
            project, version = parts[0], parts[1]
        else:
            continue
        if project and version:
            found.append((normalize_distribution(project), version))
    return found


def version_tuple(version: str | None) -> tuple[int, ...]:
    """ "1.11.3" -> (1, 11, 3); "2.1.0b1" -> (2, 1, 0); unknown -> ()."""
    import re

    if not version:
        return ()
    parts = []
    for piece in version.split(".")[:3]:
        match = re.match(r"\d+", piece)
        if match is None:
            break
        parts.append(int(match.group()))
    return tuple(parts)


# ---- configure()'s options, read from the installed alembic's source (ENV045) ------------


@lru_cache(maxsize=1)
def configure_options() -> frozenset[str] | None:
    """Every option `EnvironmentContext.configure` understands in the installed alembic: its
    named parameters plus the ones its docstring documents as taken through `**kw`
    (version_table, version_table_schema, version_table_pk, output_encoding, the batch
    separators...). Read from the source with `ast`, so alembic is never imported; falls
    back to importing it when the source cannot be found. Kept on disk per alembic version
    (next to the driver table), so a new process does not parse alembic again."""
    import json

    version = installed_version("alembic")
    cache = _cache_file(f"configure-options-{version}.json") if version else None
    if cache is not None:
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            if isinstance(data, list) and all(isinstance(x, str) for x in data):
                return frozenset(data)
        except (OSError, ValueError):
            pass
    options = _configure_options_from_source()
    if options is not None and cache is not None:
        _write_atomically(cache, json.dumps(sorted(options)))
    return options


def _cache_file(name: str):
    from .drivers import cache_dir

    folder = cache_dir()
    return folder / name if folder is not None else None


def _write_atomically(path, text: str) -> None:
    import os
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError:
        pass


def _configure_options_from_source() -> frozenset[str] | None:
    source = _alembic_source("runtime", "environment.py")
    if source is None:
        return _with_documented(configure_keywords())
    options = configure_options_in(source)
    return options if options is not None else _with_documented(configure_keywords())


def configure_options_in(source: str) -> frozenset[str] | None:
    """The options `EnvironmentContext.configure` takes, read from the text of an alembic's
    `runtime/environment.py` (parameters + `:param name:` documented in its docstring)."""
    import ast
    import re

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "EnvironmentContext":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "configure":
                    args = item.args
                    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs} - {
                        "self"
                    }
                    doc = ast.get_docstring(item) or ""
                    names |= set(re.findall(r":param (\w+):", doc))
                    return frozenset(names)
    return None


@lru_cache(maxsize=8)
def configure_options_of_file(path: str, mtime_ns: int) -> frozenset[str] | None:
    """`configure_options_in` for a file of the project's alembic (cached by path and mtime)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return configure_options_in(handle.read())
    except OSError:
        return None


def _with_documented(names: frozenset[str] | None) -> frozenset[str] | None:
    if names is None:
        return None
    import re

    try:
        from alembic.runtime.environment import EnvironmentContext

        doc = EnvironmentContext.configure.__doc__ or ""
    except Exception:
        return names
    return names | frozenset(re.findall(r":param (\w+):", doc))


def _alembic_source(*parts: str) -> str | None:
    try:
        from importlib.util import find_spec

        spec = find_spec("alembic")  # a top-level name: found, not imported
        locations = list(spec.submodule_search_locations or []) if spec else []
    except Exception:
        return None
    import os

    for folder in locations:
        path = os.path.join(folder, *parts)
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except OSError:
            continue
    return None


# ---- SQLAlchemy answers needed only when a rule is about to fire --------------------------


@cache
def offline_paramstyle(url_or_scheme: str) -> str | None:
    """The paramstyle of the dialect Alembic builds for `--sql` (no DBAPI loaded, so the
    dialect class's `default_paramstyle`): "pyformat" for psycopg2, "format" for PyMySQL."""
    try:
        from sqlalchemy.engine import make_url

        scheme = url_or_scheme.split("://", 1)[0]
        dialect: Any = make_url(f"{scheme}://").get_dialect()  # the class: no DBAPI loaded
        return dialect.default_paramstyle
    except Exception:
        return None


@lru_cache(maxsize=256)
def url_parse_error(text: str) -> str | None:
    """SQLAlchemy's own complaint about a URL string ("Could not parse SQLAlchemy URL from
    given URL string"), or None when `make_url` accepts it. Never includes the URL."""
    try:
        from sqlalchemy.engine import make_url
    except Exception:
        return None
    try:
        make_url(text)
    except Exception as error:
        message = str(error).split("\n", 1)[0]
        if text and text in message:
            message = message.replace(text, "...")
        return f"{type(error).__name__}: {message}"
    return None
