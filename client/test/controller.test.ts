import { fake, FakeLog } from './fakeVscode';
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { INSTALL, ServerController } from '../src/controller';
import { Notifier, SHOW_LOGS } from '../src/notify';
import type { ServerState } from '../src/status';
import { fakeClients, fakeRunner, isPip, isProbe, probeOutput, Script } from './helpers';

const VENV_PY = '/work/proj/.venv/bin/python';

function setup(script: Script, clientOpts: Parameters<typeof fakeClients>[0] = {}) {
  const log = new FakeLog();
  const states: ServerState[] = [];
  const runner = fakeRunner(script);
  const clients = fakeClients(clientOpts);
  const controller = new ServerController({
    log: log as never,
    notifier: new Notifier(log as never),
    status: { update: (s) => states.push(s), dispose() {} },
    run: runner.run,
    createClient: clients.createClient,
    cwd: '/neutral',
    bundle: { storageDir: '/storage', wheelsDir: '/ext/bundled/wheels', serverVersion: '0.1.0' },
  });
  return { log, states, runner, clients, controller };
}

describe('ServerController', () => {
  beforeEach(() => {
    fake.reset();
    // These tests are about the server in the project's interpreter; useBundled has its own.
    fake.addFolder('/work/proj', { 'alembicEnv.interpreter': VENV_PY, 'alembicEnv.importStrategy': 'fromEnvironment' });
  });

  it('starts the server with the interpreter, module, serverArgs, a neutral cwd and the settings', async () => {
    fake.folderSettings['/work/proj']['alembicEnv.serverArgs'] = ['--log-level', 'debug'];
    fake.folderSettings['/work/proj']['alembicEnv.ignore'] = ['ENV030'];
    const t = setup(() => probeOutput(true));
    await t.controller.start();
    assert.equal(t.controller.state, 'running');
    assert.equal(t.clients.created.length, 1);
    const { spec } = t.clients.created[0];
    assert.equal(spec.command, VENV_PY);
    assert.deepEqual(spec.args, ['-m', 'alembic_env_lsp', 'serve', '--log-level', 'debug']);
    assert.equal(spec.cwd, '/neutral');
    assert.deepEqual(spec.initializationOptions.settings.ignore, ['ENV030']);
    assert.equal(spec.initializationOptions.settings.interpreter, VENV_PY);
    assert.deepEqual(t.states, ['starting', 'running']);
    assert.equal(fake.messages.length, 0);
    // the probe ran in the neutral folder too (no workspace module can shadow the server)
    assert.equal(t.runner.calls[0].options?.cwd, '/neutral');
  });

  it('missing package: one notification with Install; Install runs pip in that interpreter, logs its output, then starts', async () => {
    let installed = false;
    const t = setup((call) => {
      if (isPip(call)) {
        call.options?.onLine?.('Collecting alembic-env-lsp', 'stdout');
        call.options?.onLine?.('Successfully installed alembic-env-lsp-0.1.0', 'stdout');
        installed = true;
        return { code: 0, stdout: '', stderr: '' };
      }
      return probeOutput(installed);
    });
    fake.answers = [INSTALL];
    await t.controller.start();
    assert.equal(t.controller.state === 'missing' || t.controller.state === 'installing' || t.controller.state === 'running', true);
    await t.controller.pending;
    assert.equal(fake.messages.length, 1, JSON.stringify(fake.messages));
    assert.equal(fake.messages[0].level, 'warning');
    assert.match(fake.messages[0].text, /not installed in \/venv\/bin\/python/);
    assert.deepEqual(fake.messages[0].items, [INSTALL, SHOW_LOGS]);
    const pip = t.runner.calls.filter(isPip);
    assert.equal(pip.length, 1);
    assert.equal(pip[0].command, VENV_PY);
    assert.deepEqual(pip[0].args, ['-m', 'pip', 'install', 'alembic-env-lsp']);
    assert.match(t.log.text(), /pip: Successfully installed alembic-env-lsp-0\.1\.0/);
    assert.ok(t.log.shown > 0, 'the log channel is shown during the install');
    assert.deepEqual(fake.progressTitles, ['Alembic env: installing alembic-env-lsp…']);
    assert.equal(t.controller.state, 'running');
    assert.equal(t.clients.created.length, 1);
    assert.deepEqual(t.states, ['starting', 'missing', 'installing', 'starting', 'running']);
  });

  it('missing package, offer dismissed: no install, no client, not asked again until Restart Server', async () => {
    const t = setup(() => probeOutput(false));
    await t.controller.start();
    await t.controller.pending;
    assert.equal(t.controller.state, 'missing');
    assert.equal(fake.messages.length, 1);
    await t.controller.start(); // e.g. serverArgs changed
    assert.equal(fake.messages.length, 1, 'no second offer');
    assert.equal(t.runner.calls.filter(isPip).length, 0);
    assert.equal(t.clients.created.length, 0);
    await t.controller.restart();
    await t.controller.pending;
    assert.equal(fake.messages.length, 2, 'Restart Server asks again');
  });

  it('the same offer is never stacked while it is still open', async () => {
    const t = setup(() => probeOutput(false));
    let open!: () => void;
    fake.answerGate = new Promise((r) => (open = r));
    await t.controller.start();
    await t.controller.start();
    await t.controller.start();
    assert.equal(fake.messages.length, 1);
    open();
    await t.controller.pending;
  });

  it('pip fails: one error, the server is not started, and pip is not run again on the next start', async () => {
    const t = setup((call) =>
      isPip(call)
        ? { code: 1, stdout: '', stderr: 'error: externally-managed-environment\n' }
        : probeOutput(false),
    );
    fake.answers = [INSTALL];
    await t.controller.start();
    await t.controller.pending;
    assert.equal(t.controller.state, 'failed');
    const errors = fake.messages.filter((m) => m.level === 'error');
    assert.equal(errors.length, 1);
    assert.match(errors[0].text, /PEP 668/);
    await t.controller.start();
    await t.controller.pending;
    assert.equal(t.runner.calls.filter(isPip).length, 1);
    assert.equal(fake.messages.length, 2, 'the offer + one error, nothing more');
    assert.equal(t.clients.created.length, 0);
  });

  it('installed but still not importable: one error, no install loop', async () => {
    const t = setup((call) => (isPip(call) ? { code: 0, stdout: '', stderr: '' } : probeOutput(false)));
    fake.answers = [INSTALL, INSTALL, INSTALL];
    await t.controller.start();
    await t.controller.pending;
    await t.controller.start();
    await t.controller.pending;
    assert.equal(t.runner.calls.filter(isPip).length, 1);
    const errors = fake.messages.filter((m) => m.level === 'error');
    assert.equal(errors.length, 1);
    assert.match(errors[0].text, /still cannot be imported/);
    assert.equal(t.clients.created.length, 0);
  });

  it('interpreter not found: one error pointing at the setting, shown once', async () => {
    const t = setup(() => ({ code: null, stdout: '', stderr: '', error: { code: 'ENOENT', message: 'spawn ENOENT' } }));
    await t.controller.start();
    await t.controller.start();
    assert.equal(t.controller.state, 'failed');
    assert.equal(fake.messages.length, 1);
    assert.equal(fake.messages[0].level, 'error');
    assert.match(fake.messages[0].text, /"\/work\/proj\/\.venv\/bin\/python" was not found/);
    assert.ok(fake.messages[0].items.includes('Open Settings'));
    assert.equal(t.clients.created.length, 0);
  });

  it('Python older than 3.10 is refused with a clear error', async () => {
    const t = setup(() => probeOutput(true, [3, 8, 10]));
    await t.controller.start();
    assert.equal(t.controller.state, 'failed');
    assert.match(fake.messages[0].text, /Python 3\.8\.10; the server needs Python 3\.10/);
    assert.equal(t.clients.created.length, 0);
  });

  it('a client that fails to start: state failed, one error, no retry', async () => {
    const t = setup(() => probeOutput(true), { failStart: 'initialize failed' });
    await t.controller.start();
    assert.equal(t.controller.state, 'failed');
    assert.equal(fake.messages.length, 1);
    assert.match(fake.messages[0].text, /failed to start: initialize failed/);
    assert.equal(t.clients.created.length, 1);
    assert.equal(t.clients.created[0].started, 1);
  });

  it('rule settings reach the running server without a restart', async () => {
    const t = setup(() => probeOutput(true));
    fake.configListeners.push((e) => t.controller.onConfigurationChanged(e));
    await t.controller.start();
    await fake.changeSettings({ 'alembicEnv.severity': { ENV030: 'info' }, 'alembicEnv.select': ['ENV0'] }, '/work/proj');
    const client = t.clients.created.at(-1)!;
    assert.equal(client.configChanges.length, 1);
    assert.deepEqual(client.configChanges[0].severity, { ENV030: 'info' });
    assert.deepEqual(client.configChanges[0].select, ['ENV0']);
    assert.equal(client.stopped, 0);
    assert.equal(t.controller.state, 'running');
  });

  it('a new interpreter restarts the server with it', async () => {
    const t = setup(() => probeOutput(true));
    fake.configListeners.push((e) => t.controller.onConfigurationChanged(e));
    await t.controller.start();
    await fake.changeSettings({ 'alembicEnv.interpreter': '/other/python' }, '/work/proj');
    assert.equal(t.clients.created.length, 2);
    assert.equal(t.clients.created[0].stopped, 1);
    assert.equal(t.clients.created[1].spec.command, '/other/python');
    assert.equal(t.controller.state, 'running');
  });

  it('enable=false stops the server; enable=true starts it again', async () => {
    const t = setup(() => probeOutput(true));
    fake.configListeners.push((e) => t.controller.onConfigurationChanged(e));
    await t.controller.start();
    await fake.changeSettings({ 'alembicEnv.enable': false }, '/work/proj');
    assert.equal(t.controller.state, 'disabled');
    assert.equal(t.clients.created[0].stopped, 1);
    await fake.changeSettings({ 'alembicEnv.enable': true }, '/work/proj');
    assert.equal(t.controller.state, 'running');
    assert.equal(t.clients.created.length, 2);
  });

  it('an untrusted workspace runs no interpreter at all', async () => {
    fake.trusted = false;
    const t = setup(() => probeOutput(true));
    await t.controller.start();
    assert.equal(t.controller.state, 'untrusted');
    assert.equal(t.runner.calls.length, 0);
    assert.equal(t.clients.created.length, 0);
  });

  it('server commands go to the running server; when it is not running the user is told once', async () => {
    const ok = setup(() => probeOutput(true), { commandResult: { applied: true, reason: null } });
    await ok.controller.start();
    assert.deepEqual(await ok.controller.executeServerCommand('alembic-env.fixAll', ['file:///x/env.py']), { applied: true, reason: null });
    assert.deepEqual(ok.clients.created[0].commands, [{ command: 'alembic-env.fixAll', args: ['file:///x/env.py'] }]);

    fake.reset();
    fake.addFolder('/work/proj', { 'alembicEnv.interpreter': VENV_PY, 'alembicEnv.importStrategy': 'fromEnvironment' });
    const missing = setup(() => probeOutput(false));
    await missing.controller.start();
    await missing.controller.pending;
    assert.equal(await missing.controller.executeServerCommand('alembic-env.fixAll', []), undefined);
    assert.equal(await missing.controller.executeServerCommand('alembic-env.fixAll', []), undefined);
    assert.equal(fake.messages.filter((m) => /not running/.test(m.text)).length, 1);
  });

  it('a crash reported by the client marks the server failed; its automatic restart marks it running', async () => {
    const t = setup(() => probeOutput(true));
    await t.controller.start();
    const c = t.clients.created[0];
    c.hooks.onStateChange('stopped');
    assert.equal(t.controller.state, 'failed');
    c.hooks.onStateChange('starting');
    c.hooks.onStateChange('running');
    assert.equal(t.controller.state, 'running');
  });

  it('invalid settings are reported once and the valid ones still apply', async () => {
    fake.folderSettings['/work/proj']['alembicEnv.severity'] = { ENV001: 'loud', ENV030: 'info' };
    const t = setup(() => probeOutput(true));
    await t.controller.start();
    await t.controller.start();
    assert.equal(fake.messages.length, 1);
    assert.match(fake.messages[0].text, /ENV001: "loud" is not one of error, warning, info, hint/);
    assert.deepEqual(t.clients.created.at(-1)!.spec.initializationOptions.settings.severity, { ENV030: 'info' });
  });
});
