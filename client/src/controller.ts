// The server's life cycle: choose the project's interpreter, get a server to run (useBundled:
// the environment the extension owns, made once; fromEnvironment: the package in that
// interpreter, offering to install it, once), start the language client, restart it when the
// interpreter, the strategy, its arguments or the on/off switch change, and pass every other
// settings change to the running server. Works on the wrappers in vscodeapi.ts and on injected factories, so the
// whole path is unit tested without VS Code.
import type { ConfigurationChangeEvent, Uri } from 'vscode';
import * as vsc from './vscodeapi';
import { ensureServerEnv, EnvRequest, isReady } from './bundledEnv';
import { describe, describeSource, Interpreter, resolveInterpreter } from './interpreter';
import { Notifier, OPEN_SETTINGS, SHOW_LOGS } from './notify';
import type { Runner } from './process';
import { installServer, probeServer, ProbeResult, SERVER_MODULE, SERVER_PACKAGE, serverArgs } from './serverCheck';
import { AlembicEnvSettings, classifyChange, readSettings, readSettingsWithProblems } from './settings';
import { describeState, ServerState, StatusView } from './status';

export const INSTALL = 'Install';

/** What the server receives: the settings plus the project's interpreter (`python`), which
 * its environment rules judge, whatever Python the server itself runs on. "" = not known (no
 * alembicEnv.interpreter, no Python extension): the server then looks for the project's
 * environment itself ($VIRTUAL_ENV, a .venv beside alembic.ini) instead of judging python3. */
export type ServerSettings = AlembicEnvSettings & { python: string };

export interface LaunchSpec {
  command: string;
  args: string[];
  cwd: string;
  initializationOptions: { settings: ServerSettings };
  /** The project's interpreter. */
  interpreter: Interpreter;
}

/** Where the bundled server environment lives and what it is made from. */
export interface BundleConfig {
  storageDir: string;
  wheelsDir: string;
  serverVersion: string;
}

/** What the controller needs from a language client (see languageClient.ts). */
export interface ServerHandle {
  start(): Promise<void>;
  stop(): Promise<void>;
  notifyConfigurationChanged(settings: ServerSettings): Promise<void>;
  executeCommand(command: string, args: unknown[]): Promise<unknown>;
}

export interface ClientHooks {
  /** The client's own state changes (crash, automatic restart). */
  onStateChange(state: 'starting' | 'running' | 'stopped'): void;
}

export type ClientFactory = (spec: LaunchSpec, hooks: ClientHooks) => ServerHandle;

export interface ControllerDeps {
  log: vsc.LogChannel;
  notifier: Notifier;
  status: StatusView;
  run: Runner;
  createClient: ClientFactory;
  /** Working directory for the interpreter: a folder with no Python packages in it, so a
   * workspace can never shadow the server's modules through `sys.path[0]`. */
  cwd: string;
  bundle: BundleConfig;
}

const key = (interp: Interpreter) => [interp.command, ...interp.prefixArgs].join('\u0000');

export class ServerController {
  private stateValue: ServerState = 'idle';
  private client: ServerHandle | undefined;
  private generation = 0;
  private interpreterValue: Interpreter | undefined;
  /** The project's interpreter as Python reports it (sys.executable), once probed. */
  private projectPython = '';
  /** Bundled environments that failed to build, by base Python (not retried until Restart). */
  private readonly envFailed = new Map<string, string>();
  /** Lines already logged by pythonFor (it runs for every configuration request). */
  private readonly announced = new Set<string>();
  /** Interpreters for which the user dismissed the install offer (asked again after Restart). */
  private readonly declined = new Set<string>();
  /** Interpreters into which an install was already attempted, and how it went (never twice: no install loop). */
  private readonly installAttempted = new Map<string, 'failed' | 'done'>();
  /** The offer currently on screen, per interpreter, so the same question is never stacked. */
  private readonly offers = new Map<string, Promise<void>>();
  /** The running install offer / install, for callers (and tests) that want to wait for it. */
  pending: Promise<void> | undefined;

  constructor(private readonly deps: ControllerDeps) {}

  get state(): ServerState {
    return this.stateValue;
  }

  get interpreter(): Interpreter | undefined {
    return this.interpreterValue;
  }

  get isRunning(): boolean {
    return this.stateValue === 'running' && this.client !== undefined;
  }

