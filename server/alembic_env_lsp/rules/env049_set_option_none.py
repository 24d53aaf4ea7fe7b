import ast

from ..findings import Fix
from ..fixes.edits import replace_node
from ..model import names as N
from ..model.facts import CallFact
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ._common import constant_str, guarded_before, maybe_none, names_in


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    by_node = {id(c.node): c for c in facts.calls}
    for call in facts.calls:
        if call.qname == N.CONFIG + ".set_main_option":
            index = 1
        elif call.qname == N.CONFIG + ".set_section_option":
            index = 2
        else:
            continue
        if len(call.node.args) <= index:
            continue
        value = call.node.args[index]
        source = None
        if isinstance(value, ast.Call):
            source = by_node.get(id(value))
        elif isinstance(value, ast.Name):
            assignment = call.scope.last_assignment(value.id, call.node.lineno)
            if assignment is not None and isinstance(assignment.value, ast.Call):
                candidate = by_node.get(id(assignment.value))
                if candidate is not None and not _guarded(ctx, call, value.id, candidate):
                    source = candidate
        if source is None:
            continue
        found = maybe_none(source)
        if found is None:
            continue
        kind, label = found
        when = {
            "attributes": "unless a caller put it in config.attributes",
            "x-argument": "when alembic runs without that -x argument",
            "environment": "when the variable is not set",
        }[kind]
        fixes = []
        if (
            kind == "environment"
            and source.node is value
            and len(value.args) == 1
            and constant_str(value.args[0])
        ):
            os_name = ctx.source.slice(ctx.range(value.func)).split(".", 1)[0]
            key = ctx.source.slice(ctx.range(value.args[0]))
            fixes.append(
                Fix(
                    f"Use {os_name}.environ[{key}]",
                    (replace_node(ctx.source, value, f"{os_name}.environ[{key}]"),),
                    safe=False,
                )
            )
        ctx.report(
            f"Config.{call.attr}() needs a string, but {label} is None {when}: ConfigParser raises "
            f'"TypeError: option values must be strings".',
            value,
            fixes=fixes,
        )


def _guarded(ctx: RuleContext, call: CallFact, var: str, source: CallFact) -> bool:
    if any(var in names_in(branch.test) for branch, _ in call.branches):
        return True
    return guarded_before(call.scope, var, source.node.lineno, call.node.lineno, ctx.facts)


RULE = Rule(
    code="ENV049",
    name="set-option-none",
    severity=Severity.ERROR,
    summary='`config.set_main_option()` gets a value that may be None (`os.getenv("X")` without a default).',
    docs=Docs(
        what=(
            "Finds `set_main_option`/`set_section_option` values that are `os.getenv(...)`/`os.environ.get(...)` "
            "without a default, `config.attributes.get(...)` or `get_x_argument(as_dictionary=True).get(...)` "
            "(directly or through a variable not checked for None)."
        ),
        why=(
            "Alembic's Config stores options in a ConfigParser, which rejects anything but strings: when the "
            'variable is unset every command fails with "TypeError: option values must be strings" instead of '
            "saying which variable is missing."
        ),
        example='config.set_main_option("sqlalchemy.url", os.getenv("DATABASE_URL"))',
        instead='config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"].replace("%", "%%"))',
        fix_safety='Unsafe: `os.environ["X"]` fails with KeyError naming the variable when it is unset, which is the point.',
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "import os\nfrom alembic import context\n\nconfig = context.config\n"
            "config.set_main_option('sqlalchemy.url', os.getenv('DATABASE_URL'))\n",
            span="os.getenv('DATABASE_URL')",
            message="TypeError: option values must be strings",
            fixed="import os\nfrom alembic import context\n\nconfig = context.config\n"
            "config.set_main_option('sqlalchemy.url', os.environ['DATABASE_URL'])\n",
        ),
        Example(
            "import os\nfrom alembic import context\n\nconfig = context.config\nurl = os.environ.get('DATABASE_URL')\n"
            "config.set_main_option('sqlalchemy.url', url)\n",
            span="url",
            note="through a variable",
        ),
    ),
    valid=(
        Example(
            "import os\nfrom alembic import context\n\nconfig = context.config\n"
            "config.set_main_option('sqlalchemy.url', os.getenv('DATABASE_URL', 'sqlite:///app.db'))\n",
            note="a default",
        ),
        Example(
            "import os\nfrom alembic import context\n\nconfig = context.config\nurl = os.getenv('DATABASE_URL')\n"
            "if url:\n    config.set_main_option('sqlalchemy.url', url)\n",
            note="checked first",
        ),
        Example(
            "import os\nfrom alembic import context\n\nconfig = context.config\nurl = os.getenv('DATABASE_URL')\n"
            "if url is None:\n    raise RuntimeError('DATABASE_URL is not set')\n"
            "config.set_main_option('sqlalchemy.url', url)\n",
            note="early exit",
        ),
    ),
)
