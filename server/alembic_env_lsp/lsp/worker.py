"""One background thread that runs analyses, newest input first, one at a time.

Handlers only record "this key needs work" with the newest input; a burst of edits replaces
the queued input instead of adding to it, so only the newest text is analysed and nothing
waits behind more than the one analysis that is already running. No timer delays a single
edit. Results are handed back to the event loop, which alone talks to the client.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

Job = Callable[[], Any]
Done = Callable[[Hashable, Any, BaseException | None], None]


class Worker:
    def __init__(
        self, loop: asyncio.AbstractEventLoop, done: Done, name: str = "alembic-env-analysis"
    ):
        self._loop = loop
        self._done = done
        self._cv = threading.Condition()
        self._pending: OrderedDict[Hashable, Job] = OrderedDict()
        self._running: Hashable | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, key: Hashable, job: Job, *, urgent: bool = False) -> None:
        """Queue `job` for `key`, replacing a queued job for the same key."""
        with self._cv:
            self._pending[key] = job
            if urgent:
                self._pending.move_to_end(key, last=False)
            self._cv.notify()

    def prioritize(self, key: Hashable) -> None:
        with self._cv:
            if key in self._pending:
                self._pending.move_to_end(key, last=False)

    def discard(self, key: Hashable) -> None:
        with self._cv:
            self._pending.pop(key, None)

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._pending.clear()
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._stopped:
                    self._cv.wait()
                if self._stopped:
                    return
                key, job = self._pending.popitem(last=False)
                self._running = key
            result: Any = None
            error: BaseException | None = None
            try:
                result = job()
            except BaseException as exc:  # noqa: BLE001 - reported on the loop (with its traceback)
                error = exc
            with self._cv:
                self._running = None
            try:
                self._loop.call_soon_threadsafe(self._done, key, result, error)
            except RuntimeError:  # the loop is closed: the server is shutting down
                return
