import { fake, FakeLog, FakeUri } from './fakeVscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ServerController } from '../src/controller';
import { Notifier } from '../src/notify';
import type { RunResult } from '../src/process';
import type { ServerState } from '../src/status';
import { fakeClients, fakeRunner, isPip, isProbe, RunCall } from './helpers';

const PROJECT_PY = '/work/proj/.venv/bin/python';

function probe(found: boolean): RunResult {
  const r = { version: [3, 12, 1], executable: PROJECT_PY, basePrefix: '/usr', found, ...(found ? { serverVersion: '0.1.0' } : { error: 'ModuleNotFoundError' }) };
  return { code: 0, stdout: `${JSON.stringify(r)}\n`, stderr: '' };
}

const isVenv = (c: RunCall) => c.args.includes('venv');

describe('ServerController with importStrategy useBundled (the default)', () => {
  let tmp: string;
  let wheels: string;

  function setup(pipCode = 0) {
    const log = new FakeLog();
    const states: ServerState[] = [];
    const runner = fakeRunner((call) => {
      if (isProbe(call)) return probe(false);
      if (isVenv(call)) {
        const dir = call.args[call.args.length - 1];
        fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'bin', 'python'), '');
        return { code: 0, stdout: '', stderr: '' };
      }
      return { code: pipCode, stdout: '', stderr: pipCode ? 'ERROR: No matching distribution found for libcst' : '' };
    });
    const clients = fakeClients();
    const controller = new ServerController({
      log: log as never,
      notifier: new Notifier(log as never),
      status: { update: (s) => states.push(s), dispose() {} },
      run: runner.run,
      createClient: clients.createClient,
      cwd: '/neutral',
      bundle: { storageDir: path.join(tmp, 'storage'), wheelsDir: wheels, serverVersion: '0.1.0' },
    });
    return { log, states, runner, clients, controller };
  }

  beforeEach(() => {
    fake.reset();
    fake.addFolder('/work/proj', { 'alembicEnv.interpreter': PROJECT_PY });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alembic-env-ctl-'));
    wheels = path.join(tmp, 'wheels');
    fs.mkdirSync(wheels);
    fs.writeFileSync(path.join(wheels, 'alembic_env_lsp-0.1.0-py3-none-any.whl'), 'w');
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a project interpreter without the server: its own env is made once (with progress), the server runs from it, the project gets nothing', async () => {
    const t = setup();
    await t.controller.start();
    assert.equal(t.controller.state, 'running');
    assert.deepEqual(t.states, ['starting', 'installing', 'running']);
    assert.deepEqual(fake.progressTitles, ['Alembic env: setting up the language server (first run, Python 3.12.1)…']);
    assert.deepEqual(fake.progressMessages, [`creating a virtual environment with ${PROJECT_PY}`, 'installing the server from the wheels in the extension']);
    assert.equal(fake.messages.length, 0, 'no install offer, no error');
    const { spec } = t.clients.created[0];
    assert.match(spec.command, /storage\/server-env\/0\.1\.0-py3\.12-[0-9a-f]{12}\/bin\/python$/);
    assert.deepEqual(spec.args, ['-m', 'alembic_env_lsp', 'serve']);
    assert.equal(spec.initializationOptions.settings.python, PROJECT_PY, 'the environment rules judge the project interpreter');
    assert.equal(spec.interpreter.command, PROJECT_PY);
    // Nothing ran pip with the project interpreter.
    assert.equal(t.runner.calls.filter((c) => c.command === PROJECT_PY && isPip(c)).length, 0);
    assert.deepEqual(t.runner.calls.filter((c) => c.command === PROJECT_PY).map((c) => c.args[c.args.length === 2 ? 0 : 1]), ['-c', 'venv']);
    assert.match(t.log.text(), /nothing is installed into \/work\/proj\/\.venv\/bin\/python/);

    // Next start (e.g. serverArgs changed): the env is reused, no progress, no venv.
    await t.controller.start();
    assert.equal(t.runner.calls.filter(isVenv).length, 1);
    assert.equal(fake.progressTitles.length, 1);
    assert.equal(t.clients.created.length, 2);
    assert.equal(t.clients.created[1].spec.command, spec.command);
  });

  it('the env cannot be made: one clear error, state failed, not retried until Restart Server', async () => {
    const t = setup(1);
    await t.controller.start();
    assert.equal(t.controller.state, 'failed');
    assert.equal(t.clients.created.length, 0);
    assert.equal(fake.messages.length, 1);
    assert.equal(fake.messages[0].level, 'error');
    assert.match(fake.messages[0].text, /the language server could not be set up: installing alembic-env-lsp==0\.1\.0 into the server environment failed: ERROR: No matching distribution found for libcst/);
    const pips = () => t.runner.calls.filter(isPip).length;
    const before = pips();
    await t.controller.start();
    assert.equal(pips(), before, 'no second attempt on its own');
    assert.equal(fake.messages.length, 1);
    await t.controller.restart();
    assert.ok(pips() > before, 'Restart Server tries again');
    assert.equal(fake.messages.length, 2);
  });

  it('fromEnvironment runs the interpreter\'s own server (no env made) and still names it as the project python', async () => {
    fake.folderSettings['/work/proj']['alembicEnv.importStrategy'] = 'fromEnvironment';
    const t = setup();
    const runner = fakeRunner(() => probe(true));
    (t.controller as unknown as { deps: { run: unknown } }).deps.run = runner.run;
    await t.controller.start();
    assert.equal(t.controller.state, 'running');
    assert.equal(t.clients.created[0].spec.command, PROJECT_PY);
    assert.equal(t.clients.created[0].spec.initializationOptions.settings.python, PROJECT_PY);
    assert.equal(runner.calls.filter(isVenv).length, 0);
  });

  it('switching the strategy restarts the server with the other one', async () => {
    const t = setup();
    fake.configListeners.push((e) => t.controller.onConfigurationChanged(e));
    await t.controller.start();
    assert.match(t.clients.created[0].spec.command, /server-env/);
    (t.controller as unknown as { deps: { run: unknown } }).deps.run = fakeRunner(() => probe(true)).run;
    await fake.changeSettings({ 'alembicEnv.importStrategy': 'fromEnvironment' }, '/work/proj');
    assert.equal(t.clients.created[0].stopped, 1);
    assert.equal(t.clients.created[1].spec.command, PROJECT_PY);
  });

  it('multi-root: each folder\'s project python (its own setting) reaches the server; settings changes carry it too', async () => {
    fake.addFolder('/work/other', { 'alembicEnv.interpreter': '/work/other/venv/bin/python' });
    const t = setup();
    await t.controller.start();
    assert.equal(await t.controller.pythonFor(FakeUri.file('/work/proj/migrations/env.py') as never), PROJECT_PY);
    assert.equal(await t.controller.pythonFor(FakeUri.file('/work/other/migrations/env.py') as never), '/work/other/venv/bin/python');
    assert.equal(await t.controller.pythonFor(), PROJECT_PY);
    fake.addFolder('/work/third');
    assert.equal(await t.controller.pythonFor(FakeUri.file('/work/third/env.py') as never), '', 'no setting, no Python extension: not known (the server looks for .venv), not python3');
    await t.controller.pythonFor(FakeUri.file('/work/third/env.py') as never);
    const announced = t.log.lines.filter((l) => l.text.startsWith('Project interpreter')).map((l) => l.text);
    assert.deepEqual(announced, [
      `Project interpreter of folder proj: ${PROJECT_PY} (alembicEnv.interpreter)`,
      'Project interpreter of folder other: /work/other/venv/bin/python (alembicEnv.interpreter)',
      `Project interpreter: ${PROJECT_PY} (alembicEnv.interpreter)`,
      "Project interpreter of folder third: not known, the server looks for the project's environment (default)",
    ], 'each once, with where it came from');
    await t.controller.onConfigurationChanged({ affectsConfiguration: (s: string) => s === 'alembicEnv' || s === 'alembicEnv.ignore' });
    assert.equal(t.clients.created[0].configChanges.length, 1);
    assert.equal(t.clients.created[0].configChanges[0].python, PROJECT_PY);
  });

  it('no interpreter chosen anywhere: the server env is made with python3, and the server is told the project python is not known', async () => {
    delete fake.folderSettings['/work/proj']['alembicEnv.interpreter'];
    const t = setup();
    await t.controller.start();
    assert.equal(t.controller.state, 'running');
    assert.equal(t.runner.calls.find(isVenv)?.command, 'python3');
    assert.equal(t.clients.created[0].spec.initializationOptions.settings.python, '');
  });
});
