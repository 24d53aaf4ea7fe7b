import { fake, FakeLog, FakeUri } from './fakeVscode';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import { DEFAULT_PYTHON, describe as describeInterp, expandInterpreterPath, followsPythonExtension, onPythonInterpreterChanged, PYTHON_EXTENSION_ID, resolveInterpreter } from '../src/interpreter';

const log = () => new FakeLog() as never;

function pythonExtension(exports: unknown, opts: { active?: boolean; activateError?: string } = {}) {
  let activations = 0;
  const ext = {
    isActive: opts.active ?? false,
    exports: opts.active ? exports : undefined,
    activate: async () => {
      activations++;
      if (opts.activateError) throw new Error(opts.activateError);
      return exports;
    },
    get activations() {
      return activations;
    },
  };
  fake.extensions.set(PYTHON_EXTENSION_ID, ext);
  return ext;
}

describe('interpreter choice', () => {
  beforeEach(() => {
    fake.reset();
    fake.addFolder('/work/proj');
  });

  it('alembicEnv.interpreter wins over the Python extension', async () => {
    fake.folderSettings['/work/proj']['alembicEnv.interpreter'] = '/opt/py/bin/python3';
    const ext = pythonExtension({ environments: { getActiveEnvironmentPath: () => ({ path: '/ext/python' }), resolveEnvironment: async () => undefined } });
    const interp = await resolveInterpreter(log());
    assert.deepEqual(interp, { command: '/opt/py/bin/python3', prefixArgs: [], source: 'setting' });
    assert.equal(ext.activations, 0, 'the Python extension is not even activated');
    assert.equal(describeInterp(interp), '/opt/py/bin/python3 (alembicEnv.interpreter)');
  });

  it('expands ${workspaceFolder}, ~, ${env:...} and resolves relative paths against the first folder', () => {
    assert.equal(expandInterpreterPath('${workspaceFolder}/.venv/bin/python'), '/work/proj/.venv/bin/python');
    assert.equal(expandInterpreterPath('.venv/bin/python'), '/work/proj/.venv/bin/python');
    assert.equal(expandInterpreterPath('~/py/bin/python'), path.join(os.homedir(), 'py/bin/python'));
    assert.equal(expandInterpreterPath('${env:VENV}/bin/python', { VENV: '/v' }), '/v/bin/python');
    assert.equal(expandInterpreterPath('${workspaceFolder:proj}/x/python'), '/work/proj/x/python');
    assert.equal(expandInterpreterPath('python3.12'), 'python3.12', 'a bare command stays a PATH lookup');
  });

  it('uses the environment selected in the Python extension (environments API)', async () => {
    const seen: unknown[] = [];
    pythonExtension({
      environments: {
        getActiveEnvironmentPath: (resource: FakeUri) => {
          seen.push(resource?.path);
          return { id: 'venv', path: '/work/proj/.venv' };
        },
        resolveEnvironment: async () => ({ executable: { uri: { fsPath: '/work/proj/.venv/bin/python' } } }),
      },
    });
    const interp = await resolveInterpreter(log());
    assert.deepEqual(interp, { command: '/work/proj/.venv/bin/python', prefixArgs: [], source: 'python-extension' });
    assert.deepEqual(seen, ['/work/proj'], 'asked for the first folder');
  });

  it('multi-root: each folder gets its own interpreter (its setting, else the Python extension for that folder)', async () => {
    fake.addFolder('/work/other', { 'alembicEnv.interpreter': '${workspaceFolder:other}/venv/bin/python' });
    fake.addFolder('/work/third');
    const asked: unknown[] = [];
    pythonExtension(
      {
        environments: {
          getActiveEnvironmentPath: (resource: FakeUri) => {
            asked.push(resource?.path);
            return { id: resource.path, path: `${resource.path}/.venv` };
          },
          resolveEnvironment: async (env: { path: string }) => ({ executable: { uri: { fsPath: `${env.path}/bin/python` } } }),
        },
      },
      { active: true },
    );
    assert.equal((await resolveInterpreter(log(), FakeUri.file('/work/third/migrations/env.py') as never)).command, '/work/third/.venv/bin/python');
    assert.equal((await resolveInterpreter(log(), FakeUri.file('/work/proj') as never)).command, '/work/proj/.venv/bin/python');
    assert.deepEqual(await resolveInterpreter(log(), FakeUri.file('/work/other/migrations/env.py') as never), { command: '/work/other/venv/bin/python', prefixArgs: [], source: 'setting' });
    assert.deepEqual(asked, ['/work/third', '/work/proj'], 'the Python extension is asked per folder, not for the one with a setting');
  });

  it('falls back to python3 without the Python extension', async () => {
    assert.deepEqual(await resolveInterpreter(log()), { command: DEFAULT_PYTHON, prefixArgs: [], source: 'default' });
    assert.equal(DEFAULT_PYTHON, process.platform === 'win32' ? 'python' : 'python3');
  });

  it('falls back to python3 (and logs why) when the Python extension fails or has nothing selected', async () => {
    const l = new FakeLog();
    pythonExtension({}, { activateError: 'boom' });
    assert.equal((await resolveInterpreter(l as never)).source, 'default');
    assert.match(l.text(), /did not activate: boom/);

    pythonExtension({ environments: { getActiveEnvironmentPath: () => { throw new Error('no env'); }, resolveEnvironment: async () => undefined } }, { active: true });
    const l2 = new FakeLog();
    assert.equal((await resolveInterpreter(l2 as never)).source, 'default');
    assert.match(l2.text(), /no env/);

    pythonExtension({ environments: { getActiveEnvironmentPath: () => ({ id: '', path: '' }), resolveEnvironment: async () => undefined } }, { active: true });
    assert.equal((await resolveInterpreter(log())).source, 'default');
  });

  it('follows interpreter changes in the Python extension', async () => {
    let listener: (() => unknown) | undefined;
    pythonExtension({ environments: { getActiveEnvironmentPath: () => ({ path: '/p' }), resolveEnvironment: async () => undefined, onDidChangeActiveEnvironmentPath: (l: () => unknown) => { listener = l; return { dispose() {} }; } } }, { active: true });
    let calls = 0;
    const sub = await onPythonInterpreterChanged(log(), () => calls++);
    assert.ok(sub);
    listener!();
    assert.equal(calls, 1);
    fake.extensions.clear();
    assert.equal(await onPythonInterpreterChanged(log(), () => calls++), undefined);
  });

  it('a change in the Python extension matters while some folder has no alembicEnv.interpreter', () => {
    assert.equal(followsPythonExtension(), true);
    fake.folderSettings['/work/proj']['alembicEnv.interpreter'] = '/x/python';
    assert.equal(followsPythonExtension(), false, 'every folder names its interpreter');
    fake.addFolder('/work/second');
    assert.equal(followsPythonExtension(), true, 'the second folder follows the Python extension');
    fake.folders = [];
    assert.equal(followsPythonExtension(), true);
    fake.user['alembicEnv.interpreter'] = '/y/python';
    assert.equal(followsPythonExtension(), false);
  });
});
