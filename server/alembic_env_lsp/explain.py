""" "Explain this env.py": a one-line summary for a code lens, and the flow of the file as
Markdown with a Mermaid diagram (URL → engine → connection → configure → run_migrations,
plus logging and the offline branch), each broken link marked with its diagnostic.

Built from the Analysis only (facts and findings); nothing is parsed or imported here.
Passwords are masked; Mermaid labels are escaped so the diagram always renders.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import drivers
from .findings import Finding, Severity
from .hovers import configure_url, redact_markdown
from .model import names as N
from .model.build import qualified_name
from .model.facts import CallFact, Confidence, EngineFact, EnvFacts, Scope, UrlValue
from .redact import redact_text, redact_url
from .text import Range

if TYPE_CHECKING:
    from .engine import Analysis

_SEP = " · "


# --------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------


def summary(analysis: Analysis) -> str:
    """One line for a code lens, e.g.
    "async engine · URL from alembic.ini: postgresql+asyncpg://app:***@db/app · logging: fileConfig · offline mode: yes"."""
    try:
        return redact_text(_summary(analysis))
    except Exception as error:  # a lens must never take the editor down
        return f"env.py (no summary: {type(error).__name__})"


def _summary(analysis: Analysis) -> str:
    facts = analysis.facts
    if facts is None:
        problem = _syntax_problem(analysis)
        return f"does not parse: {problem}" if problem else "does not parse"
    if not _is_env_script(facts):
        return "not an Alembic env script (does not use alembic.context)"
    parts = []
    engines = _online_engines(facts)
    if engines:
        kinds = [_engine_kind_words(e) for e in engines]
        if len(engines) == 1:
            parts.append(kinds[0])
        else:
            parts.append(f"{len(engines)} engines ({', '.join(kinds)})")
        parts.append(_url_words(engines[0].url))
    else:
        parts.append(_no_engine_words(facts))
    parts.append("logging: " + _logging_words(facts))
    parts.append("offline mode: " + ("yes" if facts.dispatch is not None else "no"))
    problems = _problem_words(analysis.findings)
    if problems:
        parts.append(problems)
    return _SEP.join(parts)


def _syntax_problem(analysis: Analysis) -> str | None:
    finding = next((f for f in analysis.findings if f.code == "ENV000"), None)
    if finding is None:
        return None
    return f"{finding.message} (line {finding.range.start.line + 1})"


def _is_env_script(facts: EnvFacts) -> bool:
    return facts.imports_alembic_context or bool(facts.configures)


def _online_engines(facts: EnvFacts) -> list[EngineFact]:
    online = [e for e in facts.engines if facts.path_of(e.call) in ("online", "both")]
    return online or list(facts.engines)


def _engine_kind_words(engine: EngineFact) -> str:
    if engine.wrapped is not None:
        return "async engine (AsyncEngine wrapper)"
    return "async engine" if engine.is_async else "sync engine"


def _url_words(url: UrlValue) -> str:
    if url.text and url.scheme:
        shown = redact_url(url.text)
        if url.ini_value is not None and url.ini_path:
            return f"URL from {Path(url.ini_path).name}: {shown}"
        if url.confidence is Confidence.DEFAULT:
            env = re.search(r"environment variable (\w+)", url.origin)
            source = f"env var {env.group(1)}, default" if env else "a default"
            return f"URL from {source}: {shown}"
        return f"URL from env.py: {shown}"
    env = re.search(r"environment variable (\w+)", url.origin)
    if env:
        return f"URL from env var {env.group(1)}"
    return f"URL: not known statically ({_short(url.origin, 50)})"


def _no_engine_words(facts: EnvFacts) -> str:
    online = [c for c in facts.configures if c.mode == "online"]
    for configure in online:
        connection = configure.keyword("connection")
        if connection is not None and "attributes" in ast.dump(connection):
            return "no engine (connection from config.attributes)"
    if online:
        return "no engine (connection from elsewhere)"
    return "no engine"


def _logging_words(facts: EnvFacts) -> str:
    for qname, word in (
        (N.FILE_CONFIG, "fileConfig"),
        ("logging.config.dictConfig", "dictConfig"),
        ("logging.basicConfig", "basicConfig"),
    ):
        if facts.calls_named(qname):
            return word
    for call in facts.calls:
        name = call.attr or (call.node.func.id if isinstance(call.node.func, ast.Name) else "")
        if name and re.search(r"(setup|configure|init)_?(logging|logger)", name, re.IGNORECASE):
            return f"{name}()"
    return "none"


def _problem_words(findings: list[Finding]) -> str:
    serious = [f for f in findings if f.severity <= Severity.WARNING]
    if not serious:
        return ""
    errors = sum(1 for f in serious if f.severity is Severity.ERROR)
    warnings = len(serious) - errors
    counts = []
    if errors:
        counts.append(f"{errors} error{'s' if errors > 1 else ''}")
    if warnings:
        counts.append(f"{warnings} warning{'s' if warnings > 1 else ''}")
    codes = sorted({f.code for f in serious})
    return f"⚠ {', '.join(counts)} ({', '.join(codes)})"


# --------------------------------------------------------------------------------------
# the flow graph
# --------------------------------------------------------------------------------------


@dataclass
class _Node:
    id: str
    lines: list[str]
    shape: str = "box"  # box | start | decision | data | note
    spans: list[Range] = field(default_factory=list)  # env.py ranges this node stands for
    findings: list[Finding] = field(default_factory=list)
    group: str = "online"  # online | offline | logging | start


@dataclass
class _Edge:
    src: str
    dst: str
    label: str = ""
    dotted: bool = False


@dataclass
class _Flow:
    nodes: list[_Node] = field(default_factory=list)
    edges: list[_Edge] = field(default_factory=list)

    def add(
        self, lines: list[str], *, shape: str = "box", spans=(), group: str = "online"
    ) -> _Node:
        node = _Node(
            f"n{len(self.nodes)}", [line for line in lines if line], shape, list(spans), group=group
        )
        self.nodes.append(node)
        return node

    def link(
        self, src: _Node | None, dst: _Node | None, label: str = "", dotted: bool = False
    ) -> None:
        if src is not None and dst is not None:
            self.edges.append(_Edge(src.id, dst.id, label, dotted))


class _Builder:
    def __init__(self, analysis: Analysis):
        self.analysis = analysis
        self.facts: EnvFacts = analysis.facts  # type: ignore[assignment]
        self.source = analysis.source
        self.project = analysis.project
        self.flow = _Flow()
        self.logging_node: _Node | None = None
        self.offline_node: _Node | None = None
        self.mode_node: _Node | None = None
        self.metadata_node: _Node | None = None
        self.engine_nodes: list[_Node] = []
        self.url_nodes: list[_Node] = []
        self.configure_nodes: list[_Node] = []
        self._configures_done: list = []

    # --- helpers ---

    def line(self, node: ast.AST) -> int:
        return self.source.from_utf8(node.lineno, node.col_offset).line + 1

    def text(self, node: ast.AST, limit: int = 60) -> str:
        return _short(self.source.slice(self.source.node_range(node)), limit)

    def span(self, node: ast.AST) -> Range:
        return self.source.node_range(node)

    # --- the graph ---

    def build(self) -> _Flow:
        facts = self.facts
        flow = self.flow
        start = flow.add(["alembic runs env.py"], shape="start", group="start")
        self._logging(start)
        online_entry = start
        if facts.dispatch is not None:
            dispatch = facts.dispatch
            self.mode_node = flow.add(
                [f"{self.text(dispatch.node.test)} · line {self.line(dispatch.node)}"],
                shape="decision",
                spans=[self.span(dispatch.node.test)],
                group="start",
            )
            flow.link(start, self.mode_node)
            self._offline(self.mode_node)
            online_entry = self.mode_node
        else:
            self.offline_node = flow.add(
                ["no offline branch: --sql runs the online code"], shape="note", group="offline"
            )
            flow.link(start, self.offline_node, "alembic ... --sql", dotted=True)
        self._online(online_entry, "no: online" if facts.dispatch is not None else "")
        self._metadata()
        self._attach_findings()
        return flow

    def _logging(self, start: _Node) -> None:
        flow = self.flow
        calls = [c for c in self.facts.calls if c.qname in N.LOG_SETUP]
        ini = getattr(self.project, "ini", None)
        if not calls:
            self.logging_node = flow.add(
                ["no logging setup: alembic prints nothing"], shape="note", group="logging"
            )
            flow.link(start, self.logging_node, dotted=True)
            return
        call = calls[0]
        guarded = any(
            isinstance(sub, ast.Attribute) and sub.attr == "config_file_name"
            for branch, _ in call.branches
            for sub in ast.walk(branch.test)
        )
        lines = [f"{self.text(call.node)} · line {self.line(call.node)}"]
        if call.qname == N.FILE_CONFIG:
            lines.append("guarded: config_file_name is not None" if guarded else "not guarded")
        self.logging_node = flow.add(
            lines, spans=[self.span(c.stmt) for c in calls], group="logging"
        )
        flow.link(start, self.logging_node)
        if call.qname == N.FILE_CONFIG and ini is not None:
            missing = ini.missing_logging_sections()
            label = f"{ini.path.name}: " + (
                "missing " + ", ".join(f"[{m}]" for m in missing)
                if missing
                else "[loggers] [handlers] [formatters]"
            )
            source = flow.add([label], shape="data", group="logging")
            flow.link(source, self.logging_node, "logging sections")

    def _offline(self, mode: _Node) -> None:
        facts = self.facts
        flow = self.flow
        configures = [
            c for c in facts.configures if c.mode == "offline" or facts.path_of(c.call) == "offline"
        ]
        if not configures:
            self.offline_node = flow.add(
                ["offline branch without context.configure"], shape="note", group="offline"
            )
            flow.link(mode, self.offline_node, "yes: --sql")
            return
        configure = configures[0]
        keywords = [
            k.arg
            for k in configure.call.node.keywords
            if k.arg and k.arg not in ("url", "dialect_name")
        ]
        node = flow.add(
            [
                f"{self.text(configure.call.node.func)}() · line {self.line(configure.call.node)}",
                "offline: " + ", ".join(_keyword_text(configure, k) for k in keywords[:4])
                if keywords
                else "offline",
            ],
            spans=[self.span(configure.call.node)],
            group="offline",
        )
        self.offline_node = node
        self.configure_nodes.append(node)
        url_expr = configure.keyword("url")
        if url_expr is not None:
            found = configure_url(facts, self.project, configure)
            label = (
                f"{found[1]}: {redact_url(found[0])}" if found else f"url={self.text(url_expr, 40)}"
            )
            url_node = flow.add([label], shape="data", spans=[self.span(url_expr)], group="offline")
            flow.link(mode, url_node, "yes: --sql")
            flow.link(url_node, node, "url=")
        else:
            flow.link(mode, node, "yes: --sql")
        runs = [
            c
            for c in facts.calls_named("alembic.context.run_migrations")
            if c.scope is configure.call.scope
        ]
        for run in runs[:1]:
            flow.link(node, self._run_node(run, group="offline"))

    def _online(self, entry: _Node, label: str) -> None:
        facts = self.facts
        flow = self.flow
        engines = [e for e in facts.engines if facts.path_of(e.call) in ("online", "both")] or list(
            facts.engines
        )
        previous = entry
        edge_label = label
        entry_call = self._entry_call(engines[0]) if engines else None
        if entry_call is not None:
            runner = entry_call.qname in N.RUNNERS or (
                isinstance(entry_call.parent, ast.Call)
                and qualified_name(entry_call.parent.func, entry_call.scope) in N.RUNNERS
            )
            shown = (
                entry_call.parent
                if runner and entry_call.qname not in N.RUNNERS
                else entry_call.node
            )
            lines = [f"{self.text(shown)} · line {self.line(shown)}"]
            if runner:
                lines.append("new event loop")
            node = flow.add(lines, spans=[self.span(shown)])
            flow.link(previous, node, edge_label)
            previous, edge_label = node, ""
        last = previous
        for engine in engines[:2]:
            last = self._engine_chain(engine, previous, edge_label)
            edge_label = ""
        online = [
            c for c in facts.configures if c.mode == "online" and c not in self._configures_done
        ]
        for configure in online[:2]:
            node = self._configure_node(configure)
            flow.link(
                last,
                node,
                "connection=" if engines else edge_label or self._connection_label(configure),
            )
            self._runs_after(configure, node)
        if not engines and not online:
            note = flow.add(["no engine and no online context.configure"], shape="note")
            flow.link(previous, note, edge_label)

    def _entry_call(self, engine: EngineFact) -> CallFact | None:
        """How the online code reaches an engine built inside an `async def`: the call that
        runs that coroutine (`asyncio.run(f())`), or a bare `f()` that never runs it."""
        scope = engine.call.scope
        while scope.parent is not None and not scope.parent.is_module:
            scope = scope.parent
        if scope.is_module or not scope.is_async:
            return None
        name = scope.name
        sites = []
        for call in self.facts.calls:
            func = call.node.func
            if isinstance(func, ast.Name) and func.id == name:
                sites.append(call)
            elif call.qname in N.RUNNERS and any(
                isinstance(a, ast.Name) and a.id == name for a in call.node.args
            ):
                sites.append(call)
        if not sites:
            return None
        runners = [
            c
            for c in sites
            if c.qname in N.RUNNERS
            or (
                isinstance(c.parent, ast.Call)
                and qualified_name(c.parent.func, c.scope) in N.RUNNERS
            )
        ]
        return (runners or sites)[0]

    def _engine_chain(self, engine: EngineFact, previous: _Node, edge_label: str) -> _Node:
        flow = self.flow
        url = engine.url
        url_node = flow.add(
            _url_labels(url),
            shape="data",
            spans=[self.span(url.literal)] if url.literal is not None else [],
        )
        self.url_nodes.append(url_node)
        kind = "AsyncEngine" if engine.is_async else "sync Engine"
        factory = engine.factory + (
            "() in AsyncEngine(...)" if engine.wrapped is not None else "()"
        )
        lines = [
            f"{factory} · line {self.line(engine.call.node)}",
            f"{kind}" + (f" {engine.var}" if engine.var else ""),
        ]
        verdict = _short_verdict(engine)
        if verdict:
            lines.append(verdict)
        pool = engine.poolclass
        if pool is not None:
            lines.append(f"poolclass={self.text(pool, 30)}")
        node = flow.add(
            lines,
            spans=[self.span(engine.call.node.func)]
            + (
                [self.span(engine.url_node)]
                if engine.url_node is not None and url.literal is None
                else []
            ),
        )
        self.engine_nodes.append(node)
        flow.link(previous, node, edge_label)
        flow.link(url_node, node, "URL")
        last = node
        for conn_name, with_, conn_expr in self._connections(engine)[:1]:
            how = (
                "async with"
                if with_ is not None and with_.is_async
                else "with"
                if with_ is not None
                else "="
            )
            conn_kind = (
                "AsyncConnection"
                if engine.is_async or (with_ is not None and with_.is_async)
                else "Connection"
            )
            conn_node = flow.add(
                [
                    f"{how} {self.text(conn_expr, 40)} · line {self.line(conn_expr)}",
                    f"{conn_kind} {conn_name or ''}".strip(),
                ],
                spans=[self.span(conn_expr)],
            )
            flow.link(node, conn_node)
            last = conn_node
            scope = with_.scope if with_ is not None else engine.call.scope
            run_syncs = [
                c
                for c in self.facts.calls
                if c.attr == "run_sync" and c.receiver == conn_name and c.scope is scope
            ]
            if run_syncs:
                call = run_syncs[0]
                target = call.node.args[0] if call.node.args else None
                sync_node = flow.add(
                    [
                        f"{'await ' if call.awaited else ''}{self.text(call.node, 50)} · line {self.line(call.node)}",
                        "passes a sync Connection",
                    ],
                    spans=[self.span(call.node)],
                )
                flow.link(conn_node, sync_node)
                last = sync_node
                if isinstance(target, ast.Name):
                    for configure in self.facts.configures:
                        if configure.call.scope.name == target.id and configure.mode == "online":
                            self._configures_done.append(configure)
                            cnode = self._configure_node(configure)
                            flow.link(sync_node, cnode, f"{target.id}(connection)")
                            self._runs_after(configure, cnode)
                            last = cnode
            else:
                for configure in self.facts.configures:
                    if configure.mode == "online" and configure.call.scope is scope:
                        self._configures_done.append(configure)
                        cnode = self._configure_node(configure)
                        flow.link(conn_node, cnode, "connection=")
                        self._runs_after(configure, cnode)
                        last = cnode
        dispose = [
            c
            for c in self.facts.calls
            if c.attr == "dispose" and engine.var and c.receiver == engine.var
        ]
        if dispose:
            call = dispose[0]
            node.lines.append(
                f"{'await ' if call.awaited else ''}{engine.var}.dispose() · line {self.line(call.node)}"
            )
            node.spans.append(self.span(call.node))
        return last

    def _connections(self, engine: EngineFact) -> list[tuple[str | None, object, ast.expr]]:
        found = []
        for with_ in self.facts.withs:
            expr = with_.item.context_expr
            if (
                isinstance(expr, ast.Call)
                and isinstance(expr.func, ast.Attribute)
                and expr.func.attr in ("connect", "begin")
                and self._is_engine(expr.func.value, with_.scope, engine)
            ):
                target = with_.item.optional_vars
                found.append((target.id if isinstance(target, ast.Name) else None, with_, expr))
        if found:
            return found
        scope = engine.call.scope
        for name, assignments in scope.assignments.items():
            for assignment in assignments:
                value = (
                    assignment.value.value
                    if isinstance(assignment.value, ast.Await)
                    else assignment.value
                )
                if (
                    isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Attribute)
                    and value.func.attr == "connect"
                    and self._is_engine(value.func.value, scope, engine)
                ):
                    found.append((name, None, value))
        return found

    @staticmethod
    def _is_engine(expr: ast.expr, scope: Scope, engine: EngineFact) -> bool:
        if isinstance(expr, ast.Call):
            return expr is engine.call.node
        if isinstance(expr, ast.Name):
            binding = scope.lookup_kind(expr.id)
            return binding is not None and binding.engine is engine
        return False

    def _configure_node(self, configure) -> _Node:
        keywords = [k.arg for k in configure.call.node.keywords if k.arg and k.arg != "connection"]
        lines = [f"{self.text(configure.call.node.func)}() · line {self.line(configure.call.node)}"]
        connection = configure.keyword("connection")
        if connection is not None:
            lines.append(f"connection={self.text(connection, 40)}")
        if keywords:
            lines.append(
                ", ".join(_keyword_text(configure, k) for k in keywords[:3])
                + (" …" if len(keywords) > 3 else "")
            )
        node = self.flow.add(lines, spans=[self.span(configure.call.node)])
        self.configure_nodes.append(node)
        return node

    def _connection_label(self, configure) -> str:
        connection = configure.keyword("connection")
        return f"connection={self.text(connection, 30)}" if connection is not None else ""

    def _runs_after(self, configure, node: _Node) -> None:
        runs = [
            c
            for c in self.facts.calls_named("alembic.context.run_migrations")
            if c.scope is configure.call.scope
        ]
        for run in runs[:1]:
            self.flow.link(node, self._run_node(run))

    def _run_node(self, run: CallFact, group: str = "online") -> _Node:
        inside = any(
            isinstance(w.item.context_expr, ast.Call)
            and qualified_name(w.item.context_expr.func, w.scope)
            == "alembic.context.begin_transaction"
            for w in run.withs
        )
        async_with = any(
            w.is_async
            and isinstance(w.item.context_expr, ast.Call)
            and qualified_name(w.item.context_expr.func, w.scope)
            == "alembic.context.begin_transaction"
            for w in run.withs
        )
        lines = [f"{self.text(run.node.func)}() · line {self.line(run.node)}"]
        if async_with:
            lines.append("in async with begin_transaction()")
        elif inside:
            lines.append("in with begin_transaction()")
        else:
            lines.append("no begin_transaction()")
        spans = [self.span(run.node)] + [self.span(w.item.context_expr) for w in run.withs]
        return self.flow.add(lines, spans=spans, group=group)

    def _metadata(self) -> None:
        assignment = self.facts.target_metadata
        if assignment is None or not self.configure_nodes:
            return
        node = self.flow.add(
            [
                f"target_metadata = {self.text(assignment.value, 40)} · line {self.line(assignment.stmt)}"
            ],
            shape="data",
            spans=[self.span(assignment.stmt)],
        )
        self.metadata_node = node
        for configure, cnode in zip(self._all_configures(), self.configure_nodes):
            if configure is not None and isinstance(configure.keyword("target_metadata"), ast.Name):
                self.flow.link(node, cnode, "target_metadata", dotted=True)

    def _all_configures(self):
        by_line = {}
        for configure in self.facts.configures:
            by_line[self.line(configure.call.node)] = configure
        out = []
        for cnode in self.configure_nodes:
            match = re.search(r"line (\d+)", cnode.lines[0])
            out.append(by_line.get(int(match.group(1))) if match else None)
        return out

    # --- findings ---

    def _attach_findings(self) -> None:
        for finding in self.analysis.findings:
            node = self._node_for(finding)
            if node is not None:
                node.findings.append(finding)

    def _node_for(self, finding: Finding) -> _Node | None:
        if finding.path is None:
            best = None
            best_size = None
            for node in self.flow.nodes:
                for span in node.spans:
                    if span.start <= finding.range.start and finding.range.end <= span.end:
                        size = (
                            span.end.line - span.start.line,
                            span.end.character - span.start.character,
                        )
                        if best_size is None or size < best_size:
                            best, best_size = node, size
            if best is not None:
                return best
        code = finding.code
        family = code[:5]  # ENV00, ENV02, ...
        if code in ("ENV011", "ENV012", "ENV057", "ENV060", "ENV014", "ENV013") and self.url_nodes:
            return self.url_nodes[0]
        if family == "ENV02":
            return self.logging_node
        if family == "ENV04":
            return self.offline_node or self.mode_node
        if family == "ENV03":
            return self.metadata_node or (
                self.configure_nodes[-1] if self.configure_nodes else None
            )
        if family == "ENV05" and self.engine_nodes:
            return self.engine_nodes[0]
        return None


def _keyword_text(configure, name: str) -> str:
    value = configure.keyword(name)
    if isinstance(value, ast.Constant) and not isinstance(value.value, str):
        return f"{name}={value.value!r}"
    return name


def _url_labels(url: UrlValue) -> list[str]:
    if url.text and url.scheme:
        origin = url.origin
        if url.confidence is Confidence.DEFAULT:
            origin += " (default)"
        return [_short(origin, 70), _short(redact_url(url.text), 70)]
    return ["URL not known statically", _short(url.origin, 70)]


def _short_verdict(engine: EngineFact) -> str | None:
    url = engine.url
    if not url.scheme:
        return None
    info = drivers.driver_info(url.text or "")
    if info is None:
        return None
    if not info.known:
        return f"unknown dialect {info.scheme}"
    driver = info.driver or info.dialect
    if engine.wrapped is not None:
        ok = info.wrap_ok
    else:
        ok = info.async_ok if engine.is_async else info.sync_ok
    if ok:
        return f"driver {driver}: works"
    if ok is False:
        if engine.is_async:
            return f"driver {driver} is sync-only: fails at create"
        return f"driver {driver} is async-only: MissingGreenlet at connect"
    return f"driver {driver}"


# --------------------------------------------------------------------------------------
# Mermaid
# --------------------------------------------------------------------------------------

_ESCAPES = [
    ("#", "#35;"),
    ("&", "#amp;"),
    ('"', "#quot;"),
    ("<", "#lt;"),
    (">", "#gt;"),
    ("[", "#91;"),
    ("]", "#93;"),
    ("(", "#40;"),
    (")", "#41;"),
    ("{", "#123;"),
    ("}", "#125;"),
    ("|", "#124;"),
    ("`", "'"),
]


def mermaid_escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label: no quote, bracket, pipe or tag survives."""
    text = " ".join(redact_text(text).split())
    for old, new in _ESCAPES:
        text = text.replace(old, new)
    return text


