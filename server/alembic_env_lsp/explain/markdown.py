"""`explain_markdown`: the title, summary, intro, Mermaid diagram and findings of one env.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..hovers import redact_markdown
from ..model import names as N
from ..model.facts import EnvFacts, UrlValue
from ..redact import redact_url
from .graph import Builder
from .mermaid import render_mermaid
from .summary import (
    is_env_script,
    logging_words,
    no_engine_words,
    online_engines,
    summary_text,
    syntax_problem,
)
from .text import md

if TYPE_CHECKING:
    from ..engine import Analysis


def explain_markdown(analysis: Analysis) -> str:
    """The flow of this env.py as Markdown: intro, Mermaid diagram, findings."""
    try:
        text = _explain(analysis)
    except Exception as error:  # never an exception for a strange file
        text = (
            f"# {_title(analysis)}\n\nThe flow of this file could not be drawn ({type(error).__name__}).\n\n"
            + _findings_markdown(analysis)
        )
    return _redact(text)


def _redact(markdown: str) -> str:
    """Mask passwords outside the Mermaid block; inside it every label was masked before
    it was escaped (a pass over the escaped text could eat a label's closing quote)."""
    parts = re.split(r"(```mermaid\n.*?\n```)", markdown, flags=re.S)
    return "".join(
        part if part.startswith("```mermaid\n") else redact_markdown(part) for part in parts
    )


def _title(analysis: Analysis) -> str:
    name = Path(analysis.path).name if analysis.path else "env.py"
    return f"What `{name}` does"


def _explain(analysis: Analysis) -> str:
    facts = analysis.facts
    title = f"# {_title(analysis)}"
    if facts is None:
        problem = syntax_problem(analysis) or "a syntax error"
        return (
            f"{title}\n\nThis file does not parse ({problem}), so Alembic would stop with a `SyntaxError` "
            f"before running any migration, and its flow cannot be shown. Fix the syntax error first.\n\n"
            + _findings_markdown(analysis)
        )
    if not is_env_script(facts):
        return (
            f"{title}\n\nThis file does not use `alembic.context`, so it is not an Alembic env script: Alembic "
            f"runs `env.py` from the `script_location` folder and expects it to call `context.configure()` and "
            f"`context.run_migrations()`.\n\n" + _findings_markdown(analysis)
        )
    flow = Builder(analysis).build()
    parts = [
        title,
        f"**Summary:** {summary_text(analysis)}",
        _intro(analysis, facts),
        "```mermaid\n" + render_mermaid(flow) + "\n```",
        "Dashed red links and ⚠ lines mark where the flow breaks (errors and warnings), each with its "
        "diagnostic code; ℹ lines are informational.",
        _findings_markdown(analysis),
    ]
    return "\n\n".join(p for p in parts if p)


def _intro(analysis: Analysis, facts: EnvFacts) -> str:
    sentences = ["Alembic imports this file for every command."]
    engines = online_engines(facts)
    if engines:
        engine = engines[0]
        kind = "an `AsyncEngine`" if engine.is_async else "a synchronous `Engine`"
        url = engine.url
        where = f"the URL {_url_phrase(url)}"
        sentences.append(f"Online, it builds {kind} with `{engine.factory}()` from {where}.")
        if engine.is_async:
            run_sync = [c for c in facts.calls if c.attr == "run_sync"]
            if run_sync:
                sentences.append(
                    "It connects with `async with` and hands Alembic a synchronous connection through `run_sync()`, "
                    "inside a coroutine that `asyncio.run()` drives."
                    if any(c.qname in N.RUNNERS for c in facts.calls)
                    else "It hands Alembic a synchronous connection through `run_sync()`."
                )
        else:
            sentences.append(
                "It opens a connection and passes it to `context.configure(connection=...)`."
            )
    else:
        sentences.append(f"It builds no engine itself: {no_engine_words(facts)}.")
    if facts.dispatch is not None:
        sentences.append(
            "With `--sql` (offline mode) it only configures a URL and writes the SQL instead of running it."
        )
    else:
        sentences.append("It has no offline branch, so `--sql` runs the online code.")
    logging = logging_words(facts)
    sentences.append(
        "Logging is set up with `fileConfig` from the ini file."
        if logging == "fileConfig"
        else f"Logging is set up with `{logging}`."
        if logging != "none"
        else "It sets up no logging, so Alembic's progress lines are not printed."
    )
    return " ".join(sentences)


def _url_phrase(url: UrlValue) -> str:
    if url.text and url.scheme:
        return f"`{md(redact_url(url.text))}` ({md(url.origin)})"
    return f"in {md(url.origin)} (not known statically)"


def _findings_markdown(analysis: Analysis) -> str:
    findings = analysis.findings
    if not findings:
        return "## Findings\n\nNo findings."
    lines = ["## Findings", ""]
    for finding in findings:
        where = f"line {finding.range.start.line + 1}"
        if finding.path is not None:
            where = f"{Path(finding.path).name} {where}"
        also = ""
        if finding.related:
            other = finding.related[0]
            if other.path:
                also = f" (also on {Path(other.path).name} line {other.range.start.line + 1})"
        lines.append(
            f"- **{finding.code}** ({finding.severity.label}), {where}{also}: {md(finding.message)}"
        )
    return "\n".join(lines)
