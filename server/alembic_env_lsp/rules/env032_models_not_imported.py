import ast

from ..findings import Fix
from ..fixes.edits import insert_lines_after
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ._common import online_configures, workspace_view

MAX_LISTED = 5


def check(ctx: RuleContext) -> None:
    view = workspace_view(ctx)
    if view is None:
        return
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
    done: set[tuple[str, str]] = set()
    for value in values:
        for element in value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]:
            base_name = _base_of(element)
            if base_name is None:
                continue
            base = _resolve_base(view, facts, base_name)
            if base is None or base.key in done:
                continue
            done.add(base.key)
            closure = view.imported_files()
            if closure is None:
                return  # dynamic or star imports: what env.py imports cannot be known
            missing = [
                (module, path) for module, path in view.model_modules(base) if path not in closure
            ]
            if missing:
                _report(ctx, element, base_name, missing)


def _base_of(node: ast.expr) -> str | None:
    """`Base.metadata` -> "Base"."""
    if (
        isinstance(node, ast.Attribute)
        and node.attr == "metadata"
        and isinstance(node.value, ast.Name)
    ):
        return node.value.id
    return None


def _resolve_base(view, facts, name: str):
    from ..workspace import DECLARATIVE_BASE_CLASSES, Definition

    qname = facts.module.aliases.get(name)
    if qname in DECLARATIVE_BASE_CLASSES:
        return Definition(
            "external", "sqlmodel.SQLModel" if qname.startswith("sqlmodel") else qname
        )
    if qname is None:
        return None
    definition = view.definition(name)
    if definition is None or definition.kind in ("external", "module"):
        return None
    return definition if view.is_declarative_base(definition) else None


