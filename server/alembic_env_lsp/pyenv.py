"""The project's Python environment, found the way type checkers find it, and read without
running it.

The environment rules (ENV035, ENV045, ENV056) and the versions hovers quote judge the
environment the *project* runs Alembic in, not the one the checker runs in: under
pre-commit or a VS Code extension with a bundled server, the checker has its own
virtualenv. Where the project's environment comes from, first match wins:

1. `--python PATH` on the command line;
2. `python = "PATH"` in `[tool.alembic-env-lsp]` (relative to that pyproject.toml);
3. the editor's `python` setting (the interpreter the extension uses for the folder);
4. in the language server, when the editor sent no `python` setting: the interpreter the
   server runs in (an extension that starts the server with the project's Python);
5. `$VIRTUAL_ENV`, unless it is an environment made for the checker alone (pre-commit
   exports its hook environment as VIRTUAL_ENV; pipx and uv tool venvs likewise);
6. a `.venv` or `venv` folder beside alembic.ini or pyproject.toml.

PATH is an interpreter (`.venv/bin/python`, `venv\\Scripts\\python.exe`) or an environment
folder. Its site-packages is found from the folder layout (pyvenv.cfg, lib/pythonX.Y/
site-packages, Windows Lib/site-packages); installed versions come from the dist-info folder
names there. Nothing in it is imported or run. No environment found: the environment rules
say nothing, and hovers say which versions they assume.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .drivers import DriverInfo
    from .project import ProjectContext

CLI_FLAG = "--python"
PYPROJECT_KEY = "[tool.alembic-env-lsp] python"
EDITOR_SETTING = "the editor's python setting"
SERVER_INTERPRETER = "the interpreter the server runs in"
VIRTUAL_ENV = "$VIRTUAL_ENV"
VENV_FOLDERS = (".venv", "venv")


@dataclass(frozen=True)
class PythonChoice:
    """What the adapter was told about the project's interpreter.

    `path`: an interpreter or environment folder; "" when the editor said it does not know;
    None when nothing was said. `found_by`: CLI_FLAG or EDITOR_SETTING.
    `server_interpreter`: the language server, where no `python` setting means "the
    interpreter the server runs in"."""

    path: str | None = None
    found_by: str = CLI_FLAG
    server_interpreter: bool = False


@dataclass(frozen=True)
class PythonEnvironment:
    root: Path
    site_packages: tuple[Path, ...]
    found_by: str
    python_version: str | None = None  # "3.12.4" from pyvenv.cfg, when it says

    def version(self, distribution: str) -> str | None:
        """The installed version of `distribution`, or None when it is not installed."""
        from .knowledge import normalize_distribution

        return self.distributions().get(normalize_distribution(distribution))

    def distributions(self) -> dict[str, str]:
        return _distributions(self.site_packages)

    def package_file(self, *parts: str) -> Path | None:
        """A file of an installed package (`"alembic", "runtime", "environment.py"`)."""
        for folder in self.site_packages:
            path = folder.joinpath(*parts)
            if path.is_file():
                return path
        return None

    def where(self, base: Path | None = None) -> str:
        """The folder (relative to `base` when inside it) and how it was found."""
        return f"{_short(self.root, base)} ({self.found_by})"


# ---- finding site-packages without running the interpreter --------------------------------


def environment_at(path: str | os.PathLike[str], found_by: str) -> PythonEnvironment | None:
    """The environment of an interpreter path or an environment folder; None when no
    site-packages is found there."""
    try:
        text = os.path.expanduser(os.fspath(path))
        if text and os.sep not in text and "/" not in text and not os.path.exists(text):
            text = shutil.which(text) or text  # "python3": looked up on PATH, like a shell
        given = Path(os.path.abspath(text))
    except (OSError, ValueError, TypeError):
        return None
    root = _root_of(given)
    if root is None:
        return None
    config = _pyvenv_cfg(root)
    version = config.get("version_info") or config.get("version")
    folders = _site_packages(root, version, _exe_version(given))
    if config.get("include-system-site-packages", "").lower() == "true":
        home = config.get("home")  # the folder of the base interpreter
        if home:
            base = Path(home).parent if Path(home).name in ("bin", "Scripts") else Path(home)
            if base != root:
                folders += [f for f in _site_packages(base, version, None) if f not in folders]
    if not folders:
        return None
    return PythonEnvironment(root, tuple(folders), found_by, version)


def path_problem(path: str) -> str | None:
    """Why `path` cannot be used as `--python`, or None when it can (for the CLI)."""
    if not os.path.exists(os.path.expanduser(path)):
        return f"{path}: no such file or folder"
    if environment_at(path, CLI_FLAG) is None:
        return f"{path}: no Python environment there (no site-packages found)"
    return None


