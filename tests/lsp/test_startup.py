"""Starting the server: `alembic-env-lsp serve` over stdio, `--tcp HOST:PORT`, bad arguments;
and what it advertises at initialize."""

import asyncio
import json
import socket
import subprocess
import sys

import pytest
from support.lsp import capabilities, editor

pytestmark = pytest.mark.asyncio


async def test_capabilities(tmp_path):
    async with editor(folders=[tmp_path]) as ed:
        caps = ed.init.capabilities
        assert ed.init.server_info.name == "alembic-env-lsp"
        assert caps.text_document_sync.change == 2  # incremental
        assert caps.text_document_sync.open_close is True
        assert caps.hover_provider
        assert caps.code_action_provider.resolve_provider is True
        assert set(caps.code_action_provider.code_action_kinds) == {
            "quickfix",
            "refactor.rewrite",
            "source.fixAll.alembic-env",
        }
        assert caps.code_lens_provider is not None
        assert set(caps.execute_command_provider.commands) == {
            "alembic-env.explain",
            "alembic-env.convertToAsync",
            "alembic-env.fixAll",
        }
        assert caps.diagnostic_provider.identifier == "alembic-env"
        await ed.logged("positions in utf-16")


async def test_serve_through_the_cli(make_project):
    project = make_project(url="postgresql+psycopg2://app:s3cr3t@db/app")
    command = [sys.executable, "-m", "alembic_env_lsp", "serve", "--stdio"]
    async with editor(caps=capabilities(), folders=[project.root], command=command) as ed:
        uri = ed.open(project.env)
        assert any(d.code == "ENV001" for d in await ed.diagnostics(uri, 1))


def _message(body: dict) -> bytes:
    data = json.dumps(body).encode()
    return b"Content-Length: %d\r\n\r\n" % len(data) + data


def _read_message(stream) -> dict:
    length = None
    while True:
        line = stream.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    assert length is not None
    return json.loads(stream.read(length))


async def test_tcp(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "alembic_env_lsp.lsp", "--tcp", f"127.0.0.1:{port}"]
    )
    try:
        for _ in range(300):
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the server never listened")
        with connection:
            stream = connection.makefile("rb")
            init = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
            connection.sendall(
                _message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
            )
            while True:
                reply = _read_message(stream)
                if reply.get("id") == 1:
                    break
            assert reply["result"]["serverInfo"]["name"] == "alembic-env-lsp"
            connection.sendall(_message({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
            connection.sendall(_message({"jsonrpc": "2.0", "method": "exit"}))
    finally:
        server.kill()
        server.wait(timeout=30)


async def test_bad_tcp_address_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "alembic_env_lsp.lsp", "--tcp", "localhost:http"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--tcp expects HOST:PORT" in result.stderr
    assert "Traceback" not in result.stderr
