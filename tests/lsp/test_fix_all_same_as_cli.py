"""`check --fix` and the editor's `source.fixAll` (also what fix-on-save runs) leave the same
files: both go through fixes/pipeline.py. The CLI runs in-process on one copy of every
fixture; the real server, driven through pytest-lsp, fixes another copy."""

import shutil
from pathlib import Path

import pytest
from alembic_env_lsp import cli
from lsprotocol import types as t
from support.lsp import apply_text_edits, editor, edits_for

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def _fixture_roots() -> dict[str, Path]:
    """Every fixture env script, as the folder that holds its project."""
    roots: dict[str, Path] = {"example": ROOT / "examples" / "broken-async"}
    for group in ("projects", "flow"):
        for folder in sorted((FIXTURES / group).iterdir()):
            if folder.is_dir():
                roots[f"{group}-{folder.name}"] = folder
    return roots


def _single_files() -> dict[str, Path]:
    """Rewrite fixtures are bare env.py texts: each becomes a folder with an env.py."""
    from alembic_env_lsp.project import looks_like_env_script

    return {
        f"rewrite-{path.parent.name}-{path.stem}": path
        for path in sorted((FIXTURES / "rewrite").glob("*/*.py"))
        if looks_like_env_script(path.read_text(encoding="utf-8"))  # not the helper modules
    }


def _lay_out(target: Path) -> list[Path]:
    roots = []
    for name, folder in _fixture_roots().items():
        shutil.copytree(folder, target / name)
        roots.append(target / name)
    for name, path in _single_files().items():
        (target / name).mkdir(parents=True)
        shutil.copyfile(path, target / name / "env.py")
        roots.append(target / name)
    return roots


def _texts(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".py", ".ini", ".toml")
    }


async def test_cli_fix_and_editor_fix_all_leave_identical_files(tmp_path, monkeypatch, capsys):
    cli_roots = _lay_out(tmp_path / "cli")
    editor_roots = _lay_out(tmp_path / "editor")
    before = {root.name: _texts(root) for root in cli_roots}

    monkeypatch.chdir(tmp_path / "cli")
    status = cli.main(["check", "--fix", "--format", "json", *map(str, cli_roots)])
    err = capsys.readouterr().err
    assert status in (0, 1), err
    scripts = cli._targets([str(r) for r in editor_roots])
    assert len(scripts) >= 50  # every fixture took part

    async with editor(folders=editor_roots) as ed:
        for script in scripts:
            text = script.read_text(encoding="utf-8")
            uri = ed.open(script, text=text)
            diagnostics = await ed.diagnostics(uri, 1)
            whole = t.Range(
                start=t.Position(line=0, character=0),
                end=t.Position(line=len(text.splitlines()) + 1, character=0),
            )
            actions = await ed.code_actions(uri, whole, diagnostics, only=["source.fixAll"])
            ed.close(uri)
            if not actions:
                continue
            [fix_all] = actions
            changed = {d.text_document.uri for d in fix_all.edit.document_changes or ()}
            changed |= set(fix_all.edit.changes or {})
            for file_uri in changed:
                path = Path(_path_of(file_uri))
                edits, _ = edits_for(fix_all.edit, file_uri)
                current = text if path == script else path.read_text(encoding="utf-8")
                path.write_text(apply_text_edits(current, edits), encoding="utf-8")

    changed_somewhere = 0
    for cli_root, editor_root in zip(cli_roots, editor_roots, strict=True):
        after_cli, after_editor = _texts(cli_root), _texts(editor_root)
        assert after_editor == after_cli, cli_root.name
        changed_somewhere += after_cli != before[cli_root.name]
    assert changed_somewhere >= 20  # the comparison is not between untouched copies


def _path_of(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path)
