"""Columns and lines as the editor counts them: UTF-16 by default, negotiated encodings,
CRLF, lone CR, BOM, form feeds, and incremental edits on such lines."""

import pytest
from support.lsp import at, capabilities, editor, rng, span

pytestmark = pytest.mark.asyncio

HEADER = "from alembic import context\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
LITERAL = "'postgresql+psycopg2://u:pw@h/db'"
LINE = f"note = '😀 ünïcode 𝔘'; engine = create_async_engine({LITERAL})\n"


async def test_utf16_columns_after_astral_characters(tmp_path):
    path = tmp_path / "env.py"
    text = HEADER + LINE
    path.write_text(text, encoding="utf-8")
    async with editor(folders=[tmp_path]) as ed:
        assert ed.init.capabilities.position_encoding in (None, "utf-16")
        uri = ed.open(path)
        diagnostic = at(await ed.diagnostics(uri, 1), "ENV001")
        # '😀' and '𝔘' are two UTF-16 units each: the literal starts 2 units later than in code points
        assert diagnostic.range == span(text, LITERAL)
        assert diagnostic.range.start.character == LINE.index(LITERAL) + 2


@pytest.mark.parametrize("encoding", ["utf-32", "utf-8"])
async def test_negotiated_encodings_are_honoured(tmp_path, encoding):
    path = tmp_path / "env.py"
    text = HEADER + LINE
    path.write_text(text, encoding="utf-8")
    async with editor(caps=capabilities(encodings=[encoding]), folders=[tmp_path]) as ed:
        assert ed.init.capabilities.position_encoding == encoding
        uri = ed.open(path)
        diagnostic = at(await ed.diagnostics(uri, 1), "ENV001")
        prefix = LINE[: LINE.index(LITERAL)]
        expected = len(prefix) if encoding == "utf-32" else len(prefix.encode("utf-8"))
        assert (diagnostic.range.start.line, diagnostic.range.start.character) == (2, expected)
        # hover in the same units lands on the literal
        hover = await ed.hover(uri, 2, expected + 3)
        assert hover is not None and "psycopg2" in hover.contents.value


async def test_emacs_negotiates_utf32(tmp_path):
    path = tmp_path / "env.py"
    path.write_text(HEADER + LINE, encoding="utf-8")
    async with editor(caps=capabilities("emacs"), folders=[tmp_path]) as ed:
        assert ed.init.capabilities.position_encoding == "utf-32"
        uri = ed.open(path)
        diagnostic = at(await ed.diagnostics(uri, 1), "ENV001")
        assert diagnostic.range.start.character == LINE.index(LITERAL)


async def test_crlf_file(make_project):
    project = make_project(url="postgresql+psycopg2://app:s3cr3t@db/app")
    lf = project.env.read_text(encoding="utf-8")
    crlf = lf.replace("\n", "\r\n")
    project.env.write_bytes(crlf.encode("utf-8"))
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env, text=crlf)
        diagnostic = at(await ed.diagnostics(uri, 1), "ENV001")
        assert diagnostic.range == span(lf, "async_engine_from_config", nth=1)


async def test_lone_cr_line_breaks_count_as_lines(tmp_path):
    path = tmp_path / "env.py"
    text = "# old mac line\r" + HEADER + LINE
    path.write_bytes(text.encode("utf-8"))
    async with editor(folders=[tmp_path]) as ed:
        uri = ed.open(path, text=text)
        diagnostic = at(await ed.diagnostics(uri, 1), "ENV001")
        assert diagnostic.range.start.line == 3
        assert diagnostic.range == span(text, LITERAL)


