""" "Explain this env.py": a one-line summary for a code lens (`summary`), and the flow of
the file as Markdown with a Mermaid diagram (`explain_markdown`): logging, the offline
branch, and the online code in the order it runs (engine, connection, `asyncio.run`,
`run_sync`, `configure`, `run_migrations`, with a decision per branch), each broken link
marked with its diagnostic.

Built from the Analysis only (facts and findings); nothing is parsed or imported here.
Passwords are masked; Mermaid labels are escaped so the diagram always renders.
"""

from __future__ import annotations

from .markdown import explain_markdown
from .mermaid import mermaid_escape
from .summary import summary

__all__ = ["explain_markdown", "mermaid_escape", "summary"]
