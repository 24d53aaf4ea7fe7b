"""Questions rules ask about the project around one env.py: its import closure, where the
models and the application's engine are defined, alembic.command calls in app code."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import names as N
from .summary import (
    _MODEL_MARKERS,
    DECLARATIVE_BASE_CLASSES,
    DECLARATIVE_BASE_FACTORIES,
    DYNAMIC_IMPORTS,
    METADATA_FACTORIES,
    REGISTRY_FACTORIES,
    SQLMODEL,
    AssignInfo,
    ClassInfo,
    CommandCall,
    ImportRef,
    ModuleSummary,
    _calls_alembic,
)

if TYPE_CHECKING:
    from ..model.facts import EnvFacts
    from .index import Workspace

TEST_DIRS = frozenset({"tests", "test", "testing"})

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
        for kind, defined in (("class", summary.classes), ("assign", summary.assigns)):
            if head in defined and not rest:
                qualified = f"{module}.{head}" if module else head
                return Definition(kind, qualified, summary.path, module, defined[head])
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


def view_for(ctx) -> EnvView | None:
    """The workspace view of the env.py a rule is checking, or None without a workspace."""
    workspace = getattr(ctx, "workspace", None)
    if workspace is None:
        return None
    return workspace.view(ctx.facts, ctx.path, ctx.project)
