"""Every rule's VALID and INVALID examples, as tests (the examples live in the rule units)."""

import ast

import pytest
from alembic_env_lsp.rules import all_rules
from support.rules import apply_fix, run_example

CASES = [
    pytest.param(rule, kind, example, id=f"{rule.code}-{kind}-{index}")
    for rule in all_rules()
    for kind, examples in (("invalid", rule.invalid), ("valid", rule.valid))
    for index, example in enumerate(examples)
]


@pytest.mark.parametrize("rule,kind,example", CASES)
def test_example(rule, kind, example, tmp_path):
    analysis, findings = run_example(rule, example, tmp_path)
    if kind == "valid":
        assert findings == [], (
            f"{example.note}: unexpected {[(f.message, f.range) for f in findings]}"
        )
        return
    assert findings, f"{rule.code} did not fire ({example.note})"
    first = next((f for f in findings if f.path is None), findings[0])
    source = analysis.source
    # every finding, not only the first: where it is, what it says, how severe
    expected = [(example.span, example.message), *example.also]
    assert len(findings) == len(expected), [(source.slice(f.range), f.message) for f in findings]
    for finding, (span, message) in zip(findings, expected, strict=True):
        assert finding.code == rule.code
        if span is not None:
            assert source.slice(finding.range) == span, example.note
        if message is not None:
            assert message in finding.message, finding.message
        assert finding.severity == (example.severity or rule.severity), example.note
        assert "secret" not in finding.message
    if example.fixed is not None or example.fixed_ini is not None:
        offered = [
            f for f in first.fixes if f.edits
        ]  # a rewrite that refuses the file offers nothing
        assert offered, f"{rule.code}: no fix offered"
        ini_path = tmp_path / "alembic.ini" if example.ini is not None else None
        new_env, new_ini = apply_fix(example, offered[0], tmp_path / "env.py", ini_path)
        if example.fixed is not None:
            assert new_env == example.fixed
        if example.fixed_ini is not None:
            assert new_ini == example.fixed_ini
        ast.parse(new_env)


def test_every_rule_has_examples():
    for rule in all_rules():
        if rule.code == "ENV000":
            continue
        assert rule.invalid and rule.valid, rule.code
