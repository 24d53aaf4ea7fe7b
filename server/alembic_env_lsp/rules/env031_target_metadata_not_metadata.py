import ast

from ..findings import Fix
from ..fixes.edits import replace_node
from ..model.facts import Kind
from ..model.names import (
    DECLARATIVE_BASE_CLASSES,
    DECLARATIVE_BASE_FACTORIES,
    METADATA_FACTORIES,
    REGISTRY_FACTORIES,
)
from ..model.qualify import qualified_name
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ._common import online_configures, workspace_view

WRONG = {
    "declarative base": "the declarative base class",
    "mapped class": "the mapped class",
    "class": "the class",
    "registry": "the registry",
    "engine": "the engine",
    "async engine": "the engine",
}
HAS_METADATA = ("declarative base", "mapped class", "registry")


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    values: list[ast.expr] = []
    if facts.target_metadata is not None:
        values.append(facts.target_metadata.value)
    for configure in online_configures(facts):
        value = configure.keyword("target_metadata")
        if value is not None and not (
            isinstance(value, ast.Name) and value.id == "target_metadata"
        ):
            values.append(value)
    for value in values:
        elements = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
        for element in elements:
            _check_element(ctx, element)


def _check_element(ctx: RuleContext, node: ast.expr) -> None:
    kind, resolved = _kind(ctx, node)
    if kind is None:
        return
    text = ctx.source.slice(ctx.range(node))
    if kind == "metadata class":
        # No fix: calling the class would build a new, empty MetaData, and autogenerate would
        # then drop every table.
        ctx.report(
            f"target_metadata is the class '{text}' (a MetaData subclass), not a MetaData instance: "
            f"autogenerate fails (\"type object '{text}' has no attribute 'tables'\"); pass the instance "
            f"your models register on.",
            node,
            severity=Severity.ERROR,
        )
        return
    severity = Severity.ERROR if resolved else Severity.WARNING
    what = WRONG.get(kind, "the object")
    if not resolved:
        what = "what looks like a class"
    fixes = []
    if kind in HAS_METADATA or not resolved:
        fixes.append(
            Fix(
                f"Use {text}.metadata",
                (replace_node(ctx.source, node, f"{text}.metadata"),),
                safe=resolved,
            )
        )
    ctx.report(
        f"target_metadata must be a MetaData (e.g. Base.metadata), not {what} '{text}': autogenerate fails with "
        f"\"AttributeError: ... has no attribute 'sorted_tables'\".",
        node,
        severity=severity,
        fixes=fixes,
    )


def _kind(ctx: RuleContext, node: ast.expr) -> tuple[str | None, bool]:
    """(what the value is, whether that is known for sure); (None, _) when fine or unknown."""
    facts = ctx.facts
    module = facts.module
    if isinstance(node, ast.Call):
        q = qualified_name(node.func, module)
        if q in DECLARATIVE_BASE_FACTORIES:
            return "declarative base", True
        if q in REGISTRY_FACTORIES:
            return "registry", True
        return None, False
    if isinstance(node, ast.Attribute):
        q = qualified_name(node, module)
        if q in DECLARATIVE_BASE_CLASSES:
            return "declarative base", True
        if node.attr != "metadata" and _looks_like_class(node.attr):
            return "class", False
        return None, False
    if not isinstance(node, ast.Name):
        return None, False
    name = node.id
    binding = module.kinds.get(name)
    if binding is not None and binding.kind in (Kind.ENGINE, Kind.ASYNC_ENGINE):
        return "engine", True
    if name in module.assignments:
        value = module.assignments[name][-1].value
        if isinstance(value, ast.Call):
            q = qualified_name(value.func, module)
            if q in DECLARATIVE_BASE_FACTORIES:
                return "declarative base", True
            if q in REGISTRY_FACTORIES:
                return "registry", True
        return None, False
    for stmt in facts.tree.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == name:
            if any((qualified_name(b, module) or "").endswith("MetaData") for b in stmt.bases):
                return "metadata class", True
            return "class", True
    qname = module.aliases.get(name)
    if qname is None:
        return None, False
    if qname in DECLARATIVE_BASE_CLASSES:
        return "declarative base", True
    if qname in METADATA_FACTORIES:
        return None, False
    view = workspace_view(ctx)
    if view is not None:
        definition = view.definition(name)
        if definition is not None and definition.kind != "external":
            kind = view.kind_of(definition)
            if kind == "metadata":
                return None, False
            if kind is not None:
                return kind, True
            if definition.kind in ("assign", "module"):
                return (
                    None,
                    False,
                )  # e.g. metadata = MetaData(naming_convention=...) built by a helper
    return ("class", False) if _looks_like_class(name) else (None, False)


