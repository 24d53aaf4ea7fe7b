"""The language server (pygls 2.x) over the engine: `server.main` is `alembic-env-lsp serve`."""
