"""Shared plumbing for the env.py rewrites: the result type, import-alias resolution,
comment bookkeeping and small formatting-preserving libcst edits.

Alias resolution is done by hand from the import statements: libcst's
QualifiedNameProvider needs a MetadataWrapper, which costs tens of milliseconds per
file and would dominate a quick-fix.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import libcst as cst

from ..model import names as N

NodeT = TypeVar("NodeT", bound=cst.CSTNode)


@dataclass(frozen=True)
class RewriteResult:
    text: str | None  # the new source, None when refused
    refused: str | None  # one sentence saying why the shape cannot be rewritten safely
    changed: bool  # False when the input already has the target shape

    @staticmethod
    def unchanged(source: str) -> RewriteResult:
        return RewriteResult(source, None, False)

    @staticmethod
    def refuse(reason: str) -> RewriteResult:
        return RewriteResult(None, reason, False)


class Refusal(Exception):
    """Raised anywhere inside a rewrite to abandon it with a reason for the user."""


# --------------------------------------------------------------------------- names


# SQLAlchemy re-exports its public names from several modules; reduce each to one spelling.
# The engine factories and runners come from model/names.py (the facts use the same tables);
# the classes below are only ever imported by the rewrites' own edits.
def _canonical_table() -> dict[str, str]:
    table = {q: "sqlalchemy." + N.short(q) for q in N.SYNC_FACTORIES}
    table.update(
        {q: "sqlalchemy.ext.asyncio." + N.short(q) for q in N.ASYNC_FACTORIES | N.ASYNC_WRAPPERS}
    )
    table.update({q: "asyncio.run" for q in N.RUNNERS if q.startswith("asyncio.")})
    table.update(
        {
            "sqlalchemy.ext.asyncio.engine.AsyncConnection": "sqlalchemy.ext.asyncio.AsyncConnection",
            "sqlalchemy.Connection": "sqlalchemy.engine.Connection",
            "sqlalchemy.engine.base.Connection": "sqlalchemy.engine.Connection",
            "sqlalchemy.Engine": "sqlalchemy.engine.Engine",
            "sqlalchemy.engine.base.Engine": "sqlalchemy.engine.Engine",
            "sqlalchemy.NullPool": "sqlalchemy.pool.NullPool",
            "sqlalchemy.pool.impl.NullPool": "sqlalchemy.pool.NullPool",
        }
    )
    return {alias: name for alias, name in table.items() if alias != name}


_CANONICAL = _canonical_table()

# sync factory -> its async counterpart's name, and back (the pairs SQLAlchemy documents)
SYNC_FACTORIES = {
    "sqlalchemy.create_engine": "create_async_engine",
    "sqlalchemy.engine_from_config": "async_engine_from_config",
}
ASYNC_FACTORIES = {f"sqlalchemy.ext.asyncio.{a}": N.short(s) for s, a in SYNC_FACTORIES.items()}
ASYNC_WRAP = "sqlalchemy.ext.asyncio.AsyncEngine"
CTX = N.CONTEXT


def canonical(qualified: str | None) -> str | None:
    if qualified is None:
        return None
    if qualified in _CANONICAL:
        return _CANONICAL[qualified]
    # Every pool class lives in sqlalchemy.pool.impl and is re-exported twice.
    for prefix in ("sqlalchemy.pool.impl.", "sqlalchemy.pool.", "sqlalchemy."):
        if (
            qualified.startswith(prefix)
            and qualified.endswith("Pool")
            and "." not in qualified[len(prefix) :]
        ):
            return "sqlalchemy.pool." + qualified[len(prefix) :]
    return qualified


def dotted(node: cst.BaseExpression | None) -> str | None:
    """`a.b.c` as text, or None for anything that is not a plain dotted name."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


@dataclass(frozen=True)
class Binding:
    qualified: str
    # Bound only under `if TYPE_CHECKING:`: fine for annotations, absent at run time.
    type_only: bool = False
    # The import sits directly in the module body (not in an if/try/def).
    top_level: bool = False


