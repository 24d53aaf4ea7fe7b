"""Hovers on what env.py builds at run time: engines, connections, `run_sync`, engine and
connection methods, and the file's own functions."""

from __future__ import annotations

import ast

from ..model.facts import CallFact, Confidence, EngineFact, EnvFacts, Kind, Scope
from ..model.qualify import qualified_name
from ..pyenv import sqlalchemy_basis
from ..rules.env050_async_engine_without_nullpool import awaited_dispose
from .common import Here, compose, path_words, shorten
from .texts import SYMBOLS
from .url import engine_mode, shown_url, url_lines, url_origin_words, verdict_for
from .url_groups import group_by, kind_of, model_candidate, model_groups
from .url_paths import NONE, NONE_NOT_IN_INI, Candidate, engine_candidates
from .url_values import model_none, prefer_model


def engine_summary(here: Here, engine: EngineFact) -> str:
    kind = "AsyncEngine" if engine.is_async else "sync Engine"
    target = f" `{engine.var}`" if engine.var else ""
    return f"Line {here.line_of(engine.call.node)}: builds the {kind}{target}; URL {url_origin_words(engine.url)}."


def engine_lines(here: Here, engine: EngineFact) -> list[str]:
    kind = "an **AsyncEngine**" if engine.is_async else "a **sync Engine**"
    how = f"`{engine.factory}`" + (
        " wrapped in `AsyncEngine(...)`" if engine.wrapped is not None else ""
    )
    first = f"Line {here.line_of(engine.call.node)}: {how} builds {kind}"
    if engine.var:
        first += f", assigned to `{engine.var}`"
    lines = [first + f"; {path_words(here.facts.path_of(engine.call))}."]
    url = engine.url
    paths = engine_candidates(here, engine)
    if not model_none(url):
        paths = [c for c in paths if c.origin != NONE and not c.origin.endswith(f"from {NONE}")]
    model = len(url.alternatives) > 1 and prefer_model(url, paths)
    if model:
        paths = [model_candidate(here, v) for v in url.alternatives]
    per_section = section_by_name(here, engine)
    if per_section is not None:
        lines.append(per_section)
    elif len(paths) > 1:
        groups = _path_groups(here, engine, paths, model)
        nested = "".join("\n  - " + line for line in groups)
        outcomes = "one outcome" if len(groups) == 1 else f"{len(groups)} outcomes"
        count = f"{len(paths)} paths" + (f", {outcomes}" if len(groups) < len(paths) else "")
        lines.append(f"The URL depends on the path ({count}):{nested}")
    elif url.text and url.scheme:
        text = f"URL `{shown_url(url.text)}` from {url.origin}"
        if url.confidence is Confidence.DEFAULT:
            text += " — only a default; the real value at run time may differ"
        elif url.confidence is Confidence.HEURISTIC:
            text += " — a guess"
        lines.append(text + ".")
        lines.extend(url_lines(url.text, engine_mode=engine_mode(engine), project=here.project))
    else:
        lines.append(f"URL not known statically ({url.origin}); its driver cannot be checked.")
    if engine.poolclass is not None:
        lines.append(f"Pool: `{here.snippet(engine.poolclass)}`.")
    elif engine.is_async:
        lines.append(pool_lifetime(here, engine))
    return lines


def section_by_name(here: Here, engine: EngineFact) -> str | None:
    """`engine_from_config(config.get_section(name), ...)` with a computed `name` (Flask-Migrate's
    multi-db binds): each engine reads its own section's URL, not the main one."""
    node = engine.url_node
    if not (isinstance(node, ast.Call) and node.args):
        return None
    scope = engine.call.scope
    if qualified_name(node.func, scope) != "alembic.context.config.get_section":
        return None
    section = node.args[0]
    if isinstance(section, ast.Constant) or qualified_name(section, scope) == (
        "alembic.context.config.config_ini_section"
    ):
        return None
    name = here.snippet(section, 30)
    setters = [
        c
        for c in here.facts.calls_named("alembic.context.config.set_section_option")
        if len(c.node.args) >= 2
    ]
    where = ", ".join(f"line {here.line_of(c.node)}" for c in setters[:3])
    return (
        f"URL: the `sqlalchemy.url` of the ini section named by `{name}` at run time (one per "
        "section, not the main URL)"
        + (f", as `set_section_option` sets it ({where})" if where else "")
        + "; its driver cannot be checked before run time."
    )


def _kind(candidate: Candidate) -> str:
    return kind_of(candidate)


