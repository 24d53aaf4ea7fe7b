"""Seeds, mutations and the checks shared by the robustness tests.

Seeds are real env.py files: Alembic's installed templates, the project's fixtures and
examples, and every rule's examples. Mutations are what half-typed code looks like:
deleted tokens, duplicated or swapped lines, truncation, odd indentation, non-ASCII
identifiers and strings, other line endings.
"""

from __future__ import annotations

import ast
import configparser
import io
import keyword
import os
import re
import tokenize
from collections import Counter
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from alembic_env_lsp.engine import analyze
from alembic_env_lsp.project import ProjectIndex
from alembic_env_lsp.rules import all_rules
from alembic_env_lsp.text import Range, SourceText, apply_edits

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
ROBUST_FIXTURES = FIXTURES / "robustness"
TEMPLATE_NAMES = ("generic", "async", "multidb", "pyproject", "pyproject_async")


# --------------------------------------------------------------------------- seeds


@dataclass(frozen=True)
class Seed:
    name: str
    env: str
    ini: str | None = None  # alembic.ini next to env.py (script_location = %(here)s)

    def __repr__(self) -> str:  # hypothesis prints the seed; the name is enough
        return f"Seed({self.name!r})"


def template_env(name: str) -> str:
    return (files("alembic") / "templates" / name / "env.py").read_text(encoding="utf-8")


def template_ini(name: str, url: str | None = None) -> str:
    """The template's alembic.ini with env.py in the ini's own folder."""
    text = (files("alembic") / "templates" / name / "alembic.ini.mako").read_text(encoding="utf-8")
    text = text.replace("${script_location}", "%(here)s").replace("${prepend_sys_path}", ".")
    if "script_location" not in text:  # the pyproject templates keep it in pyproject.toml
        text = text.replace("[alembic]", "[alembic]\nscript_location = %(here)s", 1)
    if url is not None:
        text = re.sub(r"(?m)^sqlalchemy\.url = .*$", lambda _: f"sqlalchemy.url = {url}", text)
        if "sqlalchemy.url" not in text:
            text = text.replace("[alembic]", f"[alembic]\nsqlalchemy.url = {url}", 1)
    return text


_NO_LOGGING_INI = (
    "[alembic]\nscript_location = %(here)s\nsqlalchemy.url = postgresql+asyncpg://app:pw@db/app\n"
)
_PERCENT_INI = (
    "[alembic]\nscript_location = %(here)s\nsqlalchemy.url = postgresql://app:p%%40ss@db/app\n"
)


def _fixture_files() -> list[Path]:
    found = []
    for base in (FIXTURES, ROOT / "examples"):
        if base.is_dir():
            found += sorted(base.rglob("*.py"))
    return found


def seeds() -> list[Seed]:
    out: list[Seed] = []
    for name in TEMPLATE_NAMES:
        env = template_env(name)
        out.append(Seed(f"template:{name}", env))
        out.append(Seed(f"template:{name}+ini", env, template_ini(name)))
        out.append(
            Seed(
                f"template:{name}+psycopg2",
                env,
                template_ini(name, "postgresql+psycopg2://app:pw@db/app"),
            )
        )
        out.append(
            Seed(
                f"template:{name}+asyncpg",
                env,
                template_ini(name, "postgresql+asyncpg://app:pw@db/app"),
            )
        )
        out.append(Seed(f"template:{name}+nologging", env, _NO_LOGGING_INI))
        out.append(Seed(f"template:{name}+percent", env, _PERCENT_INI))
    for path in _fixture_files():
        ini = path.parent / "alembic.ini"
        if not ini.is_file():
            ini = path.parent.parent / "alembic.ini"
        ini_text = None
        if ini.is_file():
            ini_text = ini.read_text(encoding="utf-8")
            ini_text = re.sub(r"(?m)^script_location = .*$", "script_location = %(here)s", ini_text)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        out.append(Seed(f"file:{path.relative_to(ROOT)}", text, ini_text))
    for rule in all_rules():
        for kind, examples in (("invalid", rule.invalid), ("valid", rule.valid)):
            for index, example in enumerate(examples):
                out.append(Seed(f"rule:{rule.code}-{kind}-{index}", example.code, example.ini))
    return out


# --------------------------------------------------------------------------- mutations

