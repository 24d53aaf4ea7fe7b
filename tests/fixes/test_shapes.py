"""Every sync shape in tests/fixtures/rewrite/shapes converts: the URL comes along, `check`
reports no new error, a second conversion changes nothing, every comment stays."""

from __future__ import annotations

import ast

import pytest
from shape_projects import NAMES, SQLITE_ONLY, convert, errors, source, write_project
from support.rewrite_checks import assert_sound


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("ini_url", ["sqlite:///app.db", "postgresql+psycopg2://app:secret@db/app"])
def test_shape_converts_and_keeps_its_invariants(name, ini_url, tmp_path):
    if name in SQLITE_ONLY and not ini_url.startswith("sqlite"):
        pytest.skip("the URL is a SQLite path")
    env = write_project(tmp_path / "project", name, ini_url)
    before = errors(env)

    done = convert(env)

    assert done.refused is None, done.refused
    assert done.changes > 0
    text = env.read_text()
    assert_sound(source(name), text)
    tree = ast.parse(text)
    awaited = {ast.unparse(n.value.func) for n in ast.walk(tree) if isinstance(n, ast.Await)}
    assert any(a.endswith(".run_sync") for a in awaited), text
    assert any(a.endswith(".dispose") for a in awaited), text
    assert not errors(env) - before, text  # no error the original did not have
    assert "secret" not in " ".join(done.manual)
    again = convert(env)
    assert again.refused is None and again.already, (again.changes, again.manual)
    assert env.read_text() == text


@pytest.mark.parametrize("name", NAMES)
def test_converted_shape_converts_back_to_sync(name, tmp_path):
    """`fix --sync` on the converted file: a sync file again, the driver switched back where
    it is written, no error the sync original did not have, idempotent, comments kept."""
    env = write_project(tmp_path / "project", name, "sqlite:///app.db")
    before = errors(env)
    assert convert(env).refused is None

    back = convert(env, "sync")

    assert back.refused is None and back.changes > 0, back.refused
    text = env.read_text()
    assert_sound(source(name), text)
    tree = ast.parse(text)
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Await, ast.AsyncFunctionDef))]
    assert not errors(env) - before, text
    assert convert(env, "sync").already
    assert (tmp_path / "project" / "alembic.ini").read_text().count("sqlite:///app.db") == 1
