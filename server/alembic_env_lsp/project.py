"""The project around an env.py: which alembic.ini section and pyproject.toml belong to it
(`ProjectIndex.context_for`), and where a folder's env scripts are (`find_env_scripts`).

The files themselves are read the way Alembic's `Config` reads them in config_files.py;
the index caches them by (path, mtime, size) and takes an editor's unsaved text over the disk.
Nothing of the project is imported or run.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config_files import MAIN_SECTION, MAX_CONFIG_BYTES, IniFile, IniValue, PyProject, read_bytes
from .pyenv import PythonChoice, PythonEnvironment

MAX_ENV_SCRIPT_BYTES = 2 * 1024 * 1024
SKIPPED_DIRS = frozenset({".venv", "node_modules", ".git", "__pycache__", "site-packages"})


@dataclass
class ProjectContext:
    env_path: Path
    ini: IniFile | None
    other_inis: list[IniFile]
    pyproject: PyProject | None
    main_section: str = MAIN_SECTION
    # What the CLI (--python) or the editor said about the project's interpreter.
    python_choice: PythonChoice | None = None

    def main_option(self, key: str) -> IniValue | None:
        if self.ini is None:
            return None
        return self.ini.get(self.main_section, key)

    def python_environment(self) -> PythonEnvironment | None:
        """The project's Python environment (pyenv.find_environment), or None."""
        from .pyenv import find_environment

        return find_environment(self)


# --- the project index ---


class ProjectIndex:
    """Caches parsed ini/pyproject files by (path, mtime_ns, size); the language server keeps one per workspace."""

    def __init__(self, python: PythonChoice | None = None) -> None:
        self.python = python  # the --python flag / the editor's python setting
        self._lock = threading.RLock()
        self._files: dict[str, tuple[Any, Any]] = {}
        self._overlays: dict[str, str] = {}
        # folder -> (mtime_ns, entry names): a checked folder is listed again only when it changes
        self._listings: dict[str, tuple[int, set[str]]] = {}

    def _names_in(self, folder: Path) -> set[str]:
        key = str(folder)
        try:
            mtime = os.stat(folder).st_mtime_ns
        except OSError:
            return set()
        with self._lock:
            hit = self._listings.get(key)
            if hit is not None and hit[0] == mtime:
                return hit[1]
        try:
            names = set(os.listdir(folder))
        except OSError:
            names = set()
        with self._lock:
            self._listings[key] = (mtime, names)
        return names

    def set_overlay(self, path: Path, text: str | None) -> None:
        """Use an editor's unsaved text for `path` instead of the disk (None: back to disk)."""
        key = _path_key(path)
        with self._lock:
            if text is None:
                self._overlays.pop(key, None)
            else:
                self._overlays[key] = text
            self._files.pop(key, None)

    def invalidate(self, path: Path | None = None) -> None:
        with self._lock:
            if path is None:
                self._files.clear()
                self._listings.clear()
            else:
                self._files.pop(_path_key(path), None)

    def forget(self, folder: Path, keep: Iterable[Path | str] = ()) -> None:
        """Drop the listings made for a script in `folder` (the folder and its ancestors),
        except the folders on the way up from a path in `keep` (what is still checked): the
        listings of a closed project must not pile up in a server that runs all day."""
        still_listed: set[str] = set()
        for path in keep:
            kept = Path(os.path.abspath(path))
            still_listed.add(str(kept))
            still_listed.update(str(parent) for parent in kept.parents)
        start = Path(os.path.abspath(folder))
        with self._lock:
            for listed in (start, *start.parents):
                if str(listed) not in still_listed:
                    self._listings.pop(str(listed), None)

    def ini(self, path: Path) -> IniFile:
        return self._cached(path, IniFile.read, IniFile)

    def pyproject(self, path: Path) -> PyProject:
        return self._cached(path, PyProject.read, PyProject.from_text)

    def _cached(self, path: Path, read, from_text):
        key = _path_key(path)
        with self._lock:
            overlay = self._overlays.get(key)
            signature = ("overlay", overlay) if overlay is not None else _signature(key)
            hit = self._files.get(key)
            if hit is not None and hit[0] == signature and signature is not None:
                return hit[1]
        parsed = from_text(Path(key), overlay) if overlay is not None else read(Path(key))
        with self._lock:
            self._files[key] = (signature, parsed)
        return parsed

    def context_for(self, env_path: Path) -> ProjectContext:
        env_path = Path(os.path.abspath(env_path))
        env_dir = _real(env_path.parent)
        matches: list[tuple[IniFile, str]] = []
        nearest_pyproject: PyProject | None = None
        for folder, names in _ancestors(env_path.parent, self._names_in):
            pyproject = (
                self.pyproject(folder / "pyproject.toml") if "pyproject.toml" in names else None
            )
            if nearest_pyproject is None:
                nearest_pyproject = pyproject
            for name in _ini_names(names):
                ini = self.ini(folder / name)
                if name != "alembic.ini" and not ini.has_section(MAIN_SECTION):
                    continue
                section = _section_pointing_at(ini, env_dir, pyproject)
                if section is not None:
                    matches.append((ini, section))
        if not matches:
            return ProjectContext(env_path, None, [], nearest_pyproject, python_choice=self.python)
        primary, section = matches[0]
        others: list[IniFile] = []
        for ini, _ in matches[1:]:
            if ini is not primary and all(ini is not o for o in others):
                others.append(ini)
        return ProjectContext(
            env_path, primary, others, nearest_pyproject, section, python_choice=self.python
        )


