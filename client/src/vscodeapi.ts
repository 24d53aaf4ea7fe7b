// The only module of the client logic that touches the `vscode` API at run time.
// Everything else imports these wrappers (and `import type` from 'vscode' for types), so
// unit tests can replace this one module with a fake (see client/test/fakeVscode.ts).
import { PVSC_EXTENSION_ID, PythonExtension } from '@vscode/python-extension';
import * as vscode from 'vscode';

export type LogChannel = vscode.LogOutputChannel;

export function getConfiguration(section: string, scope?: vscode.ConfigurationScope | null): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(section, scope);
}

export function onDidChangeConfiguration(listener: (e: vscode.ConfigurationChangeEvent) => unknown): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration(listener);
}

export function getWorkspaceFolders(): readonly vscode.WorkspaceFolder[] {
  return vscode.workspace.workspaceFolders ?? [];
}

export function getWorkspaceFolder(uri: vscode.Uri): vscode.WorkspaceFolder | undefined {
  return vscode.workspace.getWorkspaceFolder(uri);
}

export function isWorkspaceTrusted(): boolean {
  return vscode.workspace.isTrusted;
}

export function onDidGrantWorkspaceTrust(listener: () => unknown): vscode.Disposable {
  return vscode.workspace.onDidGrantWorkspaceTrust(listener);
}

export function onDidOpenTextDocument(listener: (doc: vscode.TextDocument) => unknown): vscode.Disposable {
  return vscode.workspace.onDidOpenTextDocument(listener);
}

export function textDocuments(): readonly vscode.TextDocument[] {
  return vscode.workspace.textDocuments;
}

export async function findFiles(include: string, maxResults: number): Promise<vscode.Uri[]> {
  return vscode.workspace.findFiles(include, '**/{node_modules,.git,.venv,venv,__pycache__}/**', maxResults);
}

export function activeTextEditor(): vscode.TextEditor | undefined {
  return vscode.window.activeTextEditor;
}

export function createLogChannel(name: string): LogChannel {
  return vscode.window.createOutputChannel(name, { log: true });
}

export function showErrorMessage(message: string, ...items: string[]): Thenable<string | undefined> {
  return vscode.window.showErrorMessage(message, ...items);
}

export function showWarningMessage(message: string, ...items: string[]): Thenable<string | undefined> {
  return vscode.window.showWarningMessage(message, ...items);
}

export function showInformationMessage(message: string, ...items: string[]): Thenable<string | undefined> {
  return vscode.window.showInformationMessage(message, ...items);
}

/** A notification with a spinner while `task` runs; `report` sets the line under the title. */
export function withProgress<T>(title: string, task: (report: (message: string) => void) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, (progress) => task((message) => progress.report({ message })));
}

export interface StatusItem {
  text: string;
  tooltip: string | vscode.MarkdownString | undefined;
  command: string | vscode.Command | undefined;
  backgroundColor: vscode.ThemeColor | undefined;
  name: string | undefined;
  show(): void;
  hide(): void;
  dispose(): void;
}

export function createStatusBarItem(id: string): StatusItem {
  return vscode.window.createStatusBarItem(id, vscode.StatusBarAlignment.Left, 0);
}

export function themeColor(id: string): vscode.ThemeColor {
  return new vscode.ThemeColor(id);
}

export function registerCommand(id: string, handler: (...args: any[]) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(id, handler);
}

export function executeCommand<T = unknown>(id: string, ...args: unknown[]): Thenable<T> {
  return vscode.commands.executeCommand<T>(id, ...args);
}

/** The Python extension's API (activating it if needed); undefined when it is not installed. */
export async function pythonExtensionApi(): Promise<PythonExtension | undefined> {
  if (!vscode.extensions.getExtension(PVSC_EXTENSION_ID)) return undefined;
  return PythonExtension.api();
}

export function uriFile(fsPath: string): vscode.Uri {
  return vscode.Uri.file(fsPath);
}

export function uriParse(value: string): vscode.Uri {
  return vscode.Uri.parse(value);
}

export function withScheme(uri: vscode.Uri, scheme: string): vscode.Uri {
  return uri.with({ scheme });
}

export function joinPath(base: vscode.Uri, ...segments: string[]): vscode.Uri {
  return vscode.Uri.joinPath(base, ...segments);
}

export function createWebviewPanel(viewType: string, title: string, localRoots: vscode.Uri[]): vscode.WebviewPanel {
  return vscode.window.createWebviewPanel(
    viewType,
    title,
    { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
    { enableScripts: true, localResourceRoots: localRoots, enableFindWidget: true },
  );
}

export function isDarkTheme(): boolean {
  const kind = vscode.window.activeColorTheme.kind;
  return kind === vscode.ColorThemeKind.Dark || kind === vscode.ColorThemeKind.HighContrast;
}

export function openExternal(uri: vscode.Uri): Thenable<boolean> {
  return vscode.env.openExternal(uri);
}

export function onDidChangeTextDocument(listener: (e: vscode.TextDocumentChangeEvent) => unknown): vscode.Disposable {
  return vscode.workspace.onDidChangeTextDocument(listener);
}

export function createFileSystemWatcher(glob: string): vscode.FileSystemWatcher {
  return vscode.workspace.createFileSystemWatcher(glob);
}

/** Opens `uri` in the first editor group (not over the Explain view) with `line` (0-based) selected and centred. */
export async function revealLine(uri: vscode.Uri, line: number): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const target = Math.min(line, Math.max(doc.lineCount - 1, 0));
  const range = doc.lineAt(target).range;
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: range, preserveFocus: false });
  const editor = vscode.window.activeTextEditor;
  editor?.revealRange(range, vscode.TextEditorRevealType.InCenter);
}

/** The text of `uri`: the open document's (unsaved edits included), else the file on disk. */
export async function documentText(uri: vscode.Uri): Promise<string | undefined> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return undefined;
  }
}

export function diagnosticsOf(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri);
}

/** Resolves at the next change of `uri`'s diagnostics, or after `timeoutMs`. */
export function nextDiagnosticsChange(uri: vscode.Uri, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    const sub = vscode.languages.onDidChangeDiagnostics((e) => {
      if (e.uris.some((u) => u.toString() === uri.toString())) done();
    });
    function done() {
      clearTimeout(timer);
      sub.dispose();
      resolve();
    }
  });
}

export function registerTextDocumentContentProvider(scheme: string, provide: (uri: vscode.Uri) => string): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(scheme, { provideTextDocumentContent: provide });
}

export function showDiff(left: vscode.Uri, right: vscode.Uri, title: string): Thenable<unknown> {
  return vscode.commands.executeCommand('vscode.diff', left, right, title);
}
