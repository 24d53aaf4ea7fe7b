"""What a database URL means: dialect, driver, sync/async support, the package to install
and the verdict for an engine kind (all from SQLAlchemy's registry via `drivers`), and
where an offline `context.configure(url=...)` takes its URL from."""

from __future__ import annotations

import ast

from .. import drivers
from ..model import names as N
from ..model.facts import EngineFact, EnvFacts, Scope, UrlValue
from ..model.qualify import qualified_name
from ..pyenv import SqlalchemyBasis, bare_default_driver, driver_info_for, sqlalchemy_basis
from ..redact import redact_url
from .common import const_str, main_section, shorten


def url_lines(text: str, engine_mode: str | None = None, project=None) -> list[str]:
    """Dialect, driver, sync/async support, package; plus the verdict for an engine kind,
    as the project's SQLAlchemy sees them."""
    basis = sqlalchemy_basis(project)
    info = driver_info_for(text, None if basis.assumed else basis.version)
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
    depends = not written and bare_default_driver(info.scheme, "2.0") is not None
    lines.append(("On SQLAlchemy 2.1+: " if depends and basis.assumed else "") + _support(info))
    install = _install(info)
    if install:
        lines.append(install)
    if depends:
        old, new = bare_default_driver(info.scheme, "2.0"), bare_default_driver(info.scheme, "2.1")
        lines.append(
            f"A bare `{info.dialect}://` depends on the SQLAlchemy version: 2.0 picks `{old}` (sync only), "
            f"2.1 `{new}`; {basis.label()}. Name the driver to be explicit."
        )
    if engine_mode is not None:
        verdict = verdict_for(text, engine_mode, basis)
        if verdict:
            lines.append(verdict)
    return lines


def verdict_for(text: str, mode: str, basis: SqlalchemyBasis) -> str | None:
    """The verdict of an engine kind on a URL, judged with the project's SQLAlchemy and
    saying which one; a bare scheme with no project environment gets both versions' verdicts."""
    scheme = drivers.split_scheme(text)
    if scheme is not None and scheme[1] is None and basis.assumed:
        by_version = [
            (v, driver_verdict(driver_info_for(text, v), mode, v)) for v in ("2.1", "2.0")
        ]
        if all(v for _, v in by_version) and by_version[0][1] != by_version[1][1]:
            (_, new), (_, old) = by_version
            return (
                f"On SQLAlchemy 2.1+: {_bare(new)}; on 2.0: {_bare(old)} (no project environment "
                "found to tell which one runs it)."
            )
    info = driver_info_for(text, None if basis.assumed else basis.version)
    verdict = driver_verdict(info, mode, None if basis.assumed else basis.version)
    if verdict is None:
        return None
    return f"{_bare(verdict)} ({basis.label()})."


def _bare(verdict: str | None) -> str:
    return (verdict or "").removesuffix(".")


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


def _greenlet_text(version: str | None = None) -> str:
    version = version or drivers.sqlalchemy_version() or ""
    call = "await_only()" if version.startswith("2.0") or version.startswith("1.") else "await_()"
    return f"greenlet_spawn has not been called; can't call {call} here. Was IO attempted in an unexpected place?"


def driver_verdict(
    info: drivers.DriverInfo | None, mode: str, version: str | None = None
) -> str | None:
    """The verdict itself; `version`: the SQLAlchemy judged with (its error texts differ)."""
    if info is None or not info.known:
        return None
    driver = info.driver or info.dialect
    if mode == "sync":
        if info.sync_ok:
            return f"✓ Works: a sync engine loads `{info.sync_dialect or driver}`."
        if info.sync_ok is False:
            return f"✗ Fails at the first connection: `{driver}` is async-only and SQLAlchemy raises `MissingGreenlet: {_greenlet_text(version)}`"
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


def shown_url(text: str) -> str:
    if drivers.split_scheme(text) is None:
        return "(not a URL)"
    return shorten(redact_url(text), 90)


def url_origin_words(url: UrlValue) -> str:
    if url.text and url.scheme:
        return f"`{shown_url(url.text)}` from {url.origin}"
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
            key = const_str(expr.args[0])
            if key is None:
                return None
            if any(
                c.node.args and const_str(c.node.args[0]) == key
                for c in facts.calls_named(N.CONFIG + ".set_main_option")
            ):
                return None  # overridden in env.py
            ini = getattr(project, "ini", None)
            found = ini.get(main_section(project), key) if ini is not None else None
            if ini is not None and found is not None and found.value:
                return (
                    found.value,
                    f"{ini.path.name} [{found.section}] {key}, line {found.line + 1}",
                )
    return None


def engine_mode(engine: EngineFact) -> str:
    """How the engine loads its dialect: "sync", "async", or "wrap" (`AsyncEngine(sync factory)`)."""
    if engine.wrapped is not None:
        return "wrap"
    return "async" if engine.is_async else "sync"