def _section_pointing_at(ini: IniFile, env_dir: str, pyproject: PyProject | None) -> str | None:
    """The ini section whose script_location is env.py's folder, if any."""
    sections = ini.sections()
    ordered = ([MAIN_SECTION] if MAIN_SECTION in sections else []) + [
        s for s in sections if s != MAIN_SECTION
    ]
    has_own_location = False
    for section in ordered:
        if ini.get(section, "script_location") is None:
            continue
        if section == MAIN_SECTION:
            has_own_location = True
        location = ini.script_location_for(section)
        if location is not None and _real(location) == env_dir:
            return section
    # pyproject layout: the ini keeps the URL and logging; the same folder's pyproject.toml
    # says where the scripts are (Config.get_alembic_option falls back to [tool.alembic]).
    if not has_own_location and pyproject is not None and pyproject.path.parent == ini.path.parent:
        location = pyproject.script_location
        if location is not None and _real(location) == env_dir:
            return MAIN_SECTION
    return None


# --- finding env scripts ---

# `from alembic import context` (also in a list or parentheses), `import alembic.context`,
# or any use of `alembic.context`. Outside parentheses an import ends at the line's end.
_ENV_IMPORT = re.compile(
    r"\bfrom[ \t]+alembic[ \t]+import[ \t]*(?:\([^)]*\bcontext\b|[\w \t,]*\bcontext\b)"
    r"|\balembic\.context\b"
)


def looks_like_env_script(text: str) -> bool:
    """Cheap text check: does this file import alembic's `context`? No parsing.

    Only the lines around each "alembic" are matched, so a large file that never names
    alembic costs one substring search."""
    if not isinstance(text, str):
        return False
    start = text.find("alembic")
    while start != -1:
        line_start = text.rfind("\n", 0, start) + 1
        # a parenthesised import may span lines: look a little further than the line
        window_end = text.find(")", start)
        line_end = text.find("\n", start)
        end = max(
            line_end if line_end != -1 else len(text),
            min(window_end if window_end != -1 else start, start + 2000),
        )
        if _ENV_IMPORT.search(text, line_start, end + 1) is not None:
            return True
        start = text.find("alembic", start + 7)
    return False


