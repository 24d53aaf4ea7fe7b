"""Never show a password: mask it in URLs and in any text that may contain URLs.

Masking errs on the side of hiding too much. A password may hold '@', '/', '?' or ':'
unencoded, which no URL parser can split reliably, so the password is taken to run to the
last '@' of the authority and, failing that, to the last '@' at all.
"""

from __future__ import annotations

import re

MASK = "***"

_SCHEME = re.compile(r"[A-Za-z][\w+.-]*://")
# A URL inside free text: starts at a scheme not glued to a preceding word.
_URL_IN_TEXT = re.compile(r"(?<![\w+.-])[A-Za-z][\w+.-]*://\S*")
_USERNAME = re.compile(r"[^:/@?#\s]*:")
# Values that name a secret rather than hold one; showing them helps and leaks nothing.
_PLACEHOLDER = re.compile(r"%\(\w+\)s|\$\{\w+\}|\$\w+|\{\w*\}|\*+")
# Option or key names whose value is a secret (or may hold one): never shown.
# `keys` is excluded: it is the option every logging section of alembic.ini has.
_SECRET_NAME = re.compile(r"(?i)pass|pwd|secret|token|key(?!s$)")
_SECRET_PARAM_NAMES = {"password", "passwd", "pwd", "pass", "sslpassword", "secret"}
# An ODBC-style `PWD=...;` nested inside a parameter value, raw or percent-encoded.
_SECRET_PARAM = re.compile(r"(?i)((?:^|;|%3B)\s*(?:password|passwd|pwd))(=|%3D)(.*?)(?=;|%3B|&|$)")


def password_span(url: str) -> tuple[int, int] | None:
    """Start and end (code points) of the password in `scheme://user:password@...`, or None.

    A placeholder such as `%(DB_PASSWORD)s` or `${DB_PASSWORD}` counts as no password."""
    if not isinstance(url, str):
        return None
    scheme = _SCHEME.match(url.lstrip())
    if scheme is None:
        return None
    rest_start = len(url) - len(url.lstrip()) + scheme.end()
    user = _USERNAME.match(url, rest_start)
    if user is None:
        return None
    start = user.end()
    query = url.find("?", start)
    at = url.rfind("@", start, query) if query != -1 else -1
    if at == -1:
        # No '@' before a '?': the '?' may belong to the password.
        at = url.rfind("@", start)
    if at == -1 or at == start:
        return None
    if _PLACEHOLDER.fullmatch(url[start:at]):
        return None
    return start, at


def is_secret_name(name: str) -> bool:
    """True for an option name such as `db_password`, `api_token`, `secret_key`: hide its value."""
    return bool(_SECRET_NAME.search(name))


def redact_url(url: str) -> str:
    """`postgresql+asyncpg://app:s3cr%40t@db/app` -> `postgresql+asyncpg://app:***@db/app`.

    Secret query parameters (`?password=...`, an ODBC `PWD=...`) are masked too. Anything
    that is not a URL with a secret comes back unchanged."""
    if not isinstance(url, str) or "://" not in url:
        return url
    span = password_span(url)
    if span is not None:
        url = url[: span[0]] + MASK + url[span[1] :]
        query_from = span[0] + len(MASK) + 1
    else:
        query_from = 0
    query = url.find("?", query_from)
    if query == -1:
        return url
    return url[: query + 1] + _redact_query(url[query + 1 :])


def redact_text(text: str) -> str:
    """Mask every URL password (and secret query parameter) inside arbitrary text."""
    if not isinstance(text, str) or "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def _redact_query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        if (
            eq
            and _param_name(name) in _SECRET_PARAM_NAMES
            and value
            and not _PLACEHOLDER.fullmatch(value)
        ):
            parts.append(f"{name}={MASK}")
        elif eq:
            # e.g. odbc_connect=DRIVER%3D...%3BPWD%3Dsecret%3B
            parts.append(
                name + eq + _SECRET_PARAM.sub(lambda m: m.group(1) + m.group(2) + MASK, value)
            )
        else:
            parts.append(part)
    return "&".join(parts)


def _param_name(name: str) -> str:
    from urllib.parse import unquote_plus

    return unquote_plus(name).strip().lower()