def _report(ctx: RuleContext, node: ast.expr, base: str, missing: list[tuple[str, str]]) -> None:
    names = [module for module, _ in missing]
    listed = ", ".join(names[:MAX_LISTED]) + (
        f", and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    )
    fixes = []
    anchor = _import_of(ctx.facts, base)
    if anchor is not None:
        lines = [
            f"import {module}  # noqa: F401  (registers its tables on {base}.metadata)"
            for module in names
        ]
        fixes.append(
            Fix(
                f"Import the model module{'s' if len(names) > 1 else ''} in env.py",
                (insert_lines_after(ctx.source, anchor, lines, ""),),
                safe=False,
            )
        )
    plural = len(names) > 1
    ctx.report(
        f"{len(names)} mapped model module{'s are' if plural else ' is'} never imported by env.py ({listed}); "
        f"{'their' if plural else 'its'} tables are missing from target_metadata and autogenerate will emit "
        f"op.drop_table() for them.",
        node,
        fixes=fixes,
    )


def _import_of(facts, name: str):
    for fact in facts.imports:
        if fact.scope is facts.module and not fact.type_checking:
            if any(
                (asname or imported.split(".", 1)[0]) == name for imported, asname in fact.names
            ):
                return fact.stmt if fact.stmt.col_offset == 0 else None
    return None


_INI = "[alembic]\nscript_location = %(here)s\nprepend_sys_path = .\n"
_BASE = (
    "app/db.py",
    "from sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n",
)
_USER = (
    "app/models/user.py",
    "from sqlalchemy import Column, Integer\n\nfrom app.db import Base\n\n\n"
    "class User(Base):\n    __tablename__ = 'user'\n    id = Column(Integer, primary_key=True)\n",
)
_ORDER = (
    "app/models/order.py",
    "from sqlalchemy import Column, Integer\n\nfrom ..db import Base\n\n\n"
    "class Order(Base):\n    __tablename__ = 'order'\n    id = Column(Integer, primary_key=True)\n",
)
_INIT = ("app/__init__.py", "")
_MODELS_INIT = ("app/models/__init__.py", "")
_ENV = "from alembic import context\n\nfrom app.db import Base\n\ntarget_metadata = Base.metadata\n"

RULE = Rule(
    code="ENV032",
    name="models-not-imported",
    severity=Severity.WARNING,
    summary="Model modules mapped on `target_metadata`'s base are never imported by env.py, so autogenerate wants to drop their tables.",
    docs=Docs(
        what=(
            "For `target_metadata = Base.metadata` (or `SQLModel.metadata`), finds the project modules that define "
            "tables on that base (`__tablename__`/`__table__`, `table=True`) and checks that importing env.py "
            "imports them, following imports through the project (with `prepend_sys_path`). Says nothing when "
            "dynamic imports (`importlib.import_module`, `pkgutil.walk_packages`) or a star import from a package "
            "make that unknown. Tests and the migration scripts are not counted."
        ),
        why=(
            "`Base.metadata` only contains the tables whose classes have been imported. A model module env.py never "
            "imports is invisible to autogenerate, which then sees its existing tables as removed and writes "
            "`op.drop_table(...)` for them."
        ),
        example="from app.db import Base\ntarget_metadata = Base.metadata  # app/models/user.py never imported",
        instead="from app.db import Base\nimport app.models.user  # noqa: F401\ntarget_metadata = Base.metadata",
        fix_safety="Unsafe: importing a module runs its code; the fix adds one import per missing module.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            _ENV,
            ini=_INI,
            files=(_INIT, _BASE, _MODELS_INIT, _USER, _ORDER),
            span="Base.metadata",
            message="2 mapped model modules are never imported by env.py (app.models.order, app.models.user)",
            fixed=_ENV.replace(
                "from app.db import Base\n",
                "from app.db import Base\n"
                "import app.models.order  # noqa: F401  (registers its tables on Base.metadata)\n"
                "import app.models.user  # noqa: F401  (registers its tables on Base.metadata)\n",
            ),
        ),
        Example(
            "from alembic import context\nfrom sqlmodel import SQLModel\n\nimport app.models.hero  # noqa: F401\n\n"
            "target_metadata = SQLModel.metadata\n",
            ini=_INI,
            files=(
                _INIT,
                _MODELS_INIT,
                (
                    "app/models/hero.py",
                    "from sqlmodel import Field, SQLModel\n\n\nclass Hero(SQLModel, table=True):\n    id: int = Field(primary_key=True)\n",
                ),
                (
                    "app/models/team.py",
                    "from sqlmodel import Field, SQLModel\n\n\nclass Team(SQLModel, table=True):\n    id: int = Field(primary_key=True)\n",
                ),
            ),
            message="(app.models.team)",
            note="SQLModel tables",
        ),
    ),
    valid=(
        Example(
            _ENV.replace(
                "from app.db import Base\n",
                "from app.db import Base\nimport app.models  # noqa: F401\n",
            ),
            ini=_INI,
            files=(
                _INIT,
                _BASE,
                ("app/models/__init__.py", "from . import order, user  # noqa: F401\n"),
                _USER,
                _ORDER,
            ),
            note="an aggregator module imports them all",
        ),
        Example(
            _ENV,
            ini=_INI,
            files=(
                _INIT,
                (
                    "app/db.py",
                    _BASE[1]
                    + "\n\nimport importlib\nfor name in ('user', 'order'):\n    importlib.import_module('app.models.' + name)\n",
                ),
                _MODELS_INIT,
                _USER,
                _ORDER,
            ),
            note="dynamic imports: unknown, say nothing",
        ),
        Example(
            "from alembic import context\n\nfrom app.models import *  # noqa: F403\nfrom app.db import Base\n\n"
            "target_metadata = Base.metadata\n",
            ini=_INI,
            files=(_INIT, _BASE, _MODELS_INIT, _USER, _ORDER),
            note="a star import from a package: unknown",
        ),
        Example(
            _ENV,
            ini=_INI,
            files=(
                _INIT,
                ("app/db.py", _BASE[1] + "\n\nclass Tag(Base):\n    __tablename__ = 'tag'\n"),
                (
                    "tests/test_models.py",
                    "from app.db import Base\n\n\nclass Fake(Base):\n    __tablename__ = 'fake'\n",
                ),
            ),
            note="models in Base's own module; test models are not counted",
        ),
        Example(
            _ENV,
            ini=_INI,
            files=(
                _INIT,
                _BASE,
                _MODELS_INIT,
                (
                    "app/models/other.py",
                    "from sqlalchemy.orm import DeclarativeBase\n\n\nclass Other(DeclarativeBase):\n    pass\n\n\nclass Log(Other):\n    __tablename__ = 'log'\n",
                ),
            ),
            note="tables on a different base are not this rule's concern",
        ),
    ),
)
