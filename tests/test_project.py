from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.config import Config
from alembic_env_lsp.config_files import IniFile, PyProject
from alembic_env_lsp.project import (
    ProjectIndex,
    find_env_scripts,
    looks_like_env_script,
)
from alembic_env_lsp.text import SourceText


@pytest.fixture
def root(tmp_path) -> Path:
    """A project folder; .git stops the upward search so nothing outside tmp_path leaks in."""
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    return project


def alembic_init(folder: Path, template: str, directory: str = "migrations") -> None:
    subprocess.run(
        [sys.executable, "-m", "alembic", "init", "-t", template, directory],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def alembic_sees(ini: Path, key: str, section: str = "alembic"):
    """What Alembic's own Config returns for the key (or the exception it raises)."""
    try:
        return Config(str(ini)).get_section_option(section, key)
    except Exception as exc:  # noqa: BLE001 - the exception is the observation
        return exc


def value_text(ini: IniFile, value) -> str:
    return SourceText(ini.text).slice(value.value_range)


# --- the stock templates ---


def test_generic_template(root):
    alembic_init(root, "generic")
    ini = IniFile.read(root / "alembic.ini")
    assert ini.error is None
    assert {
        "alembic",
        "loggers",
        "handlers",
        "formatters",
        "logger_root",
        "formatter_generic",
    } <= set(ini.sections())
    assert ini.missing_logging_sections() == []
    assert ini.script_location == root / "migrations"

    url = ini.get("alembic", "sqlalchemy.url")
    assert url.raw == url.value == "driver://user:pass@localhost/dbname"
    assert url.value == alembic_sees(root / "alembic.ini", "sqlalchemy.url")
    assert url.section == "alembic" and url.error is None
    assert ini.text.splitlines()[url.line].startswith("sqlalchemy.url = ")
    assert value_text(ini, url) == url.raw

    location = ini.get("alembic", "script_location")
    assert location.raw == "%(here)s/migrations"
    assert location.value == f"{root.as_posix()}/migrations"
    assert location.value == alembic_sees(root / "alembic.ini", "script_location")

    header = ini.section_range("alembic")
    assert ini.text.splitlines()[header.start.line] == "[alembic]"
    assert (header.start.character, header.end.character) == (0, 9)
    assert ini.section_range("nope") is None

    context = ProjectIndex().context_for(root / "migrations" / "env.py")
    assert context.ini is not None and context.ini.path == root / "alembic.ini"
    assert context.main_section == "alembic"
    assert context.other_inis == []
    assert context.pyproject is None
    assert context.main_option("sqlalchemy.url").value == "driver://user:pass@localhost/dbname"
    assert context.main_option("no_such_key") is None


def test_template_logging_format_fails_interpolation_like_alembic(root):
    # The template's `format = %(levelname)-5.5s ...` is only readable raw (logging reads it raw);
    # Config.get_section("formatter_generic") would raise. We report what Alembic would see.
    alembic_init(root, "generic")
    ini = IniFile.read(root / "alembic.ini")
    fmt = ini.get("formatter_generic", "format")
    assert fmt.raw == "%(levelname)-5.5s [%(name)s] %(message)s"
    assert fmt.value is None
    assert fmt.error.startswith("InterpolationSyntaxError: bad interpolation variable reference")
    assert isinstance(alembic_sees(root / "alembic.ini", "format", "formatter_generic"), Exception)
    assert ini.error is None  # not a loop: the file itself is fine


def test_pyproject_template_pairs_ini_through_tool_alembic(root):
    alembic_init(root, "pyproject")
    ini = IniFile.read(root / "alembic.ini")
    assert ini.error is None
    assert ini.get("alembic", "script_location") is None
    assert ini.script_location is None
    assert ini.get("alembic", "sqlalchemy.url").value == "driver://user:pass@localhost/dbname"

    pyproject = PyProject.read(root / "pyproject.toml")
    assert pyproject.error is None
    assert pyproject.tool_alembic["script_location"] == "%(here)s/migrations"
    assert pyproject.tool_alembic["prepend_sys_path"] == ["."]
    assert pyproject.script_location == root / "migrations"
    # Alembic's own resolution agrees.
    config = Config(str(root / "alembic.ini"), toml_file=str(root / "pyproject.toml"))
    assert config.get_alembic_option("script_location") == f"{root.as_posix()}/migrations"

    context = ProjectIndex().context_for(root / "migrations" / "env.py")
    assert context.ini is not None and context.ini.path == root / "alembic.ini"
    assert context.pyproject is not None and context.pyproject.path == root / "pyproject.toml"
    assert context.main_option("sqlalchemy.url").raw.startswith("driver://")


def test_pyproject_layout_with_logging_only_ini(root):
    # ENV020/ENV012 shape: ini without [alembic] at all, pyproject says where the scripts are.
    alembic_init(root, "pyproject")
    write(root / "alembic.ini", "[loggers]\nkeys = root\n")
    context = ProjectIndex().context_for(root / "migrations" / "env.py")
    assert context.ini is not None
    assert not context.ini.has_section("alembic")
    assert context.ini.missing_logging_sections() == ["formatters", "handlers"]
    assert context.main_option("sqlalchemy.url") is None


def test_pyproject_only_no_ini(root):
    alembic_init(root, "pyproject")
    (root / "alembic.ini").unlink()
    context = ProjectIndex().context_for(root / "migrations" / "env.py")
    assert context.ini is None
    assert context.pyproject.script_location == root / "migrations"


# --- interpolation, as configparser does it for Alembic ---


def test_here_percent_escape_env_var_and_default(root):
    ini_path = write(
        root / "alembic.ini",
        """
        [DEFAULT]
        db_host = db.internal

        [alembic]
        script_location = %(here)s/migrations
        sqlalchemy.url = postgresql://app@%(db_host)s/app
        escaped = sqlite:///50%%off.db
        from_env = ${DATABASE_URL}
        data_dir = %(here)s/data
        """,
    )
    ini = IniFile.read(ini_path)
    assert ini.error is None
    url = ini.get("alembic", "sqlalchemy.url")
    assert (
        url.value == "postgresql://app@db.internal/app" == alembic_sees(ini_path, "sqlalchemy.url")
    )
    escaped = ini.get("alembic", "escaped")
    assert (escaped.raw, escaped.value) == ("sqlite:///50%%off.db", "sqlite:///50%off.db")
    assert escaped.value == alembic_sees(ini_path, "escaped")
    # configparser does not expand environment variables.
    assert ini.get("alembic", "from_env").value == "${DATABASE_URL}"
    assert ini.get("alembic", "data_dir").value == f"{root.as_posix()}/data"
    # An inherited key reports where it is written.
    inherited = ini.get("alembic", "db_host")
    assert (inherited.section, inherited.value) == ("DEFAULT", "db.internal")
    assert ini.text.splitlines()[inherited.line] == "db_host = db.internal"
    assert ini.get("DEFAULT", "db_host").value == "db.internal"
    # `here` is supplied by Alembic, not written in the file.
    assert ini.get("alembic", "here") is None


def test_missing_interpolation_key(root):
    ini_path = write(root / "alembic.ini", "[alembic]\nsqlalchemy.url = %(DATABASE_URL)s\n")
    ini = IniFile.read(ini_path)
    url = ini.get("alembic", "sqlalchemy.url")
    assert url.value is None
    assert url.raw == "%(DATABASE_URL)s"
    alembic_error = alembic_sees(ini_path, "sqlalchemy.url")
    assert type(alembic_error).__name__ == "InterpolationMissingOptionError"
    assert url.error == f"InterpolationMissingOptionError: {alembic_error}"
    assert "interpolation key 'database_url'" in url.error
    assert ini.error is None


def test_interpolation_errors_never_show_the_password(root):
    ini_path = write(
        root / "alembic.ini",
        """
        [alembic]
        sqlalchemy.url = postgresql://app:s3cr%40t@db/app
        other.url = postgresql://app:hunter2@%(host)s/app
        """,
    )
    ini = IniFile.read(ini_path)
    url = ini.get("alembic", "sqlalchemy.url")
    assert url.value is None
    # configparser itself quotes the rest of the value, password tail included.
    assert "%40t@db/app" in str(alembic_sees(ini_path, "sqlalchemy.url"))
    assert url.error.startswith("InterpolationSyntaxError: '%' must be followed by '%' or '('")
    assert "40t" not in url.error and "s3cr" not in url.error
    assert "***@db/app" in url.error
    other = ini.get("alembic", "other.url")
    assert "hunter2" in str(alembic_sees(ini_path, "other.url"))
    assert "hunter2" not in other.error
    assert "postgresql://app:***@%(host)s/app" in other.error


def test_interpolation_loop_is_a_file_error(root):
    ini_path = write(
        root / "alembic.ini", "[alembic]\na = %(b)s\nb = %(a)s\nsqlalchemy.url = sqlite://\n"
    )
    ini = IniFile.read(ini_path)
    assert ini.error.startswith("interpolation loop: Recursion limit exceeded")
    assert "\n" not in ini.error
    a = ini.get("alembic", "a")
    assert a.value is None and a.error.startswith("InterpolationDepthError")
    assert type(alembic_sees(ini_path, "a")).__name__ == "InterpolationDepthError"
    assert ini.get("alembic", "sqlalchemy.url").value == "sqlite://"


# --- positions ---


def test_positions_case_delimiters_continuations_crlf_and_unicode(root):
    text = (
        "; comment\r\n"
        "[alembic]\r\n"
        "  SQLAlchemy.URL   :   sqlite:///ü.db  \r\n"
        "version_locations = %(here)s/a\r\n"
        "    %(here)s/b\r\n"
        "\r\n"
        "    %(here)s/c\r\n"
        "# sqlalchemy.url = postgresql://commented/out\r\n"
        "déjà = vu\r\n"
    )
    path = root / "alembic.ini"
    path.write_bytes(text.encode("utf-8"))
    ini = IniFile.read(path)
    assert ini.error is None
    url = ini.get("alembic", "sqlalchemy.url")
    assert url.key == "sqlalchemy.url"
    assert url.value == "sqlite:///ü.db" == alembic_sees(path, "sqlalchemy.url")
    assert url.line == 2
    assert (url.value_range.start.character, url.value_range.end.character) == (23, 37)
    assert value_text(ini, url) == "sqlite:///ü.db"
    versions = ini.get("alembic", "VERSION_LOCATIONS")
    here = root.as_posix()
    assert versions.value == f"{here}/a\n{here}/b\n\n{here}/c"
    assert versions.value == alembic_sees(path, "version_locations")
    assert versions.line == 3
    assert value_text(ini, versions) == "%(here)s/a"
    accented = ini.get("alembic", "déjà")
    assert (accented.line, accented.value_range.start.character) == (8, 7)


def test_bom_file_is_an_error_but_positions_match_the_editor(root):
    path = root / "alembic.ini"
    path.write_bytes("\ufeff[alembic]\nsqlalchemy.url = sqlite://\n".encode("utf-8"))
    ini = IniFile.read(path)
    assert "byte-order mark" in ini.error
    assert type(alembic_sees(path, "sqlalchemy.url")).__name__ == "MissingSectionHeaderError"
    assert ini.has_bom and not ini.text.startswith("\ufeff")
    assert ini.get("alembic", "sqlalchemy.url").value == "sqlite://"
    assert ini.section_range("alembic").start.character == 0


# --- bad files never raise ---


def test_duplicate_section(root):
    path = write(
        root / "alembic.ini", "[alembic]\na = 1\n[loggers]\nkeys = root\n[alembic]\nb = 2\n"
    )
    ini = IniFile.read(path)
    assert ini.error.startswith("DuplicateSectionError:")
    assert "section 'alembic' already exists" in ini.error
    assert type(alembic_sees(path, "a")).__name__ == "DuplicateSectionError"
    # The lenient re-read still answers hovers.
    assert ini.get("alembic", "a").value == "1" and ini.get("alembic", "b").value == "2"
    assert ini.section_range("alembic").start.line == 0


def test_duplicate_option(root):
    path = write(
        root / "alembic.ini",
        "[alembic]\nsqlalchemy.url = sqlite://\nsqlalchemy.url = sqlite:///b.db\n",
    )
    ini = IniFile.read(path)
    assert ini.error.startswith("DuplicateOptionError:")
    url = ini.get("alembic", "sqlalchemy.url")
    assert (url.value, url.line) == ("sqlite:///b.db", 2)


def test_parsing_error_keeps_good_lines(root):
    path = write(
        root / "alembic.ini", "[alembic]\nthis line has no delimiter\nsqlalchemy.url = sqlite://\n"
    )
    ini = IniFile.read(path)
    assert "Source contains parsing errors" in ini.error
    assert "\n" not in ini.error
    assert ini.get("alembic", "sqlalchemy.url").value == "sqlite://"


def test_error_quoting_a_line_with_password_is_redacted(root):
    path = write(
        root / "alembic.ini", "sqlalchemy.url = postgresql://app:hunter2@db/app\n[alembic]\n"
    )
    ini = IniFile.read(path)
    assert "hunter2" in str(alembic_sees(path, "sqlalchemy.url"))
    assert ini.error.startswith("MissingSectionHeaderError")
    assert "hunter2" not in ini.error
    assert "postgresql://app:***@db/app" in ini.error


def test_missing_delimiter_before_url_makes_a_strange_key(root):
    # configparser splits at the first ':' or '=', so this is key "sqlalchemy.url postgresql".
    path = write(root / "alembic.ini", "[alembic]\nsqlalchemy.url postgresql://app@db/app\n")
    ini = IniFile.read(path)
    assert ini.error is None
    assert ini.get("alembic", "sqlalchemy.url") is None
    strange = ini.get("alembic", "sqlalchemy.url postgresql")
    assert strange.value == "//app@db/app" == alembic_sees(path, "sqlalchemy.url postgresql")
    assert value_text(ini, strange) == "//app@db/app"


def test_binary_ini(root):
    path = root / "alembic.ini"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    ini = IniFile.read(path)
    assert ini.error.startswith("binary file")
    assert ini.sections() == [] and ini.get("alembic", "sqlalchemy.url") is None
    assert ini.script_location is None


def test_not_utf8_ini(root):
    path = root / "alembic.ini"
    path.write_bytes("[alembic]\n# caf\xe9\nsqlalchemy.url = sqlite://\n".encode("latin-1"))
    ini = IniFile.read(path)
    assert ini.error.startswith("not UTF-8 text (byte 0xe9")
    assert ini.get("alembic", "sqlalchemy.url").value == "sqlite://"


def test_huge_ini(root, monkeypatch):
    import alembic_env_lsp.config_files as config_files

    path = write(root / "alembic.ini", "[alembic]\n" + "x = 1\n" * 1000)
    monkeypatch.setattr(config_files, "MAX_CONFIG_BYTES", 1024)
    ini = IniFile.read(path)
    assert ini.error.startswith("file too large (6010 bytes")
    assert ini.sections() == []


def test_missing_file_and_folder(root):
    assert IniFile.read(root / "nope.ini").error.startswith("cannot read")
    (root / "dir.ini").mkdir()
    assert IniFile.read(root / "dir.ini").error == "not a regular file"


def test_no_section_header(root):
    ini = IniFile.read(write(root / "alembic.ini", "sqlalchemy.url = sqlite://\n"))
    assert ini.error.startswith("MissingSectionHeaderError: File contains no section headers.")
    assert ini.sections() == []


# --- pyproject ---


def test_pyproject_not_toml(root):
    path = write(root / "pyproject.toml", "[tool.alembic\nscript_location = 'x'\n")
    pyproject = PyProject.read(path)
    assert pyproject.error.startswith("not valid TOML:")
    assert pyproject.data == {} and pyproject.tool_alembic == {}
    assert pyproject.script_location is None


def test_pyproject_tables(root):
    path = write(
        root / "pyproject.toml",
        """
        [tool.alembic]
        script_location = "db/migrations"
        sqlalchemy.url = "postgresql://u:p@h/db"

        [tool.alembic-env-lsp]
        ignore = ["ENV022"]
        """,
    )
    pyproject = PyProject.read(path)
    assert pyproject.error is None
    # The dotted TOML key is a nested table (ENV012).
    assert pyproject.tool_alembic["sqlalchemy"] == {"url": "postgresql://u:p@h/db"}
    assert pyproject.tool_alembic_env_lsp == {"ignore": ["ENV022"]}
    assert pyproject.script_location == root / "db" / "migrations"


def test_pyproject_tool_alembic_not_a_table(root):
    pyproject = PyProject.read(write(root / "pyproject.toml", "[tool]\nalembic = 3\n"))
    assert "not a table" in pyproject.error
    assert pyproject.tool_alembic == {}


def test_nearest_pyproject_and_git_boundary(tmp_path):
    outer = tmp_path / "outer"
    write(outer / "pyproject.toml", "[project]\nname = 'outer'\n")
    repo = outer / "repo"
    (repo / ".git").mkdir(parents=True)
    env = write(repo / "svc" / "migrations" / "env.py", "from alembic import context\n")
    index = ProjectIndex()
    # .git stops the walk: the pyproject above the repository is not this project's.
    assert index.context_for(env).pyproject is None
    write(repo / "pyproject.toml", "[project]\nname = 'repo'\n")
    write(repo / "svc" / "pyproject.toml", "[project]\nname = 'svc'\n")
    assert index.context_for(env).pyproject.data["project"]["name"] == "svc"


# --- several ini files, -n sections, script_location forms ---


def test_multiple_inis(root):
    alembic_init(root, "generic")
    write(
        root / "prod.ini",
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = postgresql://p@h/db\n",
    )
    write(root / "elsewhere.ini", "[alembic]\nscript_location = %(here)s/other\n")
    write(root / "tox.ini", "[tox]\nenvlist = py311\n")
    write(root / "migrations" / "alembic.ini", "[alembic]\nscript_location = %(here)s\n")
    context = ProjectIndex().context_for(root / "migrations" / "env.py")
    # The nearest folder first, alembic.ini before other names.
    assert context.ini.path == root / "migrations" / "alembic.ini"
    assert [i.path.name for i in context.other_inis] == ["alembic.ini", "prod.ini"]
    assert context.other_inis[0].path == root / "alembic.ini"


def test_named_sections(root):
    write(
        root / "alembic.ini",
        """
        [alembic]
        script_location = %(here)s/main

        [reporting]
        script_location = %(here)s/reporting
        sqlalchemy.url = sqlite:///reporting.db
        """,
    )
    write(root / "reporting" / "env.py", "from alembic import context\n")
    context = ProjectIndex().context_for(root / "reporting" / "env.py")
    assert context.ini is not None
    assert context.main_section == "reporting"
    assert context.main_option("sqlalchemy.url").value == "sqlite:///reporting.db"


def test_relative_and_package_script_locations(root):
    write(root / "src" / "myapp" / "__init__.py", "")
    write(root / "src" / "myapp" / "db" / "migrations" / "env.py", "import alembic.context\n")
    ini_path = write(
        root / "alembic.ini",
        """
        [alembic]
        script_location = myapp.db:migrations
        prepend_sys_path = . src

        [plain]
        script_location = src/myapp/db/migrations

        [unknown_package]
        script_location = not_here:migrations
        """,
    )
    ini = IniFile.read(ini_path)
    target = root / "src" / "myapp" / "db" / "migrations"
    assert ini.script_location == target
    assert ini.script_location_for("plain") == target
    assert ini.script_location_for("unknown_package") is None
    context = ProjectIndex().context_for(target / "env.py")
    assert context.ini.path == ini_path and context.main_section == "alembic"


def test_env_not_pointed_at_has_no_ini(root):
    alembic_init(root, "generic")
    write(root / "scratch" / "env.py", "from alembic import context\n")
    assert ProjectIndex().context_for(root / "scratch" / "env.py").ini is None


# --- the index cache ---


def test_index_caches_and_notices_changes(root):
    alembic_init(root, "generic")
    index = ProjectIndex()
    env = root / "migrations" / "env.py"
    first = index.context_for(env).ini
    assert index.context_for(env).ini is first

    ini_path = root / "alembic.ini"
    text = ini_path.read_text().replace("driver://user:pass@localhost/dbname", "sqlite:///app.db")
    ini_path.write_text(text)
    second = index.context_for(env).ini
    assert second is not first
    assert second.get("alembic", "sqlalchemy.url").value == "sqlite:///app.db"

    index.invalidate(ini_path)
    assert index.context_for(env).ini is not second
    third = index.context_for(env).ini
    index.invalidate()
    assert index.context_for(env).ini is not third


def test_index_overlay_for_unsaved_editor_text(root):
    alembic_init(root, "generic")
    index = ProjectIndex()
    env = root / "migrations" / "env.py"
    ini_path = root / "alembic.ini"
    edited = ini_path.read_text().replace(
        "driver://user:pass@localhost/dbname", "postgres://u@h/db"
    )
    index.set_overlay(ini_path, edited)
    assert index.context_for(env).main_option("sqlalchemy.url").value == "postgres://u@h/db"
    index.set_overlay(ini_path, None)
    assert index.context_for(env).main_option("sqlalchemy.url").value.startswith("driver://")


# --- finding env scripts ---


def test_find_env_scripts_through_configs(root):
    (root / "a").mkdir()
    (root / "b").mkdir()
    alembic_init(root / "a", "generic")
    alembic_init(root / "b", "pyproject", "db")
    # Noise that must not count:
    write(root / ".venv" / "lib" / "env.py", "from alembic import context\n")
    write(root / "node_modules" / "x" / "env.py", "from alembic import context\n")
    write(root / "venv2" / "pyvenv.cfg", "home = /usr\n")
    write(
        root / "venv2" / "lib" / "python3.11" / "site-packages" / "pkg" / "env.py",
        "from alembic import context\n",
    )
    write(root / "a" / "tools" / "env.py", "from alembic import context\n")  # not configured
    found = find_env_scripts([root])
    assert found == [root / "a" / "migrations" / "env.py", root / "b" / "db" / "env.py"]


def test_find_env_scripts_by_text_when_no_config(root):
    write(root / "svc" / "migrations" / "env.py", "from alembic import op, context\n")
    write(root / "svc" / "paren" / "env.py", "from alembic import (\n    op,\n    context,\n)\n")
    write(root / "svc" / "dotted" / "env.py", "import alembic.context as ctx\n")
    write(root / "svc" / "other" / "env.py", "import os\nfrom alembic import op\nimport context\n")
    write(root / "svc" / "not_env.py", "from alembic import context\n")
    write(root / "__pycache__" / "env.py", "from alembic import context\n")
    found = find_env_scripts([root])
    assert found == sorted(
        [
            root / "svc" / "dotted" / "env.py",
            root / "svc" / "migrations" / "env.py",
            root / "svc" / "paren" / "env.py",
        ]
    )


def test_find_env_scripts_files_dedup_and_symlink_loop(root):
    alembic_init(root, "generic")
    env = root / "migrations" / "env.py"
    os.symlink(root, root / "migrations" / "loop", target_is_directory=True)
    os.symlink(root / "migrations", root / "alias", target_is_directory=True)
    other = write(root / "explicit.py", "print('taken as is')\n")
    found = find_env_scripts(
        [root, root, env, Path(os.path.relpath(other)), root / "alias" / "env.py"]
    )
    assert found == sorted([env, other])
    assert find_env_scripts([root / "missing"]) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("from alembic import context\n", True),
        ("from alembic import context as ctx\n", True),
        ("from alembic import op,context\n", True),
        ("from alembic import (\n  op,\n  context\n)\n", True),
        ("import alembic.context\n", True),
        ("import alembic\nalembic.context.configure()\n", True),
        ("from alembic import op\nimport sqlalchemy as sa\n", False),
        ("from alembic import op\nimport context\n", False),
        ("from alembic import contexts\n", False),
        ("", False),
    ],
)
def test_looks_like_env_script(text, expected):
    assert looks_like_env_script(text) is expected


