"""Which names a piece of env.py imports, reads and binds, for the libcst rewrites.

SQLAlchemy's re-exported names are reduced to one spelling (`canonical`), import aliases are
resolved from the file's own import statements (`ImportMap`), and `reads`/`binds` say which
identifiers code uses or assigns, so a rewrite can pick free names and drop unused imports.

Alias resolution is done by hand from the import statements: libcst's
QualifiedNameProvider needs a MetadataWrapper, which costs tens of milliseconds per
file and would dominate a quick-fix.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst

from ..model import names as N
from .rewrite_nodes import single_assignment

# --------------------------------------------------------------------------- names


# SQLAlchemy re-exports its public names from several modules; reduce each to one spelling.
# The engine factories and runners come from model/names.py (the facts use the same tables);
# the classes below are only ever imported by the rewrites' own edits.
def _canonical_table() -> dict[str, str]:
    table = {q: "sqlalchemy." + N.short(q) for q in N.SYNC_FACTORIES}
    table.update(
        {q: "sqlalchemy.ext.asyncio." + N.short(q) for q in N.ASYNC_FACTORIES | N.ASYNC_WRAPPERS}
    )
    table.update({q: "asyncio.run" for q in N.RUNNERS if q.startswith("asyncio.")})
    table.update(
        {
            "sqlalchemy.ext.asyncio.engine.AsyncConnection": "sqlalchemy.ext.asyncio.AsyncConnection",
            "sqlalchemy.Connection": "sqlalchemy.engine.Connection",
            "sqlalchemy.engine.base.Connection": "sqlalchemy.engine.Connection",
            "sqlalchemy.Engine": "sqlalchemy.engine.Engine",
            "sqlalchemy.engine.base.Engine": "sqlalchemy.engine.Engine",
            "sqlalchemy.NullPool": "sqlalchemy.pool.NullPool",
            "sqlalchemy.pool.impl.NullPool": "sqlalchemy.pool.NullPool",
        }
    )
    return {alias: name for alias, name in table.items() if alias != name}


_CANONICAL = _canonical_table()

# sync factory -> its async counterpart's name, and back (the pairs SQLAlchemy documents)
SYNC_FACTORIES = {
    "sqlalchemy.create_engine": "create_async_engine",
    "sqlalchemy.engine_from_config": "async_engine_from_config",
}
ASYNC_FACTORIES = {f"sqlalchemy.ext.asyncio.{a}": N.short(s) for s, a in SYNC_FACTORIES.items()}
ASYNC_WRAP = "sqlalchemy.ext.asyncio.AsyncEngine"
CTX = N.CONTEXT


def canonical(qualified: str | None) -> str | None:
    if qualified is None:
        return None
    if qualified in _CANONICAL:
        return _CANONICAL[qualified]
    # Every pool class lives in sqlalchemy.pool.impl and is re-exported twice.
    for prefix in ("sqlalchemy.pool.impl.", "sqlalchemy.pool.", "sqlalchemy."):
        if (
            qualified.startswith(prefix)
            and qualified.endswith("Pool")
            and "." not in qualified[len(prefix) :]
        ):
            return "sqlalchemy.pool." + qualified[len(prefix) :]
    return qualified


def dotted(node: cst.BaseExpression | None) -> str | None:
    """`a.b.c` as text, or None for anything that is not a plain dotted name."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def engine_kind(call: cst.CSTNode, imports: ImportMap) -> str | None:
    """'sync', 'async' or 'wrap' (AsyncEngine(<sync factory>)) for an engine factory call."""
    if not isinstance(call, cst.Call):
        return None
    name = imports.qualname(call.func)
    if name in SYNC_FACTORIES:
        return "sync"
    if name in ASYNC_FACTORIES:
        return "async"
    if name == ASYNC_WRAP:
        return "wrap"
    return None


def engine_assignment(stmt: cst.CSTNode, imports: ImportMap) -> tuple[str, cst.Call, str] | None:
    """`X = <engine factory>(...)` -> (X, call, kind)."""
    found = single_assignment(stmt)
    if found is None:
        return None
    name, value = found
    kind = engine_kind(value, imports)
    if kind is not None and isinstance(value, cst.Call):
        return name, value, kind
    return None


@dataclass(frozen=True)
class Binding:
    qualified: str
    # Bound only under `if TYPE_CHECKING:`: fine for annotations, absent at run time.
    type_only: bool = False
    # The import sits directly in the module body (not in an if/try/def).
    top_level: bool = False


class ImportMap:
    """Local name -> imported qualified name, from the file's own import statements."""

    def __init__(self, bindings: dict[str, Binding] | None = None):
        self.bindings: dict[str, Binding] = dict(bindings or {})

    @classmethod
    def of_module(cls, module: cst.Module) -> ImportMap:
        imports = cls()
        _scan_imports(module.body, imports, top=True, type_only=False, into_defs=False)
        return imports

    def within(self, scope: cst.CSTNode) -> ImportMap:
        """This map plus the imports made inside `scope` (a function body, or a whole module)."""
        inner = ImportMap(self.bindings)
        if isinstance(scope, cst.Module):
            _scan_imports(scope.body, inner, top=False, type_only=False, into_defs=True)
        elif isinstance(scope, (cst.FunctionDef, cst.ClassDef)):
            _scan_imports(_suite(scope.body), inner, top=False, type_only=False, into_defs=True)
        return inner

    def qualname(self, node: cst.BaseExpression) -> str | None:
        text = dotted(node)
        if text is None:
            return None
        head, _, rest = text.partition(".")
        binding = self.bindings.get(head)
        if binding is None or binding.type_only:
            return None
        return canonical(binding.qualified + ("." + rest if rest else ""))

    def local_for(self, qualified: str) -> str | None:
        """A local name that is bound (at run time) to exactly `qualified`."""
        for name, binding in self.bindings.items():
            if not binding.type_only and canonical(binding.qualified) == qualified:
                return name
        return None

    def module_alias(self, module_name: str) -> str | None:
        return self.local_for(module_name)

    def ctx_names(self) -> set[str]:
        return {n for n, b in self.bindings.items() if not b.type_only and b.qualified == CTX}


