"""When `fix --async` / `fix --sync` refuse, the message names the line that blocks the
conversion and what is on it (the file is left as it was, exit code 1)."""

from __future__ import annotations

import contextlib
import io
import shutil

import pytest
from alembic_env_lsp import cli
from alembic_env_lsp.fixes.async_rewrite import convert_to_async
from support.rewrite_cases import HERE, template

REFUSE = HERE / "refuse"

# (fixture, mode) -> the refusal after "not rewritten: "
REFUSALS = {
    ("connection_from_helper", "--async"): (
        'line 11: the connection comes from `open_connection(config.get_main_option("sqlalchemy.url"))`, '
        "a helper imported from inventory.db, not from an engine env.py builds with "
        "engine_from_config() or create_engine(); make that code async by hand"
    ),
    ("connection_without_with", "--async"): (
        "line 14: the connection is opened by `connection = engine.connect()` outside a 'with' "
        "block; open it with `with engine.connect() as connection:` around the migration block, "
        "then convert"
    ),
    ("runs_elsewhere", "--async"): (
        "line 6: the migrations run in `run_online(context.config, target_metadata=None)`, "
        "imported from billing.migrations, and env.py never calls context.configure(); convert "
        "that module instead"
    ),
    ("runs_elsewhere", "--sync"): (
        "line 6: the migrations run in `run_online(context.config, target_metadata=None)`, "
        "imported from billing.migrations; convert that module instead"
    ),
    ("async_engine_from_helper", "--sync"): (
        "line 19: the connection comes from `engine.connect()` ('engine' is `get_async_engine()` "
        "at line 18), a helper imported from shop.database, not from an engine env.py builds "
        "with async_engine_from_config()/create_async_engine(); convert that code by hand"
    ),
    ("online_takes_parameters", "--async"): (
        "line 6: run_migrations_online() takes parameters; only a parameterless online function "
        "can be split safely"
    ),
    ("two_databases", "--async"): (
        "line 14: more than one function connects to a database (run_main(), run_audit()); "
        "convert a multi-database env.py by hand"
    ),
    ("sync_awaits_something_else", "--sync"): (
        "line 23: run_async_migrations(): 'await wait_for_database()' has no sync equivalent "
        "this rewrite knows"
    ),
    ("syntax_error", "--async"): (
        "line 3: env.py does not parse (invalid syntax); fix the syntax error first"
    ),
}


def fix(tmp_path, name: str, mode: str) -> tuple[int, str, str, str, str]:
    env = tmp_path / "env.py"
    shutil.copy(REFUSE / f"{name}.py", env)
    before = env.read_text()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["fix", mode, str(env)])
    return status, out.getvalue(), err.getvalue(), before, env.read_text()


@pytest.mark.parametrize(("name", "mode"), sorted(REFUSALS))
def test_refusal_names_the_blocking_line(tmp_path, name, mode):
    status, out, err, before, after = fix(tmp_path, name, mode)
    assert (status, out, after) == (1, "", before)
    assert err == f"{cli.display(tmp_path / 'env.py')}: not rewritten: {REFUSALS[name, mode]}\n"


@pytest.mark.parametrize("name", ["connection_from_helper", "connection_without_with"])
def test_a_sync_file_is_already_in_the_sync_pattern(tmp_path, name):
    """Nothing async to take out: `fix --sync` says so instead of refusing."""
    status, out, err, before, after = fix(tmp_path, name, "--sync")
    assert (status, err, after) == (0, "", before)
    assert out.startswith(f"{cli.display(tmp_path / 'env.py')}: already in the sync pattern\n")


def test_multidb_template_names_the_loop_that_opens_the_connections():
    source = template("multidb")
    line = next(
        i
        for i, text in enumerate(source.splitlines(), 1)
        if 'rec["connection"] = conn = engine.connect()' in text
    )
    result = convert_to_async(source)
    assert result.text is None
    assert result.refused == (
        f'line {line}: the connection is opened by `rec["connection"] = conn = engine.connect()` '
        "outside a 'with' block, in a loop over several databases; convert a multi-database "
        "env.py by hand"
    )
