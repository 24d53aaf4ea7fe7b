"""Hover: what the symbol under the cursor does, with the facts of this file.

- `envpy.hover_at`: env.py (symbols, engines, connections, keywords, URLs, local functions);
  over a finding's range, the finding is added.
- `ini.hover_ini`: alembic.ini (`sqlalchemy.url`, `script_location`, section headers).
- `texts`: the general prose; `url`: what a URL means for each engine kind;
  `symbol_facts` / `objects`: the lines about this file; `common`: layout and redaction.

Every text leaves the package through `redact_markdown` (no password is ever shown).
"""

from __future__ import annotations

from .common import HoverResult, redact_markdown
from .envpy import hover_at
from .ini import hover_ini
from .url import configure_url, offline_url

__all__ = [
    "HoverResult",
    "configure_url",
    "hover_at",
    "hover_ini",
    "offline_url",
    "redact_markdown",
]
