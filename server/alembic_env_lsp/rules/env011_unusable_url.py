import ast
import re

from ..findings import Finding, Fix, Severity
from ..fixes.edits import ensure_module_import, import_insertion_line, insert_lines_after
from ..fixes.url import scheme_fix
from ..knowledge import url_parse_error
from ..model import names as N
from ..model.facts import Confidence, UrlValue
from ..model.qualify import qualified_name
from ..rule import Docs, Example, Rule, RuleContext
from ..text import Position, Range, TextEdit
from . import _snippets as s
from ._common import PERCENT_TOKENS, config_name, constant_str, stray_percent, workspace_view

PLACEHOLDER_SCHEME = "driver"
_ENV_VAR = re.compile(r"^\s*\$\{(\w+)\}\s*$")
_INTERPOLATION_KEY = re.compile(r"%\(([^)]*)\)s")


def check(ctx: RuleContext) -> None:
    facts = ctx.facts
    sites: list[tuple[UrlValue, ast.AST]] = []
    for engine in facts.engines:
        anchor: ast.AST = engine.url.literal or engine.url_node or engine.call.node.func
        sites.append((engine.url, anchor))
    for configure in facts.configures:
        url_node = configure.keyword("url")
        if configure.url is not None and url_node is not None:
            sites.append((configure.url, url_node))
    twins_done: set[tuple[str, int]] = set()
    for url, anchor in sites:
        problem = _problem(ctx, url)
        if problem is None:
            continue
        message, severity, fixes = problem
        related: tuple[Finding, ...] = ()
        if url.ini_value is not None and url.ini_path:
            key = (url.ini_path, url.ini_value.line)
            if key not in twins_done:
                twins_done.add(key)
                related = (
                    Finding(
                        RULE.code,
                        message,
                        severity,
                        url.ini_value.value_range,
                        path=url.ini_path,
                        fixes=tuple(fixes),
                    ),
                )
        ctx.report(message, anchor, severity=severity, fixes=fixes, related=related)


def _problem(ctx: RuleContext, url: UrlValue) -> tuple[str, Severity, list[Fix]] | None:
    ini = url.ini_value
    where = f" ({url.origin})" if ini is not None else ""
    if ini is not None and ini.error:
        return _interpolation_problem(ctx, url, where)
    text = url.text
    if text is None:
        return None
    stripped = text.strip()
    if ini is not None and not stripped:
        return (
            f'sqlalchemy.url is empty{where}: online "Could not parse SQLAlchemy URL from given URL string", '
            f'offline "Connection, url, or dialect_name is required."',
            Severity.ERROR,
            [],
        )
    scheme = url.scheme
    if scheme == PLACEHOLDER_SCHEME:
        return (
            f"Placeholder URL 'driver://...' from 'alembic init' is still configured{where}; alembic will fail with "
            f'"Can\'t load plugin: sqlalchemy.dialects:driver" until it names your database.',
            Severity.INFO,
            [],
        )
    severity = ctx.severity_for(url, Severity.ERROR)
    if severity is None:
        return None
    if scheme == "postgres" or (scheme or "").startswith("postgres+"):
        new = "postgresql" + scheme[len("postgres") :]  # type: ignore[index]
        fix = scheme_fix(ctx.source, url, new, f"Use '{new}://'", safe=True)
        return (
            f"'{scheme}://' is not a SQLAlchemy dialect name (\"Can't load plugin: sqlalchemy.dialects:postgres\"){where}; "
            f"use 'postgresql://' (or 'postgresql+asyncpg://').",
            severity,
            [fix] if fix else [],
        )
    if "${" in stripped:
        match = _ENV_VAR.match(stripped)
        fixes = _env_var_fix(ctx, match.group(1)) if match and ini is not None else []
        return (
            f"configparser does not expand environment variables: '{_placeholder(stripped)}' is passed literally"
            f'{where} ("Could not parse SQLAlchemy URL from given URL string"). Read it in env.py instead.',
            severity,
            fixes,
        )
    if scheme is None and stripped and (ini is not None or url.confidence >= Confidence.LITERAL):
        error = url_parse_error(stripped)
        if error is None:
            return None
        return (f"This is not a SQLAlchemy URL{where}: {error}.", severity, [])
    return None


def _placeholder(text: str) -> str:
    found = re.search(r"\$\{[^}]*\}", text)
    return found.group(0) if found else "${...}"


