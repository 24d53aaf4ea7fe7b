"""The frame every env.py rewrite runs in: parse (refusing what libcst cannot write back
unchanged), transform, and validate the result (it compiles and keeps every comment).

A rewrite is a function `Module -> Module | None` passed to `run`; it raises `Refusal` anywhere
to give up with a sentence for the user. The name analysis it works with is in
`rewrite_names.py`, the node surgery in `rewrite_nodes.py`, import edits in `rewrite_imports.py`.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst


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


def comments_of_source(source: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                counts[token.string.rstrip()] += 1
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return counts


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
