"""The project around an env.py, as Python code: which modules it imports, where the models
and the application's engine are defined, whether app code runs `alembic.command.*`.

Nothing is imported or run. Each file is read and parsed with `ast` at most once per
version: summaries are cached by (mtime, size), so a language server keeps one `Workspace`
and only changed files are read again (`invalidate(path)` after a file event drops the
folder listings and aggregate answers; summaries of unchanged files are reused). The CLI
builds one per run.

Answers are conservative: when dynamic imports (`importlib.import_module`, `__import__`,
`pkgutil.walk_packages`) or a star import from a package make the import closure unknown,
the questions that depend on it answer None ("cannot tell") and rules stay silent.
"""

from __future__ import annotations

import ast
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .model import names as N

if TYPE_CHECKING:
    from .model.facts import EnvFacts
    from .project import ProjectContext

MAX_FILE_BYTES = 1024 * 1024
MAX_FILES = 20_000
MAX_AGGREGATES = 256
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        "node_modules",
        "__pycache__",
        "site-packages",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "build",
        "dist",
        ".eggs",
    }
)
TEST_DIRS = frozenset({"tests", "test", "testing"})

DYNAMIC_IMPORTS = frozenset(
    {
        "importlib.import_module",
        "importlib.__import__",
        "pkgutil.walk_packages",
        "pkgutil.iter_modules",
        "__import__",
    }
)
DECLARATIVE_BASE_CLASSES = N.DECLARATIVE_BASE_CLASSES
DECLARATIVE_BASE_FACTORIES = N.DECLARATIVE_BASE_FACTORIES
REGISTRY_FACTORIES = N.REGISTRY_FACTORIES
METADATA_FACTORIES = N.METADATA_FACTORIES
SQLMODEL = N.SQLMODEL

# Text markers checked before parsing a file during a folder scan.
_MODEL_MARKERS = (b"__tablename__", b"__table__", b"table=True", b"table = True", b"Table(")
_ALEMBIC_MARKER = b"alembic"
# A file can call alembic.command or build a Config(config_args=...) only if its text names
# one of these: env scripts (which mention neither) need no summary for that scan.
_COMMAND_MARKERS = (b"command", b"config_args")


def _needs_summary(markers: frozenset[bytes]) -> bool:
    return any(m in markers for m in _MODEL_MARKERS) or _calls_alembic(markers)


def _calls_alembic(markers: frozenset[bytes]) -> bool:
    return _ALEMBIC_MARKER in markers and any(m in markers for m in _COMMAND_MARKERS)


# ---- what one module says, read once ------------------------------------------------------


@dataclass(frozen=True)
class ImportRef:
    module: str  # "a.b" for `import a.b` / `from a.b import x`; "" for `from . import x`
    names: tuple[tuple[str, str | None], ...]  # (name, asname); empty for `import a.b`
    level: int
    is_from: bool
    type_checking: bool
    line: int

    @property
    def star(self) -> bool:
        return any(name == "*" for name, _ in self.names)


@dataclass(frozen=True)
class ClassInfo:
    name: str
    bases: tuple[str, ...]  # dotted texts ("Base", "db.Model"); "" for anything else
    keywords: tuple[tuple[str, str], ...]  # class keywords with dotted/constant texts (table=True)
    decorators: tuple[str, ...]  # dotted texts of the decorator (or of the called decorator)
    defines_table: bool  # assigns __tablename__ or __table__ in its body
    abstract: bool  # __abstract__ = True
    line: int


@dataclass(frozen=True)
class AssignInfo:
    name: str
    func: str  # dotted text of the called function in `name = f(...)` ("" when not a call)
    keywords: tuple[tuple[str, str], ...]
    line: int


@dataclass(frozen=True)
class CommandCall:
    path: str
    function: str  # "upgrade", "downgrade", ...
    line: int  # 0-based
    in_async: bool


@dataclass(frozen=True)
class ModuleSummary:
    path: str
    imports: tuple[ImportRef, ...] = ()
    dynamic_imports: bool = False
    classes: dict = field(default_factory=dict)  # name -> ClassInfo
    assigns: dict = field(default_factory=dict)  # name -> AssignInfo (module level)
    aliases: dict = field(default_factory=dict)  # local name -> ImportRef (module level)
    command_calls: tuple[CommandCall, ...] = ()
    config_args: bool = False  # alembic Config(..., config_args=...) somewhere
    error: str | None = None  # could not read or parse: treat as unknown

    @property
    def is_package(self) -> bool:
        return os.path.basename(self.path) == "__init__.py"


