// The vscode-languageclient side: one LanguageClient per server process, wired to the log
// channel, our settings, a bounded crash policy and the explain view. Exercised by the
// end-to-end test in tests/editors/vscode (it needs a real VS Code).
import { spawn } from 'child_process';
import * as readline from 'readline';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  MessageType,
  RevealOutputChannelOn,
  ServerOptions,
  ShowMessageNotification,
  State,
} from 'vscode-languageclient/node';
import type { ClientFactory, ClientHooks, LaunchSpec, ServerHandle } from './controller';
import { CrashPolicy } from './crashPolicy';
import { Notifier, SHOW_LOGS } from './notify';
import { logAt, StderrLevels } from './serverLog';
import { configurationFor, readSettings, SECTION } from './settings';

export const CLIENT_ID = 'alembicEnv';
export const CLIENT_NAME = 'Alembic env.py server';
export const SERVER_COMMAND_EXPLAIN = 'alembic-env.explain';

export const DOCUMENT_SELECTOR = [
  { scheme: 'file', language: 'python' },
  { scheme: 'file', pattern: '**/alembic.ini' },
];

export interface ClientContext {
  log: vscode.LogOutputChannel;
  notifier: Notifier;
  /** Shows the result of `alembic-env.explain` (when the code lens runs it). */
  showExplanation(result: unknown, uri: string | undefined): Promise<void>;
  /** The project's interpreter for a scope URI (per folder in a multi-root workspace). */
  pythonFor(scopeUri: string | undefined): Promise<string>;
}

/**
 * vscode-languageclient traces the protocol only while its channel's log level is Trace. This
 * view of the log channel reports Trace whenever `alembicEnv.trace.server` is not "off", so
 * the setting works on its own; the lines then go to the channel at info level.
 */
