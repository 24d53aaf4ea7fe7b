// The commands this extension contributes (see package.json "contributes.commands").
import type { Uri } from 'vscode';
import * as vsc from './vscodeapi';
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
  return [
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
    vsc.registerCommand(CLIENT_COMMANDS.convertToAsync, editCommand(SERVER_COMMANDS.convertToAsync, 'converted to the async pattern')),
    vsc.registerCommand(CLIENT_COMMANDS.fixAll, editCommand(SERVER_COMMANDS.fixAll, 'fixes applied')),
  ];
}
