"""Helpers shared by the tests (on sys.path through pytest's `pythonpath` in pyproject.toml):

- rules: run a rule's documented examples, apply a fix (tests/test_rule_examples.py).
- lsp: the real server over stdio driven like an editor (tests/lsp, tests/robustness).
- lsp_stderr_wrapper: a script that runs the server with its stderr in a file.
- robustness: seeds, mutations and shared checks of the robustness tests.
- rewrite_cases, rewrite_checks: the rewrite fixtures (tests/fixtures/rewrite) and their checks.
"""
