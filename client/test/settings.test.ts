import { fake, MANIFEST_DEFAULTS } from './fakeVscode';
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  classifyChange,
  cleanSettings,
  configurationFor,
  DEFAULTS,
  initializationOptions,
  readSettings,
  RESTART_KEYS,
} from '../src/settings';

const source = (values: Record<string, unknown>) => ({ get: <T>(k: string) => values[k] as T | undefined });

describe('settings', () => {
  beforeEach(() => fake.reset());

  it('the defaults in package.json are the defaults the client sends', () => {
    assert.deepEqual(readSettings(), DEFAULTS);
    for (const key of ['enable', 'interpreter', 'importStrategy', 'serverArgs', 'select', 'ignore', 'severity', 'codeLens', 'trace.server']) {
      assert.ok(`alembicEnv.${key}` in MANIFEST_DEFAULTS, `package.json contributes alembicEnv.${key}`);
    }
  });

  it('maps every setting to the server shape', () => {
    const { settings, problems } = cleanSettings(
      source({
        enable: true,
        interpreter: '  /venv/bin/python ',
        importStrategy: 'fromEnvironment',
        serverArgs: ['--log-level', 'debug'],
        select: ['ENV001', 'ENV02'],
        ignore: ['ENV030'],
        severity: { ENV030: 'Info', ENV001: 'error' },
        codeLens: false,
        'trace.server': 'verbose',
      }),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, {
      enable: true,
      interpreter: '/venv/bin/python',
      importStrategy: 'fromEnvironment',
      serverArgs: ['--log-level', 'debug'],
      select: ['ENV001', 'ENV02'],
      ignore: ['ENV030'],
      severity: { ENV030: 'info', ENV001: 'error' },
      codeLens: false,
      trace: { server: 'verbose' },
    });
  });

  it('drops wrong values, keeps the rest, and says what it dropped', () => {
    const { settings, problems } = cleanSettings(
      source({ enable: 'yes', select: 'ENV001', ignore: ['ENV030', 3, ''], severity: { ENV001: 'loud', ENV002: 'hint' }, 'trace.server': 'all', importStrategy: 'global' }),
    );
    assert.equal(settings.enable, true);
    assert.deepEqual(settings.select, []);
    assert.deepEqual(settings.ignore, ['ENV030']);
    assert.deepEqual(settings.severity, { ENV002: 'hint' });
    assert.equal(settings.trace.server, 'off');
    assert.equal(settings.importStrategy, 'useBundled');
    assert.equal(problems.length, 7, problems.join('\n'));
    assert.ok(problems.includes('alembicEnv.importStrategy must be one of useBundled, fromEnvironment; using useBundled'));
    assert.ok(problems.some((p) => p.includes('alembicEnv.severity.ENV001')));
    assert.ok(problems.some((p) => p.startsWith('alembicEnv.select must be a list')));
  });

  it('a severity that is not an object is ignored', () => {
    const { settings, problems } = cleanSettings(source({ severity: ['ENV001'] }));
    assert.deepEqual(settings.severity, {});
    assert.equal(problems.length, 1);
  });

  it('multi-root: each folder answers with its own settings; initializationOptions use the first folder', () => {
    fake.user['alembicEnv.ignore'] = ['ENV022'];
    fake.addFolder('/ws/a', { 'alembicEnv.select': ['ENV001'] });
    fake.addFolder('/ws/b', { 'alembicEnv.select': ['ENV040'], 'alembicEnv.codeLens': false });
    assert.deepEqual(configurationFor('file:///ws/a').select, ['ENV001']);
    assert.deepEqual(configurationFor('file:///ws/b').select, ['ENV040']);
    assert.equal(configurationFor('file:///ws/b/migrations/env.py').codeLens, false);
    assert.deepEqual(configurationFor('file:///ws/b').ignore, ['ENV022'], 'user settings apply under folders');
    assert.deepEqual(configurationFor('file:///elsewhere/env.py').select, [], 'a file outside the folders gets the user settings');
    assert.deepEqual(initializationOptions(), { settings: { ...DEFAULTS, select: ['ENV001'], ignore: ['ENV022'] } });
    assert.deepEqual(configurationFor(undefined).select, ['ENV001']);
  });

  it('only enable, interpreter, importStrategy and serverArgs (of the first folder) need a restart', async () => {
    fake.addFolder('/ws/a');
    fake.addFolder('/ws/b');
    const kinds: string[] = [];
    fake.configListeners.push((e) => kinds.push(classifyChange(e)));
    assert.deepEqual([...RESTART_KEYS], ['enable', 'interpreter', 'importStrategy', 'serverArgs']);
    await fake.changeSettings({ 'alembicEnv.interpreter': '/x/python' }, '/ws/a');
    await fake.changeSettings({ 'alembicEnv.importStrategy': 'fromEnvironment' }, '/ws/a');
    await fake.changeSettings({ 'alembicEnv.serverArgs': ['-v'] });
    await fake.changeSettings({ 'alembicEnv.enable': false });
    await fake.changeSettings({ 'alembicEnv.select': ['ENV001'] }, '/ws/a');
    await fake.changeSettings({ 'alembicEnv.severity': { ENV001: 'hint' } });
    await fake.changeSettings({ 'alembicEnv.trace.server': 'verbose' });
    await fake.changeSettings({ 'alembicEnv.interpreter': '/y/python' }, '/ws/b');
    await fake.changeSettings({ 'editor.fontSize': 14 });
    assert.deepEqual(kinds, ['restart', 'restart', 'restart', 'restart', 'live', 'live', 'live', 'live', 'none']);
  });
});
