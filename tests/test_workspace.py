"""workspace.py: summaries read once per file version, import closures, model and command scans."""

import ast
import os
import textwrap
import time
from pathlib import Path

import pytest
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.workspace import Workspace, summarize

INI = "[alembic]\nscript_location = %(here)s/migrations\nprepend_sys_path = .\nsqlalchemy.url = sqlite:///app.db\n"


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def project(tmp_path):
    write(
        tmp_path,
        {
            "alembic.ini": INI,
            "app/__init__.py": "",
            "app/db.py": """
                from sqlalchemy.orm import DeclarativeBase
                from sqlalchemy.ext.asyncio import create_async_engine


                class Base(DeclarativeBase):
                    pass


                engine = create_async_engine("postgresql+asyncpg://app@db/app")
            """,
            "app/models/__init__.py": "from .user import User  # noqa: F401\n",
            "app/models/mixins.py": """
                from app.db import Base


                class Timestamped(Base):
                    __abstract__ = True
            """,
            "app/models/user.py": """
                from .mixins import Timestamped


                class User(Timestamped):
                    __tablename__ = "user"
            """,
            "app/models/order.py": """
                from typing import TYPE_CHECKING

                from app.db import Base

                if TYPE_CHECKING:
                    from app.models.user import User


                class Order(Base):
                    __tablename__ = "order"
            """,
            "app/main.py": """
                from alembic import command
                from alembic.config import Config


                async def lifespan(app):
                    command.upgrade(Config("alembic.ini"), "head")
            """,
            "tests/test_models.py": "from app.db import Base\n\nclass Fake(Base):\n    __tablename__ = 'fake'\n",
            "migrations/env.py": """
                from alembic import context

                from app.db import Base
                import app.models  # noqa: F401

                target_metadata = Base.metadata
            """,
            "migrations/versions/0001_first.py": "from alembic import op\n\ndef upgrade():\n    op.create_table('x')\n",
        },
    )
    return tmp_path


def view_of(workspace: Workspace, env: Path):
    text = env.read_text()
    analysis = analyze(text, str(env), project=ProjectIndex().context_for(env), rules=())
    return workspace.view(analysis.facts, str(env), ProjectIndex().context_for(env)), analysis


def test_summary_of_one_module():
    tree = ast.parse(
        textwrap.dedent(
            """
            import importlib
            from typing import TYPE_CHECKING
            from alembic import command
            from alembic.config import Config as C
            from .base import Base
            if TYPE_CHECKING:
                from app.engine import Engine

            class User(Base, table=True):
                __tablename__ = "user"

            engine = create_async_engine(URL, poolclass=NullPool)

            async def main():
                command.upgrade(C("alembic.ini", config_args={"x": "1"}), "head")

            def plugins():
                importlib.import_module("app.plugins")
            """
        )
    )
    summary = summarize(tree, "/p/app/main.py")
    assert [(i.module, i.level, i.type_checking) for i in summary.imports] == [
        ("importlib", 0, False),
        ("typing", 0, False),
        ("alembic", 0, False),
        ("alembic.config", 0, False),
        ("base", 1, False),
        ("app.engine", 0, True),
    ]
    user = summary.classes["User"]
    assert user.bases == ("Base",) and user.defines_table and ("table", "True") in user.keywords
    assert summary.assigns["engine"].func == "create_async_engine"
    assert dict(summary.assigns["engine"].keywords)["poolclass"] == "NullPool"
    assert [(c.function, c.in_async) for c in summary.command_calls] == [("upgrade", True)]
    assert summary.config_args and summary.dynamic_imports
    assert "Engine" not in summary.aliases  # TYPE_CHECKING names are not runtime aliases


def test_closure_follows_packages_and_relative_imports_but_not_type_checking(project):
    workspace = Workspace([project])
    view, _ = view_of(workspace, project / "migrations" / "env.py")
    closure = {os.path.relpath(p, project) for p in view.imported_files()}
    assert closure == {
        "app/__init__.py",
        "app/db.py",
        "app/models/__init__.py",
        "app/models/user.py",
        "app/models/mixins.py",
    }


def test_model_modules_through_abstract_mixins_skip_tests_and_scripts(project):
    workspace = Workspace([project])
    view, _ = view_of(workspace, project / "migrations" / "env.py")
    base = view.definition("Base")
    assert base is not None and view.is_declarative_base(base)
    assert [m for m, _ in view.model_modules(base)] == ["app.models.order", "app.models.user"]


def test_env032_reports_only_the_module_env_py_misses(project):
    env = project / "migrations" / "env.py"
    analysis = analyze(
        env.read_text(),
        str(env),
        project=ProjectIndex().context_for(env),
        workspace=Workspace([project]),
    )
    [finding] = [f for f in analysis.findings if f.code == "ENV032"]
    assert "(app.models.order)" in finding.message


def test_definitions_and_kinds_through_re_exports(project):
    write(project, {"app/api.py": "from app.db import engine as app_engine, Base\n"})
    env = project / "migrations" / "env.py"
    env.write_text("from alembic import context\nfrom app.api import app_engine, Base\n")
    view, _ = view_of(Workspace([project]), env)
    assert view.kind_of(view.definition("app_engine")) == "async engine"
    assert view.kind_of(view.definition("Base")) == "declarative base"


def test_app_command_calls(project):
    view, _ = view_of(Workspace([project]), project / "migrations" / "env.py")
    [call] = view.app_command_calls()
    assert (
        call.function == "upgrade"
        and call.in_async
        and call.path.endswith(os.path.join("app", "main.py"))
    )


