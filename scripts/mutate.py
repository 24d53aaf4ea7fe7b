#!/usr/bin/env python3
"""Mutation testing: how many single-line changes to the engine does the suite notice?

Each mutant changes one line of server/alembic_env_lsp (model/, rules/, fixes/,
lsp/convert.py, cli.py by default): a condition negated, `and`/`or` swapped, a comparison
flipped, a constant changed, a statement dropped. The mutant is written into a private copy
of the checkout (never the working tree), the tests that cover its module run there (-x, with
a timeout), and the mutant is *killed* when they fail, *survived* when they pass. A measurement,
not a gate: the score and the survivors are printed (and written as JSON with --json).

    .venv/bin/python scripts/mutate.py                      # a sample of 60 mutants, seed 1
    .venv/bin/python scripts/mutate.py --sample 0 --json mutation.json   # every mutant
    .venv/bin/python scripts/mutate.py --only rules/env050 --sample 20
    .venv/bin/python scripts/mutate.py --replay mutation.json --survivors  # after new tests

--replay runs the mutants of an earlier --json again, found by their text (lines move as
the code changes; a mutant whose line is gone is reported as such and not counted);
--survivors keeps only those that survived (a killed mutant stays killed while the tests
that killed it stay).

`make mutation` runs the default sample.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path("server") / "alembic_env_lsp"
TARGETS = (
    "model/",
    "rules/",
    "fixes/",
    "lsp/convert.py",
    "cli.py",
    "cli_output.py",
    "cli_files.py",
)

# The tests that pin each part, fast ones first (-x stops at the first failure).
TESTS = {
    "model/": [
        "tests/test_rule_examples.py",
        "tests/rules",
        "tests/robustness/test_regressions.py",
    ],
    "rules/": [
        "tests/test_rule_examples.py",
        "tests/rules",
        "tests/robustness/test_regressions.py",
    ],
    "fixes/": [
        "tests/test_rule_examples.py",
        "tests/fixes",
        "tests/robustness/test_regressions.py",
        "tests/test_cli_fixes_and_outputs.py",
        "tests/test_fix_pipeline.py",
        "tests/lsp/test_fix_all_same_as_cli.py",
    ],
    "lsp/convert.py": [
        "tests/lsp/test_diagnostics.py",
        "tests/lsp/test_actions.py",
        "tests/lsp/test_pull.py",
        "tests/lsp/test_preferred_fixes.py",
        "tests/lsp/test_positions.py",
        "tests/lsp/test_settings.py",
    ],
    "cli": [  # cli.py, cli_output.py, cli_files.py
        "tests/test_cli.py",
        "tests/test_cli_fixes_and_outputs.py",
        "tests/test_projects_check.py",
        "tests/test_pinned_cli.py",
    ],
}

COMPARISONS = {
    ast.Eq: ("==", "!="),
    ast.NotEq: ("!=", "=="),
    ast.Lt: ("<", ">="),
    ast.GtE: (">=", "<"),
    ast.Gt: (">", "<="),
    ast.LtE: ("<=", ">"),
    ast.Is: (" is ", " is not "),
    ast.IsNot: (" is not ", " is "),
    ast.In: (" in ", " not in "),
    ast.NotIn: (" not in ", " in "),
}


@dataclass
class Mutant:
    path: str  # relative to the package
    line: int  # 1-based
    kind: str
    before: str
    after: str
    outcome: str = ""
    seconds: float = 0.0


def _replace_once(line: str, start: int, old: str, new: str) -> str | None:
    index = line.find(old, start)
    return None if index < 0 else line[:index] + new + line[index + len(old) :]


def _falsy_constant(node: ast.expr) -> bool:
    """False, 0, "", (), [], {}: callers test them for truth, where None reads the same."""
    if isinstance(node, ast.Constant):
        return not node.value
    return isinstance(node, (ast.Tuple, ast.List, ast.Dict)) and not (
        node.elts if isinstance(node, (ast.Tuple, ast.List)) else node.keys
    )


def mutants_of(relative: str, text: str) -> list[Mutant]:
    """Every single-line mutant of one module (only lines a node starts and ends on)."""
    tree = ast.parse(text)
    lines = text.splitlines()
    found: dict[tuple[int, str], Mutant] = {}

    def add(node: ast.expr | ast.stmt, kind: str, new_line: str | None) -> None:
        line_no = node.lineno
        if new_line is None or new_line == lines[line_no - 1]:
            return
        key = (line_no, new_line)
        if key not in found:
            found[key] = Mutant(relative, line_no, kind, lines[line_no - 1], new_line)

    for node in ast.walk(tree):
        line_no = getattr(node, "lineno", None)
        if line_no is None or line_no != getattr(node, "end_lineno", -1):
            if not isinstance(node, (ast.If, ast.While)):
                continue
        if isinstance(node, (ast.If, ast.While)) and node.test.lineno == node.test.end_lineno:
            line = lines[node.test.lineno - 1]
            test = ast.get_source_segment(text, node.test)
            if test and line.count(test) == 1:
                if isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not):
                    inner = ast.get_source_segment(text, node.test.operand)
                    add(node.test, "negate condition", line.replace(test, f"({inner})"))
                else:
                    add(node.test, "negate condition", line.replace(test, f"not ({test})"))
        elif isinstance(node, ast.BoolOp):
            line = lines[node.lineno - 1]
            old, new = (" and ", " or ") if isinstance(node.op, ast.And) else (" or ", " and ")
            add(node, "swap and/or", _replace_once(line, node.col_offset, old, new))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1:
            pair = COMPARISONS.get(type(node.ops[0]))
            if pair:
                line = lines[node.lineno - 1]
                start = node.left.end_col_offset or node.col_offset
                add(node, "flip comparison", _replace_once(line, start, *pair))
        elif isinstance(node, ast.Constant) and node.lineno == node.end_lineno:
            line = lines[node.lineno - 1]
            segment = line[node.col_offset : node.end_col_offset]
            value = node.value
            if isinstance(value, bool):
                new = "False" if value else "True"
            elif isinstance(value, int) and segment.isdigit():
                new = str(value + 1)
            else:
                continue
            add(
                node, "change constant", line[: node.col_offset] + new + line[node.end_col_offset :]
            )
        elif isinstance(node, (ast.Expr, ast.Return, ast.Assign, ast.AugAssign, ast.Continue)):
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue  # a docstring
            line = lines[node.lineno - 1]
            if line.strip().startswith(("@", "#")) or ";" in line:
                continue
            indent = line[: len(line) - len(line.lstrip())]
            if isinstance(node, ast.Return) and node.value is not None:
                if not _falsy_constant(node.value):  # `return False` -> None: the same to `if`
                    add(node, "return None", f"{indent}return None")
            elif not isinstance(node, ast.Return):
                add(node, "drop statement", f"{indent}pass")
    return sorted(found.values(), key=lambda m: (m.path, m.line, m.after))


def all_mutants(only: str | None) -> list[Mutant]:
    result = []
    base = ROOT / PACKAGE
    for path in sorted(base.rglob("*.py")):
        relative = path.relative_to(base).as_posix()
        if not relative.startswith(TARGETS) or (only and only not in relative):
            continue
        result.extend(mutants_of(relative, path.read_text(encoding="utf-8")))
    return result


def replayed(path: Path, survivors_only: bool) -> list[Mutant]:
    """The mutants of an earlier run, at the line that now holds their original text: in
    their module, or else in the one module the line moved to (code moves between modules)."""
    base = ROOT / PACKAGE
    modules = {
        p.relative_to(base).as_posix(): p.read_text(encoding="utf-8").splitlines()
        for p in sorted(base.rglob("*.py"))
        if p.relative_to(base).as_posix().startswith(TARGETS)
    }
    result = []
    for raw in json.loads(path.read_text(encoding="utf-8"))["mutants"]:
        if survivors_only and raw["outcome"] != "survived":
            continue
        mutant = Mutant(raw["path"], raw["line"], raw["kind"], raw["before"], raw["after"])
        holders = [mutant.path] if mutant.before in modules.get(mutant.path, ()) else []
        holders = holders or [m for m, lines in modules.items() if mutant.before in lines]
        if len(holders) == 1:
            mutant.path = holders[0]
            same = [n for n, line in enumerate(modules[mutant.path], 1) if line == mutant.before]
            mutant.line = min(same, key=lambda n: abs(n - mutant.line))
        else:
            mutant.outcome = "gone (line changed)"
        result.append(mutant)
    return result


def tests_for(relative: str) -> list[str]:
    for prefix, tests in TESTS.items():
        if relative.startswith(prefix):
            return tests
    raise KeyError(relative)


def make_copy() -> Path:
    """The committed tree plus this checkout's uncommitted changes to the package and tests."""
    copy = Path(tempfile.mkdtemp(prefix="alembic-env-lsp-mutation-"))
    for folder in ("server", "tests", "examples", "bench", "docs"):
        if (ROOT / folder).exists():
            shutil.copytree(
                ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__")
            )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, copy / name)
    return copy