_WORD_OR_CHAR = re.compile(r"[^\W\d]\w*|\d+|\S", re.UNICODE)
_IDENT = re.compile(r"[A-Za-z_]\w*")
_STRING = re.compile(r"""(?P<q>['"])(?:(?!(?P=q)|\\).|\\.)*(?P=q)""")
INSERT_TOKENS = (
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "=",
    ".",
    "\\",
    "'",
    '"',
    '"""',
    "#",
    "@",
    "*",
    "**",
    "await ",
    "async ",
    "with ",
    "def ",
    "lambda ",
    "yield ",
    "return ",
    "not ",
    "if ",
    "else:",
    "\t",
    "\n",
    "\r",
    "\r\n",
    " ",
    "    ",
    "\x0c",
    "None",
    "context",
    "connection",
    "engine",
    "create_async_engine(",
    "asyncio.run(",
    ".begin()",
    "run_sync(",
    "pool.NullPool",
)
INDENTS = ("", " ", "  ", "   ", "    ", "\t", " \t", "\t ", "        ", "\t\t", "            ")
NON_ASCII_SNIPPETS = (
    "é",
    "e\u0301",
    "ß",
    "😀",
    "𐐷",
    "数据库",
    "עברית",
    "مرحبا",
    "\u200d",
    "\u200b",
    "\ufeff",
    "\u2028",
    "\u2029",
    "\x85",
    "\x0c",
    "\x0b",
    "Ω≈ç√",
    "𝔘𝔫𝔦",
    "ｆｕｌｌ",
    "\U0010ffff",
)


def _fullwidth(name: str) -> str:
    return "".join(
        chr(ord(c) + 0xFEE0) if c.isascii() and (c.isalnum() or c == "_") else c for c in name
    )


def _math_bold(name: str) -> str:
    out = []
    for c in name:
        if "A" <= c <= "Z":
            out.append(chr(0x1D400 + ord(c) - ord("A")))
        elif "a" <= c <= "z":
            out.append(chr(0x1D41A + ord(c) - ord("a")))
        elif "0" <= c <= "9":
            out.append(chr(0x1D7CE + ord(c) - ord("0")))
        else:
            out.append(c)
    return "".join(out)


IDENT_SPELLINGS = (
    lambda n: "ñ" + n,
    lambda n: n + "_数据",
    lambda n: "Ω" + n,
    lambda n: "𝔡" + n,
    _fullwidth,  # NFKC-equal: Python reads the same name, positions differ
    _math_bold,  # NFKC-equal and outside the BMP: two UTF-16 units per character
    lambda n: "café",
)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [""]


def mutate(draw, st, text: str) -> str:
    """Apply one mutation chosen by hypothesis (`draw`, `st` = hypothesis.strategies)."""
    op = draw(st.sampled_from(MUTATIONS))
    return op(draw, st, text)


def _pick(draw, st, n: int) -> int:
    return draw(st.integers(0, max(n - 1, 0)))


def delete_token(draw, st, text):
    tokens = list(_WORD_OR_CHAR.finditer(text))
    if not tokens:
        return text
    m = tokens[_pick(draw, st, len(tokens))]
    return text[: m.start()] + text[m.end() :]


def insert_token(draw, st, text):
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from(INSERT_TOKENS)) + text[at:]


def duplicate_line(draw, st, text):
    lines = _lines(text)
    i = _pick(draw, st, len(lines))
    line = lines[i] if lines[i].endswith(("\n", "\r")) else lines[i] + "\n"
    return "".join(lines[: i + 1] + [line] + lines[i + 1 :])


def swap_lines(draw, st, text):
    lines = _lines(text)
    i, j = _pick(draw, st, len(lines)), _pick(draw, st, len(lines))
    if not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"
    lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


def delete_line(draw, st, text):
    lines = _lines(text)
    del lines[_pick(draw, st, len(lines))]
    return "".join(lines)


def truncate_line(draw, st, text):
    lines = _lines(text)
    return "".join(lines[: _pick(draw, st, len(lines) + 1)])


def truncate_char(draw, st, text):
    return text[: draw(st.integers(0, len(text)))]


def reindent(draw, st, text):
    lines = _lines(text)
    i = _pick(draw, st, len(lines))
    line = lines[i]
    body = line.lstrip(" \t")
    old = line[: len(line) - len(body)]
    new = draw(
        st.sampled_from(INDENTS + (old + "    ", old + "\t", old[:-1], old.replace("    ", "\t")))
    )
    lines[i] = new + body
    return "".join(lines)


