// Entry point: wires the controller, the language client, commands and the status bar.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as vscode from 'vscode';
import { startWhenRelevant } from './activation';
import { registerCommands, SERVER_COMMANDS } from './commands';
import { ServerController } from './controller';
import { ExplainView } from './explain';
import { followsPythonExtension, onPythonInterpreterChanged } from './interpreter';
import { createClientFactory } from './languageClient';
import { Notifier, SHOW_LOGS } from './notify';
import { runProcess } from './process';
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
  const status = new StatusBar();
  // Created before the controller (the client factory shows explanations) but only used once
  // the controller exists: the live view asks the server again through it.
  let ctl: ServerController | undefined;
  const explainView = new ExplainView(vsc.joinPath(context.extensionUri, 'dist', 'media'), async (uri) =>
    ctl?.isRunning ? ctl.executeServerCommand(SERVER_COMMANDS.explain, [uri.toString()]) : undefined,
  );
  ctl = new ServerController({
    log,
    notifier,
    status,
    run: runProcess,
    cwd: neutralFolder(context),
    bundle: {
      storageDir: context.globalStorageUri.fsPath,
      wheelsDir: path.join(context.extensionUri.fsPath, 'dist', 'bundled', 'wheels'),
      serverVersion: String(context.extension.packageJSON.version),
    },
    createClient: createClientFactory({
      log,
      notifier,
      showExplanation: async (result, uri) => {
        if (!explainView.show(result, uri ? vsc.uriParse(uri) : undefined)) void notifier.once('error', 'explain-result', 'the server returned no explanation.', SHOW_LOGS);
      },
      pythonFor: (scopeUri) => ctl!.pythonFor(scopeUri ? vsc.uriParse(scopeUri) : undefined),
    }),
  });
  const controllerRef = ctl;
  controller = controllerRef;
  log.info(`Activated (extension ${context.extension.packageJSON.version}).`);
  context.subscriptions.push(
    { dispose: () => void controllerRef.dispose() },
    status,
    explainView,
    log,
    ...registerCommands(controllerRef, log, notifier, explainView),
    vsc.onDidChangeConfiguration((e) => controllerRef.onConfigurationChanged(e)),
    vsc.onDidGrantWorkspaceTrust(() => {
      if (controllerRef.state === 'untrusted') void controllerRef.start();
    }),
  );

  let firstStart: Promise<void> = Promise.resolve();
  const watchPython = async () => {
    // Any folder's selection may change the project's interpreter (the server's, with
    // fromEnvironment; the one the environment rules judge, always): restart.
    const sub = await onPythonInterpreterChanged(log, () => {
      if (followsPythonExtension() && controllerRef.state !== 'idle') {
        log.info('The interpreter selected in the Python extension changed: restarting the server.');
        void controllerRef.start();
      }
    });
    if (sub) context.subscriptions.push(sub);
  };
  context.subscriptions.push(
    await startWhenRelevant(() => {
      firstStart = controllerRef.start().then(() => watchPython()).catch((e) => log.error(`Start failed: ${(e as Error).stack ?? e}`));
    }),
  );

  return {
    get state() {
      return controllerRef.state;
    },
    get interpreter() {
      return controllerRef.interpreter?.command;
    },
    ready: () => firstStart,
  };
}

export async function deactivate(): Promise<void> {
  await controller?.dispose();
  controller = undefined;
}
