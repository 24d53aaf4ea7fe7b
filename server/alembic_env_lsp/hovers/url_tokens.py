"""Hovers for URL-named tokens the other hovers leave alone: a key (`"sqlalchemy.url"`,
`'url'`) of a dict or a subscript, an environment variable's name, `os.environ` /
`os.getenv` reading a variable, a URL-named method of an object defined outside env.py, a URL
variable used as a method's receiver. Each says what the token is and, when a URL flows
through it, tells that URL's story (hovers/url_story.py)."""

from __future__ import annotations

import ast
import re

from ..model import names as N
from ..model.qualify import qualified_name
from ..redact import is_secret_name, redact_url
from ..text import Range
from .common import Here, compose, const_str, shorten
from .locate import attr_range
from .url_story import NOT_READ, url_consumers, url_story

URL_NAMED = re.compile(r"(?i)url|dsn|getenv|environ|uri")
_SECTION_SETTER = "alembic.context.config.set_section_option"


def url_token_hover(here: Here) -> tuple[str, Range] | None:
    node = here.node
    if isinstance(node, ast.Name):
        word, rng = node.id, here.rng(node)
    elif isinstance(node, ast.Attribute):
        word, rng = node.attr, attr_range(here.source, node)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        word, rng = node.value, here.rng(node)
    elif isinstance(node, ast.Import | ast.ImportFrom):
        return _import_hover(here, node)
    elif isinstance(node, ast.alias):
        word = node.asname or node.name
        rng = here.rng(node)
    elif isinstance(node, ast.arg):
        word = node.arg
        rng = here.rng(node)
        rng = Range(rng.start, type(rng.start)(rng.start.line, rng.start.character + len(word)))
    else:
        return None
    if not URL_NAMED.search(word):
        return None
    text = _describe(here, node)
    return (text, rng) if text else None


def _describe(here: Here, node: ast.AST) -> str | None:
    parent = here.parent
    if isinstance(node, ast.alias):
        return _alias_text(here, node)
    if isinstance(node, ast.arg):
        return _param_text(here, node)
    assert isinstance(node, ast.expr)
    variable = _env_variable(here, node)
    if variable is not None:
        return _env_variable_text(here, *variable)
    if isinstance(node, ast.Constant):
        if isinstance(parent, ast.Subscript) and parent.slice is node:
            return _subscript_key(here, parent, str(node.value))
        if isinstance(parent, ast.Dict) and node in parent.keys:
            return _dict_key(here, parent, node)
        if isinstance(parent, ast.Call) and node in parent.args:
            return _call_argument(here, parent, node)
        if isinstance(parent, ast.Tuple | ast.List | ast.Set):
            return _item_text(here, parent, node)
        return None
    if isinstance(parent, ast.Attribute) and parent.value is node and isinstance(node, ast.Name):
        return url_story(here, node, title=node.id)  # `url` in `url.startswith(...)`
    if isinstance(node, ast.Attribute) and isinstance(parent, ast.Call) and parent.func is node:
        return url_story(here, parent)  # `get_postgres_dsn` in `settings.get_postgres_dsn(...)`
    if isinstance(node, ast.Attribute) and node.attr == "url":
        return _engine_url_text(here, node)
    if isinstance(node, ast.Name):
        return _collection_text(here, node)
    return None


def _uses(here: Here, name: str, besides: ast.AST | None = None) -> list[int]:
    lines = sorted(
        {
            here.line_of(n)
            for n in here.facts.all_nodes
            if isinstance(n, ast.Name)
            and n.id == name
            and isinstance(n.ctx, ast.Load)
            and n is not besides
        }
    )
    return lines


def _alias_text(here: Here, alias: ast.alias) -> str:
    stmt = next(
        (n for n in reversed(here.chain) if isinstance(n, ast.Import | ast.ImportFrom)), None
    )
    module = stmt.module if isinstance(stmt, ast.ImportFrom) and stmt.module else ""
    name = alias.asname or alias.name
    where = f" from `{module}`" if module else ""
    uses = _uses(here, name.split(".")[0])
    used = f"; used at line {', '.join(map(str, uses[:6]))}" if uses else "; not used in env.py"
    return compose(f"**`{name}`** · import", None, [f"Imports `{alias.name}`{where}{used}."])