def test_entry_at_names_the_section_and_option_of_a_line(tmp_path):
    text = (
        "# top comment\n"  # 0: before any section
        "[alembic]\n"  # 1
        "script_location = migrations\n"  # 2
        "sqlalchemy.url = postgresql://u@h/db\n"  # 3
        "    ?sslmode=require\n"  # 4: continuation of sqlalchemy.url
        "\n"  # 5
        "; a comment\n"  # 6
        "[post_write_hooks]\n"  # 7
        "hooks = black\n"  # 8
    )
    ini = IniFile(tmp_path / "alembic.ini", text)
    assert [ini.entry_at(line) for line in range(10)] == [
        None,
        ("alembic", None),
        ("alembic", "script_location"),
        ("alembic", "sqlalchemy.url"),
        ("alembic", "sqlalchemy.url"),
        ("alembic", None),
        ("alembic", None),
        ("post_write_hooks", None),
        ("post_write_hooks", "hooks"),
        ("post_write_hooks", None),  # the empty last line
    ]
    assert ini.entry_at(42) is None


def test_find_env_scripts_reads_each_ini_once_through_the_index(tmp_path, monkeypatch):
    for name in ("one", "two"):
        (tmp_path / name / "migrations").mkdir(parents=True)
        (tmp_path / name / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
        (tmp_path / name / "migrations" / "env.py").write_text("from alembic import context\n")
    reads: list[str] = []
    original = IniFile.read.__func__

    def counting(cls, path):
        reads.append(Path(path).parent.name)
        return original(cls, path)

    monkeypatch.setattr(IniFile, "read", classmethod(counting))
    index = ProjectIndex()
    found = find_env_scripts([tmp_path], index)
    assert [p.parent.parent.name for p in found] == ["one", "two"]
    for env in found:
        assert index.context_for(env).ini is not None
    assert sorted(reads) == ["one", "two"]  # not read again by context_for


def test_forget_drops_a_closed_projects_listings_and_keeps_the_open_ones(root):
    for name in ("open", "closed"):
        write(root / name / "alembic.ini", "[alembic]\nscript_location = %(here)s/migrations\n")
        write(root / name / "migrations" / "env.py", "from alembic import context\n")
    index = ProjectIndex()
    open_env = root / "open" / "migrations" / "env.py"
    closed_env = root / "closed" / "migrations" / "env.py"
    index.context_for(open_env)
    index.context_for(closed_env)
    listed = set(index._listings)
    assert str(root / "closed") in listed and str(root / "closed" / "migrations") in listed

    index.forget(closed_env.parent, keep=[open_env])

    # the closed project's two folders go; the open one's, and the shared root, stay
    assert listed - set(index._listings) == {
        str(root / "closed"),
        str(root / "closed" / "migrations"),
    }
    # a forgotten folder is listed again when asked: the context is the same
    context = index.context_for(closed_env)
    assert context.ini is not None and context.ini.path == root / "closed" / "alembic.ini"