def _looks_like_class(name: str) -> bool:
    return name[:1].isupper() and any(c.islower() for c in name) and "meta" not in name.lower()


_MODELS = (
    "app/models.py",
    "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\n\n"
    "class Base(DeclarativeBase):\n    pass\n\n\n"
    "class User(Base):\n    __tablename__ = 'user'\n    id: Mapped[int] = mapped_column(primary_key=True)\n",
)
_ENV = "from alembic import context\nfrom app.models import Base\n\ntarget_metadata = Base\n"

RULE = Rule(
    code="ENV031",
    name="target-metadata-not-metadata",
    severity=Severity.ERROR,
    summary="`target_metadata` is a declarative base class, a registry or an engine instead of a `MetaData`.",
    docs=Docs(
        what=(
            "Resolves `target_metadata` (and a `target_metadata=` passed to the online configure; list elements "
            "too) through env.py and, with a workspace, the project's modules: a declarative base class "
            "(`class Base(DeclarativeBase)`, `declarative_base()`, `SQLModel`), a mapped class, a `registry` or an "
            "engine is an error. An imported CamelCase name that cannot be resolved is a warning."
        ),
        why=(
            "Autogenerate walks `target_metadata.sorted_tables`; a class or registry has no such attribute: "
            "\"AttributeError: type object 'Base' has no attribute 'sorted_tables'\". The fix is almost always "
            "`.metadata`."
        ),
        example="from app.models import Base\ntarget_metadata = Base",
        instead="from app.models import Base\ntarget_metadata = Base.metadata",
        fix_safety="Safe when the value is known to be a base class or registry (appends `.metadata`); unsafe when only its name suggests a class.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            _ENV,
            ini="[alembic]\nscript_location = %(here)s\n",
            files=(_MODELS,),
            span="Base",
            message="not the declarative base class 'Base'",
            fixed=_ENV.replace("target_metadata = Base", "target_metadata = Base.metadata"),
        ),
        Example(_ENV, severity=Severity.WARNING, note="no workspace: the name suggests a class"),
        Example(
            "from alembic import context\nfrom sqlmodel import SQLModel\n\ntarget_metadata = SQLModel\n",
            span="SQLModel",
            fixed="from alembic import context\nfrom sqlmodel import SQLModel\n\ntarget_metadata = SQLModel.metadata\n",
        ),
        Example(
            "from alembic import context\nfrom sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n"
            "target_metadata = [Base]\n",
            span="Base",
            note="a list element",
        ),
        Example(
            "from alembic import context\nfrom sqlalchemy import MetaData\n\n\nclass AppMetaData(MetaData):\n"
            "    pass\n\n\ntarget_metadata = AppMetaData\n",
            span="AppMetaData",
            message="target_metadata is the class 'AppMetaData' (a MetaData subclass), not a MetaData instance",
            note="a MetaData subclass, not an instance: no fix (calling it builds a new, empty MetaData)",
        ),
    ),
    valid=(
        Example(
            _ENV.replace("= Base\n", "= Base.metadata\n"),
            ini="[alembic]\nscript_location = %(here)s\n",
            files=(_MODELS,),
        ),
        Example(
            "from alembic import context\nfrom app.db import Metadata\n\ntarget_metadata = Metadata\n",
            note="a name that says metadata",
        ),
        Example(
            "from alembic import context\nfrom app.db import METADATA\n\ntarget_metadata = METADATA\n",
            note="a constant",
        ),
        Example(
            "from alembic import context\nfrom app.db import Schema\n\ntarget_metadata = Schema\n",
            ini="[alembic]\nscript_location = %(here)s\n",
            files=(
                (
                    "app/db.py",
                    "from sqlalchemy import MetaData\n\nSchema = MetaData(schema='app')\n",
                ),
            ),
            note="the workspace shows it is a MetaData",
        ),
        Example(
            "from alembic import context\nfrom sqlalchemy import MetaData\n\ntarget_metadata = MetaData()\n"
        ),
    ),
)
