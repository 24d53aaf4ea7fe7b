import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))


@pytest.fixture(autouse=True, scope="session")
def _driver_cache_dir(tmp_path_factory):
    # Tests must not depend on (or write to) the user's cache.
    if "ALEMBIC_ENV_LSP_CACHE_DIR" not in os.environ:
        os.environ["ALEMBIC_ENV_LSP_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
