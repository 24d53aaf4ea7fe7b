import './fakeVscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { bundledServerWheel, ensureServerEnv, envDir, EnvRequest, envPython, isReady, MARKER } from '../src/bundledEnv';
import { fakeRunner, RunCall } from './helpers';

const BASE = { command: '/work/proj/.venv/bin/python', prefixArgs: [], version: '3.11.7', basePrefix: '/opt/python3.11' };

/** A runner that behaves like `python -m venv DIR` (makes DIR/bin/python) and a scripted pip. */
type PipReply = { code: number; stdout?: string; stderr?: string };
function pythonLike(pip: (call: RunCall) => PipReply | Promise<PipReply>) {
  return fakeRunner(async (call) => {
    const i = call.args.indexOf('venv');
    if (call.args[i - 1] === '-m' && i >= 0) {
      const dir = call.args[i + 1];
      fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'bin', 'python'), '');
      return { code: 0, stdout: '', stderr: '' };
    }
    const r = await pip(call);
    return { code: r.code, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  });
}

describe('bundled server environment (importStrategy useBundled)', () => {
  let tmp: string;
  let wheels: string;
  let lines: string[];
  const request = (run: EnvRequest['run'], extra: Partial<EnvRequest> = {}): EnvRequest => ({
    run,
    base: BASE,
    storageDir: path.join(tmp, 'storage'),
    wheelsDir: wheels,
    serverVersion: '0.1.0',
    cwd: tmp,
    onLine: (line) => lines.push(line),
    ...extra,
  });

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alembic env bundled-'));
    wheels = path.join(tmp, 'ext', 'dist', 'bundled', 'wheels');
    fs.mkdirSync(wheels, { recursive: true });
    fs.writeFileSync(path.join(wheels, 'alembic_env_lsp-0.1.0-py3-none-any.whl'), 'wheel v1');
    fs.writeFileSync(path.join(wheels, 'pygls-2.1.1-py3-none-any.whl'), 'dep');
    lines = [];
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('one folder per server version, Python minor version and base Python', () => {
    const a = envDir('/s', '0.1.0', BASE);
    assert.match(a, /^\/s\/server-env\/0\.1\.0-py3\.11-[0-9a-f]{12}$/);
    assert.equal(envDir('/s', '0.1.0', { ...BASE, version: '3.11.9' }), a, 'a patch release reuses it');
    assert.notEqual(envDir('/s', '0.1.0', { ...BASE, basePrefix: '/usr' }), a);
    assert.notEqual(envDir('/s', '0.2.0', BASE), a);
    assert.equal(envPython('/e', 'linux'), '/e/bin/python');
    assert.equal(envPython('C:\\e', 'win32'), path.join('C:\\e', 'Scripts', 'python.exe'));
    assert.equal(bundledServerWheel(wheels, '0.1.0'), path.join(wheels, 'alembic_env_lsp-0.1.0-py3-none-any.whl'));
    assert.equal(bundledServerWheel(wheels, '0.2.0'), undefined);
    assert.equal(bundledServerWheel(path.join(tmp, 'nowhere'), '0.1.0'), undefined);
  });

  it('creates the env with the chosen Python, installs offline from the bundled wheels, and reuses it next time', async () => {
    const runner = pythonLike(() => ({ code: 0, stdout: 'Successfully installed alembic-env-lsp-0.1.0' }));
    const req = request(runner.run);
    assert.equal(isReady(req), false);
    const first = await ensureServerEnv(req);
    assert.ok(first.ok);
    const dir = envDir(req.storageDir, '0.1.0', BASE);
    assert.deepEqual(first, { ok: true, python: path.join(dir, 'bin', 'python'), dir, created: true, source: 'bundled' });
    assert.equal(runner.calls.length, 2);
    assert.equal(runner.calls[0].command, BASE.command, 'the venv is made by the project interpreter');
    assert.deepEqual(runner.calls[0].args.slice(0, 2), ['-m', 'venv']);
    const pip = runner.calls[1];
    assert.match(pip.command, /server-env\/.*.tmp-\d+-[0-9a-f]+\/bin\/python$/, 'pip of the new env, never of the project interpreter');
    assert.deepEqual(pip.args.slice(-4), ['--no-index', '--find-links', wheels, 'alembic-env-lsp==0.1.0']);
    assert.ok(pip.args.includes('--no-compile'));
    assert.equal(pip.options?.cwd, tmp);
    assert.ok(fs.existsSync(path.join(dir, MARKER)));
    assert.deepEqual(fs.readdirSync(path.dirname(dir)), [path.basename(dir)], 'no temporary folder left');
    assert.ok(lines.some((l) => l.startsWith('$ ') && l.includes('--no-index')), 'the commands go to the log');

    assert.equal(isReady(req), true);
    const again = await ensureServerEnv(req);
    assert.deepEqual(again, { ok: true, python: path.join(dir, 'bin', 'python'), dir, created: false, source: 'existing' });
    assert.equal(runner.calls.length, 2, 'no process run for a ready env');
  });

  it('a rebuilt extension (another server wheel) makes the env again', async () => {
    const runner = pythonLike(() => ({ code: 0 }));
    const req = request(runner.run);
    await ensureServerEnv(req);
    fs.writeFileSync(path.join(wheels, 'alembic_env_lsp-0.1.0-py3-none-any.whl'), 'wheel v2');
    assert.equal(isReady(req), false);
    const again = await ensureServerEnv(req);
    assert.ok(again.ok && again.created);
    assert.equal(runner.calls.length, 4);
  });

  it('wheels that do not fit this Python: completed from the package index (the bundled server wheel still used)', async () => {
    const runner = pythonLike((call) =>
      call.args.includes('--no-index') ? { code: 1, stderr: 'ERROR: Could not find a version that satisfies the requirement libcst>=1.1 (from alembic-env-lsp)' } : { code: 0 },
    );
    const steps: string[] = [];
    const outcome = await ensureServerEnv(request(runner.run, { onStep: (st) => steps.push(st) }));
    assert.ok(outcome.ok && outcome.source === 'index');
    assert.deepEqual(steps, [
      `creating a virtual environment with ${BASE.command}`,
      'installing the server from the wheels in the extension',
      'installing the server from the package index',
    ]);
    const second = runner.calls[2];
    assert.ok(!second.args.includes('--no-index'));
    assert.deepEqual(second.args.slice(-3), ['--find-links', wheels, 'alembic-env-lsp==0.1.0']);
    assert.ok(lines.some((l) => /completing them from the package index/.test(l)));
  });

  it('no bundled wheels (a development build): from the index', async () => {
    const runner = pythonLike(() => ({ code: 0 }));
    const outcome = await ensureServerEnv(request(runner.run, { wheelsDir: path.join(tmp, 'none') }));
    assert.ok(outcome.ok && outcome.source === 'index');
    assert.deepEqual(runner.calls[1].args.slice(-1), ['alembic-env-lsp==0.1.0']);
    assert.ok(!runner.calls[1].args.includes('--find-links'));
  });

  it('pip fails: a clear reason, nothing left behind, not reported as ready', async () => {
    const runner = pythonLike(() => ({ code: 1, stderr: 'ERROR: No matching distribution found for alembic-env-lsp==0.1.0' }));
    const req = request(runner.run);
    const outcome = await ensureServerEnv(req);
    assert.deepEqual(outcome, { ok: false, reason: 'installing alembic-env-lsp==0.1.0 into the server environment failed: ERROR: No matching distribution found for alembic-env-lsp==0.1.0' });
    assert.deepEqual(fs.readdirSync(path.join(req.storageDir, 'server-env')), []);
    assert.equal(isReady(req), false);
  });

  it('a Python without venv/ensurepip: says what to install, or to use fromEnvironment', async () => {
    const runner = fakeRunner(() => ({ code: 1, stdout: 'The virtual environment was not created successfully because ensurepip is not available.', stderr: '' }));
    const outcome = await ensureServerEnv(request(runner.run));
    assert.ok(!outcome.ok);
    assert.match(outcome.reason, /cannot create virtual environments \(on Debian\/Ubuntu: apt install python3-venv\)/);
    assert.match(outcome.reason, /fromEnvironment/);
  });

  it('another window finished the same env first: it is used, and this one is discarded', async () => {
    let nested = false;
    const other = pythonLike(() => ({ code: 0 }));
    const runner = pythonLike(() => {
      // while this window installs, another one makes the same env completely
      if (!nested) {
        nested = true;
        return ensureServerEnv(request(other.run)).then(() => ({ code: 0 }));
      }
      return { code: 0 };
    });
    const req = request(runner.run);
    const outcome = await ensureServerEnv(req);
    const dir = envDir(req.storageDir, '0.1.0', BASE);
    assert.deepEqual(outcome, { ok: true, python: envPython(dir), dir, created: false, source: 'existing' });
    assert.deepEqual(fs.readdirSync(path.dirname(dir)), [path.basename(dir)], 'the temporary env is removed');
    assert.match(fs.readFileSync(path.join(dir, MARKER), 'utf8'), /"source": "bundled"/);
  });

  it('a new env removes those of other server versions (an updated extension), never this version\'s', async () => {
    const root = path.join(tmp, 'storage', 'server-env');
    for (const name of ['0.0.9-py3.11-aaaaaaaaaaaa', '0.1.0-py3.12-bbbbbbbbbbbb']) fs.mkdirSync(path.join(root, name, 'bin'), { recursive: true });
    const outcome = await ensureServerEnv(request(pythonLike(() => ({ code: 0 })).run));
    assert.ok(outcome.ok);
    assert.match(path.basename(outcome.dir), /^0\.1\.0-py3\.11-/);
    assert.deepEqual(fs.readdirSync(root).sort(), [path.basename(outcome.dir), '0.1.0-py3.12-bbbbbbbbbbbb'].sort(), 'another Python of this version stays');
  });
});
