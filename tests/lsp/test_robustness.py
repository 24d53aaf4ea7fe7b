"""Whatever it is given, the server keeps answering: bad files, bad requests, a crashing
rule, edit storms. After each, a hover on a good env.py still works."""

import asyncio
import sys
import textwrap

import pytest
from lsprotocol import types as t
from support.lsp import codes, editor, find, rng

pytestmark = pytest.mark.asyncio

SYNC_URL = "postgresql+psycopg2://app:s3cr3t@db/app"
ENV_HEADER = "from alembic import context\n"


async def still_answers(ed, project) -> None:
    """The good env.py of `project` is open (or gets opened) and a hover on it works."""
    uri = project.env.as_uri()
    if uri not in ed.texts:
        ed.open(project.env)
    line, col = find(ed.texts[uri], "async_engine_from_config", nth=1)
    hover = await ed.hover(uri, line, col + 2)
    assert hover is not None and "async_engine_from_config" in hover.contents.value


BAD_TEXTS = {
    "empty": "",
    "only a BOM": "\ufeff",
    "NUL bytes": ENV_HEADER + "x = 'a\x00b'\n\x00\n",
    "5000 nested parentheses": ENV_HEADER + "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n",
    "mixed tabs and spaces": ENV_HEADER + "if True:\n\tx = 1\n        y = 2\n",
    "mixed line endings": ENV_HEADER + "a = 1\r\nb = 2\rc = 3\n",
    "lone surrogates": ENV_HEADER + "x = '\udcff'\n",
    "half an import": "from alembic import cont",
}


@pytest.mark.parametrize("name", list(BAD_TEXTS))
async def test_bad_env_text(make_project, tmp_path, name):
    project = make_project()
    bad = tmp_path / "bad" / "env.py"
    bad.parent.mkdir()
    bad.write_text("placeholder\n", encoding="utf-8")
    async with editor(folders=[project.root, tmp_path]) as ed:
        await still_answers(ed, project)
        uri = ed.open(bad, text=BAD_TEXTS[name])
        published = await ed.published(uri, 1)
        assert all(d.source == "alembic-env" for d in published.diagnostics)
        assert await ed.hover(uri, 0, 0) is None or True
        await ed.code_actions(uri, rng(0, 0, 10, 0))
        await still_answers(ed, project)


async def test_the_template_truncated_at_every_line(make_project):
    project = make_project()
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        full = ed.texts[uri]
        lines = full.splitlines(keepends=True)
        for end in range(len(lines) - 1, 0, -1):
            ed.change(uri, "".join(lines[:end]))
        last = ed.versions[uri]
        await ed.published(uri, last)
        version = ed.change(uri, full)
        await ed.published(uri, version)
        await still_answers(ed, project)
        versions = [p.version for p in ed.publishes_for(uri)]
        assert versions == sorted(versions)


async def test_a_ten_megabyte_python_file(make_project, tmp_path):
    project = make_project()
    huge = tmp_path / "huge.py"
    text = "".join(
        f"value_{i} = {i}  # a long enough comment to fill the line\n" for i in range(170_000)
    )
    assert len(text) > 10_000_000
    huge.write_text(text, encoding="utf-8")
    async with editor(folders=[project.root, tmp_path]) as ed:
        uri = ed.open(huge, text=text)
        assert await ed.diagnostics(uri, 1) == []
        lines = len(text.splitlines())
        version = ed.edit(uri, (lines, 0), (lines, 0), "x = 1\n", text + "x = 1\n")
        assert await ed.diagnostics(uri, version) == []
        await still_answers(ed, project)


@pytest.mark.parametrize(
    "ini",
    [
        "binary",
        "interpolation loop",
        "duplicate sections",
        "not utf-8",
    ],
)
async def test_broken_alembic_ini(make_project, ini):
    good = make_project("good")
    project = make_project("broken", url=SYNC_URL)
    if ini == "binary":
        project.ini.write_bytes(b"\x00\x01\x02[alembic]\x00script_location = migrations\n")
    elif ini == "interpolation loop":
        project.ini.write_text(
            "[alembic]\nscript_location = migrations\na = %(b)s\nb = %(a)s\nsqlalchemy.url = %(a)s\n",
            encoding="utf-8",
        )
    elif ini == "duplicate sections":
        project.ini.write_text(
            project.ini.read_text(encoding="utf-8") + "\n[alembic]\nscript_location = migrations\n",
            encoding="utf-8",
        )
    else:
        project.ini.write_bytes(project.ini.read_bytes().replace(b"s3cr3t", b"s3cr\xe9t"))
    async with editor(folders=[good.root, project.root]) as ed:
        uri = ed.open(project.env)
        await ed.published(uri, 1)
        if ini != "binary":
            ini_uri = ed.open(project.ini, text=project.ini.read_bytes().decode("utf-8", "replace"))
            await ed.published(ini_uri, 1)
            line = 2
            await ed.hover(ini_uri, line, 3)
        await still_answers(ed, good)
        assert "s3cr" not in ed.log_text()


