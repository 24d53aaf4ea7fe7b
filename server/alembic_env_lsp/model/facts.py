"""The model of one env.py: plain records built in one walk (build.py), read by rules,
hovers and explain. Nodes are Python `ast` nodes; positions come from `SourceText`."""

from __future__ import annotations

import ast
import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from ..text import SourceText

if TYPE_CHECKING:
    from ..config_files import IniValue


class Kind(enum.Enum):
    """What a variable holds, as far as a local, syntactic reading can tell."""

    ENGINE = "Engine"
    ASYNC_ENGINE = "AsyncEngine"
    CONNECTION = "Connection"
    ASYNC_CONNECTION = "AsyncConnection"
    URL = "URL"
    SECTION = "config section dict"
    CONFIG = "alembic Config"


class Confidence(enum.IntEnum):
    # How sure we are of a URL; severity drops with it (docs/architecture.md, URL confidence).
    UNKNOWN = 0
    HEURISTIC = 1
    DEFAULT = 2
    LITERAL = 3


@dataclass(eq=False)
class Scope:
    """The module, a function, or a lambda."""

    name: str
    node: ast.AST | None
    is_async: bool
    parent: Scope | None
    params: list[ast.arg] = field(default_factory=list)
    has_varargs: bool = False
    aliases: dict[str, str] = field(default_factory=dict)
    assignments: dict[str, list[Assignment]] = field(default_factory=dict)
    kinds: dict[str, Binding] = field(default_factory=dict)
    calls: list[CallFact] = field(default_factory=list)
    returns: list[ast.expr] = field(default_factory=list)
    # Every way out of a function that a path reaches, with the conditions of its path
    # (build.py); unlike `returns`, it includes returning None and leaves out dead code.
    return_paths: list[ReturnPath] = field(default_factory=list)
    functions: dict[str, Scope] = field(default_factory=dict)
    # The bindings that reach each name read, by id() of its ast.Name (shared by all scopes
    # of a file; filled by build.py).
    reaching: dict[int, tuple[Reach, ...]] = field(default_factory=dict, repr=False)

    @property
    def is_module(self) -> bool:
        return self.parent is None

    def lookup_alias(self, name: str) -> str | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.aliases:
                return scope.aliases[name]
            scope = scope.parent
        return None

    def lookup_kind(self, name: str) -> Binding | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.kinds:
                return scope.kinds[name]
            if name in scope.assignments or any(p.arg == name for p in scope.params):
                return None  # a local that holds something we cannot type
            scope = scope.parent
        return None

    def possible_bindings(self, node: ast.Name) -> tuple[Reach, ...]:
        """Every binding that may reach this read of a name, with the conditions of its path."""
        return self.reaching.get(id(node), ())

    def kind_at(self, node: ast.Name) -> Binding | None:
        """What the name holds at this read: the kind some path gives it (the last in source
        order when paths disagree), None when no path gives it a kind we know."""
        reaches = self.reaching.get(id(node))
        if reaches is None:
            return self.lookup_kind(node.id)  # a node the walk did not see (synthetic)
        for reach in reversed(reaches):
            if reach.binding is not None:
                return reach.binding
        return None

    def lookup_function(self, name: str) -> Scope | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.functions:
                return scope.functions[name]
            scope = scope.parent
        return None

    def last_assignment(self, name: str, before_line: int | None = None) -> Assignment | None:
        scope: Scope | None = self
        while scope is not None:
            found = [
                a
                for a in scope.assignments.get(name, ())
                if before_line is None or scope is not self or a.stmt.lineno <= before_line
            ]
            if found:
                return found[-1]
            scope = scope.parent
        return None

    def walk_calls(self) -> Iterator[CallFact]:
        yield from self.calls


@dataclass(eq=False)
class Assignment:
    name: str
    value: ast.expr
    stmt: ast.stmt


@dataclass(eq=False)
class Binding:
    kind: Kind
    node: ast.AST  # where it got that kind (factory call, with item, annotation)
    engine: EngineFact | None = None