def rename_identifier(draw, st, text):
    names = sorted({m.group(0) for m in _IDENT.finditer(text) if not keyword.iskeyword(m.group(0))})
    if not names:
        return text
    name = names[_pick(draw, st, len(names))]
    new = draw(st.sampled_from(IDENT_SPELLINGS))(name)
    everywhere = draw(st.booleans())
    pattern = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])")
    return pattern.sub(lambda _: new, text, count=0 if everywhere else 1)


def non_ascii_in_string(draw, st, text):
    strings = list(_STRING.finditer(text))
    snippet = draw(st.sampled_from(NON_ASCII_SNIPPETS))
    if strings:
        m = strings[_pick(draw, st, len(strings))]
        at = draw(st.integers(m.start() + 1, m.end() - 1))
        return text[:at] + snippet + text[at:]
    return text + f"\nx = '{snippet}'\n"


def non_ascii_comment(draw, st, text):
    lines = _lines(text)
    i = _pick(draw, st, len(lines))
    line = lines[i]
    body = line.rstrip("\r\n")
    lines[i] = body + "  # " + draw(st.sampled_from(NON_ASCII_SNIPPETS)) + line[len(body) :]
    return "".join(lines)


def line_endings(draw, st, text):
    choice = draw(
        st.sampled_from(("crlf", "cr", "one-cr", "one-crlf", "bom", "no-final-newline", "ff"))
    )
    if choice == "crlf":
        return text.replace("\r\n", "\n").replace("\n", "\r\n")
    if choice == "cr":
        return text.replace("\r\n", "\n").replace("\n", "\r")
    if choice == "bom":
        return "\ufeff" + text
    if choice == "no-final-newline":
        return text.rstrip("\r\n")
    if choice == "ff":
        lines = _lines(text)
        i = _pick(draw, st, len(lines))
        lines[i] = "\x0c" + lines[i]
        return "".join(lines)
    positions = [m.start() for m in re.finditer("\n", text)]
    if not positions:
        return text
    at = positions[_pick(draw, st, len(positions))]
    if text[at - 1 : at] == "\r":
        return text
    return text[:at] + ("\r" if choice == "one-cr" else "\r\n") + text[at + 1 :]


MUTATIONS = (
    delete_token,
    insert_token,
    duplicate_line,
    swap_lines,
    delete_line,
    truncate_line,
    truncate_char,
    reindent,
    rename_identifier,
    non_ascii_in_string,
    non_ascii_comment,
    line_endings,
)

INI_SNIPPETS = (
    "[alembic]\n",
    "[loggers]\n",
    "a = %(b)s\nb = %(a)s\n",
    "sqlalchemy.url = %(missing)s\n",
    "sqlalchemy.url = postgresql://u:50%@h/db\n",
    "script_location = %(here)s\n",
    "  continued\n",
    "\x00\n",
    "[\n",
    "key\n",
    "= value\n",
)


def mutate_ini(draw, st, text: str) -> str:
    choice = draw(st.sampled_from(("line", "snippet", "truncate", "endings")))
    if choice == "line":
        return draw(st.sampled_from((duplicate_line, swap_lines, delete_line, reindent)))(
            draw, st, text
        )
    if choice == "snippet":
        lines = _lines(text)
        i = draw(st.integers(0, len(lines)))
        return "".join(lines[:i] + [draw(st.sampled_from(INI_SNIPPETS))] + lines[i:])
    if choice == "truncate":
        return truncate_char(draw, st, text)
    return line_endings(draw, st, text)


# --------------------------------------------------------------------------- checks


