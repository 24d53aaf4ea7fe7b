"""Pull diagnostics (textDocument/diagnostic) for clients that support them: then nothing
is pushed, results carry ids, and changes the editor cannot see trigger a refresh."""

import asyncio

import pytest
from lsprotocol import types as t
from support.lsp import at, capabilities, codes, editor

pytestmark = pytest.mark.asyncio

SYNC_URL = "postgresql+psycopg2://app:s3cr3t@db/app"


async def test_pull_instead_of_push(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(caps=capabilities(pull=True), folders=[project.root]) as ed:
        assert ed.init.capabilities.diagnostic_provider.inter_file_dependencies is True
        uri = ed.open(project.env)
        report = await ed.pull(uri)
        assert report.kind == "full"
        assert "ENV001" in codes(report.items)
        # unchanged text: the editor keeps what it has
        again = await ed.pull(uri, report.result_id)
        assert again.kind == "unchanged" and again.result_id == report.result_id
        # after an edit, the pull waits for the analysis of the new text
        ed.change(uri, ed.texts[uri].replace("target_metadata = None", "target_metadata = 42"))
        changed = await ed.pull(uri, report.result_id)
        assert changed.kind == "full" and "ENV030" not in codes(changed.items)
        await asyncio.sleep(0.2)
        assert ed.client.published == []


async def test_pull_on_alembic_ini(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(caps=capabilities(pull=True), folders=[project.root]) as ed:
        ini_uri = ed.open(project.ini)
        report = await ed.pull(ini_uri)
        twin = at(report.items, "ENV001")
        assert twin.range.start.line == project.ini_line("sqlalchemy.url")


async def test_settings_change_asks_the_editor_to_pull_again(make_project):
    project = make_project()
    async with editor(caps=capabilities(pull=True, refresh=True), folders=[project.root]) as ed:
        uri = ed.open(project.env)
        assert at((await ed.pull(uri)).items, "ENV030").severity == 2
        before = ed.client.diagnostic_refresh_count
        ed.client.set_configuration({"severity": {"ENV030": "error"}}, section="alembicEnv")
        ed.client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
        for _ in range(200):
            if ed.client.diagnostic_refresh_count > before:
                break
            await asyncio.sleep(0.05)
        assert ed.client.diagnostic_refresh_count > before
        assert at((await ed.pull(uri)).items, "ENV030").severity == 1


async def test_neovim_011_pulls(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(caps=capabilities("neovim"), folders=[project.root]) as ed:
        uri = ed.open(project.env)
        assert "ENV001" in codes((await ed.pull(uri)).items)


async def test_pull_for_files_it_does_not_know(tmp_path):
    async with editor(caps=capabilities(pull=True), folders=[tmp_path]) as ed:
        report = await ed.pull((tmp_path / "nothing.py").as_uri())
        assert report.kind == "full" and len(report.items) == 0
