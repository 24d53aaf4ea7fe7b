"""alembic-env-lsp: find and fix the mistakes in Alembic's env.py, in the editor and in CI."""

__version__ = "0.1.0"
