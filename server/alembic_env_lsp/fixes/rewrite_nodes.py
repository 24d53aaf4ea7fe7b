"""Finding, building and editing libcst nodes without losing the file's layout or comments.

`Builder` parses snippets in the module's own indentation and newline; the argument
helpers (`add_kwarg`, `remove_arg`, `unwrap_call`) keep a call's line layout; the comment
helpers re-home any comment a replaced statement held, so no user comment disappears.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar, cast

import libcst as cst

NodeT = TypeVar("NodeT", bound=cst.CSTNode)


# --------------------------------------------------------------------------- finding nodes


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


def single_assignment(stmt: cst.CSTNode) -> tuple[str, cst.BaseExpression] | None:
    """(X, value) for a statement line that is one `X = value` (one target, a plain name)."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
        ):
            return small.targets[0].target.value, small.value
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
