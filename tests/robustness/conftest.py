"""Hypothesis profiles for the robustness tests, chosen with HYPOTHESIS_PROFILE.

- ci (the default): a bounded, reproducible number of examples per test.
- dev: more examples, random each run.
- long: ROBUSTNESS_EXAMPLES examples per property (default 25,000) for a long local run:
      HYPOTHESIS_PROFILE=long ROBUSTNESS_EXAMPLES=50000 \\
      .venv/bin/python -m pytest tests/robustness -p no:cacheprovider --hypothesis-show-statistics
"""

import os

import pytest
from hypothesis import HealthCheck, settings

_common = dict(
    deadline=None,  # no timing asserts: a loaded CI machine must not fail a test
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    print_blob=True,
)
settings.register_profile("ci", max_examples=150, derandomize=True, database=None, **_common)
settings.register_profile("dev", max_examples=300, **_common)
settings.register_profile(
    "long", max_examples=int(os.environ.get("ROBUSTNESS_EXAMPLES", "25000")), **_common
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def workspaces(tmp_path_factory):
    from support.robustness import Workspace

    base = tmp_path_factory.mktemp("robust-ws")
    return Workspace(base / "project")