def _param_text(here: Here, param: ast.arg) -> str | None:
    scope = here.scope
    if scope.node is None or scope.is_module:
        return None
    position = next((i for i, p in enumerate(scope.params) if p is param), None)
    calls = []
    for node in here.facts.all_nodes:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id != scope.name:
                continue
            given = next((k.value for k in node.keywords if k.arg == param.arg), None)
            if given is None and position is not None and position < len(node.args):
                given = node.args[position]
            shown = f"`{here.snippet(given, 50)}`" if given is not None else "nothing (its default)"
            calls.append(f"line {here.line_of(node)} passes {shown}")
    lines = [f"A parameter of `{scope.name}`: its value comes from the caller."]
    lines.append(
        ("Calls in env.py: " + "; ".join(calls[:6]) + ".")
        if calls
        else f"No call of `{scope.name}` in env.py (called from outside, if at all)."
    )
    return compose(f"**`{param.arg}`** · parameter", None, lines)


def _engine_url_text(here: Here, node: ast.Attribute) -> str | None:
    receiver = node.value
    if not isinstance(receiver, ast.Name):
        return None
    binding = here.scope.lookup_kind(receiver.id)
    engine = getattr(binding, "engine", None)
    if engine is None:
        return None
    url = engine.url
    origin = (
        f"`{shorten(redact_url(url.text), 80)}` from {url.origin}"
        if url.text and url.scheme
        else f"known only at run time ({url.origin})"
    )
    many = " (one of several values: hover the engine for each)" if url.alternatives else ""
    return compose(
        f"**`{here.snippet(node, 40)}`** · the engine's URL",
        None,
        [
            f"The `URL` `{receiver.id}` was built with (line {here.line_of(engine.call.node)}): "
            f"{origin}{many}."
        ],
    )


def _collection_text(here: Here, node: ast.Name) -> str | None:
    values = [a.value for a in here.scope.assignments.get(node.id, ())] or [
        a.value for a in here.facts.module.assignments.get(node.id, ())
    ]
    if not values or not all(isinstance(v, ast.Tuple | ast.List | ast.Set) for v in values):
        return None
    first = values[0]
    uses = _uses(here, node.id, besides=node)
    used = f" Used at line {', '.join(map(str, uses[:6]))}." if uses else ""
    kind = type(first).__name__.lower()
    return compose(
        f"**`{node.id}`** · a {kind}",
        None,
        [f"Line {here.line_of(first)}: `{here.snippet(first, 60)}` (not a URL itself).{used}"],
    )


def _item_text(here: Here, collection: ast.expr, node: ast.Constant) -> str:
    owner = ""
    for outer in reversed(here.chain):
        if isinstance(outer, ast.Assign):
            names = [t.id for t in outer.targets if isinstance(t, ast.Name)]
            owner = f" of `{names[0]}`" if names else ""
            break
    uses = _uses(here, owner.strip(" of`")) if owner else []
    used = f" Used at line {', '.join(map(str, uses[:6]))}." if uses else ""
    return compose(
        f"**`{shorten(str(node.value), 50)}`** · a string",
        None,
        [
            f"Line {here.line_of(node)}: an item of the {type(collection).__name__.lower()}{owner}.{used}"
        ],
    )


def _import_hover(here: Here, node: ast.Import | ast.ImportFrom) -> tuple[str, Range] | None:
    """The module name of an import (`urllib` in `from urllib.parse import unquote`)."""
    line = here.source.line(here.pos.line)
    for match in re.finditer(r"[A-Za-z_][\w.]*", line):
        if match.start() <= here.pos.character < match.end():
            break
    else:
        return None
    module = match.group()
    if not URL_NAMED.search(module):
        return None
    names = ", ".join(f"`{a.name}`" for a in node.names)
    text = f"Imports {names} from `{module}`." if isinstance(node, ast.ImportFrom) else ""
    text = text or f"Imports the module `{module}`."
    rng = Range.of(here.pos.line, match.start(), here.pos.line, match.end())
    return compose(f"**`{module}`** · module", None, [text]), rng


# --- environment variables ---------------------------------------------------------------------


def _env_variable(here: Here, node: ast.expr) -> tuple[str, ast.expr, str] | None:
    """(variable, the expression that reads or tests it, how) when the cursor is on its name,
    on `os.environ` / `os.getenv`, or on the `.get` of `os.environ.get`."""
    outer = next((n for n in reversed(here.chain[:-1]) if not isinstance(n, ast.Attribute)), None)
    if isinstance(outer, ast.Call):
        q = qualified_name(outer.func, here.scope) or ""
        name = const_str(outer.args[0]) if outer.args else None
        if q in N.ENV_GETTERS and name and (node is outer.args[0] or _inside(node, outer.func)):
            return name, outer, "read"
    elif isinstance(outer, ast.Subscript):
        name = const_str(outer.slice)
        if qualified_name(outer.value, here.scope) == "os.environ" and name:
            return name, outer, "read"
    elif isinstance(outer, ast.Compare) and len(outer.ops) == 1:
        name = const_str(outer.left)
        if (
            isinstance(outer.ops[0], ast.In | ast.NotIn)
            and qualified_name(outer.comparators[0], here.scope) == "os.environ"
            and name
        ):
            return name, outer, "test"
    return None


