"""What one Python module says, read once: imports, classes, assignments, alembic.command
calls. Built from an `ast` tree; nothing is imported or run."""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field

from ..model import names as N

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
