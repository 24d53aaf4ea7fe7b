"""The server's state and decisions, on the event loop: which documents are env scripts or
ini files, what to analyse next, what to publish and when, and the answers to requests.

Analyses run on the worker thread (`jobs.py`); this module never blocks. Every env script
being checked is a `Unit`; each submitted analysis gets a generation number, and a unit is
*current* when its newest generation has come back. Requests (hover, code actions, pull
diagnostics, code lens) wait for the current analysis of the document's current version
and then answer from it without computing anything heavy.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..redact import redact_text
from . import convert
from .actions import Plan, offers_async_rewrite, plan_env_actions, plan_ini_actions, safe_edits
from .config import SECTION, SettingsStore, parse_editor_settings
from .documents import ENV, INI, PYTHON, Document, Documents, kind_of, path_key
from .jobs import EnvInput, EnvResult, analyse_env, file_uri, ini_dependents, read_text
from .worker import Worker


class Client(Protocol):
    """What the session needs from the pygls server (implemented in server.py)."""

    def publish(self, params: Any) -> None: ...
    def log(self, level: str, message: str) -> None: ...
    def show(self, level: str, message: str) -> None: ...
    def refresh_diagnostics(self) -> None: ...
    def refresh_code_lens(self) -> None: ...
    async def apply_edit(self, params: Any) -> Any: ...


@dataclass(eq=False)
class Unit:
    """One env script being checked: open in the editor, or read from disk because an open
    ini file configures it."""

    key: str
    path: str | None  # None: an editor buffer that is not a file
    requested: int = 0
    completed: int = 0
    result: EnvResult | None = None
    waiters: list = field(default_factory=list)

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
    waiters: list = field(default_factory=list)


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
        self._projects = None
        self._code = None  # workspace.Workspace, made on first use
        self._looks_like_env: Callable[[str], bool] | None = None
        self._published: dict[str, int | None] = {}  # uri -> version of the last push
        self._ini_published: set[str] = set()  # ini keys with diagnostics out there
        self._ini_sent: dict[str, tuple] = {}  # ini key -> (uri, version, diagnostics) last pushed
        self._said: set[str] = set()  # messages already logged once
        self._refresh_pending = False
        self._gen = 0  # one counter for every submitted job, so generations never repeat
        self.on_first_alembic_file: Callable[[], None] | None = None  # set by the server (warm-up)
        self._folder_uris: dict[str, str] = {}

    # ------------------------------------------------------------------ setup

    @property
    def projects(self):
        if self._projects is None:
            from ..project import ProjectIndex

            self._projects = ProjectIndex()
        return self._projects

    @property
    def code(self):
        """The engine's index of the project's Python files (None while that module is absent)."""
        if self._code is None:
            try:
                from ..workspace import Workspace
            except ImportError:
                return None
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
        raw = init_options.get("settings") if isinstance(init_options, dict) else None
        self.settings.set_initial(
            parse_editor_settings(raw, where="initializationOptions.settings")
        )
        self.settings.set_folders([path for _, path in folders])
        self._folder_uris = {path_key(path): uri for uri, path in folders}
        for problem in self.settings.initial.problems:
            self._once("warning", problem, show=True)

    def set_folders(self, folders: list[tuple[str, str]]) -> None:
        self.settings.set_folders([path for _, path in folders])
        self._folder_uris = {path_key(path): uri for uri, path in folders}
        self._code = None  # the scan is bounded by the folders

    def configuration_request(self) -> tuple[list[tuple[str, str | None]], list[str]]:
        """What to ask `workspace/configuration` for (our section globally, then per folder),
        and the folders the answers after the first belong to."""
        folders = self.settings.folders()
        items = [(SECTION, None)] + [
            (SECTION, self._folder_uris.get(path_key(f)) or file_uri(f)) for f in folders
        ]
        return items, folders

    def apply_configuration(self, values: list[Any] | None, folders: list[str]) -> bool:
        """Store the answers to `configuration_request()`; True when anything changed."""
        if not values:
            return False
        before = self._settings_snapshot()
        self.settings.set_global(parse_editor_settings(values[0], where="alembicEnv settings"))
        for folder, value in zip(folders, values[1:]):
            self.settings.set_folder(
                folder, parse_editor_settings(value, where=f"alembicEnv settings of {folder}")
            )
        return self._settings_changed(before)

    def apply_pushed_settings(self, raw: Any) -> bool:
        """A `didChangeConfiguration` that carries the settings (clients without `configuration`)."""
        parsed = parse_editor_settings(raw, where="alembicEnv settings")
        if parsed is None:
            return False
        before = self._settings_snapshot()
        self.settings.set_global(parsed)
        return self._settings_changed(before)

    def _settings_snapshot(self):
        return (
            self.settings.for_path(None),
            tuple(self.settings.for_path(f) for f in self.settings.folders()),
        )

    def _settings_changed(self, before) -> bool:
        after = self._settings_snapshot()
        for settings in [after[0], *after[1]]:
            for problem in getattr(settings, "problems", ()) or ():
                self._once("warning", problem, show=True)
        return after != before

    def settings_changed(self) -> None:
        """Re-check everything open with the new settings (no restart)."""
        self.recheck_all()
        if self.features.code_lens_refresh:
            self.client.refresh_code_lens()
        self._schedule_refresh()

    # ------------------------------------------------------------------ documents

    def did_open(self, uri: str, language_id: str, version: int | None, text: str) -> None:
        doc = self.docs.open(uri, language_id, version, text)
        self._published.pop(uri, None)
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
            self._once("warning", f"didChange for a document that is not open: {uri}")
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
            self._send(uri, None, [])
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
                self._wake(state)
            self._ini_sent.pop(doc.key, None)
            self._publish_ini(doc.key, closing_uri=uri)
        self._published.pop(uri, None)

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
            for doc in self.docs:
                if doc.kind == INI and (
                    doc.key.startswith(folder + os.sep) or doc.key == path_key(path)
                ):
                    self._ini_touched(doc, overlay=False)
        self._schedule_refresh()

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
        uri = doc.uri if doc is not None else file_uri(unit.path)
        inp = EnvInput(
            gen=unit.requested,
            key=unit.key,
            path=unit.path,
            uri=uri,
            version=doc.version if open_env else None,
            text=doc.text if open_env else None,
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
        for unit in list(self.units.values()):
            if doc.key in self._deps(unit):
                self._submit(unit)

    def _release(self, key: str) -> None:
        """Stop checking an env script nobody needs any more; take back what it published."""
        unit = self.units.pop(key, None)
        if unit is None:
            return
        self.worker.discard(("env", key))
        self._wake(unit)
        if unit.result is not None:
            for ini_key in unit.result.ini_items:
                self._publish_ini(ini_key)

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
            notes = "".join(getattr(error, "__notes__", ()) or ())
            self._once(
                "error",
                redact_text(f"analysis of {key} failed: {type(error).__name__}: {error}\n{notes}"),
            )
            return
        if unit is None or result is None:
            return
        if result.failed:
            self._once("error", f"analysis of {result.path or result.uri} failed: {result.failed}")
        if result.gen < unit.completed:
            return
        unit.completed = result.gen
        if result.gen != unit.requested:
            return  # a newer input is queued: this one is superseded, say nothing
        previous = unit.result
        unit.result = result
        for problem in result.problems:
            self._once("warning", redact_text(problem), show=True)
        for message in result.internal_errors:
            self._once("error", f"a rule failed (other rules still report): {message}")
        self._wake(unit)
        doc = self.docs.by_key(key)
        if doc is not None and doc.kind == ENV and doc.version == result.version:
            if self.features.pull_diagnostics:
                if (
                    previous is not None
                    and previous.version == result.version
                    and _digest(previous) != _digest(result)
                ):
                    self._schedule_refresh()  # changed by an ini/settings change, not by typing
            else:
                self._send(doc.uri, doc.version, result.env_diagnostics if result.enabled else [])
        if self.features.pull_diagnostics and _ini_digest(previous) != _ini_digest(result):
            self._schedule_refresh()
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
            self._once(
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
        self._wake(state)
        self._publish_ini(key)

    def _wake(self, holder) -> None:
        waiters, holder.waiters = holder.waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    # ------------------------------------------------------------------ publishing

    def _send(self, uri: str, version: int | None, diagnostics) -> None:
        if self.features.pull_diagnostics:
            return
        last = self._published.get(uri)
        if version is not None and last is not None and version < last:
            return  # never an older version after a newer one
        self._published[uri] = version
        self.client.publish(convert.publish(uri, version, diagnostics))

    def _publish_nothing(self, doc: Document) -> None:
        self._send(doc.uri, doc.version, [])

    def _ini_diagnostics(self, ini_key: str) -> tuple[list, list]:
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
                items.append((unit, item))
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
            if not unit.current:
                return False
            if (
                doc is not None
                and doc.kind == INI
                and unit.result.enabled
                and unit.result.ini_versions.get(ini_key) != doc.version
            ):
                return False
        return True

    def _publish_ini(self, ini_key: str, closing_uri: str | None = None) -> None:
        if not self._ini_ready(ini_key):
            return
        diagnostics, _ = self._ini_diagnostics(ini_key)
        doc = self.docs.by_key(ini_key)
        if doc is not None and doc.kind == INI:
            uri, version = doc.uri, doc.version
        else:
            uri, version = closing_uri or self._ini_uri(ini_key), None
        if (
            not diagnostics
            and ini_key not in self._ini_published
            and (doc is None or doc.kind != INI)
        ):
            return
        if diagnostics:
            self._ini_published.add(ini_key)
        else:
            self._ini_published.discard(ini_key)
        # typing in env.py re-checks the ini side each time: say it again only when it changed
        state = (uri, version, tuple(_identity(d) for d in diagnostics))
        if self._ini_sent.get(ini_key) == state:
            return
        self._ini_sent[ini_key] = state
        self._send(uri, version, diagnostics)

    def _ini_uri(self, ini_key: str) -> str:
        for unit in self.units.values():
            if unit.result is not None and ini_key in unit.result.ini_paths:
                return file_uri(unit.result.ini_paths[ini_key])
        return file_uri(ini_key)

    def _schedule_refresh(self) -> None:
        if (
            not (self.features.pull_diagnostics and self.features.diagnostic_refresh)
            or self._refresh_pending
        ):
            return
        self._refresh_pending = True

        def fire() -> None:
            self._refresh_pending = False
            self.client.refresh_diagnostics()

        self.loop.call_later(0.05, fire)

    def _once(self, level: str, message: str, *, show: bool = False) -> None:
        if message in self._said:
            return
        self._said.add(message)
        self.client.log(level, message)
        if show:
            self.client.show(level, message)

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
            if unit.current and unit.result.version == doc.version:
                return doc, unit.result
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

    async def result_from_disk(self, path: str) -> EnvResult | None:
        """An analysis of an env script that is not open (commands run from the file explorer)."""
        key = path_key(path)
        inp = EnvInput(
            gen=-1,
            key=key,
            path=path,
            uri=file_uri(path),
            version=None,
            text=None,
            editor=self.settings.for_path(path),
            ini_versions={d.key: d.version for d in self.docs if d.kind == INI},
            uris={d.key: d.uri for d in self.docs},
            code=self.code,
        )
        return await asyncio.to_thread(analyse_env, inp, self.projects, self.codec)

    # ------------------------------------------------------------------ requests

    async def pull(self, uri: str, previous: str | None):
        doc = self.docs.get(uri)
        if doc is None:
            return convert.full_report([], "none")
        if doc.kind == ENV:
            found = await self.env_result(uri)
            items = found[1].env_diagnostics if found and found[1].enabled else []
        elif doc.kind == INI:
            await self.ini_ready(uri)
            items = self._ini_diagnostics(doc.key)[0]
        else:
            items = []
        result_id = f"{hash(tuple(_identity(d) for d in items)) & 0xFFFFFFFFFFFF:x}"
        if previous is not None and previous == result_id:
            return convert.unchanged_report(result_id)
        return convert.full_report(items, result_id)

    async def hover(self, uri: str, position):
        doc = self.docs.get(uri)
        if doc is None:
            return None
        if doc.kind == ENV:
            found = await self.env_result(uri)
            if found is None:
                return None
            doc, result = found
            if not result.enabled or result.analysis is None:
                return None
            pos = self.codec.from_client(doc, position)
            if pos is None:
                return None
            analysis = result.analysis
            findings = [analysis.findings[i] for i in result.env_indexes]
            return self._hover_answer(
                doc, findings, pos, lambda hovers: hovers.hover_at(analysis, pos)
            )
        if doc.kind == INI:
            doc = await self.ini_ready(uri)
            if doc is None or doc.path is None:
                return None
            pos = self.codec.from_client(doc, position)
            if pos is None:
                return None
            _, items = self._ini_diagnostics(doc.key)
            findings = [item.finding for _, item in items]
            analysis = next(
                (unit.result.analysis for unit, _ in items), None
            ) or self._analysis_reading(doc.key)
            project = getattr(analysis, "project", None)
            path, text = doc.path, doc.text
            if analysis is None and Path(path).name != "alembic.ini" and "[alembic]" not in text:
                return None  # pytest.ini, tox.ini...: not Alembic's configuration
            return self._hover_answer(
                doc,
                findings,
                pos,
                lambda hovers: hovers.hover_ini(project, path, text, pos, analysis=analysis),
            )
        return None

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

    def _hover_answer(self, doc: Document, findings, pos, symbol: Callable[[Any], Any]):
        """hovers.py's answer (symbol facts, and the rule docs over a finding); without that
        module, the rule docs of the findings under the cursor."""
        try:
            from .. import hovers
        except ImportError:
            hovers = None
        if hovers is not None:
            try:
                answer = symbol(hovers)
            except Exception as error:  # a hover bug must not cost the rule docs
                self._once("error", redact_text(f"hover failed: {type(error).__name__}: {error}"))
            else:
                if answer is None:
                    return None
                return convert.hover(answer.markdown, doc, self.codec, answer.range)
        codes: list[str] = []
        rng = None
        for finding in findings:
            if finding.range.contains(pos) and finding.code not in codes:
                codes.append(finding.code)
                rng = rng or finding.range
        if not codes:
            return None
        return convert.hover(
            "\n\n---\n\n".join(_rule_docs(code) for code in codes), doc, self.codec, rng
        )

    async def code_actions(self, uri: str, client_range, only):
        doc = self.docs.get(uri)
        if doc is None:
            return []
        if doc.kind == ENV:
            found = await self.env_result(uri)
            if found is None:
                return []
            doc, result = found
            if not result.enabled or result.analysis is None:
                return []
            rng = self.codec.range_from_client(doc, client_range)
            analysis = result.analysis
            by_index = dict(zip(result.env_indexes, result.env_diagnostics))
            plans = plan_env_actions(
                analysis,
                result.env_indexes,
                rng,
                only,
                offer_rewrite=offers_async_rewrite(analysis),
            )
            return [self._env_action(plan, doc, result, by_index) for plan in plans]
        if doc.kind == INI:
            doc = await self.ini_ready(uri)
            if doc is None:
                return []
            rng = self.codec.range_from_client(doc, client_range)
            _, items = self._ini_diagnostics(doc.key)
            actions = []
            for unit, item in items:
                for plan, _ in plan_ini_actions([item], rng, only):
                    edit = self._workspace_edit(plan.edits, unit.result, doc)
                    actions.append(
                        convert.code_action(
                            plan.title,
                            plan.kind,
                            diagnostics=[item.diagnostic],
                            preferred=plan.preferred,
                            edit=edit,
                        )
                    )
            return actions
        return []

    def _env_action(self, plan: Plan, doc: Document, result: EnvResult, by_index: dict):
        diagnostics = [by_index[i] for i in plan.findings if i in by_index]
        if plan.lazy == "convert":
            data = {"action": "convert", "uri": doc.uri, "version": doc.version}
            if self.features.resolve_edit:
                return convert.code_action(plan.title, plan.kind, data=data)
            return convert.code_action(
                plan.title,
                plan.kind,
                command=(plan.title, convert.CONVERT_COMMAND, [doc.uri, {"notify": True}]),
            )
        edit = self._workspace_edit(plan.edits, result, doc)
        return convert.code_action(
            plan.title, plan.kind, diagnostics=diagnostics, preferred=plan.preferred, edit=edit
        )

    def _workspace_edit(self, edits, result: EnvResult, current: Document):
        """Engine edits (path None = the analysed env script) as one WorkspaceEdit."""
        by_path: dict[str, list] = {}
        for edit in edits:
            key = path_key(edit.path) if edit.path else result.key
            by_path.setdefault(key, []).append(edit)
        files = []
        for key, group in by_path.items():
            files.append(self._file_edits(key, group, result, current))
        return convert.workspace_edit(
            [f for f in files if f is not None],
            self.codec,
            document_changes=self.features.document_changes,
        )

    def _file_edits(self, key: str, edits, result: EnvResult, current: Document):
        doc = self.docs.by_key(key)
        if key == result.key and result.source is not None:
            uri = doc.uri if doc is not None else result.uri
            return convert.FileEdits(uri, result.version, result.source, list(edits))
        if doc is not None:
            return convert.FileEdits(doc.uri, doc.version, doc, list(edits))
        path = result.ini_paths.get(key) or next((e.path for e in edits if e.path), key)
        from ..text import SourceText

        ini = self.projects.ini(Path(path)) if path.endswith(".ini") else None
        text = ini.text if ini is not None else (read_text(path)[0] or "")
        return convert.FileEdits(file_uri(path), None, SourceText(text), list(edits))

    async def resolve(self, action):
        data = convert.action_data(action)
        if not isinstance(data, dict) or data.get("action") != "convert":
            return action
        edit, reason = await self._convert_edit(str(data.get("uri")))
        if edit is None:
            # nothing to apply: running the command instead tells the user why
            command = (
                convert.action_title(action),
                convert.CONVERT_COMMAND,
                [data.get("uri"), {"notify": True}],
            )
            return convert.with_resolution(action, None, command)
        return convert.with_resolution(action, edit, None)

    async def _convert_edit(self, uri: str):
        """(WorkspaceEdit, None) converting the file to the async pattern, or (None, why not)."""
        doc = self.docs.get(uri)
        if doc is not None:
            text, version, lines = doc.text, doc.version, doc
        else:
            path = _path_of(uri)
            if path is None:
                return None, "not a file"
            text, problem = read_text(path)
            if text is None:
                return None, problem
            version = None
            from ..text import SourceText

            lines = SourceText(text)

        def compute():
            from ..fixes.async_rewrite import convert_to_async
            from ..text import diff_edits

            outcome = convert_to_async(text)
            if outcome.refused:
                return None, outcome.refused
            if not outcome.changed or outcome.text is None:
                return None, "env.py already uses the async connection pattern"
            return diff_edits(text, outcome.text), None

        edits, reason = await asyncio.to_thread(compute)
        if edits is None:
            return None, reason
        current = self.docs.get(uri)
        if current is not None and current.version != version:
            return None, "the file changed while the rewrite was computed; try again"
        files = [convert.FileEdits(uri, version, lines, list(edits))]
        return convert.workspace_edit(
            files, self.codec, document_changes=self.features.document_changes
        ), None

    async def code_lens(self, uri: str):
        doc = self.docs.get(uri)
        if doc is None or doc.kind != ENV:
            return []
        found = await self.env_result(uri)
        if found is None:
            return []
        doc, result = found
        if not result.enabled or not result.code_lens or result.analysis is None:
            return []
        try:
            title = _summary(result.analysis)
        except Exception as error:
            self._once("error", redact_text(f"code lens failed: {type(error).__name__}: {error}"))
            return []
        return [convert.explain_lens(doc.uri, redact_text(title))]

    # ------------------------------------------------------------------ commands

    async def explain(self, uri: Any) -> dict:
        result = await self._any_result(uri)
        if result is None or result.analysis is None:
            return {
                "markdown": "",
                "summary": "",
                "reason": "not an env script this server can read",
            }
        analysis = result.analysis
        return {
            "markdown": redact_text(_explain_markdown(analysis)),
            "summary": redact_text(_summary(analysis)),
        }

    async def _any_result(self, uri: Any) -> EnvResult | None:
        if not isinstance(uri, str):
            return None
        found = await self.env_result(uri)
        if found is not None:
            return found[1]
        doc = self.docs.get(uri)
        path = doc.path if doc is not None else _path_of(uri)
        if path is None or not os.path.isfile(path):
            return None
        return await self.result_from_disk(path)

    async def convert_to_async(self, uri: Any, options: Any = None) -> dict:
        if not isinstance(uri, str):
            return {"applied": False, "reason": "expected the URI of an env.py file"}
        edit, reason = await self._convert_edit(uri)
        if edit is None:
            if isinstance(options, dict) and options.get("notify") and reason:
                self.client.show("info", f"Convert to async: {reason}")
            return {"applied": False, "reason": reason}
        return await self._apply(edit, "Convert env.py to the async connection pattern")

    async def fix_all(self, uri: Any) -> dict:
        if not isinstance(uri, str):
            return {"applied": False, "reason": "expected the URI of an env.py file"}
        found = await self.env_result(uri)
        result = found[1] if found is not None else await self._any_result(uri)
        if result is None or result.analysis is None:
            return {"applied": False, "reason": "not an env script this server can read"}
        edits = safe_edits(result.analysis)
        if not edits:
            return {"applied": False, "reason": "nothing to fix safely"}
        doc = self.docs.get(uri)
        edit = self._workspace_edit(edits, result, doc)
        return await self._apply(edit, "Fix all alembic-env problems")

    async def _apply(self, edit, label: str) -> dict:
        if not self.features.apply_edit:
            return {"applied": False, "reason": "the editor does not support workspace/applyEdit"}
        try:
            answer = await self.client.apply_edit(convert.apply_edit(edit, label))
        except Exception as error:
            return {
                "applied": False,
                "reason": redact_text(f"the editor refused the edit: {error}"),
            }
        ok, reason = convert.applied(answer)
        return {"applied": ok, "reason": reason}

    def shutdown(self) -> None:
        self.worker.stop()


# ---------------------------------------------------------------------- helpers


def _digest(result: EnvResult) -> tuple:
    return tuple(_identity(d) for d in result.env_diagnostics) if result.enabled else ()


def _ini_digest(result: EnvResult | None) -> tuple:
    if result is None or not result.enabled:
        return ()
    return tuple(
        (key, tuple(_identity(i.diagnostic) for i in items))
        for key, items in sorted(result.ini_items.items())
    )


def _identity(diagnostic) -> tuple:
    return convert.same_diagnostic(diagnostic) + (int(diagnostic.severity or 0),)


def _path_of(uri: str) -> str | None:
    from .documents import uri_to_path

    return uri_to_path(uri)


def _rule_docs(code: str) -> str:
    from ..rules import rule_by_code

    rule = rule_by_code(code)
    if rule is None:
        return f"**{code}**"
    return f"{rule.markdown()}\n\n[{code} in the rule reference]({convert.rule_href(code)})"


def _summary(analysis) -> str:
    try:
        from .. import explain
    except ImportError:
        return _fallback_summary(analysis)
    return explain.summary(analysis)


def _explain_markdown(analysis) -> str:
    try:
        from .. import explain
    except ImportError:
        return _fallback_markdown(analysis)
    return explain.explain_markdown(analysis)


def _fallback_summary(analysis) -> str:
    count = len([f for f in analysis.findings if f.path is None])
    return (
        f"alembic-env: {count} problem{'s' if count != 1 else ''} in this env.py"
        if count
        else "alembic-env: no problems found"
    )


def _fallback_markdown(analysis) -> str:
    lines = ["# env.py", ""]
    for finding in analysis.findings:
        lines.append(f"- **{finding.code}** line {finding.range.start.line + 1}: {finding.message}")
    if len(lines) == 2:
        lines.append("No problems found.")
    return "\n".join(lines) + "\n"
