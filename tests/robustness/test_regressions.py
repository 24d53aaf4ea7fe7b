"""Bugs the property tests found, pinned as plain examples."""

import ast

from alembic_env_lsp.engine import analyze
from alembic_env_lsp.text import apply_edits
from support.robustness import FIXTURES, python_comments, template_env, template_ini


def _only_fix(text, code):
    analysis = analyze(text, "env.py")
    [fix] = [fix for f in analysis.findings if f.code == code for fix in f.fixes]
    return apply_edits(text, fix.edits)


RUN_SYNC = """from alembic import context


async def run(connection, target_metadata):
    await connection.run_sync(
        context.configure,
{args}
    )
"""


def test_env006_fix_keeps_the_comment_on_the_removed_argument():
    text = RUN_SYNC.format(
        args="        connection=connection,  # already passed by run_sync\n        target_metadata=target_metadata,"
    )
    fixed = _only_fix(text, "ENV006")
    ast.parse(fixed)
    assert "connection=connection" not in fixed
    assert python_comments(fixed) == python_comments(text)


def test_env006_fix_keeps_the_comment_of_the_argument_before_it():
    text = RUN_SYNC.format(
        args="        target_metadata=target_metadata,  # md\n        connection=connection,"
    )
    fixed = _only_fix(text, "ENV006")
    ast.parse(fixed)
    assert "connection=connection" not in fixed
    assert "        target_metadata=target_metadata,  # md\n    )" in fixed


def test_env022_fix_is_not_offered_again_when_file_config_comes_from_elsewhere():
    # The fix calls the fileConfig the file already has; it must not fire (and add it) again.
    text = template_env("generic").replace(
        "from logging.config import fileConfig", "from mylogging import fileConfig"
    )
    text = text.replace(
        "if config.config_file_name is not None:\n    fileConfig(config.config_file_name)\n", ""
    )
    once = _only_fix(text, "ENV022")
    assert [f.code for f in analyze(once, "env.py").findings if f.code == "ENV022"] == []


def _rewrites():
    from support.robustness import rewrite_functions

    return rewrite_functions().items()


def test_rewrites_refuse_too_deep_nesting_instead_of_raising():
    text = template_env("generic") + "\nx = " + "+".join(["1"] * 3000) + "\n"
    for name, function in _rewrites():
        result = function(text)
        assert result.refused and "nested too deeply" in result.refused, name


def test_rewrites_refuse_layouts_libcst_cannot_write_back():
    lines = template_env("generic").splitlines(keepends=True)
    first_indented = next(i for i, line in enumerate(lines) if line.startswith("    "))
    lines[first_indented] = (
        "\x0c" + lines[first_indented]
    )  # libcst: invalid default_indent '\x0c    '
    form_feed = "".join(lines)
    lone_cr = template_env("generic").replace("\n", "\r")  # libcst drops lone \r line endings
    # libcst writes new lines with the first line's ending: a lone \r among \n lines
    first_cr = (
        (FIXTURES / "rewrite" / "sync" / "comments_everywhere.py")
        .read_text()
        .replace("-*-\n", "-*-\r", 1)
    )
    for text in (form_feed, lone_cr, first_cr):
        for name, function in _rewrites():
            result = function(text)
            assert result.text in (None, text), name
            assert "internal error" not in (result.refused or ""), (name, result.refused)


def test_noqa_applies_to_its_own_line_with_any_line_endings():
    text = template_env("async").replace(
        "target_metadata = None", "target_metadata = None  # noqa: ENV030"
    )
    lines = text.split("\n")
    variants = {
        "lf": text,
        "crlf": text.replace("\n", "\r\n"),
        "cr": text.replace("\n", "\r"),
        "mixed": "".join(line + ("\r" if i % 2 else "\n") for i, line in enumerate(lines)),
        "form feed in a string": text.replace(
            "config = context.config", "config = context.config\nx = '\x0c\u2028'"
        ),
    }
    for name, variant in variants.items():
        codes = [f.code for f in analyze(variant, "env.py").findings]
        assert "ENV030" not in codes, name


def test_rewrites_refuse_5000_nested_brackets_instead_of_crashing_the_process():
    # libcst's native parser overflows the stack (SIGSEGV) here: run it in a child process.
    import subprocess
    import sys

    script = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from support.robustness import rewrite_functions, template_env\n"
        "for brackets in ('()', '[]', '{}'):\n"
        "    text = template_env('async') + 'x = ' + brackets[0] * 5000 + brackets[1] * 5000 + '\\n'\n"
        "    for name, function in rewrite_functions().items():\n"
        "        result = function(text)\n"
        "        assert result.refused and 'does not parse' in result.refused, (name, result)\n"
        "print('ok')\n"
    )
    here = str(__import__("pathlib").Path(__file__).parents[1])  # tests/, holding support/
    result = subprocess.run(
        [sys.executable, "-c", script, here], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", (
        result.returncode,
        result.stderr[-2000:],
    )


