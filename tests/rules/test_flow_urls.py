"""URL values path by path: every `return` of a helper, every getter's unset case, each
with the conditions of its path (fixtures in tests/fixtures/flow/)."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.model.alternatives import group_alternatives, same_value, simplify
from alembic_env_lsp.model.facts import Condition, Confidence, EnvSet, Raised
from alembic_env_lsp.project import ProjectIndex

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "flow"


def analysis_of(name: str, tmp_path: Path):
    shutil.copytree(FIXTURES / name, tmp_path / name)
    env_path = tmp_path / name / "env.py"
    project = ProjectIndex().context_for(env_path)
    analysis = analyze(env_path.read_text(encoding="utf-8"), str(env_path), project=project)
    assert not analysis.internal_errors, analysis.internal_errors
    return analysis


def paths(analysis, value):
    """Each alternative as (text, origin, None-ness, condition texts)."""
    return [
        (a.text, a.origin, a.none, [c.text(analysis.source) for c in a.conditions])
        for a in value.alternatives
    ]


NOT_SET = 'not (os.getenv("INVENTORY_DB"))'
NOT_PYTEST = 'not ("pytest" in sys.modules)'
INI_URL = "postgresql+asyncpg://inventory@db/inventory"
HELPER_PATHS = [
    # `if os.getenv("INVENTORY_DB"): return os.getenv("INVENTORY_DB")`: never None there
    (None, "environment variable INVENTORY_DB", False, ['os.getenv("INVENTORY_DB")']),
    ("sqlite:///", "f-string in env.py", False, [NOT_SET, '"pytest" in sys.modules']),
    (
        None,
        "settings.DATABASE_URL",
        False,
        [NOT_SET, NOT_PYTEST, "the `try` at line 23 raised nothing"],
    ),
    (
        INI_URL,
        "alembic.ini [alembic] sqlalchemy.url (line 3)",
        False,
        [NOT_SET, NOT_PYTEST, "the `try` at line 23 raised AttributeError"],
    ),
]


def test_every_return_of_a_helper_is_a_value_with_the_conditions_of_its_path(tmp_path):
    # early returns, an if, a try/except, a settings attribute: the engine's URL used to be the
    # first return the evaluator could read (the f-string), as if it were the only one
    analysis = analysis_of("url_from_helper_returns", tmp_path)
    [engine] = analysis.facts.engines
    assert (engine.url.text, engine.url.confidence) == ("sqlite:///", Confidence.DEFAULT)
    assert paths(analysis, engine.url) == HELPER_PATHS
    # `url = database_url()` then `context.configure(url=url)`: the same four paths
    [offline] = [c for c in analysis.facts.configures if c.mode == "offline"]
    assert offline.url is not None and paths(analysis, offline.url) == HELPER_PATHS
    # a condition-free value would read as "on every run": each one has its path
    assert all(a.conditions for a in engine.url.alternatives)


def test_nested_helpers_a_loop_and_a_narrowed_none(tmp_path):
    # driver_url() -> reports_url() -> dsn_from_environment(); the loop's `return None` is
    # dropped where `if dsn is not None:` holds; `.replace()` applies to the path it is on
    analysis = analysis_of("url_from_nested_helpers", tmp_path)
    [engine] = analysis.facts.engines
    is_async = 'os.environ.get("REPORTS_ASYNC") == "1"'
    variable = "an environment variable named at run time"
    ini = "alembic.ini [alembic] sqlalchemy.url (line 3)"
    assert paths(analysis, engine.url) == [
        (None, variable, False, [is_async, "dsn is not None"]),
        (
            "postgresql+asyncpg://reports@db/reports",
            ini,
            False,
            [is_async, "not (dsn is not None)"],
        ),
        (None, variable, False, [f"not ({is_async})", "dsn is not None"]),
        (
            "postgresql://reports@db/reports",
            ini,
            False,
            [f"not ({is_async})", "not (dsn is not None)"],
        ),
    ]
    replaced = [a.replaced for a in engine.url.alternatives]
    assert replaced[1] == (("postgresql://", "postgresql+asyncpg://"),)
    assert replaced[3] == ()
    # the loop's helper on its own: the value found in an iteration, or None after the loop
    facts = analysis.facts
    [call] = [c for c in facts.calls if c.attr is None and c.node.func.id == "dsn_from_environment"]
    value = facts.evaluate_url(call.node, call.scope, call.node.lineno)
    assert paths(analysis, value) == [
        (None, variable, False, ["in an iteration of the `for` loop at line 13", "value"]),
        (None, "None (line 17)", True, []),
    ]


def helper_value(analysis, name: str):
    """What `name()` evaluates to, as the URL evaluator reads a call of that helper."""
    facts = analysis.facts
    call = ast.Call(func=ast.Name(name, ast.Load()), args=[], keywords=[])
    return facts.evaluate_url(call, facts.module, len(analysis.source.text.splitlines()))


@pytest.mark.parametrize(
    "helper",
    ["raises_when_missing", "asserts_it", "exits_when_none", "required", "run_migrations_online"],
)
def test_a_name_checked_before_use_has_no_none_value(tmp_path, helper):
    # `if not url: raise`, `assert url`, `if url is None: sys.exit()`, `os.environ["X"]`, and
    # `if not url: return` before create_engine(url): the getter's None is not a path any more
    analysis = analysis_of("url_checked_before_use", tmp_path)
    if helper == "run_migrations_online":
        [engine] = analysis.facts.engines
        value = engine.url
    else:
        value = helper_value(analysis, helper)
    assert (value.text, value.origin, value.none, value.alternatives) == (
        None,
        "environment variable ORDERS_DB",
        False,
        (),
    )


def test_an_unchecked_getter_keeps_its_none_value(tmp_path):
    analysis = analysis_of("url_checked_before_use", tmp_path)
    assert paths(analysis, helper_value(analysis, "unchecked")) == [
        (None, "environment variable ORDERS_DB", False, ["ORDERS_DB is set"]),
        (None, "None: environment variable ORDERS_DB is not set", True, ["ORDERS_DB is not set"]),
    ]
    # the ini value checked by `if not url: raise` is the ini value alone
    value = helper_value(analysis, "ini_checked")
    assert (value.text, value.alternatives) == ("postgresql://orders@db/orders", ())


def test_os_environ_subscript_is_never_none_at_its_reads(tmp_path):
    analysis = analysis_of("url_checked_before_use", tmp_path)
    required = analysis.facts.function("required")
    assert required is not None
    [returned] = required.returns
    assert isinstance(returned, ast.Name)
    assert [r.none for r in required.possible_bindings(returned)] == [False]
    unchecked = analysis.facts.function("raises_when_missing")
    assert unchecked is not None
    [read] = unchecked.returns
    assert isinstance(read, ast.Name)
    # narrowed by `if not url: raise`: the one binding reaching the return is not None
    assert [r.none for r in unchecked.possible_bindings(read)] == [False]


def groups(analysis, value, key=same_value):
    return [
        (len(g.values), g.values[0].text, g.values[0].origin, g.text(analysis.source))
        for g in group_alternatives(value, key)
    ]


def test_paths_through_independent_ifs_group_by_value_with_exact_conditions(tmp_path):
    # `url = A or B`; `if not url: url = literal`; then two independent
    # `if "+x" in url: url = url.replace("+x", "")`: 10 paths, 3 values
    analysis = analysis_of("url_normalised_twice", tmp_path)
    [engine] = analysis.facts.engines
    assert len(engine.url.alternatives) == 10
    assert groups(analysis, engine.url) == [
        (
            2,
            "postgresql://ledger@localhost/ledger",
            "string literal in env.py",
            'not url and "+asyncpg" in url',
        ),
        (
            4,
            None,
            "environment variable LEDGER_DATABASE_URL",
            'os.getenv("LEDGER_DATABASE_URL") and url',
        ),
        (
            4,
            None,
            "environment variable LEDGER_TEST_URL",
            'not (os.getenv("LEDGER_DATABASE_URL")) and LEDGER_TEST_URL is set and url',
        ),
    ]
    # the literal holds "+asyncpg": the path where `"+asyncpg" in url` fails never has it, so
    # the stripped URL is the only literal value and no ENV002 (sync engine, async driver)
    assert [f.code for f in analysis.findings if f.code == "ENV002"] == []
    assert engine.url.text == "postgresql://ledger@localhost/ledger"
    # grouped by an outcome instead (what a hover's driver verdict does): one group per kind
    known = groups(analysis, engine.url, key=lambda v: v.text is not None)
    assert [(n, when) for n, _, _, when in known] == [
        (2, 'not url and "+asyncpg" in url'),
        (8, 'os.getenv("LEDGER_DATABASE_URL") and url, or LEDGER_TEST_URL is set and url'),
    ]


def _condition(test: ast.expr, holds: bool) -> Condition:
    return Condition(test, holds)


def test_simplify_merges_only_exact_complements():
    a, b, c = (ast.parse(name, mode="eval").body for name in ("a", "b", "c"))
    A, B, C = _condition(a, True), _condition(b, True), _condition(c, True)
    not_b = _condition(b, False)
    # A and B, or A and not B: A
    assert simplify([(A, B), (A, not_b)]) == ((A,),)
    # A, or A and C: A
    assert simplify([(A,), (A, C)]) == ((A,),)
    # A and B, or A and not B and C: A and B, or A and C
    assert simplify([(A, B), (A, not_b, C)]) == ((A, B), (A, C))
    # a different node with the same text is not a complement: nothing merges
    other_b = _condition(ast.parse("b", mode="eval").body, False)
    assert simplify([(A, B), (A, other_b)]) == ((A, B), (A, other_b))
    # the same environment variable, read by two getters, is one condition
    first, second = (ast.parse('os.getenv("X")', mode="eval").body for _ in range(2))
    is_set, unset = EnvSet(first, True, "X"), EnvSet(second, False, "X")
    assert simplify([(A, is_set), (A, unset)]) == ((A,),)


def test_a_try_with_two_handlers_is_not_split_in_two():
    tree = ast.parse("try:\n    x()\nexcept KeyError:\n    y()\nexcept ValueError:\n    z()\n")
    node = tree.body[0]
    assert isinstance(node, ast.Try)
    body, first = Raised(node, False), Raised(node, True, node.handlers[0])
    # "raised nothing" or "raised KeyError" is not "always": ValueError is a third way
    assert simplify([(body,), (first,)]) == ((body,), (first,))
    single = ast.parse("try:\n    x()\nexcept Exception:\n    y()\n").body[0]
    assert isinstance(single, ast.Try)
    caught = Raised(single, True, single.handlers[0])
    assert simplify([(Raised(single, False),), (caught,)]) == ((),)


@pytest.mark.parametrize(
    ("template", "arguments", "scheme"),
    [
        (
            '"{scheme}://{user}@{host}/{db}"',
            'scheme="postgresql+asyncpg", user=u, host=h, db=d',
            "postgresql+asyncpg://",
        ),
        ('"{}://{}@{}"', '"mysql+aiomysql", u, h', "mysql+aiomysql://"),
        ('"postgresql+asyncpg://{0}@{1}"', "u, h", "postgresql+asyncpg://"),
        ('"{scheme}://{user}@{host}"', "scheme=kind, user=u, host=h", None),  # computed scheme
        ('"{}/{}"', "a, b", None),
    ],
)
def test_str_format_gives_the_scheme_when_it_is_literal(template, arguments, scheme):
    # a sync engine on "{scheme}://...".format(scheme="postgresql+asyncpg", ...) is ENV002
    text = (
        "import os\nfrom sqlalchemy import create_engine\n\n"
        "u = h = d = a = b = kind = os.getenv('X')\n"
        f"engine = create_engine({template}.format({arguments}))\n"
    )
    analysis = analyze(text, "env.py")
    [engine] = analysis.facts.engines
    assert engine.url.text == scheme
    codes = [f.code for f in analysis.findings if f.code == "ENV002"]
    assert codes == (["ENV002"] if scheme and "+a" in scheme else [])


def test_a_name_rebound_on_many_paths_keeps_a_bounded_list_that_says_so():
    # 30 independent `if`s: 2**30 paths; the list stops at 16 and its last entry says that
    # more were not followed, instead of silently keeping some
    lines = [
        "import os",
        "from sqlalchemy import create_engine",
        "url = os.getenv('A') or 'sqlite://'",
    ]
    for i in range(30):
        lines.append(f"if os.getenv('C{i}'):\n    url = url.replace('x{i}', 'y{i}')")
    lines.append("engine = create_engine(url)")
    analysis = analyze("\n".join(lines) + "\n", "env.py")
    [engine] = analysis.facts.engines
    alternatives = engine.url.alternatives
    assert len(alternatives) == 16
    marker = "more values (not followed)"
    # older paths dropped by the flow (the first), the paths past the cap (the last)
    assert [(a.text, a.origin) for a in (alternatives[0], alternatives[-1])] == [(None, marker)] * 2
    assert all(a.conditions for a in alternatives if a.origin != marker)


def test_returns_in_if_else_match_and_falling_off_the_end():
    text = """import os