def _shape(node: _Node) -> str:
    label = "<br/>".join(mermaid_escape(line) for line in node.lines)
    if node.findings:
        shown: list[Finding] = []
        for finding in node.findings:
            same = [f for f in shown if f.code == finding.code]
            if len(same) < 2 and all(f.message != finding.message for f in same):
                shown.append(finding)
        warn = "<br/>".join(
            mermaid_escape(
                f"{'⚠' if f.severity <= Severity.WARNING else 'ℹ'} {f.code}: {_first_sentence(f.message)}"
            )
            for f in shown
        )
        label += "<br/>" + warn
    if node.shape == "start":
        return f'{node.id}(["{label}"])'
    if node.shape == "decision":
        return f'{node.id}{{"{label}"}}'
    if node.shape == "data":
        return f'{node.id}[("{label}")]'
    if node.shape == "note":
        return f'{node.id}>"{label}"]'
    return f'{node.id}["{label}"]'


def _unique_by_code(findings: list[Finding]) -> list[Finding]:
    seen: set[str] = set()
    out = []
    for finding in findings:
        if finding.code not in seen:
            seen.add(finding.code)
            out.append(finding)
    return out


# Findings about the value a link carries (the URL), and findings about a node alone.
_URL_CODES = frozenset(
    {"ENV001", "ENV002", "ENV011", "ENV012", "ENV013", "ENV014", "ENV053", "ENV057", "ENV060"}
)
# A step that is created but never carried out (a coroutine never awaited, a callable
# run_sync cannot call): the link to the next step is the one that breaks.
_OUTGOING = frozenset({"ENV003", "ENV006", "ENV009"})
_NODE_ONLY = frozenset(
    {"ENV021", "ENV022", "ENV023", "ENV035", "ENV044", "ENV050", "ENV051", "ENV054"}
)


