"""What the session schedules: an env script being checked (`Unit`) and an open ini file
(`IniState`), each with the requests waiting for its newest analysis."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from .jobs import EnvResult


@dataclass(eq=False)
class Unit:
    """One env script being checked: open in the editor, or read from disk because an open
    ini file configures it."""

    key: str
    path: str | None  # None: an editor buffer that is not a file
    requested: int = 0  # generation of the newest analysis asked for
    completed: int = 0  # generation of the newest analysis back
    result: EnvResult | None = None
    waiters: list[asyncio.Future] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return self.completed == self.requested and self.result is not None


@dataclass(eq=False)
class IniState:
    """An open ini file: the env scripts it configures (found on the worker)."""

    key: str
    path: str
    requested: int = 0
    completed: int = 0
    dependents: frozenset[str] = frozenset()
    waiters: list[asyncio.Future] = field(default_factory=list)


def wake(holder: Unit | IniState) -> None:
    """Its analysis is back (or it is gone): the requests waiting on it look again."""
    waiters, holder.waiters = holder.waiters, []
    for future in waiters:
        if not future.done():
            future.set_result(None)
