"""The server's state and decisions, on the event loop: which documents are env scripts or
ini files, what to analyse next, and what to publish and when.

Analyses run on the worker thread (`jobs.py`); this module never blocks. Every env script
being checked is a `Unit`; each submitted analysis gets a generation number, and a unit is
*current* when its newest generation has come back. An open ini file is an `IniState`: the
env scripts it configures (found on the worker) are checked too, and its diagnostics come
from their analyses. Requests (requests/: hover, code actions, pull diagnostics, code lens,
commands) ask for a snapshot (`env_snapshot`, `ini_snapshot`), which waits for the current
analysis of the document's current version, and answer from it; `publish.py` remembers what
the client was told.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..redact import redact_text
from . import convert
from .config import SettingsStore
from .documents import ENV, INI, PYTHON, Document, Documents, kind_of, path_key
from .jobs import EnvInput, EnvResult, IniItem, analyse_env, file_uri, ini_dependents
from .publish import Client, Outbox
from .snapshot import EnvSnapshot, Files, IniSnapshot
from .units import IniState, Unit, wake
from .worker import Worker

if TYPE_CHECKING:
    from ..project import ProjectIndex
    from ..workspace import Workspace


class Session:
    def __init__(self, client: Client, loop: asyncio.AbstractEventLoop):
        self.client = client
        self.loop = loop
        self.docs = Documents()
        self.settings = SettingsStore()
        self.features = convert.ClientFeatures()
        self.codec = convert.Codec()
        self.units: dict[str, Unit] = {}
        self.inis: dict[str, IniState] = {}
        self.worker = Worker(loop, self._on_done)
        self._projects: ProjectIndex | None = None
        self._code: Workspace | None = None  # made on first use
        self._looks_like_env: Callable[[str], bool] | None = None
        self.outbox = Outbox(client, loop, lambda: self.features)
        self._gen = 0  # one counter for every submitted job, so generations never repeat
        self.on_first_alembic_file: Callable[[], None] | None = None  # set by the server (warm-up)

    # ------------------------------------------------------------------ setup

    @property
    def projects(self) -> ProjectIndex:
        if self._projects is None:
            from ..project import ProjectIndex

            self._projects = ProjectIndex()
        return self._projects

    @property
    def code(self) -> Workspace:
        """The engine's index of the project's Python files, made on first use."""
        if self._code is None:
            from ..workspace import Workspace

            self._code = Workspace(self.settings.folders())
        return self._code

    def looks_like_env(self, text: str) -> bool:
        if self._looks_like_env is None:
            from ..project import looks_like_env_script

            self._looks_like_env = looks_like_env_script
        return self._looks_like_env(text)

    def initialize(
        self,
        init_options: Any,
        features: convert.ClientFeatures,
        codec: convert.Codec,
        folders: list[tuple[str, str]],
    ) -> None:
        self.features = features
        self.codec = codec
        self._say_problems(self.settings.initialize(init_options, folders))

    def set_folders(self, folders: list[tuple[str, str]]) -> None:
        self.settings.set_workspace_folders(folders)
        self._code = None  # the scan is bounded by the folders

    def apply_configuration(self, values: list[Any] | None, folders: list[str]) -> bool:
        """Store the answers to `settings.configuration_request()`; True when anything changed."""
        changed, problems = self.settings.apply_configuration(values or [], folders)
        self._say_problems(problems)
        return changed

    def apply_pushed_settings(self, raw: Any) -> bool:
        changed, problems = self.settings.apply_pushed(raw)
        self._say_problems(problems)
        return changed

    def _say_problems(self, problems: list[str]) -> None:
        for problem in problems:
            self.log_once("warning", problem, show=True)

    def settings_changed(self) -> None:
        """Re-check everything open with the new settings (no restart)."""
        self.recheck_all()
        self.outbox.refresh_lenses_soon()
        self.outbox.refresh_soon()

    # ------------------------------------------------------------------ documents

    def did_open(self, uri: str, language_id: str, version: int | None, text: str) -> None:
        doc = self.docs.open(uri, language_id, version, text)
        self.outbox.forget(uri)
        doc.kind = kind_of(doc, self.looks_like_env)
        if doc.kind in (ENV, INI) and self.on_first_alembic_file is not None:
            start, self.on_first_alembic_file = self.on_first_alembic_file, None
            start()
        if doc.kind == ENV:
            self._submit(self._unit(doc.key, doc.path), urgent=True)
        elif doc.kind == INI:
            self._ini_touched(doc)
        elif doc.kind == PYTHON:
            self._publish_nothing(doc)

    def did_change(self, uri: str, version: int | None, changes) -> None:
        doc = self.docs.get(uri)
        if doc is None:
            self.log_once("warning", f"didChange for a document that is not open: {uri}")
            return
        for start, end, new_text in changes:
            doc.apply_change(start, end, new_text, self.codec.units)
        doc.version = version
        before = doc.kind
        if before in (ENV, PYTHON):
            doc.kind = kind_of(doc, self.looks_like_env)
        if doc.kind == ENV:
            self._submit(self._unit(doc.key, doc.path), urgent=True)
        elif doc.kind == INI:
            self._ini_touched(doc)
        elif doc.kind == PYTHON:
            if before == ENV:
                self._release(doc.key)
            self._publish_nothing(doc)

    def did_save(self, uri: str) -> None:
        doc = self.docs.get(uri)
        if doc is None:
            return
        if doc.kind == ENV:
            self._submit(self._unit(doc.key, doc.path))
        elif doc.kind == INI:
            self._ini_touched(doc)
        elif doc.path and os.path.basename(doc.path) == "pyproject.toml":
            self.files_changed([doc.path])
        elif doc.kind == PYTHON and doc.path and self.units:
            # env.py may read this module (models, the app's engine): re-check what is open
            if self._code is not None:
                self._code.invalidate(Path(doc.path))
            for unit in list(self.units.values()):
                self._submit(unit)

    def did_close(self, uri: str) -> None:
        doc = self.docs.close(uri)
        if doc is None:
            return
        if doc.kind == ENV:
            unit = self.units.get(doc.key)
            if unit is not None and self._live(unit):
                self._submit(unit)  # an open ini still needs it: back to the file on disk
            else:
                self._release(doc.key)
            self.outbox.send(uri, None, [])
        elif doc.kind == INI:
            state = self.inis.pop(doc.key, None)
            if doc.path:
                self.projects.set_overlay(Path(doc.path), None)
            for key in list(self.units):
                unit = self.units[key]
                if not self._live(unit):
                    self._release(key)
                elif doc.key in self._deps(unit):
                    self._submit(unit)
            if state is not None:
                wake(state)
            self.outbox.forget_ini(doc.key)
            self._publish_ini(doc.key, closing_uri=uri)
        self.outbox.forget(uri)

    def files_changed(self, paths: list[str]) -> None:
        """alembic.ini / pyproject.toml changed on disk: re-check what may read them."""
        for path in paths:
            self.projects.invalidate(Path(path))
            if self._code is not None:
                self._code.invalidate(Path(path))
            folder = os.path.dirname(path_key(path))
            for unit in list(self.units.values()):
                if unit.key.startswith(folder + os.sep) or path_key(path) in self._deps(unit):
                    self._submit(unit)
                    self.outbox.refresh_lenses_soon()
            for doc in self.docs:
                if doc.kind == INI and (
                    doc.key.startswith(folder + os.sep) or doc.key == path_key(path)
                ):
                    self._ini_touched(doc, overlay=False)
        self.outbox.refresh_soon()

    def recheck_all(self) -> None:
        for doc in self.docs:
            if doc.kind == INI:
                self._ini_touched(doc, overlay=False)
        for unit in list(self.units.values()):
            self._submit(unit)

    # ------------------------------------------------------------------ scheduling

    def _unit(self, key: str, path: str | None) -> Unit:
        unit = self.units.get(key)
        if unit is None:
            unit = self.units[key] = Unit(key, path)
        return unit

    def _live(self, unit: Unit) -> bool:
        doc = self.docs.by_key(unit.key)
        if doc is not None and doc.kind == ENV:
            return True
        return any(unit.key in state.dependents for state in self.inis.values())

    def _deps(self, unit: Unit) -> frozenset[str]:
        return unit.result.deps if unit.result is not None else frozenset()

    def _submit(self, unit: Unit, *, urgent: bool = False) -> None:
        doc = self.docs.by_key(unit.key)
        open_env = doc is not None and doc.kind == ENV
        if not open_env and unit.path is None:
            return  # a closed buffer that was never a file: nothing to read
        self._gen += 1
        unit.requested = self._gen
        if doc is not None:
            uri = doc.uri
        else:
            assert unit.path is not None  # (checked above)
            uri = file_uri(unit.path)
        inp = EnvInput(
            gen=unit.requested,
            key=unit.key,
            path=unit.path,
            uri=uri,
            version=doc.version if doc is not None and open_env else None,
            text=doc.text if doc is not None and open_env else None,
            editor=self.settings.for_path(unit.path),
            ini_versions={d.key: d.version for d in self.docs if d.kind == INI},
            uris={d.key: d.uri for d in self.docs},
            code=self.code,
        )
        projects, codec = self.projects, self.codec
        self.worker.submit(
            ("env", unit.key), lambda: analyse_env(inp, projects, codec), urgent=urgent
        )

    def _ini_touched(self, doc: Document, *, overlay: bool = True) -> None:
        if doc.path is None:
            return
        if overlay:
            self.projects.set_overlay(Path(doc.path), doc.text)
        state = self.inis.get(doc.key)
        if state is None:
            state = self.inis[doc.key] = IniState(doc.key, doc.path)
        self._gen += 1
        state.requested = self._gen
        gen, path, projects = state.requested, doc.path, self.projects
        self.worker.submit(
            ("ini", doc.key), lambda: (gen, ini_dependents(path, projects)), urgent=True
        )
        readers = [unit for unit in self.units.values() if doc.key in self._deps(unit)]
        for unit in readers:
            self._submit(unit)
        if readers:  # the lens names the driver the ini's URL gives (lens requests wait)
            self.outbox.refresh_lenses_soon()

    def _release(self, key: str) -> None:
        """Stop checking an env script nobody needs any more; take back what it published."""
        unit = self.units.pop(key, None)
        if unit is None:
            return
        self.worker.discard(("env", key))
        wake(unit)
        if unit.result is not None:
            for ini_key in unit.result.ini_items:
                self._publish_ini(ini_key)
        self._forget(unit.path, self._deps(unit))

    def _forget(self, path: str | None, deps: frozenset[str]) -> None:
        """Drop what the caches hold for an env script nobody checks any more, and for the
        project files only it read: a day of opening and closing files must not add up."""
        from .. import pyenv  # loaded with the project index already

        if not self.units and not self.inis:  # nothing left to check: start afresh
            self.projects.invalidate()
            pyenv.forget_folders(())
            if self._code is not None:
                self._code.invalidate()
            return
        still_read = {key for unit in self.units.values() for key in self._deps(unit)}
        still_read.update(doc.key for doc in self.docs)
        for key in deps - still_read:
            self.projects.invalidate(Path(key))
        if path is not None:
            still_checked = [u.path for u in self.units.values() if u.path is not None]
            still_checked.extend(doc.path for doc in self.docs if doc.path is not None)
            self.projects.forget(Path(path).parent, keep=still_checked)
            pyenv.forget_folders(still_checked)
        if path is not None and self._code is not None:
            self._code.invalidate(Path(path))

    def _on_done(self, key, result, error: BaseException | None) -> None:
        """Back on the loop with a worker's result."""
        try:
            kind, path_key_ = key
            if kind == "env":
                self._env_done(path_key_, result, error)
            else:
                self._ini_done(path_key_, result, error)
        except Exception as exc:  # never let bookkeeping kill the loop
            self.client.log(
                "error",
                redact_text(f"internal error after an analysis: {type(exc).__name__}: {exc}"),
            )

    def _env_done(self, key: str, result: EnvResult | None, error: BaseException | None) -> None:
        unit = self.units.get(key)
        if error is not None:  # analyse_env catches Exception; this is worse (e.g. MemoryError)
            notes = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            self.log_once(
                "error",
                redact_text(f"analysis of {key} failed: {type(error).__name__}: {error}\n{notes}"),
            )
            return
        if result is None:
            return
        if unit is None:  # released while it was analysed: what it cached goes too
            self._forget(result.path, result.deps)
            return
        if result.failed:
            self.log_once(
                "error", f"analysis of {result.path or result.uri} failed: {result.failed}"
            )
        if result.gen < unit.completed:
            return
        unit.completed = result.gen
        if result.gen != unit.requested:
            return  # a newer input is queued: this one is superseded, say nothing
        previous = unit.result
        unit.result = result
        for problem in result.problems:
            self.log_once("warning", redact_text(problem), show=True)
        for message in result.internal_errors:
            self.log_once("error", f"a rule failed (other rules still report): {message}")
        wake(unit)
        doc = self.docs.by_key(key)
        if doc is not None and doc.kind == ENV and doc.version == result.version:
            if self.features.pull_diagnostics:
                if (
                    previous is not None
                    and previous.version == result.version
                    and _digest(previous) != _digest(result)
                ):
                    self.outbox.refresh_soon()  # changed by an ini/settings change, not by typing
            else:
                self.outbox.send(
                    doc.uri, doc.version, result.env_diagnostics if result.enabled else []
                )
        if self.features.pull_diagnostics and _ini_digest(previous) != _ini_digest(result):
            self.outbox.refresh_soon()
        touched = set(result.ini_items) | (
            set(previous.ini_items) if previous is not None else set()
        )
        # open ini files this env script reads get their (maybe empty) diagnostics too
        touched |= {
            k for k, state in self.inis.items() if k in result.deps or key in state.dependents
        }
        for ini_key in touched:
            self._publish_ini(ini_key)

    def _ini_done(self, key: str, result, error: BaseException | None) -> None:
        state = self.inis.get(key)
        if state is None:
            return
        if error is not None:
            self.log_once(
                "error", redact_text(f"reading {key} failed: {type(error).__name__}: {error}")
            )
            gen, dependents = state.requested, []
        else:
            gen, dependents = result
        if gen < state.completed:
            return
        state.completed = gen
        if gen != state.requested:
            return
        before = state.dependents
        state.dependents = frozenset(path_key(p) for p in dependents)
        paths = {path_key(p): p for p in dependents}
        for env_key in state.dependents:
            unit = self.units.get(env_key)
            if unit is None:
                self._submit(self._unit(env_key, paths[env_key]))
            elif env_key not in before:
                self._submit(unit)
        for env_key in before - state.dependents:
            unit = self.units.get(env_key)
            if unit is not None and not self._live(unit):
                self._release(env_key)
        wake(state)
        self._publish_ini(key)

    # ------------------------------------------------------------------ publishing

    def _publish_nothing(self, doc: Document) -> None:
        self.outbox.send(doc.uri, doc.version, [])

    def _ini_diagnostics(self, ini_key: str) -> tuple[list, list[tuple[EnvResult, IniItem]]]:
        """(diagnostics, items) shown on an ini file, from every live unit, without duplicates."""
        seen: set[tuple] = set()
        diagnostics, items = [], []
        for unit in self.units.values():
            result = unit.result
            if result is None or not result.enabled or not self._live(unit):
                continue
            for item in result.ini_items.get(ini_key, ()):
                identity = convert.same_diagnostic(item.diagnostic)
                if identity in seen:
                    continue
                seen.add(identity)
                diagnostics.append(item.diagnostic)
                items.append((result, item))
        return diagnostics, items

    def _ini_ready(self, ini_key: str) -> bool:
        doc = self.docs.by_key(ini_key)
        state = self.inis.get(ini_key)
        if state is not None and state.completed != state.requested:
            return False
        for unit in self.units.values():
            if not self._live(unit):
                continue
            reads = ini_key in self._deps(unit) or (
                state is not None and unit.key in state.dependents
            )
            if not reads:
                continue
            result = unit.result
            if not unit.current or result is None:
                return False
            if (
                doc is not None
                and doc.kind == INI
                and result.enabled
                and result.ini_versions.get(ini_key) != doc.version
            ):
                return False
        return True

    def _publish_ini(self, ini_key: str, closing_uri: str | None = None) -> None:
        if not self._ini_ready(ini_key):
            return
        diagnostics, _ = self._ini_diagnostics(ini_key)
        doc = self.docs.by_key(ini_key)
        open_ini = doc is not None and doc.kind == INI
        if doc is not None and open_ini:
            uri, version = doc.uri, doc.version
        else:
            uri, version = closing_uri or self._ini_uri(ini_key), None
        self.outbox.send_ini(ini_key, uri, version, diagnostics, open_ini=open_ini)

    def _ini_uri(self, ini_key: str) -> str:
        for unit in self.units.values():
            if unit.result is not None and ini_key in unit.result.ini_paths:
                return file_uri(unit.result.ini_paths[ini_key])
        return file_uri(ini_key)

    def log_once(self, level: str, message: str, *, show: bool = False) -> None:
        self.outbox.log_once(level, message, show=show)

    # ------------------------------------------------------------------ waiting for analyses

    async def env_result(self, uri: str) -> tuple[Document, EnvResult] | None:
        """The analysis of the open env script's current text, waiting for it if needed."""
        while True:
            doc = self.docs.get(uri)
            if doc is None or doc.kind != ENV:
                return None
            unit = self.units.get(doc.key)
            if unit is None:
                return None
            result = unit.result
            if unit.current and result is not None and result.version == doc.version:
                return doc, result
            if unit.completed == unit.requested:
                self._submit(
                    unit, urgent=True
                )  # nothing queued for this version (should not happen)
            future = self.loop.create_future()
            unit.waiters.append(future)
            self.worker.prioritize(("env", unit.key))
            await future

    async def ini_ready(self, uri: str) -> Document | None:
        """Wait until every env script that reads this open ini file has been analysed against it."""
        for _ in range(1000):
            doc = self.docs.get(uri)
            if doc is None or doc.kind != INI:
                return None
            if self._ini_ready(doc.key):
                return doc
            pending = [self.inis.get(doc.key)] + [u for u in self.units.values() if not u.current]
            holders = [h for h in pending if h is not None]
            if not holders:
                return doc
            future = self.loop.create_future()
            for holder in holders:
                holder.waiters.append(future)
            await future
        return self.docs.get(uri)

    # ------------------------------------------------------------------ snapshots for requests

    def kind(self, uri: str) -> str | None:
        """ENV, INI, PYTHON or OTHER for an open document; None when it is not open."""
        doc = self.docs.get(uri)
        return doc.kind if doc is not None else None

    @property
    def files(self) -> Files:
        """Where edits go: open documents first, then the files the project reads."""

        def ini_text(path: str) -> str | None:
            ini = self.projects.ini(Path(path))
            return ini.text if ini is not None else None

        return Files(self.docs.by_key, ini_text, self.codec, self.features)

    async def env_snapshot(self, uri: str) -> EnvSnapshot | None:
        found = await self.env_result(uri)
        if found is None:
            return None
        doc, result = found
        return EnvSnapshot(doc, result, self.files)

    async def ini_snapshot(self, uri: str) -> IniSnapshot | None:
        doc = await self.ini_ready(uri)
        if doc is None:
            return None
        _, items = self._ini_diagnostics(doc.key)
        reading = next(
            (result.analysis for result, _ in items if result.analysis is not None), None
        ) or self._analysis_reading(doc.key)
        return IniSnapshot(doc, items, reading, self.files)

    def _analysis_reading(self, ini_key: str):
        for unit in self.units.values():
            if (
                unit.result is not None
                and unit.result.analysis is not None
                and ini_key in unit.result.deps
                and self._live(unit)
            ):
                return unit.result.analysis
        return None

    def shutdown(self) -> None:
        self.worker.stop()


# ---------------------------------------------------------------------- helpers


def _digest(result: EnvResult) -> tuple:
    return tuple(convert.identity(d) for d in result.env_diagnostics) if result.enabled else ()


def _ini_digest(result: EnvResult | None) -> tuple:
    if result is None or not result.enabled:
        return ()
    return tuple(
        (key, tuple(convert.identity(i.diagnostic) for i in items))
        for key, items in sorted(result.ini_items.items())
    )
