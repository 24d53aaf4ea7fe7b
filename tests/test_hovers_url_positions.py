"""No hover on a URL position is empty: over every Python fixture of the repository, each
token named like a URL (`url`, `dsn`, `DATABASE_URL`, `getenv`, `environ`, a key such as
"sqlalchemy.url"...) gets a hover that says what it is, and none shows a password."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.hovers import hover_at
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.text import Position

FIXTURES = Path(__file__).resolve().parent / "fixtures"
URL_NAMED = re.compile(r"(?i)url|dsn|getenv|environ|uri")
# a string token that is only a key or a variable's name: "sqlalchemy.url", 'DATABASE_URL'
PASSWORD = re.compile(r"://[^/\s`:@]*:([^@/\s`]+)@")
KEY = re.compile(r"[rbuRBU]?(['\"])([\w.]+)\1")


def url_tokens(text: str) -> list[tuple[int, int, str]]:
    """(1-based line, column, token) of each URL-named name or key string."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.NAME and URL_NAMED.search(token.string):
            found.append((*token.start, token.string))
        elif token.type == tokenize.STRING:
            match = KEY.fullmatch(token.string)
            if match and URL_NAMED.search(match.group(2)):
                found.append((*token.start, token.string))
    return found


FILES = sorted(FIXTURES.rglob("*.py"))


def _tokens_or_none(text: str) -> list[tuple[int, int, str]] | None:
    try:
        return url_tokens(text)
    except (tokenize.TokenError, SyntaxError):
        return None


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_every_url_named_token_has_a_hover(path, monkeypatch):
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    text = path.read_text(encoding="utf-8")
    tokens = _tokens_or_none(text)
    analysis = analyze(text, str(path), project=ProjectIndex().context_for(path))
    if tokens is None or analysis.facts is None:
        pytest.skip("does not parse: no hover is promised")
    empty = []
    for line, column, word in tokens:
        result = hover_at(analysis, Position(line - 1, column + 1))
        if result is None or not result.markdown.strip():
            empty.append(f"{line}:{column} {word}")
            continue
        for password in PASSWORD.findall(result.markdown):
            # masked, or a placeholder filled in at run time (`%(DB_PASS)s`, `{password}`)
            assert password == "***" or password.startswith(("%(", "{", "$", "…")), (
                f"{line}:{column} {word} shows a password"
            )
    assert empty == []


def test_the_sweep_covers_the_shapes_of_issue_15():
    """The fixture set holds the URL positions the review found empty: an if-test receiver,
    a key of a subscript and of a dict, `os.environ[...]`, a variable tested `in os.environ`,
    an import, a parameter."""
    texts = "\n".join(p.read_text(encoding="utf-8") for p in FILES)
    for shape in (
        r"if url\.startswith\(",
        r"\w+\[\"sqlalchemy\.url\"\] = ",
        r"\{\s*\"sqlalchemy\.url\":",
        r"os\.environ\[\"\w*URL\"\]",
        r"\"\w+\" in os\.environ",
        r"import .*make_url",
        r"def \w+\(url\)",
    ):
        assert re.search(shape, texts), shape


def fixture(name: str):
    path = FIXTURES / "hover" / name / "env.py"
    text = path.read_text(encoding="utf-8")
    return analyze(text, str(path), project=ProjectIndex().context_for(path))


def hover_md(analysis, line: int, needle: str, nth: int = 0) -> str:
    """The hover on the nth `needle` of 1-based `line`, without the general text."""
    text = analysis.source.text.splitlines()[line - 1]
    column = -1
    for _ in range(nth + 1):
        column = text.index(needle, column + 1)
    result = hover_at(analysis, Position(line - 1, column + 1))
    assert result is not None, f"no hover on {needle!r} at line {line}"
    return result.markdown.split("\n\n---\n\n")[0]