class ImportMap:
    """Local name -> imported qualified name, from the file's own import statements."""

    def __init__(self, bindings: dict[str, Binding] | None = None):
        self.bindings: dict[str, Binding] = dict(bindings or {})

    @classmethod
    def of_module(cls, module: cst.Module) -> ImportMap:
        imports = cls()
        _scan_imports(module.body, imports, top=True, type_only=False, into_defs=False)
        return imports

    def within(self, scope: cst.CSTNode) -> ImportMap:
        """This map plus the imports made inside `scope` (a function body, or a whole module)."""
        inner = ImportMap(self.bindings)
        if isinstance(scope, cst.Module):
            _scan_imports(scope.body, inner, top=False, type_only=False, into_defs=True)
        elif isinstance(scope, (cst.FunctionDef, cst.ClassDef)):
            _scan_imports(_suite(scope.body), inner, top=False, type_only=False, into_defs=True)
        return inner

    def qualname(self, node: cst.BaseExpression) -> str | None:
        text = dotted(node)
        if text is None:
            return None
        head, _, rest = text.partition(".")
        binding = self.bindings.get(head)
        if binding is None or binding.type_only:
            return None
        return canonical(binding.qualified + ("." + rest if rest else ""))

    def local_for(self, qualified: str) -> str | None:
        """A local name that is bound (at run time) to exactly `qualified`."""
        for name, binding in self.bindings.items():
            if not binding.type_only and canonical(binding.qualified) == qualified:
                return name
        return None

    def module_alias(self, module_name: str) -> str | None:
        return self.local_for(module_name)

    def ctx_names(self) -> set[str]:
        return {n for n, b in self.bindings.items() if not b.type_only and b.qualified == CTX}


def _suite(suite: cst.CSTNode | None) -> Sequence[cst.CSTNode]:
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    return []


def _bind_import(small: cst.CSTNode, into: ImportMap, binding: Callable[[str], Binding]) -> None:
    if isinstance(small, cst.Import):
        for alias in small.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                into.bindings[alias.asname.name.value] = binding(full)
            else:
                root = full.split(".")[0]
                into.bindings[root] = binding(root)
    elif isinstance(small, cst.ImportFrom):
        if small.relative or small.module is None or isinstance(small.names, cst.ImportStar):
            return
        mod = dotted(small.module) or ""
        for alias in small.names:
            name = dotted(alias.name) or ""
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            into.bindings[local] = binding(f"{mod}.{name}")


