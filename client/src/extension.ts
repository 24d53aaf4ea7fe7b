// Entry point: wires the controller, the language client, commands and the status bar.
import * as fs from 'fs';
import * as os from 'os';
import type * as vscode from 'vscode';
import { startWhenRelevant } from './activation';
import { registerCommands } from './commands';
import { ServerController } from './controller';
import { ExplainView } from './explain';
import { onPythonInterpreterChanged } from './interpreter';
import { createClientFactory } from './languageClient';
import { Notifier, SHOW_LOGS } from './notify';
import { runProcess } from './process';
import { readSettings } from './settings';
import { StatusBar } from './status';
import * as vsc from './vscodeapi';

let controller: ServerController | undefined;

/** What activate() returns; used by integration tests. */
export interface AlembicEnvApi {
  readonly state: string;
  readonly interpreter: string | undefined;
  ready(): Promise<void>;
}

function neutralFolder(context: vscode.ExtensionContext): string {
  try {
    fs.mkdirSync(context.globalStorageUri.fsPath, { recursive: true });
    return context.globalStorageUri.fsPath;
  } catch {
    return os.tmpdir();
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<AlembicEnvApi> {
  const log = vsc.createLogChannel('Alembic env');
  const notifier = new Notifier(log);
  const explainView = new ExplainView(vsc.joinPath(context.extensionUri, 'dist', 'media'));
  const status = new StatusBar();
  const ctl = new ServerController({
    log,
    notifier,
    status,
    run: runProcess,
    cwd: neutralFolder(context),
    createClient: createClientFactory({
      log,
      notifier,
      showExplanation: async (result) => {
        if (!explainView.show(result)) void notifier.once('error', 'explain-result', 'the server returned no explanation.', SHOW_LOGS);
      },
    }),
  });
  controller = ctl;
  log.info(`Activated (extension ${context.extension.packageJSON.version}).`);
  context.subscriptions.push(
    { dispose: () => void ctl.dispose() },
    status,
    explainView,
    log,
    ...registerCommands(ctl, log, notifier, explainView),
    vsc.onDidChangeConfiguration((e) => ctl.onConfigurationChanged(e)),
    vsc.onDidGrantWorkspaceTrust(() => {
      if (ctl.state === 'untrusted') void ctl.start();
    }),
  );

  let firstStart: Promise<void> = Promise.resolve();
  const watchPython = async () => {
    const sub = await onPythonInterpreterChanged(log, () => {
      if (!readSettings().interpreter && ctl.state !== 'idle') {
        log.info('The interpreter selected in the Python extension changed: restarting the server.');
        void ctl.start();
      }
    });
    if (sub) context.subscriptions.push(sub);
  };
  context.subscriptions.push(
    await startWhenRelevant(() => {
      firstStart = ctl.start().then(() => watchPython()).catch((e) => log.error(`Start failed: ${(e as Error).stack ?? e}`));
    }),
  );

  return {
    get state() {
      return ctl.state;
    },
    get interpreter() {
      return ctl.interpreter?.command;
    },
    ready: () => firstStart,
  };
}

export async function deactivate(): Promise<void> {
  await controller?.dispose();
  controller = undefined;
}