@dataclass(frozen=True, eq=False)
class Condition:
    """A test on a path, and whether it held: an `if` / `while` / `or` test here; what a
    `try`, a `for` loop, a `match` or an environment variable decided in the subclasses."""

    test: ast.AST
    holds: bool

    def text(self, source: SourceText) -> str:
        test = self.test
        if not self.holds and isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return source.slice(source.node_range(test.operand))  # `if not url:` failed: "url"
        text = source.slice(source.node_range(test))
        return text if self.holds else f"not ({text})"


@dataclass(frozen=True, eq=False)
class Raised(Condition):
    """The path went through an `except` clause of the `try` in `test` (holds), or through its
    body or `else` with nothing raised so far (not holds)."""

    handler: ast.ExceptHandler | None = None

    def text(self, source: SourceText) -> str:
        where = f"the `try` at line {getattr(self.test, 'lineno', '?')}"
        if not self.holds:
            return f"{where} raised nothing"
        caught = self.handler.type if self.handler is not None else None
        if caught is None:
            return f"{where} raised an exception"
        return f"{where} raised {source.slice(source.node_range(caught))}"


@dataclass(frozen=True, eq=False)
class Iteration(Condition):
    """Inside the body of the `for` loop in `test` (the body is walked once: each value it
    binds or returns stands for every iteration)."""

    def text(self, source: SourceText) -> str:
        return f"in an iteration of the `for` loop at line {getattr(self.test, 'lineno', '?')}"


@dataclass(frozen=True, eq=False)
class Case(Condition):
    """A `case` of a `match` was taken: `test` is its pattern, `subject` what is matched."""

    subject: ast.expr | None = None

    def text(self, source: SourceText) -> str:
        pattern = source.slice(source.node_range(self.test))
        if self.subject is None:
            return f"`case {pattern}` matched"
        return f"{source.slice(source.node_range(self.subject))} matches `{pattern}`"


@dataclass(frozen=True, eq=False)
class EnvSet(Condition):
    """An environment variable read by `test` (`os.getenv(name)`, `os.environ.get(name)`) is
    set (holds) or not."""

    name: str = "?"

    def text(self, source: SourceText) -> str:
        return f"{self.name} is set" if self.holds else f"{self.name} is not set"


@dataclass(frozen=True, eq=False)
class ReturnPath:
    """One way out of a function: the returned expression (None: a bare `return` or the end of
    the body, which return None) and the conditions that hold on every run that takes it, in
    path order. Runs that took an earlier return never reach a later one, so when a condition
    cannot be written as a conjunction (`if a: if b: return x`), the later return carries the
    tests both paths share and stands for "otherwise"."""

    value: ast.expr | None
    node: ast.AST  # the return statement, or the function for the end of its body
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, eq=False)
class Reach:
    """One binding of a name that reaches a use: what it holds on that path and why."""

    binding: Binding | None  # None: a value of a kind we do not know (a parameter, a call)
    assignment: Assignment | None  # the `name = value` that bound it (None: with, for, import...)
    node: ast.AST  # where it was bound or narrowed (value, with item, isinstance() test)
    conditions: tuple[Condition, ...] = ()  # outermost first
    none: bool | None = None  # True / False when a test or the value proves it is / is not None
    scope: Scope | None = field(default=None, repr=False)  # where `assignment` runs
    # Stands for older bindings dropped when one name had too many paths (flow.py)
    truncated: bool = False

    def under(self, condition: Condition) -> Reach:
        """The same binding, reached through one more test: an outer `if` (tested before the
        ones inside it) or a later one (tested after): in source order, the order they run."""
        conditions = sorted((condition, *self.conditions), key=_where)
        return replace(self, conditions=tuple(conditions))

    def condition_text(self, source: SourceText) -> str:
        """ "connectable is None and not (x)" ("" on every path)."""
        return " and ".join(c.text(source) for c in self.conditions)


def _where(condition: Condition) -> tuple[int, int]:
    test = condition.test
    return (getattr(test, "lineno", 0), getattr(test, "col_offset", 0))


@dataclass(eq=False)
class WithFact:
    node: ast.With | ast.AsyncWith
    is_async: bool
    item: ast.withitem
    scope: Scope


