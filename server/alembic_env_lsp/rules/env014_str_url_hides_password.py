import ast

from ..findings import Fix
from ..fixes.edits import replace_node
from ..model import names as N
from ..model.facts import Kind
from ..model.qualify import qualified_name
from ..rule import Docs, Example, Rule, RuleContext, Severity
from ._common import text_of

_SINKS = (
    N.SYNC_FACTORIES
    | N.ASYNC_FACTORIES
    | {
        N.CONFIG + ".set_main_option",
        N.CONFIG + ".set_section_option",
        "alembic.context.configure",
    }
)


def is_sqlalchemy_url(expr: ast.expr, scope) -> bool:
    if isinstance(expr, ast.Name):
        binding = scope.kind_at(expr)
        return binding is not None and binding.kind is Kind.URL
    if isinstance(expr, ast.Attribute) and expr.attr == "url" and isinstance(expr.value, ast.Name):
        binding = scope.kind_at(expr.value)
        return binding is not None and binding.kind in (Kind.ENGINE, Kind.ASYNC_ENGINE)
    if isinstance(expr, ast.Call):
        if qualified_name(expr.func, scope) in N.URL_BUILDERS:
            return True
        if isinstance(expr.func, ast.Attribute) and expr.func.attr == "set":
            return is_sqlalchemy_url(expr.func.value, scope)
    return False


def check(ctx: RuleContext) -> None:
    by_func = {id(c.node.func): c for c in ctx.facts.calls}
    for call in ctx.facts.calls:
        node = call.node
        if not (isinstance(node.func, ast.Name) and node.func.id == "str" and call.qname is None):
            continue
        if len(node.args) != 1 or not is_sqlalchemy_url(node.args[0], call.scope):
            continue
        if not _flows_into_sink(call, by_func):
            continue
        receiver = text_of(ctx, node.args[0])
        new = f"{receiver}.render_as_string(hide_password=False)"
        if isinstance(call.parent, ast.Call) and qualified_name(call.parent.func, call.scope) in (
            N.CONFIG + ".set_main_option",
            N.CONFIG + ".set_section_option",
        ):
            new += '.replace("%", "%%")'
        ctx.report(
            "str(URL) renders the password as '***' in SQLAlchemy 2.x, so the connection fails with "
            '"password authentication failed"; use .render_as_string(hide_password=False).',
            node,
            fixes=[
                Fix(
                    "Use render_as_string(hide_password=False)",
                    (replace_node(ctx.source, node, new),),
                )
            ],
        )


def _flows_into_sink(call, by_func, depth: int = 0) -> bool:
    parent = call.parent
    if isinstance(parent, ast.Attribute) and parent.attr == "replace" and depth < 4:
        outer = by_func.get(id(parent))  # str(url).replace("%", "%%") is still the URL
        return outer is not None and _flows_into_sink(outer, by_func, depth + 1)
    if isinstance(parent, ast.Call):
        return qualified_name(parent.func, call.scope) in _SINKS
    if isinstance(parent, ast.keyword):
        return True
    return isinstance(call.stmt, ast.Assign) and call.stmt.value is call.node


RULE = Rule(
    code="ENV014",
    name="str-url-hides-password",
    severity=Severity.ERROR,
    summary="`str()` of a SQLAlchemy URL is used as a URL, but it renders the password as `***`.",
    docs=Docs(
        what=(
            "Finds `str(engine.url)`, `str(make_url(...))` and `str(URL.create(...))` whose result is used as a "
            "database URL (set_main_option, an engine factory, `configure(url=...)`, or a variable)."
        ),
        why=(
            "Since SQLAlchemy 1.4/2.0, `str(url)` hides the password (`postgresql://app:***@db/app`). The "
            'migration then fails with `password authentication failed for user "app"`. Pydantic DSNs '
            "(`str(settings.DATABASE_URL)`) keep the password and are not reported."
        ),
        example='config.set_main_option("sqlalchemy.url", str(engine.url))',
        instead='config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))',
        fix_safety="Safe: the value is the full URL that was intended.",
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            "from sqlalchemy import create_engine\nfrom alembic import context\nconfig = context.config\n"
            "engine = create_engine('sqlite:///a.db')\n"
            "config.set_main_option('sqlalchemy.url', str(engine.url))\n",
            span="str(engine.url)",
            fixed="from sqlalchemy import create_engine\nfrom alembic import context\nconfig = context.config\n"
            "engine = create_engine('sqlite:///a.db')\n"
            'config.set_main_option(\'sqlalchemy.url\', engine.url.render_as_string(hide_password=False).replace("%", "%%"))\n',
        ),
        Example(
            "from sqlalchemy.engine import make_url\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
            "url = make_url('postgresql+asyncpg://u:p@h/db')\nengine = create_async_engine(str(url))\n",
            span="str(url)",
        ),
    ),
    valid=(
        Example(
            "from alembic import context\nfrom app.settings import settings\nconfig = context.config\n"
            "config.set_main_option('sqlalchemy.url', str(settings.SQLALCHEMY_DATABASE_URI))\n",
            note="a pydantic DSN keeps its password",
        ),
        Example(
            "from sqlalchemy.engine import make_url\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
            "url = make_url('postgresql+asyncpg://u:p@h/db')\nengine = create_async_engine(url)\n",
            note="passing the URL object keeps the password",
        ),
        Example(
            "import logging\nfrom sqlalchemy import create_engine\n"
            "engine = create_engine('sqlite:///a.db')\nlogging.info('using %s', str(engine.url))\n",
            note="hiding the password in a log line is the point",
        ),
    ),
)
