"""What the facts layer decides, pinned by what a user sees (diagnostic range and message,
hover text): behaviour mutation testing (scripts/mutate.py) changed without a test noticing."""

from __future__ import annotations

from importlib.resources import files

from alembic_env_lsp.engine import analyze
from alembic_env_lsp.hovers import hover_at, hover_ini
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.rules import _snippets as s
from alembic_env_lsp.text import Position, Range


def findings(text: str, code: str):
    analysis = analyze(text, "env.py")
    assert not analysis.internal_errors, analysis.internal_errors
    return [
        (analysis.source.slice(f.range), f.range.start.line, f.message)
        for f in analysis.findings
        if f.code == code
    ]


def test_a_url_derived_with_set_is_still_a_url():
    """`make_url(...).set(drivername=...)` is a URL: str() of it masks the password (ENV014)."""
    text = (
        "from alembic import context\n"
        "from sqlalchemy import create_engine, make_url\n\n"
        "config = context.config\n"
        'url = make_url(config.get_main_option("sqlalchemy.url")).set(drivername="postgresql+psycopg")\n'
        "engine = create_engine(str(url))\n"
    )
    [(span, line, message)] = findings(text, "ENV014")
    assert (span, line) == ("str(url)", 5)
    assert message.startswith("str(URL) renders the password as '***' in SQLAlchemy 2.x")


INI_WITH_LOGGING = (
    "[alembic]\nscript_location = .\nsqlalchemy.url = sqlite:///app.db\n" + s.INI_LOGGING
)


def test_the_first_call_in_the_file_is_the_first_one_named(tmp_path):
    """Calls inside a function body are found after the module's, but facts list them in
    source order: the ini hover names the first fileConfig() of the file."""
    env = (
        "from logging.config import fileConfig\n\n"
        "from alembic import context\n\n"
        "config = context.config\n\n\n"
        "def setup_logging():\n"
        "    fileConfig(config.config_file_name)\n\n\n"
        "if config.config_file_name is not None:\n"
        "    fileConfig(config.config_file_name, disable_existing_loggers=False)\n"
    )
    (tmp_path / "env.py").write_text(env, encoding="utf-8")
    (tmp_path / "alembic.ini").write_text(INI_WITH_LOGGING, encoding="utf-8")
    ini_path = tmp_path / "alembic.ini"
    project = ProjectIndex().context_for(tmp_path / "env.py")
    line = INI_WITH_LOGGING.splitlines().index("[loggers]")
    result = hover_ini(project, str(ini_path), INI_WITH_LOGGING, Position(line, 2))
    assert result is not None
    assert "`env.py` line 9 calls `fileConfig`, which applies these sections." in result.markdown


def test_isinstance_narrows_a_possibly_none_url():
    """Under `if isinstance(url, str):` the URL cannot be None: one value in the hover."""
    hovers = {}
    for guard in ("if True:", "if isinstance(url, str):"):
        text = (
            "import os\n\nfrom alembic import context\nfrom sqlalchemy import create_engine\n\n"
            f'url = os.environ.get("DATABASE_URL")\n{guard}\n    engine = create_engine(url)\n'
        )
        result = hover_at(analyze(text, "env.py"), Position(7, 28))  # on `url` in the call
        assert result is not None
        hovers[guard] = result.markdown
    assert "when DATABASE_URL is not set: `None`" in hovers["if True:"]
    narrowed = hovers["if isinstance(url, str):"]
    assert "Result: known only at run time (environment variable DATABASE_URL)" in narrowed
    assert "is not set: `None`" not in narrowed


def test_a_file_too_deeply_nested_to_parse_is_one_error_at_its_start():
    analysis = analyze("x = " + "-" * 200_000 + "1\n", "env.py")
    [finding] = analysis.findings
    assert finding.code == "ENV000"
    assert finding.range == Range(Position(0, 0), Position(0, 0))
    # CPython gives up with a MemoryError that has no message: the reason is ours
    assert finding.message == "Cannot parse: source is nested too deeply"


def engine_hover(text: str, line: int, factory: str = "create_") -> str:
    analysis = analyze(text, "env.py")
    result = hover_at(analysis, Position(line, text.splitlines()[line].index(factory) + 2))
    assert result is not None
    return result.markdown


def test_the_default_of_get_main_option_is_the_url_when_there_is_no_ini():
    text = (
        "from alembic import context\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
        "config = context.config\n"
        "engine = create_async_engine(\n"
        '    config.get_main_option("sqlalchemy.url", "postgresql://app@db/app")\n'
        ")\n"
    )
    hover = engine_hover(text, 4)
    assert "URL `postgresql://app@db/app` from string literal in env.py" in hover
    assert "only a default" in hover


def test_a_url_returned_through_eight_helper_functions_is_followed():
    helpers = "".join(f"def url{i}():\n    return url{i + 1}()\n\n\n" for i in range(8))
    text = (
        "from sqlalchemy import create_engine\n\n\n"
        f'{helpers}def url8():\n    return "postgresql+psycopg2://app@db/app"\n\n\n'
        "engine = create_engine(url0())\n"
    )
    hover = engine_hover(text, text.count("\n") - 1)
    assert "URL `postgresql+psycopg2://app@db/app`" in hover


def test_the_offline_dispatch_decides_which_mode_a_function_runs_in():
    text = (files("alembic") / "templates" / "generic" / "env.py").read_text(encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines()) if "engine_from_config(" in s)
    assert "; runs in online mode." in engine_hover(text, line, "engine_from_config")


def test_a_url_passed_by_keyword_is_the_engines_url():
    text = (
        "from alembic import context\nfrom sqlalchemy import create_engine\n\n"
        'engine = create_engine(url="postgresql+asyncpg://u@h/db")\n'
    )
    analysis = analyze(text, "env.py")
    [finding] = [f for f in analysis.findings if f.code == "ENV002"]
    assert analysis.source.slice(finding.range) == '"postgresql+asyncpg://u@h/db"'
    assert finding.message.startswith("Sync engine with async-only driver 'asyncpg'")


def test_a_dispatch_inside_a_helper_runs_both_functions_either_way():
    text = (
        "from alembic import context\n\n\n"
        "def run_migrations_offline():\n    context.configure(url='sqlite://')\n\n\n"
        "def run_migrations_online():\n    context.configure(connection=None)\n\n\n"
        "def main():\n"
        "    if context.is_offline_mode():\n        run_migrations_offline()\n"
        "    else:\n        run_migrations_online()\n\n\n"
        "main()\n"
    )
    analysis = analyze(text, "env.py")
    hover = hover_at(analysis, Position(7, 6))  # on `def run_migrations_online`
    assert hover is not None
    assert "**`run_migrations_online`** · local `def` (line 8)" in hover.markdown
    assert "Runs in online and offline mode." in hover.markdown


def test_a_url_rebuilt_with_str_and_make_url_through_helpers_is_followed():
    helpers = "".join(
        f"def url{i}():\n    return str(make_url(url{i + 1}()))\n\n\n" for i in range(4)
    )
    text = (
        "from sqlalchemy import create_engine, make_url\n\n\n"
        f'{helpers}def url4():\n    return "postgresql+psycopg2://app@db/app"\n\n\n'
        "engine = create_engine(url0())\n"
    )
    hover = engine_hover(text, text.count("\n") - 1)
    assert "URL `postgresql+psycopg2://app@db/app`" in hover
