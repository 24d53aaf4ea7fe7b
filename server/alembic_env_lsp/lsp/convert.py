"""Engine values <-> LSP messages. The only module that builds or reads lsprotocol types.

Engine positions are (0-based line, code-point column) over lines broken at \\n, \\r\\n and
\\r ("server units"). The client counts columns in the negotiated encoding (UTF-16 unless it
offered another); `Codec` converts with pygls' position codec for that encoding. `lines` is
anything with `.line(i)` (text without its break) and `.line_count`: `text.SourceText` for
what the engine analysed, `documents.Document` for what the editor has open.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lsprotocol import types as t

from .. import text as tx

SOURCE = "alembic-env"
FIX_ALL_KIND = "source.fixAll.alembic-env"
QUICKFIX = t.CodeActionKind.QuickFix.value
REWRITE = t.CodeActionKind.RefactorRewrite.value
EXPLAIN_COMMAND = "alembic-env.explain"
CONVERT_COMMAND = "alembic-env.convertToAsync"
FIX_ALL_COMMAND = "alembic-env.fixAll"
CODE_ACTION_KINDS = (QUICKFIX, REWRITE, FIX_ALL_KIND)
WATCHED_GLOBS = ("**/alembic.ini", "**/pyproject.toml")

LEVELS = {
    "error": t.MessageType.Error,
    "warning": t.MessageType.Warning,
    "info": t.MessageType.Info,
    "log": t.MessageType.Log,
}


class Lines(Protocol):
    @property
    def line_count(self) -> int: ...

    def line(self, index: int) -> str: ...


# --- what the client can do ---


def _get(obj: Any, dotted: str) -> Any:
    """The capability at `dotted`, None where the client left any part out."""
    for part in dotted.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    return obj


@dataclass(frozen=True)
class ClientFeatures:
    pull_diagnostics: bool = False
    diagnostic_refresh: bool = False
    code_lens_refresh: bool = False
    configuration: bool = False
    watch_dynamic: bool = False
    configuration_dynamic: bool = False
    document_changes: bool = False
    apply_edit: bool = False
    resolve_edit: bool = False
    code_action_literals: bool = True

    @staticmethod
    def of(caps: t.ClientCapabilities | None) -> ClientFeatures:
        resolve = _get(caps, "text_document.code_action.resolve_support.properties") or ()
        return ClientFeatures(
            pull_diagnostics=_get(caps, "text_document.diagnostic") is not None,
            diagnostic_refresh=bool(_get(caps, "workspace.diagnostics.refresh_support")),
            code_lens_refresh=bool(_get(caps, "workspace.code_lens.refresh_support")),
            configuration=bool(_get(caps, "workspace.configuration")),
            watch_dynamic=bool(
                _get(caps, "workspace.did_change_watched_files.dynamic_registration")
            ),
            configuration_dynamic=bool(
                _get(caps, "workspace.did_change_configuration.dynamic_registration")
            ),
            document_changes=bool(_get(caps, "workspace.workspace_edit.document_changes")),
            apply_edit=bool(_get(caps, "workspace.apply_edit")),
            resolve_edit="edit" in resolve,
            code_action_literals=_get(caps, "text_document.code_action.code_action_literal_support")
            is not None
            or caps is None,
        )


# --- positions ---


class Codec:
    """Server units <-> client units, in the encoding negotiated at initialize."""

    def __init__(self, position_codec: Any = None):
        self._codec = position_codec
        encoding = getattr(position_codec, "encoding", None) or "utf-16"
        self.encoding = str(getattr(encoding, "value", encoding))

    def units(self, s: str) -> int:
        if s.isascii():
            return len(s)  # one unit per character in UTF-8, UTF-16 and UTF-32 alike
        if self._codec is None:  # UTF-16, LSP's default
            return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)
        return self._codec.client_num_units(s)

    def position(self, lines: Lines, pos: tx.Position) -> t.Position:
        line = lines.line(pos.line)
        return t.Position(line=pos.line, character=self.units(line[: max(pos.character, 0)]))

    def range(self, lines: Lines, rng: tx.Range) -> t.Range:
        return t.Range(start=self.position(lines, rng.start), end=self.position(lines, rng.end))

    def from_client(
        self, lines: Lines, pos: t.Position, *, clamp: bool = False
    ) -> tx.Position | None:
        """A client position in server units; None when it is outside the text (unless clamped)."""
        from .documents import code_points_for_units

        count = lines.line_count
        line_no = pos.line
        if line_no < 0:
            return tx.Position(0, 0) if clamp else None
        if line_no >= count:
            if not clamp:
                return None
            last = max(count - 1, 0)
            return tx.Position(last, len(lines.line(last)))
        line = lines.line(line_no)
        if pos.character > self.units(line) and not clamp:
            return None
        return tx.Position(line_no, code_points_for_units(line, max(pos.character, 0), self.units))

    def range_from_client(self, lines: Lines, rng: t.Range) -> tx.Range:
        start = self.from_client(lines, rng.start, clamp=True)
        end = self.from_client(lines, rng.end, clamp=True)
        assert start is not None and end is not None
        return tx.Range(start, end) if start <= end else tx.Range(end, start)


def content_changes(
    params: t.DidChangeTextDocumentParams,
) -> list[tuple[tuple[int, int] | None, tuple[int, int] | None, str]]:
    """(start, end, text) per change, positions as (line, client-unit column); None = whole text."""
    out: list[tuple[tuple[int, int] | None, tuple[int, int] | None, str]] = []
    for change in params.content_changes:
        rng = getattr(change, "range", None)
        if rng is None:
            out.append((None, None, change.text))
        else:
            out.append(
                (
                    (rng.start.line, rng.start.character),
                    (rng.end.line, rng.end.character),
                    change.text,
                )
            )
    return out


# --- diagnostics ---


def rule_href(code: str) -> str:
    from ..docs import rule_url

    return rule_url(code)


def diagnostic(
    finding,
    lines: Lines,
    codec: Codec,
    *,
    data: Any = None,
    related: Sequence[tuple[str, t.Range, str]] = (),
) -> t.Diagnostic:
    return t.Diagnostic(
        range=codec.range(lines, finding.range),
        message=finding.message,
        severity=t.DiagnosticSeverity(int(finding.severity)),
        code=finding.code,
        code_description=t.CodeDescription(href=rule_href(finding.code)),
        source=SOURCE,
        related_information=[
            t.DiagnosticRelatedInformation(location=t.Location(uri=uri, range=rng), message=message)
            for uri, rng, message in related
        ]
        or None,
        data=data,
    )


def same_diagnostic(d: t.Diagnostic) -> tuple:
    r = d.range
    return (r.start.line, r.start.character, r.end.line, r.end.character, d.code, d.message)


def identity(d: t.Diagnostic) -> tuple:
    """What makes two diagnostics look the same to the user (severity included)."""
    return same_diagnostic(d) + (int(d.severity or 0),)


def diagnostic_range(d: t.Diagnostic) -> t.Range:
    return d.range


def publish(
    uri: str, version: int | None, diagnostics: Sequence[t.Diagnostic]
) -> t.PublishDiagnosticsParams:
    return t.PublishDiagnosticsParams(uri=uri, diagnostics=list(diagnostics), version=version)


def full_report(
    items: Sequence[t.Diagnostic], result_id: str
) -> t.RelatedFullDocumentDiagnosticReport:
    return t.RelatedFullDocumentDiagnosticReport(items=list(items), result_id=result_id)


def unchanged_report(result_id: str) -> t.RelatedUnchangedDocumentDiagnosticReport:
    return t.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)


def diagnostic_options() -> t.DiagnosticOptions:
    # alembic.ini changes change env.py's diagnostics: tell pull clients to re-ask for others.
    return t.DiagnosticOptions(
        identifier=SOURCE, inter_file_dependencies=True, workspace_diagnostics=False
    )


# --- hover, lens ---


def hover(markdown: str, lines: Lines, codec: Codec, rng: tx.Range | None) -> t.Hover:
    return t.Hover(
        contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value=markdown),
        range=codec.range(lines, rng) if rng is not None else None,
    )


def explain_lens(uri: str, title: str) -> t.CodeLens:
    return t.CodeLens(
        range=t.Range(start=t.Position(line=0, character=0), end=t.Position(line=0, character=0)),
        command=t.Command(title=title, command=EXPLAIN_COMMAND, arguments=[uri]),
    )


# --- edits and code actions ---


@dataclass
class FileEdits:
    uri: str
    version: int | None
    lines: Lines
    edits: list  # text.TextEdit, in server units of `lines`


def workspace_edit(
    files: Iterable[FileEdits], codec: Codec, *, document_changes: bool
) -> t.WorkspaceEdit:
    files = [f for f in files if f.edits]
    if document_changes:
        return t.WorkspaceEdit(
            document_changes=[
                t.TextDocumentEdit(
                    text_document=t.OptionalVersionedTextDocumentIdentifier(
                        uri=f.uri, version=f.version
                    ),
                    edits=[
                        t.TextEdit(range=codec.range(f.lines, e.range), new_text=e.new_text)
                        for e in f.edits
                    ],
                )
                for f in files
            ]
        )
    return t.WorkspaceEdit(
        changes={
            f.uri: [
                t.TextEdit(range=codec.range(f.lines, e.range), new_text=e.new_text)
                for e in f.edits
            ]
            for f in files
        }
    )


def code_action(
    title: str,
    kind: str,
    *,
    diagnostics: Sequence[t.Diagnostic] = (),
    preferred: bool | None = None,
    edit: t.WorkspaceEdit | None = None,
    command: tuple[str, str, list] | None = None,
    data: Any = None,
) -> t.CodeAction:
    return t.CodeAction(
        title=title,
        kind=kind,
        diagnostics=list(diagnostics) or None,
        is_preferred=preferred,
        edit=edit,
        command=t.Command(title=command[0], command=command[1], arguments=command[2])
        if command
        else None,
        data=data,
    )


def with_resolution(
    action: t.CodeAction, edit: t.WorkspaceEdit | None, command: tuple[str, str, list] | None
) -> t.CodeAction:
    action.edit = edit
    if command is not None:
        action.command = t.Command(title=command[0], command=command[1], arguments=command[2])
    return action


def code_action_options() -> t.CodeActionOptions:
    return t.CodeActionOptions(code_action_kinds=list(CODE_ACTION_KINDS), resolve_provider=True)


def kind_wanted(kind: str, only: Sequence[str] | None) -> bool:
    """LSP's `only` filter: a kind matches an entry equal to it or a prefix at a dot."""
    if not only:
        return True
    return any(kind == o or kind.startswith(str(o) + ".") or o == "" for o in only)