def _interpolation_problem(
    ctx: RuleContext, url: UrlValue, where: str
) -> tuple[str, Severity, list[Fix]] | None:
    ini = url.ini_value
    if ini is None:
        return None
    error = ini.error or ""
    if "InterpolationMissingOptionError" in error:
        view = workspace_view(ctx)
        if view is not None and view.passes_config_args():
            return None  # the project supplies extra defaults through Config(config_args=...)
        keys = [k for k in _INTERPOLATION_KEY.findall(ini.raw) if k.lower() != "here"]
        supplied = _keys_set_in_env(ctx, ini.section)
        if keys and all(k.lower() in supplied for k in keys):
            return None  # env.py sets them before the URL is read (set_section_option)
        key = next((k for k in keys if k.lower() not in supplied), "?")
        return (
            f"sqlalchemy.url uses '%({key})s'{where}, which is neither an option of [{ini.section}] nor of [DEFAULT] "
            f"(configparser: InterpolationMissingOptionError); Alembic only supplies %(here)s and does not read "
            f"environment variables.",
            Severity.ERROR,
            [],
        )
    if "InterpolationSyntaxError" in error and stray_percent(ini.raw) and url.ini_path:
        # value_range is the option's own line: a value continued on more lines is left alone
        first_line = ini.raw.split("\n", 1)[0]
        escaped = PERCENT_TOKENS.sub(lambda m: "%%" if m.group() == "%" else m.group(), first_line)
        fix = Fix(
            "Escape '%' as '%%' in the ini",
            (TextEdit(ini.value_range, escaped, path=url.ini_path),),
        )
        return (
            f"A '%' in sqlalchemy.url must be written '%%' in an ini file{where} (configparser: "
            f"InterpolationSyntaxError: '%' must be followed by '%' or '(').",
            Severity.ERROR,
            [fix],
        )
    return None


def _keys_set_in_env(ctx: RuleContext, section: str) -> set[str]:
    """Options env.py sets in the URL's section: `config.set_section_option(section, k, v)`,
    `config.set_main_option(k, v)` (configparser keys are case-insensitive)."""
    facts = ctx.facts
    main = getattr(ctx.project, "main_section", "alembic") or "alembic"
    keys: set[str] = set()
    for call in facts.calls_named(N.CONFIG + ".set_section_option", N.CONFIG + ".set_main_option"):
        args = call.node.args
        if call.qname == N.CONFIG + ".set_main_option":
            target, key = main, constant_str(args[0]) if args else None
        elif len(args) >= 2:
            section_expr = args[0]
            if isinstance(section_expr, ast.Name):  # section = config.config_ini_section
                bound = call.scope.last_assignment(section_expr.id, call.node.lineno)
                section_expr = bound.value if bound is not None else section_expr
            target = constant_str(section_expr)
            if qualified_name(section_expr, call.scope) == N.CONFIG + ".config_ini_section":
                target = main
            key = constant_str(args[1])
        else:
            continue
        if key and target == section:
            keys.add(key.lower())
    return keys


def _env_var_fix(ctx: RuleContext, var: str) -> list[Fix]:
    facts = ctx.facts
    os_name, imports = ensure_module_import(facts, ctx.source, "os")
    line = f'{config_name(facts)}.set_main_option("sqlalchemy.url", {os_name}.environ["{var}"].replace("%", "%%"))'
    anchor = None
    for stmt in facts.tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id in facts.config_names
        ):
            anchor = stmt
            break
    if anchor is not None:
        edit = insert_lines_after(ctx.source, anchor, [line], "")
    else:
        position = Position(import_insertion_line(facts), 0)
        edit = TextEdit(Range(position, position), line + ctx.source.line_ending())
    return [Fix(f"Read sqlalchemy.url from ${{{var}}} in env.py", (*imports, edit), safe=False)]


