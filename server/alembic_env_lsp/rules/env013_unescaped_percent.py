import ast
import re

from ..findings import Fix, Severity
from ..fixes.edits import replace_node
from ..model import names as N
from ..rule import Docs, Example, Rule, RuleContext
from ._common import PERCENT_TOKENS, call_on_expr, escapes_percent, stray_percent

_STRAY = re.compile(r"%(?!%|\()")


def check(ctx: RuleContext) -> None:
    for call in ctx.facts.calls:
        if call.qname == N.CONFIG + ".set_main_option":
            index = 1
        elif call.qname == N.CONFIG + ".set_section_option":
            index = 2
        else:
            continue
        if len(call.node.args) <= index:
            continue
        value = call.node.args[index]
        method = call.attr
        if isinstance(value, ast.Constant):
            if isinstance(value.value, str) and stray_percent(value.value):
                written = ctx.source.slice(ctx.range(value))
                escaped = PERCENT_TOKENS.sub(
                    lambda m: "%%" if m.group() == "%" else m.group(), written
                )
                ctx.report(
                    f"'%' in this value breaks Config.{method}(): ConfigParser raises \"ValueError: invalid "
                    f"interpolation syntax\". Write '%%' for a literal '%'.",
                    value,
                    fixes=[Fix("Escape '%' as '%%'", (replace_node(ctx.source, value, escaped),))],
                )
            continue
        if escapes_percent(value, call.scope):
            continue
        new = call_on_expr(ctx, value, 'replace("%", "%%")')
        ctx.report(
            f"Config.{method}() stores values in ConfigParser; a '%' (e.g. from a URL-encoded password) raises "
            f'"ValueError: invalid interpolation syntax". Escape with .replace("%", "%%").',
            value,
            severity=Severity.WARNING,
            fixes=[Fix('Escape with .replace("%", "%%")', (replace_node(ctx.source, value, new),))],
        )


RULE = Rule(
    code="ENV013",
    name="unescaped-percent",
    severity=Severity.ERROR,
    summary="`config.set_main_option()` / `set_section_option()` gets a value whose `%` is not escaped as `%%`.",
    docs=Docs(
        what=(
            "Finds values passed to `set_main_option`/`set_section_option` that are literals with a stray `%` "
            '(error) or computed values not wrapped in `.replace("%", "%%")` (warning).'
        ),
        why=(
            "Alembic's Config is a ConfigParser with `%(name)s` interpolation. URL-encoded passwords (`@` → "
            "`%40`) make `set_main_option` raise `ValueError: invalid interpolation syntax in "
            "'sqlite:///./p%40ss.db' at position 13`."
        ),
        example='config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"])',
        instead='config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"].replace("%", "%%"))',
        fix_safety="Safe: the stored value reads back exactly as the original string.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "import os\nfrom alembic import context\nconfig = context.config\n"
            "config.set_main_option('sqlalchemy.url', os.environ['DATABASE_URL'])\n",
            span="os.environ['DATABASE_URL']",
            severity=Severity.WARNING,
            fixed="import os\nfrom alembic import context\nconfig = context.config\n"
            "config.set_main_option('sqlalchemy.url', os.environ['DATABASE_URL'].replace(\"%\", \"%%\"))\n",
        ),
        Example(
            "from alembic import context\n"
            "context.config.set_main_option('sqlalchemy.url', 'postgresql://u:p%40ss@h/db')\n",
            span="'postgresql://u:p%40ss@h/db'",
            fixed="from alembic import context\n"
            "context.config.set_main_option('sqlalchemy.url', 'postgresql://u:p%%40ss@h/db')\n",
        ),
        Example(
            "from urllib.parse import quote_plus\nfrom alembic import context\nconfig = context.config\n"
            "password = quote_plus('p@ss')\n"
            "config.set_main_option('sqlalchemy.url', f'postgresql://u:{password}@h/db')\n",
            severity=Severity.WARNING,
            note="quote_plus produces '%'",
        ),
    ),
    valid=(
        Example(
            "import os\nfrom alembic import context\nconfig = context.config\n"
            "config.set_main_option('sqlalchemy.url', os.environ['DATABASE_URL'].replace('%', '%%'))\n",
        ),
        Example(
            "from alembic import context\nconfig = context.config\n"
            "config.set_main_option('sqlalchemy.url', 'postgresql://u:p%%40ss@h/db')\n",
            note="escaped %%",
        ),
        Example(
            "import os\nfrom alembic import context\nconfig = context.config\n"
            "def get_url():\n    return os.environ['DATABASE_URL'].replace('%', '%%')\n"
            "config.set_main_option('sqlalchemy.url', get_url())\n",
            note="a local helper that escapes",
        ),
        Example(
            "from alembic import context\nconfig = context.config\n"
            "config.set_main_option('script_location', '%(here)s/migrations')\n",
            note="%(here)s interpolation is intended",
        ),
    ),
)