class Workspace:
    """A folder on disk with an alembic.ini whose script_location is the folder itself.

    The ini's text comes from an overlay, so one folder serves every generated ini."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.env_path = folder / "env.py"
        self.ini_path = folder / "alembic.ini"
        if not self.ini_path.exists():
            self.ini_path.write_text("[alembic]\nscript_location = %(here)s\n", encoding="utf-8")

    def analyze(self, env: str, ini: str | None):
        project = None
        if ini is not None:
            index = ProjectIndex()
            index.set_overlay(self.ini_path, ini)
            project = index.context_for(self.env_path)
        return analyze(env, str(self.env_path), project=project)


def parses(text: str) -> bool:
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        ast.parse(text)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


_BUILTINS = frozenset(dir(__import__("builtins"))) | {
    "__file__",
    "__name__",
    "__doc__",
    "__spec__",
    "__loader__",
    "__builtins__",
}


def runnable(text: str) -> bool:
    """Would Python get past compiling and the module-level names of this file? (It compiles,
    and no module-level statement reads a name before something binds it.) Idempotence is
    only asked of fixes on such files: on `config = context.config` above the import of
    `context`, or a repeated keyword argument, "the same finding" is not well defined."""
    import warnings

    text = text.removeprefix("\ufeff")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences in mutated strings
            tree = compile(
                text,
                "env.py",
                "exec",
                ast.PyCF_ONLY_AST | ast.PyCF_TYPE_COMMENTS,
                dont_inherit=True,
            )
            compile(text, "env.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    bound: set[str] = set()

    def names(node, skip_bodies=True):
        stack = [node]
        while stack:
            item = stack.pop()
            if skip_bodies and isinstance(
                item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
            ):
                # decorators, defaults and bases run now; bodies later
                stack.extend(getattr(item, "decorator_list", []))
                args = getattr(item, "args", None)
                if args is not None:
                    stack.extend([*args.defaults, *[d for d in args.kw_defaults if d is not None]])
                stack.extend(getattr(item, "bases", []))
                continue
            if isinstance(item, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                stack.append(item.generators[0].iter)  # the rest binds its own names
                continue
            yield item
            stack.extend(ast.iter_child_nodes(item))

    for stmt in tree.body:
        loads = {
            n.id for n in names(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                bound.add(node.id)
            elif isinstance(node, ast.alias):
                bound.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                bound.update(node.names)
        # a name the same statement binds counts (`with open() as f: f.write()`, loops)
        if loads - bound - _BUILTINS:
            return False
    # Function bodies run when module-level code calls them: an import below the first such
    # call (`asyncio.run(main())` above `from alembic import context`) is not there yet.
    local = {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    calls_local = False
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) and calls_local:
            return False
        if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            calls_local = calls_local or any(
                isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in local
                for n in ast.walk(stmt)
            )
    return True


def python_comments(text: str) -> Counter | None:
    """Comment texts of Python source (None if the tokenizer cannot read it)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    counts: Counter = Counter()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT:
                counts[token.string.rstrip()] += 1
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return counts


def ini_comments(text: str) -> Counter:
    return Counter(
        line.strip()
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if line.strip().startswith(("#", ";"))
    )


