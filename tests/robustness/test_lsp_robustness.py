"""The language server end to end (pytest-lsp, tests/support/lsp.py): it keeps answering
after every kind of bad input (documents, files on disk, requests, a crashing rule), survives
an edit storm with the right diagnostics, runs no user code, opens no socket and shows no
password."""

import asyncio
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from lsprotocol import types as t
from support.lsp import codes, editor, find, rng
from support.robustness import ROBUST_FIXTURES, ROOT, RandomStrategies, template_env, template_ini

pytestmark = pytest.mark.asyncio

WRAPPER = ROOT / "tests" / "support" / "lsp_stderr_wrapper.py"
ASYNC = template_env("async")
SYNC_URL = "postgresql+psycopg2://app:StormPw8Zk@db/app"


def make_project(
    root: Path, url: str = "postgresql+asyncpg://app:GoodPw1Aa@db/app", env_text: str = ASYNC
) -> Path:
    (root / "migrations").mkdir(parents=True)
    (root / "migrations" / "env.py").write_text(env_text, encoding="utf-8")
    ini = template_ini("async", url).replace(
        "script_location = %(here)s", "script_location = %(here)s/migrations"
    )
    (root / "alembic.ini").write_text(ini, encoding="utf-8")
    return root


async def still_answers(ed, good: Path) -> None:
    """A hover on the good env.py works (opening it first if needed)."""
    env = good / "migrations" / "env.py"
    uri = env.as_uri()
    if uri not in ed.texts:
        ed.open(env)
    line, col = find(ed.texts[uri], "async_engine_from_config", nth=1)
    hover = await ed.hover(uri, line, col + 2)
    assert hover is not None and "async_engine_from_config" in hover.contents.value


