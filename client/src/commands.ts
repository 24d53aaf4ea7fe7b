// The commands this extension contributes (see package.json "contributes.commands").
import type { Uri } from 'vscode';
import * as vsc from './vscodeapi';
import { convertMessage, countChanges, parseConvertResult, urlLeftovers } from './convertReport';
import type { Notifier } from './notify';
import { SHOW_LOGS } from './notify';

export const SERVER_COMMANDS = {
  explain: 'alembic-env.explain',
  convertToAsync: 'alembic-env.convertToAsync',
  fixAll: 'alembic-env.fixAll',
} as const;

export const CLIENT_COMMANDS = {
  restart: 'alembicEnv.restart',
  showLogs: 'alembicEnv.showLogs',
  explain: 'alembicEnv.explain',
  convertToAsync: 'alembicEnv.convertToAsync',
  fixAll: 'alembicEnv.fixAll',
} as const;

export interface CommandTarget {
  restart(): Promise<void>;
  executeServerCommand(command: string, args: unknown[]): Promise<unknown>;
}

export interface ExplainSink {
  show(result: unknown, uri?: Uri): boolean;
}

export const SHOW_CHANGES = 'Show Changes';
/** Scheme of the read-only "before" side of the Show Changes diff. */
export const BEFORE_SCHEME = 'alembic-env-before';

export interface EditResult {
  applied: boolean;
  reason: string | null;
}

export function parseEditResult(value: unknown): EditResult | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.applied !== 'boolean') return undefined;
  return { applied: v.applied, reason: typeof v.reason === 'string' ? v.reason : null };
}

function isUri(value: unknown): value is Uri {
  return !!value && typeof value === 'object' && typeof (value as Uri).scheme === 'string' && typeof (value as Uri).toString === 'function';
}

/** The file a command acts on: the URI it was invoked with (explorer, editor title), else the active editor's. */
export function targetUri(arg: unknown): Uri | undefined {
  if (isUri(arg)) return arg;
  if (typeof arg === 'string' && arg.includes(':')) return vsc.uriParse(arg);
  return vsc.activeTextEditor()?.document.uri;
}

export function registerCommands(target: CommandTarget, log: vsc.LogChannel, notifier: Notifier, explain: ExplainSink): { dispose(): void }[] {
  const runServer = async (command: string, uri: Uri): Promise<unknown> => {
    try {
      return await target.executeServerCommand(command, [uri.toString()]);
    } catch (e) {
      const message = (e as Error).message ?? String(e);
      void notifier.once('error', `command:${command}:${message}`, `${command} failed: ${message}`, SHOW_LOGS);
      return undefined;
    }
  };
  const needFile = async (arg: unknown): Promise<Uri | undefined> => {
    const uri = targetUri(arg);
    if (!uri) await vsc.showInformationMessage('Alembic env: open an env.py file first.');
    return uri;
  };
  const editCommand = (command: string, done: string) => async (arg?: unknown) => {
    const uri = await needFile(arg);
    if (!uri) return undefined;
    const raw = await runServer(command, uri);
    if (raw === undefined) return undefined;
    const result = parseEditResult(raw);
    if (!result) {
      log.error(`${command} returned an unexpected value: ${JSON.stringify(raw)}`);
      return raw;
    }
    if (result.applied) log.info(`${command}: ${done}`);
    else await vsc.showInformationMessage(`Alembic env: ${result.reason ?? 'nothing to change.'}`);
    return result;
  };
  // The text of each converted file before the conversion, for Show Changes (latest only).
  const before = new Map<string, string>();
  const convert = async (arg?: unknown) => {
    const uri = await needFile(arg);
    if (!uri) return undefined;
    const original = await vsc.documentText(uri);
    const diagnosticsChanged = vsc.nextDiagnosticsChange(uri, 3000);
    const raw = await runServer(SERVER_COMMANDS.convertToAsync, uri);
    if (raw === undefined) return undefined;
    const result = parseConvertResult(raw);
    if (!result) {
      log.error(`${SERVER_COMMANDS.convertToAsync} returned an unexpected value: ${JSON.stringify(raw)}`);
      return raw;
    }
    if (!result.applied) {
      await vsc.showInformationMessage(`Alembic env: ${result.reason ?? 'nothing to change.'}`);
      return result;
    }
    const after = await vsc.documentText(uri);
    const changes = result.changes ?? (original !== undefined && after !== undefined ? countChanges(original, after) : 0);
    let manual = result.manual;
    if (manual === undefined) {
      // The server re-checks the converted file; a URL it could not change shows up as ENV001.
      await diagnosticsChanged;
      manual = urlLeftovers(vsc.diagnosticsOf(uri));
    }
    const name = uri.path.split('/').pop() || 'env.py';
    const message = convertMessage(name, changes, manual);
    log.info(`${SERVER_COMMANDS.convertToAsync}: ${message}`);
    if (original !== undefined) before.set(uri.path, original);
    const show = manual.length > 0 ? vsc.showWarningMessage : vsc.showInformationMessage;
    void Promise.resolve(show(`Alembic env: ${message}`, ...(original !== undefined ? [SHOW_CHANGES] : []))).then((choice) => {
      if (choice === SHOW_CHANGES) return vsc.showDiff(vsc.withScheme(uri, BEFORE_SCHEME), uri, `${name}: before ↔ after Convert to Async`);
      return undefined;
    });
    return { ...result, changes, manual };
  };
  return [
    vsc.registerTextDocumentContentProvider(BEFORE_SCHEME, (u) => before.get(u.path) ?? ''),
    vsc.registerCommand(CLIENT_COMMANDS.restart, () => target.restart()),
    vsc.registerCommand(CLIENT_COMMANDS.showLogs, () => log.show()),
    vsc.registerCommand(CLIENT_COMMANDS.explain, async (arg?: unknown) => {
      const uri = await needFile(arg);
      if (!uri) return undefined;
      const result = await runServer(SERVER_COMMANDS.explain, uri);
      if (result === undefined) return undefined;
      if (!explain.show(result, uri)) log.error(`${SERVER_COMMANDS.explain} returned an unexpected value: ${JSON.stringify(result)}`);
      return result;
    }),
    vsc.registerCommand(CLIENT_COMMANDS.convertToAsync, convert),
    vsc.registerCommand(CLIENT_COMMANDS.fixAll, editCommand(SERVER_COMMANDS.fixAll, 'fixes applied')),
  ];
}
