"""Every rule sees every way to reach Alembic's context, SQLAlchemy's factories and logging:
each rule's INVALID examples, rewritten into each import form, give the same findings."""

from __future__ import annotations

import ast
import io
import tokenize

import pytest
from alembic_env_lsp.rules import all_rules
from support.rules import run_example

# (module imported from, the import that replaces it, how a name `x` from it is then spelt)
FORMS = {
    "context-as-ctx": ("alembic", "from alembic import context as ctx", "ctx"),
    "import-alembic": ("alembic", "import alembic", "alembic.{}"),
    "import-sqlalchemy-as-sa": ("sqlalchemy", "import sqlalchemy as sa", "sa.{}"),
    "sqlalchemy-ext-asyncio-as": (
        "sqlalchemy.ext.asyncio",
        "from sqlalchemy.ext import asyncio as sa_asyncio",
        "sa_asyncio.{}",
    ),
    "import-logging-config": ("logging.config", "import logging.config", "logging.config.{}"),
}


def rewrite(code: str, module: str, new_import: str, spelling: str) -> str | None:
    """`code` with every `from <module> import a, b as c` turned into `new_import` and each
    name read through it; None when the code has no such import."""
    tree = ast.parse(code)
    renames: dict[str, str] = {}
    spans: list[tuple[int, int]] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == module and not stmt.level:
            if any(a.name == "*" for a in stmt.names):
                return None
            for alias in stmt.names:
                renames[alias.asname or alias.name] = (
                    spelling.format(alias.name) if "{}" in spelling else spelling
                )
            spans.append((stmt.lineno, stmt.end_lineno or stmt.lineno))
    if not spans:
        return None
    out = []
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    lines = code.splitlines(keepends=True)
    import_lines = {n for start, end in spans for n in range(start, end + 1)}
    edits: dict[tuple[int, int], tuple[int, str]] = {}
    previous = None
    for index, token in enumerate(tokens):
        if token.type == tokenize.NAME and token.start[0] not in import_lines:
            after = tokens[index + 1] if index + 1 < len(tokens) else None
            is_attribute = previous is not None and previous.string == "."
            is_keyword_arg = after is not None and after.string == "=" and _in_call(tokens, index)
            if token.string in renames and not is_attribute and not is_keyword_arg:
                edits[token.start] = (token.end[1], renames[token.string])
        if token.type not in (tokenize.NL, tokenize.COMMENT):
            previous = token
    first_import = min(start for start, _ in spans)
    for number, line in enumerate(lines, start=1):
        if number in import_lines:
            if number == first_import:
                out.append(new_import + "\n")
            continue
        for (row, col), (end, text) in sorted(edits.items(), reverse=True):
            if row == number:
                line = line[:col] + text + line[end:]
        out.append(line)
    return "".join(out)


def _in_call(tokens, index: int) -> bool:
    depth = 0
    for token in reversed(tokens[:index]):
        if token.string in (")", "]", "}"):
            depth += 1
        elif token.string in ("(", "[", "{"):
            if depth == 0:
                return token.string == "("
            depth -= 1
    return False


CASES = [
    pytest.param(rule, example, form, id=f"{rule.code}-{index}-{form}")
    for rule in all_rules()
    for index, example in enumerate(rule.invalid)
    for form in FORMS
    if rewrite(example.code, *FORMS[form]) is not None
]


@pytest.mark.parametrize("rule,example,form", CASES)
def test_invalid_example_in_every_import_form(rule, example, form, tmp_path):
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    _, expected = run_example(rule, example, tmp_path / "before")
    code = rewrite(example.code, *FORMS[form])
    ast.parse(code)
    _, found = run_example(rule, _replace(example, code), tmp_path / "after")
    removed = _removed_import_lines(example.code, FORMS[form][0])
    assert [(f.code, f.severity, f.range.start.line) for f in found] == [
        (
            f.code,
            f.severity,
            f.range.start.line - sum(1 for n in removed if n <= f.range.start.line),
        )
        for f in expected
    ], code


def _removed_import_lines(code: str, module: str) -> list[int]:
    """0-based lines the rewrite drops (all lines of the imports replaced, but the first)."""
    lines = [
        n - 1
        for stmt in ast.parse(code).body
        if isinstance(stmt, ast.ImportFrom) and stmt.module == module and not stmt.level
        for n in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
    ]
    return sorted(lines)[1:]


def _replace(example, code):
    from dataclasses import replace

    return replace(example, code=code)


def test_the_rewrite_reads_names_through_the_new_import():
    code = "from alembic import context\nfrom sqlalchemy import pool\nconfig = context.config\n"
    assert rewrite(code, *FORMS["import-alembic"]) == (
        "import alembic\nfrom sqlalchemy import pool\nconfig = alembic.context.config\n"
    )
    assert rewrite(code, *FORMS["import-sqlalchemy-as-sa"]) == (
        "from alembic import context\nimport sqlalchemy as sa\nconfig = context.config\n"
    )
    assert (
        rewrite(
            "from sqlalchemy import pool\nf(poolclass=pool.NullPool)\n",
            *FORMS["import-sqlalchemy-as-sa"],
        )
        == "import sqlalchemy as sa\nf(poolclass=sa.pool.NullPool)\n"
    )
