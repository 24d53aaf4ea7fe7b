from ..rule import Docs, Rule, RuleContext, Severity


def check(ctx: RuleContext) -> None:
    """Reported by the engine itself when the file does not parse (no tree to check)."""


RULE = Rule(
    code="ENV000",
    name="syntax-error",
    severity=Severity.ERROR,
    summary="env.py does not parse; nothing else can be checked until it does.",
    docs=Docs(
        what="Reports Python's own syntax error message at the position it gives.",
        why="Alembic imports env.py to run it; a syntax error stops every command.",
        example="def run_migrations_online(:",
        instead="def run_migrations_online():",
        fix_safety="No automatic fix.",
    ),
    check=check,
)
