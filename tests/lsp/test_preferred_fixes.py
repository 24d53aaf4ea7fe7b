"""The editor's light bulb: a fix that needs review (unsafe) is never the preferred one, so
"auto fix" (VS Code's editor.action.autoFix, Neovim's apply-preferred) never applies it."""

import pytest
from support.lsp import at, editor

pytestmark = pytest.mark.asyncio


async def test_an_unsafe_fix_is_offered_but_never_preferred(make_project):
    project = make_project(url="postgresql+psycopg2://app:s3cr3t@db/app")
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        diagnostics = await ed.diagnostics(uri, 1, where=lambda d: len(d) > 0)
        env001 = at(diagnostics, "ENV001")
        actions = await ed.code_actions(uri, env001.range, [env001])
        fixes = {a.title: a for a in actions if a.kind == "quickfix"}
        driver = fixes["Use async driver 'postgresql+asyncpg'"]
        assert driver.is_preferred is not True
        assert not any(a.is_preferred for a in actions if a.diagnostics == [env001])