def _scan_imports(
    stmts: Sequence[cst.CSTNode], into: ImportMap, *, top: bool, type_only: bool, into_defs: bool
) -> None:
    """Collect import bindings by walking statement lists directly (a libcst visitor over
    the whole file costs milliseconds, and rewrites ask for imports many times)."""
    for stmt in stmts:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                _bind_import(small, into, lambda q: Binding(q, type_only, top))
            continue

        def nested(suite: cst.CSTNode | None, tc: bool = type_only) -> None:
            _scan_imports(_suite(suite), into, top=False, type_only=tc, into_defs=into_defs)

        if isinstance(stmt, cst.If):
            checking = type_only or dotted(stmt.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
            nested(stmt.body, checking)
            orelse = stmt.orelse
            while isinstance(orelse, cst.If):
                nested(orelse.body)
                orelse = orelse.orelse
            if isinstance(orelse, cst.Else):
                nested(orelse.body)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            nested(stmt.body)
            for handler in stmt.handlers:
                nested(handler.body)
            for part in (stmt.orelse, stmt.finalbody):
                if part is not None:
                    nested(part.body)
        elif isinstance(stmt, (cst.With, cst.For, cst.While)):
            nested(stmt.body)
            if not isinstance(stmt, cst.With) and stmt.orelse is not None:
                nested(stmt.orelse.body)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and into_defs:
            nested(stmt.body)


# --------------------------------------------------------------------------- name analysis


class _Reads(cst.CSTVisitor):
    """Every identifier used as a value (over-approximates reads: bindings count too)."""

    def __init__(self) -> None:
        self.names: Counter[str] = Counter()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # a keyword's name is not a variable
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names[node.value] += 1


_MODULE_CACHE: dict[int, tuple[cst.Module, Counter[str], set[str]]] = {}


def _module_names(module: cst.Module) -> tuple[Counter[str], set[str]]:
    """reads() and module_level_names() of a module, cached: modules are immutable and a
    rewrite queries the same one many times (keyed by identity, the module kept alive)."""
    entry = _MODULE_CACHE.get(id(module))
    if entry is not None and entry[0] is module:
        return entry[1], entry[2]
    counts = _ast_reads(module.code)
    if counts is None:
        visitor = _Reads()
        module.visit(visitor)
        counts = visitor.names
    names = binds(*module.body)
    if len(_MODULE_CACHE) > 32:
        _MODULE_CACHE.clear()
    _MODULE_CACHE[id(module)] = (module, counts, names)
    return counts, names


def _ast_reads(code: str) -> Counter[str] | None:
    """What _Reads counts, computed with the stdlib parser (several times faster than a
    libcst visitor over a whole file)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    counts: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            counts[node.id] += 1
        elif isinstance(node, ast.arg):
            counts[node.arg] += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            counts[node.name] += 1
        elif isinstance(node, ast.ExceptHandler) and node.name:
            counts[node.name] += 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            counts.update(node.names)
    return counts


def reads(*nodes: cst.CSTNode | None) -> Counter[str]:
    if len(nodes) == 1 and isinstance(nodes[0], cst.Module):
        return Counter(_module_names(nodes[0])[0])
    visitor = _Reads()
    for node in nodes:
        if node is not None:
            node.visit(visitor)
    return visitor.names


class _Binds(cst.CSTVisitor):
    def __init__(self, root: cst.CSTNode) -> None:
        self.root = root
        self.names: set[str] = set()

    def _targets(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            self.names.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self._targets(element.value)
        elif isinstance(node, cst.StarredElement):
            self._targets(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.add(node.name.value)  # binds its name; its locals are its own
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._targets(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._targets(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._targets(node.target)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is None:
            self.names.add((dotted(node.name) or "").split(".")[0])

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.names.add(item.name.value)


def binds(*nodes: cst.CSTNode) -> set[str]:
    out: set[str] = set()
    for node in nodes:
        visitor = _Binds(node)
        node.visit(visitor)
        out |= visitor.names
    return out


def module_level_names(module: cst.Module) -> set[str]:
    return set(_module_names(module)[1])


class _Finder(cst.CSTVisitor):
    def __init__(self, predicate: Callable[[cst.CSTNode], bool], stop_at_defs: bool):
        self.predicate = predicate
        self.stop = stop_at_defs
        self.found: list[cst.CSTNode] = []
        self.depth = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.predicate(node):
            self.found.append(node)
        if (
            self.stop
            and self.depth > 0
            and isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef))
        ):
            return False
        self.depth += 1
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.depth -= 1


def find_all(
    root: cst.CSTNode, predicate: Callable[[cst.CSTNode], bool], *, stop_at_defs: bool = False
) -> list[cst.CSTNode]:
    """Nodes under `root` (itself included) matching `predicate`; optionally not inside nested defs."""
    finder = _Finder(predicate, stop_at_defs)
    root.visit(finder)
    return finder.found


def find_instances(
    root: cst.CSTNode, kind: type[NodeT], *, stop_at_defs: bool = False
) -> list[NodeT]:
    """`find_all` for one node class, typed as that class."""
    found = find_all(root, lambda n: isinstance(n, kind), stop_at_defs=stop_at_defs)
    return [n for n in found if isinstance(n, kind)]


def has_await(node: cst.CSTNode) -> bool:
    """Whether this code (not counting nested defs and lambdas) awaits or uses async for/with."""

    def is_async(n: cst.CSTNode) -> bool:
        if isinstance(n, cst.Await):
            return True
        if isinstance(n, (cst.With, cst.For)) and n.asynchronous is not None:
            return True
        return isinstance(n, cst.CompFor) and n.asynchronous is not None

    return bool(find_all(node, is_async, stop_at_defs=True))


# --------------------------------------------------------------------------- comments


def comments_of_source(source: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                counts[token.string.rstrip()] += 1
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return counts


class _Comments(cst.CSTVisitor):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def visit_Comment(self, node: cst.Comment) -> None:
        self.counts[node.value.rstrip()] += 1


def comments_of(*nodes: cst.CSTNode | None) -> Counter[str]:
    visitor = _Comments()
    for node in nodes:
        if node is not None:
            node.visit(visitor)
    return visitor.counts


def comment_lines(texts: Iterable[str]) -> list[cst.EmptyLine]:
    return [cst.EmptyLine(comment=cst.Comment(t)) for t in texts]


def keep_comments(old: Sequence[cst.CSTNode], new: cst.BaseStatement) -> cst.BaseStatement:
    """`new` replaces the nodes `old`: re-home any comment of `old` that `new` lost as a
    comment line above `new`, so no user comment ever disappears in a rewrite."""
    lost = comments_of(*old) - comments_of(new)
    if not lost:
        return new
    return new.with_changes(leading_lines=[*leading_lines(new), *comment_lines(lost.elements())])


def trim_leading_blank(stmts: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """No blank line right after a `def` line (comment lines stay)."""
    if not stmts:
        return stmts
    lines = list(leading_lines(stmts[0]))
    while lines and lines[0].comment is None:
        lines.pop(0)
    return [stmts[0].with_changes(leading_lines=lines), *stmts[1:]]


def carry_leading(removed: cst.BaseStatement, following: cst.BaseStatement) -> cst.BaseStatement:
    """`removed` disappears: its leading lines (blank lines, comments) and any other
    comment it held move onto the statement that now takes its place."""
    inner = comments_of(removed) - comments_of(*leading_lines(removed))
    return following.with_changes(
        leading_lines=[
            *leading_lines(removed),
            *comment_lines(inner.elements()),
            *leading_lines(following),
        ]
    )


# --------------------------------------------------------------------------- building nodes


class Builder:
    """Parses small snippets with the module's own indentation and newline."""

    def __init__(self, module: cst.Module):
        self.module = module
        self.indent = module.default_indent
        self.newline = module.default_newline
        self.config = module.config_for_parsing

    def _fix(self, code: str) -> str:
        lines = code.split("\n")
        out = []
        for line in lines:
            stripped = line.lstrip(" ")
            depth = (len(line) - len(stripped)) // 4
            out.append(self.indent * depth + stripped)
        return self.newline.join(out)

    def stmt(self, code: str) -> cst.BaseStatement:
        return cst.parse_statement(self._fix(code.rstrip("\n") + "\n"), config=self.config)

    def stmts(self, code: str) -> list[cst.BaseStatement]:
        return list(cst.parse_module(self._fix(code.rstrip("\n") + "\n"), config=self.config).body)

    def expr(self, code: str) -> cst.BaseExpression:
        return cst.parse_expression(code, config=self.config)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)


