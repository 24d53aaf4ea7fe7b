"""Edits to a URL's scheme where the URL is written: an env.py string or alembic.ini."""

from __future__ import annotations

from ..findings import Finding, Fix, Severity
from ..model.facts import UrlValue
from ..redact import redact_url
from ..text import Position, Range, SourceText, TextEdit


def scheme_edit(source: SourceText, url: UrlValue, new_scheme: str) -> TextEdit | None:
    """Replace the scheme in the literal that holds it; None when it is not written literally."""
    old = url.scheme
    if old is None:
        return None
    if url.literal is not None:
        rng = source.node_range(url.literal)
        written = source.slice(rng)
        index = written.find(old + "://")
        if index == -1:
            return None  # escapes or implicit concatenation: leave it to the user
        start = source.position_at(source.offset(rng.start) + index)
        end = source.position_at(source.offset(rng.start) + index + len(old))
        if start.line != end.line:
            return None
        return TextEdit(Range(start, end), new_scheme)
    ini_value = url.ini_value
    if ini_value is not None and url.ini_path:
        raw = ini_value.raw
        if not raw.startswith(old + "://"):
            return None  # built by interpolation: edit it by hand
        start = ini_value.value_range.start
        return TextEdit(
            Range(start, Position(start.line, start.character + len(old))),
            new_scheme,
            path=url.ini_path,
        )
    return None


def scheme_fix(
    source: SourceText, url: UrlValue, new_scheme: str, title: str, *, safe: bool
) -> Fix | None:
    edit = scheme_edit(source, url, new_scheme)
    return Fix(title, (edit,), safe=safe) if edit else None


def ini_related(
    url: UrlValue, code: str, message: str, severity: Severity, fixes: tuple[Fix, ...]
) -> tuple[Finding, ...]:
    """The same finding shown on the ini line the URL is read from."""
    if url.ini_value is None or not url.ini_path:
        return ()
    line_range = url.ini_value.value_range
    return (Finding(code, message, severity, line_range, path=url.ini_path, fixes=fixes),)


def shown(url: UrlValue) -> str:
    return redact_url(url.text) if url.text else "?"
