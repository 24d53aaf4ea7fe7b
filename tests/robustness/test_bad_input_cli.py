"""Bad input on the command line: a one-line error and exit code 2, or (for a file that is
valid but has problems) the normal findings. Never a traceback, never an internal error."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic_env_lsp import cli
from support.robustness import template_env, template_ini

ASYNC = template_env("async")
TEN_MB = 10 * 1024 * 1024


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "alembic_env_lsp", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_no_crash(result, *, allowed=(0, 1, 2)):
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-3000:]
    assert "internal error" not in result.stderr, result.stderr
    assert result.returncode in allowed, (result.returncode, result.stderr)
    if result.returncode == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("alembic-env-lsp: "), result.stderr


def one_line_error(result) -> str:
    assert_no_crash(result, allowed=(2,))
    return result.stderr.strip()


def rows(result):
    assert_no_crash(result, allowed=(0, 1))
    return [
        (r["code"], r["range"]["start"]["line"], r["range"]["start"]["character"])
        for r in json.loads(result.stdout)
    ]


# ---- one env.py ---------------------------------------------------------------------------


def _mixed(text: str) -> str:
    endings = ("\n", "\r\n", "\r")
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines[:-1]):
        ending = endings[i % 3]
        if ending == "\r" and lines[i + 1] == "":
            ending = "\n"  # "\r" + an empty line's "\n" would read as one "\r\n" break
        out.append(line + ending)
    return "".join(out) + lines[-1]


BAD_ENV = {
    "empty": b"",
    "only a BOM": b"\xef\xbb\xbf",
    "NUL bytes": ASYNC.encode().replace(b"import pool", b"import pool\x00", 1),
    "invalid UTF-8": ASYNC.encode().replace(b"# this is", b"# th\xff\xfeis", 1),
    "5,000 nested parentheses": (ASYNC + "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n").encode(),
    "5,000 nested brackets": (ASYNC + "x = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
    "CRLF": ASYNC.replace("\n", "\r\n").encode(),
    "mixed line endings": _mixed(ASYNC).encode(),
    "tabs for one function": ASYNC.replace(
        "def do_run_migrations",
        "def _tabs():\n\tx = 1\n\tif x:\n\t\tpass\n\n\ndef do_run_migrations",
    ).encode(),
    # 8 spaces, then a tab: the same column for Python's tab size, not for the alternate one
    "inconsistent tabs and spaces": ASYNC.replace(
        "        context.run_migrations()", "        pass\n\tcontext.run_migrations()", 1
    ).encode(),
    "a BOM and CRLF": b"\xef\xbb\xbf" + ASYNC.replace("\n", "\r\n").encode(),
    "10 MB": (ASYNC + ("# " + "x" * 76 + "\n") * (TEN_MB // 79)).encode(),
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    paths = {}
    for index, (name, data) in enumerate(BAD_ENV.items()):
        path = folder / f"case{index}" / "env.py"
        path.parent.mkdir()
        path.write_bytes(data)
        paths[name] = path
    reference = folder / "reference" / "env.py"
    reference.parent.mkdir()
    reference.write_text(ASYNC, encoding="utf-8")
    paths["reference"] = reference
    return paths


def test_the_reference_has_findings(bad_files):
    assert rows(
        run_cli(
            "check", "--format", "json", bad_files["reference"], cwd=bad_files["reference"].parent
        )
    )


@pytest.mark.parametrize("name", sorted(BAD_ENV))
def test_check_on_a_bad_env_file(bad_files, name):
    path = bad_files[name]
    result = run_cli("check", "--format", "json", path, cwd=path.parent)
    if name == "invalid UTF-8":
        byte = ASYNC.encode().index(b"# this is") + 4
        assert one_line_error(result) == f"alembic-env-lsp: {path}: not valid utf-8 (byte {byte})"
        return
    found = rows(result)
    reference = rows(run_cli("check", "--format", "json", bad_files["reference"], cwd=path.parent))
    if name in ("empty", "only a BOM"):
        assert found == [("ENV046", 0, 0)]  # an empty env script: nothing runs
    elif name == "NUL bytes":
        assert [code for code, _, _ in found] == ["ENV000"]
    elif name.startswith("5,000"):
        assert [code for code, _, _ in found] == ["ENV000"]
        assert "too many nested parentheses" in result.stdout
    elif name == "inconsistent tabs and spaces":
        assert [code for code, _, _ in found] == ["ENV000"]
        assert "inconsistent use of tabs and spaces" in result.stdout
    elif name == "tabs for one function":
        where = ASYNC[: ASYNC.index("def do_run_migrations")].count("\n")
        shift = 6  # the lines added before do_run_migrations
        assert found == [
            (c, line + shift if line >= where else line, col) for c, line, col in reference
        ]
    else:  # same findings at the same places as the LF file
        assert found == reference, name


COMMANDS = [
    ["check"],
    ["check", "--format", "sarif"],
    ["check", "--format", "github"],
    ["check", "--diff"],
    ["fix", "--async", "--diff"],
    ["fix", "--sync", "--diff"],
    ["explain"],
]


@pytest.mark.parametrize("name", sorted(set(BAD_ENV) - {"10 MB"}))
def test_every_command_on_a_bad_env_file(bad_files, name, capsys, monkeypatch):
    """In-process (the same main() the console script runs) to keep the matrix fast."""
    path = bad_files[name]
    monkeypatch.chdir(path.parent)
    for command in COMMANDS:
        status = cli.main([*command, str(path)])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err and "internal error" not in err, (command, err)
        if name == "invalid UTF-8":
            assert status == 2 and err.count("\n") == 1 and "not valid utf-8" in err, (command, err)
        else:
            assert status in (0, 1), (command, status, err)
            assert all(
                line.startswith(f"{path.name}: not rewritten: ") for line in err.splitlines()
            ), (command, err)


def test_check_fix_never_writes_a_file_that_does_not_parse(bad_files, tmp_path):
    for name in ("NUL bytes", "5,000 nested parentheses", "inconsistent tabs and spaces"):
        copy = tmp_path / name.replace(" ", "_") / "env.py"
        copy.parent.mkdir()
        shutil.copy(bad_files[name], copy)
        before = copy.read_bytes()
        assert_no_crash(run_cli("check", "--fix", copy, cwd=copy.parent), allowed=(1,))
        assert copy.read_bytes() == before


def test_the_template_truncated_at_every_line(tmp_path):
    lines = ASYNC.splitlines(keepends=True)
    paths = []
    for n in range(len(lines) + 1):
        path = tmp_path / f"cut{n:03d}" / "env.py"
        path.parent.mkdir()
        path.write_text("".join(lines[:n]), encoding="utf-8")
        paths.append(path)
    for command in (
        ["check", "--format", "json"],
        ["fix", "--async", "--diff"],
        ["fix", "--sync", "--diff"],
    ):
        result = run_cli(*command, *paths, cwd=tmp_path)
        assert_no_crash(result, allowed=(0, 1))
        if command[0] == "check":
            for row in json.loads(result.stdout):
                path = tmp_path / row["path"]
                line_count = len(path.read_text(encoding="utf-8").split("\n"))
                assert (
                    row["range"]["start"]["line"] < line_count
                    and row["range"]["end"]["line"] < line_count
                ), row


def test_a_path_that_does_not_exist(tmp_path):
    error = one_line_error(run_cli("check", tmp_path / "nope", cwd=tmp_path))
    assert error == f"alembic-env-lsp: {tmp_path / 'nope'}: no such file or directory"


# ---- a project folder -----------------------------------------------------------------------


def make_project(root: Path) -> Path:
    (root / "migrations").mkdir(parents=True)
    (root / "migrations" / "env.py").write_text(ASYNC, encoding="utf-8")
    ini = template_ini("async", "postgresql+asyncpg://app:IniSecretPw1@db/app").replace(
        "script_location = %(here)s", "script_location = %(here)s/migrations"
    )
    (root / "alembic.ini").write_text(ini, encoding="utf-8")
    return root


BAD_PROJECT_FILES = {
    "ini with an interpolation loop": (
        "alembic.ini",
        b"[alembic]\nscript_location = %(here)s/migrations\na = %(b)s\nb = %(a)s\n"
        b"sqlalchemy.url = postgresql+asyncpg://app:LoopSecretPw2@db/%(a)s\n",
    ),
    "binary ini": ("alembic.ini", bytes(range(256)) * 40),
    "ini that is not UTF-8": (
        "alembic.ini",
        b"[alembic]\nscript_location = %(here)s/migrations\n# caf\xe9\n",
    ),
    "ini with duplicate sections": (
        "alembic.ini",
        b"[alembic]\nscript_location = %(here)s/migrations\n[alembic]\nsqlalchemy.url = postgresql+asyncpg://app:DupSecretPw3@db/app\n",
    ),
    "ini with duplicate options": (
        "alembic.ini",
        b"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = a\nsqlalchemy.url = postgresql+asyncpg://app:DupOptPw4@db/app\n",
    ),
    "ini that is a directory": ("alembic.ini", None),
    "pyproject.toml that is not TOML": (
        "pyproject.toml",
        b"[tool.alembic-env-lsp\nselect = ['ENV0\n\x00",
    ),
    "pyproject.toml with a bad setting": (
        "pyproject.toml",
        b"[tool.alembic-env-lsp]\nselect = ['NOPE']\n",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_PROJECT_FILES))
def test_a_project_with_a_bad_config_file(tmp_path, name):
    root = make_project(tmp_path / "app")
    filename, data = BAD_PROJECT_FILES[name]
    target = root / filename
    if data is None:
        target.unlink()
        target.mkdir()
    else:
        target.write_bytes(data)
    for args in (
        ["check", "."],
        ["check", "--format", "json", "migrations/env.py"],
        ["check", "--diff", "."],
        ["explain", "migrations/env.py"],
    ):
        result = run_cli(*args, cwd=root)
        if filename == "pyproject.toml":
            error = one_line_error(result)
            assert "pyproject.toml" in error, error
        else:
            assert_no_crash(result, allowed=(0, 1))
        for password in ("LoopSecretPw2", "DupSecretPw3", "DupOptPw4", "IniSecretPw1"):
            assert password not in result.stdout + result.stderr


def test_a_symlink_loop_in_the_workspace(tmp_path):
    root = make_project(tmp_path / "app")
    (root / "migrations" / "loop").symlink_to(root)
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")
    (root / "dangling").symlink_to(root / "missing")
    result = run_cli("check", "--format", "json", ".", cwd=root)
    found = rows(result)
    assert found and {r["path"] for r in json.loads(result.stdout)} == {"migrations/env.py"}


def test_an_env_py_outside_any_project(tmp_path):
    env = tmp_path / "lonely" / "env.py"
    env.parent.mkdir()
    env.write_text(ASYNC, encoding="utf-8")
    assert rows(run_cli("check", "--format", "json", env, cwd=tmp_path))
