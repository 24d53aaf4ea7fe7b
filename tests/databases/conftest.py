"""A throwaway PostgreSQL server for the migration tests, and per-test databases.

The server comes from Debian's packages (scripts/setup-postgres.sh installs them). It runs on
127.0.0.1 on a free port with trust auth and a temporary data directory, and is stopped at the
end of the session. Without PostgreSQL the tests fail with a clear message, unless
ALEMBIC_ENV_LSP_ALLOW_NO_PG=1 says that skipping them is acceptable.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ALLOW_NO_PG = os.environ.get("ALEMBIC_ENV_LSP_ALLOW_NO_PG") == "1"
SETUP_HINT = "run scripts/setup-postgres.sh (or set ALEMBIC_ENV_LSP_ALLOW_NO_PG=1 to skip the PostgreSQL tests)"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "databases: real migrations against SQLite and a local PostgreSQL (slow)"
    )


def _server_bin() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        path = Path(candidate)
        if all((path / exe).exists() for exe in ("initdb", "pg_ctl", "postgres")):
            return path
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    bin: Path
    data: Path
    port: int
    as_user: list[str]  # command prefix that runs a program as the cluster owner

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, check=check, timeout=120
        )

    def url(self, driver: str, database: str) -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self):
        import psycopg2

        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
        )
        conn.autocommit = True
        return conn


@pytest.fixture(scope="session")
def postgres_server():
    bin_dir = _server_bin()
    if bin_dir is None:
        if ALLOW_NO_PG:
            pytest.skip("PostgreSQL server binaries not found; ALEMBIC_ENV_LSP_ALLOW_NO_PG=1")
        pytest.fail(
            f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: {SETUP_HINT}",
            pytrace=False,
        )

    # PostgreSQL refuses to run as root: run it as the `postgres` account the package creates.
    data = Path(tempfile.mkdtemp(prefix="alembic-env-lsp-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail(
                f"running as root and there is no 'postgres' user to own the test cluster: {SETUP_HINT}",
                pytrace=False,
            )
        os.chown(data, owner.pw_uid, owner.pw_gid)
        runuser = shutil.which("runuser")
        as_user = (
            [runuser, "-u", "postgres", "--"]
            if runuser
            else ["su", "postgres", "-s", "/bin/sh", "-c", 'exec "$0" "$@"']
        )
    server = PostgresServer(bin_dir, data, _free_port(), as_user)
    init = server.run(
        str(bin_dir / "initdb"),
        "-D",
        str(data),
        "--auth=trust",
        "--username=postgres",
        "--encoding=UTF8",
        "--locale=C",
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}", pytrace=False)
    options = f"-p {server.port} -h 127.0.0.1 -k {data} -c fsync=off -c full_page_writes=off"
    start = server.run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(data / "server.log"),
        "-w",
        "-t",
        "60",
        "start",
        check=False,
    )
    if start.returncode != 0:
        log = (data / "server.log").read_text() if (data / "server.log").exists() else ""
        shutil.rmtree(data, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed:\n{start.stdout}\n{start.stderr}\n{log}", pytrace=False)
    try:
        yield server
    finally:
        server.run(
            str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop", check=False
        )
        shutil.rmtree(data, ignore_errors=True)


# URL scheme per backend and driver family. "postgresql+psycopg" is psycopg 3, which has both modes.
SCHEMES = {
    ("sqlite", "async"): "sqlite+aiosqlite",
    ("sqlite", "sync"): "sqlite",
    ("postgresql", "async"): "postgresql+asyncpg",
    ("postgresql", "sync"): "postgresql+psycopg2",
    ("postgresql+psycopg", "async"): "postgresql+psycopg",
    ("postgresql+psycopg", "sync"): "postgresql+psycopg",
}


class Database:
    """One empty database for one test, and what a user would look at in it."""

    def __init__(self, backend: str, tmp_path: Path, server: PostgresServer | None):
        self.backend = backend
        self.server = server
        if backend == "sqlite":
            self.path = tmp_path / "app.db"
        else:
            self.name = "t_" + uuid.uuid4().hex[:12]
            conn = server.admin()
            try:
                with conn.cursor() as cur:
                    cur.execute(f'CREATE DATABASE "{self.name}"')
            finally:
                conn.close()

    def url(self, driver: str) -> str:
        scheme = SCHEMES[(self.backend, driver)]
        if self.backend == "sqlite":
            return f"{scheme}:///{self.path}"
        return self.server.url(scheme, self.name)

    def _query(self, sql: str, *params) -> list[tuple]:
        if self.backend == "sqlite":
            if not self.path.exists():
                return []
            with sqlite3.connect(self.path) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg2

        conn = psycopg2.connect(
            host="127.0.0.1", port=self.server.port, user="postgres", dbname=self.name
        )
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            conn.close()

    def tables(self) -> set[str]:
        if self.backend == "sqlite":
            rows = self._query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        else:
            rows = self._query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        return {r[0] for r in rows}

    def columns(self, table: str) -> set[str]:
        if self.backend == "sqlite":
            return {r[1] for r in self._query(f'PRAGMA table_info("{table}")')}
        rows = self._query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", table
        )
        return {r[0] for r in rows}

    def indexes(self, table: str) -> set[str]:
        if self.backend == "sqlite":
            rows = self._query(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", table
            )
        else:
            rows = self._query("SELECT indexname FROM pg_indexes WHERE tablename = %s", table)
        return {r[0] for r in rows}

    def versions(self) -> list[str]:
        if "alembic_version" not in self.tables():
            return []
        return [r[0] for r in self._query("SELECT version_num FROM alembic_version")]


@pytest.fixture
def make_database(tmp_path, request):
    def make(backend: str) -> Database:
        server = request.getfixturevalue("postgres_server") if backend != "sqlite" else None
        return Database(backend, tmp_path, server)

    return make