function traceChannel(log: vscode.LogOutputChannel): vscode.LogOutputChannel {
  const changed = new vscode.EventEmitter<vscode.LogLevel>();
  const setting = () => readSettings().trace.server;
  const level = () => (setting() !== 'off' ? vscode.LogLevel.Trace : log.logLevel);
  log.onDidChangeLogLevel(() => changed.fire(level()));
  vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(`${SECTION}.trace.server`)) changed.fire(level());
  });
  return new Proxy(log, {
    get(target, prop) {
      if (prop === 'logLevel') return level();
      if (prop === 'onDidChangeLogLevel') return changed.event;
      if (prop === 'trace') {
        return (message: string, ...args: unknown[]) => {
          if (log.logLevel === vscode.LogLevel.Trace) target.trace(message, ...args);
          else target.info(message, ...args);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** vscode-languageclient pops up some errors itself ("couldn't create connection to server",
 * "Restarting server failed"), next to the one notification the controller shows for the same
 * failure. Here they go to the log only. */
class QuietLanguageClient extends LanguageClient {
  override error(message: string, data?: unknown, _showNotification?: boolean | 'force'): void {
    super.error(message, data, false);
  }
}

export function createClientFactory(ctx: ClientContext): ClientFactory {
  const trace = traceChannel(ctx.log);
  return (spec: LaunchSpec, hooks: ClientHooks) => createServerHandle(spec, hooks, ctx, trace);
}

function createServerHandle(spec: LaunchSpec, hooks: ClientHooks, ctx: ClientContext, trace: vscode.LogOutputChannel): ServerHandle {
  const { log, notifier } = ctx;
  const crashes = new CrashPolicy();
  // Restarts after a crash only make sense for a server that came up once; a server that
  // cannot start (bad arguments, import error) is reported once by the controller instead.
  let everRunning = false;
  let stopping = false;
  // The process is spawned here (not by the client) to keep its last stderr lines and exit
  // code: they say why a start failed far better than "connection got disposed".
  let stderrTail: string[] = [];
  let exited: Promise<number | null> = Promise.resolve(null);
  const serverOptions: ServerOptions = async () => {
    stderrTail = [];
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' },
      stdio: 'pipe',
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderrTail.push(...chunk.toString('utf8').split(/\r?\n/).filter((l) => l.trim() !== ''));
      stderrTail = stderrTail.slice(-3);
    });
    exited = new Promise((resolve) => {
      child.on('exit', (code) => resolve(code));
      child.on('error', () => resolve(null));
    });
    return child;
  };
  const whyStartFailed = async (error: unknown): Promise<Error> => {
    const code = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000))]);
    const errorLine = [...stderrTail].reverse().find((l) => /error/i.test(l));
    const detail = errorLine ?? (stderrTail.length ? stderrTail.join(' | ') : error instanceof Error ? error.message : String(error));
    return new Error(code !== undefined && code !== null ? `the server exited with code ${code}: ${detail}` : detail);
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENT_SELECTOR,
    initializationOptions: spec.initializationOptions,
    outputChannel: log,
    traceOutputChannel: trace,
    stdioOptions: {
      stdout: (input, channel) => {
        readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (line) => channel.info(line));
      },
      stderr: (input, channel) => {
        const levels = new StderrLevels();
        readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (line) => {
          const { level, text } = levels.classify(line);
          logAt(channel, level, text);
        });
      },
    },
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    diagnosticCollectionName: 'alembic-env',
    markdown: { isTrusted: false, supportHtml: false },
    initializationFailedHandler: (error) => {
      log.error(`The server failed to initialize: ${error instanceof Error ? error.message : String(error)}`);
      return false; // no retry loop; the controller reports it once
    },
    errorHandler: {
      error: (error, _message, count) => {
        log.error(`Connection error: ${error.message}`);
        return { action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
      },
      closed: () => {
        if (stopping || !everRunning) return { action: CloseAction.DoNotRestart, handled: true };
        if (crashes.shouldRestart()) {
          log.warn(`The server stopped; restarting it (${crashes.recentCrashes} time(s) in the last 3 minutes).`);
          return { action: CloseAction.Restart, handled: true };
        }
        void notifier.once(
          'error',
          'crashed',
          `the server stopped ${crashes.recentCrashes} times in 3 minutes and is not restarted. Fix the cause shown in the logs, then run "Alembic env: Restart Server".`,
          SHOW_LOGS,
        );
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    },
    middleware: {
      workspace: {
        // The server asks per workspace folder; answer with the cleaned settings of that scope.
        configuration: async (params, token, next) => {
          const ours = params.items.map((item) => item.section === SECTION);
          const others = ours.every(Boolean) ? [] : await next({ items: params.items.filter((_, i) => !ours[i]) }, token);
          if (others instanceof Error || !Array.isArray(others)) return others;
          let j = 0;
          return Promise.all(
            params.items.map(async (item, i) => (ours[i] ? { ...configurationFor(item.scopeUri), python: await ctx.pythonFor(item.scopeUri) } : others[j++])),
          );
        },
      },
      // The code lens runs the server's explain command: show what it returns.
      executeCommand: async (command, args, next) => {
        const result = await next(command, args);
        if (command === SERVER_COMMAND_EXPLAIN) await ctx.showExplanation(result, typeof args[0] === 'string' ? args[0] : undefined);
        return result;
      },
      provideCodeLenses: (document, token, next) => {
        if (!readSettings(document.uri).codeLens) return [];
        return next(document, token);
      },
    },
  };
  const client = new QuietLanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  // Server popups: each distinct text once per session, everything in the log.
  client.onNotification(ShowMessageNotification.type, (params) => {
    const level = params.type === MessageType.Error ? 'error' : params.type === MessageType.Warning ? 'warning' : 'info';
    void notifier.once(level, `server:${params.message}`, params.message, SHOW_LOGS);
  });
  client.onDidChangeState((e) => {
    if (e.newState === State.Running) everRunning = true;
    if (e.newState === State.Running) hooks.onStateChange('running');
    else if (e.newState === State.Starting) hooks.onStateChange('starting');
    else hooks.onStateChange('stopped');
  });
  return {
    start: async () => {
      try {
        await client.start();
      } catch (e) {
        throw await whyStartFailed(e);
      }
    },
    // dispose() stops the process (if running) and unregisters the client's commands.
    stop: async () => {
      stopping = true;
      await client.dispose(5000);
    },
    notifyConfigurationChanged: async (settings) => {
      // A server that registered for didChangeConfiguration (with our section) already gets it
      // from vscode-languageclient; send it ourselves only to servers that did not.
      const feature = (client as unknown as { getFeature(method: string): { getState?(): { registrations?: boolean } } | undefined }).getFeature(
        'workspace/didChangeConfiguration',
      );
      if (feature?.getState?.()?.registrations) return;
      await client.sendNotification('workspace/didChangeConfiguration', { settings });
    },
    executeCommand: (command, args) => client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }),
  };
}
