"""The code lens names the driver alembic.ini gives: when the ini changes (edited in the
editor, or on disk), the server asks the editor to fetch the lens again, and it is new."""

import asyncio

import pytest
from lsprotocol import types as t
from support.lsp import editor

pytestmark = pytest.mark.asyncio

SYNC_URL = "postgresql+psycopg2://app:s3cr3t@db/app"
ASYNC_URL = "postgresql+asyncpg://app:s3cr3t@db/app"


async def lens_title(ed, uri) -> str:
    [lens] = await ed.client.text_document_code_lens_async(
        t.CodeLensParams(text_document=t.TextDocumentIdentifier(uri=uri))
    )
    return lens.command.title


async def refreshed(ed, before: int) -> bool:
    for _ in range(200):
        if ed.client.code_lens_refresh_count > before:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_editing_alembic_ini_refreshes_the_lens(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        assert "postgresql+psycopg2://app:***@db/app" in await lens_title(ed, uri)
        ini_uri = ed.open(project.ini)
        before = ed.client.code_lens_refresh_count
        ed.change(ini_uri, ed.texts[ini_uri].replace(SYNC_URL, ASYNC_URL))
        assert await refreshed(ed, before)
        title = await lens_title(ed, uri)
        assert "postgresql+asyncpg://app:***@db/app" in title and "psycopg2" not in title


async def test_alembic_ini_changed_on_disk_refreshes_the_lens(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        before = ed.client.code_lens_refresh_count
        project.set_url(ASYNC_URL)
        ed.client.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams(
                changes=[t.FileEvent(uri=project.ini.as_uri(), type=t.FileChangeType.Changed)]
            )
        )
        assert await refreshed(ed, before)
        assert "postgresql+asyncpg://app:***@db/app" in await lens_title(ed, uri)


async def test_typing_in_env_py_does_not_ask_for_a_refresh(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        before = ed.client.code_lens_refresh_count
        for n in range(3):
            ed.change(uri, ed.texts[uri] + f"\n# edit {n}\n")
        await ed.diagnostics(uri, 4)
        await asyncio.sleep(0.2)
        assert ed.client.code_lens_refresh_count == before
