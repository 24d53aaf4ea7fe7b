"""Runs the language server with its stderr appended to a file (argv: LOG [server args]),
so tests can read everything the server wrote there."""

import os
import runpy
import sys

log = sys.argv[1]
fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
os.dup2(fd, 2)
sys.argv = ["alembic_env_lsp.lsp", *sys.argv[2:]]
runpy.run_module("alembic_env_lsp.lsp", run_name="__main__", alter_sys=True)
