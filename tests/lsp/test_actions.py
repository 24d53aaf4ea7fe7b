"""Code actions as an editor lists and applies them: order, preferred fix, the edit's
version, the document after applying it, fix-all, the async rewrite and ignore comments."""

import pytest
from lsprotocol import types as t
from support.lsp import apply_text_edits, at, capabilities, codes, editor, edits_for, span

pytestmark = pytest.mark.asyncio

ASYNC_URL = "postgresql+asyncpg://app:s3cr3t@db/app"
SYNC_URL = "postgresql+psycopg2://app:s3cr3t@db/app"
PERCENT = 'config.set_main_option("app_option", os.environ["APP_OPTION"])\n'


def with_percent_problem(text: str) -> str:
    """The template plus an option taken from the environment without escaping '%' (ENV013)."""
    return "import os\n" + text.replace(
        "config = context.config\n", "config = context.config\n" + PERCENT, 1
    )


async def test_quick_fix_list_order_and_the_document_after_the_safe_fix(make_project):
    project = make_project(url=ASYNC_URL)
    text = with_percent_problem(project.env.read_text(encoding="utf-8"))
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env, text=text)
        diagnostics = await ed.diagnostics(uri, 1)
        env013 = at(diagnostics, "ENV013")
        assert env013.range == span(text, 'os.environ["APP_OPTION"]')
        actions = await ed.code_actions(uri, env013.range, [env013])
        titles = [a.title for a in actions]
        assert titles == ['Escape with .replace("%", "%%")', "Ignore ENV013 on this line"]
        fix, ignore = actions
        assert fix.kind == "quickfix" and fix.is_preferred is True
        assert ignore.kind == "quickfix" and not ignore.is_preferred
        assert [d.code for d in fix.diagnostics] == ["ENV013"]
        edits, version = edits_for(fix.edit, uri)
        assert version == 1
        assert all(e.range.start.line == e.range.end.line == env013.range.start.line for e in edits)
        fixed = apply_text_edits(text, edits)
        assert 'os.environ["APP_OPTION"].replace("%", "%%"))' in fixed
        assert fixed.replace('.replace("%", "%%")', "") == text
        version = ed.change(uri, fixed)
        assert "ENV013" not in codes(await ed.diagnostics(uri, version))