async def test_symlink_loop_and_files_outside_every_folder(make_project, tmp_path):
    project = make_project()
    (project.root / "loop").symlink_to(project.root, target_is_directory=True)
    outside = tmp_path / "elsewhere" / "env.py"
    outside.parent.mkdir()
    outside.write_text(
        ENV_HEADER + "target_metadata = None\ncontext.configure(target_metadata=target_metadata)\n",
        encoding="utf-8",
    )
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(
            project.root / "loop" / "loop" / "migrations" / "env.py"
        )  # reached through the loop
        await ed.published(uri, 1)
        other = ed.open(outside)
        assert "ENV030" in codes(await ed.diagnostics(other, 1))
        await still_answers(ed, project)


async def test_unknown_documents_and_positions_out_of_range(make_project, tmp_path):
    project = make_project()
    async with editor(folders=[project.root]) as ed:
        unknown = (tmp_path / "never-opened.py").as_uri()
        assert await ed.hover(unknown, 0, 0) is None
        assert await ed.code_actions(unknown, rng(0, 0, 1, 0)) == []
        lenses = await ed.client.text_document_code_lens_async(
            t.CodeLensParams(text_document=t.TextDocumentIdentifier(uri=unknown))
        )
        assert not lenses
        assert (await ed.command("alembic-env.fixAll", unknown))["applied"] is False
        assert (await ed.command("alembic-env.convertToAsync", unknown))["applied"] is False
        assert (await ed.command("alembic-env.explain", unknown))["markdown"] == ""
        assert (await ed.command("alembic-env.explain"))["markdown"] == ""
        assert (await ed.command("alembic-env.fixAll", 42))["applied"] is False
        # edits to a document the server never saw are ignored
        ed.texts[unknown], ed.versions[unknown] = "", 1
        ed.change(unknown, "x = 1\n")
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        assert await ed.hover(uri, 10_000, 0) is None
        assert await ed.hover(uri, 0, 10_000) is None
        await ed.code_actions(uri, rng(5_000, 0, 9_000, 99))
        await still_answers(ed, project)


async def test_untitled_buffer(make_project):
    project = make_project()
    async with editor(folders=[project.root]) as ed:
        uri = "untitled:Untitled-1"
        ed.texts[uri], ed.versions[uri] = "", 1
        ed.client.text_document_did_open(
            t.DidOpenTextDocumentParams(
                text_document=t.TextDocumentItem(
                    uri=uri,
                    language_id="python",
                    version=1,
                    text=ENV_HEADER + "from sqlalchemy.ext.asyncio import create_async_engine\n"
                    "e = create_async_engine('postgresql+psycopg2://u:pw@h/db')\n",
                )
            )
        )
        assert "ENV001" in codes(await ed.diagnostics(uri, 1))
        await still_answers(ed, project)


async def test_cancelled_requests(make_project, tmp_path):
    project = make_project()
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        big = ed.texts[uri] + "".join(
            f"def helper_{i}(x):\n    return [x for _ in range(3)]\n" for i in range(4000)
        )
        ed.change(uri, big)
        protocol = ed.client.protocol
        pending = [
            protocol.send_request_async(
                t.TEXT_DOCUMENT_HOVER,
                t.HoverParams(
                    text_document=t.TextDocumentIdentifier(uri=uri),
                    position=t.Position(line=3, character=5),
                ),
                msg_id=f"hover-{i}",
            )
            for i in range(5)
        ]
        for i in range(5):
            protocol.notify(t.CANCEL_REQUEST, t.CancelParams(id=f"hover-{i}"))
        for future in pending:
            try:
                await asyncio.wait_for(future, 30)
            except Exception:
                pass  # cancelled: an error response is the expected answer
        version = ed.change(uri, ed.texts[uri].split("def helper_0")[0])
        await ed.published(uri, version)
        await still_answers(ed, project)


