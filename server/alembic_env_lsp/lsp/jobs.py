"""What the analysis thread computes: one env script's analysis turned into diagnostics for
env.py and for the ini files it reads, and the env scripts an ini file configures.

Everything here runs off the event loop and gets its inputs as immutable snapshots; the
engine is imported here, so the server's startup never pays for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..pyenv import EDITOR_SETTING, PythonChoice
from ..text import SourceText
from . import convert
from .config import EditorSettings, unknown_codes
from .documents import path_key

MAX_ENV_BYTES = 2 * 1024 * 1024


def file_uri(path: str) -> str:
    return Path(path).as_uri()


@dataclass(frozen=True)
class EnvInput:
    gen: int
    key: str
    path: str | None  # None: not a file (an unsaved buffer): analysed without a project
    uri: str
    version: int | None  # None: the text comes from disk
    text: str | None  # None: read the file
    editor: EditorSettings
    ini_versions: Mapping[str, int | None]  # open ini documents: key -> version
    uris: Mapping[str, str]  # open documents: path key -> the URI the editor uses
    code: Any = (
        None  # workspace.Workspace: the project's other Python files, for rules that read them
    )


@dataclass
class IniItem:
    """A finding shown on an ini file, and where it came from in the env script's analysis."""

    finding: Any
    index: int  # into Analysis.findings
    related: int | None  # index into that finding's `related`, None if the finding itself
    diagnostic: Any


@dataclass
class EnvResult:
    gen: int
    key: str
    path: str | None
    uri: str
    version: int | None
    enabled: bool
    code_lens: bool
    analysis: Any = None  # engine.Analysis
    source: SourceText | None = None
    env_diagnostics: list = field(default_factory=list)
    env_indexes: list[int] = field(
        default_factory=list
    )  # Analysis.findings index of each env diagnostic
    ini_items: dict[str, list[IniItem]] = field(default_factory=dict)
    ini_paths: dict[str, str] = field(default_factory=dict)
    ini_versions: Mapping[str, int | None] = field(default_factory=dict)
    deps: frozenset[str] = frozenset()
    problems: list[str] = field(default_factory=list)  # settings the user should fix
    internal_errors: list[str] = field(default_factory=list)  # rule bugs (already redacted)
    failed: str | None = None  # the analysis itself crashed (then no diagnostics)