def test_sync_rewrite_keeps_the_comments_of_what_it_removes():
    from alembic_env_lsp.fixes.sync_rewrite import convert_to_sync

    run_site = template_env("async").replace(
        "asyncio.run(run_async_migrations())", "asyncio.run(run_async_migrations())  # started here"
    )
    legacy = (FIXTURES / "rewrite" / "broken" / "env053_legacy_template.py").read_text(
        encoding="utf-8"
    )
    dropped_argument = legacy.replace("future=True,", "future=True,  # legacy flag")
    for text, comment in ((run_site, "# started here"), (dropped_argument, "# legacy flag")):
        result = convert_to_sync(text)
        assert result.refused is None and result.changed, result.refused
        assert python_comments(text) <= python_comments(result.text)
        assert comment in result.text


def test_rewrites_read_keyword_names_as_python_does():
    # `ｐｏｏｌｃｌａｓｓ=` (fullwidth) is `poolclass=` to Python: adding another is a SyntaxError
    from alembic_env_lsp.fixes import async_rewrite

    text = template_env("async").replace(
        "        poolclass=pool.NullPool,", "        ｐｏｏｌｃｌａｓｓ=pool.NullPool,"
    )
    from alembic_env_lsp.engine import analyze

    assert not [f for f in analyze(text).findings if f.code == "ENV050"]
    generic = template_env("generic").replace(
        "        poolclass=pool.NullPool,", "        ｐｏｏｌｃｌａｓｓ=pool.NullPool,"
    )
    result = async_rewrite.convert_to_async(generic)
    assert result.refused is None and result.changed and "poolclass" not in result.text
    compile(result.text, "env.py", "exec")


def _fixes(text, code, ini=None, tmp_path=None):
    project = None
    path = "env.py"
    if ini is not None:
        from alembic_env_lsp.project import ProjectIndex

        (tmp_path / "alembic.ini").write_text(ini, encoding="utf-8")
        path = str(tmp_path / "env.py")
        project = ProjectIndex().context_for(tmp_path / "env.py")
    analysis = analyze(text, path, project=project)
    return [fix for f in analysis.findings if f.code == code for fix in f.fixes]


def test_fixes_insert_after_a_backslash_continuation_not_into_it():
    # `import x\` + a blank line: an import added on that blank line would join the statement
    text = template_env("generic").replace(
        "from sqlalchemy import pool\n", "from sqlalchemy import pool\\\n", 1
    )
    text = text.replace(
        "if config.config_file_name is not None:\n    fileConfig(config.config_file_name)\n", ""
    )
    text = text.replace("from logging.config import fileConfig\n", "")
    [fix] = _fixes(text, "ENV022")
    ast.parse(apply_edits(text, fix.edits))
    text2 = template_env("generic").replace(
        "config = context.config\n", "config = context.config\\\n\n", 1
    )
    text2 = text2.replace(
        "if config.config_file_name is not None:\n    fileConfig(config.config_file_name)\n", ""
    )
    [fix] = _fixes(text2, "ENV022")
    ast.parse(apply_edits(text2, fix.edits))


def test_fixes_indent_after_a_form_feed():
    # Python counts columns from a form feed: '    \x0cx' is not indented, '\x0c    x' is
    guard = "import logging.config as lc\nfrom alembic import context\n\n\x0clc.fileConfig(context.config.config_file_name)\n"
    [fix] = _fixes(guard, "ENV021")
    ast.parse(apply_edits(guard, fix.edits))
    dispose = (
        "from sqlalchemy import pool\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
        "async def run():\n    engine = create_async_engine('postgresql+asyncpg://u@h/db', poolclass=pool.NullPool)\n"
        "\x0c    async with engine.connect() as connection:\n        pass\n"
    )
    [fix] = _fixes(dispose, "ENV051")
    fixed = apply_edits(dispose, fix.edits)
    assert "\n    await engine.dispose()\n" in fixed, fixed
    assert _fixes(fixed, "ENV051") == []


