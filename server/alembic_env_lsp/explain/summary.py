"""The one-line summary of an env.py shown in the code lens."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..findings import Finding, Severity
from ..model import names as N
from ..model.facts import Confidence, EngineFact, EnvFacts, UrlValue
from ..redact import redact_text, redact_url
from .text import short

if TYPE_CHECKING:
    from ..engine import Analysis


_SEP = " · "


def summary(analysis: Analysis) -> str:
    """One line for a code lens, e.g.
    "async engine · URL from alembic.ini: postgresql+asyncpg://app:***@db/app · logging: fileConfig · offline mode: yes"."""
    try:
        return redact_text(summary_text(analysis))
    except Exception as error:  # a lens must never take the editor down
        return f"env.py (no summary: {type(error).__name__})"


def summary_text(analysis: Analysis) -> str:
    facts = analysis.facts
    if facts is None:
        problem = syntax_problem(analysis)
        return f"does not parse: {problem}" if problem else "does not parse"
    if not is_env_script(facts):
        return "not an Alembic env script (does not use alembic.context)"
    parts = []
    engines = online_engines(facts)
    if engines:
        kinds = [_engine_kind_words(e) for e in engines]
        if len(engines) == 1:
            parts.append(kinds[0])
        else:
            parts.append(f"{len(engines)} engines ({', '.join(kinds)})")
        parts.append(_url_words(engines[0].url))
    else:
        parts.append(no_engine_words(facts))
    parts.append("logging: " + logging_words(facts))
    parts.append("offline mode: " + ("yes" if facts.dispatch is not None else "no"))
    problems = _problem_words(analysis.findings)
    if problems:
        parts.append(problems)
    return _SEP.join(parts)


def syntax_problem(analysis: Analysis) -> str | None:
    finding = next((f for f in analysis.findings if f.code == "ENV000"), None)
    if finding is None:
        return None
    return f"{finding.message} (line {finding.range.start.line + 1})"


def is_env_script(facts: EnvFacts) -> bool:
    return facts.imports_alembic_context or bool(facts.configures)


def online_engines(facts: EnvFacts) -> list[EngineFact]:
    online = [e for e in facts.engines if facts.path_of(e.call) in ("online", "both")]
    return online or list(facts.engines)


def _engine_kind_words(engine: EngineFact) -> str:
    if engine.wrapped is not None:
        return "async engine (AsyncEngine wrapper)"
    return "async engine" if engine.is_async else "sync engine"


def _url_words(url: UrlValue) -> str:
    env_default = url.confidence is Confidence.DEFAULT and "environment variable" in url.origin
    if len(url.alternatives) > 1 and not env_default:  # one value per path: not the first alone
        sources: list[str] = []
        for alternative in url.alternatives:
            words = _one_url_words(alternative).removeprefix("URL from ").removeprefix("URL: ")
            if words.startswith("not known statically (") and words.endswith(")"):
                words = words[len("not known statically (") : -1]
            if alternative.none:
                words = "None"
            if words not in sources:
                sources.append(words)
        shown = " or ".join(sources[:3]) + (" or …" if len(sources) > 3 else "")
        return f"URL by path ({len(url.alternatives)} paths): {shown}"
    return _one_url_words(url)


def _one_url_words(url: UrlValue) -> str:
    if url.text and url.scheme:
        shown = redact_url(url.text)
        if url.ini_value is not None and url.ini_path:
            return f"URL from {Path(url.ini_path).name}: {shown}"
        if url.confidence is Confidence.DEFAULT:
            env = re.search(r"environment variable (\w+)", url.origin)
            source = f"env var {env.group(1)}, default" if env else "a default"
            return f"URL from {source}: {shown}"
        return f"URL from env.py: {shown}"
    env = re.search(r"environment variable (\w+)", url.origin)
    if env:
        return f"URL from env var {env.group(1)}"
    return f"URL: not known statically ({short(url.origin, 50)})"


def no_engine_words(facts: EnvFacts) -> str:
    online = [c for c in facts.configures if c.mode == "online"]
    for configure in online:
        connection = configure.keyword("connection")
        if connection is not None and "attributes" in ast.dump(connection):
            return "no engine (connection from config.attributes)"
    if online:
        return "no engine (connection from elsewhere)"
    return "no engine"


def logging_words(facts: EnvFacts) -> str:
    for qname, word in (
        (N.FILE_CONFIG, "fileConfig"),
        ("logging.config.dictConfig", "dictConfig"),
        ("logging.basicConfig", "basicConfig"),
    ):
        if facts.calls_named(qname):
            return word
    for call in facts.calls:
        name = call.attr or (call.node.func.id if isinstance(call.node.func, ast.Name) else "")
        if name and re.search(r"(setup|configure|init)_?(logging|logger)", name, re.IGNORECASE):
            return f"{name}()"
    return "none"


def _problem_words(findings: list[Finding]) -> str:
    serious = [f for f in findings if f.severity <= Severity.WARNING]
    if not serious:
        return ""
    errors = sum(1 for f in serious if f.severity is Severity.ERROR)
    warnings = len(serious) - errors
    counts = []
    if errors:
        counts.append(f"{errors} error{'s' if errors > 1 else ''}")
    if warnings:
        counts.append(f"{warnings} warning{'s' if warnings > 1 else ''}")
    codes = sorted({f.code for f in serious})
    return f"⚠ {', '.join(counts)} ({', '.join(codes)})"