def read_text(path: str, limit: int = MAX_ENV_BYTES) -> tuple[str | None, str | None]:
    """A file's text as an editor shows it (UTF-8, BOM dropped), or (None, reason)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        return None, f"cannot read {path}: {error.strerror or type(error).__name__}"
    if len(data) > limit:
        return None, f"{path} is larger than {limit} bytes; not analysed"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return (
            None,
            f"{path} is not UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); not analysed",
        )
    return (text[1:] if text.startswith("\ufeff") else text), None


def analyse_env(inp: EnvInput, projects, codec: convert.Codec) -> EnvResult:
    """Never raises: a crash becomes `failed` (logged), and the editor gets no diagnostics."""
    try:
        return _analyse_env(inp, projects, codec)
    except Exception as error:
        import traceback

        from ..redact import redact_text

        where = traceback.extract_tb(error.__traceback__)[-1]
        return EnvResult(
            gen=inp.gen,
            key=inp.key,
            path=inp.path,
            uri=inp.uri,
            version=inp.version,
            enabled=inp.editor.enable,
            code_lens=False,
            ini_versions=inp.ini_versions,
            failed=redact_text(
                f"{type(error).__name__}: {error} ({where.filename}:{where.lineno})"
            ),
        )


def _analyse_env(inp: EnvInput, projects, codec: convert.Codec) -> EnvResult:
    from ..engine import SettingsError, analyze, project_settings
    from ..rules import all_rules

    result = EnvResult(
        gen=inp.gen,
        key=inp.key,
        path=inp.path,
        uri=inp.uri,
        version=inp.version,
        enabled=inp.editor.enable,
        code_lens=inp.editor.code_lens,
        ini_versions=inp.ini_versions,
    )
    if not inp.editor.enable:
        return result
    text = inp.text
    if text is None and inp.path is not None:
        text, problem = read_text(inp.path)
        if text is None:
            result.problems.append(problem or f"cannot read {inp.path}")
            return result

    known = {rule.code for rule in all_rules()}
    result.problems.extend(inp.editor.problems)
    for code in unknown_codes(inp.editor, known):
        result.problems.append(f"editor settings: {code!r} matches no rule")

    if text is None:
        return result
    context = projects.context_for(Path(inp.path)) if inp.path else None
    if context is not None:  # the editor's `python` of this script's folder
        python = PythonChoice(inp.editor.python, EDITOR_SETTING, server_interpreter=True)
        context = replace(context, python_choice=python)
    deps = set()
    if context is not None:
        for ini in [context.ini, *context.other_inis]:
            if ini is not None:
                deps.add(path_key(ini.path))
        if context.pyproject is not None:
            deps.add(path_key(context.pyproject.path))
    result.deps = frozenset(deps)

    try:
        settings = project_settings(context, inp.editor.rules)
    except SettingsError as error:
        settings = inp.editor.rules
        result.problems.append(str(error))

    analysis = analyze(text, inp.path, project=context, settings=settings, workspace=inp.code)
    result.analysis = analysis
    result.source = source = analysis.source
    result.internal_errors = list(analysis.internal_errors)

    ini_lines: dict[str, SourceText] = {}

    def lines_of(path: str) -> SourceText:
        """The text a finding outside env.py (alembic.ini, pyproject.toml) was located in."""
        key = path_key(path)
        if key not in ini_lines:
            if path.endswith(".ini"):  # as the project read it (the editor's text if open)
                text = projects.ini(Path(path)).text
            else:
                text = read_text(path)[0] or ""
            ini_lines[key] = SourceText(text)
        return ini_lines[key]

    def uri_of(path: str) -> str:
        return inp.uris.get(path_key(path)) or file_uri(path)

    env_name = os.path.basename(inp.path or "env.py")
    for index, finding in enumerate(analysis.findings):
        data = {"index": index, "version": inp.version}
        if finding.path is None:
            related = []
            for j, twin in enumerate(finding.related):
                if not twin.path:
                    continue
                twin_lines = lines_of(twin.path)
                twin_range = codec.range(twin_lines, twin.range)
                related.append(
                    (uri_of(twin.path), twin_range, f"Also shown in {os.path.basename(twin.path)}")
                )
                twin_diagnostic = convert.diagnostic(
                    twin,
                    twin_lines,
                    codec,
                    data={"env": inp.uri, "index": index, "related": j},
                    related=[(inp.uri, codec.range(source, finding.range), f"Found in {env_name}")],
                )
                _add_ini_item(result, twin.path, IniItem(twin, index, j, twin_diagnostic))
            result.env_diagnostics.append(
                convert.diagnostic(finding, source, codec, data=data, related=related)
            )
            result.env_indexes.append(index)
        else:
            diagnostic = convert.diagnostic(
                finding,
                lines_of(finding.path),
                codec,
                data={"env": inp.uri, "index": index, "related": None},
            )
            _add_ini_item(result, finding.path, IniItem(finding, index, None, diagnostic))
    return result


def _add_ini_item(result: EnvResult, path: str, item: IniItem) -> None:
    key = path_key(path)
    result.ini_paths[key] = path
    result.ini_items.setdefault(key, []).append(item)


def ini_dependents(ini_path: str, projects) -> list[str]:
    """The env scripts whose project context reads this ini file (script_location of any
    section, or the same folder's pyproject.toml [tool.alembic] when the ini has none).
    Never raises: a file that cannot be read configures nothing."""
    try:
        return _ini_dependents(ini_path, projects)
    except Exception:
        return []


def _ini_dependents(ini_path: str, projects) -> list[str]:
    ini = projects.ini(Path(ini_path))
    candidates: list[Path] = []
    for section in ini.sections():
        try:
            location = ini.script_location_for(section)
        except Exception:  # a broken value in one section must not hide the others
            location = None
        if location is not None:
            candidates.append(location / "env.py")
    pyproject_path = Path(ini_path).parent / "pyproject.toml"
    if pyproject_path.is_file():
        location = projects.pyproject(pyproject_path).script_location
        if location is not None:
            candidates.append(location / "env.py")
    me = path_key(ini_path)
    found: list[str] = []
    for env in candidates:
        if not env.is_file():
            continue
        context = projects.context_for(env)
        inis = [context.ini, *context.other_inis]
        if any(i is not None and path_key(i.path) == me for i in inis):
            path = os.path.abspath(env)
            if path not in found:
                found.append(path)
    return found