def _inside(node: ast.AST, outer: ast.AST) -> bool:
    return any(sub is node for sub in ast.walk(outer))


def _env_variable_text(here: Here, name: str, expr: ast.expr, how: str) -> str:
    title = f"**Environment variable** `{name}`"
    lines = []
    if how == "test":
        lines.append(f"Line {here.line_of(expr)}: tests whether `{name}` is set.")
    else:
        story = url_story(here, expr)
        if story is not None:
            return story
        lines.append(f"Line {here.line_of(expr)}: `{_masked(here, expr, name)}` reads it.")
    reads = [
        f"line {here.line_of(other)}"
        for other in _reads_of(here, name)
        if other is not expr and not (how == "test" and other is expr)
    ]
    if reads:
        lines.append(f"Also read at {', '.join(reads[:6])}.")
    engines, configures = url_consumers(here, expr)
    if (
        not engines
        and not configures
        and not any(_reaches_url(here, r) for r in _reads_of(here, name))
    ):
        lines.append(
            "Not a URL: no engine or `context.configure(url=...)` in this file is seen reading it."
        )
    return compose(title, None, lines)


def _reads_of(here: Here, name: str) -> list[ast.expr]:
    found: list[ast.expr] = []
    for node in here.facts.all_nodes:
        if isinstance(node, ast.Call) and node.args and const_str(node.args[0]) == name:
            if (qualified_name(node.func, here.facts.module) or "") in N.ENV_GETTERS:
                found.append(node)
        elif isinstance(node, ast.Subscript) and const_str(node.slice) == name:
            if qualified_name(node.value, here.facts.module) == "os.environ":
                found.append(node)
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def _reaches_url(here: Here, read: ast.expr) -> bool:
    engines, configures = url_consumers(here, read)
    return bool(engines or configures)


def _masked(here: Here, expr: ast.expr, name: str) -> str:
    """The read as written, with a default masked when the variable holds a secret."""
    if is_secret_name(name) and isinstance(expr, ast.Call) and len(expr.args) > 1:
        return f"{here.snippet(expr.func, 30)}({expr.args[0].value!r}, ***)"  # type: ignore[attr-defined]
    return here.snippet(expr, 60)


# --- keys of dicts and subscripts --------------------------------------------------------------


def _subscript_key(here: Here, subscript: ast.Subscript, key: str) -> str | None:
    container = subscript.value
    carrier = frozenset({container.id}) if isinstance(container, ast.Name) else frozenset()
    title = here.snippet(subscript, 60)
    if isinstance(subscript.ctx, ast.Store):
        value = _stored_value(here, subscript)
        if value is not None:
            story = url_story(here, value, title=title, carriers=carrier)
            if story is not None:
                return story
            return compose(
                f"**Key** `{key!r}` of `{here.snippet(container, 40)}`",
                None,
                [f"Line {here.line_of(subscript)}: set to `{here.snippet(value, 60)}`."],
            )
        return None
    sources = _key_sources(here, container, key)
    story = url_story(here, subscript, title=title, carriers=carrier)
    lines = [f"line {here.line_of(value)}: `{here.snippet(value, 70)}`" for value in sources]
    head = (
        f"`{title}` is set at " + "; ".join(lines) + " (hover those values for their stories)."
        if lines
        else None
    )
    if story is None and head is None:
        return None
    if story is None:
        return compose(f"**Key** `{key!r}` of `{here.snippet(container, 40)}`", None, [head or ""])
    return story if head is None else story.replace("\n\n", f"\n\n{head}\n\n", 1)


def _stored_value(here: Here, target: ast.expr) -> ast.expr | None:
    for outer in reversed(here.chain):
        if isinstance(outer, ast.Assign) and any(
            t is target or any(sub is target for sub in ast.walk(t)) for t in outer.targets
        ):
            return outer.value if any(t is target for t in outer.targets) else None
        if isinstance(outer, ast.AnnAssign | ast.AugAssign) and outer.target is target:
            return outer.value
    return None


