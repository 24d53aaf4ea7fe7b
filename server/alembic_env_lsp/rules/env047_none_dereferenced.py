import ast

from ..findings import Fix
from ..fixes.edits import replace_node
from ..model.facts import CallFact, EnvFacts
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ._common import constant_str, guarded_before, maybe_none, names_in


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    for call in facts.calls:
        source = maybe_none(call)
        if source is None:
            continue
        kind, label = source
        parent = call.parent
        if isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is call.node:
            if any(t.handlers for t in call.in_try):
                continue
            _report(ctx, call, kind, label, parent, _member(parent))
            continue
        var = _assigned_name(call)
        if var is None:
            continue
        deref = _first_unguarded_use(facts, call, var)
        if deref is not None:
            _report(ctx, call, kind, label, deref.node, deref.attr or "?", var=var)


def _member(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else "__getitem__"


def _assigned_name(call: CallFact) -> str | None:
    stmt = call.stmt
    if isinstance(stmt, ast.Assign) and stmt.value is call.node and len(stmt.targets) == 1:
        target = stmt.targets[0]
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is call.node:
        target = stmt.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def _first_unguarded_use(facts: EnvFacts, source: CallFact, var: str) -> CallFact | None:
    scope = source.scope
    assigned = source.stmt.lineno
    for use in scope.calls:
        if use.receiver != var or use.node.lineno <= assigned:
            continue
        latest = scope.last_assignment(var, use.node.lineno)
        if latest is None or latest.stmt is not source.stmt:
            continue  # reassigned in between
        if any(var in names_in(branch.test) for branch, _ in use.branches):
            continue
        if any(t.handlers for t in use.in_try):
            continue
        if guarded_before(scope, var, assigned, use.node.lineno, facts):
            continue
        return use
    return None


def _report(
    ctx: RuleContext,
    call: CallFact,
    kind: str,
    label: str,
    node: ast.AST,
    member: str,
    var: str | None = None,
) -> None:
    used = f"'{var}.{member}'" if var else f"'.{member}'"
    if kind == "attributes":
        why = (
            f"{label} is None unless a caller put the value there (the plain `alembic` command line never does), "
            f"so {used} raises AttributeError: 'NoneType' object has no attribute '{member}'. Check for None first."
        )
        severity = Severity.ERROR
    elif kind == "x-argument":
        why = (
            f"{label} is None when `alembic` runs without that -x argument, so {used} raises AttributeError: "
            f"'NoneType' object has no attribute '{member}'. Check for None first."
        )
        severity = Severity.ERROR
    else:
        why = (
            f"{label} is None when the variable is not set, so {used} raises AttributeError: 'NoneType' object has "
            f"no attribute '{member}'. Use os.environ[...] (a clear KeyError) or give a default."
        )
        severity = Severity.WARNING
    fixes = []
    if (
        kind == "environment"
        and var is None
        and len(call.node.args) == 1
        and constant_str(call.node.args[0])
    ):
        os_name = ctx.source.slice(ctx.range(call.node.func)).split(".", 1)[0]
        fixes.append(
            Fix(
                f"Use {os_name}.environ[...]",
                (
                    replace_node(
                        ctx.source,
                        call.node,
                        f"{os_name}.environ[{ctx.source.slice(ctx.range(call.node.args[0]))}]",
                    ),
                ),
                safe=False,
            )
        )
    ctx.report(why, node, severity=severity, fixes=fixes)


_MLFLOW = """from alembic import context

config = context.config


def run_migrations_online():
    connectable = config.attributes.get("connection", None).engine
    with connectable.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
"""

_VAR = """from alembic import context

config = context.config


def run_migrations_online():
    connectable = config.attributes.get("connection")
    with connectable.begin() as connection:
        context.configure(connection=connection)
        context.run_migrations()
"""

RULE = Rule(
    code="ENV047",
    name="none-dereferenced",
    severity=Severity.ERROR,
    summary='`config.attributes.get("connection")` (or another `.get()` that may return None) is used without a None check.',
    docs=Docs(
        what=(
            "Finds the results of `config.attributes.get(...)`, `context.get_x_argument(as_dictionary=True).get(...)` "
            "and `os.getenv(...)`/`os.environ.get(...)` without a default that are used (`.attr`, `[...]`, a method call) "
            "with no None check in between (`if x is None: ...`, `if x:`, `assert x`)."
        ),
        why=(
            "Under the plain `alembic` command line `config.attributes` is empty and no -x argument is given: the "
            "value is None and env.py dies with \"AttributeError: 'NoneType' object has no attribute ...\" before "
            "migrating. Programmatic callers that do set it hide the bug in tests."
        ),
        example='connectable = config.attributes.get("connection", None).engine',
        instead=(
            'connectable = config.attributes.get("connection", None)\nif connectable is None:\n'
            '    connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.")'
        ),
        fix_safety='Unsafe (environment variables only): `os.getenv("X").attr` becomes `os.environ["X"].attr`, which fails with KeyError when unset.',
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            _MLFLOW,
            span='config.attributes.get("connection", None).engine',
            message="(the plain `alembic` command line never does)",
        ),
        Example(_VAR, span="connectable.begin()", note="assigned, then used without a check"),
        Example(
            "import os\nfrom alembic import context\n\nurl = os.getenv('DATABASE_URL').replace('postgres://', 'postgresql://')\n",
            severity=Severity.WARNING,
            span="os.getenv('DATABASE_URL').replace",
            fixed="import os\nfrom alembic import context\n\nurl = os.environ['DATABASE_URL'].replace('postgres://', 'postgresql://')\n",
        ),
        Example(
            "from alembic import context\n\nurl = context.get_x_argument(as_dictionary=True).get('url').strip()\n",
            note="-x arguments are absent on a plain command line",
        ),
    ),
    valid=(
        Example(
            _VAR.replace(
                '    connectable = config.attributes.get("connection")\n',
                '    connectable = config.attributes.get("connection")\n    if connectable is None:\n        raise SystemExit("no connection")\n',
            ),
            note="early exit on None",
        ),
        Example(
            _VAR.replace(
                "    with connectable.begin() as connection:",
                "    if connectable is not None:\n      with connectable.begin() as connection:",
            ),
            note="used inside an if that tests it",
        ),
        Example(
            _VAR.replace('get("connection")', 'get("connection", engine)'),
            note="a non-None default",
        ),
        Example(
            _VAR.replace(
                'config.attributes.get("connection")',
                'config.attributes.get("connection") or create_engine("sqlite://")',
            ),
            note="`or` supplies a value",
        ),
        Example(
            "import os\nfrom alembic import context\n\nurl = os.getenv('DATABASE_URL', 'sqlite://').replace('a', 'b')\n",
            note="a default",
        ),
    ),
)
