"""Pieces every hover shares: the result type, the cursor context (`Here`), the
Markdown layout, the finding and `# noqa` sections, and the redaction every text goes through."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import names as N
from ..model.facts import CallFact, EnvFacts, Scope
from ..redact import redact_text
from ..suppress import noqa_codes
from ..text import Position, Range, SourceText
from .texts import CONFIG_MEMBERS, CONTEXT_MEMBERS, SQLALCHEMY_CLASSES

if TYPE_CHECKING:
    from ..engine import Analysis
    from ..findings import Finding


@dataclass(frozen=True)
class HoverResult:
    markdown: str
    range: Range  # the symbol's range in the hovered file


MAX_SNIPPET = 70


@dataclass
class Here:
    analysis: Analysis
    facts: EnvFacts
    source: SourceText
    pos: Position
    chain: list[ast.AST]
    scope: Scope

    @property
    def node(self) -> ast.AST:
        return self.chain[-1]

    @property
    def parent(self) -> ast.AST | None:
        return self.chain[-2] if len(self.chain) > 1 else None

    @property
    def project(self):
        return self.analysis.project

    def rng(self, node: ast.AST) -> Range:
        return self.source.node_range(node)

    def line_of(self, node: ast.AST | None) -> int:
        """1-based line of a node (0 for a node without a position)."""
        lineno = getattr(node, "lineno", None)
        if lineno is None:
            return 0
        return self.source.from_utf8(lineno, getattr(node, "col_offset", 0)).line + 1

    def snippet(self, node: ast.AST, limit: int = MAX_SNIPPET) -> str:
        return shorten(self.source.slice(self.rng(node)), limit)

    def call_fact(self, node: ast.AST | None) -> CallFact | None:
        if not isinstance(node, ast.Call):
            return None
        return next((c for c in self.facts.calls if c.node is node), None)


def redact_markdown(text: str) -> str:
    """`redact_text` over Markdown, one backtick-delimited piece at a time.

    Texts built here never put a backtick inside a URL (snippets turn them into quotes),
    so every URL is seen whole; and a masked query secret right before a closing backtick
    (`...?password=***`) keeps its backtick, which one pass over the whole text would eat."""
    return "`".join(redact_text(piece) for piece in text.split("`"))


def on_text(source: SourceText, pos: Position) -> Position | None:
    """The position itself when it is on a visible character; the character before it
    at the very end of a line (editors that place the cursor after a word); else None."""
    if pos.line < 0 or pos.line >= source.line_count or pos.character < 0:
        return None
    line = source.line(pos.line)
    ch = pos.character
    if ch < len(line):
        return pos if not line[ch].isspace() else None
    if ch == len(line) and ch > 0 and (line[ch - 1].isalnum() or line[ch - 1] == "_"):
        return Position(pos.line, ch - 1)
    return None


def finding_covers(rng: Range, pos: Position) -> bool:
    if rng.start == rng.end:
        return pos == rng.start
    return rng.start <= pos < rng.end


def finding_sections(findings: Iterable[Finding]) -> list[str]:
    """Each finding's message and where its rule is documented (not the whole page: the
    user asked about this line, the page is one command or click away)."""
    from ..docs import rule_anchor
    from ..rules import rule_by_code

    out: list[str] = []
    for finding in findings:
        text = f"⚠ **{finding.code}** ({finding.severity.label}): {finding.message}"
        rule = rule_by_code(finding.code)
        if rule is not None:
            text += (
                f"\n\n{rule.summary} Docs: `alembic-env-lsp explain {finding.code}`, "
                f"docs/rules.md#{rule_anchor(finding.code)}."
            )
        out.append(text)
    return out


def assemble(symbol: str | None, findings: list[str]) -> str:
    """One hover: the symbol's title and the facts of this file first, then the findings
    over the position, then the general text about the symbol."""
    head, _, general = (symbol or "").partition(GENERAL)
    parts = [part for part in (head, *findings, general) if part]
    return redact_markdown("\n\n---\n\n".join(parts))


def noqa_hover(source: SourceText, pos: Position) -> tuple[str, Range] | None:
    """Over a code in `# noqa: ENV001`: that rule's docs (as ruff does)."""
    from ..rules import rule_by_code

    line = source.line(pos.line)
    if "#" not in line[: pos.character + 1]:
        return None
    for code, start, end in noqa_codes(line):
        if start <= pos.character < end:
            rule = rule_by_code(code)
            if rule is None:
                return None
            return rule.markdown(), Range.of(pos.line, start, pos.line, end)
    return None


# Separates a hover's file-specific part from its general text; `assemble` puts the
# findings between them.
GENERAL = "\x00general\x00"


def compose(title: str, doc: str | None, lines: list[str]) -> str:
    """Title, then this file's facts as a short list, then (after `GENERAL`) the general doc."""
    parts = [title]
    if lines:
        parts.append("\n".join(f"- {line}" for line in lines))
    text = "\n\n".join(parts)
    return text + GENERAL + doc if doc else text


def symbol_key(qname: str | None) -> str | None:
    """A `SYMBOLS` key for a qualified name, if it is one of the catalog's symbols."""
    if not qname:
        return None
    if qname == N.FILE_CONFIG:
        return "fileConfig"
    if qname == N.CONTEXT:
        return "context"
    if qname == N.CONFIG:
        return "config"
    if qname in ("asyncio.run", "asyncio.runners.run"):
        return "asyncio.run"
    if qname in N.SYNC_FACTORIES or qname in N.ASYNC_FACTORIES:
        return N.short(qname)
    if qname in N.ASYNC_WRAPPERS:
        return "AsyncEngine"
    head, _, last = qname.rpartition(".")
    if head == N.CONFIG and last in CONFIG_MEMBERS:
        return "config." + last
    if head == N.CONTEXT and last in CONTEXT_MEMBERS:
        return "context." + last
    if head.split(".", 1)[0] == "sqlalchemy" and last in SQLALCHEMY_CLASSES:
        return last
    return None


def main_section(project) -> str:
    return getattr(project, "main_section", None) or "alembic"


def path_words(path: str) -> str:
    return {
        "online": "runs in online mode",
        "offline": "runs in offline mode",
        "both": "runs in online and offline mode",
        "none": "never runs (not reached from the module level)",
    }.get(path, path)


def const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def shorten(text: str, limit: int = MAX_SNIPPET) -> str:
    text = " ".join(text.split()).replace("`", "'")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
