import ast

from ..findings import Fix
from ..fixes.edits import add_keyword
from ..model import names as N
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s
from ._common import guarded_before

GET_SECTION = N.CONFIG + ".get_section"


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    by_node = {id(c.node): c for c in facts.calls if c.qname == GET_SECTION}
    reported: set[int] = set()
    for engine in facts.engines:
        # AsyncEngine(engine_from_config(...)): the wrapped factory reads the section
        factory = engine.wrapped or engine.call
        if factory.qname not in N.FROM_CONFIG_FACTORIES:
            continue
        config = factory.arg(0, "configuration")
        if isinstance(config, ast.Call) and id(config) in by_node:
            _maybe_report(ctx, by_node[id(config)], reported)
        elif isinstance(config, ast.Name):
            assignment = factory.scope.last_assignment(config.id, factory.node.lineno)
            if assignment is None or id(assignment.value) not in by_node:
                continue
            if not guarded_before(
                factory.scope, config.id, assignment.stmt.lineno, factory.node.lineno, facts
            ):
                if not any(
                    config.id in {n.id for n in ast.walk(b.test) if isinstance(n, ast.Name)}
                    for b, _ in factory.branches
                ):
                    _maybe_report(ctx, by_node[id(assignment.value)], reported)


def _maybe_report(ctx: RuleContext, call, reported: set[int]) -> None:
    node = call.node
    if len(node.args) != 1 or node.keywords or id(node) in reported:
        return
    reported.add(id(node))
    ctx.report(
        "get_section() returns None when the section is missing (e.g. pyproject-only setups), and "
        "engine_from_config(None) raises \"TypeError: 'NoneType' object is not iterable\"; pass {} as the default "
        "like the templates do.",
        node,
        fixes=[Fix("Pass {} as the default", (add_keyword(ctx.source, node, "{}"),))],
    )


_ONLINE = s.SYNC_ONLINE.replace(
    "config.get_section(config.config_ini_section, {})",
    "config.get_section(config.config_ini_section)",
)

RULE = Rule(
    code="ENV055",
    name="get-section-without-default",
    severity=Severity.INFO,
    summary="`config.get_section(name)` without a default feeds an engine factory; it is None when the section is missing.",
    docs=Docs(
        what=(
            "Finds `config.get_section(x)` with one argument whose result reaches `engine_from_config` / "
            "`async_engine_from_config`, directly or through a variable. `get_section(x, {})`, `get_section(x) or {}` "
            "and a None check before use are fine."
        ),
        why=(
            "With no such section (an ini without [alembic], `alembic -n other`, a pyproject-only setup) "
            "`get_section` returns None and the engine factory fails with \"TypeError: 'NoneType' object is not "
            'iterable", which hides the real problem. With `{}` the error is "KeyError: \'url\'", which ENV012/ENV011 '
            "explain."
        ),
        example='connectable = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.")',
        instead='connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.")',
        fix_safety="Safe: only changes the error raised when the section is missing.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.env(_ONLINE, imports=s.SYNC_IMPORTS),
            span="config.get_section(config.config_ini_section)",
            fixed=s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
        ),
        Example(
            "from alembic import context\nfrom sqlalchemy import engine_from_config\n\nconfig = context.config\n\n\n"
            "def run():\n    section = config.get_section(config.config_ini_section)\n"
            "    section['sqlalchemy.url'] = 'sqlite://'\n"
            "    return engine_from_config(section, prefix='sqlalchemy.')\n",
            span="config.get_section(config.config_ini_section)",
            note="through a variable",
        ),
        Example(
            "from alembic import context\nfrom sqlalchemy import engine_from_config\n"
            "from sqlalchemy.ext.asyncio import AsyncEngine\n\nconfig = context.config\n\n\n"
            "def run():\n    return AsyncEngine(\n"
            "        engine_from_config(config.get_section(config.config_ini_section), prefix='sqlalchemy.')\n"
            "    )\n",
            span="config.get_section(config.config_ini_section)",
            note="inside the legacy AsyncEngine(engine_from_config(...)) wrapper",
        ),
    ),
    valid=(
        Example(s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS)),
        Example(
            "from alembic import context\nfrom sqlalchemy import engine_from_config\n\nconfig = context.config\n\n\n"
            "def run():\n    section = config.get_section(config.config_ini_section) or {}\n"
            "    return engine_from_config(section, prefix='sqlalchemy.')\n",
            note="`or {}`",
        ),
        Example(
            "from alembic import context\nfrom sqlalchemy import engine_from_config\n\nconfig = context.config\n\n\n"
            "def run():\n    section = config.get_section(config.config_ini_section)\n"
            "    if section is None:\n        raise RuntimeError('no [alembic] section')\n"
            "    return engine_from_config(section, prefix='sqlalchemy.')\n",
            note="an explicit None check",
        ),
        Example(
            "from alembic import context\nfrom sqlalchemy import engine_from_config\n\nconfig = context.config\n\n\n"
            "def run():\n    return engine_from_config(\n"
            "        config.get_section(config.config_ini_section, default={}), prefix='sqlalchemy.'\n    )\n",
            note="the default passed by keyword",
        ),
    ),
)
