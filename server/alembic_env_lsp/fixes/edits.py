"""Small, exact text edits that fixes are made of. Each touches only what it must, so
comments and formatting elsewhere stay as the user wrote them."""

from __future__ import annotations

import ast

from ..model.facts import EnvFacts
from ..text import Position, Range, SourceText, TextEdit

INDENT = "    "


def replace_node(source: SourceText, node: ast.AST, new_text: str) -> TextEdit:
    return TextEdit(source.node_range(node), new_text)


def insert_at(pos: Position, text: str) -> TextEdit:
    return TextEdit(Range(pos, pos), text)


def add_keyword(source: SourceText, call: ast.Call, keyword_text: str) -> TextEdit:
    """Append `name=value` to a call's arguments, matching its one-line or one-per-line layout."""
    args: list[ast.AST] = [*call.args, *call.keywords]
    call_range = source.node_range(call)
    if not args:
        # `f()` → `f(name=value)`: insert before the closing parenthesis
        close = Position(call_range.end.line, call_range.end.character - 1)
        return insert_at(close, keyword_text)
    last = max(args, key=_end_of)
    last_range = source.node_range(last)
    if not isinstance(last, ast.keyword):
        # `f((x))`: parentheses around a positional argument are not part of its node
        others = [a for a in args if a is not last]
        before = (
            source.node_range(max(others, key=_end_of)).end
            if others
            else source.node_range(call.func).end
        )
        gap = source.slice(Range(before, last_range.start))
        extra = gap.count("(") - (0 if others else 1)
        if extra > 0 and "#" not in gap:
            offset = source.offset(last_range.end)
            for _ in range(extra):
                offset = source.text.index(")", offset) + 1
            last_range = Range(last_range.start, source.position_at(offset))
    after_last = source.slice(Range(last_range.end, call_range.end))
    trailing_comma = after_last.lstrip().startswith(",")
    multiline = call_range.end.line > last_range.end.line
    if multiline:
        indent = source.indent_of(last_range.start.line)
        if trailing_comma:
            comma_offset = source.offset(last_range.end) + after_last.index(",") + 1
            pos = source.position_at(comma_offset)
            return insert_at(pos, f"{source.line_ending()}{indent}{keyword_text},")
        return insert_at(last_range.end, f",{source.line_ending()}{indent}{keyword_text}")
    if trailing_comma:
        comma_offset = source.offset(last_range.end) + after_last.index(",") + 1
        return insert_at(source.position_at(comma_offset), f" {keyword_text}")
    return insert_at(last_range.end, f", {keyword_text}")


def _end_of(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)


def remove_keyword(source: SourceText, call: ast.Call, name: str) -> TextEdit | None:
    """Delete `name=value` and the comma that separates it from its neighbour."""
    items: list[ast.AST] = sorted(
        [*call.args, *call.keywords],
        key=lambda a: (a.lineno, a.col_offset),  # type: ignore[attr-defined]
    )
    for index, item in enumerate(items):
        if isinstance(item, ast.keyword) and item.arg == name:
            this = source.node_range(item)
            if index + 1 < len(items):
                following = source.node_range(items[index + 1])
                gap = source.slice(Range(this.end, following.start))
                # Comments between the arguments stay; only the argument and its comma go.
                rest = gap.replace(",", "", 1).lstrip(" \t") if "#" in gap else ""
                return TextEdit(Range(this.start, following.start), rest)
            if index > 0:
                previous = source.node_range(items[index - 1])
                if "#" not in source.slice(Range(previous.end, this.start)):
                    return TextEdit(Range(previous.end, this.end), "")
                # A comment after the previous argument stays: drop this argument's own text
                # (and its line, when nothing else is on it) and leave the previous comma.
                start, end = this.start, this.end
                line = source.line(end.line)
                rest = line[end.character :]
                if rest.lstrip(" \t").startswith(","):
                    end = Position(end.line, len(line) - len(rest.lstrip(" \t")) + 1)
                if (
                    not source.line(start.line)[: start.character].strip()
                    and not line[end.character :].strip()
                ):
                    start, end = Position(start.line, 0), Position(end.line + 1, 0)
                return TextEdit(Range(start, end), "")
            return TextEdit(this, "")
    return None


def local_name_for(facts: EnvFacts, qname: str) -> str | None:
    """The name this file already uses for `qname` at module level, if any."""
    for local, target in facts.module.aliases.items():
        if target == qname:
            return local
    module, _, attr = qname.rpartition(".")
    for local, target in facts.module.aliases.items():
        if target == module:
            return f"{local}.{attr}"
    return None


