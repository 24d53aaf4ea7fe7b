"""Files are safe: `check --fix` writes through a temp file and a rename, keeps the file's
encoding (a PEP 263 cookie, a BOM), line endings, permissions and symlinks, and never
writes a result that does not parse."""

import dataclasses
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic_env_lsp import cli
from alembic_env_lsp.findings import Fix
from alembic_env_lsp.text import Position, Range, TextEdit
from support.robustness import parses, template_env

# The async template without poolclass=NullPool: ENV050 has a safe fix (add it back).
NEEDS_FIX = template_env("async").replace("        poolclass=pool.NullPool,\n", "")


def check_fix(path: Path, cwd=None):
    result = subprocess.run(
        [sys.executable, "-m", "alembic_env_lsp", "check", "--fix", str(path)],
        cwd=cwd or path.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in result.stderr and result.returncode in (0, 1), result.stderr
    return result


def fixed(before: str, after: str) -> bool:
    return "poolclass=pool.NullPool" not in before and "poolclass=pool.NullPool" in after


def test_the_fix_is_written_by_rename_and_leaves_no_temp_file(tmp_path):
    env = tmp_path / "env.py"
    env.write_text(NEEDS_FIX, encoding="utf-8")
    inode = env.stat().st_ino
    check_fix(env)
    assert fixed(NEEDS_FIX, env.read_text(encoding="utf-8"))
    assert env.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env.py"]


def test_a_failed_write_leaves_the_original_and_no_temp_file(tmp_path, monkeypatch):
    env = tmp_path / "env.py"
    env.write_text(NEEDS_FIX, encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        cli.write_text_atomically(cli.read_text(env), "x = 1\n")
    assert env.read_text(encoding="utf-8") == NEEDS_FIX
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env.py"]


def test_a_pep263_latin1_file_stays_latin1(tmp_path):
    env = tmp_path / "env.py"
    data = b"# -*- coding: latin-1 -*-\n# caf\xe9 cr\xe8me\n" + NEEDS_FIX.replace(
        "Interpret", "Interpr\xe9te"
    ).encode("latin-1")
    env.write_bytes(data)
    check_fix(env)
    after = env.read_bytes()
    assert after.startswith(b"# -*- coding: latin-1 -*-\n# caf\xe9 cr\xe8me\n")
    assert b"Interpr\xe9te" in after and "é".encode() not in after
    assert fixed(NEEDS_FIX, after.decode("latin-1"))
    compile(after, "env.py", "exec")


@pytest.mark.parametrize(
    "prefix",
    [
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf#!/usr/bin/env python\n# -*- coding: utf-8-sig -*-\n",
        b"# vim: set fileencoding=utf-8 :\n",
    ],
    ids=["bom", "bom and a utf-8-sig cookie", "vim cookie"],
)
def test_the_bom_and_cookie_are_kept_once(tmp_path, prefix):
    env = tmp_path / "env.py"
    env.write_bytes(prefix + NEEDS_FIX.encode("utf-8"))
    check_fix(env)
    after = env.read_bytes()
    assert after.startswith(prefix) and not after[len(prefix) :].startswith(b"\xef\xbb\xbf")
    assert fixed(NEEDS_FIX, after.decode("utf-8-sig"))
    compile(after, "env.py", "exec")  # a doubled BOM would not compile


@pytest.mark.parametrize("ending", ["\r\n", "mixed"])
def test_line_endings_are_kept(tmp_path, ending):
    env = tmp_path / "env.py"
    lines = NEEDS_FIX.split("\n")
    if ending == "mixed":
        endings = ["\r\n" if i % 2 else "\n" for i in range(len(lines) - 1)]
    else:
        endings = [ending] * (len(lines) - 1)
    original = "".join(line + e for line, e in zip(lines[:-1], endings, strict=True)) + lines[-1]
    env.write_bytes(original.encode())
    check_fix(env)
    after = env.read_bytes().decode()
    assert fixed(original, after)
    from collections import Counter

    def endings(text):
        return Counter(
            "\r\n" if line.endswith("\r\n") else line[-1:]
            for line in text.splitlines(keepends=True)
        )

    # no line ending is lost or converted; a one-ending file stays one-ending
    assert not endings(original) - endings(after), (endings(original), endings(after))
    if ending == "\r\n":
        assert "\n" not in after.replace("\r\n", "")


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755, 0o444])
def test_permissions_are_kept(tmp_path, mode):
    env = tmp_path / "env.py"
    env.write_text(NEEDS_FIX, encoding="utf-8")
    os.chmod(env, mode)
    check_fix(env)
    assert stat.S_IMODE(env.stat().st_mode) == mode
    assert fixed(NEEDS_FIX, env.read_text(encoding="utf-8"))


