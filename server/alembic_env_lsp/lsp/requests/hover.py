"""textDocument/hover: hovers/ answers (symbol facts, rule docs over a finding), converted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ...redact import redact_text
from ...text import Position
from .. import convert
from ..documents import ENV, INI, Document

if TYPE_CHECKING:
    from ..session import Session


async def hover(session: Session, uri: str, position: Any) -> Any:
    # imported here, not at startup: the server starts without the engine (warm-up loads it)
    from ... import hovers

    kind = session.kind(uri)
    if kind == ENV:
        env = await session.env_snapshot(uri)
        if env is None or not env.result.enabled or env.result.analysis is None:
            return None
        pos = env.codec.from_client(env.doc, position)
        if pos is None:
            return None
        analysis = env.result.analysis
        findings = [analysis.findings[i] for i in env.result.env_indexes]
        return _answer(
            session, env.doc, env.codec, findings, pos, lambda at: hovers.hover_at(analysis, at)
        )
    if kind == INI:
        ini = await session.ini_snapshot(uri)
        if ini is None or ini.doc.path is None or not ini.is_alembic_config:
            return None
        pos = ini.codec.from_client(ini.doc, position)
        if pos is None:
            return None
        path, text, analysis = ini.doc.path, ini.doc.text, ini.reading
        project = getattr(analysis, "project", None)
        findings = [item.finding for _, item in ini.items]
        return _answer(
            session,
            ini.doc,
            ini.codec,
            findings,
            pos,
            lambda at: hovers.hover_ini(project, path, text, at, analysis=analysis),
        )
    return None


def _answer(
    session: Session,
    doc: Document,
    codec: convert.Codec,
    findings: Sequence[Any],
    pos: Position,
    symbol: Callable[[Position], Any],
) -> Any:
    try:
        answer = symbol(pos)
    except Exception as error:  # a hover bug must not cost the rule docs: fall back to them
        session.log_once("error", redact_text(f"hover failed: {type(error).__name__}: {error}"))
        return _rule_docs_under(doc, codec, findings, pos)
    if answer is None:
        return None
    return convert.hover(answer.markdown, doc, codec, answer.range)


def _rule_docs_under(
    doc: Document, codec: convert.Codec, findings: Sequence[Any], pos: Position
) -> Any:
    codes: list[str] = []
    rng = None
    for finding in findings:
        if finding.range.contains(pos) and finding.code not in codes:
            codes.append(finding.code)
            rng = rng or finding.range
    if not codes:
        return None
    return convert.hover("\n\n---\n\n".join(_rule_docs(code) for code in codes), doc, codec, rng)


def _rule_docs(code: str) -> str:
    from ...rules import rule_by_code

    rule = rule_by_code(code)
    if rule is None:
        return f"**{code}**"
    return f"{rule.markdown()}\n\n[{code} in the rule reference]({convert.rule_href(code)})"
