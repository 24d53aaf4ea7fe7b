"""The flow graph as Mermaid: escaped labels (the diagram always renders, no password shows),
subgraphs per mode, and broken links marked with the codes that break them."""

from __future__ import annotations

from ..findings import Finding, Severity
from ..redact import redact_text
from .graph import Edge, Flow, Node
from .text import first_sentence

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


def _shape(node: Node) -> str:
    label = "<br/>".join(mermaid_escape(line) for line in node.lines)
    if node.findings:
        shown: list[Finding] = []
        for finding in node.findings:
            same = [f for f in shown if f.code == finding.code]
            if len(same) < 2 and all(f.message != finding.message for f in same):
                shown.append(finding)
        warn = "<br/>".join(
            mermaid_escape(
                f"{'⚠' if f.severity <= Severity.WARNING else 'ℹ'} {f.code}: {first_sentence(f.message)}"
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


# Findings about a step's own options or setup, not about what reaches it: noted on the step,
# never on its links (ENV045's misspelt keyword says nothing about the link into configure).
_NODE_ONLY = frozenset(
    {
        "ENV021",
        "ENV022",
        "ENV023",
        "ENV033",
        "ENV035",
        "ENV040",
        "ENV041",
        "ENV043",
        "ENV044",
        "ENV045",
        "ENV050",
        "ENV051",
        "ENV054",
    }
)


def serious(findings: list[Finding]) -> list[Finding]:
    """Errors and warnings break a link; info and hints are only noted on their step."""
    return [f for f in findings if f.severity <= Severity.WARNING]


def _edge_codes(edge: Edge, flow: Flow, by_id: dict[str, Node]) -> list[str]:
    """The codes that break this link: those of a bad data source it carries (URL,
    target_metadata), and those of its target that are about its input: URL problems on
    the link from the URL, the others on the link from the step before."""
    src, dst = by_id[edge.src], by_id[edge.dst]
    found: list[Finding] = []
    if src.shape == "data":
        found.extend(f for f in serious(src.findings) if f.code not in _NODE_ONLY)
    found.extend(f for f in serious(src.findings) if f.code in _OUTGOING)
    if serious(dst.findings):
        incoming = [e for e in flow.edges if e.dst == dst.id]
        from_data = [e for e in incoming if by_id[e.src].shape == "data"]
        from_steps = [e for e in incoming if by_id[e.src].shape != "data"]
        for finding in serious(dst.findings):
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


def render_mermaid(flow: Flow) -> str:
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
    broken_nodes = [n.id for n in flow.nodes if serious(n.findings)]
    if broken_nodes:
        lines.append(f"    class {','.join(broken_nodes)} broken")
    notes = [n.id for n in flow.nodes if n.shape == "note" and not serious(n.findings)]
    if notes:
        lines.append(f"    class {','.join(notes)} note")
    if broken_edges:
        lines.append(
            f"    linkStyle {','.join(map(str, broken_edges))} stroke:#d33,stroke-width:2px"
        )
    return "\n".join(lines)