@dataclass(eq=False)
class CallFact:
    node: ast.Call
    qname: str | None  # canonical name through imports, e.g. "alembic.context.configure"
    receiver: str | None  # `x` in `x.method(...)` (a plain name)
    attr: str | None  # `method` in `x.method(...)`
    scope: Scope
    stmt: ast.stmt
    parent: ast.AST
    withs: tuple[WithFact, ...]
    branches: tuple[
        tuple[ast.If, bool], ...
    ]  # enclosing ifs, and whether we are in the body (True) or else
    in_try: tuple[ast.Try, ...]  # enclosing try statements (try/except*: same fields)

    @property
    def awaited(self) -> bool:
        return isinstance(self.parent, ast.Await)

    @property
    def is_statement(self) -> bool:
        return isinstance(self.parent, ast.Expr) or (
            isinstance(self.parent, ast.Await)
            and isinstance(self.stmt, ast.Expr)
            and self.stmt.value is self.parent
        )

    def keyword(self, name: str) -> ast.expr | None:
        for kw in self.node.keywords:
            if kw.arg == name:
                return kw.value
        return None

    @property
    def splats(self) -> list[ast.expr]:
        return [kw.value for kw in self.node.keywords if kw.arg is None]

    def arg(self, index: int, name: str | None = None) -> ast.expr | None:
        args = [a for a in self.node.args if not isinstance(a, ast.Starred)]
        if index < len(args) and len(args) == len(self.node.args):
            return args[index]
        if name is not None:
            return self.keyword(name)
        return None


@dataclass(eq=False)
class UrlValue:
    """Where a database URL comes from and what is known of it (docs/architecture.md, URL confidence)."""

    text: str | None  # the URL (or only "scheme://") when known; NEVER shown unredacted
    confidence: Confidence
    origin: str  # human description: "alembic.ini [alembic] sqlalchemy.url", "literal", "env var X default"
    literal: ast.Constant | None = None  # the env.py string that holds the scheme, when editable
    ini_value: IniValue | None = None  # when it comes from the ini
    ini_path: str | None = None
    names: tuple[str, ...] = ()  # variable / env var / attribute names seen on the way (ENV060)
    replaced: tuple[tuple[str, str], ...] = ()  # .replace(a, b) applied on the way
    # (section, key) of the alembic.ini option this value was read from (or was looked for:
    # set even when the option is missing, so ENV012 can tell "read from the ini, not there").
    ini_key: tuple[str, str] | None = None
    # The values it may take at run time, each with its own origin and conditions (both sides
    # of `a or b`, the ini value and the env.py override, each `return` of a helper, a set or
    # unset environment variable); empty when there is only one. Flat and always finite.
    alternatives: tuple[UrlValue, ...] = ()
    # The if-tests on the path that gives this value (set on the alternatives of a variable
    # bound differently on different paths).
    conditions: tuple[Condition, ...] = ()
    # The value is None on this path (an unset environment variable read without a default, a
    # helper returning None); a read narrowed by `if not url: raise` drops such alternatives.
    none: bool = False

    @property
    def scheme(self) -> str | None:
        if not self.text or "://" not in self.text:
            return None
        return self.text.split("://", 1)[0]


@dataclass(eq=False)
class EngineFact:
    call: CallFact
    is_async: bool  # builds an AsyncEngine
    wrapped: CallFact | None  # AsyncEngine(<this sync factory call>)
    factory: str  # short name of the factory actually called ("async_engine_from_config")
    url: UrlValue
    url_node: ast.expr | None  # the expression the URL came from in env.py
    var: str | None  # the name it is assigned to
    poolclass: ast.expr | None

    @property
    def scope(self) -> Scope:
        return self.call.scope


@dataclass(eq=False)
class ConfigureFact:
    call: CallFact
    mode: str  # "online" | "offline" (by its arguments: connection= vs url=/dialect_name=)
    url: UrlValue | None = None  # what `url=` resolves to (offline configures)

    def keyword(self, name: str) -> ast.expr | None:
        return self.call.keyword(name)

    @property
    def has_splat(self) -> bool:
        return bool(self.call.splats)