def test_the_ini_keeps_its_mode_line_endings_and_comments(tmp_path):
    (tmp_path / "migrations").mkdir()
    env = tmp_path / "migrations" / "env.py"
    env.write_text(template_env("generic"), encoding="utf-8")
    ini = tmp_path / "alembic.ini"
    ini_text = "# my ini\r\n[alembic]\r\nscript_location = %(here)s/migrations\r\nsqlalchemy.url = sqlite:///a.db\r\n"
    ini.write_bytes(ini_text.encode())
    os.chmod(ini, 0o600)
    check_fix(env, cwd=tmp_path)  # ENV020: the logging sections are added to the ini
    after = ini.read_bytes().decode()
    assert after.startswith(ini_text) and "[loggers]" in after
    assert "\n" not in after.replace("\r\n", "")
    assert stat.S_IMODE(ini.stat().st_mode) == 0o600


def test_a_symlinked_env_py_stays_a_symlink(tmp_path):
    real = tmp_path / "real" / "env.py"
    real.parent.mkdir()
    real.write_text(NEEDS_FIX, encoding="utf-8")
    link = tmp_path / "env.py"
    link.symlink_to(real)
    check_fix(link)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert fixed(NEEDS_FIX, real.read_text(encoding="utf-8"))


def test_nothing_is_written_when_the_fix_would_not_parse(tmp_path, monkeypatch, capsys):
    """A (deliberately broken) rule whose safe fix breaks the syntax: the file is untouched."""
    from alembic_env_lsp import engine
    from alembic_env_lsp.rules import rule_by_code

    def bad_check(ctx):
        ctx.report(
            "bad",
            Range(Position(0, 0), Position(0, 1)),
            fixes=[Fix("break it", (TextEdit(Range(Position(0, 0), Position(0, 0)), "def (:\n"),))],
        )

    bad = dataclasses.replace(rule_by_code("ENV050"), code="ENV050", check=bad_check)
    monkeypatch.setattr(engine, "all_rules", lambda: (bad,))
    env = tmp_path / "env.py"
    env.write_text(NEEDS_FIX, encoding="utf-8")
    before = env.stat()
    monkeypatch.chdir(tmp_path)
    status = cli.main(["check", "--fix", str(env)])
    assert status in (0, 1), capsys.readouterr().err
    after = env.stat()
    assert env.read_text(encoding="utf-8") == NEEDS_FIX
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env.py"]


def test_rewrites_never_write_a_file_that_does_not_parse(tmp_path):
    """`fix --async/--sync` on a file that does not parse: refused, the file untouched."""
    env = tmp_path / "env.py"
    broken = NEEDS_FIX.replace("def run_migrations_offline", "def run_migrations_offline(:", 1)
    assert not parses(broken)
    env.write_text(broken, encoding="utf-8")
    for args in (
        ["fix", "--async", str(env)],
        ["fix", "--sync", str(env)],
        ["check", "--fix", str(env)],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "alembic_env_lsp", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert "Traceback" not in result.stderr
        assert env.read_text(encoding="utf-8") == broken