def run_tests(
    copy: Path, tests: list[str], timeout: float, deselect: tuple[str, ...] = (), stop: bool = True
) -> tuple[str, float, list[str]]:
    """(outcome, seconds, ids of the failed tests)."""
    env = {
        **os.environ,
        # the copy's package, in pytest and in every process it starts
        "PYTHONPATH": os.pathsep.join([str(copy / "server"), os.environ.get("PYTHONPATH", "")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "ALEMBIC_ENV_LSP_ALLOW_NO_PG": "1",
    }
    command = [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider"]
    command += ["-p", "no:randomly", "-n", "0", *(["-x"] if stop else [])]
    command += [f"--deselect={test}" for test in deselect] + tests
    start = time.monotonic()
    try:
        result = subprocess.run(
            command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start, []
    seconds = time.monotonic() - start
    failed = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("FAILED ")]
    if result.returncode == 0:
        return "survived", seconds, failed
    if result.returncode == 1:
        return "killed", seconds, failed
    return f"error {result.returncode}", seconds, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=60, help="mutants to run (0: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", help="only modules whose path contains this")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per mutant")
    parser.add_argument("--json", type=Path, help="write every result here")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--replay", type=Path, help="run the mutants of an earlier --json")
    parser.add_argument(
        "--survivors", action="store_true", help="with --replay, only the mutants that survived"
    )
    args = parser.parse_args(argv)

    mutants = replayed(args.replay, args.survivors) if args.replay else all_mutants(args.only)
    if args.list:
        for m in mutants:
            print(f"{m.path}:{m.line}: {m.kind}: {m.after.strip()}")
        print(f"{len(mutants)} mutants")
        return 0
    chosen = mutants
    if args.sample and args.sample < len(mutants) and not args.replay:
        chosen = sorted(
            random.Random(args.seed).sample(mutants, args.sample), key=lambda m: (m.path, m.line)
        )
    origin = f"replaying {args.replay}" if args.replay else f"seed {args.seed}"
    print(f"{len(mutants)} mutants; running {len(chosen)} ({origin})", flush=True)
    copy = make_copy()
    try:
        # Tests that already fail without a mutant (work in progress) cannot tell anything:
        # they are deselected, and listed.
        baseline: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}
        for number, mutant in enumerate(chosen, 1):
            tests = tests_for(mutant.path)
            if mutant.outcome:  # replayed, and its line is gone
                print(f"[{number}/{len(chosen)}] {mutant.outcome} {mutant.path}:{mutant.line}")
                continue
            if tuple(tests) not in baseline:
                outcome, _, failed = run_tests(copy, tests, args.timeout * 3, stop=False)
                if failed:
                    print(f"failing without any mutant (deselected): {' '.join(failed)}")
                baseline[tuple(tests)] = (
                    "ok" if outcome == "survived" or (outcome == "killed" and failed) else outcome,
                    tuple(failed),
                )
            status, deselect = baseline[tuple(tests)]
            if status != "ok":
                mutant.outcome = f"skipped (tests: {status} without the mutant)"
            else:
                target = copy / PACKAGE / mutant.path
                original = target.read_text(encoding="utf-8")
                lines = original.split("\n")
                lines[mutant.line - 1] = mutant.after
                mutated = "\n".join(lines)
                try:
                    compile(mutated, str(target), "exec")
                except SyntaxError:
                    mutant.outcome = "invalid"
                else:
                    target.write_text(mutated, encoding="utf-8")
                    try:
                        mutant.outcome, mutant.seconds, _ = run_tests(
                            copy, tests, args.timeout, deselect
                        )
                    finally:
                        target.write_text(original, encoding="utf-8")
            print(
                f"[{number}/{len(chosen)}] {mutant.outcome:8} {mutant.path}:{mutant.line} "
                f"{mutant.kind}: {mutant.after.strip()[:90]}",
                flush=True,
            )
            if args.json:  # after each mutant: an interrupted run keeps what it measured
                _write_json(args.json, chosen, {"done": number})
    finally:
        shutil.rmtree(copy, ignore_errors=True)

    counted = [m for m in chosen if m.outcome in ("killed", "survived", "timeout")]
    killed = sum(m.outcome in ("killed", "timeout") for m in counted)
    score = 100 * killed / len(counted) if counted else 0.0
    print(f"\nkilled {killed} of {len(counted)} mutants: {score:.0f}%")
    survivors = [m for m in counted if m.outcome == "survived"]
    if survivors:
        print("survived (no test noticed):")
        for m in survivors:
            print(
                f"  {m.path}:{m.line} {m.kind}\n    - {m.before.strip()}\n    + {m.after.strip()}"
            )
    if args.json:
        _write_json(args.json, chosen, {"score": score, "killed": killed, "counted": len(counted)})
    return 0


def _write_json(path: Path, mutants: list[Mutant], totals: dict) -> None:
    path.write_text(
        json.dumps({**totals, "mutants": [asdict(m) for m in mutants]}, indent=1), encoding="utf-8"
    )


if __name__ == "__main__":
    raise SystemExit(main())