def _root_of(given: Path) -> Path | None:
    try:
        if given.is_dir():
            return given
        if not given.exists():
            return None
    except OSError:
        return None
    parent = given.parent
    # bin/python (POSIX venv, /usr/bin/python3), Scripts\python.exe (Windows venv);
    # python.exe at the root (Windows base installs, conda).
    if parent.name in ("bin", "Scripts"):
        return parent.parent
    return parent


def _pyvenv_cfg(root: Path) -> dict[str, str]:
    try:
        text = (root / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lower()] = value.strip()
    return values


def _exe_version(given: Path) -> str | None:
    match = re.fullmatch(r"python(\d+\.\d+)t?(?:\.exe)?", given.name)
    return match.group(1) if match else None


def _site_packages(root: Path, version: str | None, exe_version: str | None) -> list[Path]:
    found: list[Path] = []
    wanted = _major_minor(version) or exe_version
    for lib in ("lib", "lib64", "Lib"):
        folder = root / lib
        if lib == "Lib":  # Windows: Lib/site-packages, no version folder
            candidate = folder / "site-packages"
            if candidate.is_dir() and candidate not in found:
                found.append(candidate)
            continue
        try:
            names = sorted(os.listdir(folder), key=_version_key, reverse=True)
        except OSError:
            continue
        for name in names:
            if not re.fullmatch(r"python\d+(\.\d+)?t?", name):
                continue
            if wanted and name.rstrip("t") not in (f"python{wanted}", "python3"):
                continue
            for leaf in ("site-packages", "dist-packages"):
                candidate = folder / name / leaf
                if candidate.is_dir() and candidate.resolve() not in {f.resolve() for f in found}:
                    found.append(candidate)
    return found


def _major_minor(version: str | None) -> str | None:
    if not version:
        return None
    match = re.match(r"(\d+)\.(\d+)", version)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", name))


# ---- installed distributions, listed once per site-packages change -------------------------

_LOCK = threading.Lock()
_LISTINGS: dict[str, tuple[int, dict[str, str]]] = {}