def ensure_import(
    facts: EnvFacts, source: SourceText, module: str, name: str
) -> tuple[str, list[TextEdit]]:
    """The expression to use for `module.name`, plus the import to add when there is none."""
    existing = local_name_for(facts, f"{module}.{name}")
    if existing is not None:
        return existing, []
    taken = set(facts.module.aliases) | set(facts.module.assignments) | set(facts.module.functions)
    if name in taken:
        return name, []  # something else owns that name: a plain insert would shadow it
    line = import_insertion_line(facts)
    text = f"from {module} import {name}{source.line_ending()}"
    return name, [insert_at(Position(line, 0), text)]


def import_insertion_line(facts: EnvFacts) -> int:
    """The line after the last top-level import (or after the docstring / __future__)."""
    last: ast.stmt | None = None
    for stmt in facts.tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            last = stmt
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and last is None:
            last = stmt  # module docstring
        else:
            if last is not None:
                break
    if last is None:
        return 0
    return _line_after(facts.source, last)


def _line_after(source: SourceText, stmt: ast.stmt) -> int:
    """0-based index of the line after `stmt`, past a backslash that continues it onto the
    next (blank) line: inserting there would join the new line to the statement."""
    line = stmt.end_lineno - 1  # type: ignore[operator]
    rest = source.line(line)[source.from_utf8(stmt.end_lineno, stmt.end_col_offset).character :]  # type: ignore[arg-type]
    while rest.strip() == "\\" and line + 1 < source.line_count:
        line += 1
        rest = source.line(line)
    return line + 1


def statement_lines(stmt: ast.stmt) -> tuple[int, int]:
    """0-based first and last line of a statement, decorators included."""
    first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
    return first - 1, stmt.end_lineno - 1  # type: ignore[operator]


def string_interior_lines(text: str) -> set[int] | None:
    """0-based lines that begin inside a multi-line string literal (their leading spaces
    are part of the string's value). None when the text does not tokenize."""
    import io
    import tokenize

    inside: set[int] = set()
    fstring_starts: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            kind = tokenize.tok_name[token.type]
            if kind == "STRING" and token.end[0] > token.start[0]:
                inside.update(range(token.start[0], token.end[0]))
            elif kind == "FSTRING_START":  # Python 3.12+: f-strings come in pieces
                fstring_starts.append(token.start[0])
            elif kind == "FSTRING_END" and fstring_starts:
                inside.update(range(fstring_starts.pop(), token.end[0]))
    except (tokenize.TokenError, SyntaxError):
        return None
    return inside


def wrap_in_block(source: SourceText, stmts: list[ast.stmt], header: str) -> list[TextEdit] | None:
    """Put `stmts` (consecutive, same indentation) under `header:` — indenting each line
    except those inside a multi-line string, whose text must not change."""
    first, _ = statement_lines(stmts[0])
    _, last = statement_lines(stmts[-1])
    indent = source.indent_of(first)
    if source.line(first)[: len(indent)] != indent or source.line(first).strip() == "":
        return None
    if any(line_starts_mid_line(source, s) for s in stmts):
        return None
    in_strings = string_interior_lines(source.text.removeprefix("\ufeff"))
    if in_strings is None:
        return None
    eol = source.line_ending()
    edits = [insert_at(Position(first, 0), f"{indent}{header}:{eol}")]
    for line in range(first, last + 1):
        text = source.line(line)
        if text.strip() and line not in in_strings:
            # after any form feed in the indentation: Python starts counting columns again there
            lead = text[: len(text) - len(text.lstrip(" \t\x0c"))]
            edits.append(insert_at(Position(line, lead.rfind("\x0c") + 1), INDENT))
    return edits


def line_starts_mid_line(source: SourceText, stmt: ast.stmt) -> bool:
    """True for `a = 1; b()` style statements that share a line with another."""
    start = source.from_utf8(stmt.lineno, stmt.col_offset)
    return source.line(start.line)[: start.character].strip() != ""


def insert_lines_after(
    source: SourceText, stmt: ast.stmt, lines: list[str], indent: str
) -> TextEdit:
    last = _line_after(source, stmt) - 1
    eol = source.line_ending()
    text = "".join(f"{indent}{line}{eol}" if line else eol for line in lines)
    if last + 1 >= source.line_count:
        # the file ends without a newline after this statement
        end = Position(last, len(source.line(last)))
        return insert_at(end, eol + text.rstrip("\r\n"))
    return insert_at(Position(last + 1, 0), text)


def ensure_module_import(
    facts: EnvFacts, source: SourceText, module: str
) -> tuple[str, list[TextEdit]]:
    """The name to use for `module` (e.g. "asyncio"), plus `import module` when missing."""
    for local, target in facts.module.aliases.items():
        if target == module:
            return local, []
    line = import_insertion_line(facts)
    return module, [insert_at(Position(line, 0), f"import {module}{source.line_ending()}")]
