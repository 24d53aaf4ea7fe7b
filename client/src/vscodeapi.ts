// The only module of the client logic that touches the `vscode` API at run time.
// Everything else imports these wrappers (and `import type` from 'vscode' for types), so
// unit tests can replace this one module with a fake (see client/test/fakeVscode.ts).
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

export function withProgress<T>(title: string, task: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, task);
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

/** A minimal view of the Python extension (ms-python.python) as this client uses it. */
export interface PythonExtensionLike {
  readonly isActive: boolean;
  readonly exports: unknown;
  activate(): Thenable<unknown>;
}

export function getExtension(id: string): PythonExtensionLike | undefined {
  return vscode.extensions.getExtension(id);
}

export function uriFile(fsPath: string): vscode.Uri {
  return vscode.Uri.file(fsPath);
}

export function uriParse(value: string): vscode.Uri {
  return vscode.Uri.parse(value);
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
