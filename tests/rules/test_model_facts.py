"""The facts the rules read: imports, config.attributes keys, names read, offline URLs."""

from alembic_env_lsp.engine import analyze
from alembic_env_lsp.model.facts import Confidence
from alembic_env_lsp.project import ProjectIndex


def facts_of(text, path=None, project=None):
    analysis = analyze(text, path, project=project, rules=())
    assert analysis.facts is not None
    return analysis.facts


def test_imports_are_recorded_with_type_checking_and_relative_levels():
    facts = facts_of(
        "from typing import TYPE_CHECKING\nimport app.models as m\nfrom . import local\n"
        "if TYPE_CHECKING:\n    from app.db import Engine\n\ndef f():\n    from app import late\n"
    )
    rows = [(i.module, i.names, i.level, i.type_checking, i.scope.name) for i in facts.imports]
    assert rows == [
        ("typing", (("TYPE_CHECKING", None),), 0, False, "<module>"),
        (None, (("app.models", "m"),), 0, False, "<module>"),
        ("", (("local", None),), 1, False, "<module>"),
        ("app.db", (("Engine", None),), 0, True, "<module>"),
        ("app", (("late", None),), 0, False, "f"),
    ]


def test_attribute_keys_from_get_and_subscript():
    facts = facts_of(
        "from alembic import context\nconfig = context.config\n"
        "a = config.attributes.get('connection', None)\nb = context.config.attributes['tenant']\n"
        "c = config.attributes.get(KEY)\n"
    )
    assert facts.attribute_keys == {"connection", "tenant"}


def test_loaded_names_include_calls_and_arguments_but_not_stores():
    facts = facts_of("def f():\n    pass\n\ndef g():\n    pass\n\nx = 1\nrun(f)\n")
    assert {"run", "f"} <= facts.loaded_names
    assert "g" not in facts.loaded_names and "x" not in facts.loaded_names


def test_offline_configure_url_is_resolved_with_ini_key(tmp_path):
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s\nsqlalchemy.url = sqlite:///a.db\n"
    )
    env = tmp_path / "env.py"
    text = "from alembic import context\nconfig = context.config\ncontext.configure(url=config.get_main_option('sqlalchemy.url'))\n"
    env.write_text(text)
    facts = facts_of(text, str(env), ProjectIndex().context_for(env))
    [configure] = facts.configures
    assert configure.mode == "offline"
    assert configure.url.text == "sqlite:///a.db"
    assert configure.url.confidence is Confidence.LITERAL
    assert configure.url.ini_key == ("alembic", "sqlalchemy.url")


def test_ini_key_is_set_when_the_option_is_missing(tmp_path):
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s\n")
    env = tmp_path / "env.py"
    text = "from alembic import context\nconfig = context.config\ncontext.configure(url=config.get_main_option('sqlalchemy.url'))\n"
    env.write_text(text)
    facts = facts_of(text, str(env), ProjectIndex().context_for(env))
    url = facts.configures[0].url
    assert url.text is None and url.ini_value is None
    assert url.ini_key == ("alembic", "sqlalchemy.url")


def test_online_configure_has_no_url():
    facts = facts_of(
        "from alembic import context\ndef run(c):\n    context.configure(connection=c)\n"
    )
    assert facts.configures[0].url is None
