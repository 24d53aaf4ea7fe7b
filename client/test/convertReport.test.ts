import { fake, FakeLog, FakeUri } from './fakeVscode';
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { BEFORE_SCHEME, CLIENT_COMMANDS, registerCommands, SERVER_COMMANDS, SHOW_CHANGES } from '../src/commands';
import { convertMessage, countChanges, parseConvertResult, urlLeftovers } from '../src/convertReport';
import { ExplainView } from '../src/explain';
import { Notifier } from '../src/notify';

const ENV = '/proj/migrations/env.py';
const SYNC = ['from sqlalchemy import engine_from_config', '', 'def run():', '    engine = engine_from_config(cfg)', '    with engine.connect() as c:', '        go(c)', ''].join('\n');
const ASYNC = [
  'import asyncio',
  'from sqlalchemy.ext.asyncio import async_engine_from_config',
  '',
  'def run():',
  '    engine = async_engine_from_config(cfg)',
  '    async with engine.connect() as c:',
  '        await c.run_sync(go)',
  '',
].join('\n');

const flushTimers = () => new Promise((r) => setTimeout(r, 5));

function setup(reply: unknown, onRun?: () => void) {
  const log = new FakeLog();
  const target = {
    restart: async () => {},
    executeServerCommand: async () => {
      onRun?.();
      return reply;
    },
  };
  registerCommands(target, log as never, new Notifier(log as never), new ExplainView(FakeUri.file('/m') as never, async () => undefined));
  return { log, run: (...args: unknown[]) => fake.commands.get(CLIENT_COMMANDS.convertToAsync)!(...args) };
}

describe('Convert env.py to Async: what the user is told', () => {
  beforeEach(() => {
    fake.reset();
    fake.activeDocument = { uri: FakeUri.file(ENV), languageId: 'python' };
  });

  it('counts changed regions, not lines', () => {
    assert.equal(countChanges(SYNC, SYNC), 0);
    assert.equal(countChanges('a\nb\nc', 'a\nB\nc'), 1);
    assert.equal(countChanges('a\nb\nc\nd', 'A\nb\nc\nD'), 2);
    assert.equal(countChanges('a\nb', 'a\nx\ny\nb'), 1, 'an insertion of two lines is one change');
    assert.equal(countChanges('a\nb\nc', 'a\nc'), 1);
    assert.equal(countChanges(SYNC, ASYNC), 2, 'the imports, and the engine block');
    assert.equal(countChanges('a\r\nb', 'a\nb'), 0, 'line endings alone are no change');
  });

  it('reads the server result, tolerating the keys it does not send yet', () => {
    assert.deepEqual(parseConvertResult({ applied: true, reason: null }), { applied: true, reason: null });
    assert.deepEqual(parseConvertResult({ applied: true, reason: null, changes: 3, manual: ['x', '', 4] }), { applied: true, reason: null, changes: 3, manual: ['x'] });
    assert.deepEqual(parseConvertResult({ applied: false, reason: 'r', changes: -1 }), { applied: false, reason: 'r' });
    assert.equal(parseConvertResult({ applied: 1 }), undefined);
    assert.deepEqual(
      urlLeftovers([
        { code: 'ENV001', message: "Async engine with sync-only driver 'psycopg2'", range: { start: { line: 34 } } },
        { code: { value: 'ENV001' }, message: 'm2', range: { start: { line: 1 } } },
        { code: 'ENV050', message: 'pool', range: { start: { line: 3 } } },
      ]),
      ["line 35: Async engine with sync-only driver 'psycopg2'", 'line 2: m2'],
    );
    assert.equal(convertMessage('env.py', 1, []), 'Converted env.py to the async pattern: 1 change.');
    assert.equal(convertMessage('env.py', 3, ['line 2: a', 'b']), 'Converted env.py to the async pattern: 3 changes. Still to change by hand: line 2: a · b');
  });

  it('applied: a notification with the number of changes, the URL left (from ENV001) and Show Changes opening a diff', async () => {
    fake.texts[ENV] = SYNC;
    fake.answers = [SHOW_CHANGES];
    const t = setup({ applied: true, reason: null }, () => {
      // the server applies the edit, then publishes the converted file's diagnostics
      fake.texts[ENV] = ASYNC;
      setTimeout(() => fake.publishDiagnostics(ENV, [{ code: 'ENV001', message: "Async engine with sync-only driver 'psycopg2' (postgresql+psycopg2://app:***@db/app)", range: { start: { line: 4 } } }]), 1);
    });
    const result = await t.run();
    await flushTimers();
    assert.deepEqual(result, {
      applied: true,
      reason: null,
      changes: 2,
      manual: ["line 5: Async engine with sync-only driver 'psycopg2' (postgresql+psycopg2://app:***@db/app)"],
    });
    assert.equal(fake.messages.length, 1);
    const m = fake.messages[0];
    assert.equal(m.level, 'warning', 'something is left to do');
    assert.equal(m.text, "Alembic env: Converted env.py to the async pattern: 2 changes. Still to change by hand: line 5: Async engine with sync-only driver 'psycopg2' (postgresql+psycopg2://app:***@db/app)");
    assert.deepEqual(m.items, [SHOW_CHANGES]);
    assert.equal(fake.diffs.length, 1);
    const { left, right, title } = fake.diffs[0];
    assert.equal(left.scheme, BEFORE_SCHEME);
    assert.equal(right.path, ENV);
    assert.match(title, /env\.py: before ↔ after/);
    assert.equal(fake.contentProviders.get(BEFORE_SCHEME)!(left), SYNC, 'the left side is the text before the conversion');
  });

  it('the server says it all: its count and manual list are used, no waiting on diagnostics', async () => {
    fake.texts[ENV] = SYNC;
    const t = setup({ applied: true, reason: null, changes: 7, manual: ['DATABASE_URL from the environment: use an async driver'] }, () => (fake.texts[ENV] = ASYNC));
    const started = Date.now();
    await t.run();
    assert.ok(Date.now() - started < 2000);
    assert.equal(fake.messages[0].text, 'Alembic env: Converted env.py to the async pattern: 7 changes. Still to change by hand: DATABASE_URL from the environment: use an async driver');
  });

  it('nothing left: an information message', async () => {
    fake.texts[ENV] = SYNC;
    const t = setup({ applied: true, reason: null, manual: [] }, () => (fake.texts[ENV] = ASYNC));
    await t.run();
    assert.equal(fake.messages[0].level, 'info');
    assert.equal(fake.messages[0].text, 'Alembic env: Converted env.py to the async pattern: 2 changes.');
    assert.match(t.log.text(), /2 changes/);
  });

  it('not applied: the reason, no count', async () => {
    const t = setup({ applied: false, reason: 'env.py already uses the async connection pattern' });
    await t.run();
    assert.deepEqual(fake.messages.map((m) => m.text), ['Alembic env: env.py already uses the async connection pattern']);
    assert.equal(fake.diffs.length, 0);
  });
});