@dataclass(eq=False)
class ImportFact:
    """One `import` / `from ... import` statement, wherever it is."""

    stmt: ast.Import | ast.ImportFrom
    module: (
        str | None
    )  # `from X import ...`: X ("" for `from . import x`); `import X`: None (see names)
    names: tuple[tuple[str, str | None], ...]  # (name, asname)
    level: int  # dots of a relative import
    scope: Scope
    type_checking: bool  # under `if TYPE_CHECKING:`: never runs

    @property
    def star(self) -> bool:
        return any(name == "*" for name, _ in self.names)


@dataclass(eq=False)
class Dispatch:
    node: ast.If
    offline_in_body: bool  # False for `if not context.is_offline_mode():`


@dataclass(eq=False)
class EnvFacts:
    tree: ast.Module
    source: SourceText
    module: Scope
    scopes: list[Scope]
    calls: list[CallFact]
    withs: list[WithFact]
    engines: list[EngineFact]
    configures: list[ConfigureFact]
    dispatch: Dispatch | None
    references: set[
        str
    ]  # every qualified name read anywhere (e.g. "alembic.context.is_offline_mode")
    config_names: set[str]  # names bound to context.config
    online_functions: set[str]
    offline_functions: set[str]
    executed_functions: set[str]  # reachable from module level at all
    # top-level functions only ever run inside a transaction their caller opened
    # (`async with engine.begin() as c: await c.run_sync(fn)`): that transaction commits.
    in_caller_transaction: set[str]
    target_metadata: Assignment | None
    imports_alembic_context: bool
    imports: list[ImportFact] = field(default_factory=list)
    # keys read from `config.attributes` (`["k"]`, `.get("k")`), e.g. "connection" (ENV009a)
    attribute_keys: set[str] = field(default_factory=set)
    loaded_names: set[str] = field(default_factory=set)  # every plain name read anywhere
    # The URL evaluator the engines went through, for any other expression (hovers):
    # evaluate_url(expr, scope, line) -> UrlValue.
    evaluate_url: Callable[[ast.expr, Scope, int], UrlValue] | None = field(
        default=None, repr=False
    )

    @cached_property
    def all_nodes(self) -> tuple[ast.AST, ...]:
        """Every node of the tree in ast.walk order, walked once: hovers search the whole file
        several times per request (readers, sources, helper calls)."""
        return tuple(ast.walk(self.tree))

    def walk(self, root: ast.AST) -> Iterable[ast.AST]:
        """ast.walk(root), from the one walk of the file when root is the whole module."""
        return self.all_nodes if root is self.tree else ast.walk(root)

    def calls_named(self, *qnames: str) -> list[CallFact]:
        wanted = set(qnames)
        return [c for c in self.calls if c.qname in wanted]

    def calls_in(self, names: frozenset[str] | set[str]) -> list[CallFact]:
        return [c for c in self.calls if c.qname in names]

    def function(self, name: str) -> Scope | None:
        return self.module.functions.get(name)

    def path_of(self, call: CallFact) -> str:
        """ "online", "offline", "both" (runs either way) or "none" (never reached)."""
        top = _top_function(call.scope)
        if top is None:
            if self.dispatch is None:
                return "online"
            for branch, in_body in call.branches:
                if branch is self.dispatch.node:
                    return "offline" if in_body == self.dispatch.offline_in_body else "online"
            return "both"
        online = top.name in self.online_functions
        offline = top.name in self.offline_functions
        if online and offline:
            return "both"
        return "online" if online else "offline" if offline else "none"

    def runs_in_caller_transaction(self, scope: Scope) -> bool:
        top = _top_function(scope)
        return top is not None and top.name in self.in_caller_transaction

    def on_online_path(self, call: CallFact) -> bool:
        return self.path_of(call) in ("online", "both")


def _top_function(scope: Scope) -> Scope | None:
    while scope.parent is not None and not scope.parent.is_module:
        scope = scope.parent
    return None if scope.is_module else scope
