// A fake of client/src/vscodeapi.ts for unit tests. Importing this module puts the fake into
// Node's module cache in place of the real wrapper (which needs a running VS Code), so import
// it before any module under client/src. Settings defaults come from package.json, like in
// VS Code.
import * as fs from 'fs';
import * as path from 'path';

export class FakeUri {
  constructor(
    readonly scheme: string,
    readonly path: string,
    readonly query = '',
  ) {}
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
  static file(p: string): FakeUri {
    return new FakeUri('file', p);
  }
  static parse(value: string): FakeUri {
    const m = /^([a-z][\w+.-]*):(?:\/\/)?([^?]*)(?:\?(.*))?$/i.exec(value);
    if (!m) throw new Error(`not a URI: ${value}`);
    return new FakeUri(m[1], m[2] || '/', m[3] ?? '');
  }
}

export interface FakeFolder {
  uri: FakeUri;
  name: string;
  index: number;
}

export interface Message {
  level: 'error' | 'warning' | 'info';
  text: string;
  items: string[];
}

export interface LogLine {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  text: string;
}

type Listener<T> = (value: T) => unknown;

const ROOT = path.resolve(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
export const MANIFEST_DEFAULTS: Record<string, unknown> = Object.fromEntries(
  Object.entries(manifest.contributes.configuration.properties as Record<string, { default: unknown }>).map(([k, v]) => [k, v.default]),
);

export class FakeLog {
  lines: LogLine[] = [];
  shown = 0;
  logLevel = 2;
  trace(text: string) { this.lines.push({ level: 'trace', text }); }
  debug(text: string) { this.lines.push({ level: 'debug', text }); }
  info(text: string) { this.lines.push({ level: 'info', text }); }
  warn(text: string) { this.lines.push({ level: 'warn', text }); }
  error(text: string | Error) { this.lines.push({ level: 'error', text: String(text) }); }
  show() { this.shown++; }
  appendLine(text: string) { this.lines.push({ level: 'info', text }); }
  dispose() {}
  text(): string {
    return this.lines.map((l) => `[${l.level}] ${l.text}`).join('\n');
  }
}

export class FakeStatusItem {
  text = '';
  tooltip: unknown;
  command: unknown;
  backgroundColor: unknown;
  name: string | undefined;
  visible = false;
  show() { this.visible = true; }
  hide() { this.visible = false; }
  dispose() { this.visible = false; }
}

export class Fake {
  /** `alembicEnv.*` etc., flat keys: user-level values. */
  user: Record<string, unknown> = {};
  /** Per folder path: flat keys. */
  folderSettings: Record<string, Record<string, unknown>> = {};
  folders: FakeFolder[] = [];
  trusted = true;
  messages: Message[] = [];
  /** Answers to the next popups, in order; `undefined` = dismissed. Unset: dismissed. */
  answers: (string | undefined)[] = [];
  /** When set, popups wait on this before answering (to test "offer still open"). */
  answerGate: Promise<void> | undefined;
  commands = new Map<string, (...args: any[]) => unknown>();
  executed: { id: string; args: unknown[] }[] = [];
  extensions = new Map<string, { isActive: boolean; exports: unknown; activate(): Promise<unknown> }>();
  files: string[] = [];
  documents: { uri: FakeUri; languageId: string }[] = [];
  activeDocument: { uri: FakeUri; languageId: string } | undefined;
  statusItems: FakeStatusItem[] = [];
  logs: FakeLog[] = [];
  progressTitles: string[] = [];
  progressMessages: string[] = [];
  configListeners: Listener<any>[] = [];
  openListeners: Listener<any>[] = [];
  trustListeners: Listener<void>[] = [];
  webviews: { title: string; html: string; receive?: (message: unknown) => unknown; disposed: boolean }[] = [];
  /** File contents by path: what documentText reads (an open document's text or the file). */
  texts: Record<string, string> = {};
  /** Diagnostics by path, as VS Code holds them. */
  diagnostics: Record<string, { code?: string; message: string; range: { start: { line: number } } }[]> = {};
  diagnosticListeners: Listener<{ uris: FakeUri[] }>[] = [];
  changeListeners: Listener<{ document: { uri: FakeUri } }>[] = [];
  watcherListeners: Listener<FakeUri>[] = [];
  revealed: { path: string; line: number }[] = [];
  diffs: { left: FakeUri; right: FakeUri; title: string }[] = [];
  contentProviders = new Map<string, (uri: FakeUri) => string>();

  /** Back to a fresh state; `api` (already in the module cache) keeps working. */
  reset(): void {
    const fresh = new Fake() as unknown as Record<string, unknown>;
    for (const k of Object.keys(fresh)) if (k !== 'api') (this as unknown as Record<string, unknown>)[k] = fresh[k];
  }

  addFolder(p: string, settings: Record<string, unknown> = {}): FakeFolder {
    const folder = { uri: FakeUri.file(p), name: path.basename(p), index: this.folders.length };
    this.folders.push(folder);
    this.folderSettings[p] = settings;
    return folder;
  }

  /** Changes settings and fires onDidChangeConfiguration with the keys that changed. */
  async changeSettings(changes: Record<string, unknown>, folderPath?: string): Promise<void> {
    const target = folderPath ? (this.folderSettings[folderPath] ??= {}) : this.user;
    Object.assign(target, changes);
    const keys = Object.keys(changes);
    const event = {
      affectsConfiguration: (section: string, scope?: FakeUri) => {
        if (folderPath && scope && scope.path !== folderPath) return false;
        return keys.some((k) => k === section || k.startsWith(`${section}.`));
      },
    };
    for (const l of this.configListeners) await l(event);
  }

  private configuration(section: string, scope?: unknown) {
    let folderPath: string | undefined;
    if (scope && typeof scope === 'object') {
      const p = (scope as { path?: string; uri?: FakeUri }).uri?.path ?? (scope as FakeUri).path;
      folderPath = this.folders
        .map((f) => f.uri.path)
        .filter((fp) => p === fp || p?.startsWith(`${fp}/`))
        .sort((a, b) => b.length - a.length)[0];
    }
    const lookup = (key: string) => {
      const full = `${section}.${key}`;
      if (folderPath && full in (this.folderSettings[folderPath] ?? {})) return this.folderSettings[folderPath][full];
      if (full in this.user) return this.user[full];
      return MANIFEST_DEFAULTS[full];
    };
    return { get: <T>(key: string, dflt?: T) => (lookup(key) as T | undefined) ?? dflt };
  }

  private async popup(level: Message['level'], text: string, items: string[]): Promise<string | undefined> {
    this.messages.push({ level, text, items });
    if (this.answerGate) await this.answerGate;
    return this.answers.length ? this.answers.shift() : undefined;
  }

  readonly api = {
    __esModule: true,
    getConfiguration: (section: string, scope?: unknown) => this.configuration(section, scope),
    onDidChangeConfiguration: (l: Listener<any>) => this.listen(this.configListeners, l),
    getWorkspaceFolders: () => this.folders,
    getWorkspaceFolder: (uri: FakeUri) => this.folders.find((f) => uri.path === f.uri.path || uri.path.startsWith(`${f.uri.path}/`)),
    isWorkspaceTrusted: () => this.trusted,
    onDidGrantWorkspaceTrust: (l: Listener<void>) => this.listen(this.trustListeners, l),
    onDidOpenTextDocument: (l: Listener<any>) => this.listen(this.openListeners, l),
    textDocuments: () => this.documents,
    findFiles: async (include: string, max: number) => {
      const name = include.replace('**/', '');
      return this.files.filter((f) => path.basename(f) === name).slice(0, max).map((f) => FakeUri.file(f));
    },
    activeTextEditor: () => (this.activeDocument ? { document: this.activeDocument } : undefined),
    createLogChannel: () => {
      const log = new FakeLog();
      this.logs.push(log);
      return log;
    },
    showErrorMessage: (text: string, ...items: string[]) => this.popup('error', text, items),
    showWarningMessage: (text: string, ...items: string[]) => this.popup('warning', text, items),
    showInformationMessage: (text: string, ...items: string[]) => this.popup('info', text, items),
    withProgress: async <T>(title: string, task: (report: (message: string) => void) => Promise<T>) => {
      this.progressTitles.push(title);
      return task((message) => this.progressMessages.push(message));
    },
    createStatusBarItem: () => {
      const item = new FakeStatusItem();
      this.statusItems.push(item);
      return item;
    },
    themeColor: (id: string) => ({ id }),
    registerCommand: (id: string, handler: (...args: any[]) => unknown) => {
      if (this.commands.has(id)) throw new Error(`command ${id} already exists`);
      this.commands.set(id, handler);
      return { dispose: () => this.commands.delete(id) };
    },
    executeCommand: async (id: string, ...args: unknown[]) => {
      this.executed.push({ id, args });
      return this.commands.get(id)?.(...args);
    },
    // What PythonExtension.api() of @vscode/python-extension does, over the fake's extensions.
    pythonExtensionApi: async () => {
      const ext = this.extensions.get('ms-python.python');
      if (!ext) return undefined;
      return ext.isActive ? ext.exports : await ext.activate();
    },
    uriFile: (p: string) => FakeUri.file(p),
    uriParse: (v: string) => FakeUri.parse(v),
    withScheme: (u: FakeUri, scheme: string) => new FakeUri(scheme, u.path),
    joinPath: (base: FakeUri, ...segments: string[]) => new FakeUri(base.scheme, path.posix.join(base.path, ...segments)),
    createWebviewPanel: (_viewType: string, title: string) => {
      const record: Fake['webviews'][number] = { title, html: '', disposed: false };
      this.webviews.push(record);
      let onDispose: (() => unknown) | undefined;
      return {
        get title() { return record.title; },
        set title(t: string) { record.title = t; },
        webview: {
          cspSource: 'vscode-webview://fake',
          get html() { return record.html; },
          set html(h: string) { record.html = h; },
          asWebviewUri: (u: FakeUri) => new FakeUri('vscode-webview', u.path),
          onDidReceiveMessage: (l: (m: unknown) => unknown) => {
            record.receive = l;
            return { dispose() {} };
          },
        },
        onDidDispose: (l: () => unknown) => {
          onDispose = l;
          return { dispose() {} };
        },
        reveal() {},
        dispose() {
          record.disposed = true;
          onDispose?.();
        },
      };
    },
    onDidChangeTextDocument: (l: Listener<{ document: { uri: FakeUri } }>) => this.listen(this.changeListeners, l),
    createFileSystemWatcher: () => {
      const on = (l: Listener<FakeUri>) => this.listen(this.watcherListeners, l);
      return { onDidChange: on, onDidCreate: on, onDidDelete: on, dispose() {} };
    },
    revealLine: async (uri: FakeUri, line: number) => {
      this.revealed.push({ path: uri.path, line });
    },
    documentText: async (uri: FakeUri) => this.texts[uri.path],
    diagnosticsOf: (uri: FakeUri) => this.diagnostics[uri.path] ?? [],
    nextDiagnosticsChange: (uri: FakeUri, timeoutMs: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        const sub = this.listen(this.diagnosticListeners, (e) => {
          if (e.uris.some((u) => u.path === uri.path)) {
            clearTimeout(timer);
            sub.dispose();
            resolve();
          }
        });
      }),
    registerTextDocumentContentProvider: (scheme: string, provide: (uri: FakeUri) => string) => {
      this.contentProviders.set(scheme, provide);
      return { dispose: () => this.contentProviders.delete(scheme) };
    },
    showDiff: async (left: FakeUri, right: FakeUri, title: string) => {
      this.diffs.push({ left, right, title });
    },
    isDarkTheme: () => false,
    openExternal: async () => true,
  };

  private listen<T>(list: Listener<T>[], l: Listener<T>) {
    list.push(l);
    return { dispose: () => { const i = list.indexOf(l); if (i >= 0) list.splice(i, 1); } };
  }

  /** Simulates an edit of a document (in the editor). */
  async editDocument(p: string, text: string): Promise<void> {
    this.texts[p] = text;
    for (const l of [...this.changeListeners]) await l({ document: { uri: FakeUri.file(p) } });
  }

  /** Simulates the server publishing diagnostics for a file. */
  publishDiagnostics(p: string, diagnostics: Fake['diagnostics'][string]): void {
    this.diagnostics[p] = diagnostics;
    for (const l of [...this.diagnosticListeners]) l({ uris: [FakeUri.file(p)] });
  }

  /** Simulates opening a document. */
  async openDocument(p: string, languageId: string): Promise<void> {
    const doc = { uri: FakeUri.file(p), languageId };
    this.documents.push(doc);
    for (const l of [...this.openListeners]) await l(doc);
  }
}

export const fake = new Fake();

const wrapper = path.resolve(__dirname, '..', 'src', 'vscodeapi.js');
require.cache[wrapper] = {
  id: wrapper,
  filename: wrapper,
  loaded: true,
  exports: fake.api,
  children: [],
  paths: [],
} as unknown as NodeModule;

/** Resolves after pending promise callbacks (and timers of 0 ms) have run. */
export const flush = () => new Promise((r) => setTimeout(r, 0));