def test_url_positions_say_what_each_token_is():
    analysis = fixture("url_positions")
    # a URL variable as the receiver of a method in an if-test, inside `if url:`
    md = hover_md(analysis, 15, "url")
    assert md.startswith(
        "**URL** `url`\n\nResult: known only at run time (environment variable DATABASE_URL)"
    )
    assert "`None`" not in md.split("How it is built")[0]  # `if url:` holds there
    assert "- `engine_from_config` (line 42): its driver cannot be checked before run time" in md
    # before the test, `None` is one of its values, and no reader gets it
    md = hover_md(analysis, 13, "url")
    assert "- when DATABASE_URL is not set: `None`\n" in md + "\n"
    # an environment variable tested with `in os.environ`, then read: it reaches the engine
    md = hover_md(analysis, 18, "LEGACY_DATABASE_URL")
    assert md == (
        "**Environment variable** `LEGACY_DATABASE_URL`\n\n"
        "- Line 18: tests whether `LEGACY_DATABASE_URL` is set.\n- Also read at line 19."
    )
    assert hover_md(analysis, 18, "environ") == md
    # a variable that is not a URL says so
    md = hover_md(analysis, 12, "getenv")
    assert md.startswith("**Environment variable** `APP_ENV`")
    assert (
        "Not a URL: no engine or `context.configure(url=...)` in this file is seen reading it."
        in md
    )
    # `os.environ["..."]`: the variable it reads, from its name or from `environ`
    md = hover_md(analysis, 19, "LEGACY_DATABASE_URL")
    assert md.startswith('**URL** `os.environ["LEGACY_DATABASE_URL"]`')
    assert hover_md(analysis, 19, "environ") == md
    # a settings attribute
    md = hover_md(analysis, 21, "DATABASE_URL")
    assert md.startswith("**URL** `settings.DATABASE_URL`")


def test_url_keys_tell_the_story_of_the_value_stored_under_them():
    analysis = fixture("url_positions")
    # every branch overrides sqlalchemy.url: the ini value is never the one the engine gets
    md = hover_md(analysis, 41, '"sqlalchemy.url"')
    assert md.startswith('**URL** `configuration["sqlalchemy.url"]`')
    assert "- `engine_from_config` (line 42): its driver cannot be checked before run time" in md
    assert "alembic.ini [alembic]" not in md.split("How it is built")[0]
    assert "✓" not in md
    md = hover_md(analysis, 29, '"url"')
    assert md.startswith('**URL** `kwargs["url"]`')
    assert "- offline `context.configure(url=...)` (line 30): no driver is loaded" in md
    md = hover_md(analysis, 24, '"sqlalchemy.url"')
    assert md.startswith("**URL** `[section] sqlalchemy.url`")
    assert (
        "`set_section_option` sets `sqlalchemy.url` of the ini section named by `section` (one per "
        "section, at run time)" in md
    )
    assert '`section`: the loop variable of line 23 (`for ... in ("reports",)`)' in md
    md = hover_md(analysis, 36, '"sqlalchemy.url"')
    assert md.startswith("**URL** `'sqlalchemy.url': db_url`")


def test_imports_parameters_and_engine_urls_say_what_they_are():
    analysis = fixture("url_positions")
    assert hover_md(analysis, 2, "urllib") == (
        "**`urllib.parse`** · module\n\n- Imports `unquote` from `urllib.parse`."
    )
    assert hover_md(analysis, 5, "make_url") == (
        "**`make_url`** · import\n\n- Imports `make_url` from `sqlalchemy`; used at line 41."
    )
    assert hover_md(analysis, 35, "db_url") == (
        "**`db_url`** · parameter\n\n- A parameter of `engine_options`: its value comes from the "
        "caller.\n- Calls in env.py: line 47 passes `url`."
    )
    md = hover_md(analysis, 47, "url", nth=0)
    assert md.startswith("**`connectable.url`** · the engine's URL")
    assert "The `URL` `connectable` was built with (line 42)" in md


def test_values_with_the_same_verdict_are_one_outcome_under_one_condition():
    """12 paths through `or`, `if not url:` and two independent `if "+x" in url:` end in two
    outcomes: the URL built from parts (it works) and an environment variable's value."""
    analysis = fixture("url_grouped")
    md = hover_md(analysis, 26, "engine_from_config")
    assert "- The URL depends on the path (12 paths, 2 outcomes):\n" in md
    lines = md.splitlines()
    outcomes = [line for line in lines if line.startswith("  - ")]
    assert len(outcomes) == 2
    assert outcomes[0].startswith(
        "  - when not url: `postgresql://` (f-string in env.py) — ✓ Works"
    )
    assert (
        "known only at run time (environment variable DATABASE_URL or environment variable TEST_DB_URL)"
        in outcomes[1]
    )
    md = hover_md(analysis, 27, '"sqlalchemy.url"')
    assert "12 paths at run time, 2 outcomes:" in md
    assert "\n- when not url: `postgresql://" in md
    assert "devpass" not in md


