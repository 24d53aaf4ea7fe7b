from ..findings import Fix
from ..fixes.edits import add_keyword
from ..knowledge import version_tuple
from ..pyenv import judged_environment
from ..rule import Docs, Example, Rule, RuleContext, Severity
from . import _snippets as s
from ._common import online_configures

DEFAULT_SINCE = (1, 12)


def check(ctx: RuleContext) -> None:
    configures = [
        c
        for c in online_configures(ctx.facts)
        if c.keyword("compare_type") is None and not c.has_splat
    ]
    if not configures:
        return
    environment = judged_environment(ctx)
    if environment is None:
        return  # no project environment found: which alembic runs is unknown
    version = environment.version("alembic")
    parsed = version_tuple(version)
    if not parsed or parsed[:2] >= DEFAULT_SINCE:
        return
    for configure in configures:
        ctx.report(
            f"alembic {version} ({environment.where}) does not compare column types by default: autogenerate misses "
            f"type changes. Pass compare_type=True (the default only from alembic 1.12).",
            configure.call.node.func,
            fixes=[
                Fix(
                    "Add compare_type=True",
                    (add_keyword(ctx.source, configure.call.node, "compare_type=True"),),
                )
            ],
        )


_OLD = (("alembic", "1.11.3"),)

RULE = Rule(
    code="ENV035",
    name="compare-type-default",
    severity=Severity.INFO,
    summary="The installed alembic is older than 1.12 and the online `configure()` does not pass `compare_type=True`.",
    docs=Docs(
        what=(
            "Reads the alembic version installed in the PROJECT's environment (found like ENV056 finds it; package "
            "metadata only) and, below 1.12, reports online `context.configure()` calls without `compare_type`. The "
            "message names the version and the environment. No project environment found: no finding."
        ),
        why=(
            "Before alembic 1.12 `compare_type` defaulted to False: `alembic revision --autogenerate` silently "
            "ignores column type changes (VARCHAR(50) -> VARCHAR(200), Integer -> BigInteger)."
        ),
        example="context.configure(connection=connection, target_metadata=target_metadata)",
        instead="context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)",
        fix_safety="Safe: makes autogenerate compare types, as alembic 1.12+ does by default.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            environment=_OLD,
            span="context.configure",
            message="alembic 1.11.3 (installed here)",
            fixed=s.env(
                s.SYNC_ONLINE.replace(
                    "target_metadata=target_metadata)",
                    "target_metadata=target_metadata, compare_type=True)",
                ),
                imports=s.SYNC_IMPORTS,
            ),
        ),
    ),
    valid=(
        Example(s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS), environment=(("alembic", "1.12.0"),)),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            note="no project environment found (the checker's own alembic is not the project's)",
        ),
        Example(
            s.env(
                s.SYNC_ONLINE.replace(
                    "target_metadata=target_metadata)",
                    "target_metadata=target_metadata, compare_type=False)",
                ),
                imports=s.SYNC_IMPORTS,
            ),
            environment=_OLD,
            note="an explicit choice, even False, is left alone",
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            environment=(("alembic", None),),
            note="alembic not installed",
        ),
    ),
)