from sqlalchemy import create_engine


def by_kind(kind):
    if kind == "pg":
        return "postgresql+psycopg://app@db/app"
    else:
        return "sqlite:///app.db"


def by_match(kind):
    match kind:
        case "mysql":
            return "mysql+pymysql://app@db/app"
        case _:
            pass


def maybe():
    if os.getenv("NO_DB"):
        return
    return os.environ["DB"]


e1 = create_engine(by_kind(os.getenv("KIND")))
e2 = create_engine(by_match(os.getenv("KIND")))
e3 = create_engine(maybe())
"""
    analysis = analyze(text, "env.py")
    assert not analysis.internal_errors
    e1, e2, e3 = analysis.facts.engines
    assert paths(analysis, e1.url) == [
        ("postgresql+psycopg://app@db/app", "string literal in env.py", False, ['kind == "pg"']),
        ("sqlite:///app.db", "string literal in env.py", False, ['not (kind == "pg")']),
    ]
    assert paths(analysis, e2.url) == [
        (
            "mysql+pymysql://app@db/app",
            "string literal in env.py",
            False,
            ['kind matches `"mysql"`'],
        ),
        (None, "None: by_match() ends without a return", True, []),
    ]
    assert paths(analysis, e3.url) == [
        (None, "None returned by maybe() (line 22)", True, ['os.getenv("NO_DB")']),
        (None, "environment variable DB", False, ['not (os.getenv("NO_DB"))']),
    ]


def project_with(tmp_path: Path, env_text: str, url: str = "sqlite:///app.db"):
    (tmp_path / "alembic.ini").write_text(
        f"[alembic]\nscript_location = %(here)s\nsqlalchemy.url = {url}\n", encoding="utf-8"
    )
    env = tmp_path / "env.py"
    env.write_text(env_text, encoding="utf-8")
    project = ProjectIndex().context_for(env)
    analysis = analyze(env_text, str(env), project=project, rules=())
    assert not analysis.internal_errors
    return analysis


HEAD = (
    "import os\nfrom alembic import context\nfrom sqlalchemy import engine_from_config\n\n"
    "from app import settings\n\nconfig = context.config\n"
)
READ = "engine = engine_from_config(config.get_section(config.config_ini_section, {}))\n"


def test_overrides_on_every_branch_hide_the_ini_value(tmp_path):
    # if / elif / else each set sqlalchemy.url: the ini value is never read
    analysis = project_with(
        tmp_path,
        HEAD
        + "url = os.getenv('DATABASE_URL')\n"
        + "if url:\n    config.set_main_option('sqlalchemy.url', url)\n"
        + "elif 'LEGACY_URL' in os.environ:\n"
        + "    config.set_main_option('sqlalchemy.url', os.environ['LEGACY_URL'])\n"
        + "else:\n    config.set_main_option('sqlalchemy.url', 'postgresql+psycopg://app@db/app')\n"
        + READ,
    )
    [engine] = analysis.facts.engines
    assert paths(analysis, engine.url) == [
        (None, "set at line 10 from environment variable DATABASE_URL", False, ["url"]),
        (
            None,
            "set at line 12 from environment variable LEGACY_URL",
            False,
            ["not (url)", "'LEGACY_URL' in os.environ"],
        ),
        (
            "postgresql+psycopg://app@db/app",
            "set at line 14",
            False,
            ["not (url)", "not ('LEGACY_URL' in os.environ)"],
        ),
    ]
    assert engine.url.confidence is Confidence.DEFAULT


def test_a_later_override_wins_and_the_ini_value_is_what_is_left(tmp_path):
    # two independent ifs: the second wins when it runs; the ini value when neither does
    analysis = project_with(
        tmp_path,
        HEAD
        + "if os.getenv('USE_PG'):\n"
        + "    config.set_main_option('sqlalchemy.url', 'postgresql+psycopg://app@db/app')\n"
        + "if settings.TESTING:\n"
        + "    config.set_main_option('sqlalchemy.url', 'sqlite:///test.db')\n"
        + READ,
    )
    [engine] = analysis.facts.engines
    assert paths(analysis, engine.url) == [
        (
            "postgresql+psycopg://app@db/app",
            "set at line 9",
            False,
            ["os.getenv('USE_PG')", "not (settings.TESTING)"],
        ),
        ("sqlite:///test.db", "set at line 11", False, ["settings.TESTING"]),
        ("sqlite:///app.db", "alembic.ini [alembic] sqlalchemy.url (line 3)", False, []),
    ]
    # the main value is the last override's, at most a default: another path gives another URL
    assert (engine.url.text, engine.url.confidence) == ("sqlite:///test.db", Confidence.DEFAULT)
