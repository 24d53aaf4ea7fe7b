"""The flow graph of one env.py: nodes (steps, data, decisions, notes) and edges, built in
the order env.py runs: logging, the offline/online dispatch, then the online code walked
statement by statement (`walk.py`), ending at one end node. Findings attach to the nodes
whose source ranges hold them."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import drivers
from ..findings import Finding
from ..hovers import configure_url
from ..model import names as N
from ..model.facts import CallFact, Confidence, ConfigureFact, EngineFact, EnvFacts, UrlValue
from ..model.qualify import qualified_name
from ..pyenv import SqlalchemyBasis, driver_info_for, sqlalchemy_basis
from ..redact import redact_url
from ..text import Range
from .text import short

if TYPE_CHECKING:
    from ..engine import Analysis


@dataclass
class Node:
    id: str
    lines: list[str]
    shape: str = "box"  # box | start | decision | data | note
    spans: list[Range] = field(default_factory=list)  # env.py ranges this node stands for
    findings: list[Finding] = field(default_factory=list)
    group: str = "online"  # online | offline | logging | start


@dataclass
class Edge:
    src: str
    dst: str
    label: str = ""
    dotted: bool = False


@dataclass
class Flow:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def add(self, lines: list[str], *, shape: str = "box", spans=(), group: str = "online") -> Node:
        node = Node(
            f"n{len(self.nodes)}", [line for line in lines if line], shape, list(spans), group=group
        )
        self.nodes.append(node)
        return node

    def link(
        self, src: Node | None, dst: Node | None, label: str = "", dotted: bool = False
    ) -> None:
        if src is not None and dst is not None:
            self.edges.append(Edge(src.id, dst.id, label, dotted))


class Builder:
    def __init__(self, analysis: Analysis):
        self.analysis = analysis
        self.facts: EnvFacts = analysis.facts  # type: ignore[assignment]
        self.source = analysis.source
        self.project = analysis.project
        self.basis = sqlalchemy_basis(analysis.project)
        self.flow = Flow()
        self.logging_node: Node | None = None
        self.offline_node: Node | None = None
        self.mode_node: Node | None = None
        self.metadata_node: Node | None = None
        self.end: Node | None = None
        self.engine_nodes: list[Node] = []
        self.url_nodes: list[Node] = []
        self.configure_nodes: list[tuple[ConfigureFact, Node]] = []

    # --- helpers ---

    def line(self, node: ast.AST) -> int:
        return self.source.from_utf8(node.lineno, node.col_offset).line + 1  # type: ignore[attr-defined]

    def text(self, node: ast.AST, limit: int = 60) -> str:
        return short(self.source.slice(self.source.node_range(node)), limit)

    def span(self, node: ast.AST) -> Range:
        return self.source.node_range(node)

    # --- the graph ---

    def build(self) -> Flow:
        from .walk import Walker

        flow = self.flow
        start = flow.add(["alembic runs env.py"], shape="start", group="start")
        self.end = Node("end", ["end of env.py"], shape="start", group="start")
        tails: list[tuple[Node, str]] = [(start, "")]
        if not any(c.qname in N.LOG_SETUP for c in self.facts.calls):
            self.logging_node = flow.add(
                ["no logging setup: alembic prints nothing"], shape="note", group="logging"
            )
            flow.link(start, self.logging_node)
            tails = [(self.logging_node, "")]
        if self.facts.dispatch is None:
            note = flow.add(
                ["no offline branch: --sql runs the online code"], shape="note", group="offline"
            )
            self.offline_node = note
            for node, label in tails:
                flow.link(node, note, label)
            tails = [(note, "")]
        tails = Walker(self).module(tails)
        for node, label in tails:
            flow.link(node, self.end, label)
        # Mermaid ids are n0, n1, ...; "end" is a keyword there
        self.end.id = f"n{len(flow.nodes)}"
        flow.nodes.append(self.end)
        for edge in flow.edges:
            if edge.dst == "end":
                edge.dst = self.end.id
        self._metadata()
        self._attach_findings()
        return flow

    def logging_step(self, call: CallFact) -> Node:
        """The first logging setup call: a step of the flow, with the ini sections it reads."""
        flow = self.flow
        guarded = any(
            isinstance(sub, ast.Attribute) and sub.attr == "config_file_name"
            for branch, _ in call.branches
            for sub in ast.walk(branch.test)
        )
        lines = [f"{self.text(call.node)} · line {self.line(call.node)}"]
        if call.qname == N.FILE_CONFIG:
            lines.append("guarded: config_file_name is not None" if guarded else "not guarded")
        node = flow.add(lines, spans=[self.span(call.stmt)], group="logging")
        self.logging_node = node
        ini = getattr(self.project, "ini", None)
        if call.qname == N.FILE_CONFIG and ini is not None:
            missing = ini.missing_logging_sections()
            label = f"{ini.path.name}: " + (
                "missing " + ", ".join(f"[{m}]" for m in missing)
                if missing
                else "[loggers] [handlers] [formatters]"
            )
            source = flow.add([label], shape="data", group="logging")
            flow.link(source, node, "logging sections")
        return node

    def dispatch_step(self, tails: list[tuple[Node, str]]) -> tuple[Node, list[tuple[Node, str]]]:
        """The `if context.is_offline_mode():` decision and the offline branch (to the end)."""
        dispatch = self.facts.dispatch
        assert dispatch is not None
        flow = self.flow
        mode = flow.add(
            [f"{self.text(dispatch.node.test)} · line {self.line(dispatch.node)}"],
            shape="decision",
            spans=[self.span(dispatch.node.test)],
            group="start",
        )
        self.mode_node = mode
        for node, label in tails:
            flow.link(node, mode, label)
        last = self._offline(mode)
        assert self.end is not None
        flow.link(last, self.end)
        return mode, [(mode, "no: online")]

    def _offline(self, mode: Node) -> Node:
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
            return self.offline_node
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
        self.configure_nodes.append((configure, node))
        url_expr = configure.keyword("url")
        if url_expr is not None:
            found = configure_url(facts, self.project, configure)
            labels = self._offline_paths(configure) or [
                f"{found[1]}: {redact_url(found[0])}" if found else f"url={self.text(url_expr, 40)}"
            ]
            url_node = flow.add(labels, shape="data", spans=[self.span(url_expr)], group="offline")
            flow.link(url_node, node, "url=")
        flow.link(mode, node, "yes: --sql")
        runs = [
            c
            for c in facts.calls_named("alembic.context.run_migrations")
            if c.scope is configure.call.scope
        ]
        last = node
        for run in runs:
            run_node = self.run_node(run, group="offline")
            flow.link(last, run_node)
            last = run_node
        return last

    def _offline_paths(self, configure: ConfigureFact) -> list[str]:
        """One line per value the offline URL takes (the model's paths), or none."""
        from ..hovers.common import Here
        from ..hovers.url_groups import group_by, model_groups
        from ..hovers.url_paths import candidates_of
        from ..hovers.url_values import model_none, prefer_model
        from ..text import Position

        url = configure.url
        expr = configure.keyword("url")
        here = Here(
            self.analysis, self.facts, self.source, Position(0, 0), [], configure.call.scope
        )
        ours = candidates_of(here, expr) if expr is not None else []
        if url is not None and not model_none(url):
            ours = [c for c in ours if not c.origin.endswith("`None`")]
        if url is not None and len(url.alternatives) > 1 and prefer_model(url, ours):
            groups = model_groups(here, url, lambda c: (c.text, c.origin))
        elif len(ours) > 1:  # the hovers' own reading found more paths
            groups = group_by(ours, lambda c: (c.text, c.origin))
        else:
            return []
        lines = []
        for group in groups:
            condition = group.when()
            when = (
                f"when {short(condition, 60)}: "
                if condition
                else "other paths: "
                if len(groups) > 1
                else ""
            )
            texts = [t for t in group.texts() if "://" in t]
            value = short(redact_url(texts[0]), 50) if texts else _unknown_words(group)
            lines.append(when + short(value, 60))
        return lines

    def _here(self, engine: EngineFact):
        from ..hovers.common import Here
        from ..text import Position

        return Here(self.analysis, self.facts, self.source, Position(0, 0), [], engine.call.scope)

    def _section_by_name(self, engine: EngineFact) -> list[str]:
        """Labels for an engine built from `config.get_section(name)` with a computed name."""
        from ..hovers.objects import section_by_name

        text = section_by_name(self._here(engine), engine)
        if text is None:
            return []
        return ["URL of the ini section named at run time", "one per section, not the main URL"]

    def _url_paths(self, engine: EngineFact) -> list[tuple[str, str | None]]:
        """(label, verdict) for each value the engine's URL takes on some path; empty when it
        has one value (the model's)."""
        from ..hovers.common import Here
        from ..hovers.url_groups import group_by, kind_of, model_groups
        from ..hovers.url_paths import engine_candidates
        from ..hovers.url_values import model_none, prefer_model
        from ..text import Position

        here = Here(self.analysis, self.facts, self.source, Position(0, 0), [], engine.call.scope)
        out: list[tuple[str, str | None]] = []

        def verdict(candidate) -> str | None:
            if not (candidate.text and "://" in candidate.text):
                return None
            return _verdict_words(candidate.text, engine, self.basis)

        def kind(c) -> str:
            return kind_of(c)

        def key(c) -> tuple:
            return (kind(c), verdict(c))

        paths = engine_candidates(here, engine)
        if not model_none(engine.url):
            paths = [c for c in paths if not c.origin.endswith("`None`")]
        if len(engine.url.alternatives) > 1 and prefer_model(engine.url, paths):
            groups = model_groups(here, engine.url, key)  # the model's paths, exact conditions
        elif len(paths) > 1:
            groups = group_by(paths, key)
        else:
            return []  # one value: the model's, drawn as it is
        for group in groups:
            condition = group.when() if len(groups) > 1 else ""
            when = (
                f"when {short(condition, 60)}: "
                if condition
                else "other paths: "
                if len(groups) > 1
                else ""
            )
            texts = [t for t in group.texts() if "://" in t]
            if texts:
                label = when + " or ".join(short(redact_url(t), 50) for t in texts[:2])
                words = verdict(group.candidates[0])
                out.append((label, f"{when}{words}" if words else None))
            else:
                out.append((when + short(_unknown_words(group), 60), None))
        return out

    def engine_step(self, engine: EngineFact) -> Node:
        """The engine factory call, with the URL it reads as a data node."""
        flow = self.flow
        url = engine.url
        paths = self._url_paths(engine)
        per_section = self._section_by_name(engine)
        url_node = flow.add(
            per_section or ([line for line, _ in paths] if paths else _url_labels(url)),
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
        verdicts = (
            []
            if per_section
            else [v for _, v in paths if v]
            if paths
            else [_short_verdict(engine, self.basis)]
        )
        lines.extend(v for v in verdicts if v)
        if any(verdicts) and not self.basis.assumed:
            lines.append(f"judged with {self.basis.label()}")
        if engine.poolclass is not None:
            lines.append(f"poolclass={self.text(engine.poolclass, 30)}")
        spans = [self.span(engine.call.node.func)]
        if engine.url_node is not None and url.literal is None:
            spans.append(self.span(engine.url_node))
        node = flow.add(lines, spans=spans)
        self.engine_nodes.append(node)
        flow.link(url_node, node, "URL")
        return node

    def configure_node(self, configure: ConfigureFact) -> Node:
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
        self.configure_nodes.append((configure, node))
        return node

    def run_node(self, run: CallFact, group: str = "online") -> Node:
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
        linked = False
        for configure, cnode in self.configure_nodes:
            value = configure.keyword("target_metadata")
            if value is not None and any(
                isinstance(sub, ast.Name) and sub.id == "target_metadata" for sub in ast.walk(value)
            ):
                self.flow.link(node, cnode, "target_metadata", dotted=True)
                linked = True
        if not linked:
            self.flow.nodes.remove(node)
            self.metadata_node = None

    # --- findings ---

    def _attach_findings(self) -> None:
        for finding in self.analysis.findings:
            node = self._node_for(finding)
            if node is not None:
                node.findings.append(finding)

    def _node_for(self, finding: Finding) -> Node | None:
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
                self.configure_nodes[-1][1] if self.configure_nodes else None
            )
        if family == "ENV05" and self.engine_nodes:
            return self.engine_nodes[0]
        return None


def _unknown_words(group) -> str:
    """A value without a URL text: `None` (a getter's, or an ini key that is missing), or one
    known at run time."""
    if all(c.origin.startswith("`None`") for c in group.candidates):
        missing = any("not in the ini" in c.origin for c in group.candidates)
        return "None (not in the ini)" if missing else "None"
    if all(c.origin.endswith("which cannot be interpolated") for c in group.candidates):
        return f"reading it raises ({group.origins()})"
    return f"run-time value ({group.origins()})"


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
        return [short(origin, 70), short(redact_url(url.text), 70)]
    return ["URL not known statically", short(url.origin, 70)]


def _short_verdict(engine: EngineFact, basis: SqlalchemyBasis) -> str | None:
    url = engine.url
    if not url.scheme:
        return None
    return _verdict_words(url.text or "", engine, basis)


def _verdict_words(text: str, engine: EngineFact, basis: SqlalchemyBasis) -> str | None:
    """Short verdict, judged with the project's SQLAlchemy; a bare `postgresql://` with no
    project environment found gets both versions' words when they differ."""
    scheme = drivers.split_scheme(text)
    if basis.assumed and scheme is not None and scheme[1] is None:
        new, old = (_words(driver_info_for(text, v), engine) for v in ("2.1", "2.0"))
        if new and old and new != old:
            return f"SQLAlchemy 2.1+: {new}; 2.0: {old}"
    return _words(driver_info_for(text, None if basis.assumed else basis.version), engine)


def _words(info: drivers.DriverInfo | None, engine: EngineFact) -> str | None:
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