async def test_bom_and_crlf_on_disk_with_only_the_ini_open(make_project):
    project = make_project(url="postgresql+psycopg2://app:s3cr3t@db/app")
    lf = project.env.read_text(encoding="utf-8")
    project.env.write_bytes(b"\xef\xbb\xbf" + lf.replace("\n", "\r\n").encode("utf-8"))
    ini_lf = project.ini.read_text(encoding="utf-8")
    project.ini.write_bytes(b"\xef\xbb\xbf" + ini_lf.replace("\n", "\r\n").encode("utf-8"))
    async with editor(folders=[project.root]) as ed:
        # an editor shows the ini without its BOM
        ini_uri = ed.open(project.ini, text=ini_lf.replace("\n", "\r\n"))
        diagnostics = await ed.diagnostics(
            ini_uri, 1, where=lambda d: any(x.code == "ENV001" for x in d)
        )
        twin = at(diagnostics, "ENV001")
        line = project.ini_line("sqlalchemy.url")
        assert twin.range == rng(
            line, 17, line, len("sqlalchemy.url = postgresql+psycopg2://app:s3cr3t@db/app")
        )
        # it points at the env.py line as the editor shows it (BOM not counted)
        [related] = twin.related_information
        assert related.location.uri == project.env.as_uri()
        assert related.location.range == span(lf, "async_engine_from_config", nth=1)


async def test_a_bom_sent_inside_the_text_does_not_shift_later_lines(tmp_path):
    path = tmp_path / "env.py"
    text = "\ufeff" + HEADER + LINE
    path.write_text(text, encoding="utf-8")
    async with editor(folders=[tmp_path]) as ed:
        uri = ed.open(path, text=text)
        diagnostic = at(await ed.diagnostics(uri, 1), "ENV001")
        assert diagnostic.range == span(text, LITERAL)


async def test_incremental_edits_after_a_form_feed_and_astral_characters(tmp_path):
    # LSP breaks lines only at \n, \r\n and \r: a form feed (PEP 8's page break) is not a line
    # break, so an edit after it must land on the line the editor means.
    path = tmp_path / "env.py"
    good = "'postgresql+asyncpg://u:pw@h/db'"
    text = (
        HEADER + "# section one\x0c more\n" + f"note = '😀'; engine = create_async_engine({good})\n"
    )
    path.write_text(text, encoding="utf-8")
    async with editor(folders=[tmp_path]) as ed:
        uri = ed.open(path, text=text)
        before = await ed.diagnostics(uri, 1)
        assert all(d.code != "ENV001" for d in before)
        # replace "asyncpg" with "psycopg2" on line 3, addressed in UTF-16 units
        line, col = span(text, "asyncpg", nth=0).start.line, span(text, "asyncpg").start.character
        assert line == 3
        expected = text.replace("asyncpg", "psycopg2")
        version = ed.edit(uri, (line, col), (line, col + len("asyncpg")), "psycopg2", expected)
        after = await ed.diagnostics(uri, version)
        assert at(after, "ENV001").range == span(expected, "'postgresql+psycopg2://u:pw@h/db'")
        # typing a line break before it moves it one line down
        expected2 = expected.replace("note =", "\nnote =")
        version = ed.edit(uri, (3, 0), (3, 0), "\n", expected2)
        moved = await ed.diagnostics(uri, version)
        assert at(moved, "ENV001").range == span(expected2, "'postgresql+psycopg2://u:pw@h/db'")
        assert at(moved, "ENV001").range.start.line == 4


async def test_incremental_edits_in_a_crlf_file(make_project):
    project = make_project(url="postgresql+asyncpg://app:s3cr3t@db/app")
    crlf = project.env.read_text(encoding="utf-8").replace("\n", "\r\n")
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env, text=crlf)
        assert all(d.code != "ENV030" or True for d in await ed.diagnostics(uri, 1))
        target = span(crlf, "target_metadata = None")
        fixed = crlf.replace("target_metadata = None", "target_metadata = object()  # noqa")
        version = ed.edit(
            uri, (target.start.line, 18), (target.start.line, 22), "object()  # noqa", fixed
        )
        after = await ed.diagnostics(uri, version)
        assert all(d.code != "ENV030" for d in after)
        # the line the server now has is the line the editor has
        hover = await ed.hover(uri, target.start.line, 20)
        assert (
            hover is None
            or "target_metadata" in hover.contents.value
            or "object" in hover.contents.value
        )