  private setState(state: ServerState, detail?: string): void {
    this.stateValue = state;
    const interp = this.interpreterValue ? `Interpreter: ${describe(this.interpreterValue)}` : undefined;
    this.deps.status.update(state, [detail, interp].filter(Boolean).join('\n') || undefined);
    this.deps.log.debug(`state: ${state} (${describeState(state)})`);
  }

  /** (Re)starts from scratch: settings, interpreter, probe, client. Never loops. */
  async start(): Promise<void> {
    const gen = ++this.generation;
    await this.stopClient();
    const { log, notifier } = this.deps;
    const { settings, problems } = readSettingsWithProblems();
    if (problems.length > 0) {
      for (const p of problems) log.warn(p);
      void notifier.once('warning', 'settings', `${problems.length === 1 ? 'a setting was' : `${problems.length} settings were`} ignored: ${problems[0]}`, SHOW_LOGS);
    }
    if (!settings.enable) {
      log.info('alembicEnv.enable is false: the server is not started.');
      this.setState('disabled');
      return;
    }
    if (!vsc.isWorkspaceTrusted()) {
      log.info('The workspace is not trusted: the server (a Python process) starts once it is.');
      this.setState('untrusted');
      return;
    }
    this.setState('starting');
    const interp = await resolveInterpreter(log);
    if (gen !== this.generation) return;
    this.interpreterValue = interp;
    this.projectPython = '';
    log.info(`Interpreter: ${describe(interp)}`);
    const probe = await probeServer(this.deps.run, interp, this.deps.cwd);
    if (gen !== this.generation) return;
    if (probe.kind === 'ok' || probe.kind === 'missing') this.projectPython = probe.executable;
    if (settings.importStrategy === 'useBundled' && (probe.kind === 'ok' || probe.kind === 'missing')) {
      await this.startBundled(gen, interp, probe, settings);
      return;
    }
    await this.afterProbe(gen, interp, probe, settings);
  }

  /** useBundled: the environment the extension owns (made now if needed), the server run from it. */
  private async startBundled(gen: number, interp: Interpreter, probe: ProbeResult & { kind: 'ok' | 'missing' }, settings: AlembicEnvSettings): Promise<void> {
    const { log, notifier, bundle } = this.deps;
    const req: EnvRequest = {
      run: this.deps.run,
      base: { command: interp.command, prefixArgs: interp.prefixArgs, version: probe.version, basePrefix: probe.basePrefix },
      storageDir: bundle.storageDir,
      wheelsDir: bundle.wheelsDir,
      serverVersion: bundle.serverVersion,
      cwd: this.deps.cwd,
      onLine: (line, stream) => (stream === 'stderr' ? log.warn(`setup: ${line}`) : log.info(`setup: ${line}`)),
    };
    const k = `${probe.version}\u0000${probe.basePrefix}`;
    const failed = this.envFailed.get(k);
    if (failed !== undefined) {
      this.setState('failed', failed);
      log.info('Not creating the server environment again after a failure (run "Alembic env: Restart Server" to retry).');
      return;
    }
    let outcome;
    if (isReady(req)) {
      outcome = await ensureServerEnv(req);
    } else {
      this.setState('installing', `creating the server environment with Python ${probe.version}`);
      log.info(`Creating the server environment (Python ${probe.version}, ${bundle.storageDir}); nothing is installed into ${probe.executable}.`);
      outcome = await vsc.withProgress(`Alembic env: setting up the language server (first run, Python ${probe.version})…`, (report) =>
        ensureServerEnv({ ...req, onStep: report }),
      );
    }
    if (gen !== this.generation) return;
    if (!outcome.ok) {
      this.envFailed.set(k, outcome.reason);
      this.setState('failed', outcome.reason);
      void notifier.once('error', `bundled-env:${k}`, `the language server could not be set up: ${outcome.reason}`, SHOW_LOGS, OPEN_SETTINGS);
      return;
    }
    if (outcome.created) log.info(`Server environment ready (${outcome.source === 'bundled' ? 'from the bundled wheels' : 'from the package index'}): ${outcome.dir}`);
    const server: Interpreter = { command: outcome.python, prefixArgs: [], source: interp.source };
    await this.launch(gen, server, settings, interp);
  }