def leading_lines(node: cst.CSTNode) -> Sequence[cst.EmptyLine]:
    """A statement's comment and blank lines above it (every statement has them; libcst's
    `BaseStatement` type does not say so)."""
    return getattr(node, "leading_lines", ())


def blank_lines(n: int) -> list[cst.EmptyLine]:
    return [cst.EmptyLine(indent=False) for _ in range(n)]


def docstring_of(body: Sequence[cst.BaseStatement]) -> cst.BaseStatement | None:
    if body and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1:
        expr = body[0].body[0]
        if isinstance(expr, cst.Expr) and isinstance(
            expr.value, (cst.SimpleString, cst.ConcatenatedString)
        ):
            return body[0]
    return None


def sole_expr(stmt: cst.CSTNode) -> cst.BaseExpression | None:
    """The expression of a one-expression statement line, e.g. the call in `f(x)`."""
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
    ):
        return stmt.body[0].value
    return None


def with_sole_expr(
    stmt: cst.SimpleStatementLine, value: cst.BaseExpression
) -> cst.SimpleStatementLine:
    return stmt.with_changes(body=[stmt.body[0].with_changes(value=value)])


def kwarg(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )


def find_kwarg(call: cst.Call, name: str) -> int | None:
    import unicodedata

    for i, arg in enumerate(call.args):
        # NFKC, as Python reads identifiers: `ｐｏｏｌｃｌａｓｓ=` is `poolclass=`
        if arg.keyword is not None and unicodedata.normalize("NFKC", arg.keyword.value) == name:
            return i
    return None