async def test_edit_storm(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        base = ed.texts[uri]
        for i in range(1000):
            ed.change(uri, base + f"# edit {i}\n" + ("target_metadata = 1\n" if i % 3 == 0 else ""))
        line, col = find(base, "async_engine_from_config", nth=1)
        hover = await ed.hover(uri, line, col + 2)
        assert hover is not None
        last = await ed.published(uri, ed.versions[uri])
        published = [p.version for p in ed.publishes_for(uri)]
        assert published == sorted(published)
    async with editor(folders=[project.root]) as fresh:
        again = fresh.open(project.env, text=ed.texts[uri])
        assert [(d.code, d.range, d.message) for d in await fresh.diagnostics(again, 1)] == [
            (d.code, d.range, d.message) for d in last.diagnostics
        ]


BROKEN_RULE = textwrap.dedent(
    """
    import sys
    from alembic_env_lsp.rules import all_rules

    def boom(ctx):
        raise RuntimeError("boom while reading postgresql://u:hunter2@h/db")

    for rule in all_rules():
        if rule.code == "ENV030":
            object.__setattr__(rule, "check", boom)

    from alembic_env_lsp.lsp.server import main

    raise SystemExit(main(sys.argv[1:]))
    """
)


async def test_a_crashing_rule_is_logged_and_the_others_still_report(make_project, tmp_path):
    project = make_project(url=SYNC_URL)
    script = tmp_path / "broken_rule_server.py"
    script.write_text(BROKEN_RULE, encoding="utf-8")
    async with editor(folders=[project.root], command=[sys.executable, str(script)]) as ed:
        uri = ed.open(project.env)
        found = codes(await ed.diagnostics(uri, 1))
        assert "ENV001" in found and "ENV030" not in found
        log = await ed.logged("ENV030 failed")
        assert "ENV030 failed: RuntimeError: boom" in log
        assert "hunter2" not in log
        # the same crash on every keystroke is logged once, and never as a popup
        ed.change(uri, ed.texts[uri] + "\n")
        await ed.published(uri, 2)
        assert ed.log_text().count("ENV030 failed") == 1
        assert ed.client.messages == []
        await still_answers(ed, project)


async def test_no_password_is_ever_shown(make_project):
    project = make_project(url="postgresql+psycopg2://app:IniPassw0rd@db/app")
    text = project.env.read_text(encoding="utf-8")
    text = "import os\n" + text.replace(
        "config = context.config\n",
        "config = context.config\n"
        'fallback = os.getenv("DATABASE_URL", "postgresql+psycopg2://app:DefaultPassw0rd@db/app")\n'
        'literal = "postgresql+psycopg2://app:LiteralPassw0rd@db/app"\n',
    )
    secrets = ("IniPassw0rd", "DefaultPassw0rd", "LiteralPassw0rd")
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env, text=text)
        ini_uri = ed.open(project.ini)
        diagnostics = await ed.diagnostics(uri, 1)
        await ed.published(ini_uri, 1)
        shown = []
        for params in ed.client.published:
            for d in params.diagnostics:
                shown.append(d.message)
                shown.extend(r.message for r in d.related_information or ())
        for line_no, line in enumerate(text.splitlines()):
            for needle in ("postgresql", "async_engine_from_config", "getenv", "config"):
                if needle in line:
                    hover = await ed.hover(uri, line_no, line.index(needle) + 2)
                    if hover is not None:
                        shown.append(hover.contents.value)
        for line_no, line in enumerate(ed.texts[ini_uri].splitlines()):
            if "=" in line:
                hover = await ed.hover(ini_uri, line_no, line.index("=") + 2)
                if hover is not None:
                    shown.append(hover.contents.value)
        for d in diagnostics:
            shown.extend(a.title for a in await ed.code_actions(uri, d.range, [d]))
        lenses = await ed.client.text_document_code_lens_async(
            t.CodeLensParams(text_document=t.TextDocumentIdentifier(uri=uri))
        )
        shown.extend(lens.command.title for lens in lenses)
        explained = await ed.command("alembic-env.explain", uri)
        shown.extend([explained["markdown"], explained["summary"]])
        shown.extend(m.message for m in ed.client.log_messages)
        shown.extend(m.message for m in ed.client.messages)
        everything = "\n".join(shown)
        assert "app:***@db/app" in everything
        for secret in secrets:
            assert secret not in everything
