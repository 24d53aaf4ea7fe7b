from ..knowledge import version_tuple
from ..pyenv import judged_environment
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s

ASYNCIO = "sqlalchemy.ext.asyncio"


def check(ctx: RuleContext) -> None:
    imports = [i for i in ctx.facts.imports if not i.type_checking and _imports_asyncio(i)]
    if not imports:
        return
    environment = judged_environment(ctx)
    if environment is None:
        return  # no project environment found: nothing to judge (the checker's own is not it)
    sqlalchemy = environment.version("sqlalchemy")
    if not sqlalchemy or version_tuple(sqlalchemy)[:2] < (2, 1):
        return  # older releases installed greenlet by default on the common platforms
    if environment.version("greenlet") is not None:
        return
    ctx.report(
        f"SQLAlchemy {sqlalchemy}, {environment.where}, no longer installs greenlet, and greenlet is not installed: "
        f"importing sqlalchemy.ext.asyncio fails (\"The SQLAlchemy asyncio module requires that the Python 'greenlet' "
        f"library is installed\"). Install 'sqlalchemy[asyncio]'.",
        imports[0].stmt,
    )


def _imports_asyncio(fact) -> bool:
    if fact.module is not None:
        return (
            fact.module == ASYNCIO
            or fact.module.startswith(ASYNCIO + ".")
            or (
                fact.module == "sqlalchemy.ext" and any(name == "asyncio" for name, _ in fact.names)
            )
        )
    return any(name == ASYNCIO or name.startswith(ASYNCIO + ".") for name, _ in fact.names)


_NO_GREENLET = (("sqlalchemy", "2.1.9"), ("greenlet", None))

RULE = Rule(
    code="ENV056",
    name="greenlet-missing",
    severity=Severity.WARNING,
    summary="env.py uses `sqlalchemy.ext.asyncio` but greenlet is not installed (SQLAlchemy 2.1 no longer pulls it in).",
    docs=Docs(
        what=(
            "When env.py imports `sqlalchemy.ext.asyncio`, reads the SQLAlchemy and greenlet versions installed in "
            "the PROJECT's environment (`--python`, `python` in `[tool.alembic-env-lsp]`, the editor's interpreter, "
            "`$VIRTUAL_ENV`, or a `.venv`/`venv` beside alembic.ini or pyproject.toml) from its package metadata "
            "(nothing is imported or run) and reports a SQLAlchemy 2.1+ without greenlet, naming the version and "
            "the environment. No project environment found: no finding (the checker's own environment, e.g. "
            "pre-commit's, says nothing about the project's)."
        ),
        why=(
            "SQLAlchemy 2.1 lists greenlet only under the `asyncio` extra, where 2.0 installed it by default on the "
            'usual platforms. Without it the import fails: "ImportError: The SQLAlchemy asyncio module requires that '
            "the Python 'greenlet' library is installed.\""
        ),
        example="# requirements.txt\nsqlalchemy>=2.1\nasyncpg",
        instead="# requirements.txt\nsqlalchemy[asyncio]>=2.1\nasyncpg",
        fix_safety="No fix in env.py: install `sqlalchemy[asyncio]` (or greenlet) in the project's environment.",
    ),
    check=check,
    invalid=(
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            environment=_NO_GREENLET,
            span="from sqlalchemy.ext.asyncio import async_engine_from_config",
            message="SQLAlchemy 2.1.9, installed here, no longer installs greenlet",
        ),
    ),
    valid=(
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            note="no project environment found: nothing is judged",
        ),
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            environment=(("sqlalchemy", "2.1.9"), ("greenlet", "3.1.0")),
            note="sqlalchemy[asyncio]: greenlet installed",
        ),
        Example(
            s.env(s.ASYNC_ONLINE, imports=s.ASYNC_IMPORTS),
            environment=(("sqlalchemy", "2.0.41"), ("greenlet", None)),
            note="SQLAlchemy 2.0 (its own requirement; not this rule's business)",
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            environment=_NO_GREENLET,
            note="sync env.py",
        ),
        Example(
            "from typing import TYPE_CHECKING\nfrom alembic import context\n\nif TYPE_CHECKING:\n"
            "    from sqlalchemy.ext.asyncio import AsyncEngine\n",
            environment=_NO_GREENLET,
            note="imports under TYPE_CHECKING never run",
        ),
    ),
)
