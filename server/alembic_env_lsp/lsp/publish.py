"""What the client has been told, so it is told only what is new.

Pushed diagnostics go out in version order (never an older version after a newer one); an
ini file's diagnostics, which every keystroke in env.py recomputes, go out only when they
changed; a change the editor cannot know about (an ini file or a setting changed) becomes
one coalesced `workspace/diagnostic/refresh` (pulled diagnostics) and
`workspace/codeLens/refresh`; a message is logged once. Everything kept here is per open document and dropped when it closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from . import convert

_REFRESH_DELAY = 0.05  # seconds: one refresh for a burst of changes
_MAX_SAID = 500  # messages remembered as said once; past that, start afresh (a message may repeat)


class Client(Protocol):
    """What the session needs from the pygls server (implemented in server.py)."""

    def publish(self, params: Any) -> None: ...
    def log(self, level: str, message: str) -> None: ...
    def show(self, level: str, message: str) -> None: ...
    def refresh_diagnostics(self) -> None: ...
    def refresh_code_lens(self) -> None: ...
    async def apply_edit(self, params: Any) -> Any: ...


class Outbox:
    def __init__(
        self,
        client: Client,
        loop: asyncio.AbstractEventLoop,
        features: Callable[[], convert.ClientFeatures],
    ):
        self.client = client
        self.loop = loop
        self.features = features
        self.versions: dict[str, int | None] = {}  # uri -> version of the last push
        self.ini_sent: dict[str, tuple] = {}  # ini key -> (uri, version, identities) last pushed
        self.ini_nonempty: set[str] = set()  # ini keys whose last push had diagnostics
        self.said: set[str] = set()
        self._pending: set[str] = set()  # refreshes due shortly

    def send(self, uri: str, version: int | None, diagnostics: Sequence[Any]) -> None:
        if self.features().pull_diagnostics:
            return
        last = self.versions.get(uri)
        if version is not None and last is not None and version < last:
            return  # never an older version after a newer one
        self.versions[uri] = version
        self.client.publish(convert.publish(uri, version, diagnostics))

    def forget(self, uri: str) -> None:
        """The document closed: its next open starts from any version."""
        self.versions.pop(uri, None)

    def send_ini(
        self,
        ini_key: str,
        uri: str,
        version: int | None,
        diagnostics: Sequence[Any],
        *,
        open_ini: bool,
    ) -> None:
        """Diagnostics on an ini file; a closed file hears only that earlier ones are gone."""
        if not diagnostics and ini_key not in self.ini_nonempty and not open_ini:
            self.ini_sent.pop(ini_key, None)
            return
        if diagnostics:
            self.ini_nonempty.add(ini_key)
        else:
            self.ini_nonempty.discard(ini_key)
        state = (uri, version, tuple(convert.identity(d) for d in diagnostics))
        if self.ini_sent.get(ini_key) == state:
            return
        self.send(uri, version, diagnostics)
        if diagnostics or open_ini:
            self.ini_sent[ini_key] = state
        else:  # cleared on a closed file: nothing of it left to remember
            self.ini_sent.pop(ini_key, None)
            self.forget(uri)

    def forget_ini(self, ini_key: str) -> None:
        self.ini_sent.pop(ini_key, None)

    def refresh_soon(self) -> None:
        """Diagnostics changed without an edit to the document the editor pulls them for."""
        features = self.features()
        if features.pull_diagnostics and features.diagnostic_refresh:
            self._later("diagnostics", self.client.refresh_diagnostics)

    def refresh_lenses_soon(self) -> None:
        """The lens title (the driver, the flow) may have changed without an edit to env.py."""
        if self.features().code_lens_refresh:
            self._later("lenses", self.client.refresh_code_lens)

    def _later(self, what: str, send: Callable[[], None]) -> None:
        if what in self._pending:
            return
        self._pending.add(what)

        def fire() -> None:
            self._pending.discard(what)
            send()

        self.loop.call_later(_REFRESH_DELAY, fire)

    def log_once(self, level: str, message: str, *, show: bool = False) -> None:
        if message in self.said:
            return
        if len(self.said) >= _MAX_SAID:
            self.said.clear()
        self.said.add(message)
        self.client.log(level, message)
        if show:
            self.client.show(level, message)
