"""`python -m alembic_env_lsp.lsp [--stdio | --tcp HOST:PORT]`: the language server alone."""

import sys

from .server import main

raise SystemExit(main(sys.argv[1:]))