def _serious(findings: list[Finding]) -> list[Finding]:
    """Errors and warnings break a link; info and hints are only noted on their step."""
    return [f for f in findings if f.severity <= Severity.WARNING]


def _edge_codes(edge: _Edge, flow: _Flow, by_id: dict[str, _Node]) -> list[str]:
    """The codes that break this link: those of a bad data source it carries (URL,
    target_metadata), and those of its target that are about its input: URL problems on
    the link from the URL, the others on the link from the step before."""
    src, dst = by_id[edge.src], by_id[edge.dst]
    found: list[Finding] = []
    if src.shape == "data":
        found.extend(f for f in _serious(src.findings) if f.code not in _NODE_ONLY)
    found.extend(f for f in _serious(src.findings) if f.code in _OUTGOING)
    if _serious(dst.findings):
        incoming = [e for e in flow.edges if e.dst == dst.id]
        from_data = [e for e in incoming if by_id[e.src].shape == "data"]
        from_steps = [e for e in incoming if by_id[e.src].shape != "data"]
        for finding in _serious(dst.findings):
            if finding.code in _NODE_ONLY or (
                finding.code in _OUTGOING and any(e.src == dst.id for e in flow.edges)
            ):
                continue
            carriers = (
                (from_data or incoming) if finding.code in _URL_CODES else (from_steps or incoming)
            )
            if any(e is edge for e in carriers):
                found.append(finding)
    return [f.code for f in _unique_by_code(found)]


