"""Documentation generated from the rule units: the README table and docs/rules.md.

`python -m alembic_env_lsp.docs` rewrites both; a test fails when they are out of date."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .rules import all_rules

TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"
DOCS_URL = "https://github.com/alembic-env-lsp/alembic-env-lsp/blob/main/docs/rules.md"


def rule_anchor(code: str) -> str:
    return code.lower()


def rule_url(code: str) -> str:
    return f"{DOCS_URL}#{rule_anchor(code)}"


def rule_table() -> str:
    lines = ["| Code | Name | Severity | Fix | What it finds |", "|---|---|---|---|---|"]
    for rule in all_rules():
        summary = rule.summary.replace("|", "\\|")
        fix = "yes" if rule.fixable else ""
        lines.append(
            f"| [{rule.code}](docs/rules.md#{rule_anchor(rule.code)}) | {rule.name} | {rule.severity.label} | {fix} | {summary} |"
        )
    return "\n".join(lines) + "\n"


def rules_document() -> str:
    parts = [
        "# Rules",
        "",
        "Generated from the rule units in `server/alembic_env_lsp/rules/` by `python -m alembic_env_lsp.docs`.",
        "Run `alembic-env-lsp explain ENV001` for the same text in a terminal.",
        "",
    ]
    for rule in all_rules():
        parts.append(f'<a id="{rule_anchor(rule.code)}"></a>')
        parts.append("")
        parts.append(rule.markdown().replace("### ", "## ", 1))
        parts.append("")
    return "\n".join(parts)


def readme_with_table(readme: str) -> str:
    pattern = re.compile(re.escape(TABLE_START) + r".*?" + re.escape(TABLE_END), re.S)
    block = f"{TABLE_START}\n{rule_table()}{TABLE_END}"
    if not pattern.search(readme):
        raise ValueError(f"README has no {TABLE_START} ... {TABLE_END} block")
    return pattern.sub(lambda _: block, readme)


def main(argv: list[str] | None = None) -> int:
    root = Path(argv[0]) if argv else Path.cwd()
    readme = root / "README.md"
    readme.write_text(readme_with_table(readme.read_text(encoding="utf-8")), encoding="utf-8")
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "rules.md").write_text(rules_document(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
