"""Diagnostics as an editor shows them: where, what, which version, and when they go away."""

import asyncio

import pytest
from support.lsp import at, codes, editor, span

pytestmark = pytest.mark.asyncio

SYNC_URL = "postgresql+psycopg2://app:s3cr3t@db/app"


async def test_open_env_py_shows_the_problem_under_the_engine_factory(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        diagnostics = await ed.diagnostics(uri, 1)
        env001 = at(diagnostics, "ENV001")
        assert env001.range == span(ed.texts[uri], "async_engine_from_config", nth=1)
        assert env001.severity == 1
        assert env001.source == "alembic-env"
        assert env001.code_description.href.endswith("/docs/rules.md#env001")
        assert "sync-only driver 'psycopg2'" in env001.message
        assert "postgresql+psycopg2://app:***@db/app" in env001.message
        assert "s3cr3t" not in env001.message
        # the ini line it comes from, as related information
        [related] = env001.related_information
        assert related.location.uri == project.ini.as_uri()
        assert related.location.range.start.line == project.ini_line("sqlalchemy.url")
        assert "s3cr3t" not in ed.log_text()


async def test_ini_finding_is_published_on_alembic_ini_too(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        ed.open(project.env)
        ini_diagnostics = await ed.diagnostics(project.ini.as_uri(), None)
        twin = at(ini_diagnostics, "ENV001")
        line = project.ini_line("sqlalchemy.url")
        assert (twin.range.start.line, twin.range.start.character) == (
            line,
            len("sqlalchemy.url = "),
        )
        assert (twin.range.end.line, twin.range.end.character) == (
            line,
            len("sqlalchemy.url = " + SYNC_URL),
        )
        assert twin.related_information[0].location.uri == project.env.as_uri()


async def test_only_the_ini_open_still_shows_what_env_py_gets_wrong(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        ini_uri = ed.open(project.ini)
        diagnostics = await ed.diagnostics(ini_uri, 1, where=lambda d: len(d) > 0)
        assert "sync-only driver 'psycopg2'" in at(diagnostics, "ENV001").message
        assert all("s3cr3t" not in d.message for d in diagnostics)
        # env.py is not open: nothing is pushed for it
        assert ed.publishes_for(project.env.as_uri()) == []

        # editing the ini (unsaved) re-checks env.py against the buffer
        fixed = ed.texts[ini_uri].replace(SYNC_URL, "postgresql+asyncpg://app:s3cr3t@db/app")
        version = ed.change(ini_uri, fixed)
        assert "ENV001" not in codes(await ed.diagnostics(ini_uri, version))


async def test_editing_alembic_ini_rechecks_the_open_env_py(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        env_uri = ed.open(project.env)
        assert "ENV001" in codes(await ed.diagnostics(env_uri, 1))
        ini_uri = ed.open(project.ini)
        ed.change(
            ini_uri, ed.texts[ini_uri].replace(SYNC_URL, "postgresql+asyncpg://app:s3cr3t@db/app")
        )
        after = await ed.diagnostics(env_uri, 1, where=lambda d: "ENV001" not in codes(d))
        assert "ENV030" in codes(after)
        # closing the ini without saving: env.py is checked against the file on disk again
        ed.close(ini_uri)
        assert "ENV001" in codes(
            await ed.diagnostics(env_uri, 1, where=lambda d: "ENV001" in codes(d))
        )


async def test_versions_follow_the_edits_and_close_clears(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        text = ed.texts[uri].replace(
            "target_metadata = None", "target_metadata = Base.metadata  # noqa: F821"
        )
        version = ed.change(uri, text)
        after = codes(await ed.diagnostics(uri, version))
        assert "ENV001" in after and "ENV030" not in after
        ed.close(uri)
        cleared = await ed.published(uri, None)
        assert len(cleared.diagnostics) == 0
        versions = [p.version for p in ed.publishes_for(uri) if p.version is not None]
        assert versions == sorted(versions)


async def test_a_python_file_that_is_not_an_env_script_gets_no_diagnostics(tmp_path):
    plain = tmp_path / "models.py"
    plain.write_text(
        "import os\nfrom sqlalchemy import create_engine\n"
        "engine = create_engine(os.environ['URL'])\n"
        "def run_migrations_online():\n    pass\n",
        encoding="utf-8",
    )
    async with editor(folders=[tmp_path]) as ed:
        uri = ed.open(plain)
        assert await ed.diagnostics(uri, 1) == []
        version = ed.change(uri, ed.texts[uri] + "x = 1\n")
        assert await ed.diagnostics(uri, version) == []
        assert all(len(p.diagnostics) == 0 for p in ed.publishes_for(uri))


async def test_a_file_becomes_an_env_script_when_it_imports_alembic_context(tmp_path):
    path = tmp_path / "env.py"
    path.write_text("config = None\n", encoding="utf-8")
    async with editor(folders=[tmp_path]) as ed:
        uri = ed.open(path)
        assert await ed.diagnostics(uri, 1) == []
        text = (
            "from alembic import context\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
            "engine = create_async_engine('postgresql+psycopg2://u:pw@h/db')\n"
        )
        version = ed.change(uri, text)
        diagnostics = await ed.diagnostics(uri, version)
        assert at(diagnostics, "ENV001").range == span(text, "'postgresql+psycopg2://u:pw@h/db'")
        version = ed.change(uri, "config = None\n")
        assert await ed.diagnostics(uri, version) == []


async def test_a_burst_of_edits_ends_with_the_last_version(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        base = ed.texts[uri]
        fixed = base.replace("target_metadata = None", "target_metadata = object()")
        for i in range(50):
            ed.change(uri, (fixed if i % 2 else base) + f"# edit {i}\n")
        last = ed.versions[uri]
        final = await ed.published(uri, last)
        # the last text is `fixed` (i = 49)
        assert "ENV001" in codes(final.diagnostics) and "ENV030" not in codes(final.diagnostics)
        versions = [p.version for p in ed.publishes_for(uri)]
        assert versions == sorted(versions), "an older version was published after a newer one"
        # what was published for the last version is what a fresh open of that text shows
    async with editor(folders=[project.root]) as fresh:
        again = fresh.open(project.env, text=ed.texts[uri])
        assert [(d.code, d.range, d.message) for d in await fresh.diagnostics(again, 1)] == [
            (d.code, d.range, d.message) for d in final.diagnostics
        ]


async def test_a_syntax_error_is_reported_and_the_server_keeps_going(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        broken = ed.texts[uri].replace(
            "def run_migrations_online() -> None:", "def run_migrations_online( -> None:"
        )
        version = ed.change(uri, broken)
        diagnostics = await ed.diagnostics(uri, version)
        assert codes(diagnostics) == ["ENV000"]
        assert (
            diagnostics[0].range.start.line == span(broken, "def run_migrations_online(").start.line
        )
        version = ed.change(uri, project.env.read_text(encoding="utf-8"))
        assert "ENV001" in codes(await ed.diagnostics(uri, version))


async def test_save_publishes_again_with_the_same_version(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        first = await ed.diagnostics(uri, 1)
        count = len(ed.publishes_for(uri))
        ed.save(uri)
        for _ in range(600):
            if len(ed.publishes_for(uri)) > count:
                break
            await asyncio.sleep(0.05)
        again = ed.publishes_for(uri)[-1]
        assert again.version == 1
        assert [d.code for d in again.diagnostics] == [d.code for d in first]
