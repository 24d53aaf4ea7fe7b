"""Hover on env.py: `hover_at` finds the node under the cursor and picks what it is
(a catalog symbol, an engine or connection variable, a keyword, a URL literal, a local
function), then adds the findings over the position. It reads the Analysis of the current
text and nothing else: it never parses, never imports SQLAlchemy or Alembic."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from .. import drivers
from ..model.facts import CallFact, EnvFacts, Kind
from ..model.qualify import qualified_name
from ..pyenv import sqlalchemy_basis
from ..text import Position, Range
from .common import (
    Here,
    HoverResult,
    assemble,
    compose,
    finding_covers,
    finding_sections,
    main_section,
    noqa_hover,
    on_text,
    symbol_key,
)
from .locate import attr_range, chain_at, def_name_range, scope_at
from .objects import (
    connection_origin,
    engine_summary,
    engine_variable_hover,
    function_hover,
    method_hover,
    run_sync_hover,
)
from .symbol_facts import configure_keyword_facts, option_facts, symbol_text
from .texts import CONFIGURE_KEYWORDS, FACTORY_KEYWORDS
from .url import engine_mode, shown_url, url_lines, verdict_for
from .url_story import url_consumers, url_expression, url_story
from .url_tokens import url_token_hover

if TYPE_CHECKING:
    from ..engine import Analysis


def hover_at(analysis: Analysis, position: Position) -> HoverResult | None:
    """The hover for `position` (0-based line, code-point column) in the analysed file."""
    source = analysis.source
    pos = on_text(source, position)
    if pos is None:
        return None
    symbol: str | None = None
    symbol_range: Range | None = None
    facts = analysis.facts
    if facts is not None:
        found = _symbol_hover(analysis, facts, pos)
        if found is not None:
            symbol, symbol_range = found
    if symbol is None:
        noqa = noqa_hover(source, pos)
        if noqa is not None:
            symbol, symbol_range = noqa
    hits = [f for f in analysis.findings if f.path is None and finding_covers(f.range, pos)]
    if symbol is None and not hits:
        return None
    if symbol_range is None:
        symbol_range = min(
            hits,
            key=lambda f: (
                f.range.end.line - f.range.start.line,
                f.range.end.character - f.range.start.character,
            ),
        ).range
    return HoverResult(assemble(symbol, finding_sections(hits)), symbol_range)


def _symbol_hover(analysis: Analysis, facts: EnvFacts, pos: Position) -> tuple[str, Range] | None:
    source = analysis.source
    chain = chain_at(facts.tree, source, pos)
    if not chain:
        return None
    here = Here(analysis, facts, source, pos, chain, scope_at(facts, chain))
    node = here.node
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        name_range = def_name_range(source, node)
        if name_range is not None and name_range.start <= pos < name_range.end:
            text = function_hover(here, node.name)
            return (text, name_range) if text else None
        return None
    if isinstance(node, ast.arg):
        return _param_hover(here, node) or url_token_hover(here)
    if isinstance(node, ast.keyword):
        return _keyword_hover(here, node)
    if isinstance(node, ast.alias):
        return _import_hover(here, node) or url_token_hover(here)
    found = None
    if isinstance(node, ast.Attribute):
        found = _attribute_hover(here, node)
    elif isinstance(node, ast.Name):
        found = _name_hover(here, node)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        found = _string_hover(here, node)
    if found is None:
        found = _url_story_hover(here)
    return found if found is not None else url_token_hover(here)


def _url_story_hover(here: Here) -> tuple[str, Range] | None:
    """Any other expression that bears a URL: its story (sources, steps, values, verdicts)."""
    expr = url_expression(here)
    if expr is None:
        return None
    text = url_story(here, expr)
    if text is None:
        return None
    node = here.node
    rng = attr_range(here.source, node) if isinstance(node, ast.Attribute) else here.rng(node)
    return text, rng


def _symbol_and_call(here: Here, node: ast.expr) -> tuple[str | None, CallFact | None]:
    """The catalog symbol a name or attribute stands for, and its call when it is called."""
    key = symbol_key(qualified_name(node, here.scope))
    parent = here.parent
    call = here.call_fact(parent) if isinstance(parent, ast.Call) and parent.func is node else None
    return key, call


def _attribute_hover(here: Here, node: ast.Attribute) -> tuple[str, Range] | None:
    rng = attr_range(here.source, node)
    key, call = _symbol_and_call(here, node)
    if key is not None:
        return symbol_text(here, key, call, node), rng
    # Methods of engines and connections: known by the receiver's kind, not by an import.
    receiver = node.value
    binding = here.scope.lookup_kind(receiver.id) if isinstance(receiver, ast.Name) else None
    kind = binding.kind if binding is not None else None
    if node.attr == "run_sync":
        return run_sync_hover(here, call, receiver), rng
    if node.attr in ("dispose", "connect", "begin") and kind in (
        Kind.ENGINE,
        Kind.ASYNC_ENGINE,
        Kind.CONNECTION,
        Kind.ASYNC_CONNECTION,
    ):
        if node.attr == "dispose" and kind not in (Kind.ENGINE, Kind.ASYNC_ENGINE):
            return None
        return method_hover(here, node.attr, call, receiver, binding), rng
    return None


def _name_hover(here: Here, node: ast.Name) -> tuple[str, Range] | None:
    rng = here.rng(node)
    key, call = _symbol_and_call(here, node)
    if key is not None:
        return symbol_text(here, key, call, node), rng
    name = node.id
    binding = here.scope.lookup_kind(name)
    if (
        binding is not None
        and binding.kind in (Kind.ENGINE, Kind.ASYNC_ENGINE)
        and binding.engine is not None
    ):
        return engine_variable_hover(here, name, binding.engine), rng
    connection = connection_origin(here, name, here.scope)
    if connection is not None:
        return connection, rng
    if name == "target_metadata" and (here.scope.is_module or name not in here.scope.assignments):
        return symbol_text(here, "target_metadata", None, node), rng
    if here.scope.lookup_function(name) is not None and name in here.facts.module.functions:
        text = function_hover(here, name)
        return (text, rng) if text else None
    return None


def _import_hover(here: Here, node: ast.alias) -> tuple[str, Range] | None:
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
    key = symbol_key(qname)
    if key is None:
        return None
    rng = here.rng(node)
    rng = Range(rng.start, Position(rng.start.line, rng.start.character + len(node.name)))
    return symbol_text(here, key, None, node), rng


def _param_hover(here: Here, node: ast.arg) -> tuple[str, Range] | None:
    rng = here.rng(node)
    rng = Range(rng.start, Position(rng.start.line, rng.start.character + len(node.arg)))
    if here.pos >= rng.end:
        return None  # on the annotation's ':' or default
    text = connection_origin(here, node.arg, here.scope)
    return (text, rng) if text else None


def _keyword_hover(here: Here, node: ast.keyword) -> tuple[str, Range] | None:
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
    key = symbol_key(call.qname)
    lines: list[str] = []
    if key == "context.configure":
        doc = CONFIGURE_KEYWORDS.get(node.arg, "An option of `EnvironmentContext.configure()`.")
        title = f"**`{node.arg}=`** · `context.configure()`"
        lines = configure_keyword_facts(here, call, node)
    elif key in (
        "engine_from_config",
        "create_engine",
        "async_engine_from_config",
        "create_async_engine",
    ):
        doc = FACTORY_KEYWORDS.get(node.arg, "Passed on to the engine (or its pool or dialect).")
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
    return compose(title, doc, [line for line in lines if line]), rng


def _string_hover(here: Here, node: ast.Constant) -> tuple[str, Range] | None:
    value = node.value
    if not isinstance(value, str):
        return None
    parent = here.parent
    rng = here.rng(node)
    if drivers.split_scheme(value) is not None:
        return _url_literal_hover(here, node), rng
    # "sqlalchemy.url" in config.get_main_option("sqlalchemy.url"): the option it names
    if isinstance(parent, ast.Call) and parent.args and parent.args[0] is node:
        call = here.call_fact(parent)
        key = symbol_key(call.qname) if call is not None else None
        if key in ("config.get_main_option", "config.set_main_option", "config.get_alembic_option"):
            title = f"**`{value}`** · main-section option"
            lines = option_facts(here, here.project, main_section(here.project), value, call)
            return compose(title, None, lines), rng
    return None


# String methods whose URL-looking argument is a pattern to look for, not a URL that is used.
_PATTERN_METHODS = frozenset(
    {"replace", "startswith", "endswith", "find", "index", "count", "split", "removeprefix"}
)


def _url_literal_hover(here: Here, node: ast.Constant) -> str:
    text = str(node.value)
    lines = url_lines(text, project=here.project)
    parent = here.parent
    if (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Attribute)
        and parent.func.attr in _PATTERN_METHODS
        and node in parent.args
        and not (parent.func.attr == "replace" and parent.args.index(node) == 1)  # the new text
    ):
        lines.append(
            f"A pattern for `.{parent.func.attr}()`, not a URL that is used: the engine gets the "
            "string it is applied to (hover that name for its values)."
        )
        return compose(f"**Database URL pattern** `{shown_url(text)}`", None, lines)
    for engine in here.facts.engines:
        if engine.url.literal is node:
            lines.append(engine_summary(here, engine))
            verdict = verdict_for(text, engine_mode(engine), sqlalchemy_basis(here.project))
            if verdict:
                lines.append(verdict)
    engines, _ = url_consumers(here, node)
    for engine in engines:
        if engine.url.literal is node:
            continue
        verdict = verdict_for(text, engine_mode(engine), sqlalchemy_basis(here.project))
        kind = "an AsyncEngine" if engine.is_async else "a sync Engine"
        lines.append(
            f"Read by `{engine.factory}` (line {here.line_of(engine.call.node)}, {kind}) when this "
            "value is the one used" + (f": {verdict}" if verdict else ".")
        )
    for configure in here.facts.configures:
        url = configure.keyword("url")
        if url is node:
            lines.append(
                "Passed to the offline `context.configure(url=...)`: no driver is loaded there, any driver works."
            )
    title = f"**Database URL** `{shown_url(text)}`"
    return compose(title, None, lines)