  private async afterProbe(gen: number, interp: Interpreter, probe: ProbeResult, settings: AlembicEnvSettings): Promise<void> {
    const { log, notifier } = this.deps;
    switch (probe.kind) {
      case 'no-interpreter':
        this.setState('failed', probe.detail);
        void notifier.once(
          'error',
          `no-interpreter:${key(interp)}`,
          `the Python interpreter "${interp.command}" was not found. Set "alembicEnv.interpreter" or select an interpreter in the Python extension.`,
          OPEN_SETTINGS,
          SHOW_LOGS,
        );
        return;
      case 'old-python':
        this.setState('failed', `Python ${probe.version}`);
        void notifier.once('error', `old-python:${key(interp)}`, `${probe.executable} is Python ${probe.version}; the server needs Python 3.10 or newer.`, OPEN_SETTINGS, SHOW_LOGS);
        return;
      case 'failed':
        this.setState('failed', probe.detail);
        void notifier.once('error', `probe:${key(interp)}`, `could not run ${interp.command}: ${probe.detail}`, SHOW_LOGS);
        return;
      case 'missing':
        log.warn(`${SERVER_MODULE} is not importable by ${probe.executable} (Python ${probe.version}): ${probe.detail}`);
        this.setState('missing', `${SERVER_PACKAGE} is not installed in ${probe.executable}`);
        this.offerInstall(interp, probe.executable);
        return;
      case 'ok':
        log.info(`${SERVER_MODULE} ${probe.serverVersion ?? '(version unknown)'} found for ${probe.executable} (Python ${probe.version})`);
        await this.launch(gen, interp, settings, interp);
        return;
    }
  }

  private offerInstall(interp: Interpreter, executable: string): void {
    const { log, notifier } = this.deps;
    const k = key(interp);
    const attempted = this.installAttempted.get(k);
    if (attempted === 'done') {
      void notifier.once('error', `still-missing:${k}`, `${SERVER_PACKAGE} was installed into ${executable}, but it still cannot be imported. See the logs.`, SHOW_LOGS);
      return;
    }
    if (attempted === 'failed') {
      log.info(`Not installing ${SERVER_PACKAGE} again after a failed attempt (run "Alembic env: Restart Server" to retry).`);
      return;
    }
    if (this.declined.has(k)) {
      log.info(`Not offering to install ${SERVER_PACKAGE} again (run "Alembic env: Restart Server" to be asked again).`);
      return;
    }
    if (this.offers.has(k)) return;
    const offer = (async () => {
      const choice = await vsc.showWarningMessage(
        `Alembic env: the language server is not installed in ${executable}. Install ${SERVER_PACKAGE} there with pip?`,
        INSTALL,
        SHOW_LOGS,
      );
      this.offers.delete(k);
      if (choice === INSTALL) {
        await this.install(interp);
        return;
      }
      this.declined.add(k);
      log.info(`Install of ${SERVER_PACKAGE} declined.`);
      if (choice === SHOW_LOGS) log.show(true);
    })();
    this.offers.set(k, offer);
    this.pending = offer;
  }

  /** Installs the server into `interp` with pip (output in the log), then starts it. */
  async install(interp: Interpreter): Promise<void> {
    const gen = ++this.generation;
    await this.stopClient();
    const { log, notifier } = this.deps;
    const k = key(interp);
    this.installAttempted.set(k, 'failed');
    this.interpreterValue = interp;
    this.setState('installing');
    log.show(true);
    const outcome = await vsc.withProgress(`Alembic env: installing ${SERVER_PACKAGE}…`, () =>
      installServer(this.deps.run, interp, this.deps.cwd, (line, stream) => {
        if (stream === 'stderr') log.warn(`pip: ${line}`);
        else log.info(`pip: ${line}`);
      }),
    );
    if (gen !== this.generation) return;
    if (!outcome.ok) {
      this.setState('failed', `install failed: ${outcome.reason}`);
      void notifier.once('error', `install:${k}`, `installing ${SERVER_PACKAGE} into ${interp.command} failed: ${outcome.reason}.`, SHOW_LOGS);
      return;
    }
    this.installAttempted.set(k, 'done');
    log.info(`${SERVER_PACKAGE} installed.`);
    await this.start();
  }