def _distributions(folders: tuple[Path, ...]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for folder in reversed(folders):  # the first folder wins, as on sys.path
        merged.update(_listing(folder))
    return merged


def _listing(folder: Path) -> dict[str, str]:
    from .knowledge import dist_info_entries

    key = str(folder)
    try:
        mtime = os.stat(folder).st_mtime_ns  # installing or removing a package changes it
    except OSError:
        return {}
    with _LOCK:
        hit = _LISTINGS.get(key)
        if hit is not None and hit[0] == mtime:
            return hit[1]
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    listing: dict[str, str] = {}
    for project, version in dist_info_entries(names):
        listing.setdefault(project, version)
    with _LOCK:
        _LISTINGS[key] = (mtime, listing)
    return listing


# ---- the project's environment -------------------------------------------------------------


_FOUND: dict[tuple, tuple[tuple, PythonEnvironment | None]] = {}
_FOUND_LIMIT = 4096


def find_environment(project: ProjectContext | None) -> PythonEnvironment | None:
    """The project's environment (see the module docstring for the order), or None.

    Remembered per project folder until a folder it depends on changes (a .venv created or
    removed changes its parent's mtime); the versions themselves are re-listed whenever
    site-packages changes."""
    if project is None:
        return None
    choice: PythonChoice = getattr(project, "python_choice", None) or PythonChoice()
    pyproject = project.pyproject
    configured = pyproject.tool_alembic_env_lsp.get("python") if pyproject is not None else None
    folders = _project_folders(project)
    virtual_env = os.environ.get("VIRTUAL_ENV")
    key = (choice, repr(configured), pyproject.path if pyproject else None, virtual_env, *folders)
    watched = [*folders, *(f / name for f in folders for name in VENV_FOLDERS), virtual_env]
    signature = (
        tuple(_mtime(p) for p in watched),
        _mtime(choice.path) if choice.path else None,
        _is_tool_only(virtual_env) if virtual_env else False,
        _own_prefixes(),
    )
    with _LOCK:
        hit = _FOUND.get(key)
    if hit is not None and hit[0] == signature:
        return hit[1]
    found = _find_environment(project, choice)
    with _LOCK:
        if len(_FOUND) >= _FOUND_LIMIT:
            _FOUND.clear()
        _FOUND[key] = (signature, found)
    return found


def forget_folders(keep: Iterable[Path | str]) -> None:
    """Drop the remembered environments of projects no longer checked: only the projects whose
    folders are on the way up from a path in `keep` stay (the server calls this when it
    forgets files)."""
    kept = {Path(os.path.abspath(p)) for p in keep}
    still = {folder for path in kept for folder in (path, *path.parents)}
    with _LOCK:
        for key in [k for k in _FOUND if not any(Path(f) in still for f in k[4:] if f)]:
            del _FOUND[key]


def _mtime(path: str | Path | None) -> int | None:
    if not path:
        return None
    try:
        return os.stat(path).st_mtime_ns
    except (OSError, ValueError):
        return None


def _find_environment(project: ProjectContext, choice: PythonChoice) -> PythonEnvironment | None:
    if choice.path and choice.found_by == CLI_FLAG:
        return environment_at(choice.path, CLI_FLAG)
    pyproject = project.pyproject
    configured = pyproject.tool_alembic_env_lsp.get("python") if pyproject is not None else None
    if isinstance(configured, str) and configured.strip() and pyproject is not None:
        path = Path(os.path.expanduser(configured.strip()))
        if not path.is_absolute():
            path = pyproject.path.parent / path
        return environment_at(path, PYPROJECT_KEY)
    if choice.path:
        return environment_at(choice.path, choice.found_by)
    if choice.server_interpreter and choice.path is None:
        found = environment_at(sys.executable, SERVER_INTERPRETER)
        if found is not None:
            return found
    virtual_env = os.environ.get("VIRTUAL_ENV")
    if virtual_env and not (_is_own_environment(virtual_env) and _is_tool_only(virtual_env)):
        found = environment_at(virtual_env, VIRTUAL_ENV)
        if found is not None:
            return found
    for folder in _project_folders(project):
        for name in VENV_FOLDERS:
            candidate = folder / name
            if candidate.is_dir():
                beside = "alembic.ini" if (folder / "alembic.ini").exists() else "pyproject.toml"
                found = environment_at(candidate, f"{name} beside {beside}")
                if found is not None:
                    return found
    return None


def _is_own_environment(path: str) -> bool:
    try:
        return os.path.realpath(path) in {os.path.realpath(p) for p in _own_prefixes()}
    except (OSError, ValueError):
        return False


def _own_prefixes() -> tuple[str, ...]:
    return (sys.prefix, sys.exec_prefix)


# Files the tool installers write into an environment they made for one tool: pre-commit's
# hook environments (which it also exports as VIRTUAL_ENV), pipx's and uv's tool venvs.
TOOL_ONLY_MARKERS = (
    ".install_state_v1",
    ".install_state_v2",
    "pipx_metadata.json",
    "uv-receipt.toml",
)


def _is_tool_only(path: str) -> bool:
    """An environment made for the checker alone says nothing about the project; a project's
    virtualenv that also holds the checker (activated: VIRTUAL_ENV) is the project's."""
    return any(os.path.exists(os.path.join(path, marker)) for marker in TOOL_ONLY_MARKERS)


def _project_folders(project: ProjectContext) -> list[Path]:
    folders: list[Path] = []
    for holder in (project.ini, project.pyproject):
        path = getattr(holder, "path", None)
        if path is not None and path.parent not in folders:
            folders.append(path.parent)
    return folders


def _short(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            pass
    return str(path)


# ---- what the environment rules judge --------------------------------------------------------


@dataclass(frozen=True)
class JudgedEnvironment:
    """The installed versions an environment rule judges, and how to name where they are."""

    version: Callable[[str], str | None]
    where: str  # "installed here" / "in .venv (.venv beside alembic.ini)"
    environment: PythonEnvironment | None = None


class JudgedOnce:
    """One analysis's judged environment, computed at the first rule that asks for it (the
    rules of one analysis share it through RuleContext.judged)."""

    def __init__(self) -> None:
        self._done = False
        self._value: JudgedEnvironment | None = None

    def get(self, compute: Callable[[], JudgedEnvironment | None]) -> JudgedEnvironment | None:
        if not self._done:
            self._value, self._done = compute(), True
        return self._value


def judged_environment(ctx: Any) -> JudgedEnvironment | None:
    """For a RuleContext: the versions assumed by the caller (tests, rule examples; names not
    given are looked up where the checker runs), else the project's environment, else None
    (the rule says nothing)."""
    once = getattr(ctx, "judged", None)
    if isinstance(once, JudgedOnce):
        return once.get(lambda: _judged_environment(ctx))
    return _judged_environment(ctx)


def _judged_environment(ctx: Any) -> JudgedEnvironment | None:
    if ctx.environment is not None:
        return JudgedEnvironment(ctx.installed_version, "installed here")
    project = ctx.project
    found = find_environment(project)
    if found is None:
        return None
    folders = _project_folders(project) if project is not None else []
    base = folders[0] if folders else None
    return JudgedEnvironment(found.version, f"in {found.where(base)}", found)


def version_note(project: ProjectContext | None, distribution: str, label: str) -> str:
    """How hovers name a version: "SQLAlchemy 2.1.0 in .venv (.venv beside alembic.ini)",
    "SQLAlchemy is not installed in .venv (...)", or, with no project environment, the
    checker's own version marked as an assumption."""
    from .knowledge import installed_version

    found = find_environment(project)
    if found is not None:
        folders = _project_folders(project) if project is not None else []
        where = found.where(folders[0] if folders else None)
        version = found.version(distribution)
        if version is None:
            return f"{label} is not installed in {where}"
        return f"{label} {version} in {where}"
    own = installed_version(distribution)
    if own is None:
        return f"{label}: unknown (no project environment found)"
    return (
        f"assuming {label} {own} (the one installed with alembic-env-lsp; no project environment "
        f"found: set python in [tool.alembic-env-lsp] or pass --python)"
    )


# ---- which SQLAlchemy a driver verdict is judged with -----------------------------------------


@dataclass(frozen=True)
class SqlalchemyBasis:
    """The SQLAlchemy a driver verdict is judged with: the project's (`where` names its
    environment), or, with no project environment found, the checker's own (`where` None)."""

    version: str | None
    where: str | None

    @property
    def assumed(self) -> bool:
        return self.where is None

    def label(self) -> str:
        """ "SQLAlchemy 2.0.36 in .venv", or the hedge when it is the checker's."""
        if self.where is None:
            mine = f" {self.version}" if self.version else ""
            return f"checker's SQLAlchemy{mine}: no project environment found"
        if self.version is None:
            return f"SQLAlchemy is not installed in {self.where}"
        return f"SQLAlchemy {self.version} in {self.where}"


def sqlalchemy_basis(
    project: ProjectContext | None, judged: JudgedEnvironment | None = None
) -> SqlalchemyBasis:
    """From a rule's JudgedEnvironment when given, else from the project's environment."""
    from .drivers import sqlalchemy_version

    if judged is None:
        found = find_environment(project)
        if found is not None:
            folders = _project_folders(project) if project is not None else []
            judged = JudgedEnvironment(
                found.version, f"in {found.where(folders[0] if folders else None)}", found
            )
    if judged is None:
        return SqlalchemyBasis(sqlalchemy_version(), None)
    where = judged.where.removeprefix("in ").removeprefix("installed ")
    if judged.environment is not None:
        folders = _project_folders(project) if project is not None else []
        where = _short(judged.environment.root, folders[0] if folders else None)
    return SqlalchemyBasis(judged.version("sqlalchemy"), where or "here")


def bare_default_driver(scheme: str, version: str | None) -> str | None:
    """The driver a bare `postgresql://` / `oracle://` loads on a SQLAlchemy version (2.1
    changed it); None for any other scheme or an unknown version."""
    from .driver_tables import FALLBACK_20_OVERRIDES, FALLBACK_21
    from .knowledge import version_tuple

    if scheme not in FALLBACK_20_OVERRIDES or not version:
        return None
    rows = FALLBACK_20_OVERRIDES if version_tuple(version)[:2] < (2, 1) else FALLBACK_21
    return rows[scheme][2]


def driver_info_for(url_or_scheme: str, version: str | None) -> DriverInfo | None:
    """`drivers.driver_info` as the project's SQLAlchemy `version` sees it: the checker's
    registry answers for the driver that version loads (a bare `postgresql://` is psycopg2
    on 2.0, psycopg on 2.1). Unknown version: the checker's own answer."""
    from dataclasses import replace

    from .drivers import driver_info, sqlalchemy_version

    info = driver_info(url_or_scheme)
    if info is None or not info.known or "+" in info.scheme:
        return info
    driver = bare_default_driver(info.scheme, version)
    if driver is None or bare_default_driver(info.scheme, sqlalchemy_version()) == driver:
        return info if driver is None else replace(info, source=f"SQLAlchemy {version}")
    named = driver_info(f"{info.dialect}+{driver}")
    if named is None or not named.known:
        return info
    return replace(named, scheme=info.scheme, source=f"SQLAlchemy {version}")


__all__ = [
    "CLI_FLAG",
    "EDITOR_SETTING",
    "PythonChoice",
    "JudgedOnce",
    "PythonEnvironment",
    "SqlalchemyBasis",
    "bare_default_driver",
    "driver_info_for",
    "sqlalchemy_basis",
    "environment_at",
    "find_environment",
    "forget_folders",
    "judged_environment",
    "path_problem",
    "version_note",
]
