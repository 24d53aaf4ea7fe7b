"""No secret shown: the secrets project (tests/fixtures/robustness/secrets) carries known
passwords in URL literals, os.getenv/os.environ.get defaults, set_main_option, query
parameters, an ODBC string and alembic.ini. Every text the engine and the CLI produce for
it is collected, and none contains any password."""

import json
import shutil
import subprocess
import sys

import pytest
from alembic_env_lsp.engine import analyze
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.text import Position, SourceText
from support.robustness import ROBUST_FIXTURES, mutate, rewrite_functions

SECRETS = ROBUST_FIXTURES / "secrets"
ENV = SECRETS / "migrations" / "env.py"
INI = SECRETS / "alembic.ini"
# The unique core of every password in the fixture; any output containing one leaks it.
PASSWORDS = (
    "Pw7Hq2",
    "IniSslPw3Kd",
    "IniKeyPw5Wc",
    "Pw5Tz",
    "GetenvPw4Lm",
    "EnvironPw6Qe",
    "QueryPw2Vn",
    "OdbcPw3Js",
    "PctPw8Rb",
    "Pw1Yy",
    "OfflinePw6Nc",
    "LegacyPw2Gd",
    "LiteralPw9Xa",
)


def leaks(text: str) -> list[str]:
    return [p for p in PASSWORDS if p in text]


def test_the_fixture_holds_every_password():
    files = ENV.read_text(encoding="utf-8") + INI.read_text(encoding="utf-8")
    assert leaks(files) == list(PASSWORDS)


def engine_texts(env_text: str):
    """Every text the engine shows for env.py: messages, fix titles, hovers, lens, explain."""
    from alembic_env_lsp import explain, hovers

    project = ProjectIndex().context_for(ENV)
    analysis = analyze(env_text, str(ENV), project=project)
    yield "internal errors", "\n".join(analysis.internal_errors)
    for finding in analysis.findings:
        for shown in (finding, *finding.related):
            yield f"{shown.code} message", shown.message
            for fix in shown.fixes:
                yield f"{shown.code} fix title", fix.title
    yield "code lens", explain.summary(analysis)
    yield "explain", explain.explain_markdown(analysis)
    source = analysis.source
    for line in range(source.line_count):
        for character in range(len(source.line(line)) + 1):
            hover = hovers.hover_at(analysis, Position(line, character))
            if hover is not None:
                yield f"hover {line}:{character}", hover.markdown
    ini_text = INI.read_text(encoding="utf-8")
    ini_source = SourceText(ini_text)
    for line in range(ini_source.line_count):
        for character in range(len(ini_source.line(line)) + 1):
            hover = hovers.hover_ini(
                project, str(INI), ini_text, Position(line, character), analysis=analysis
            )
            if hover is not None:
                yield f"ini hover {line}:{character}", hover.markdown
    for name, function in rewrite_functions().items():
        result = function(env_text)
        yield f"{name} refusal", result.refused or ""


def test_engine_hovers_lens_and_explain_show_no_password():
    texts = list(engine_texts(ENV.read_text(encoding="utf-8")))
    assert sum(1 for what, _ in texts if what.startswith("hover")) > 100
    assert any("***" in text for _, text in texts)  # the URLs are there, masked
    shown = {what: leaks(text) for what, text in texts if leaks(text)}
    assert shown == {}


def test_no_password_in_mutated_versions_of_the_file():
    """Half-typed variants (deleted tokens, truncations, ...) show no password either."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    text = ENV.read_text(encoding="utf-8")

    @settings(max_examples=min(settings().max_examples, 20))
    @given(st.data())
    def check(data):
        variant = text
        for _ in range(data.draw(st.integers(1, 3))):
            variant = mutate(data.draw, st, variant)
        for what, shown in engine_texts(variant):
            assert not leaks(shown), (what, shown)

    check()


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "alembic_env_lsp", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["check", "."],
        ["check", "--format", "json", "."],
        ["check", "--format", "github", "."],
        ["check", "--format", "sarif", "."],
        ["check", "--diff", "."],
        ["check", "--select", "ENV001,ENV002,ENV013", "migrations/env.py"],
        ["fix", "--async", "--diff", "migrations/env.py"],
        ["fix", "--sync", "--diff", "migrations/env.py"],
        ["fix", "--diff", "."],
        ["explain", "migrations/env.py"],
        ["explain", "ENV001"],
        ["check", "--fix", "."],
        ["fix", "--async", "migrations/env.py"],
        ["fix", "--sync", "migrations/env.py"],
    ],
    ids=" ".join,
)
def test_no_cli_output_shows_a_password(tmp_path, args):
    project = tmp_path / "secrets"
    shutil.copytree(SECRETS, project)
    result = _cli(*args, cwd=project)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    assert leaks(result.stdout + result.stderr) == []
    if args[:2] == ["check", "--format"] and args[2] == "json":
        assert any("***" in row["message"] for row in json.loads(result.stdout))
