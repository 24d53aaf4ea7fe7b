"""Property tests: env.py variants made from real files never break the engine, its fixes
or the rewrites (see tests/support/robustness.py for the seeds, mutations and checks)."""

from hypothesis import assume, given, note
from hypothesis import strategies as st
from support.robustness import (
    check_analysis,
    check_rewrite,
    fix_all,
    mutate,
    mutate_ini,
    parses,
    rewrite_functions,
    seeds,
)

SEEDS = seeds()
REWRITES = rewrite_functions()


@st.composite
def variants(draw, max_mutations=3, ini_mutations=True):
    seed = draw(st.sampled_from(SEEDS))
    env = seed.env
    for _ in range(draw(st.integers(0, max_mutations))):
        env = mutate(draw, st, env)
    ini = seed.ini
    if ini is not None and ini_mutations and draw(st.integers(0, 4)) == 0:
        ini = mutate_ini(draw, st, ini)
    note(f"seed: {seed.name}")
    return seed, env, ini


@st.composite
def parsing_variants(draw):
    """Variants that still parse, so rules run and offer fixes."""
    seed, env, ini = draw(variants(max_mutations=2))
    assume(parses(env))
    return seed, env, ini


def test_there_are_many_seeds():
    names = {s.name.split(":")[0] for s in SEEDS}
    assert names >= {"template", "rule"}
    assert sum(s.name.startswith("template:") for s in SEEDS) >= 15
    assert len(SEEDS) > 100


@given(variants())
def test_engine_never_raises_and_ranges_are_inside(workspaces, case):
    _, env, ini = case
    check_analysis(workspaces, env, ini, fixes=False)


@given(parsing_variants())
def test_fixes_parse_keep_comments_and_are_idempotent(workspaces, case):
    _, env, ini = case
    check_analysis(workspaces, env, ini)


@given(parsing_variants())
def test_fix_all_converges(workspaces, case):
    _, env, ini = case
    fix_all(workspaces, env, ini)


@given(st.sampled_from(sorted(REWRITES)), variants(max_mutations=2, ini_mutations=False))
def test_rewrites_parse_keep_comments_and_are_idempotent(name, case):
    _, env, _ = case
    check_rewrite(name, REWRITES[name], env)


def test_every_template_truncated_at_every_line(workspaces):
    """Not random: each installed template cut after every line, with and without its ini,
    through the engine (fixes included) and every rewrite."""
    from support.robustness import TEMPLATE_NAMES, template_env, template_ini

    checked = 0
    for name in TEMPLATE_NAMES:
        lines = template_env(name).splitlines(keepends=True)
        for end in range(len(lines) + 1):
            text = "".join(lines[:end])
            for ini in (None, template_ini(name, "postgresql+psycopg2://app:pw@db/app")):
                check_analysis(workspaces, text, ini)
            if parses(text):
                fix_all(workspaces, text, None)
            for rewrite, function in REWRITES.items():
                check_rewrite(rewrite, function, text)
            checked += 1
    assert checked > 400
