""" "Explain this env.py": the code-lens summary and the Markdown + Mermaid flow, on
Alembic's own templates and on broken files, with a real alembic.ini next to them."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.explain import explain_markdown, mermaid_escape, summary
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.rules import all_rules
from test_hovers import ALIASED, BROKEN, NON_ASCII, ini_text

# The benchmark's 94-line env.py, in shared/ beside the checkout (skipped when absent).
SAMPLE = Path(__file__).resolve().parent.parent / "bench" / "env_async_sample.py"


def template(name: str) -> str:
    return (files("alembic") / "templates" / name / "env.py").read_text(encoding="utf-8")


def project(tmp_path: Path, env: str, url: str | None = None, logging: bool = True):
    env_path = tmp_path / "env.py"
    env_path.write_text(env, encoding="utf-8")
    if url is not None:
        (tmp_path / "alembic.ini").write_text(ini_text(url, logging), encoding="utf-8")
    return analyze(env, str(env_path), project=ProjectIndex().context_for(env_path))


# --- a strict reader of the Mermaid we emit ---------------------------------------------

_LABEL = r'"(?P<label>[^"\[\](){}|<>`]*(?:<br/>[^"\[\](){}|<>`]*)*)"'
_NODE = re.compile(
    r"^(?P<id>n\d+)(?:\(\["
    + _LABEL
    + r"\]\)|\{"
    + _LABEL.replace("label", "l2")
    + r"\}|\[\("
    + _LABEL.replace("label", "l3")
    + r"\)\]|>"
    + _LABEL.replace("label", "l4")
    + r"\]|\["
    + _LABEL.replace("label", "l5")
    + r"\])$"
)
_EDGE = re.compile(r"^(?P<src>n\d+) (?P<arrow>-->|-\.->)(?:\|" + _LABEL + r"\|)? (?P<dst>n\d+)$")
_SUBGRAPH = re.compile(r'^subgraph (?P<id>\w+)\["[^"\[\](){}|<>]*"\]$')


def mermaid_blocks(markdown: str) -> list[str]:
    assert markdown.count("```") % 2 == 0, "unbalanced code fences"
    return re.findall(r"```mermaid\n(.*?)\n```", markdown, re.S)


def check_mermaid(block: str) -> dict:
    """Every line is a node, an edge, a subgraph boundary or a style line; labels hold
    no raw quote, bracket, pipe, backtick or tag (only <br/>); edges join defined nodes."""
    lines = [line.strip() for line in block.splitlines()]
    assert lines[0] == "flowchart TD"
    nodes: set[str] = set()
    edges: list[tuple[str, str, str, str]] = []
    depth = 0
    styles = []
    for line in lines[1:]:
        if (match := _NODE.match(line)) is not None:
            assert match.group("id") not in nodes, f"node defined twice: {line}"
            nodes.add(match.group("id"))
        elif (match := _EDGE.match(line)) is not None:
            edges.append(
                (
                    match.group("src"),
                    match.group("arrow"),
                    match.group("label") or "",
                    match.group("dst"),
                )
            )
        elif _SUBGRAPH.match(line):
            depth += 1
        elif line == "end":
            depth -= 1
            assert depth >= 0
        elif line.startswith(("classDef ", "class ", "linkStyle ")):
            styles.append(line)
        else:
            raise AssertionError(f"unexpected Mermaid line: {line!r}")
    assert depth == 0, "unbalanced subgraph/end"
    for src, _, _, dst in edges:
        assert src in nodes and dst in nodes, (src, dst)
    for style in styles:
        if style.startswith("linkStyle "):
            indexes = [int(i) for i in style.split()[1].split(",")]
            assert all(0 <= i < len(edges) for i in indexes)
            broken = {i for i, e in enumerate(edges) if e[2].startswith("⚠")}
            assert set(indexes) == broken
        if style.startswith("class ") and not style.startswith("classDef"):
            assert all(n in nodes for n in style.split()[1].split(","))
    return {"nodes": nodes, "edges": edges, "text": block}


def only_block(markdown: str) -> dict:
    blocks = mermaid_blocks(markdown)
    assert len(blocks) == 1
    return check_mermaid(blocks[0])


# --- summary ----------------------------------------------------------------------------


def test_summary_async_template(tmp_path):
    analysis = project(tmp_path, template("async"), "postgresql+asyncpg://app:secret@db/app")
    line = summary(analysis)
    assert line.startswith(
        "async engine · URL from alembic.ini: postgresql+asyncpg://app:***@db/app · logging: fileConfig · offline mode: yes"
    )
    assert "secret" not in line
    assert "\n" not in line


def test_summary_generic_template(tmp_path):
    analysis = project(tmp_path, template("generic"), "postgresql+psycopg://app:secret@db/app")
    line = summary(analysis)
    assert line.startswith(
        "sync engine · URL from alembic.ini: postgresql+psycopg://app:***@db/app · logging: fileConfig · offline mode: yes"
    )
    assert "secret" not in line


def test_summary_names_the_problems(tmp_path):
    analysis = project(tmp_path, template("async"), "postgresql+psycopg2://app:secret@db/app")
    problems = summary(analysis).rsplit(" · ", 1)[1]
    assert problems.startswith("⚠ 1 error, ") and "ENV001" in problems and "ENV030" in problems


def test_summary_of_other_shapes(tmp_path):
    assert summary(analyze("def f(:\n", "env.py")).startswith("does not parse: Syntax error")
    assert (
        summary(analyze("print('hello')\n", "env.py"))
        == "not an Alembic env script (does not use alembic.context)"
    )
    assert (
        summary(analyze("", "env.py")) == "not an Alembic env script (does not use alembic.context)"
    )
    shared = (
        "from alembic import context\n"
        "connection = context.config.attributes['connection']\n"
        "context.configure(connection=connection)\n"
        "with context.begin_transaction():\n    context.run_migrations()\n"
    )
    line = summary(analyze(shared, "env.py"))
    assert line.startswith("no engine")
    assert "logging: none" in line and "offline mode: no" in line
    literal = (
        "import os\nfrom alembic import context\nfrom sqlalchemy import create_engine\n"
        "engine = create_engine(os.getenv('DB_URL', 'postgresql+psycopg2://u:hunter2@h/db'))\n"
    )
    line = summary(analyze(literal, "env.py"))
    assert "URL from env var DB_URL, default: postgresql+psycopg2://u:***@h/db" in line
    assert "hunter2" not in line


def test_summary_of_the_sample():
    text = SAMPLE.read_text(encoding="utf-8")
    line = summary(analyze(text, str(SAMPLE), project=ProjectIndex().context_for(SAMPLE)))
    # the URL is set only `if database_url:`; otherwise the ini's (no alembic.ini beside it)
    assert line.startswith(
        "async engine · URL by path (2 paths): env var ORDERS_DATABASE_URL or sqlalchemy.url from "
        "alembic.ini (no alembic.ini f… · logging: fileConfig · offline mode: yes"
    )


# --- explain_markdown -------------------------------------------------------------------


def test_explain_async_template(tmp_path):
    analysis = project(tmp_path, template("async"), "postgresql+asyncpg://app:secret@db/app")
    md = explain_markdown(analysis)
    assert md.startswith("# What `env.py` does")
    assert "**Summary:** async engine" in md
    assert "builds an `AsyncEngine` with `async_engine_from_config()`" in md
    graph = only_block(md)
    text = graph["text"]
    # URL source -> engine -> connection -> run_sync -> configure -> run_migrations
    for piece in (
        "alembic.ini #91;alembic#93; sqlalchemy.url #40;line 3#41;",
        "async_engine_from_config#40;#41; · line 68",
        "driver asyncpg: works",
        "async with connectable.connect#40;#41; · line 74",
        "await connection.run_sync#40;do_run_migrations#41; · line 75",
        "context.configure#40;#41; · line 56",
        "context.run_migrations#40;#41; · line 59<br/>in with begin_transaction#40;#41;",
        "asyncio.run#40;run_async_migrations#40;#41;#41; · line 83",
        "fileConfig#40;config.config_file_name#41; · line 17",
        "context.is_offline_mode#40;#41; · line 86",
        "context.configure#40;#41; · line 44<br/>offline: target_metadata, literal_binds=True, dialect_opts",
    ):
        assert piece in text, piece
    labels = [e[2] for e in graph["edges"]]
    assert '"yes: --sql"' not in labels  # labels are stored without quotes
    assert "yes: --sql" in labels and "no: online" in labels
    # the only problem is the template's target_metadata = None
    broken = [e for e in graph["edges"] if e[2].startswith("⚠")]
    assert broken and all("ENV030" in e[2] for e in broken)
    assert "- **ENV030** (warning), line 23:" in md
    assert "secret" not in md


def test_explain_generic_template(tmp_path):
    analysis = project(tmp_path, template("generic"), "sqlite:///app.db")
    md = explain_markdown(analysis)
    graph = only_block(md)
    assert "engine_from_config#40;#41; · line 60" in graph["text"]
    assert "with connectable.connect#40;#41; · line 66" in graph["text"]
    assert "driver pysqlite: works" in graph["text"]
    assert "builds a synchronous `Engine`" in md


def test_broken_link_marked_with_its_code(tmp_path):
    analysis = project(tmp_path, template("async"), "postgresql+psycopg2://app:secret@db/app")
    md = explain_markdown(analysis)
    graph = only_block(md)
    url_to_engine = [e for e in graph["edges"] if "ENV001" in e[2]]
    assert len(url_to_engine) == 1
    src, arrow, label, dst = url_to_engine[0]
    assert arrow == "-.->" and label == "⚠ ENV001 · URL"
    assert re.search(
        rf"{dst}\[\"async_engine_from_config#40;#41; · line 68<br/>.*driver psycopg2 is sync-only: fails at create",
        graph["text"],
    )
    assert f"class {dst}" in graph["text"] or f",{dst}" in graph["text"]
    assert "⚠ ENV001: Async engine with sync-only driver 'psycopg2'" in graph["text"]
    assert (
        "- **ENV001** (error), line 68 (also on alembic.ini line 3): Async engine with sync-only driver"
        in md
    )
    assert "secret" not in md


def test_broken_async_file(tmp_path):
    analysis = project(tmp_path, BROKEN, "sqlite:///unused.db")
    md = explain_markdown(analysis)
    graph = only_block(md)
    text = graph["text"]
    edges = {(e[0], e[3]): e for e in graph["edges"]}
    by_label = {e[2] for e in graph["edges"]}
    # the bare run_async_migrations() breaks the link to the engine
    assert re.search(r'n\d+\["run_async_migrations#40;#41; · line 26<br/>⚠ ENV003', text)
    assert "⚠ ENV001 · URL" in by_label
    # run_sync not awaited (and given an async def): the link to configure is broken
    assert any(label.startswith("⚠ ENV003") and "do_run_migrations" in label for label in by_label)
    # async with begin_transaction: the link to run_migrations is broken
    assert "⚠ ENV005" in by_label
    assert "in async with begin_transaction#40;#41;" in text
    assert "no offline branch" in text and "ENV042" in text
    assert "s3cr3t" not in md
    assert len(edges) == len(graph["edges"])
    for code in ("ENV001", "ENV003", "ENV005", "ENV021", "ENV030", "ENV042"):
        assert f"**{code}**" in md


def test_aliased_file(tmp_path):
    analysis = project(tmp_path, ALIASED, "sqlite+aiosqlite:///app.db")
    md = explain_markdown(analysis)
    graph = only_block(md)
    assert "sa_async.create_async_engine" not in graph["text"]  # the factory's own name is shown
    assert "create_async_engine#40;#41; · line 33" in graph["text"]
    assert "ctx.configure#40;#41; · line 27" in graph["text"]
    assert "aio.run#40;run_async_migrations#40;#41;#41;" in graph["text"]
    assert "logcfg.fileConfig" in graph["text"]
    assert summary(analysis).startswith(
        "async engine · URL from alembic.ini: sqlite+aiosqlite:///app.db"
    )


def test_labels_are_escaped_and_passwords_masked(tmp_path):
    env = (
        "from logging.config import fileConfig\n"
        "from sqlalchemy import MetaData\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "from alembic import context\n"
        "config = context.config\n"
        "fileConfig(config.config_file_name)\n"
        'target_metadata = MetaData(schema="a\\"b[c](d){e}|f<g>#h&i`j")\n'
        "async def run():\n"
        '    engine = create_async_engine("postgresql+asyncpg://u:p4ss\\"w]rd@db/a[b](c)?x=|y|&password=zz")\n'
        "    async with engine.connect() as conn:\n"
        "        await conn.run_sync(go)\n"
        "def go(connection):\n"
        "    context.configure(connection=connection, target_metadata=target_metadata)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n"
        "import asyncio\n"
        "asyncio.run(run())\n"
    )
    analysis = project(tmp_path, env, "sqlite:///x.db")
    md = explain_markdown(analysis)
    graph = only_block(md)
    assert "p4ss" not in md and "zz" not in md
    assert "#quot;" in graph["text"] and "#91;" in graph["text"] and "#124;" in graph["text"]
    assert "p4ss" not in summary(analysis)


def test_mermaid_escape():
    assert (
        mermaid_escape('a"b[c](d){e}|f<g>#h&i`j')
        == "a#quot;b#91;c#93;#40;d#41;#123;e#125;#124;f#lt;g#gt;#35;h#amp;i'j"
    )
    assert mermaid_escape("x://u:pw@h/db\nnext") == "x://u:***@h/db next"


def test_not_parsing_and_not_env_files():
    md = explain_markdown(
        analyze("from alembic import context\nconfig = context.config(\n", "env.py")
    )
    assert "does not parse" in md and "**ENV000**" in md and "```mermaid" not in md
    md = explain_markdown(analyze("import os\nprint(os.getcwd())\n", "tool.py"))
    assert "not an Alembic env script" in md and "```mermaid" not in md
    md = explain_markdown(analyze("", "env.py"))
    assert "not an Alembic env script" in md


def test_every_real_file_and_rule_example_renders(tmp_path):
    texts = [template("async"), template("generic"), ALIASED, BROKEN, NON_ASCII]
    if SAMPLE.exists():
        texts.append(SAMPLE.read_text(encoding="utf-8"))
    for rule in all_rules():
        texts.extend(example.code for example in (*rule.valid, *rule.invalid))
    for index, text in enumerate(texts):
        folder = tmp_path / str(index)
        folder.mkdir()
        analysis = project(folder, text, "postgresql+psycopg2://app:secret@db/app")
        md = explain_markdown(analysis)
        line = summary(analysis)
        assert "secret" not in md and "secret" not in line
        for block in mermaid_blocks(md):
            check_mermaid(block)


# --- properties of every diagram, over every fixture and example ------------------------

ROOT = Path(__file__).resolve().parent.parent
_UNESCAPE = [
    ("#35;", "#"),
    ("#quot;", '"'),
    ("#lt;", "<"),
    ("#gt;", ">"),
    ("#91;", "["),
    ("#93;", "]"),
    ("#40;", "("),
    ("#41;", ")"),
    ("#123;", "{"),
    ("#125;", "}"),
    ("#124;", "|"),
    ("#amp;", "&"),
]
_SHAPED = re.compile(
    r'^(?P<id>n\d+)(?:\(\["(?P<start>.*)"\]\)|\{"(?P<decision>.*)"\}|\[\("(?P<data>.*)"\)\]'
    r'|>"(?P<note>.*)"\]|\["(?P<box>.*)"\])$'
)
ALL_ENV_SCRIPTS = sorted(
    [
        *ROOT.joinpath("tests", "fixtures").rglob("env.py"),
        *ROOT.joinpath("examples").rglob("env.py"),
    ]
)


def _unescape(text: str) -> str:
    for escaped, raw in _UNESCAPE:
        text = text.replace(escaped, raw)
    return text


def _graph(markdown: str) -> tuple[dict[str, tuple[str, list[str]]], list[tuple[str, str]]]:
    block = only_block(markdown)
    nodes: dict[str, tuple[str, list[str]]] = {}
    for line in block["text"].splitlines():
        match = _SHAPED.match(line.strip())
        if match:
            shape = next(k for k in ("start", "decision", "data", "note", "box") if match.group(k))
            nodes[match.group("id")] = (shape, _unescape(match.group(shape)).split("<br/>"))
    return nodes, [(src, dst) for src, _, _, dst in block["edges"]]


@pytest.mark.parametrize(
    "path", ALL_ENV_SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in ALL_ENV_SCRIPTS]
)
def test_every_diagram_is_connected_complete_and_exact(path):
    """Every step is reached from the start and leads to the end; data nodes feed a step;
    every asyncio.run / run_sync on a path that runs, the dispatch and the connection-sharing
    branch are drawn; every "line N" names a line that holds that code."""
    text = path.read_text(encoding="utf-8")
    analysis = analyze(text, str(path), project=ProjectIndex().context_for(path))
    assert analysis.facts is not None
    nodes, edges = _graph(explain_markdown(analysis))
    succ: dict[str, set[str]] = {}
    pred: dict[str, set[str]] = {}
    for src, dst in edges:
        succ.setdefault(src, set()).add(dst)
        pred.setdefault(dst, set()).add(src)
    starts = [n for n, (shape, lines) in nodes.items() if lines == ["alembic runs env.py"]]
    ends = [n for n, (shape, lines) in nodes.items() if lines == ["end of env.py"]]
    assert len(starts) == 1 and len(ends) == 1

    def closure(origin: str, step: dict[str, set[str]]) -> set[str]:
        seen, todo = {origin}, [origin]
        while todo:
            for nxt in step.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reached, leading = closure(starts[0], succ), closure(ends[0], pred)
    for node, (shape, lines) in nodes.items():
        if shape == "data":
            assert succ.get(node), f"data node feeds nothing: {lines}"
            continue
        assert node in reached, f"not reached from the start: {lines}"
        assert node in leading, f"does not lead to the end: {lines}"
    source_lines = text.splitlines()
    shown = "\n".join(" ".join(lines) for _, lines in nodes.values())
    for _, lines in nodes.values():
        for line in lines:
            for match in re.finditer(r"(?P<code>[^·]+?) · line (?P<n>\d+)", line):
                code = re.sub(r"^(await |async with |with )", "", match.group("code").strip())
                n = int(match.group("n"))
                window = " ".join(" ".join(source_lines[n - 1 : n + 3]).split())
                assert code[:12].rstrip("…") in window, f"line {n} does not hold {code!r}"
    facts = analysis.facts
    for call in facts.calls:
        if facts.path_of(call) == "none":
            continue
        line = analysis.source.from_utf8(call.node.lineno, call.node.col_offset).line + 1
        if call.qname in ("asyncio.run", "asyncio.runners.run") or call.attr == "run_sync":
            assert f"· line {line}" in shown, f"{call.qname or call.attr} at line {line} missing"
    if facts.dispatch is not None:
        assert any(s == "decision" and "is_offline_mode" in ls[0] for s, ls in nodes.values())
    if re.search(r"attributes\.get\(\s*[\"']connection", text):
        assert "the caller's connection, if one was shared" in shown


def test_isinstance_dispatch_and_shared_connection_are_both_drawn():
    path = ROOT / "tests" / "fixtures" / "flow" / "isinstance_split_valid" / "env.py"
    analysis = analyze(
        path.read_text(encoding="utf-8"), str(path), project=ProjectIndex().context_for(path)
    )
    nodes, edges = _graph(explain_markdown(analysis))
    by_first = {lines[0]: node for node, (_, lines) in nodes.items()}
    shared = by_first['config.attributes.get("connection", None) · line 42']
    is_none = by_first["connectable is None · line 43"]
    engine = by_first["async_engine_from_config() · line 44"]
    split = by_first["isinstance(connectable, AsyncEngine) · line 49"]
    run = by_first["asyncio.run(run_async_migrations(connectable)) · line 50"]
    run_sync = by_first["await connection.run_sync(do_run_migrations) · line 37"]
    sync_begin = by_first["with connectable.begin() · line 52"]
    assert (shared, is_none) in edges and (is_none, engine) in edges  # yes: build one
    assert (is_none, split) in edges and (engine, split) in edges  # no: the shared one
    assert (split, run) in edges and (split, sync_begin) in edges
    assert nodes[sync_begin][1][1] == "Connection connection"  # the sync branch
    configures = [n for n, (_, ls) in nodes.items() if ls[0] == "context.configure() · line 30"]
    assert len(configures) == 2  # once per branch: after run_sync, and in the sync branch
    assert any((run_sync, c) in edges for c in configures)


def test_a_wrapped_engine_is_one_step(tmp_path):
    env = (
        "import asyncio\n"
        "from alembic import context\n"
        "from sqlalchemy import engine_from_config, pool\n"
        "from sqlalchemy.ext.asyncio import AsyncEngine\n"
        "def do_run_migrations(connection):\n"
        "    context.configure(connection=connection, target_metadata=None)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n"
        "async def run():\n"
        "    connectable = AsyncEngine(\n"
        "        engine_from_config(context.config.get_section('alembic'), poolclass=pool.NullPool)\n"
        "    )\n"
        "    async with connectable.connect() as connection:\n"
        "        await connection.run_sync(do_run_migrations)\n"
        "asyncio.run(run())\n"
    )
    nodes, _ = _graph(explain_markdown(project(tmp_path, env, "sqlite+aiosqlite:///x.db")))
    engines = [ls for _, ls in nodes.values() if "AsyncEngine(...) · line" in ls[0]]
    assert [ls[0] for ls in engines] == ["engine_from_config() in AsyncEngine(...) · line 10"]


def test_a_url_that_differs_by_branch_gets_a_verdict_per_path_in_the_diagram():
    path = ROOT / "tests" / "fixtures" / "hover" / "url_by_branch" / "env.py"
    analysis = analyze(
        path.read_text(encoding="utf-8"), str(path), project=ProjectIndex().context_for(path)
    )
    md = explain_markdown(analysis)
    nodes, edges = _graph(md)
    engine = next(n for n, (_, ls) in nodes.items() if ls[0] == "engine_from_config() · line 19")
    assert nodes[engine][1][2:4] == [
        'when DB_KIND == "postgres": driver asyncpg is async-only: MissingGreenlet at connect',
        'when not (DB_KIND == "postgres"): driver pysqlite: works',
    ]
    url = next(src for src, dst in edges if dst == engine and nodes[src][0] == "data")
    assert nodes[url][1] == [
        'when DB_KIND == "postgres": postgresql+asyncpg://app:***@db/app',
        'when not (DB_KIND == "postgres"): sqlite:///local.db',
    ]
    assert "s3cret" not in md


def test_multi_db_bind_engines_are_not_credited_with_the_main_url():
    path = ROOT / "tests" / "fixtures" / "hover" / "multidb_binds" / "env.py"
    analysis = analyze(
        path.read_text(encoding="utf-8"), str(path), project=ProjectIndex().context_for(path)
    )
    md = explain_markdown(analysis)
    nodes, _ = _graph(md.split("## Findings")[0])
    labels = [line for _, lines in nodes.values() for line in lines]
    assert "URL of the ini section named at run time" in labels
    assert not any("sqlite:///main.db" in line for line in labels)
    assert not any("works" in line for line in labels)