def _render_mermaid(flow: _Flow) -> str:
    by_id = {n.id: n for n in flow.nodes}
    lines = ["flowchart TD"]
    groups = [
        ("logging", "Logging"),
        ("offline", "Offline mode: alembic ... --sql"),
        ("online", "Online mode"),
    ]
    placed: set[str] = set()
    for node in flow.nodes:
        if node.group == "start":
            lines.append("    " + _shape(node))
            placed.add(node.id)
    for group, title in groups:
        members = [n for n in flow.nodes if n.group == group]
        if not members:
            continue
        lines.append(f'    subgraph {group}["{mermaid_escape(title)}"]')
        for node in members:
            lines.append("        " + _shape(node))
            placed.add(node.id)
        lines.append("    end")
    broken_edges = []
    for index, edge in enumerate(flow.edges):
        codes = _edge_codes(edge, flow, by_id)
        label = edge.label
        if codes:
            label = f"⚠ {', '.join(codes)}" + (f" · {label}" if label else "")
            broken_edges.append(index)
        arrow = "-.->" if edge.dotted or codes else "-->"
        text = f'|"{mermaid_escape(label)}"|' if label else ""
        lines.append(f"    {edge.src} {arrow}{text} {edge.dst}")
    lines.append("    classDef broken stroke:#d33,stroke-width:3px,color:#a00")
    lines.append("    classDef note fill:#fff7e0,stroke:#c90")
    broken_nodes = [n.id for n in flow.nodes if _serious(n.findings)]
    if broken_nodes:
        lines.append(f"    class {','.join(broken_nodes)} broken")
    notes = [n.id for n in flow.nodes if n.shape == "note" and not _serious(n.findings)]
    if notes:
        lines.append(f"    class {','.join(notes)} note")
    if broken_edges:
        lines.append(
            f"    linkStyle {','.join(map(str, broken_edges))} stroke:#d33,stroke-width:2px"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# explain_markdown
# --------------------------------------------------------------------------------------


def explain_markdown(analysis: Analysis) -> str:
    """The flow of this env.py as Markdown: intro, Mermaid diagram, findings."""
    try:
        text = _explain(analysis)
    except Exception as error:  # never an exception for a strange file
        text = (
            f"# {_title(analysis)}\n\nThe flow of this file could not be drawn ({type(error).__name__}).\n\n"
            + _findings_markdown(analysis)
        )
    return _redact(text)


def _redact(markdown: str) -> str:
    """Mask passwords outside the Mermaid block; inside it every label was masked before
    it was escaped (a pass over the escaped text could eat a label's closing quote)."""
    parts = re.split(r"(```mermaid\n.*?\n```)", markdown, flags=re.S)
    return "".join(
        part if part.startswith("```mermaid\n") else redact_markdown(part) for part in parts
    )


def _title(analysis: Analysis) -> str:
    name = Path(analysis.path).name if analysis.path else "env.py"
    return f"What `{name}` does"


def _explain(analysis: Analysis) -> str:
    facts = analysis.facts
    title = f"# {_title(analysis)}"
    if facts is None:
        problem = _syntax_problem(analysis) or "a syntax error"
        return (
            f"{title}\n\nThis file does not parse ({problem}), so Alembic would stop with a `SyntaxError` "
            f"before running any migration, and its flow cannot be shown. Fix the syntax error first.\n\n"
            + _findings_markdown(analysis)
        )
    if not _is_env_script(facts):
        return (
            f"{title}\n\nThis file does not use `alembic.context`, so it is not an Alembic env script: Alembic "
            f"runs `env.py` from the `script_location` folder and expects it to call `context.configure()` and "
            f"`context.run_migrations()`.\n\n" + _findings_markdown(analysis)
        )
    flow = _Builder(analysis).build()
    parts = [
        title,
        f"**Summary:** {_summary(analysis)}",
        _intro(analysis, facts),
        "```mermaid\n" + _render_mermaid(flow) + "\n```",
        "Dashed red links and ⚠ lines mark where the flow breaks (errors and warnings), each with its "
        "diagnostic code; ℹ lines are informational.",
        _findings_markdown(analysis),
    ]
    return "\n\n".join(p for p in parts if p)


def _intro(analysis: Analysis, facts: EnvFacts) -> str:
    sentences = ["Alembic imports this file for every command."]
    engines = _online_engines(facts)
    if engines:
        engine = engines[0]
        kind = "an `AsyncEngine`" if engine.is_async else "a synchronous `Engine`"
        url = engine.url
        where = f"the URL {_url_phrase(url)}"
        sentences.append(f"Online, it builds {kind} with `{engine.factory}()` from {where}.")
        if engine.is_async:
            run_sync = [c for c in facts.calls if c.attr == "run_sync"]
            if run_sync:
                sentences.append(
                    "It connects with `async with` and hands Alembic a synchronous connection through `run_sync()`, "
                    "inside a coroutine that `asyncio.run()` drives."
                    if any(c.qname in N.RUNNERS for c in facts.calls)
                    else "It hands Alembic a synchronous connection through `run_sync()`."
                )
        else:
            sentences.append(
                "It opens a connection and passes it to `context.configure(connection=...)`."
            )
    else:
        sentences.append(f"It builds no engine itself: {_no_engine_words(facts)}.")
    if facts.dispatch is not None:
        sentences.append(
            "With `--sql` (offline mode) it only configures a URL and writes the SQL instead of running it."
        )
    else:
        sentences.append("It has no offline branch, so `--sql` runs the online code.")
    logging = _logging_words(facts)
    sentences.append(
        "Logging is set up with `fileConfig` from the ini file."
        if logging == "fileConfig"
        else f"Logging is set up with `{logging}`."
        if logging != "none"
        else "It sets up no logging, so Alembic's progress lines are not printed."
    )
    return " ".join(sentences)


def _url_phrase(url: UrlValue) -> str:
    if url.text and url.scheme:
        return f"`{_md(redact_url(url.text))}` ({_md(url.origin)})"
    return f"in {_md(url.origin)} (not known statically)"


def _findings_markdown(analysis: Analysis) -> str:
    findings = analysis.findings
    if not findings:
        return "## Findings\n\nNo findings."
    lines = ["## Findings", ""]
    for finding in findings:
        where = f"line {finding.range.start.line + 1}"
        if finding.path is not None:
            where = f"{Path(finding.path).name} {where}"
        also = ""
        if finding.related:
            other = finding.related[0]
            if other.path:
                also = f" (also on {Path(other.path).name} line {other.range.start.line + 1})"
        lines.append(
            f"- **{finding.code}** ({finding.severity.label}), {where}{also}: {_md(finding.message)}"
        )
    return "\n".join(lines)


# --- small helpers --------------------------------------------------------------------------


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_sentence(message: str, limit: int = 80) -> str:
    match = re.match(r"(.+?[.;:])(\s|$)", message)
    text = match.group(1) if match else message
    return _short(text, limit)


def _md(text: str) -> str:
    return text.replace("`", "'")


__all__ = ["explain_markdown", "mermaid_escape", "summary"]