def ini_reads(text: str) -> bool:
    parser = configparser.ConfigParser({"here": "/x"})
    try:
        parser.read_string(text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n"))
        return True
    except configparser.Error:
        return False


def assert_range_inside(source: SourceText, rng: Range, what: str) -> None:
    assert rng.start <= rng.end, f"{what}: range ends before it starts: {rng}"
    for pos in (rng.start, rng.end):
        assert 0 <= pos.line < source.line_count, (
            f"{what}: line {pos.line} outside 0..{source.line_count - 1}"
        )
        assert 0 <= pos.character <= len(source.line(pos.line)), (
            f"{what}: column {pos.character} outside line {pos.line} of length {len(source.line(pos.line))}"
        )


def all_findings(analysis):
    for finding in analysis.findings:
        yield finding
        yield from finding.related


@dataclass
class FixOutcome:
    env: str
    ini: str | None


def apply_fix(fix, env_path: Path, env: str, ini_path: Path | None, ini: str | None) -> FixOutcome:
    env_edits = [e for e in fix.edits if e.path in (None, str(env_path))]
    ini_edits = [e for e in fix.edits if e.path is not None and e.path != str(env_path)]
    assert all(ini_path is not None and e.path == str(ini_path) for e in ini_edits), (
        f"fix {fix.title!r} edits a file that is neither env.py nor its ini: {[e.path for e in ini_edits]}"
    )
    new_env = apply_edits(env, env_edits) if env_edits else env
    # Positions in an ini skip its byte-order mark, as in editors and the CLI (which strip it).
    new_ini = apply_edits(ini.removeprefix("\ufeff"), ini_edits) if ini_edits else ini
    return FixOutcome(new_env, new_ini)


def _map_back(edits, source: SourceText, offset1: int) -> int:
    """An offset in the fixed text -> the offset in the original (an edit's start if inside it)."""
    spans = sorted(
        (source.offset(e.range.start), source.offset(e.range.end), e.new_text) for e in edits
    )
    delta = 0
    for start, end, new in spans:
        if offset1 < start + delta:
            return offset1 - delta
        if offset1 < start + delta + len(new):
            return start  # inside the inserted text
        delta += len(new) - (end - start)
    return offset1 - delta


def check_edits_local(before: str, after: str, edits, what: str) -> None:
    """Every line that no edit touches is still there, unchanged and in order."""
    source = SourceText(before)
    touched: set[int] = set()
    for edit in edits:
        assert_range_inside(source, edit.range, f"{what}: edit")
        touched.update(range(edit.range.start.line, edit.range.end.line + 1))
    kept = [
        source.line(i)
        for i in range(source.line_count)
        if i not in touched and source.line(i).strip()
    ]
    after_source = SourceText(after)
    after_lines = [after_source.line(i) for i in range(after_source.line_count)]
    position = 0
    for line in kept:
        try:
            position = after_lines.index(line, position) + 1
        except ValueError:
            raise AssertionError(
                f"{what}: the line {line!r}, outside every edit, is gone"
            ) from None


def check_analysis(workspace: Workspace, env: str, ini: str | None, *, fixes: bool = True) -> dict:
    """The engine's contract on one input. Returns counters for the statistics.

    Fixes are checked on the text an editor or the CLI would hand over: without a BOM."""
    stats = Counter()
    if fixes:
        env = env.removeprefix("\ufeff")
    analysis = workspace.analyze(env, ini)
    assert not analysis.internal_errors, analysis.internal_errors
    stats["parsed" if analysis.parsed else "unparsed"] += 1
    ini_source = SourceText(ini.removeprefix("\ufeff")) if ini is not None else None
    for finding in all_findings(analysis):
        doc = analysis.source if finding.path in (None, str(workspace.env_path)) else ini_source
        assert doc is not None, f"{finding.code} points at {finding.path}"
        assert_range_inside(doc, finding.range, f"{finding.code} {finding.message[:60]!r}")
        stats["findings"] += 1
    if not fixes:
        return stats
    seen = set()
    for finding in all_findings(analysis):
        for fix in finding.fixes:
            key = (finding.code, fix.title, fix.edits)
            if key in seen:
                continue
            seen.add(key)
            stats["fixes"] += 1
            check_fix(workspace, analysis, finding, fix, env, ini)
    return stats


def check_fix(workspace: Workspace, analysis, finding, fix, env: str, ini: str | None) -> None:
    what = f"{finding.code} fix {fix.title!r}"
    env_edits = [e for e in fix.edits if e.path in (None, str(workspace.env_path))]
    ini_edits = [e for e in fix.edits if e not in env_edits]
    outcome = apply_fix(fix, workspace.env_path, env, workspace.ini_path, ini)
    check_edits_local(env, outcome.env, env_edits, what)
    if ini_edits:
        check_edits_local(ini.removeprefix("\ufeff"), outcome.ini, ini_edits, what + " (ini)")
        if ini_reads(ini):
            assert ini_reads(outcome.ini), f"{what}: the ini no longer reads"
        lost = ini_comments(ini) - ini_comments(outcome.ini)
        assert not lost, f"{what}: drops ini comments {list(lost)}"
    if outcome.env == env and outcome.ini == ini:
        return
    assert parses(outcome.env), f"{what}: the result does not parse:\n{outcome.env}"
    before, after = python_comments(env), python_comments(outcome.env)
    if before is not None and after is not None:
        lost = before - after
        assert not lost, f"{what}: drops comments {list(lost)}"
    # Applying it twice equals applying it once: the same finding, at the same place, offers
    # no fix with the same title that changes the text again.
    if not runnable(env):
        return
    again = workspace.analyze(outcome.env, outcome.ini)
    assert not again.internal_errors, again.internal_errors
    source = analysis.source
    region = (
        [(source.offset(finding.range.start), source.offset(finding.range.end))]
        if finding.path is None
        else []
    )
    region += [(source.offset(e.range.start), source.offset(e.range.end)) for e in env_edits]
    for other in all_findings(again):
        if other.code != finding.code or other.path != finding.path:
            continue
        if finding.path is None:
            origin = _map_back(env_edits, source, again.source.offset(other.range.start))
            if not any(start <= origin <= end for start, end in region):
                continue
        for fix2 in other.fixes:
            if fix2.title != fix.title:
                continue
            twice = apply_fix(
                fix2, workspace.env_path, outcome.env, workspace.ini_path, outcome.ini
            )
            assert (twice.env, twice.ini) == (outcome.env, outcome.ini), (
                f"{what}: applying it again changes the text again\n--- once:\n{outcome.env}\n--- twice:\n{twice.env}"
            )


def fix_all(
    workspace: Workspace, env: str, ini: str | None, rounds: int = 8
) -> tuple[str, str | None, int]:
    """Apply every safe fix (first per finding, no overlaps) until nothing changes."""
    env = env.removeprefix("\ufeff")  # as editors and the CLI hand it over
    for round_ in range(rounds):
        analysis = workspace.analyze(env, ini)
        assert not analysis.internal_errors, analysis.internal_errors
        taken_env, taken_ini = [], []
        for finding in all_findings(analysis):
            fix = next((f for f in finding.fixes if f.safe), None)
            if fix is None:
                continue
            env_edits = [e for e in fix.edits if e.path in (None, str(workspace.env_path))]
            ini_edits = [e for e in fix.edits if e not in env_edits]
            if _overlap(taken_env, env_edits) or _overlap(taken_ini, ini_edits):
                continue
            taken_env += env_edits
            taken_ini += ini_edits
        new_env = apply_edits(env, taken_env) if taken_env else env
        new_ini = apply_edits(ini.removeprefix("\ufeff"), taken_ini) if taken_ini else ini
        if (new_env, new_ini) == (env, ini):
            return env, ini, round_
        assert parses(new_env), f"fix-all round {round_ + 1} does not parse:\n{new_env}"
        env, ini = new_env, new_ini
    raise AssertionError(f"safe fixes still change the file after {rounds} rounds:\n{env}")


def _overlap(taken, new) -> bool:
    return any(
        a.range.start < b.range.end and b.range.start < a.range.end or a.range == b.range
        for a in taken
        for b in new
    )


# --------------------------------------------------------------------------- rewrites


def rewrite_functions():
    from alembic_env_lsp.fixes import async_repairs, async_rewrite, sync_rewrite

    return {
        "convert_to_async": async_rewrite.convert_to_async,
        "convert_to_async(no sharing branch)": lambda s: async_rewrite.convert_to_async(
            s, sharing_branch=False
        ),
        "convert_to_sync": sync_rewrite.convert_to_sync,
        "repair_async_connection_configure": async_repairs.repair_async_connection_configure,
    }


def check_rewrite(name: str, function, text: str) -> str:
    """A rewrite's contract: no exception; a changed text parses, keeps every comment, and
    a second run changes nothing. Returns 'changed', 'unchanged' or 'refused'."""
    result = function(text)
    if result.refused is not None:
        assert result.text is None, f"{name}: refused but returned text"
        assert "internal error" not in result.refused, f"{name}: {result.refused}"
        return "refused"
    if not result.changed:
        assert result.text in (None, text), f"{name}: not changed but the text differs"
        return "unchanged"
    out = result.text
    assert out is not None and out != text
    assert parses(out), f"{name}: the rewrite does not parse:\n{out}"
    before, after = python_comments(text), python_comments(out)
    if before is not None and after is not None:
        lost = before - after
        assert not lost, f"{name}: drops comments {list(lost)}"
    second = function(out)
    assert not second.changed or second.text == out, (
        f"{name}: a second run changes the text again\n--- once:\n{out}\n--- twice:\n{second.text}"
    )
    return "changed"


def stats_file() -> Path | None:
    path = os.environ.get("ROBUSTNESS_STATS")
    return Path(path) if path else None


class RandomStrategies:
    """Just enough of hypothesis.strategies for `mutate`, driven by random.Random: for
    loops outside @given (e.g. a stream of edits sent to the language server)."""

    def __init__(self, seed: int):
        import random

        self.random = random.Random(seed)

    def sampled_from(self, items):
        return ("sampled", tuple(items))

    def integers(self, low, high):
        return ("int", low, high)

    def booleans(self):
        return ("bool",)

    def draw(self, spec):
        kind = spec[0]
        if kind == "sampled":
            return self.random.choice(spec[1])
        if kind == "int":
            return self.random.randint(spec[1], spec[2])
        return self.random.random() < 0.5

    def mutate(self, text: str) -> str:
        return mutate(self.draw, self, text)
