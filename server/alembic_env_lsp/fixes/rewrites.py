"""Whole-file rewrites (libcst: fixes/async_rewrite.py, fixes/sync_rewrite.py) offered as
fixes and run as project conversions.

A quick-fix gets minimal line edits, and only when the result parses and changes something.
A conversion (`fix --async`, "Convert env.py to Async") also brings the URL along: it
re-analyses the rewritten file and switches the driver wherever the URL is written (an
env.py string, alembic.ini, pyproject.toml), and names what only the user can change.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..findings import Fix
from ..redact import redact_text
from ..text import Position, Range, SourceText, TextEdit, apply_edits, diff_edits
from .rewrite_common import RewriteResult
from .url import scheme_edit

if TYPE_CHECKING:
    from ..engine import Analysis
    from ..model.facts import EngineFact, UrlValue

Rewrite = Callable[[str], RewriteResult]


def rewrite_edits(source_text: str, rewrite: Rewrite) -> tuple[TextEdit, ...]:
    """The rewrite as line edits; () when it refuses, changes nothing or would not parse."""
    try:
        result = rewrite(source_text)
    except Exception:
        return ()  # a rewrite bug must not cost the user the diagnostic
    if result.refused or not result.changed or not result.text or result.text == source_text:
        return ()
    if not _parses(result.text):
        return ()
    return diff_edits(source_text, result.text)


def rewrite_fix(source_text: str, rewrite: Rewrite, title: str, *, safe: bool = False) -> Fix:
    """A fix computed only when its edits are read (libcst costs ~30 ms, and importing it ~400 ms)."""
    return Fix(title, safe=safe, compute=lambda: rewrite_edits(source_text, rewrite))


def convert_to_async_fix(source_text: str) -> Fix:
    def convert(text: str) -> RewriteResult:
        from .async_rewrite import convert_to_async

        return convert_to_async(text)

    return rewrite_fix(source_text, convert, "Convert env.py to the async connection pattern")


def repair_fix(source_text: str, code: str, title: str) -> Fix:
    def repair(text: str) -> RewriteResult:
        from .async_repairs import REPAIRS_BY_RULE

        return REPAIRS_BY_RULE[code](text)

    return rewrite_fix(source_text, repair, title)


# --------------------------------------------------------------------------- conversions


@dataclass(frozen=True)
class Conversion:
    """What converting a project's env.py to the async (or sync) pattern changes."""

    refused: str | None  # one sentence naming the line and the manual edit; None when done
    text: str | None  # env.py after the conversion; None when refused
    # env.py edits (path None, minimal line edits) and alembic.ini / pyproject.toml edits (path set)
    edits: tuple[TextEdit, ...] = ()
    changes: int = 0  # places changed: env.py hunks plus edits to other files
    manual: tuple[str, ...] = ()  # what the user must change by hand (URLs masked)

    @property
    def already(self) -> bool:
        """Nothing to do: the file is already in the requested pattern."""
        return self.refused is None and self.changes == 0


def convert_project(analysis: Analysis, *, to: str = "async") -> Conversion:
    """Convert `analysis`'s env.py to the `to` ("async" or "sync") pattern, URL included.

    Pure (writes nothing) and never raises: an internal error comes back as `refused`."""
    try:
        return _convert_project(analysis, to)
    except Exception as error:  # a rewrite bug must not take the CLI or the server down
        return Conversion(redact_text(f"internal error: {type(error).__name__}: {error}"), None)


def _parse_failure(text: str) -> str:
    """Python's own message and line, as the editor shows them."""
    try:
        ast.parse(text.removeprefix("\ufeff"))
    except SyntaxError as error:
        if error.lineno:
            return f"line {error.lineno}: env.py does not parse ({error.msg}); fix the syntax error first"
    except (ValueError, RecursionError, MemoryError):
        pass
    return "env.py does not parse; fix the syntax error first"


def _convert_project(analysis: Analysis, to: str) -> Conversion:
    if to not in ("async", "sync"):
        raise ValueError(f"to must be 'async' or 'sync', not {to!r}")
    original = analysis.source.text
    if not analysis.parsed:
        return Conversion(_parse_failure(original), None)
    from .async_rewrite import convert_to_async
    from .sync_rewrite import convert_to_sync

    if to == "async":
        result = convert_to_async(original, async_driver=_async_driver_hint(analysis))
    else:
        result = convert_to_sync(original)
    if result.refused is not None:
        return Conversion(result.refused, None)
    text = result.text if result.changed and result.text is not None else original
    if not _parses(text):
        return Conversion("internal error: the rewritten file would not parse", None)

    from ..engine import analyze

    after = analyze(text, analysis.path, project=analysis.project)
    env_edits: list[TextEdit] = []
    other_edits: list[TextEdit] = []
    manual: list[str] = []
    if after.facts is not None:
        source = SourceText(text)
        for engine in after.facts.engines:
            if engine.is_async != (to == "async"):
                continue
            edit, note = _url_change(source, engine, to)
            if edit is not None:
                target = env_edits if edit.path is None else other_edits
                if edit not in target:
                    target.append(edit)
            if note is not None and note not in manual:
                manual.append(note)
    if env_edits:
        text = apply_edits(text, env_edits)
    hunks = diff_edits(original, text)
    return Conversion(
        None,
        text,
        (*hunks, *other_edits),
        len(hunks) + len(other_edits),
        tuple(redact_text(m) for m in manual),
    )


