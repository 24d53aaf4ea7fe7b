"""Settings from initializationOptions, workspace/configuration (per folder) and
pyproject.toml, applied without a restart; watched project files re-check env scripts."""

import pytest
from lsprotocol import types as t
from support.lsp import at, capabilities, codes, editor

pytestmark = pytest.mark.asyncio

SYNC_URL = "postgresql+psycopg2://app:s3cr3t@db/app"


def no_configuration():
    caps = capabilities()
    caps.workspace.configuration = False
    return caps


async def test_severity_override_from_initialization_options(make_project):
    project = make_project()
    options = {
        "settings": {
            "severity": {"ENV030": "error"},
            "select": [],
            "interpreter": "",
            "trace": {"server": "off"},
        }
    }
    async with editor(caps=no_configuration(), init_options=options, folders=[project.root]) as ed:
        uri = ed.open(project.env)
        assert at(await ed.diagnostics(uri, 1), "ENV030").severity == t.DiagnosticSeverity.Error


async def test_select_and_ignore_from_initialization_options(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(
        caps=no_configuration(),
        init_options={"settings": {"ignore": ["ENV030"]}},
        folders=[project.root],
    ) as ed:
        uri = ed.open(project.env)
        found = codes(await ed.diagnostics(uri, 1))
        assert "ENV001" in found and "ENV030" not in found
    async with editor(
        caps=no_configuration(),
        init_options={"settings": {"select": ["ENV03"]}},
        folders=[project.root],
    ) as ed:
        uri = ed.open(project.env)
        assert set(codes(await ed.diagnostics(uri, 1))) == {"ENV030"}


async def test_disabled_means_silent(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(
        caps=no_configuration(),
        init_options={"settings": {"enable": False}},
        folders=[project.root],
    ) as ed:
        uri = ed.open(project.env)
        assert await ed.diagnostics(uri, 1) == []
        assert await ed.hover(uri, 0, 0) is None


async def test_workspace_configuration_and_change_without_restart(make_project):
    project = make_project()
    async with editor(
        configuration={"": {"severity": {"ENV030": "info"}}}, folders=[project.root]
    ) as ed:
        uri = ed.open(project.env)
        info = await ed.diagnostics(
            uri, 1, where=lambda d: any(x.code == "ENV030" and x.severity == 3 for x in d)
        )
        assert at(info, "ENV030").severity == t.DiagnosticSeverity.Information
        # the user changes the setting: the editor says so, the server asks again and re-checks
        ed.client.set_configuration({"severity": {"ENV030": "hint"}}, section="alembicEnv")
        ed.client.workspace_did_change_configuration(
            t.DidChangeConfigurationParams(settings={"alembicEnv": {}})
        )
        hint = await ed.diagnostics(
            uri, 1, where=lambda d: any(x.code == "ENV030" and x.severity == 4 for x in d)
        )
        assert at(hint, "ENV030").severity == t.DiagnosticSeverity.Hint
        await ed.logged("settings changed")


async def test_pushed_settings_for_clients_without_configuration_requests(make_project):
    project = make_project()
    async with editor(caps=no_configuration(), folders=[project.root]) as ed:
        uri = ed.open(project.env)
        assert at(await ed.diagnostics(uri, 1), "ENV030").severity == t.DiagnosticSeverity.Warning
        ed.client.workspace_did_change_configuration(
            t.DidChangeConfigurationParams(
                settings={"alembicEnv": {"severity": {"ENV030": "error"}}}
            )
        )
        after = await ed.diagnostics(
            uri, 1, where=lambda d: any(x.code == "ENV030" and x.severity == 1 for x in d)
        )
        assert at(after, "ENV030").severity == t.DiagnosticSeverity.Error


async def test_multi_root_settings_per_folder(make_project):
    one = make_project("one")
    two = make_project("two")
    configuration = {
        "": {},
        one.root.as_uri(): {"severity": {"ENV030": "error"}},
        two.root.as_uri(): {"ignore": ["ENV030"]},
    }
    async with editor(configuration=configuration, folders=[one.root, two.root]) as ed:
        uri_one, uri_two = ed.open(one.env), ed.open(two.env)
        first = await ed.diagnostics(
            uri_one, 1, where=lambda d: any(x.code == "ENV030" and x.severity == 1 for x in d)
        )
        assert at(first, "ENV030").severity == t.DiagnosticSeverity.Error
        await ed.diagnostics(uri_two, 1, where=lambda d: "ENV030" not in codes(d))


async def test_pyproject_wins_over_editor_settings(make_project):
    project = make_project()
    (project.root / "pyproject.toml").write_text(
        '[tool.alembic-env-lsp]\nseverity = { ENV030 = "hint" }\n', encoding="utf-8"
    )
    async with editor(
        caps=no_configuration(),
        init_options={"settings": {"severity": {"ENV030": "error"}}},
        folders=[project.root],
    ) as ed:
        uri = ed.open(project.env)
        assert at(await ed.diagnostics(uri, 1), "ENV030").severity == t.DiagnosticSeverity.Hint


async def test_bad_settings_are_reported_once_and_the_rest_applies(make_project):
    project = make_project()
    options = {
        "settings": {
            "severity": {"ENV030": "loud", "ENV001": "info"},
            "select": "nonsense",
            "codeLens": "yes",
        }
    }
    async with editor(caps=no_configuration(), init_options=options, folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        shown = [m.message for m in ed.client.messages]
        assert any("ENV030" in m and "loud" in m for m in shown)
        assert any("select" in m for m in shown)
        assert len(shown) == len(set(shown))


async def test_broken_pyproject_is_reported_and_checking_goes_on(make_project):
    project = make_project()
    (project.root / "pyproject.toml").write_text(
        "[tool.alembic-env-lsp\nnot toml", encoding="utf-8"
    )
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        assert "ENV030" in codes(await ed.diagnostics(uri, 1))
        await ed.logged("pyproject.toml")


async def test_watched_files_are_registered(make_project):
    project = make_project()
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        await ed.diagnostics(uri, 1)
        [watch] = [
            r for r in ed.client.registrations if r.method == "workspace/didChangeWatchedFiles"
        ]
        globs = sorted(w["globPattern"] for w in watch.register_options["watchers"])
        assert globs == ["**/alembic.ini", "**/pyproject.toml"]


async def test_alembic_ini_changed_on_disk_rechecks_env_py(make_project):
    project = make_project(url=SYNC_URL)
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        assert "ENV001" in codes(await ed.diagnostics(uri, 1))
        project.set_url("postgresql+asyncpg://app:s3cr3t@db/app")
        ed.client.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams(
                changes=[t.FileEvent(uri=project.ini.as_uri(), type=t.FileChangeType.Changed)]
            )
        )
        await ed.diagnostics(uri, 1, where=lambda d: "ENV001" not in codes(d))


async def test_pyproject_created_on_disk_changes_the_rules(make_project):
    project = make_project()
    async with editor(folders=[project.root]) as ed:
        uri = ed.open(project.env)
        assert "ENV030" in codes(await ed.diagnostics(uri, 1))
        pyproject = project.root / "pyproject.toml"
        pyproject.write_text('[tool.alembic-env-lsp]\nignore = ["ENV030"]\n', encoding="utf-8")
        ed.client.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams(
                changes=[t.FileEvent(uri=pyproject.as_uri(), type=t.FileChangeType.Created)]
            )
        )
        await ed.diagnostics(uri, 1, where=lambda d: "ENV030" not in codes(d))


def _fake_venv(root, packages: dict[str, str]):
    """A virtualenv's layout with `<name>-<version>.dist-info` folders: nothing installed."""
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").write_text("")
    (root / "pyvenv.cfg").write_text("home = /usr/bin\nversion_info = 3.12.4\n")
    site = root / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    for name, version in packages.items():
        info = site / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


async def test_python_setting_names_the_environment_the_rules_judge(make_project, tmp_path):
    """The editor's `python` (per folder, as workspace/configuration answers) is the project's
    interpreter: ENV056 judges its packages, and a new interpreter re-checks without a restart."""
    project = make_project()
    bare = tmp_path / "bare"
    _fake_venv(bare, {"SQLAlchemy": "2.1.0", "alembic": "1.16.1"})
    full = tmp_path / "full"
    _fake_venv(full, {"SQLAlchemy": "2.1.0", "greenlet": "3.1.0", "alembic": "1.16.1"})
    async with editor(folders=[project.root]) as ed:
        ed.client.set_configuration({"python": str(bare / "bin" / "python")}, section="alembicEnv")
        ed.client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
        uri = ed.open(project.env)
        found = await ed.diagnostics(uri, 1, where=lambda d: "ENV056" in codes(d))
        message = at(found, "ENV056").message
        assert "SQLAlchemy 2.1.0" in message and "the editor's python setting" in message
        ed.client.set_configuration({"python": str(full)}, section="alembicEnv")
        ed.client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
        await ed.diagnostics(uri, 1, where=lambda d: "ENV056" not in codes(d))