def _path_groups(here: Here, engine: EngineFact, paths: list[Candidate], model: bool) -> list[str]:
    """One line per outcome: the values with the same verdict, under the condition that
    leads to one of them."""
    basis = sqlalchemy_basis(here.project)

    def verdict(candidate: Candidate) -> str | None:
        if not (candidate.text and "://" in candidate.text):
            return None
        return verdict_for(candidate.text, engine_mode(engine), basis)

    out = []

    def key(c: Candidate) -> tuple:
        return (_kind(c), verdict(c))

    groups = model_groups(here, engine.url, key) if model else group_by(paths, key)
    for group in groups:
        when = group.when()
        when = (
            "on every path"
            if len(groups) == 1
            else f"when {shorten(when, 160)}"
            if when
            else "on the other paths"
        )
        texts = [t for t in group.texts() if "://" in t]
        if not texts:
            if _kind(group.candidates[0]) == "none":
                where = " (not in the ini)" if group.origins() == NONE_NOT_IN_INI else ""
                out.append(f"{when}: {NONE}{where}: no URL.")
                continue
            if _kind(group.candidates[0]) == "raises":
                out.append(f"{when}: reading it raises ({group.origins()}).")
                continue
            out.append(
                f"{when}: known only at run time ({group.origins()}); its driver cannot be checked."
            )
            continue
        shown = " or ".join(f"`{shown_url(t)}`" for t in texts[:3])
        found = verdict(group.candidates[0])
        out.append(f"{when}: {shown} ({group.origins()})" + (f" — {found}" if found else "."))
    return out


def pool_lifetime(here: Here, engine: EngineFact) -> str:
    """What happens to the pooled connections of an async engine without `poolclass`."""
    disposed = awaited_dispose(engine)
    if disposed is None:
        return "No `poolclass` and no `await dispose()` here: the default pool keeps connections that outlive `asyncio.run()`'s event loop."
    line = here.line_of(disposed[0].node)
    if disposed[1]:
        return f"No `poolclass`, but `await {engine.var}.dispose()` in a `finally:` (line {line}) closes the pool even when the migrations raise."
    return (
        f"No `poolclass`: `await {engine.var}.dispose()` (line {line}) closes the pool; only an exception "
        "raised before that line leaves a connection open past the event loop."
    )


def engine_variable_hover(here: Here, name: str, engine: EngineFact) -> str:
    kind = "AsyncEngine" if engine.is_async else "Engine"
    title = f"**`{name}`** · `{kind}`"
    return compose(title, SYMBOLS[kind][1], engine_lines(here, engine))


def run_sync_targets(facts: EnvFacts) -> set[str]:
    return {
        c.node.args[0].id
        for c in facts.calls
        if c.attr == "run_sync" and c.node.args and isinstance(c.node.args[0], ast.Name)
    }


def run_sync_calls_for(facts: EnvFacts, name: str) -> list[CallFact]:
    return [
        c
        for c in facts.calls
        if c.attr == "run_sync"
        and c.node.args
        and isinstance(c.node.args[0], ast.Name)
        and c.node.args[0].id == name
    ]


def connection_summary(here: Here, name: str, scope: Scope) -> str | None:
    """One sentence: what the connection variable `name` holds in `scope`, or None."""
    fn = scope
    if fn.node is not None and not fn.is_module and fn.params and fn.params[0].arg == name:
        sites = run_sync_calls_for(here.facts, fn.name)
        if sites:
            site = sites[0]
            text = (
                f"the sync `Connection` that `{here.snippet(site.node)}` (line {here.line_of(site.node)}) passes to "
                f"`{fn.name}` as its first argument"
            )
            # called directly too (e.g. with a connection the caller shared): another path
            direct = [
                c
                for c in here.facts.calls
                if isinstance(c.node.func, ast.Name) and c.node.func.id == fn.name and c.node.args
            ]
            for call in direct[:2]:
                text += (
                    f"; or, from line {here.line_of(call.node)}, `{here.snippet(call.node.args[0], 40)}`"
                    f" (`{here.snippet(call.node, 50)}`)"
                )
            return text + "."
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


def connection_origin(here: Here, name: str, scope: Scope) -> str | None:
    summary = connection_summary(here, name, scope)
    if summary is None:
        return None
    is_async = summary.startswith("an `AsyncConnection`")
    key = "AsyncConnection" if is_async else "Connection"
    title = f"**`{name}`** · `{key}`"
    lines = [summary[0].upper() + summary[1:]]
    if is_async:
        doc = SYMBOLS["AsyncConnection"][1]
    else:
        doc = (
            "The synchronous connection Alembic runs the migrations on, given to `context.configure(connection=...)`. "
            "With SQLAlchemy 2.x it rolls back on close whatever was not committed, so the migrations must run "
            "inside `with context.begin_transaction():`."
        )
    return compose(title, doc, lines)


def run_sync_hover(here: Here, call: CallFact | None, receiver: ast.expr) -> str:
    title, doc = SYMBOLS["run_sync"]
    lines: list[str] = []
    if call is not None:
        if isinstance(receiver, ast.Name):
            summary = connection_summary(here, receiver.id, call.scope)
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
    return compose(f"**{title}**", doc, lines)


def method_hover(
    here: Here, method: str, call: CallFact | None, receiver: ast.expr, binding
) -> str:
    title, doc = SYMBOLS[method]
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
    return compose(f"**`{owner}.{method}()`**", doc, lines)


def function_hover(here: Here, name: str) -> str | None:
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
        lines.append(engine_summary(here, engine))
    configures = [c for c in facts.configures if c.call.scope is fn]
    for configure in configures:
        lines.append(
            f"Calls `context.configure` ({configure.mode}) at line {here.line_of(configure.call.node)}."
        )
    return compose(title, None, lines)
