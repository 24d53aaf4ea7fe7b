"""Run the language server with every engine.analyze() call logged to stderr (for diagnosis).

    python bench/traced_server.py [serve args...]

stderr lines (t = ms since start):  "analyze <t_start> <chars> <ms> <thread>",
"change <t> <version>" when a didChange reaches the session, "pull <t_start> <ms>" per
textDocument/diagnostic answer.

Used by bench/profile.py `trace` to count how many analyses a burst of edits causes and when
they run. Importing the engine up front makes startup slower: never use it for timings of
startup.
"""

import sys
import threading
import time

import alembic_env_lsp.engine as engine

T0 = time.perf_counter()
_orig = engine.analyze


def analyze(text, *args, **kwargs):
    t = time.perf_counter()
    try:
        return _orig(text, *args, **kwargs)
    finally:
        now = time.perf_counter()
        print(
            f"analyze {(t - T0) * 1000:.1f} {len(text)} {(now - t) * 1000:.2f} "
            f"{threading.current_thread().name}",
            file=sys.stderr,
            flush=True,
        )


engine.analyze = analyze


def _wrap_session() -> None:
    from alembic_env_lsp.lsp.requests import diagnostic
    from alembic_env_lsp.lsp.session import Session

    did_change, pull = Session.did_change, diagnostic.pull

    def traced_change(self, uri, version, changes):
        print(
            f"change {(time.perf_counter() - T0) * 1000:.1f} {version}", file=sys.stderr, flush=True
        )
        return did_change(self, uri, version, changes)

    async def traced_pull(session, uri, previous):
        t = time.perf_counter()
        try:
            return await pull(session, uri, previous)
        finally:
            print(
                f"pull {(t - T0) * 1000:.1f} {(time.perf_counter() - t) * 1000:.2f}",
                file=sys.stderr,
                flush=True,
            )

    Session.did_change = traced_change  # type: ignore[method-assign]
    diagnostic.pull = traced_pull  # the server looks it up on each request


_wrap_session()

from alembic_env_lsp.cli import main  # noqa: E402

sys.exit(main(["serve", *sys.argv[1:]]))