def _async_driver_hint(analysis: Analysis) -> str | None:
    """The async driver for an engine built from the application's engine URL: the one for the
    database the project's own URL (alembic.ini, pyproject.toml, env.py) names."""
    from ..drivers import async_alternative, driver_info

    schemes: list[str] = []
    project = analysis.project
    value = project.main_option("sqlalchemy.url") if project is not None else None
    raw = getattr(value, "raw", None)
    if isinstance(raw, str) and "://" in raw:
        schemes.append(raw.split("://", 1)[0])
    if analysis.facts is not None:
        schemes.extend(e.url.scheme for e in analysis.facts.engines if e.url.scheme)
    for scheme in schemes:
        info = driver_info(scheme)
        if info is None or not info.known:
            continue
        if info.async_ok:
            return scheme
        alternative = async_alternative(scheme)
        if alternative:
            return alternative
    return None


def _url_change(
    source: SourceText, engine: EngineFact, to: str
) -> tuple[TextEdit | None, str | None]:
    """The edit switching this engine's URL to a driver of the `to` family, or what to say."""
    from ..drivers import async_alternative, driver_info, sync_alternative

    url = engine.url
    family = "an async" if to == "async" else "a sync"
    where = f"line {engine.call.node.lineno}"
    if url.scheme is None:
        name = _env_name(url)
        if name is not None:
            return None, (
                f"set {name} to a URL with {family} driver "
                f"({_examples(to)}): env.py {where} builds the engine from it"
            )
        return None, (
            f"make sure the URL of the engine at env.py {where} ({url.origin}) names {family} "
            f"driver ({_examples(to)})"
        )
    info = driver_info(url.scheme)
    if info is None or not info.known:
        return None, None
    works = info.async_ok if to == "async" else info.sync_ok
    if works is not False:
        return None, None
    scheme = url.scheme
    new = async_alternative(scheme) if to == "async" else sync_alternative(scheme)
    if new is None:
        return None, (
            f"{url.origin} names '{scheme}', which has no {to[:5]} driver known to SQLAlchemy; "
            f"choose one for the engine at env.py {where}"
        )
    edit = scheme_edit(source, url, new) or _string_scheme_edit(source, url, scheme, new)
    name = _env_name(url) or (url.names[0] if "default of environment" in url.origin else None)
    if edit is not None:
        if name is not None:  # the default is converted; the variable, when set, wins
            return edit, f"when {name} is set, it must name {family} driver too ({new}://)"
        return edit, None
    if name is not None:
        return None, f"set {name} to a {new}:// URL (env.py {where} builds the engine from it)"
    return None, f"change the URL of the engine at env.py {where} ({url.origin}) to {new}://"


def _env_name(url: UrlValue) -> str | None:
    if "environment variable" in url.origin and url.names:
        return url.names[0]
    return None


def _examples(to: str) -> str:
    return (
        "postgresql+asyncpg://, sqlite+aiosqlite://, mysql+aiomysql://"
        if to == "async"
        else "postgresql+psycopg2://, sqlite://, mysql+pymysql://"
    )


def _string_scheme_edit(source: SourceText, url: UrlValue, old: str, new: str) -> TextEdit | None:
    """The scheme in an f-string or a concatenated string env.py builds the URL from, or
    in `url.set(drivername="...")`.

    Only when exactly one string in the file holds it: then it is this one."""
    if url.ini_value is not None:
        return None  # read from alembic.ini: scheme_edit's business
    found: list[TextEdit] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source.text).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    for tok in tokens:
        if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_START", -1):
            text = tok.string if tok.type == tokenize.STRING else tok.line[tok.start[1] :]
        else:
            continue
        body_at = next((i for i, ch in enumerate(text) if ch in "'\""), None)
        if body_at is None:
            continue
        quote = 3 if text[body_at : body_at + 3] in ('"""', "'''") else 1
        start = body_at + quote
        whole = text[start : start + len(old) + quote] == old + text[body_at : body_at + quote]
        if not (text.startswith(old + "://", start) or whole):
            continue  # the URL's scheme, or a drivername="..." naming just the scheme
        line = tok.start[0] - 1
        column = tok.start[1] + start
        found.append(
            TextEdit(
                Range(Position(line, column), Position(line, column + len(old))),
                new,
            )
        )
    return found[0] if len(found) == 1 else None


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True
