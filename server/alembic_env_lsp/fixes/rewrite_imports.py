"""Import statements in the rewrites: add the ones a rewrite needs (reusing what the file
already imports, under a free name), and drop the ones nothing reads any more, keeping the
file's own layout and comments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import libcst as cst

from .rewrite_common import Refusal
from .rewrite_names import ImportMap, canonical, dotted, module_level_names, reads
from .rewrite_nodes import (
    Builder,
    carry_leading,
    comment_lines,
    comments_of,
    docstring_of,
    keep_comments,
    leading_lines,
)


def _import_from_module(
    stmt: cst.CSTNode,
) -> tuple[cst.SimpleStatementLine, cst.ImportFrom, Sequence[cst.ImportAlias]] | None:
    """`from <module> import a, b` (not relative, not `*`): the line, the import, its names."""
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.ImportFrom)
    ):
        node = stmt.body[0]
        if (
            not node.relative
            and node.module is not None
            and not isinstance(node.names, cst.ImportStar)
        ):
            return stmt, node, node.names
    return None


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _is_future(stmt: cst.CSTNode) -> bool:
    found = _import_from_module(stmt)
    return found is not None and dotted(found[1].module) == "__future__"


def _imported_modules(stmt: cst.CSTNode) -> list[str]:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return []
    out = []
    for small in stmt.body:
        if isinstance(small, cst.ImportFrom) and small.module is not None:
            out.append(dotted(small.module) or "")
        elif isinstance(small, cst.Import):
            out.extend(dotted(a.name) or "" for a in small.names)
    return out


def _header_end(body: Sequence[cst.BaseStatement]) -> int:
    """Index after the module docstring and `from __future__` imports."""
    i = 0
    if docstring_of(body) is not None:
        i = 1
    while i < len(body) and _is_future(body[i]):
        i += 1
    return i


def ensure_import_module(module: cst.Module, name: str) -> tuple[cst.Module, str]:
    """`import name` at the top of the imports (where the async template has asyncio)."""
    imports = ImportMap.of_module(module)
    local = imports.local_for(name)
    if local is not None and imports.bindings[local].top_level:
        return module, local
    if name in module_level_names(module):
        raise Refusal(f"the name '{name}' is already used for something else in env.py")
    body: list[cst.BaseStatement] = list(module.body)
    start = _header_end(body)
    pos = next((i for i in range(start, len(body)) if _is_import(body[i])), None)
    new = Builder(module).stmt(f"import {name}")
    if pos is None:
        pos = start
    else:
        # Take over the first import's leading lines so a header comment stays on top.
        new = new.with_changes(leading_lines=leading_lines(body[pos]))
        body[pos] = body[pos].with_changes(leading_lines=[])
    body.insert(pos, new)
    return module.with_changes(body=body), name


def taken_names(module: cst.Module) -> set[str]:
    """Every name a new module-level name must not collide with."""
    return module_level_names(module) | set(reads(module))


def plan_from_import(
    module: cst.Module,
    mod: str,
    name: str,
    *,
    prefer_alias: str | None = None,
    taken: set[str] | None = None,
) -> str:
    """The local name under which `mod.name` is (or will be) available at module level."""
    imports = ImportMap.of_module(module)
    qualified = canonical(f"{mod}.{name}")
    for local, binding in imports.bindings.items():
        if (
            not binding.type_only
            and binding.top_level
            and canonical(binding.qualified) == qualified
        ):
            return local
    if taken is None:
        taken = taken_names(module)
    local = name
    if local in taken:
        local = prefer_alias or f"sa_{name}"
        if local in taken:
            raise Refusal(f"the names '{name}' and '{local}' are both already used in env.py")
    return local


def ensure_from_import(
    module: cst.Module,
    mod: str,
    name: str,
    *,
    prefer_alias: str | None = None,
    local: str | None = None,
    taken: set[str] | None = None,
) -> tuple[cst.Module, str]:
    """Make `mod.name` available at module level and return its local name.

    Reuses an existing import (under whatever alias); otherwise adds the name to an
    existing `from mod import ...` line, or inserts a new line after the last
    SQLAlchemy import (after the last import of the leading block when there is none).
    `local` is a name chosen earlier with plan_from_import, before the code using it was added."""
    imports = ImportMap.of_module(module)
    qualified = canonical(f"{mod}.{name}")
    for existing, binding in imports.bindings.items():
        if (
            not binding.type_only
            and binding.top_level
            and canonical(binding.qualified) == qualified
        ):
            return module, existing
    if local is None:
        local = plan_from_import(module, mod, name, prefer_alias=prefer_alias, taken=taken)
    if taken is not None:
        taken.add(local)
    alias = cst.ImportAlias(
        name=cst.Name(name), asname=None if local == name else cst.AsName(name=cst.Name(local))
    )
    body: list[cst.BaseStatement] = list(module.body)
    for i, stmt in enumerate(body):
        found = _import_from_module(stmt)
        if found is not None and dotted(found[1].module) == mod:
            line, node, imported = found
            names = list(imported)
            last = names[-1]
            if node.lpar is not None and isinstance(last.comma, cst.Comma):
                # Parenthesised one-per-line list with a trailing comma.
                between = (
                    names[-2].comma
                    if len(names) >= 2
                    else cst.Comma(whitespace_after=node.lpar.whitespace_after)
                )
                names[-1] = last.with_changes(comma=between)
                names.append(alias.with_changes(comma=last.comma))
            else:
                names[-1] = last.with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
                names.append(alias.with_changes(comma=last.comma))
            body[i] = line.with_changes(body=[node.with_changes(names=names)])
            return module.with_changes(body=body), local
    new = Builder(module).stmt(
        f"from {mod} import {name}" + ("" if local == name else f" as {local}")
    )
    body.insert(_from_import_anchor(body), new)
    return module.with_changes(body=body), local


def _from_import_anchor(body: Sequence[cst.BaseStatement]) -> int:
    start = _header_end(body)
    anchor = None
    for i in range(start, len(body)):
        if _is_import(body[i]) and any(
            m == "sqlalchemy" or m.startswith("sqlalchemy.") for m in _imported_modules(body[i])
        ):
            anchor = i + 1
    if anchor is not None:
        return anchor
    i = start
    while i < len(body) and _is_import(body[i]):
        i += 1
    return i


class _PruneImports:
    """Removes the given imported names when nothing in the file refers to them any more."""

    def __init__(self, unused: set[str], qualified: set[str]):
        self.unused = unused  # local names with no remaining reference
        self.qualified = qualified  # which imports may go (canonical qualified names)

    def _keep(self, node: cst.ImportFrom, alias: cst.ImportAlias) -> bool:
        mod = dotted(node.module) if node.module is not None else None
        if node.relative or mod is None:
            return True
        name = dotted(alias.name) or ""
        local = (
            alias.asname.name.value
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
            else name
        )
        return not (local in self.unused and canonical(f"{mod}.{name}") in self.qualified)

    def _prune_plain(
        self, stmt: cst.SimpleStatementLine, node: cst.Import
    ) -> cst.BaseStatement | None:
        def keep(alias: cst.ImportAlias) -> bool:
            full = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local, qualified = alias.asname.name.value, full
            elif "." in full:
                return True  # `import a.b` binds `a`: leave such lines alone
            else:
                local = qualified = full
            return not (local in self.unused and canonical(qualified) in self.qualified)

        names = [a for a in node.names if keep(a)]
        if len(names) == len(node.names):
            return stmt
        if not names:
            return None
        names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return keep_comments([stmt], stmt.with_changes(body=[node.with_changes(names=names)]))

    def _prune_line(self, stmt: cst.BaseStatement) -> cst.BaseStatement | None:
        if (
            isinstance(stmt, cst.SimpleStatementLine)
            and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Import)
        ):
            return self._prune_plain(stmt, stmt.body[0])
        found = _import_from_module(stmt)
        if found is None:
            return stmt
        line, node, names = found
        keep = [a for a in names if self._keep(node, a)]
        if len(keep) == len(names):
            return stmt
        if not keep:
            return None
        if not self._keep(node, names[-1]):
            # The last name went: the new last one takes its closing comma/whitespace.
            keep[-1] = keep[-1].with_changes(comma=names[-1].comma)
        new = line.with_changes(body=[node.with_changes(names=keep)])
        return keep_comments([line], new)

    def _prune(self, body: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement] | None:
        out: list[cst.BaseStatement] = []
        carried: cst.BaseStatement | None = None
        changed = False
        for stmt in body:
            new = self._prune_line(stmt)
            if new is not stmt:
                changed = True
            if new is None:
                carried = stmt if carried is None else carry_leading(carried, stmt)
                continue
            if carried is not None:
                new = carry_leading(carried, new)
                carried = None
            out.append(new)
        if not changed:
            return None
        if carried is not None:
            if not out:
                return None  # never empty a block; leave this one as it was
            lost = comments_of(carried)
            if lost:
                out.append(
                    cst.SimpleStatementLine(
                        [cst.Pass()], leading_lines=comment_lines(lost.elements())
                    )
                )
        return out


def prune_imports(module: cst.Module, qualified: Iterable[str]) -> cst.Module:
    """Drop imported names in `qualified` that the rewritten file no longer uses."""
    wanted = {canonical(q) for q in qualified}
    used = reads(module)
    imports = ImportMap().within(module)
    unused = {
        local
        for local, b in imports.bindings.items()
        if canonical(b.qualified) in wanted and used[local] == 0
    }
    if not unused:
        return module
    # Imports live at module level or at the top of a function: edit those lists directly.
    pruner = _PruneImports(unused, {q for q in wanted if q})
    body = list(pruner._prune(module.body) or module.body)
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.FunctionDef) and isinstance(stmt.body, cst.IndentedBlock):
            inner = pruner._prune(stmt.body.body)
            if inner is not None:
                body[i] = stmt.with_changes(body=stmt.body.with_changes(body=inner))
    return module.with_changes(body=body)
