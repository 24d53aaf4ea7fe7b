"""Hover text, the code lens and the explain command, as the editor shows them."""

import pytest
from lsprotocol import types as t
from support.lsp import at, editor, find

pytestmark = pytest.mark.asyncio

SYNC_URL = "postgresql+psycopg2://app:s3cr3t@db/app"


async def code_lenses(ed, uri):
    return await ed.client.text_document_code_lens_async(
        t.CodeLensParams(text_document=t.TextDocumentIdentifier(uri=uri))
    )


async def test_hover_on_the_engine_factory_explains_it_with_this_files_facts(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        env001 = at(await ed.diagnostics(uri, 1), "ENV001")
        line, col = find(ed.texts[uri], "async_engine_from_config", nth=1)
        hover = await ed.hover(uri, line, col + 3)
        text = hover.contents.value
        assert hover.contents.kind == "markdown"
        assert "async_engine_from_config" in text
        assert "psycopg2" in text and "async" in text.lower()
        # over the diagnostic: its message and where the rule is documented (not the whole page)
        assert "⚠ **ENV001** (error)" in text
        assert "Docs: `alembic-env-lsp explain ENV001`, docs/rules.md#env001." in text
        assert "**What it does.**" not in text
        assert "s3cr3t" not in text
        assert hover.range.start.line == env001.range.start.line


async def test_hover_on_sqlalchemy_url_in_alembic_ini(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        ed.open(project.env)
        ini_uri = ed.open(project.ini)
        await ed.diagnostics(ini_uri, 1, where=lambda d: len(d) > 0)
        line = project.ini_line("sqlalchemy.url")
        hover = await ed.hover(ini_uri, line, 25)
        text = hover.contents.value
        assert "psycopg2" in text and "postgresql" in text
        assert "s3cr3t" not in text and "***" in text
        assert "ENV001" in text  # the finding shown on that line


async def test_no_hover_where_there_is_nothing_to_say(make_project):
    project = make_project()
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        blank = ed.texts[uri].splitlines().index("")
        assert await ed.hover(uri, blank, 0) is None


async def test_hover_answers_from_the_current_version(make_project):
    project = make_project()
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        env030 = at(await ed.diagnostics(uri, 1), "ENV030")
        # change and hover at once: the answer is about the new text, not the old analysis
        ed.change(uri, ed.texts[uri].replace("target_metadata = None", "target_metadata = 42"))
        hover = await ed.hover(uri, env030.range.start.line, env030.range.start.character + 1)
        assert hover is None or "ENV030" not in hover.contents.value


async def test_code_lens_summarises_the_env_script(make_project):
    project = make_project()
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        [lens] = await code_lenses(ed, uri)
        assert lens.range.start.line == 0
        assert lens.command.command == "alembic-env.explain"
        assert list(lens.command.arguments) == [uri]
        title = lens.command.title
        assert "async engine" in title and "alembic.ini" in title
        assert "postgresql+asyncpg://app:***@db/app" in title and "s3cr3t" not in title


async def test_code_lens_can_be_turned_off(make_project):
    project = make_project()
    async with editor(init_options={"settings": {"codeLens": False}}, folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        assert len(await code_lenses(ed, uri)) == 0


async def test_no_code_lens_on_other_python_files(tmp_path):
    plain = tmp_path / "models.py"
    plain.write_text("x = 1\n", encoding="utf-8")
    async with editor(folders=[tmp_path]) as ed:
        uri = ed.open(plain)
        await ed.diagnostics(uri, 1)
        assert len(await code_lenses(ed, uri)) == 0


async def test_explain_command_returns_markdown_and_summary(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        result = await ed.command("alembic-env.explain", uri)
        assert set(result) >= {"markdown", "summary"}
        assert "```mermaid" in result["markdown"]
        assert "ENV001" in result["markdown"]
        assert result["summary"] and "s3cr3t" not in result["summary"] + result["markdown"]


async def test_explain_a_file_that_is_not_open(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        result = await ed.command("alembic-env.explain", project.env.as_uri())
        assert "```mermaid" in result["markdown"] and "s3cr3t" not in result["markdown"]
        nothing = await ed.command("alembic-env.explain", (project.root / "missing.py").as_uri())
        assert nothing["markdown"] == "" and nothing["summary"] == ""


async def test_no_alembic_hover_on_other_ini_files(make_project):
    project = make_project(url=SYNC_URL)
    other = project.root / "pytest.ini"
    other.write_text("[pytest]\nsqlalchemy.url = postgresql+psycopg2://a:b@h/d\n")
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(other)
        await ed.diagnostics(uri, 1)
        assert await ed.hover(uri, 1, 25) is None
