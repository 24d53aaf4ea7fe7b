"""A second real editor: batch Emacs with eglot (Emacs 29+, or Debian's emacs-nox + elpa-eglot on
28) loads the configuration docs/editors.md shows (emacs/alembic-env-lsp.el) and runs
emacs/e2e.el on a copy of a broken async project: flymake shows the diagnostics, hover explains
the engine call, the ENV021 quick fix is picked from `eglot-code-actions` and the file saved,
the diagnostic clears, the server shuts down.

Emacs is optional (scripts/setup-emacs.sh installs it; scripts/test.sh does not): without
Emacs this test is skipped, unlike the Neovim one. ALEMBIC_ENV_LSP_SKIP_EDITORS=1 skips it too."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PYTHON = Path(sys.executable)  # the venv running pytest, with alembic-env-lsp installed
EMACS = HERE / "emacs"
CONFIG = EMACS / "alembic-env-lsp.el"
SCRIPT = EMACS / "e2e.el"
TIMEOUT = 120


def _emacs_with_eglot(find_editor) -> str:
    emacs = find_editor("emacs", "scripts/setup-emacs.sh", optional=True)
    probe = subprocess.run(
        [emacs, "--batch", "--eval", "(require 'eglot)"], capture_output=True, text=True, timeout=60
    )
    if probe.returncode != 0:
        pytest.skip(
            f"this Emacs has no eglot (scripts/setup-emacs.sh installs elpa-eglot): {probe.stderr.strip()[-200:]}"
        )
    return emacs


def test_emacs_eglot_drives_the_server(broken_project, editor_env, find_editor):
    emacs = _emacs_with_eglot(find_editor)
    # eglot's project is project.el's: make the copy a git repository, as a user's project is.
    subprocess.run(["git", "init", "-q", str(broken_project.root)], check=True)
    env = dict(
        editor_env,
        E2E_PROJECT=str(broken_project.root),
        E2E_CONFIG=str(CONFIG),
        # the configuration starts `alembic-env-lsp serve` from PATH: this venv's
        PATH=os.pathsep.join([str(PYTHON.parent), editor_env.get("PATH", "")]),
    )
    start = time.monotonic()
    try:
        run = subprocess.run(
            [emacs, "--batch", "-l", str(SCRIPT)],
            cwd=broken_project.root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as timeout:
        raise AssertionError(
            f"emacs did not finish within {TIMEOUT}s\n--- stdout\n{timeout.stdout}\n--- stderr\n{timeout.stderr}"
        ) from None
    elapsed = time.monotonic() - start
    print(run.stdout)
    print(f"emacs finished in {elapsed:.1f}s with exit code {run.returncode}")

    failed = re.search(r"FAIL step \d+ \(\w+\): .*", run.stderr, re.S)
    assert run.returncode == 0, (
        f"emacs exited with {run.returncode}: "
        + (failed.group(0).strip() if failed else "no FAIL line (crashed?)")
        + f"\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
    )
    assert run.stdout.rstrip().endswith("PASS"), run.stdout
    assert broken_project.env.read_text(encoding="utf-8") == broken_project.fixed_env


def test_docs_show_the_emacs_configuration_the_test_uses():
    docs = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
    assert CONFIG.read_text(encoding="utf-8") in docs, (
        "docs/editors.md must show tests/editors/emacs/alembic-env-lsp.el verbatim"
    )
