"""The "In this file" lines of each catalog symbol's hover: one function per symbol,
reading the facts (calls, engines, configures, the paired ini) of the hovered file."""

from __future__ import annotations

import ast
import re

from .. import drivers
from ..model import names as N
from ..model.facts import CallFact, Scope
from ..model.qualify import annotation_name, qualified_name
from ..redact import is_secret_name
from .common import Here, compose, const_str, main_section, path_words, shorten, symbol_key
from .objects import (
    connection_summary,
    engine_lines,
    engine_summary,
    pool_lifetime,
    run_sync_calls_for,
    run_sync_targets,
)
from .texts import SYMBOLS
from .url import configure_url, shown_url, url_lines


def symbol_text(here: Here, key: str, call: CallFact | None, node: ast.AST) -> str:
    title, doc = SYMBOLS[key]
    facts_for = FACTS.get(key)
    lines = facts_for(here, call, node) if facts_for is not None else []
    return compose(f"**{title}**", doc, lines)


def _facts_file_config(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
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
                f" (loggers: `{shorten(keys.value or keys.raw, 50)}`)" if keys is not None else ""
            )
            lines.append(f"`{name}` has `[loggers]`, `[handlers]` and `[formatters]`{shown}.")
    return lines


def _facts_config(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
    lines = []
    names = sorted(here.facts.config_names)
    if names:
        lines.append("Bound here as " + ", ".join(f"`{n}`" for n in names) + ".")
    lines.extend(_ini_pairing(here.project))
    return lines


def _facts_config_file_name(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
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


def _facts_config_ini_section(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
    return [
        f'For this env.py\'s ini it is `"{main_section(here.project)}"` (unless `-n` is given).'
    ]


def _facts_get_main_option(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
    if call is None:
        return _usage_lines(here, N.CONFIG + ".get_main_option")
    key = const_str(call.node.args[0]) if call.node.args else None
    if key is None:
        return ["The option name is computed; its value cannot be read statically."]
    return option_facts(here, here.project, main_section(here.project), key, call)


def _facts_get_section(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
    if call is None:
        return _usage_lines(here, N.CONFIG + ".get_section")
    lines = []
    arg = call.node.args[0] if call.node.args else call.keyword("name")
    section = None
    if arg is not None and qualified_name(arg, call.scope) == N.CONFIG + ".config_ini_section":
        section = main_section(here.project)
        lines.append(f"Reads the main section, `[{section}]` for this env.py's ini.")
    elif arg is not None and const_str(arg) is not None:
        section = const_str(arg)
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
                    f"Its `sqlalchemy.url` (`{ini.path.name}` line {url.line + 1}): `{shown_url(url.value)}`"
                )
    engine = next((e for e in here.facts.engines if e.url_node is call.node), None)
    if engine is not None:
        lines.append(
            f"Feeds `{engine.factory}` at line {here.line_of(engine.call.node)}, which builds "
            f"{'an AsyncEngine' if engine.is_async else 'a sync Engine'}."
        )
    return lines


def _facts_set_main_option(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
    if call is None:
        return _usage_lines(here, N.CONFIG + ".set_main_option")
    lines = []
    key = const_str(call.node.args[0]) if call.node.args else None
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


def _facts_attributes(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
    reads = []
    for c in here.facts.calls:
        func = c.node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and qualified_name(func.value, c.scope) == N.CONFIG + ".attributes"
            and c.node.args
            and const_str(c.node.args[0]) == "connection"
        ):
            reads.append(here.line_of(c.node))
    parent = here.parent
    if (
        isinstance(parent, ast.Subscript)
        and const_str(parent.slice) == "connection"
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


def _facts_engine_factory(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
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
            return engine_lines(here, engine)
        return []
    # On an import: every engine this file builds with it.
    name = (
        node.name if isinstance(node, ast.alias) else symbol_key(qualified_name(node, here.scope))
    )
    return [engine_summary(here, e) for e in here.facts.engines if e.factory == name]


def _facts_async_engine(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
    if call is not None:
        engine = next((e for e in here.facts.engines if e.call.node is call.node), None)
        if engine is not None:
            return engine_lines(here, engine)
    return [engine_summary(here, e) for e in here.facts.engines if e.is_async]


def _facts_connection_class(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
    # An annotation: of which parameter, and what really arrives there.
    for outer in reversed(here.chain[:-1]):
        if isinstance(outer, ast.arg) and outer.annotation is not None:
            fn = here.scope
            label = annotation_name(outer.annotation)
            if fn.params and fn.params[0] is outer and fn.name in run_sync_targets(here.facts):
                site = run_sync_calls_for(here.facts, fn.name)
                where = f" (line {here.line_of(site[0].node)})" if site else ""
                verdict = "right" if label == "Connection" else "wrong: it is a sync `Connection`"
                return [
                    f"Annotates `{outer.arg}` of `{fn.name}`, which `run_sync()`{where} calls with the sync Connection: the annotation is {verdict}."
                ]
            return [f"Annotates parameter `{outer.arg}` of `{fn.name}`."]
    return []


def _facts_null_pool(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
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
            f"`{engine.factory}` at line {here.line_of(engine.call.node)} does not use it. "
            + pool_lifetime(here, engine)
        )
    return lines


def _facts_asyncio_run(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
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
        text += f"; {path_words(path)}."
        lines.append(text)
        if c.scope.is_async:
            lines.append(
                "It is called inside an `async def`: at run time a loop is already running, so it raises `RuntimeError`."
            )
    return lines


def _facts_configure(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
    configures = [c for c in here.facts.configures if call is None or c.call is call]
    lines = []
    for configure in configures:
        c = configure.call
        keywords = [k.arg for k in c.node.keywords if k.arg]
        text = f"Line {here.line_of(c.node)}: **{configure.mode}** (`{'connection=' if configure.mode == 'online' else 'url=/dialect_name='}`)"
        text += f", {path_words(here.facts.path_of(c))}"
        if keywords:
            text += "; keywords: " + ", ".join(f"`{k}`" for k in keywords)
        if configure.has_splat:
            text += " and `**` options"
        lines.append(text + ".")
        if call is not None:
            lines.extend(_configure_details(here, configure))
    return lines


def _facts_target_metadata(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
    assignment = here.facts.target_metadata
    lines = []
    if assignment is not None:
        lines.extend(_metadata_lines(here, ast.Name(id="target_metadata"), here.facts.module))
    uses = [
        here.line_of(c.call.node)
        for c in here.facts.configures
        if _is_name(c.keyword("target_metadata"), "target_metadata")
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


def _facts_begin_transaction(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
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
        text = f"Line {here.line_of(c.node)}: used with {how}; {path_words(here.facts.path_of(c))}"
        per_migration = any(
            _is_true(conf.keyword("transaction_per_migration"))
            for conf in here.facts.configures
            if conf.call.scope is c.scope
        )
        if per_migration:
            text += "; `transaction_per_migration=True` makes each revision commit on its own"
        lines.append(text + ".")
    return lines


def _facts_run_migrations(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
    calls = [call] if call is not None else here.facts.calls_named("alembic.context.run_migrations")
    lines = []
    for c in calls:
        inside = any(
            qualified_name(w.item.context_expr.func, w.scope) == "alembic.context.begin_transaction"
            for w in c.withs
            if isinstance(w.item.context_expr, ast.Call)
        )
        text = f"Line {here.line_of(c.node)}: {'inside' if inside else '**not** inside'} `with context.begin_transaction()`"
        lines.append(text + f"; {path_words(here.facts.path_of(c))}.")
    return lines


def _facts_is_offline_mode(here: Here, call: CallFact | None, node: ast.AST) -> list[str]:
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


def _guards_file_name(call: CallFact) -> bool:
    for branch, _in_body in call.branches:
        for sub in ast.walk(branch.test):
            if isinstance(sub, ast.Attribute) and sub.attr == "config_file_name":
                return True
    return False


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


def option_facts(here: Here, project, section: str, key: str, call: CallFact | None) -> list[str]:
    lines = []
    ini = getattr(project, "ini", None)
    overrides = [
        c
        for c in here.facts.calls_named(N.CONFIG + ".set_main_option")
        if c.node.args and const_str(c.node.args[0]) == key and c is not call
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
        lines.append(f"{where}: `{shown_url(found.value)}`")
        lines.extend(url_lines(found.value, project=here.project))
    elif is_secret_name(key):
        lines.append(f"{where} (value hidden).")
    else:
        lines.append(f"{where}: `{shorten(found.value, 60)}`")
    return lines


def _configure_details(here: Here, configure) -> list[str]:
    lines = []
    connection = configure.keyword("connection")
    if connection is not None and isinstance(connection, ast.Name):
        origin = connection_summary(here, connection.id, configure.call.scope)
        if origin:
            lines.append(f"`connection={connection.id}`: {origin}")
    if configure.mode == "offline":
        literal = configure.keyword("literal_binds")
        if literal is None:
            lines.append(
                "No `literal_binds=True`: `--sql` output keeps bound-parameter placeholders."
            )
        url = configure.keyword("url")
        several = configure.url.alternatives if configure.url is not None else ()
        if url is not None and several:
            lines.append(
                f"URL: differs by path ({len(several)} paths; hover `url=` for each); offline "
                "mode loads no driver."
            )
        elif url is not None:
            value = configure_url(here.facts, here.project, configure)
            if value is not None:
                lines.append(
                    f"URL: `{shown_url(value[0])}` ({value[1]}); offline mode loads no driver."
                )
    metadata = configure.keyword("target_metadata")
    if configure.mode == "online" and metadata is None and not configure.has_splat:
        lines.append("No `target_metadata=`: autogenerate has nothing to compare.")
    return lines


def configure_keyword_facts(here: Here, call: CallFact, keyword: ast.keyword) -> list[str]:
    value = keyword.value
    lines = [f"Here: `{keyword.arg}={here.snippet(value)}`"]
    scope = call.scope
    if keyword.arg == "connection" and isinstance(value, ast.Name):
        origin = connection_summary(here, value.id, scope)
        if origin:
            lines.append(f"`{value.id}` is {origin}")
    elif keyword.arg == "target_metadata":
        lines.extend(_metadata_lines(here, value, scope))
    elif keyword.arg == "url":
        configure = next((c for c in here.facts.configures if c.call is call), None)
        found = (
            configure_url(here.facts, here.project, configure) if configure is not None else None
        )
        several = configure is not None and configure.url is not None and configure.url.alternatives
        if several:
            lines.append(
                f"It differs by path ({len(several)} paths; hover the value for each, "
                "with its condition)."
            )
        elif found is not None:
            lines.append(f"Resolves to `{shown_url(found[0])}` ({found[1]}).")
            lines.extend(url_lines(found[0], project=here.project))
        lines.append("Offline mode loads no DBAPI, so any driver (async ones too) works here.")
    elif keyword.arg == "literal_binds" and not (
        isinstance(value, ast.Constant) and value.value is True
    ):
        lines.append("Not `True`: `--sql` output keeps `:param` placeholders.")
    return lines


def _metadata_lines(here: Here, value: ast.expr, scope: Scope) -> list[str]:
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


def _usage_lines(here: Here, qname: str) -> list[str]:
    calls = here.facts.calls_named(qname)
    if not calls:
        return []
    return ["Called at line " + ", ".join(str(here.line_of(c.node)) for c in calls) + "."]


FACTS = {
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


def _is_name(node: ast.AST | None, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True