def find_env_scripts(paths: list[Path], index: ProjectIndex | None = None) -> list[Path]:
    """env.py files for the given files and folders, as absolute paths, sorted and unique.

    A file is taken as is. In a folder, env scripts are found through the script_location
    of every alembic ini and pyproject.toml under it; if there are none, through files
    named env.py that import alembic's context. With `index`, the ini and pyproject files
    are read through it, so checking the scripts found does not parse them again."""
    found: dict[str, Path] = {}

    def add(path: Path) -> None:
        found.setdefault(_real(path), Path(os.path.abspath(path)))

    for given in paths:
        given = Path(given)
        try:
            is_dir = given.is_dir()
        except OSError:
            continue
        if not is_dir:
            if given.exists():
                add(given)
            continue
        from_config: list[Path] = []
        candidates: list[Path] = []
        for folder, files in walk_folders(given):
            for name in files:
                path = folder / name
                if name == "pyproject.toml":
                    pyproject = index.pyproject(path) if index else PyProject.read(path)
                    location = pyproject.script_location
                    if location is not None:
                        from_config.append(location / "env.py")
                elif name.endswith(".ini"):
                    from_config.extend(_env_scripts_of_ini(path, name, index))
                elif name == "env.py":
                    candidates.append(path)
        configured = [p for p in from_config if p.is_file()]
        if configured:
            for path in configured:
                add(path)
        else:
            for path in candidates:
                if looks_like_env_script(_read_text(path, MAX_ENV_SCRIPT_BYTES)):
                    add(path)
    return sorted(found.values())


def env_scripts_of_config(path: Path) -> list[Path]:
    """The env.py paths an alembic ini (every section's script_location) or a
    pyproject.toml ([tool.alembic] script_location) names, existing or not."""
    if path.name == "pyproject.toml":
        location = PyProject.read(path).script_location
        return [location / "env.py"] if location is not None else []
    return _env_scripts_of_ini(path, path.name)


def _env_scripts_of_ini(path: Path, name: str, index: ProjectIndex | None = None) -> list[Path]:
    if name != "alembic.ini":
        # Cheap pre-check before parsing arbitrary ini files (tox.ini, pytest.ini ...).
        if "[alembic]" not in _read_text(path, MAX_CONFIG_BYTES):
            return []
    ini = index.ini(path) if index is not None else IniFile.read(path)
    if name != "alembic.ini" and not ini.has_section(MAIN_SECTION):
        return []
    scripts = []
    for section in ini.sections():
        location = ini.script_location_for(section)
        if location is not None:
            scripts.append(location / "env.py")
    return scripts


def walk_folders(root: Path, *, skip_hidden: bool = False):
    """(folder, file names) under root, following symlinked folders but never twice;
    virtualenvs, caches and VCS folders (and with `skip_hidden`, any dot-folder) skipped."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            info = os.stat(folder)
        except OSError:
            continue
        identity = (info.st_dev, info.st_ino)
        if identity in seen:
            continue
        seen.add(identity)
        files: list[str] = []
        subfolders: list[Path] = []
        try:
            with os.scandir(folder) as entries:
                entry_list = list(entries)
        except OSError:
            continue
        names = {e.name for e in entry_list}
        if "pyvenv.cfg" in names and folder != root:
            continue  # a virtualenv under any name
        for entry in entry_list:
            try:
                if entry.is_dir():
                    if entry.name not in SKIPPED_DIRS and not (
                        skip_hidden and entry.name.startswith(".")
                    ):
                        subfolders.append(Path(entry.path))
                elif entry.is_file():
                    files.append(entry.name)
            except OSError:
                continue
        yield folder, sorted(files)
        stack.extend(sorted(subfolders, reverse=True))


def _ancestors(start: Path, list_names):
    """(folder, entry names) from start up to the filesystem root or a folder with .git."""
    folder = Path(os.path.abspath(start))
    while True:
        names = list_names(folder)
        yield folder, names
        if ".git" in names or folder.parent == folder:
            return
        folder = folder.parent


def _ini_names(names: set[str]) -> list[str]:
    inis = sorted(n for n in names if n.endswith(".ini") and n != "alembic.ini")
    return (["alembic.ini"] if "alembic.ini" in names else []) + inis


# --- small helpers ---


def _read_text(path: Path, limit: int) -> str:
    data, _ = read_bytes(path, limit)
    return data.decode("utf-8", "replace") if data else ""


def _path_key(path: Path) -> str:
    return os.path.abspath(path)


def _signature(key: str) -> tuple[int, int] | None:
    try:
        info = os.stat(key)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _real(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))