RULE = Rule(
    code="ENV011",
    name="unusable-url",
    severity=Severity.ERROR,
    summary="The URL env.py reads can never work: `driver://` placeholder, `postgres://`, `${VAR}`, bad `%` interpolation, empty.",
    docs=Docs(
        what=(
            "Checks the URL each engine and the offline `configure(url=...)` resolve to, in alembic.ini or a literal "
            "in env.py: the `driver://` placeholder of `alembic init` (info), the `postgres://` scheme, `${VAR}` "
            "(configparser does not expand it), `%(NAME)s` naming no ini option, a stray `%`, an empty value, and "
            "strings SQLAlchemy cannot parse. Shown on the ini line and on the env.py line that reads it. The ini "
            "value is checked only when env.py actually reads it."
        ),
        why=(
            "Each of these fails every command before a connection is made: \"Can't load plugin: "
            'sqlalchemy.dialects:postgres", "Could not parse SQLAlchemy URL from given URL string", '
            "\"InterpolationMissingOptionError\", \"'%' must be followed by '%' or '('\"."
        ),
        example="# alembic.ini\nsqlalchemy.url = postgres://app@db/app",
        instead="# alembic.ini\nsqlalchemy.url = postgresql://app@db/app",
        fix_safety=(
            "Safe: `postgres://` becomes `postgresql://`; a stray `%` in the ini is doubled. Unsafe: for `${VAR}` "
            'env.py gets `config.set_main_option("sqlalchemy.url", os.environ["VAR"].replace("%", "%%"))`.'
        ),
    ),
    check=check,
    fixable=True,
    invalid=(
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=s.ini("postgres://app:secret@db/app"),
            span='config.get_main_option("sqlalchemy.url")',
            message="'postgres://' is not a SQLAlchemy dialect name",
            also=(
                (
                    "config.get_section(config.config_ini_section, {})",
                    "'postgres://' is not a SQLAlchemy dialect name",
                ),
            ),
            fixed_ini=s.ini("postgresql://app:secret@db/app"),
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=s.ini("${DATABASE_URL}"),
            message="configparser does not expand environment variables: '${DATABASE_URL}'",
            also=(
                (
                    "config.get_section(config.config_ini_section, {})",
                    "configparser does not expand environment variables: '${DATABASE_URL}'",
                ),
            ),
            fixed=s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS)
            .replace("from alembic import context\n", "from alembic import context\nimport os\n")
            .replace(
                "config = context.config\n",
                'config = context.config\nconfig.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"].replace("%", "%%"))\n',
            ),
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=s.ini("%(DATABASE_URL)s"),
            message="sqlalchemy.url uses '%(DATABASE_URL)s'",
            also=(
                (
                    "config.get_section(config.config_ini_section, {})",
                    "sqlalchemy.url uses '%(DATABASE_URL)s'",
                ),
            ),
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=s.ini("postgresql://app:p%40ss@db/app"),
            message="must be written '%%'",
            also=(("config.get_section(config.config_ini_section, {})", "must be written '%%'"),),
            fixed_ini=s.ini("postgresql://app:p%%40ss@db/app"),
            note="URL-encoded password in the ini",
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=s.ini("driver://user:pass@localhost/dbname"),
            severity=Severity.INFO,
            message="Placeholder URL 'driver://...'",
            also=(
                (
                    "config.get_section(config.config_ini_section, {})",
                    "Placeholder URL 'driver://...'",
                ),
            ),
            note="the fresh `alembic init` state: info only",
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=s.ini(""),
            message="sqlalchemy.url is empty",
            also=(
                ("config.get_section(config.config_ini_section, {})", "sqlalchemy.url is empty"),
            ),
        ),
        Example(
            "from sqlalchemy import create_engine\nengine = create_engine('postgres://u@h/db')\n",
            span="'postgres://u@h/db'",
            fixed="from sqlalchemy import create_engine\nengine = create_engine('postgresql://u@h/db')\n",
            note="a literal in env.py",
        ),
    ),
    valid=(
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=s.ini("postgresql+psycopg2://app@db/app"),
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini="[DEFAULT]\ndb_host = localhost\n\n" + s.ini("postgresql://app@%(db_host)s/app"),
            note="%(name)s naming a [DEFAULT] option",
        ),
        Example(
            s.env(
                s.SYNC_ONLINE,
                imports="import os\n" + s.SYNC_IMPORTS,
                header=s.HEADER
                + 'config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"].replace("%", "%%"))\n',
            ),
            ini=s.ini("driver://user:pass@localhost/dbname"),
            note="env.py overrides the ini value: the placeholder is never read",
        ),
        Example(
            s.env(s.SYNC_ONLINE, imports=s.SYNC_IMPORTS),
            ini=s.ini("postgresql://app:p%%40ss@db/app"),
            note="escaped %%",
        ),
        Example(
            "import os\nfrom sqlalchemy import create_engine\nengine = create_engine(os.getenv('DATABASE_URL', ''))\n",
            note="an empty default of an environment variable is not the configured URL",
        ),
    ),
)