  /** Runs the server with `server`; `project` is the interpreter the environment rules judge. */
  private async launch(gen: number, server: Interpreter, settings: AlembicEnvSettings, project: Interpreter): Promise<void> {
    const { log, notifier } = this.deps;
    const spec: LaunchSpec = {
      command: server.command,
      args: serverArgs(server, settings.serverArgs),
      cwd: this.deps.cwd,
      initializationOptions: { settings: { ...settings, python: this.projectPythonFor(project) } },
      interpreter: project,
    };
    log.info(`Starting the server: ${[spec.command, ...spec.args].join(' ')}`);
    const client: ServerHandle = this.deps.createClient(spec, {
      onStateChange: (s) => {
        if (this.client !== client) return;
        if (s === 'running') this.setState('running');
        else if (s === 'starting' && this.stateValue !== 'starting') this.setState('starting');
        else if (s === 'stopped' && this.stateValue === 'running') this.setState('failed', 'the server stopped');
      },
    });
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      if (this.client === client) this.client = undefined;
      await client.stop().catch(() => undefined);
      if (gen !== this.generation) return;
      this.setState('failed', (e as Error).message);
      void notifier.once('error', 'start', `the language server failed to start: ${(e as Error).message}`, SHOW_LOGS);
      return;
    }
    if (gen !== this.generation) {
      if (this.client === client) this.client = undefined;
      await client.stop().catch(() => undefined);
      return;
    }
    this.setState('running');
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    try {
      await client.stop();
    } catch (e) {
      this.deps.log.warn(`Stopping the server: ${(e as Error).message}`);
    }
  }

  /** Restart Server: also forgets dismissed offers and shown errors, so they can show again. */
  async restart(): Promise<void> {
    this.deps.notifier.reset();
    this.declined.clear();
    this.installAttempted.clear();
    this.envFailed.clear();
    this.deps.log.info('Restarting the server.');
    await this.start();
  }

  async stop(): Promise<void> {
    ++this.generation;
    await this.stopClient();
    if (this.stateValue !== 'idle') this.setState('stopped');
  }

  async onConfigurationChanged(event: Pick<ConfigurationChangeEvent, 'affectsConfiguration'>): Promise<void> {
    if (this.stateValue === 'idle') return; // not started yet: nothing to update
    const kind = classifyChange(event);
    if (kind === 'none') return;
    if (kind === 'restart') {
      this.deps.log.info('alembicEnv.enable, .interpreter, .importStrategy or .serverArgs changed: restarting the server.');
      await this.start();
      return;
    }
    const { settings, problems } = readSettingsWithProblems();
    for (const p of problems) this.deps.log.warn(p);
    if (this.client && this.stateValue === 'running') {
      this.deps.log.info('Settings changed: sending them to the server.');
      await this.client.notifyConfigurationChanged({ ...settings, python: await this.pythonFor() });
    }
  }

  /** Runs a server command (`workspace/executeCommand`); starts the server first if needed. */
  async executeServerCommand(command: string, args: unknown[]): Promise<unknown> {
    if (this.stateValue === 'idle') await this.start();
    if (!this.client || this.stateValue !== 'running') {
      void this.deps.notifier.once('warning', 'not-running', `the language server is not running (${describeState(this.stateValue)}).`, SHOW_LOGS);
      return undefined;
    }
    return this.client.executeCommand(command, args);
  }

  /** Settings as the server sees them right now (first folder). */
  currentSettings(): AlembicEnvSettings {
    return readSettings();
  }

  /** What `python` says for an interpreter: its path as Python reported it when probed, "" for the default guess. */
  private projectPythonFor(interp: Interpreter, probed = true): string {
    if (interp.source === 'default') return '';
    return (probed && this.projectPython) || interp.command;
  }

  /** The project's interpreter for a scope (a folder or file URI; none: the first folder). In a
   * multi-root workspace each folder may name its own (alembicEnv.interpreter or the Python
   * extension's choice for that folder). */
  async pythonFor(scope?: Uri): Promise<string> {
    const primary = this.interpreterValue;
    const interp = await resolveInterpreter(this.deps.log, scope);
    const python = primary && key(interp) === key(primary) ? this.projectPythonFor(primary) : this.projectPythonFor(interp, false);
    const folder = scope ? vsc.getWorkspaceFolder(scope)?.name : undefined;
    const line = `Project interpreter${folder ? ` of folder ${folder}` : ''}: ${python || 'not known, the server looks for the project\'s environment'} (${describeSource(interp)})`;
    if (!this.announced.has(line)) {
      this.announced.add(line);
      this.deps.log.info(line);
    }
    return python;
  }

  async dispose(): Promise<void> {
    await this.stop();
  }
}