async def test_ignore_comment_silences_the_diagnostic(make_project):
    project = make_project(url=ASYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        env030 = at(await ed.diagnostics(uri, 1), "ENV030")
        [ignore] = [
            a
            for a in await ed.code_actions(uri, env030.range, [env030])
            if a.title.startswith("Ignore")
        ]
        assert ignore.title == "Ignore ENV030 on this line"
        edits, version = edits_for(ignore.edit, uri)
        after = apply_text_edits(ed.texts[uri], edits)
        assert "target_metadata = None  # noqa: ENV030\n" in after
        version = ed.change(uri, after)
        assert "ENV030" not in codes(await ed.diagnostics(uri, version))


async def test_a_fix_that_edits_alembic_ini(make_project):
    project = make_project(template="generic", url=ASYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        env002 = at(await ed.diagnostics(uri, 1), "ENV002")
        actions = await ed.code_actions(uri, env002.range, [env002])
        titles = [a.title for a in actions]
        assert "Use sync driver 'postgresql+psycopg' for migrations" in titles
        # real fixes first, the ignore comment after them, the rewrite offered once
        assert (
            titles[-1] == "Ignore ENV002 on this line" or titles[-2] == "Ignore ENV002 on this line"
        )
        assert titles.count("Convert env.py to the async connection pattern") == 1
        [fix] = [a for a in actions if a.title.startswith("Use sync driver")]
        assert fix.is_preferred is False  # it changes which package is needed: not applied blindly
        ini_uri = project.ini.as_uri()
        edits, version = edits_for(fix.edit, ini_uri)
        assert version is None  # alembic.ini is not open
        ini_text = project.ini.read_text(encoding="utf-8")
        fixed = apply_text_edits(ini_text, edits)
        assert "sqlalchemy.url = postgresql+psycopg://app:s3cr3t@db/app\n" in fixed
        assert edits_for(fix.edit, uri)[0] == []

        # with alembic.ini open, the edit names its version
        ini_open = ed.open(project.ini)
        ed.change(ini_open, ed.texts[ini_open] + "\n")
        await ed.diagnostics(uri, 1, where=lambda d: True)
        env002 = at(await ed.diagnostics(uri, 1), "ENV002")
        [fix] = [
            a
            for a in await ed.code_actions(uri, env002.range, [env002])
            if a.title.startswith("Use sync driver")
        ]
        assert edits_for(fix.edit, ini_uri)[1] == 2


async def test_quick_fix_offered_on_the_ini_side(make_project):
    project = make_project(url="postgresql+psycopg2://app:s3cr3t@db/app")
    async with editor(folders=[project.root]) as ed:
        ini_uri = ed.open(project.ini)
        twin = at(await ed.diagnostics(ini_uri, 1, where=lambda d: len(d) > 0), "ENV001")
        actions = await ed.code_actions(ini_uri, twin.range, [twin])
        assert [a.title for a in actions] == ["Use async driver 'postgresql+asyncpg'"]
        edits, version = edits_for(actions[0].edit, ini_uri)
        assert version == 1
        fixed = apply_text_edits(ed.texts[ini_uri], edits)
        assert "sqlalchemy.url = postgresql+asyncpg://app:s3cr3t@db/app\n" in fixed
        version = ed.change(ini_uri, fixed)
        assert "ENV001" not in codes(await ed.diagnostics(ini_uri, version))


async def test_source_fix_all_applies_safe_fixes_only(make_project):
    project = make_project(template="generic", url=ASYNC_URL)
    text = with_percent_problem(project.env.read_text(encoding="utf-8"))
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env, text=text)
        diagnostics = await ed.diagnostics(uri, 1)
        assert {"ENV002", "ENV013"} <= set(codes(diagnostics))
        whole = t.Range(
            start=t.Position(line=0, character=0),
            end=t.Position(line=len(text.splitlines()), character=0),
        )
        [fix_all] = await ed.code_actions(uri, whole, diagnostics, only=["source.fixAll"])
        assert fix_all.kind == "source.fixAll.alembic-env"
        edits, version = edits_for(fix_all.edit, uri)
        assert version == 1
        fixed = apply_text_edits(text, edits)
        assert '.replace("%", "%%")' in fixed
        # the unsafe driver change (alembic.ini) is not part of it
        assert edits_for(fix_all.edit, project.ini.as_uri())[0] == []
        # asking for quick fixes only never returns source or refactor actions
        kinds = {a.kind for a in await ed.code_actions(uri, whole, diagnostics, only=["quickfix"])}
        assert kinds == {"quickfix"}


async def test_fix_all_command_applies_through_the_editor(make_project):
    project = make_project(url=ASYNC_URL)
    text = with_percent_problem(project.env.read_text(encoding="utf-8"))
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env, text=text)
        await ed.diagnostics(uri, 1)
        result = await ed.command("alembic-env.fixAll", uri)
        assert result == {"applied": True, "reason": None}
        [request] = ed.client.applied_edits
        edits, version = edits_for(request.edit, uri)
        assert version == 1
        assert '.replace("%", "%%")' in apply_text_edits(text, edits)

        ed.client.apply_ok = False
        refused = await ed.command("alembic-env.fixAll", uri)
        assert refused["applied"] is False and refused["reason"]