def test_env020_fix_never_repeats_a_section(tmp_path):
    """Only [loggers] missing: ENV020 is reported, with no fix (appending Alembic's logging
    block would repeat [handlers]/[formatters], which configparser rejects). Every section
    missing: the one fix adds each once, and Alembic's logging setup then reads the file."""
    import configparser
    import subprocess
    import sys

    env = template_env("generic")
    full = template_ini("generic")
    some = full.replace("[loggers]\n", "[unused_loggers]\n", 1)  # only [loggers] is missing
    findings = [
        f
        for f in analyze(env, str(tmp_path / "env.py"), project=_project(some, tmp_path)).findings
        if f.code == "ENV020"
    ]
    assert [f.message for f in findings] == [
        "alembic.ini has no [loggers] section; fileConfig() will raise KeyError: 'loggers'."
    ]
    assert findings[0].fixes == ()

    sections = ("loggers", "handlers", "formatters", "logger_root", "handler_console")
    bare = "[alembic]\nscript_location = %(here)s\n"
    [fix] = _fixes(env, "ENV020", ini=bare, tmp_path=tmp_path)
    fixed = apply_edits(bare, [e for e in fix.edits if e.path is not None])
    parser = configparser.ConfigParser()
    parser.read_string(fixed)  # DuplicateSectionError if a section came twice
    assert set(sections) <= set(parser.sections())
    (tmp_path / "fixed.ini").write_text(fixed, encoding="utf-8")
    # what env.py then runs (in a child: logging's configuration is process-wide state)
    script = "import logging.config, sys; logging.config.fileConfig(sys.argv[1])"
    subprocess.run([sys.executable, "-c", script, tmp_path / "fixed.ini"], check=True)
    assert _fixes(env, "ENV020", ini=fixed, tmp_path=tmp_path) == []


def _project(ini: str, tmp_path):
    from alembic_env_lsp.project import ProjectIndex

    (tmp_path / "alembic.ini").write_text(ini, encoding="utf-8")
    return ProjectIndex().context_for(tmp_path / "env.py")


def test_env008_reports_sql_once_for_the_configure_right_after_it():
    text = (
        "from alembic import context\n\ndef do_run_migrations(connection):\n"
        "    connection.exec_driver_sql('SET lock_timeout = 5000')\n"
        "    context.configure(connection=connection)\n    context.configure(connection=connection)\n"
        "    with context.begin_transaction():\n        context.run_migrations()\n"
    )
    [fix] = _fixes(text, "ENV008")
    assert _fixes(apply_edits(text, fix.edits), "ENV008") == []


def test_env009_needs_alembic_context_to_recognise_its_own_fix():
    text = (FIXTURES / "rewrite" / "expected" / "sync" / "get_url_helper.py").read_text(
        encoding="utf-8"
    )
    text = text.replace("from alembic import context\n", "")
    assert _fixes(text, "ENV009") == []


def test_env053_fix_keeps_the_inner_calls_comments_and_layout():
    text = (FIXTURES / "rewrite" / "broken" / "env053_legacy_template.py").read_text(
        encoding="utf-8"
    )
    text = text.replace("poolclass=pool.NullPool,", "poolclass=pool.NullPool,  # no pooling", 1)
    [fix] = _fixes(text, "ENV053")
    fixed = apply_edits(text, fix.edits)
    ast.parse(fixed)
    assert python_comments(text) <= python_comments(fixed)
    assert "AsyncEngine(\n" not in fixed and "future=True" not in fixed
    assert _fixes(fixed, "ENV053") == []


def test_env011_escape_fix_edits_only_the_options_own_line(tmp_path):
    # an indented line after sqlalchemy.url continues its value: the fix must not copy it
    ini = "[alembic]\nscript_location = %(here)s\nsqlalchemy.url = postgresql://app:p%40ss@db/app\n\n    [loggers]\nkeys = root\n"
    env = template_env("generic")
    fixes = [f for f in _fixes(env, "ENV011", ini=ini, tmp_path=tmp_path) if "Escape" in f.title]
    assert fixes
    fixed = apply_edits(ini, [e for e in fixes[0].edits if e.path is not None])
    assert fixed == ini.replace("p%40ss", "p%%40ss")


def test_env008_reports_sql_once_for_the_run_sync_right_after_it():
    from alembic_env_lsp.rules import rule_by_code

    text = rule_by_code("ENV008").invalid[1].code
    line = "        await connection.run_sync(do_run_migrations)\n"
    assert line in text
    text = text.replace(line, line + line, 1)
    [fix] = _fixes(text, "ENV008")
    assert _fixes(apply_edits(text, fix.edits), "ENV008") == []


def test_added_keyword_goes_after_a_parenthesised_argument_not_inside_it():
    for arg in ("(url)", "((url))", "(\n    url\n)", "url, (echo)"):
        text = (
            "from sqlalchemy.engine import make_url\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
            f"url = make_url('postgresql+asyncpg://u:p@h/db')\nengine = create_async_engine({arg})\n"
        )
        [fix] = _fixes(text, "ENV050")
        ast.parse(apply_edits(text, fix.edits))  # not `create_async_engine((url, poolclass=...))`