async def poke(ed, uri: str, text: str) -> None:
    """Everything an editor asks about a document: hovers, actions (resolved), lens, commands."""
    lines = text.split("\n") or [""]
    for line in range(0, len(lines), max(1, len(lines) // 15)):
        await ed.hover(uri, line, min(4, len(lines[line])))
    actions = await ed.code_actions(uri, rng(0, 0, len(lines), 0))
    for action in actions:
        if isinstance(action, t.CodeAction) and action.edit is None and action.data is not None:
            await ed.client.code_action_resolve_async(action)
    await ed.client.text_document_code_lens_async(
        t.CodeLensParams(text_document=t.TextDocumentIdentifier(uri=uri))
    )
    for command in ("alembic-env.explain", "alembic-env.convertToAsync", "alembic-env.fixAll"):
        try:
            await asyncio.wait_for(ed.command(command, uri), 60)
        except asyncio.TimeoutError:
            raise
        except Exception:
            pass  # an error response is an answer


def _mixed(text: str) -> str:
    lines = text.split("\n")
    return (
        "".join(
            line + ("\r\n" if i % 3 == 1 else "\r" if i % 3 == 2 and lines[i + 1] else "\n")
            for i, line in enumerate(lines[:-1])
        )
        + lines[-1]
    )


BAD_TEXTS = {
    "empty": "",
    "only a BOM": "\ufeff",
    "NUL bytes": ASYNC.replace("import pool", "import pool\x00", 1),
    "5,000 nested parentheses": ASYNC + "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n",
    "5,000 nested brackets": ASYNC + "x = " + "[" * 5000 + "]" * 5000 + "\n",
    "CRLF": ASYNC.replace("\n", "\r\n"),
    "mixed line endings": _mixed(ASYNC),
    "mixed tabs and spaces": ASYNC.replace(
        "        context.run_migrations()", "        pass\n\tcontext.run_migrations()", 1
    ),
    "10 MB": ASYNC + ("# " + "x" * 76 + "\n") * (10 * 1024 * 1024 // 79),
    "lone surrogates": ASYNC + "x = '\udcff'\n",
    "half an import": "from alembic import cont",
}


async def test_every_bad_document_leaves_the_server_answering(tmp_path):
    good = make_project(tmp_path / "good")
    bad = tmp_path / "bad"
    bad.mkdir()
    async with editor(folders=[good, bad]) as ed:
        await still_answers(ed, good)
        for index, text in enumerate(BAD_TEXTS.values()):
            path = bad / f"case{index}" / "env.py"
            path.parent.mkdir()
            path.write_text("", encoding="utf-8")
            uri = ed.open(path, text=text)
            await ed.published(uri, 1)
            await poke(ed, uri, text)
            await still_answers(ed, good)
            ed.close(uri)
        # the template truncated at every line, as one document edited down and back up
        uri = ed.open(bad / "case0" / "env.py", text=ASYNC)
        lines = ASYNC.splitlines(keepends=True)
        for end in range(len(lines)):
            ed.change(uri, "".join(lines[:end]))
            await ed.hover(uri, max(end - 1, 0), 0)
        version = ed.change(uri, ASYNC)
        await ed.published(uri, version)
        await still_answers(ed, good)


@pytest.mark.parametrize(
    "name",
    [
        "interpolation loop",
        "binary",
        "duplicate sections",
        "not UTF-8",
        "pyproject.toml not TOML",
        "env.py not UTF-8 on disk",
    ],
)
async def test_broken_files_on_disk_leave_the_server_answering(tmp_path, name):
    good = make_project(tmp_path / "good")
    project = make_project(tmp_path / "broken", url=SYNC_URL)
    ini, env = project / "alembic.ini", project / "migrations" / "env.py"
    if name == "interpolation loop":
        ini.write_text(
            "[alembic]\nscript_location = %(here)s/migrations\na = %(b)s\nb = %(a)s\nsqlalchemy.url = postgresql://u:LoopPw3Rt@h/%(a)s\n",
            encoding="utf-8",
        )
    elif name == "binary":
        ini.write_bytes(bytes(range(256)) * 64)
    elif name == "duplicate sections":
        ini.write_text(
            ini.read_text(encoding="utf-8")
            + "\n[alembic]\nscript_location = %(here)s/migrations\n",
            encoding="utf-8",
        )
    elif name == "not UTF-8":
        ini.write_bytes(ini.read_bytes().replace(b"StormPw8Zk", b"Storm\xe9Pw8Zk"))
    elif name == "pyproject.toml not TOML":
        (project / "pyproject.toml").write_bytes(b"[tool.alembic-env-lsp\nselect = ['ENV0\n\x00")
    else:
        env.write_bytes(env.read_bytes().replace(b"# this is", b"# th\xff\xfeis", 1))
    async with editor(folders=[good, project]) as ed:
        await still_answers(ed, good)
        # the env.py is known only from disk: explain reads it there
        await ed.command("alembic-env.explain", env.as_uri())
        text = env.read_bytes().decode("utf-8", "replace")
        uri = ed.open(env, text=text)
        await ed.published(uri, 1)
        await poke(ed, uri, text)
        ini_text = ini.read_bytes().decode("utf-8", "replace")
        ini_uri = ed.open(ini, text=ini_text)
        await ed.published(ini_uri, 1)
        for line in range(min(len(ini_text.split("\n")), 60)):
            await ed.hover(ini_uri, line, 2)
        await still_answers(ed, good)
        shown = ed.log_text() + "".join(
            d.message for p in ed.client.published for d in p.diagnostics
        )
        assert "LoopPw3Rt" not in shown and "Pw8Zk" not in shown


async def test_workspace_oddities_and_bad_requests(tmp_path):
    good = make_project(tmp_path / "good")
    (good / "loop").symlink_to(good, target_is_directory=True)
    (good / "a").symlink_to(good / "b")
    (good / "b").symlink_to(good / "a")
    outside = tmp_path / "elsewhere" / "env.py"
    outside.parent.mkdir()
    outside.write_text(ASYNC, encoding="utf-8")
    async with editor(folders=[good]) as ed:
        uri = ed.open(good / "loop" / "loop" / "migrations" / "env.py")
        await ed.published(uri, 1)
        other = ed.open(outside)
        assert "ENV030" in codes(await ed.diagnostics(other, 1))  # a file outside every folder
        await still_answers(ed, good)
        unknown = (tmp_path / "never-opened.py").as_uri()
        assert await ed.code_actions(unknown, rng(0, 0, 1, 0)) == []
        assert not await ed.client.text_document_code_lens_async(
            t.CodeLensParams(text_document=t.TextDocumentIdentifier(uri=unknown))
        )
        assert (await ed.command("alembic-env.fixAll", unknown))["applied"] is False
        assert (await ed.command("alembic-env.convertToAsync", unknown))["applied"] is False
        assert (await ed.command("alembic-env.explain", unknown))["markdown"] == ""
        assert (await ed.command("alembic-env.explain"))["markdown"] == ""
        assert (await ed.command("alembic-env.fixAll", 42))["applied"] is False
        ed.texts[unknown], ed.versions[unknown] = "", 1
        ed.change(unknown, "x = 1\n")  # an edit to a document the server never saw: ignored
        for target in (
            unknown,
            "untitled:nothing",
            "file:///dev/null",
            "https://example.invalid/env.py",
            "not a uri",
        ):
            assert await ed.hover(target, 0, 0) is None
            await ed.code_actions(target, rng(0, 0, 1, 0))
            await ed.client.text_document_code_lens_async(
                t.CodeLensParams(text_document=t.TextDocumentIdentifier(uri=target))
            )
            for command in (
                "alembic-env.explain",
                "alembic-env.convertToAsync",
                "alembic-env.fixAll",
            ):
                await ed.command(command, target)
        good_uri = (good / "migrations" / "env.py").as_uri()
        for line, character in ((10**6, 0), (0, 10**6), (10**6, 10**6), (2**31 - 1, 2**31 - 1)):
            await ed.hover(good_uri, line, character)
            await ed.code_actions(good_uri, rng(line, character, line, character))
        await ed.code_actions(good_uri, rng(30, 0, 2, 0))  # a range that ends before it starts
        await still_answers(ed, good)
        # cancelled requests, on a slow-ish document
        big = ed.texts[good_uri] + "".join(
            f"def helper_{i}(x):\n    return [x for _ in range(3)]\n" for i in range(3000)
        )
        version = ed.change(good_uri, big)
        protocol = ed.client.protocol
        pending = []
        for i in range(10):
            for method, params in (
                (
                    t.TEXT_DOCUMENT_HOVER,
                    t.HoverParams(
                        text_document=t.TextDocumentIdentifier(uri=good_uri),
                        position=t.Position(line=40, character=8),
                    ),
                ),
                (
                    t.TEXT_DOCUMENT_CODE_ACTION,
                    t.CodeActionParams(
                        text_document=t.TextDocumentIdentifier(uri=good_uri),
                        range=rng(0, 0, 90, 0),
                        context=t.CodeActionContext(diagnostics=[]),
                    ),
                ),
                (
                    t.WORKSPACE_EXECUTE_COMMAND,
                    t.ExecuteCommandParams(command="alembic-env.explain", arguments=[good_uri]),
                ),
            ):
                msg_id = f"cancel-{method}-{i}"
                pending.append(protocol.send_request_async(method, params, msg_id=msg_id))
                protocol.notify(t.CANCEL_REQUEST, t.CancelParams(id=msg_id))
        for future in pending:
            try:
                await asyncio.wait_for(future, 60)
            except asyncio.TimeoutError:
                raise
            except Exception:
                pass  # a cancellation error is an answer
        await ed.published(good_uri, version)
        version = ed.change(good_uri, ASYNC)
        await ed.published(good_uri, version)
        await still_answers(ed, good)


def _cli_rows(path: Path) -> list:
    result = subprocess.run(
        [sys.executable, "-m", "alembic_env_lsp", "check", "--format", "json", str(path)],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def _lsp_rows(diagnostics) -> list:
    severity = {1: "error", 2: "warning", 3: "info", 4: "hint"}
    return sorted(
        (
            d.code,
            d.range.start.line,
            d.range.start.character,
            d.range.end.line,
            d.range.end.character,
            severity[d.severity],
            d.message,
        )
        for d in diagnostics
    )


def _as_rows(rows, name: str) -> list:
    return sorted(
        (
            r["code"],
            r["range"]["start"]["line"],
            r["range"]["start"]["character"],
            r["range"]["end"]["line"],
            r["range"]["end"]["character"],
            r["severity"],
            r["message"],
        )
        for r in rows
        if Path(r["path"]).name == name
    )


async def test_untitled_buffer_is_checked(tmp_path):
    good = make_project(tmp_path / "good")
    async with editor(folders=[good]) as ed:
        uri = "untitled:Untitled-1"
        ed.texts[uri], ed.versions[uri] = "", 1
        ed.client.text_document_did_open(
            t.DidOpenTextDocumentParams(
                text_document=t.TextDocumentItem(
                    uri=uri,
                    language_id="python",
                    version=1,
                    text="from alembic import context\n"
                    "from sqlalchemy.ext.asyncio import create_async_engine\n"
                    "e = create_async_engine('postgresql+psycopg2://u:pw@h/db')\n",
                )
            )
        )
        assert "ENV001" in codes(await ed.diagnostics(uri, 1))
        await still_answers(ed, good)


async def test_a_ten_megabyte_python_file_that_is_no_env_script(tmp_path):
    good = make_project(tmp_path / "good")
    huge = tmp_path / "huge.py"
    text = "".join(
        f"value_{i} = {i}  # a long enough comment to fill the line\n" for i in range(170_000)
    )
    assert len(text) > 10_000_000
    huge.write_text(text, encoding="utf-8")
    async with editor(folders=[good, tmp_path]) as ed:
        uri = ed.open(huge, text=text)
        assert await ed.diagnostics(uri, 1) == []
        lines = len(text.splitlines())
        version = ed.edit(uri, (lines, 0), (lines, 0), "x = 1\n", text + "x = 1\n")
        assert await ed.diagnostics(uri, version) == []
        await still_answers(ed, good)


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


async def test_a_crashing_rule_is_logged_and_the_others_still_report(tmp_path):
    project = make_project(tmp_path / "app", url=SYNC_URL)
    script = tmp_path / "broken_rule_server.py"
    script.write_text(BROKEN_RULE, encoding="utf-8")
    async with editor(folders=[project], command=[sys.executable, str(script)]) as ed:
        uri = ed.open(project / "migrations" / "env.py")
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


@pytest.mark.parametrize("style", ["whole document", "typing"])
async def test_edit_storm(tmp_path, style):
    project = make_project(tmp_path / "app", url=SYNC_URL)
    env = project / "migrations" / "env.py"
    async with editor(folders=[project]) as ed:
        uri = ed.open(env)
        await ed.diagnostics(uri, 1)
        base = ed.texts[uri]
        if style == "whole document":
            for i in range(1000):
                # every third version does not parse; the last one does
                ed.change(
                    uri,
                    base + f"# edit {i}\n" + ("x = (\n" if i % 3 == 1 else "target_metadata = 1\n"),
                )
        else:  # one character at a time at the end of the file, as typed
            text = base
            typed = "".join(f"target_metadata = {i}  # é😀\n" for i in range(40))[:1000]
            line = text.count("\n")
            column = 0
            for char in typed:
                expected = text + char
                ed.edit(uri, (line, column), (line, column), char, expected)
                text = expected
                if char == "\n":
                    line, column = line + 1, 0
                else:
                    column += 2 if ord(char) > 0xFFFF else 1
        last_version = ed.versions[uri]
        assert last_version == 1001
        line, col = find(base, "async_engine_from_config", nth=1)
        hover = await ed.hover(uri, line, col + 2)
        assert hover is not None and "async_engine_from_config" in hover.contents.value
        last = await ed.published(uri, last_version)
        await asyncio.sleep(1.0)  # anything still in flight would arrive now
        versions = [p.version for p in ed.publishes_for(uri)]
        assert versions == sorted(versions), "a superseded version was published after a newer one"
        assert versions[-1] == last_version
        final = ed.texts[uri]
    env.write_text(final, encoding="utf-8", newline="")
    expected = _as_rows(_cli_rows(env), "env.py")
    assert expected, "the final text has findings"
    assert _lsp_rows(last.diagnostics) == expected


async def test_the_server_runs_no_user_code_and_opens_no_socket(tmp_path):
    """The canary project, with everything an editor asks; the server runs under the socket
    guard (proved by its own log), and the suite-wide canary check covers the rest."""
    project = tmp_path / "canary"
    shutil.copytree(ROBUST_FIXTURES / "canary", project)
    proof, log = tmp_path / "guard-proof", tmp_path / "sockets.jsonl"
    env = {"ALEMBIC_ENV_LSP_SOCKET_GUARD_PROOF": str(proof), "ALEMBIC_ENV_LSP_SOCKET_LOG": str(log)}
    serve = [sys.executable, "-m", "alembic_env_lsp", "serve"]  # the documented entry point
    async with editor(folders=[project], env=env, command=serve) as ed:
        for path in (
            project / "migrations" / "env.py",
            project / "migrations" / "canary_settings.py",
            project / "canary_app" / "models.py",
        ):
            uri = ed.open(path)
            await ed.published(uri, 1)
            await poke(ed, uri, ed.texts[uri])
        ini_uri = ed.open(project / "alembic.ini")
        await ed.published(ini_uri, 1)
        await poke(ed, ini_uri, ed.texts[ini_uri])
        ed.client.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams(
                changes=[
                    t.FileEvent(
                        uri=(project / "alembic.ini").as_uri(), type=t.FileChangeType.Changed
                    )
                ]
            )
        )
        await still_answers_canary(ed, project)
    assert proof.read_text().split(), "the server did not run under the socket guard"
    assert not log.exists() or log.read_text() == ""


async def still_answers_canary(ed, project: Path) -> None:
    uri = (project / "migrations" / "env.py").as_uri()
    line, col = find(ed.texts[uri], "async_engine_from_config", nth=1)
    assert await ed.hover(uri, line, col + 2) is not None


async def test_no_password_in_anything_the_server_shows(tmp_path):
    from test_no_secret_shown import SECRETS, leaks

    project = tmp_path / "secrets"
    shutil.copytree(SECRETS, project)
    env, ini = project / "migrations" / "env.py", project / "alembic.ini"
    stderr = tmp_path / "server-stderr.log"
    command = [sys.executable, str(WRAPPER), str(stderr), "--stdio"]
    shown: list[tuple[str, str]] = []
    async with editor(folders=[project], command=command) as ed:
        uri = ed.open(env)
        ini_uri = ed.open(ini)
        await ed.published(uri, 1)
        await ed.published(ini_uri, 1)
        text = ed.texts[uri]
        for doc, doc_text in ((uri, text), (ini_uri, ed.texts[ini_uri])):
            for line_no, line in enumerate(doc_text.split("\n")):
                for character in range(0, len(line) + 1, 2):
                    hover = await ed.hover(doc, line_no, character)
                    if hover is not None:
                        shown.append((f"hover {line_no}:{character}", hover.contents.value))
            for action in await ed.code_actions(doc, rng(0, 0, len(doc_text.split("\n")), 0)):
                shown.append(("action", action.title))
                if (
                    isinstance(action, t.CodeAction)
                    and action.data is not None
                    and action.edit is None
                ):
                    resolved = await ed.client.code_action_resolve_async(action)
                    shown.append(("resolved action", resolved.title))
            lenses = await ed.client.text_document_code_lens_async(
                t.CodeLensParams(text_document=t.TextDocumentIdentifier(uri=doc))
            )
            for lens in lenses or ():
                if lens.command is not None:
                    shown.append(("lens", lens.command.title))
            explained = await ed.command("alembic-env.explain", doc)
            shown.append(("explain", json.dumps(explained, default=str)))
            for command in ("alembic-env.convertToAsync", "alembic-env.fixAll"):
                try:
                    shown.append((command, json.dumps(await ed.command(command, doc), default=str)))
                except Exception as error:
                    shown.append((command, str(error)))
        # half-typed versions of the file
        random_edits = RandomStrategies(8)
        variant = text
        for i in range(40):
            variant = random_edits.mutate(text if i % 5 == 0 else variant)
            version = ed.change(uri, variant)
            await ed.published(uri, version)
            hover = await ed.hover(
                uri, random_edits.random.randrange(max(1, variant.count("\n"))), 4
            )
            if hover is not None:
                shown.append(("variant hover", hover.contents.value))
        for params in ed.client.published:
            for d in params.diagnostics:
                shown.append(("diagnostic", d.message))
                shown.extend(("related", r.message) for r in d.related_information or ())
        shown.append(("log", ed.log_text()))
        shown.extend(("popup", m.message) for m in ed.client.messages)
    shown.append(("stderr", stderr.read_text(encoding="utf-8", errors="replace")))
    assert sum(1 for what, _ in shown if what.startswith("hover")) > 50
    assert any("***" in text for _, text in shown)
    leaked = {what: leaks(text) for what, text in shown if leaks(text)}
    assert leaked == {}
