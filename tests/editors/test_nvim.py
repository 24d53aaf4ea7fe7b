"""A real editor drives the language server: headless Neovim (Debian's `neovim`, 0.7+) loads the
configuration docs/editors.md shows (nvim/alembic-env-lsp.lua) and runs nvim/e2e.lua on a copy of
a broken async project: diagnostics appear, hover explains the engine call, the ENV021 quick fix
is applied and the file written, the diagnostic clears, alembic.ini shows ENV001, the server
exits cleanly. Needs `nvim` (scripts/setup-neovim.sh); ALEMBIC_ENV_LSP_SKIP_EDITORS=1 skips."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PYTHON = Path(sys.executable)  # the venv running pytest, with alembic-env-lsp installed
NVIM = HERE / "nvim"
CONFIG = NVIM / "alembic-env-lsp.lua"
SCRIPT = NVIM / "e2e.lua"
TIMEOUT = 120


def log_tail(folder: Path, pattern: str, lines: int = 40) -> str:
    """The last lines of every file matching `pattern` under `folder` (editor logs, for failures)."""
    out = []
    for path in sorted(folder.rglob(pattern)):
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
        out.append(f"--- {path.name} (last {lines} lines)\n" + "\n".join(text[-lines:]))
    return "\n".join(out)


def test_neovim_drives_the_server(broken_project, editor_env, find_editor, tmp_path):
    nvim = find_editor("nvim", "scripts/setup-neovim.sh")
    ini_before = broken_project.ini.read_text(encoding="utf-8")
    env = dict(
        editor_env,
        E2E_PROJECT=str(broken_project.root),
        E2E_CONFIG=str(CONFIG),
        E2E_PYTHON=str(PYTHON),
    )
    start = time.monotonic()
    try:
        run = subprocess.run(
            [nvim, "--headless", "--clean", "-c", f"luafile {SCRIPT}"],
            cwd=broken_project.root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as timeout:
        raise AssertionError(
            f"nvim did not finish within {TIMEOUT}s\n--- stdout\n{timeout.stdout}\n--- stderr\n{timeout.stderr}\n"
            + log_tail(tmp_path / "editor-home", "*.log")
        ) from None
    elapsed = time.monotonic() - start
    print(run.stdout)
    print(f"nvim finished in {elapsed:.1f}s with exit code {run.returncode}")

    failed = re.search(r"FAIL step \d+ \(\w+\): .*", run.stderr, re.S)
    assert run.returncode == 0, (
        f"nvim exited with {run.returncode}: "
        + (failed.group(0).strip() if failed else "no FAIL line (crashed?)")
        + f"\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}\n"
        + log_tail(tmp_path / "editor-home", "*.log")
    )
    assert run.stdout.rstrip().endswith("PASS"), run.stdout

    # What the editor wrote: the quick fix put the template's guard back and changed nothing else.
    assert broken_project.env.read_text(encoding="utf-8") == broken_project.fixed_env
    assert broken_project.ini.read_text(encoding="utf-8") == ini_before


def test_docs_show_the_neovim_configuration_the_test_uses():
    docs = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
    config = CONFIG.read_text(encoding="utf-8")
    assert config in docs, (
        "docs/editors.md must show tests/editors/nvim/alembic-env-lsp.lua verbatim"
    )