def summarize(tree: ast.Module, path: str) -> ModuleSummary:
    """One walk over a module's tree."""
    return _Summarizer(path).run(tree)


class _Summarizer:
    def __init__(self, path: str):
        self.path = path
        self.imports: list[ImportRef] = []
        self.aliases: dict[str, ImportRef] = {}
        self.classes: dict[str, ClassInfo] = {}
        self.assigns: dict[str, AssignInfo] = {}
        self.calls: list[tuple[ast.Call, bool]] = []
        self.dynamic = False

    def run(self, tree: ast.Module) -> ModuleSummary:
        stack: list[tuple[ast.AST, bool, bool, bool]] = [
            (s, False, False, True) for s in reversed(tree.body)
        ]
        # (node, in_async, type_checking, module_level)
        while stack:
            node, in_async, checking, top = stack.pop()
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._import(node, checking, top)
                continue
            if isinstance(node, ast.ClassDef) and top:
                self.classes[node.name] = _class_info(node)
            elif isinstance(node, ast.Assign) and top:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.assigns[target.id] = _assign_info(target.id, node.value, node.lineno)
            elif (
                isinstance(node, ast.AnnAssign)
                and top
                and isinstance(node.target, ast.Name)
                and node.value is not None
            ):
                self.assigns[node.target.id] = _assign_info(node.target.id, node.value, node.lineno)
            elif isinstance(node, ast.Call):
                self.calls.append((node, in_async))
            children = list(ast.iter_child_nodes(node))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                inner_async = isinstance(node, ast.AsyncFunctionDef) or (
                    in_async and isinstance(node, ast.Lambda)
                )
                stack.extend((c, inner_async, checking, False) for c in reversed(children))
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                stack.extend((c, in_async, checking, top) for c in reversed(node.orelse))
                stack.extend((c, in_async, True, top) for c in reversed(node.body))
            elif (
                isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While))
                or type(node).__name__ == "TryStar"
            ):
                # statements nested in blocks still run at module level
                stack.extend(
                    (c, in_async, checking, top and isinstance(c, ast.stmt))
                    for c in reversed(children)
                )
            elif isinstance(node, ast.ExceptHandler):
                stack.extend(
                    (c, in_async, checking, top and isinstance(c, ast.stmt))
                    for c in reversed(children)
                )
            else:
                stack.extend((c, in_async, checking, False) for c in reversed(children))
        commands: list[CommandCall] = []
        config_args = False
        for call, in_async in self.calls:
            qname = self.qualify(_dotted(call.func))
            if qname is None:
                continue
            if qname in DYNAMIC_IMPORTS:
                self.dynamic = True
            elif qname.startswith("alembic.command."):
                commands.append(
                    CommandCall(self.path, qname.rsplit(".", 1)[-1], call.lineno - 1, in_async)
                )
            elif qname in ("alembic.config.Config", "alembic.Config") and any(
                kw.arg == "config_args" for kw in call.keywords
            ):
                config_args = True
        return ModuleSummary(
            self.path,
            tuple(self.imports),
            self.dynamic,
            self.classes,
            self.assigns,
            self.aliases,
            tuple(commands),
            config_args,
        )

    def _import(self, node: ast.Import | ast.ImportFrom, checking: bool, top: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                ref = ImportRef(alias.name, (), 0, False, checking, node.lineno)
                self.imports.append(ref)
                if top and not checking:
                    local = alias.asname or alias.name.split(".", 1)[0]
                    self.aliases[local] = ImportRef(
                        alias.name if alias.asname else local, (), 0, False, False, node.lineno
                    )
            return
        names = tuple((a.name, a.asname) for a in node.names)
        ref = ImportRef(node.module or "", names, node.level, True, checking, node.lineno)
        self.imports.append(ref)
        if top and not checking:
            for name, asname in names:
                if name != "*":
                    self.aliases[asname or name] = ImportRef(
                        node.module or "", ((name, asname),), node.level, True, False, node.lineno
                    )

    def qualify(self, dotted: str) -> str | None:
        """A dotted text as an absolute name through this module's imports."""
        if not dotted:
            return None
        head, _, rest = dotted.partition(".")
        ref = self.aliases.get(head)
        if ref is None:
            return dotted if head == "__import__" else None
        if ref.level:
            return None  # relative: a module of the project, not a library API
        base = f"{ref.module}.{ref.names[0][0]}" if ref.is_from else ref.module
        return f"{base}.{rest}" if rest else base


def _class_info(node: ast.ClassDef) -> ClassInfo:
    defines_table = abstract = False
    for stmt in node.body:
        targets: list[ast.expr] = []
        value = None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            targets, value = [stmt.target], stmt.value
        for target in targets:
            if isinstance(target, ast.Name):
                if target.id in ("__tablename__", "__table__"):
                    defines_table = True
                elif (
                    target.id == "__abstract__"
                    and isinstance(value, ast.Constant)
                    and value.value is True
                ):
                    abstract = True
        if (
            isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
            and stmt.name == "__tablename__"
        ):
            defines_table = True  # @declared_attr def __tablename__(cls): ...
    keywords = tuple((kw.arg, _text(kw.value)) for kw in node.keywords if kw.arg)
    decorators = tuple(
        _dotted(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list
    )
    return ClassInfo(
        node.name,
        tuple(_dotted(b) for b in node.bases),
        keywords,
        decorators,
        defines_table,
        abstract,
        node.lineno,
    )


def _assign_info(name: str, value: ast.expr, line: int) -> AssignInfo:
    if isinstance(value, ast.Await):
        value = value.value
    if isinstance(value, ast.Call):
        return AssignInfo(
            name,
            _dotted(value.func),
            tuple((kw.arg, _text(kw.value)) for kw in value.keywords if kw.arg),
            line,
        )
    return AssignInfo(name, "", (), line)


def _dotted(node: ast.AST) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):
        # registry().generate_base -> "registry().generate_base"
        inner = _dotted(node.func)
        if not inner:
            return ""
        parts.append(inner + "()")
        return ".".join(reversed(parts))
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def _text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        return repr(node.value)
    return _dotted(node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


# ---- definitions found through imports ----------------------------------------------------


@dataclass(frozen=True)
class Definition:
    """What a name refers to. `kind`: "class", "assign", "module" or "external" (a library
    name, by qualified name, e.g. "sqlmodel.SQLModel")."""

    kind: str
    qname: str
    path: str | None = None
    module: str | None = None
    info: ClassInfo | AssignInfo | None = None

    @property
    def key(self) -> tuple[str, str]:
        """The same for every route to the definition (re-exports, module-root spellings)."""
        if self.path and self.kind in ("class", "assign"):
            return (self.path, self.qname.rsplit(".", 1)[-1])
        return (self.path or "", self.qname)


# ---- the workspace ------------------------------------------------------------------------


@dataclass
class _Entry:
    signature: object
    markers: frozenset[bytes] | None = None
    summary: ModuleSummary | None = None


class Workspace:
    """Summaries of the project's Python files, cached by file version."""

    def __init__(self, folders: Iterable[Path | str] = (), *, max_files: int = MAX_FILES):
        self.folders = [os.path.abspath(f) for f in folders]
        self.max_files = max_files
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._overlays: dict[str, str] = {}
        self._listings: dict[str, list[str]] = {}
        self._aggregates: dict[tuple, object] = {}
        self._view: tuple[object, EnvView] | None = None
        # The tree the engine already parsed for the env script being analysed: its summary
        # is made from that tree, not from a second parse of the same text.
        self._offered: tuple[str, str, ast.Module] | None = None
        self.parses = 0  # files parsed so far (tests check nothing is parsed twice)

    # --- keeping up with changes ---

    def set_overlay(self, path: Path | str, text: str | None) -> None:
        """Use an editor's unsaved text for `path` (None: back to the file on disk)."""
        key = os.path.abspath(path)
        with self._lock:
            if text is None:
                self._overlays.pop(key, None)
            else:
                self._overlays[key] = text
            self._entries.pop(key, None)
            self._forget_answers()

    def invalidate(self, path: Path | str | None = None) -> None:
        """A file (or, with None, anything) changed on disk: forget folder listings and the
        answers built from them. Summaries of unchanged files are kept and reused."""
        with self._lock:
            if path is None:
                self._entries.clear()
            else:
                self._entries.pop(os.path.abspath(path), None)
            self._listings.clear()
            self._forget_answers()

    def _forget_answers(self) -> None:
        self._aggregates.clear()
        self._view = None

    # --- reading files ---

    def summary(self, path: Path | str) -> ModuleSummary:
        key = os.path.abspath(path)
        entry = self._entry(key)
        if entry.summary is None:
            text = self._text(key)
            entry.summary = self._parse(key, text)
        return entry.summary

    def _entry(self, key: str) -> _Entry:
        with self._lock:
            overlay = self._overlays.get(key)
            signature = ("overlay", overlay) if overlay is not None else _signature(key)
            entry = self._entries.get(key)
            if entry is None or entry.signature != signature or signature is None:
                entry = _Entry(signature)
                self._entries[key] = entry
            return entry

    def _text(self, key: str) -> str | None:
        overlay = self._overlays.get(key)
        if overlay is not None:
            return overlay
        data = _read(key)
        return None if data is None else data.decode("utf-8", "replace")

    def _parse(self, key: str, text: str | None) -> ModuleSummary:
        if text is None:
            return ModuleSummary(key, error="cannot read")
        offered = self._offered
        if offered is not None and offered[0] == key and offered[1] == text:
            tree = offered[2]
        else:
            self.parses += 1
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
                return ModuleSummary(key, error=type(error).__name__)
        try:
            return summarize(tree, key)
        except RecursionError:
            return ModuleSummary(key, error="nested too deeply")

    def _markers(self, key: str) -> frozenset[bytes]:
        """Which scan markers the file's text contains; parses it right away when a scan
        will need its summary, so the text is read once."""
        entry = self._entry(key)
        if entry.markers is None:
            overlay = self._overlays.get(key)
            data = overlay.encode("utf-8") if overlay is not None else _read(key)
            if data is None:
                entry.markers = frozenset()
            else:
                entry.markers = frozenset(
                    m for m in _MODEL_MARKERS + (_ALEMBIC_MARKER, *_COMMAND_MARKERS) if m in data
                )
                if _needs_summary(entry.markers) and entry.summary is None:
                    entry.summary = self._parse(key, data.decode("utf-8", "replace"))
        return entry.markers

    def python_files(self, root: Path | str) -> list[str]:
        """Python files under `root` (virtualenvs, caches and VCS folders skipped), cached
        until `invalidate()`."""
        key = os.path.abspath(root)
        with self._lock:
            cached = self._listings.get(key)
        if cached is not None:
            return cached
        files = list(_walk_python(key, self.max_files))
        with self._lock:
            self._listings[key] = files
        return files

    # --- per env.py ---

    def view(
        self, facts: EnvFacts, env_path: str | None, project: ProjectContext | None
    ) -> EnvView:
        """The workspace as seen from one env.py (its roots and imports); the last one is
        kept, so every rule of one analysis shares it."""
        with self._lock:
            if self._view is not None and self._view[0] is facts:
                return self._view[1]
            if env_path is not None:
                self._offered = (os.path.abspath(env_path), facts.source.text, facts.tree)
        view = EnvView(self, facts, env_path, project)
        with self._lock:
            self._view = (facts, view)
        return view

    def aggregate(self, key: tuple, compute):
        with self._lock:
            if key in self._aggregates:
                return self._aggregates[key]
        value = compute()
        with self._lock:
            if len(self._aggregates) >= MAX_AGGREGATES:
                self._aggregates.clear()  # a long editing session: start over rather than grow
            self._aggregates[key] = value
        return value


class EnvView:
    """Questions rules ask about the project around one env.py."""

    def __init__(self, workspace: Workspace, facts: EnvFacts, env_path: str | None, project):
        self.workspace = workspace
        self.facts = facts
        self.env_path = os.path.abspath(env_path) if env_path else None
        self.project = project
        self.root = _project_root(self.env_path, project, workspace.folders)
        self.module_roots = _module_roots(self.root, self.env_path, project, facts)
        self._symbols: dict[tuple[str, str, int], Definition | None] = {}
        self._closure: set[str] | None | bool = False  # False: not computed yet

    # --- modules ---

    def module_file(self, dotted: str) -> str | None:
        """The file `import dotted` runs last (a module or a package's __init__.py)."""
        if not dotted or not all(part.isidentifier() for part in dotted.split(".")):
            return None
        relative = os.path.join(*dotted.split("."))
        for root in self.module_roots:
            base = os.path.join(root, relative)
            for candidate in (base + ".py", os.path.join(base, "__init__.py")):
                if os.path.isfile(candidate):
                    return candidate
        return None

    def module_name(self, path: str) -> str | None:
        """The dotted name `path` is imported as from the module roots, if any."""
        path = os.path.abspath(path)
        for root in self.module_roots:
            try:
                rel = os.path.relpath(path, root)
            except ValueError:
                continue
            if rel.startswith(os.pardir) or not rel.endswith(".py"):
                continue
            parts = rel[:-3].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts and all(p.isidentifier() for p in parts):
                # every folder on the way must be a package (or a namespace package)
                return ".".join(parts)
        return None

    def _absolute(self, ref: ImportRef, importer: str | None) -> str | None:
        if not ref.level:
            return ref.module
        if importer is None:
            return None
        package = importer if self._is_package_name(importer) else importer.rpartition(".")[0]
        parts = package.split(".") if package else []
        up = ref.level - 1
        if up > len(parts):
            return None
        base = ".".join(parts[: len(parts) - up] if up else parts)
        if ref.module:
            return f"{base}.{ref.module}" if base else ref.module
        return base or None

    def _is_package_name(self, dotted: str) -> bool:
        path = self.module_file(dotted)
        return path is not None and os.path.basename(path) == "__init__.py"

    # --- symbols ---

    def definition(self, local: str) -> Definition | None:
        """What a module-level name of env.py refers to, through the project's modules."""
        qname = self.facts.module.aliases.get(local)
        if qname is None:
            return None
        return self._resolve_qname(qname)

    def _resolve_qname(self, qname: str, depth: int = 0) -> Definition | None:
        if self.module_file(qname) is not None:
            return Definition("module", qname, self.module_file(qname), qname)
        module, _, attr = qname.rpartition(".")
        if not module:
            return Definition("external", qname)
        return self.symbol(module, attr, depth)

    def symbol(self, module: str, name: str, depth: int = 0) -> Definition | None:
        key = (module, name, 0)
        if key in self._symbols:
            return self._symbols[key]
        self._symbols[key] = None  # cycles resolve to "unknown"
        result = self._symbol(module, name, depth)
        self._symbols[key] = result
        return result

    def _symbol(self, module: str, name: str, depth: int) -> Definition | None:
        if depth > 12:
            return None
        path = self.module_file(module)
        if path is None:
            return Definition("external", f"{module}.{name}")
        summary = self.workspace.summary(path)
        if summary.error:
            return None
        if name in summary.classes:
            return Definition("class", f"{module}.{name}", path, module, summary.classes[name])
        if name in summary.assigns:
            return Definition("assign", f"{module}.{name}", path, module, summary.assigns[name])
        ref = summary.aliases.get(name)
        if ref is not None:
            target = self._absolute(ref, module)
            if target is None:
                return None
            if ref.is_from:
                return self.symbol(target, ref.names[0][0], depth + 1)
            return self._resolve_qname(target, depth + 1)
        submodule = f"{module}.{name}"
        if self.module_file(submodule) is not None:
            return Definition("module", submodule, self.module_file(submodule), submodule)
        return None

    def resolve_in(
        self, summary: ModuleSummary, module: str | None, dotted: str, depth: int = 0
    ) -> Definition | None:
        """A dotted text ("Base", "models.Base", "sa.orm.DeclarativeBase") as written in a
        project module."""
        if not dotted or "(" in dotted:
            return None
        head, _, rest = dotted.partition(".")
        if head in summary.classes and not rest:
            return Definition(
                "class",
                f"{module}.{head}" if module else head,
                summary.path,
                module,
                summary.classes[head],
            )
        if head in summary.assigns and not rest:
            return Definition(
                "assign",
                f"{module}.{head}" if module else head,
                summary.path,
                module,
                summary.assigns[head],
            )
        ref = summary.aliases.get(head)
        if ref is None:
            return None
        target = self._absolute(ref, module)
        if target is None:
            return None
        # `from X import n` binds X.n; `import a.b` binds a; `import a.b as x` binds a.b
        base = f"{target}.{ref.names[0][0]}" if ref.is_from else target
        full = f"{base}.{rest}" if rest else base
        return self._resolve_qname(full, depth + 1)

    def qualify_in(self, summary: ModuleSummary, module: str | None, dotted: str) -> str | None:
        """Qualified library name of a dotted text in a project module (no file lookups)."""
        head, _, rest = dotted.partition(".")
        ref = summary.aliases.get(head)
        if ref is None or ref.level:
            return None
        base = f"{ref.module}.{ref.names[0][0]}" if ref.is_from else ref.module
        return f"{base}.{rest}" if rest else base

    # --- what a definition is ---

    def kind_of(self, definition: Definition) -> str | None:
        """ "declarative base" (a class), "mapped class", "class", "registry", "engine",
        "async engine", "metadata", or None when it cannot be told."""
        if definition.kind == "external":
            if definition.qname in DECLARATIVE_BASE_CLASSES or definition.qname == SQLMODEL:
                return "declarative base"
            return None
        if definition.kind == "class":
            info = definition.info
            assert isinstance(info, ClassInfo)
            if any(b.endswith("MetaData") for b in info.bases):
                return "metadata"
            if info.defines_table or ("table", "True") in info.keywords:
                return "mapped class"
            if self.is_declarative_base(definition):
                return "declarative base"
            return "class"
        if definition.kind == "assign":
            info = definition.info
            assert isinstance(info, AssignInfo)
            summary = self.workspace.summary(definition.path) if definition.path else None
            qname = self.qualify_in(summary, definition.module, info.func) if summary else None
            if qname in DECLARATIVE_BASE_FACTORIES or info.func.endswith("generate_base"):
                return "declarative base"
            if qname in REGISTRY_FACTORIES:
                return "registry"
            if qname in METADATA_FACTORIES:
                return "metadata"
            if qname in N.ASYNC_FACTORIES:
                return "async engine"
            if qname in N.SYNC_FACTORIES:
                return "engine"
        return None

    def is_declarative_base(self, definition: Definition, depth: int = 0) -> bool:
        if depth > 12:
            return False
        if definition.kind == "external":
            return definition.qname in DECLARATIVE_BASE_CLASSES
        if definition.kind == "assign":
            return self.kind_of(definition) == "declarative base"
        if definition.kind != "class" or definition.path is None:
            return False
        info = definition.info
        assert isinstance(info, ClassInfo)
        summary = self.workspace.summary(definition.path)
        for decorator in info.decorators:
            if decorator.endswith(("as_declarative", "as_declarative_base")):
                return True
        for base in info.bases:
            if self.qualify_in(summary, definition.module, base) in DECLARATIVE_BASE_CLASSES:
                return True
            target = self.resolve_in(summary, definition.module, base)
            if target is not None and target.kind == "class" and not target.info.defines_table:  # type: ignore[union-attr]
                if self.is_declarative_base(target, depth + 1):
                    return True
        return False

    def maps_on(
        self,
        summary: ModuleSummary,
        module: str | None,
        info: ClassInfo,
        base: Definition,
        depth: int = 0,
    ) -> bool:
        """Does the class inherit (through project classes) from `base`?"""
        if depth > 12:
            return False
        for text in info.bases:
            if base.kind == "external" and self.qualify_in(summary, module, text) == base.qname:
                return True
            target = self.resolve_in(summary, module, text)
            if target is None:
                continue
            if target.key == base.key:
                return True
            if target.kind == "class" and target.path is not None:
                parent = self.workspace.summary(target.path)
                if self.maps_on(parent, target.module, target.info, base, depth + 1):  # type: ignore[arg-type]
                    return True
        return False

    # --- the import closure of env.py ---

    def imported_files(self) -> set[str] | None:
        """Files that importing env.py runs (project modules only), or None when dynamic
        or star imports make that unknown."""

        def compute():
            facts = self.facts
            for call in facts.calls:
                func = call.node.func
                if call.qname in DYNAMIC_IMPORTS or (
                    call.qname is None and getattr(func, "id", None) == "__import__"
                ):
                    return None
            todo: list[tuple[ImportRef, str | None]] = []
            for fact in facts.imports:
                if fact.type_checking or fact.level:
                    continue
                if fact.module is None:
                    for name, _ in fact.names:
                        todo.append((ImportRef(name, (), 0, False, False, fact.stmt.lineno), None))
                else:
                    todo.append(
                        (ImportRef(fact.module, fact.names, 0, True, False, fact.stmt.lineno), None)
                    )
            seen: set[str] = set()
            while todo:
                ref, importer = todo.pop()
                target = self._absolute(ref, importer)
                if target is None:
                    continue
                modules = _prefixes(target)
                if ref.is_from:
                    for name, _ in ref.names:
                        if name == "*":
                            path = self.module_file(target)
                            if path is not None and os.path.basename(path) == "__init__.py":
                                return None  # `from package import *` may import any submodule
                        elif self.module_file(f"{target}.{name}") is not None:
                            modules.append(f"{target}.{name}")
                for module in modules:
                    path = self.module_file(module)
                    if path is None or path in seen:
                        continue
                    seen.add(path)
                    summary = self.workspace.summary(path)
                    if summary.dynamic_imports:
                        return None
                    for inner in summary.imports:
                        if not inner.type_checking:
                            todo.append((inner, module))
            return seen

        if self._closure is False:
            # Kept across analyses while env.py's imports stay the same (typing elsewhere in
            # env.py costs nothing); a file event (`invalidate`) drops it.
            signature = tuple(
                (f.module, f.names, f.level, f.type_checking) for f in self.facts.imports
            ) + tuple(
                sorted(
                    c.qname or "__import__"
                    for c in self.facts.calls
                    if c.qname in DYNAMIC_IMPORTS
                    or (c.qname is None and getattr(c.node.func, "id", None) == "__import__")
                )
            )
            key = ("closure", self.env_path, tuple(self.module_roots), signature)
            self._closure = self.workspace.aggregate(key, compute)
        return self._closure  # type: ignore[return-value]

    # --- scans of the project folder ---

    def _scan(self) -> list[str]:
        if self.root is None:
            return []
        skip = self._excluded_dirs()
        files = []
        for path in self.workspace.python_files(self.root):
            if path == self.env_path or any(path.startswith(d + os.sep) for d in skip):
                continue
            files.append(path)
        return files

    def _excluded_dirs(self) -> list[str]:
        """The script folder (env.py, versions/): migration scripts are not app code."""
        if not self.env_path:
            return []
        script_dir = os.path.dirname(self.env_path)
        if script_dir == self.root:
            return [os.path.join(script_dir, "versions")]
        return [script_dir]

    def model_modules(self, base: Definition) -> list[tuple[str, str]]:
        """(module name, path) of project modules defining tables on `base` (tests excluded)."""

        def compute():
            found = []
            for path in self._scan():
                if _is_test_path(path, self.root):
                    continue
                markers = self.workspace._markers(path)
                if not any(m in markers for m in _MODEL_MARKERS):
                    continue
                summary = self.workspace.summary(path)
                if summary.error:
                    continue
                module = self.module_name(path)
                if module is None:
                    continue
                for info in summary.classes.values():
                    mapped = info.defines_table or ("table", "True") in info.keywords
                    if mapped and not info.abstract and self.maps_on(summary, module, info, base):
                        found.append((module, path))
                        break
            return sorted(found)

        return self.workspace.aggregate(
            ("models", self.root, base.key, tuple(self.module_roots)), compute
        )

    def app_command_calls(self) -> list[CommandCall]:
        """`alembic.command.*` calls in the project's code outside the script folder."""

        return [
            call
            for path, summary in self._alembic_files()
            if self._is_app_code(path)
            for call in summary.command_calls
        ]

    def passes_config_args(self) -> bool:
        """Does project code build an alembic Config with `config_args=` (extra ini defaults)?"""

        return any(
            summary.config_args
            for path, summary in self._alembic_files()
            if self._is_app_code(path)
        )

    def _alembic_files(self) -> list[tuple[str, ModuleSummary]]:
        """(path, summary) of the files under the root that call alembic.command or build a
        Config with config_args: found once per root and shared by every env.py under it, so a
        folder of 1,000 env scripts stays linear."""
        root = self.root
        if root is None:
            return []

        def compute():
            found = []
            for path in self.workspace.python_files(root):
                if _calls_alembic(self.workspace._markers(path)):
                    summary = self.workspace.summary(path)
                    if summary.command_calls or summary.config_args:
                        found.append((path, summary))
            return found

        return self.workspace.aggregate(("alembic-files", self.root), compute)

    def _is_app_code(self, path: str) -> bool:
        return path != self.env_path and not any(
            path.startswith(d + os.sep) for d in self._excluded_dirs()
        )


# ---- helpers ------------------------------------------------------------------------------


def _project_root(env_path: str | None, project, folders: list[str]) -> str | None:
    """The folder scanned for app code and models: the ini's (or pyproject.toml's) folder.
    Without either, a guess: the folder above env.py's when a workspace folder holds it,
    else env.py's own folder (never a scan of an unrelated parent such as /tmp or $HOME)."""
    ini = getattr(project, "ini", None)
    if ini is not None:
        return os.path.dirname(os.path.abspath(ini.path))
    pyproject = getattr(project, "pyproject", None)
    if pyproject is not None and (
        not folders or any(_within(str(pyproject.path), f) for f in folders)
    ):
        return os.path.dirname(os.path.abspath(pyproject.path))
    if not env_path:
        return None
    here = os.path.dirname(env_path)
    parent = os.path.dirname(here)
    if any(_within(parent, f) for f in folders):
        return parent
    return here


def _within(path: str, folder: str) -> bool:
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _split_paths(value: str) -> list[str]:
    return [p for p in re.split(rf"[\s,{re.escape(os.pathsep)}]+", value) if p]


def _module_roots(root: str | None, env_path: str | None, project, facts) -> list[str]:
    """Folders env.py's imports are looked up in: `prepend_sys_path` (ini, then
    `[tool.alembic]`), the project folder, its `src/`, and the folders above env.py when
    env.py edits sys.path itself."""
    roots: list[str] = []
    ini = getattr(project, "ini", None)
    if ini is not None:
        section = getattr(project, "main_section", "alembic") or "alembic"
        value = ini.get(section, "prepend_sys_path")
        if value is not None and value.value:
            base = os.path.dirname(os.path.abspath(ini.path))
            roots.extend(os.path.join(base, p) for p in _split_paths(value.value))
    pyproject = getattr(project, "pyproject", None)
    if pyproject is not None:
        entries = pyproject.tool_alembic.get("prepend_sys_path")
        if isinstance(entries, str):
            entries = _split_paths(entries)
        if isinstance(entries, list):
            base = os.path.dirname(os.path.abspath(pyproject.path))
            roots.extend(os.path.join(base, p) for p in entries if isinstance(p, str))
    if root:
        roots.extend([root, os.path.join(root, "src")])
    if env_path and any(c.qname in ("sys.path.insert", "sys.path.append") for c in facts.calls):
        here = os.path.dirname(env_path)
        roots.extend([os.path.dirname(here), os.path.dirname(os.path.dirname(here))])
    unique: list[str] = []
    for path in roots:
        path = os.path.normpath(os.path.abspath(path))
        if path not in unique and os.path.isdir(path):
            unique.append(path)
    return unique


def _prefixes(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _is_test_path(path: str, root: str | None) -> bool:
    rel = os.path.relpath(path, root) if root else path
    parts = rel.split(os.sep)
    name = parts[-1]
    return (
        any(p in TEST_DIRS for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def _walk_python(root: str, limit: int) -> Iterator[str]:
    from .project import walk_folders

    count = 0
    for folder, names in walk_folders(Path(root), skip_hidden=True):
        for name in names:
            if name.endswith(".py"):
                count += 1
                if count > limit:
                    return
                yield os.path.join(str(folder), name)


def _signature(key: str):
    try:
        info = os.stat(key)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


def _read(key: str) -> bytes | None:
    try:
        info = os.stat(key)
        if info.st_size > MAX_FILE_BYTES:
            return None
        with open(key, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None


def view_for(ctx) -> EnvView | None:
    """The workspace view of the env.py a rule is checking, or None without a workspace."""
    workspace = getattr(ctx, "workspace", None)
    if workspace is None:
        return None
    return workspace.view(ctx.facts, ctx.path, ctx.project)


__all__ = ["Definition", "EnvView", "ModuleSummary", "Workspace", "summarize", "view_for"]