def has_star_kwargs(call: cst.Call) -> bool:
    return any(arg.star == "**" for arg in call.args)


def remove_arg(call: cst.Call, index: int) -> cst.Call:
    """Drop one argument and keep the call's layout (trailing comma, closing line)."""
    args = list(call.args)
    removed = args.pop(index)
    if index == len(args) and args:
        prev = args[-1]
        if (
            isinstance(prev.comma, cst.Comma)
            and isinstance(removed.comma, cst.Comma)
            and isinstance(prev.comma.whitespace_after, cst.ParenthesizedWhitespace)
            and isinstance(removed.comma.whitespace_after, cst.ParenthesizedWhitespace)
        ):
            # One per line with a trailing comma: keep this line's comment, close like the removed line.
            ws = prev.comma.whitespace_after.with_changes(
                last_line=removed.comma.whitespace_after.last_line
            )
            args[-1] = prev.with_changes(comma=prev.comma.with_changes(whitespace_after=ws))
        else:
            # The removed argument was last: its comma/whitespace closes the call now.
            args[-1] = prev.with_changes(
                comma=removed.comma, whitespace_after_arg=removed.whitespace_after_arg
            )
    elif not args:
        return call.with_changes(args=[])
    return call.with_changes(args=args)


def add_kwarg(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """Append a keyword argument before any `*`/`**` splat, matching one-per-line layouts."""
    args = list(call.args)
    pos = len(args)
    for i, existing in enumerate(args):
        if existing.star:
            pos = i
            break
    if not args:
        return call.with_changes(args=[arg])
    if pos < len(args):
        prev_comma = args[pos - 1].comma if pos > 0 else cst.MaybeSentinel.DEFAULT
        comma = (
            prev_comma
            if isinstance(prev_comma, cst.Comma)
            else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        args.insert(pos, arg.with_changes(comma=comma))
        return call.with_changes(args=args)
    last = args[-1]
    if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
        between = args[-2].comma
    elif isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        between = cst.Comma(whitespace_after=call.whitespace_before_args)
    else:
        between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    args[-1] = last.with_changes(comma=between, whitespace_after_arg=cst.SimpleWhitespace(""))
    args.append(arg.with_changes(comma=last.comma, whitespace_after_arg=last.whitespace_after_arg))
    return call.with_changes(args=args)


class Dedent(cst.CSTTransformer):
    """Remove `prefix` from the indentation of continuation lines inside brackets
    (for a call that moves out of an enclosing call)."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def leave_ParenthesizedWhitespace(
        self, original_node: cst.ParenthesizedWhitespace, updated_node: cst.ParenthesizedWhitespace
    ) -> cst.ParenthesizedWhitespace:
        text = updated_node.last_line.value
        if text.startswith(self.prefix):
            return updated_node.with_changes(
                last_line=cst.SimpleWhitespace(text[len(self.prefix) :])
            )
        return updated_node


def unwrap_call(outer: cst.Call, inner: cst.Call) -> cst.Call:
    """`inner` takes the place of `outer(inner)`, re-indented to where `outer` stood."""
    ws = outer.whitespace_before_args
    if isinstance(ws, cst.ParenthesizedWhitespace) and ws.last_line.value:
        inner = cast(cst.Call, inner.visit(Dedent(ws.last_line.value)))
    return inner.with_changes(lpar=outer.lpar, rpar=outer.rpar)


# --------------------------------------------------------------------------- parse / finish


def parse(source: str) -> cst.Module:
    # Python's parser first: it bounds the nesting, while libcst's native parser overflows its
    # stack and kills the process (SIGSEGV) on ~5,000 nested brackets.
    try:
        ast.parse(source.removeprefix("\ufeff"))
    except SyntaxError as error:
        # Python's own message and line are the ones users know from their editor.
        where = f"line {error.lineno}: " if error.lineno else ""
        raise Refusal(
            f"env.py does not parse ({where}{error.msg}); fix the syntax error first"
        ) from None
    except (ValueError, RecursionError, MemoryError) as error:
        reason = (
            "nested too deeply" if isinstance(error, (RecursionError, MemoryError)) else str(error)
        )
        raise Refusal(f"env.py could not be parsed ({reason})") from None
    try:
        module = cst.parse_module(source)
    except Exception as exc:  # ParserSyntaxError, and a few other kinds on odd input
        raise Refusal(f"env.py could not be parsed ({exc.__class__.__name__})") from None
    if (
        module.default_indent.strip(" \t")
        or module.code != source.removeprefix("\ufeff")
        or "\r" in source.replace("\r\n", "")
    ):
        # libcst would write it back differently (a form feed in an indentation, lone \r line
        # endings) or write new lines with a lone \r when the first line ends with one: a
        # rewrite would change lines it does not touch.
        raise Refusal(
            "env.py's layout (form feeds in indentation or \\r line endings) cannot be kept by the rewrite; nothing was changed"
        )
    return module


def finish(original: str, module: cst.Module) -> RewriteResult:
    """Validate a rewritten module: it must parse, compile and keep every comment."""
    text = module.code
    if text == original:
        return RewriteResult.unchanged(original)
    try:
        compile(
            text, "env.py", "exec", dont_inherit=True
        )  # parses too, and catches await-outside-async
        cst.parse_module(text)
    except (SyntaxError, ValueError, cst.ParserSyntaxError) as exc:
        try:
            compile(original, "env.py", "exec", dont_inherit=True)
        except SyntaxError as original_error:
            # e.g. `await` in a plain def: ast.parse accepts it, compile() does not.
            return RewriteResult.refuse(
                f"env.py does not compile (line {original_error.lineno}: {original_error.msg}) and this fix does not repair that"
            )
        return RewriteResult.refuse(
            f"internal error: the rewritten env.py would not compile ({exc.__class__.__name__}); nothing was changed"
        )
    lost = comments_of_source(original) - comments_of_source(text)
    if lost:
        first = next(iter(lost))
        return RewriteResult.refuse(
            f"internal error: the rewrite would drop the comment {first!r}; nothing was changed"
        )
    return RewriteResult(text, None, True)


def run(source: str, transform: Callable[[cst.Module], cst.Module | None]) -> RewriteResult:
    """Parse, transform (None = nothing to do), validate; a Refusal becomes a refused result."""
    try:
        module = parse(source)
        new = transform(module)
        if new is None:
            return RewriteResult.unchanged(source)
        return finish(source, new)
    except Refusal as refusal:
        return RewriteResult.refuse(str(refusal))
    except (
        RecursionError
    ):  # libcst's visitors recurse once per nesting level (e.g. a 3,000-term sum)
        return RewriteResult.refuse("env.py is nested too deeply to rewrite; nothing was changed")