def test_dynamic_imports_make_the_closure_unknown(project):
    write(
        project,
        {
            "app/models/__init__.py": "import pkgutil\nfor m in pkgutil.iter_modules(__path__):\n    pass\n"
        },
    )
    view, _ = view_of(Workspace([project]), project / "migrations" / "env.py")
    assert view.imported_files() is None


def test_star_import_from_a_package_is_unknown_from_a_module_is_not(project):
    env = project / "migrations" / "env.py"
    env.write_text("from alembic import context\nfrom app.models import *\n")
    view, _ = view_of(Workspace([project]), env)
    assert view.imported_files() is None
    env.write_text("from alembic import context\nfrom app.models.user import *\n")
    view, _ = view_of(Workspace([project]), env)
    assert {os.path.relpath(p, project) for p in view.imported_files()} >= {"app/models/user.py"}


def test_each_file_is_parsed_once_per_check_and_again_only_when_it_changes(project):
    workspace = Workspace([project])
    env = project / "migrations" / "env.py"
    context = ProjectIndex().context_for(env)
    analyze(env.read_text(), str(env), project=context, workspace=workspace)
    first = workspace.parses
    python_files = [p for p in project.rglob("*.py") if "migrations" not in p.parts]
    assert 0 < first <= len(python_files)
    analyze(env.read_text(), str(env), project=context, workspace=workspace)
    assert workspace.parses == first  # nothing changed: nothing parsed again

    user = project / "app" / "models" / "user.py"
    user.write_text(user.read_text() + "\n# touched\n")
    stamp = time.time() + 5
    os.utime(user, (stamp, stamp))
    workspace.invalidate(user)  # what the language server does on a file event
    analyze(env.read_text(), str(env), project=context, workspace=workspace)
    assert workspace.parses == first + 1  # only the changed file


def test_overlay_replaces_the_file_on_disk(project):
    workspace = Workspace([project])
    env = project / "migrations" / "env.py"
    workspace.set_overlay(
        project / "app" / "models" / "__init__.py", "from . import user, order  # noqa: F401\n"
    )
    analysis = analyze(
        env.read_text(), str(env), project=ProjectIndex().context_for(env), workspace=workspace
    )
    assert not [f for f in analysis.findings if f.code == "ENV032"]
    workspace.set_overlay(project / "app" / "models" / "__init__.py", None)
    analysis = analyze(
        env.read_text(), str(env), project=ProjectIndex().context_for(env), workspace=workspace
    )
    assert [f for f in analysis.findings if f.code == "ENV032"]


def test_a_loose_env_py_never_scans_above_the_workspace_folder(tmp_path):
    folder = tmp_path / "ws"
    write(folder, {"env.py": "from alembic import context\n", "app.py": "x = 1\n"})
    write(
        tmp_path, {"elsewhere.py": "from alembic import command\ncommand.upgrade(None, 'head')\n"}
    )
    view, _ = view_of(Workspace([folder]), folder / "env.py")
    assert view.root == str(folder)
    assert view.app_command_calls() == []


def test_unreadable_and_broken_files_are_unknown_not_fatal(project):
    write(
        project, {"app/broken.py": "def (:\n", "app/models/__init__.py": "from app import broken\n"}
    )
    workspace = Workspace([project])
    env = project / "migrations" / "env.py"
    analysis = analyze(
        env.read_text(), str(env), project=ProjectIndex().context_for(env), workspace=workspace
    )
    assert not analysis.internal_errors
    assert workspace.summary(project / "app" / "broken.py").error == "SyntaxError"


def test_closure_is_kept_while_env_py_imports_stay_the_same(project):
    workspace = Workspace([project])
    env = project / "migrations" / "env.py"
    context = ProjectIndex().context_for(env)
    text = env.read_text()
    first = workspace.view(
        analyze(text, str(env), project=context, rules=()).facts, str(env), context
    ).imported_files()
    edited = text + "\n# a comment typed in the editor\n"
    again = workspace.view(
        analyze(edited, str(env), project=context, rules=()).facts, str(env), context
    ).imported_files()
    assert again is first  # reused, not recomputed
    more = edited.replace(
        "import app.models  # noqa: F401\n",
        "import app.models  # noqa: F401\nimport app.models.order\n",
    )
    changed = workspace.view(
        analyze(more, str(env), project=context, rules=()).facts, str(env), context
    ).imported_files()
    assert changed is not first and str(project / "app" / "models" / "order.py") in changed


def test_the_env_script_being_analysed_is_never_parsed_a_second_time(tmp_path):
    """The engine's tree serves the workspace's summary of the env script itself; env scripts
    of other projects under the same folder are not summarised at all (they name neither
    alembic.command nor config_args, which the scan looks for)."""
    sample = (Path(__file__).resolve().parent.parent / "bench" / "env_async_sample.py").read_text()
    assert "command" in sample  # so its summary is asked for by the alembic.command scan
    write(tmp_path, {"alembic.ini": INI, "migrations/env.py": sample})
    for index in range(3):  # 3 more env scripts found by name under the same root
        write(tmp_path, {f"other{index}/env.py": "from alembic import context\n"})
    env = tmp_path / "migrations" / "env.py"
    workspace = Workspace([tmp_path])
    analysis = analyze(
        sample, str(env), project=ProjectIndex().context_for(env), workspace=workspace
    )
    assert analysis.facts is not None
    assert workspace.parses == 0
    assert workspace.summary(env).error is None  # summarised from the engine's tree
    assert workspace.parses == 0
    unsaved = Workspace([tmp_path])
    changed = sample + "\n# edited in the editor, not saved\n"
    analyze(changed, str(env), project=ProjectIndex().context_for(env), workspace=unsaved)
    assert unsaved.parses == 1  # the text on disk is not the analysed one: it is parsed