# --- messages to the client ---


def log(level: str, message: str) -> t.LogMessageParams:
    return t.LogMessageParams(type=LEVELS.get(level, t.MessageType.Log), message=message)


def show(level: str, message: str) -> t.ShowMessageParams:
    return t.ShowMessageParams(type=LEVELS.get(level, t.MessageType.Info), message=message)


def apply_edit(edit: t.WorkspaceEdit, label: str) -> t.ApplyWorkspaceEditParams:
    return t.ApplyWorkspaceEditParams(edit=edit, label=label)


def applied(result: Any) -> tuple[bool, str | None]:
    if result is None:
        return False, "the editor did not answer"
    ok = bool(getattr(result, "applied", False))
    return ok, None if ok else (
        getattr(result, "failure_reason", None) or "the editor did not apply the edit"
    )


def configuration_request(items: Sequence[tuple[str, str | None]]) -> t.ConfigurationParams:
    return t.ConfigurationParams(
        items=[t.ConfigurationItem(section=section, scope_uri=scope) for section, scope in items]
    )


def registrations(*, watch: bool, configuration: bool, section: str) -> t.RegistrationParams | None:
    regs = []
    if watch:
        regs.append(
            t.Registration(
                id="alembic-env-watch",
                method=t.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=t.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[t.FileSystemWatcher(glob_pattern=glob) for glob in WATCHED_GLOBS]
                ),
            )
        )
    if configuration:
        regs.append(
            t.Registration(
                id="alembic-env-configuration",
                method=t.WORKSPACE_DID_CHANGE_CONFIGURATION,
                register_options=t.DidChangeConfigurationRegistrationOptions(section=section),
            )
        )
    return t.RegistrationParams(registrations=regs) if regs else None


def folders(params_folders: Iterable[t.WorkspaceFolder] | None) -> list[tuple[str, str]]:
    """(uri, path) of each file-system workspace folder."""
    from .documents import uri_to_path

    out = []
    for folder in params_folders or ():
        path = uri_to_path(folder.uri)
        if path:
            out.append((folder.uri, path))
    return out


def initial_folders(params: t.InitializeParams) -> list[tuple[str, str]]:
    """The workspace folders at initialize; the root URI when a client sends only that."""
    found = folders(params.workspace_folders)
    if not found and params.root_uri:
        found = folders([t.WorkspaceFolder(uri=params.root_uri, name="root")])
    return found


def only_kinds(params: t.CodeActionParams) -> list[str] | None:
    only = params.context.only
    return [str(getattr(kind, "value", kind)) for kind in only] if only else None


def action_data(action: t.CodeAction) -> Any:
    return action.data


def action_title(action: t.CodeAction) -> str:
    return action.title


def save_options() -> t.SaveOptions:
    return t.SaveOptions(include_text=False)


def changed_files(params: t.DidChangeWatchedFilesParams) -> list[str]:
    return [change.uri for change in params.changes]
