"""fixes/pipeline.py, the one way fixes are applied (check --fix, source.fixAll, Fix All):
rounds until stable, one fix per finding, safe unless asked, never a file that does not
parse or that lost a comment."""

from pathlib import Path

from alembic_env_lsp.engine import Analysis, analyze
from alembic_env_lsp.findings import Finding, Fix, Severity
from alembic_env_lsp.fixes.pipeline import edits_for, fix_until_stable, reanalyzer
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.text import Position, Range, SourceText, TextEdit, apply_edits

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "broken-async" / "migrations"


def at(line: int, start: int, end: int | None = None) -> Range:
    return Range(Position(line, start), Position(line, start if end is None else end))


def finding(code: str, *fixes: Fix) -> Finding:
    return Finding(code, f"{code} message", Severity.WARNING, at(0, 0), fixes=fixes)


def stub(text: str, findings: list[Finding]) -> Analysis:
    return Analysis(None, SourceText(text), facts=object(), findings=findings)  # type: ignore[arg-type]


def nothing_left(text: str, others) -> Analysis:
    return stub(text, [])


def test_the_example_is_fixed_in_several_rounds_and_a_second_pass_changes_nothing(tmp_path):
    env = EXAMPLE / "env.py"
    project = ProjectIndex().context_for(env)
    analysis = analyze(env.read_text(), str(env), project=project)
    outcome = fix_until_stable(analysis, reanalyzer(analysis))
    assert outcome.fixed == 9
    assert outcome.others == {}  # the driver in alembic.ini is an unsafe fix
    assert "    await connectable.dispose()\n" in outcome.env_text  # found after NullPool was added
    for line in env.read_text().splitlines():
        if line.strip().startswith("#"):
            assert line in outcome.env_text.splitlines()
    assert outcome.analysis is not None
    assert [f.code for f in outcome.analysis.findings] == ["ENV001"]
    again = fix_until_stable(outcome.analysis, reanalyzer(outcome.analysis))
    assert (again.fixed, again.env_text) == (0, outcome.env_text)
    # the same result as edits on the original text (what the editor applies)
    assert apply_edits(analysis.source.text, edits_for(analysis, outcome)) == outcome.env_text


def test_unsafe_fixes_only_when_asked_and_the_ini_comes_along():
    env = EXAMPLE / "env.py"
    ini = EXAMPLE.parent / "alembic.ini"
    analysis = analyze(env.read_text(), str(env), project=ProjectIndex().context_for(env))
    outcome = fix_until_stable(analysis, reanalyzer(analysis), unsafe=True)
    assert outcome.analysis is not None and outcome.analysis.findings == []
    [(path, text)] = outcome.others.items()
    assert path == str(ini)
    assert text == ini.read_text().replace("postgresql+psycopg2://", "postgresql+asyncpg://")


def test_a_fix_that_breaks_the_syntax_is_dropped_and_the_others_are_kept():
    text = "x = 1\ny = 2\n"
    broken = Fix("break", (TextEdit(at(0, 4, 5), "(1"),))
    fine = Fix("fine", (TextEdit(at(1, 4, 5), "3"),))
    outcome = fix_until_stable(
        stub(text, [finding("ENV900", broken), finding("ENV901", fine)]), nothing_left
    )
    assert (outcome.fixed, outcome.env_text) == (1, "x = 1\ny = 3\n")


def test_a_fix_that_drops_a_comment_is_never_applied():
    text = "x = 1  # keep me\ny = 2\n"
    dropping = Fix("drop", (TextEdit(at(0, 0, 16), "x = 2"),))
    outcome = fix_until_stable(stub(text, [finding("ENV900", dropping)]), nothing_left)
    assert (outcome.fixed, outcome.env_text) == (0, text)


def test_one_fix_per_finding_safe_first_and_overlapping_fixes_skipped():
    text = "a = 1\n"
    unsafe_first = Fix("unsafe", (TextEdit(at(0, 4, 5), "9"),), safe=False)
    safe = Fix("safe", (TextEdit(at(0, 4, 5), "2"),))
    overlapping = Fix("same place", (TextEdit(at(0, 4, 5), "3"),))
    findings = [finding("ENV900", unsafe_first, safe), finding("ENV901", overlapping)]
    outcome = fix_until_stable(stub(text, findings), nothing_left)
    assert (outcome.fixed, outcome.env_text) == (1, "a = 2\n")
    only_unsafe = [finding("ENV900", unsafe_first)]
    assert fix_until_stable(stub(text, only_unsafe), nothing_left).fixed == 0
    assert fix_until_stable(stub(text, only_unsafe), nothing_left, unsafe=True).env_text == (
        "a = 9\n"
    )


def test_fixes_that_undo_each_other_stop():
    """Two states that keep offering the fix back to the other: the loop ends."""

    def flip(text: str) -> Finding:
        new = "b = 2\n" if text == "a = 1\n" else "a = 1\n"
        return finding(
            "ENV900", Fix("flip", (TextEdit(Range(at(0, 0).start, at(1, 0).start), new),))
        )

    def reanalyze(text: str, others) -> Analysis:
        return stub(text, [flip(text)])

    outcome = fix_until_stable(stub("a = 1\n", [flip("a = 1\n")]), reanalyze)
    assert outcome.fixed == 1 and outcome.env_text == "b = 2\n"