def test_a_helper_with_several_returns_gets_a_verdict_per_path_everywhere():
    """MerCury's get_url() pattern (flow fixture): an env var, a pytest scratch file, the app's
    settings or, when that raises, the ini URL. Engine hover, URL hover and diagram give each
    path its condition and verdict; none says a single unhedged "✓ Works"."""
    from alembic_env_lsp.explain import explain_markdown, summary

    path = FIXTURES / "flow" / "url_from_helper_returns" / "env.py"
    text = path.read_text(encoding="utf-8")
    analysis = analyze(text, str(path), project=ProjectIndex().context_for(path))
    md = hover_md(analysis, 37, "create_engine")
    assert "- The URL depends on the path (4 paths, 3 outcomes):" in md
    sqlite, asyncpg = (
        '  - when not (os.getenv("INVENTORY_DB")) and "pytest" in sys.modules: `sqlite:///` '
        "(f-string in env.py) — ✓ Works: a sync engine loads `SQLiteDialect_pysqlite`",
        '  - when not (os.getenv("INVENTORY_DB")) and not ("pytest" in sys.modules) and the '
        "'try' at line 23 raised AttributeError: `postgresql+asyncpg://inventory@db/inventory` "
        "(alembic.ini [alembic] sqlalchemy.url (line 3)) — ✗ Fails at the first connection",
    )
    assert sqlite in md and asyncpg in md
    assert (
        "known only at run time (environment variable INVENTORY_DB or settings.DATABASE_URL)" in md
    )
    assert "`None`" not in md  # `if os.getenv(...): return os.getenv(...)` is never None
    for line in md.splitlines():
        if "✓ Works" in line or "✗ Fails" in line:
            assert line.startswith("  - when "), line
    md = hover_md(analysis, 30, "url")
    assert "4 paths at run time, 3 outcomes:" in md
    assert "- offline `context.configure(url=...)` (line 31): no driver is loaded" in md
    keyword = hover_md(analysis, 31, "url")
    assert (
        "It differs by path (4 paths; hover the value for each" in keyword
        and "Resolves to" not in keyword
    )
    diagram = explain_markdown(analysis)
    engine = next(
        line for line in diagram.splitlines() if "create_engine#40;#41; · line 37" in line
    )
    assert "sys.modules: driver pysqlite: works<br/>" in engine
    assert "sys.mo…: driver asyncpg is async-only: MissingGreenlet at connect<br/>" in engine
    data = sorted(
        line.count("<br/>") + 1
        for line in diagram.splitlines()
        if '[("' in line and "sqlite:///" in line
    )
    assert data == [3, 4]  # the engine's URL: 3 outcomes; the offline URL: its 4 values
    assert (
        "sync engine · URL by path (4 paths): env var INVENTORY_DB or env.py: sqlite:/// or "
        in (summary(analysis))
    )


def test_ini_placeholders_filled_by_set_section_option_are_not_an_error(tmp_path):
    """`%(DB_USER)s` in sqlalchemy.url, set by `config.set_section_option(section, "DB_USER",
    ...)` before the read: the URL's scheme is known and nothing raises."""
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s\n"
        "sqlalchemy.url = postgresql+asyncpg://%(DB_USER)s:%(DB_PASS)s@db/app\n",
        encoding="utf-8",
    )
    text = (
        "import os\nfrom alembic import context\n\nconfig = context.config\n"
        "section = config.config_ini_section\n"
        'config.set_section_option(section, "DB_USER", os.environ["DB_USER"])\n'
        'config.set_section_option(section, "DB_PASS", os.environ["DB_PASS"])\n\n\n'
        "def run_migrations_offline():\n"
        '    url = config.get_main_option("sqlalchemy.url")\n'
        "    context.configure(url=url, literal_binds=True)\n"
    )
    (tmp_path / "env.py").write_text(text, encoding="utf-8")
    analysis = analyze(
        text, str(tmp_path / "env.py"), project=ProjectIndex().context_for(tmp_path / "env.py")
    )
    md = hover_md(analysis, 11, "url")
    assert md.startswith(
        "**URL** `url`\n\nResult: `postgresql+asyncpg://%(DB_USER)s:%(DB_PASS)s@db/app` (alembic.ini "
        "[alembic] sqlalchemy.url, its %(...)s filled in by set_section_option)"
    )
    assert "its `%(...)s` filled in by `set_section_option` (line 6, 7)" in md
    assert "raises" not in md