def _key_sources(here: Here, container: ast.expr, key: str) -> list[ast.expr]:
    """Values env.py puts under `key` of the dict named `container`: `name[key] = value` and
    dict literals assigned to the name (`{key: value}`), anywhere in the file."""
    if not isinstance(container, ast.Name):
        return []
    name = container.id
    found: list[ast.expr] = []
    for node in here.facts.all_nodes:
        if isinstance(node, ast.For | ast.AsyncFor | ast.With | ast.comprehension):
            targets = (
                [node.target]
                if not isinstance(node, ast.With)
                else [i.optional_vars for i in node.items if i.optional_vars is not None]
            )
            if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
                return []  # also bound by a loop or `with`: its values are not all listed here
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == name
                and const_str(target.slice) == key
            ):
                found.append(node.value)
        names = {t.id for t in node.targets if isinstance(t, ast.Name)}
        for sub in ast.walk(node.value) if name in names else ():
            if isinstance(sub, ast.Dict):
                found.extend(
                    v for k, v in zip(sub.keys, sub.values, strict=False) if const_str(k) == key
                )
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def _dict_key(here: Here, mapping: ast.Dict, key_node: ast.Constant) -> str | None:
    value = mapping.values[mapping.keys.index(key_node)]
    carriers: set[str] = set()
    for outer in reversed(here.chain):
        if isinstance(outer, ast.Assign):
            carriers |= {t.id for t in outer.targets if isinstance(t, ast.Name)}
            break
    title = f"{key_node.value!r}: {here.snippet(value, 50)}"
    story = url_story(here, value, title=title, carriers=frozenset(carriers))
    if story is not None:
        return story
    return compose(
        f"**Key** `{key_node.value!r}`",
        None,
        [f"Line {here.line_of(value)}: its value is `{here.snippet(value, 60)}`."],
    )


# --- string arguments --------------------------------------------------------------------------


def _call_argument(here: Here, call: ast.Call, node: ast.Constant) -> str | None:
    q = qualified_name(call.func, here.scope) or ""
    option = str(node.value)
    if q == _SECTION_SETTER and len(call.args) >= 3 and call.args[1] is node:
        section = here.snippet(call.args[0], 30)
        value = call.args[2]
        title = f"[{section}] {option}"
        story = url_story(here, value, title=title)
        head = (
            f"Line {here.line_of(call)}: `set_section_option` sets `{option}` of the ini section named by "
            f"`{section}` (one per section, at run time) to `{here.snippet(value, 50)}`."
        )
        readers = _section_readers(here)
        if readers:
            head += " Read back per section by " + ", ".join(readers) + "."
        if story is None:
            return compose(f"**`{option}`** · per-section option", None, [head])
        if readers:
            story = story.replace(f"\n\n{NOT_READ}", "")
        return story.replace("\n\n", f"\n\n{head}\n\n", 1)
    func = here.snippet(call.func, 50)
    if not re.fullmatch(r"[\w.]+", option):  # a message, not a key or a name
        return compose(
            f"**String** · an argument of `{func}(...)`",
            None,
            [f"Line {here.line_of(call)}: a message passed to `{func}`, not a URL."],
        )
    where = f" (`{q}`)" if q and q != func else ""
    origin = _origin_of(here, call.func)
    return compose(
        f"**`{shorten(str(node.value), 50)}`** · an argument of `{func}(...)`",
        None,
        [
            f"Line {here.line_of(call)}: passed to `{func}`{where}{origin}; what it returns is "
            "known only at run time."
        ],
    )


def _section_readers(here: Here) -> list[str]:
    """Engines built from a section named at run time, and `get_section_option` reads."""
    out = []
    for engine in here.facts.engines:
        node = engine.url_node
        if (
            isinstance(node, ast.Call)
            and node.args
            and not isinstance(node.args[0], ast.Constant)
            and qualified_name(node.func, engine.call.scope) == N.CONFIG + ".get_section"
            and qualified_name(node.args[0], engine.call.scope) != N.CONFIG + ".config_ini_section"
        ):
            out.append(f"`{engine.factory}` (line {here.line_of(engine.call.node)})")
    for call in here.facts.calls_named(N.CONFIG + ".get_section_option"):
        out.append(f"`get_section_option` (line {here.line_of(call.node)})")
    return out


def _origin_of(here: Here, func: ast.expr) -> str:
    """Where the called object comes from when it is not what its name suggests (a module-level
    `config` rebound by an import)."""
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return ""
    q = qualified_name(root, here.scope) or ""
    if root.id == "config" and q and not q.startswith("alembic."):
        return f", where `config` is `{q}`, not Alembic's Config"
    return ""