def _suite(suite: cst.CSTNode | None) -> Sequence[cst.CSTNode]:
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    return []


def _bind_import(small: cst.CSTNode, into: ImportMap, binding: Callable[[str], Binding]) -> None:
    if isinstance(small, cst.Import):
        for alias in small.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                into.bindings[alias.asname.name.value] = binding(full)
            else:
                root = full.split(".")[0]
                into.bindings[root] = binding(root)
    elif isinstance(small, cst.ImportFrom):
        if small.relative or small.module is None or isinstance(small.names, cst.ImportStar):
            return
        mod = dotted(small.module) or ""
        for alias in small.names:
            name = dotted(alias.name) or ""
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            into.bindings[local] = binding(f"{mod}.{name}")


def _scan_imports(
    stmts: Sequence[cst.CSTNode], into: ImportMap, *, top: bool, type_only: bool, into_defs: bool
) -> None:
    """Collect import bindings by walking statement lists directly (a libcst visitor over
    the whole file costs milliseconds, and rewrites ask for imports many times)."""
    for stmt in stmts:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                _bind_import(small, into, lambda q: Binding(q, type_only, top))
            continue

        def nested(suite: cst.CSTNode | None, tc: bool = type_only) -> None:
            _scan_imports(_suite(suite), into, top=False, type_only=tc, into_defs=into_defs)

        if isinstance(stmt, cst.If):
            checking = type_only or dotted(stmt.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
            nested(stmt.body, checking)
            orelse = stmt.orelse
            while isinstance(orelse, cst.If):
                nested(orelse.body)
                orelse = orelse.orelse
            if isinstance(orelse, cst.Else):
                nested(orelse.body)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            nested(stmt.body)
            for handler in stmt.handlers:
                nested(handler.body)
            for part in (stmt.orelse, stmt.finalbody):
                if part is not None:
                    nested(part.body)
        elif isinstance(stmt, (cst.With, cst.For, cst.While)):
            nested(stmt.body)
            if not isinstance(stmt, cst.With) and stmt.orelse is not None:
                nested(stmt.orelse.body)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and into_defs:
            nested(stmt.body)


# --------------------------------------------------------------------------- name analysis


class _Reads(cst.CSTVisitor):
    """Every identifier used as a value (over-approximates reads: bindings count too)."""

    def __init__(self) -> None:
        self.names: Counter[str] = Counter()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # a keyword's name is not a variable
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names[node.value] += 1


_MODULE_CACHE: dict[int, tuple[cst.Module, Counter[str], set[str]]] = {}


def _module_names(module: cst.Module) -> tuple[Counter[str], set[str]]:
    """reads() and module_level_names() of a module, cached: modules are immutable and a
    rewrite queries the same one many times (keyed by identity, the module kept alive)."""
    entry = _MODULE_CACHE.get(id(module))
    if entry is not None and entry[0] is module:
        return entry[1], entry[2]
    counts = _ast_reads(module.code)
    if counts is None:
        visitor = _Reads()
        module.visit(visitor)
        counts = visitor.names
    names = binds(*module.body)
    if len(_MODULE_CACHE) > 32:
        _MODULE_CACHE.clear()
    _MODULE_CACHE[id(module)] = (module, counts, names)
    return counts, names


def _ast_reads(code: str) -> Counter[str] | None:
    """What _Reads counts, computed with the stdlib parser (several times faster than a
    libcst visitor over a whole file)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    counts: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            counts[node.id] += 1
        elif isinstance(node, ast.arg):
            counts[node.arg] += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            counts[node.name] += 1
        elif isinstance(node, ast.ExceptHandler) and node.name:
            counts[node.name] += 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            counts.update(node.names)
    return counts


def reads(*nodes: cst.CSTNode | None) -> Counter[str]:
    if len(nodes) == 1 and isinstance(nodes[0], cst.Module):
        return Counter(_module_names(nodes[0])[0])
    visitor = _Reads()
    for node in nodes:
        if node is not None:
            node.visit(visitor)
    return visitor.names


class _Binds(cst.CSTVisitor):
    def __init__(self, root: cst.CSTNode) -> None:
        self.root = root
        self.names: set[str] = set()

    def _targets(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            self.names.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self._targets(element.value)
        elif isinstance(node, cst.StarredElement):
            self._targets(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.add(node.name.value)  # binds its name; its locals are its own
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._targets(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._targets(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._targets(node.target)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is None:
            self.names.add((dotted(node.name) or "").split(".")[0])

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.names.add(item.name.value)


def binds(*nodes: cst.CSTNode) -> set[str]:
    out: set[str] = set()
    for node in nodes:
        visitor = _Binds(node)
        node.visit(visitor)
        out |= visitor.names
    return out


def module_level_names(module: cst.Module) -> set[str]:
    return set(_module_names(module)[1])