async def test_fix_all_with_nothing_to_fix(make_project):
    project = make_project(url=ASYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(
            project.env,
            text=project.env.read_text(encoding="utf-8").replace("= None", "= object()"),
        )
        await ed.diagnostics(uri, 1)
        assert await ed.command("alembic-env.fixAll", uri) == {
            "applied": False,
            "reason": "nothing to fix safely",
        }
        assert ed.client.applied_edits == []


async def test_convert_to_async_command(make_project):
    project = make_project(template="generic", url=ASYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        result = await ed.command("alembic-env.convertToAsync", uri)
        assert result["applied"] is True and result["reason"] is None
        assert result["changes"] >= 1 and result["manual"] == []
        [request] = ed.client.applied_edits
        edits, version = edits_for(request.edit, uri)
        assert version == 1
        before = ed.texts[uri]
        after = apply_text_edits(before, edits)
        assert "asyncio.run(" in after and "async_engine_from_config" in after
        # minimal edits, not one whole-file replacement: the docstrings and comments are untouched
        assert not any(
            e.range.start.line == 0 and e.range.end.line >= len(before.splitlines()) for e in edits
        )
        version = ed.change(uri, after)
        assert "ENV002" not in codes(await ed.diagnostics(uri, version))
        # now async already: nothing to do, and the editor is told why
        again = await ed.command("alembic-env.convertToAsync", uri)
        assert again["applied"] is False and again["reason"]


async def test_convert_to_async_as_a_resolved_code_action(make_project):
    project = make_project(template="generic", url=ASYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        at(await ed.diagnostics(uri, 1), "ENV002")  # the sync engine is reported
        # on a line without a diagnostic, refactorings asked for: computed on resolve, listing stays cheap
        engine_line = span(ed.texts[uri], "connectable = engine_from_config(")
        [rewrite] = [
            a
            for a in await ed.code_actions(uri, engine_line, only=["refactor"])
            if a.kind == "refactor.rewrite"
        ]
        assert rewrite.title == "Convert env.py to the async connection pattern"
        assert rewrite.edit is None and rewrite.data
        resolved = await ed.client.code_action_resolve_async(rewrite)
        edits, version = edits_for(resolved.edit, uri)
        assert version == 1
        assert "asyncio.run(" in apply_text_edits(ed.texts[uri], edits)
        # offered where it applies, not on every line
        far = span(ed.texts[uri], "target_metadata = None")
        assert all(a.kind != "refactor.rewrite" for a in await ed.code_actions(uri, far))
        assert any(
            a.kind == "refactor.rewrite" for a in await ed.code_actions(uri, far, only=["refactor"])
        )


async def test_convert_to_async_for_clients_without_resolve(make_project):
    project = make_project(template="generic", url=ASYNC_URL)
    async with editor(caps=capabilities(resolve=False), folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        engine_line = span(ed.texts[uri], "connectable = engine_from_config(")
        [rewrite] = [
            a
            for a in await ed.code_actions(uri, engine_line, only=["refactor"])
            if a.kind == "refactor.rewrite"
        ]
        assert rewrite.edit is None
        assert rewrite.command.command == "alembic-env.convertToAsync"
        result = await ed.command(rewrite.command.command, *rewrite.command.arguments)
        assert result["applied"] is True


async def test_no_code_actions_for_other_files(tmp_path):
    plain = tmp_path / "app.py"
    plain.write_text("x = 1\n", encoding="utf-8")
    async with editor(folders=[tmp_path]) as ed:
        uri = ed.open(plain)
        await ed.diagnostics(uri, 1)
        whole = t.Range(start=t.Position(line=0, character=0), end=t.Position(line=1, character=0))
        assert await ed.code_actions(uri, whole) == []
        assert await ed.code_actions(uri, whole, only=["source.fixAll"]) == []


async def test_convert_to_async_moves_the_driver_in_alembic_ini_and_says_what_is_left(make_project):
    """The conversion is the project's (as `fix --async`): the ini's psycopg2 URL becomes
    asyncpg in the same WorkspaceEdit, and the result counts the changes for the client."""
    project = make_project(template="generic", url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        result = await ed.command("alembic-env.convertToAsync", uri)
        assert result["applied"] is True and result["reason"] is None
        [request] = ed.client.applied_edits
        env_edits, _ = edits_for(request.edit, uri)
        ini_edits, ini_version = edits_for(request.edit, project.ini.as_uri())
        assert ini_version is None  # not open: the file on disk
        ini_after = apply_text_edits(project.ini.read_text(), ini_edits)
        assert "sqlalchemy.url = postgresql+asyncpg://app:s3cr3t@db/app" in ini_after
        assert result["changes"] == len(env_edits) + len(ini_edits) == 7
        assert result["manual"] == []  # nothing left to change by hand
