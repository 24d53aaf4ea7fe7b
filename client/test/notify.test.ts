import { fake, FakeLog } from './fakeVscode';
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { CrashPolicy } from '../src/crashPolicy';
import { Notifier, OPEN_SETTINGS, SHOW_LOGS } from '../src/notify';

describe('errors reach the user once', () => {
  beforeEach(() => fake.reset());

  it('one popup per key, every occurrence in the log', async () => {
    const log = new FakeLog();
    const n = new Notifier(log as never);
    for (let i = 0; i < 5; i++) await n.once('error', 'crash', 'the server crashed', SHOW_LOGS);
    await n.once('warning', 'other', 'something else');
    assert.deepEqual(fake.messages.map((m) => [m.level, m.text]), [
      ['error', 'Alembic env: the server crashed'],
      ['warning', 'Alembic env: something else'],
    ]);
    assert.equal(log.lines.filter((l) => l.level === 'error').length, 5);
    n.reset(['crash']);
    await n.once('error', 'crash', 'the server crashed');
    assert.equal(fake.messages.length, 3);
  });

  it('"Show Logs" opens the log channel; "Open Settings" opens the interpreter setting', async () => {
    const log = new FakeLog();
    const n = new Notifier(log as never);
    fake.answers = [SHOW_LOGS, OPEN_SETTINGS];
    await n.once('error', 'a', 'x', SHOW_LOGS);
    await n.once('error', 'b', 'y', OPEN_SETTINGS);
    assert.equal(log.shown, 1);
    assert.deepEqual(fake.executed, [{ id: 'workbench.action.openSettings', args: ['alembicEnv.interpreter'] }]);
  });
});

describe('crash policy', () => {
  it('restarts 4 times within 3 minutes, then gives up; old crashes age out', () => {
    let now = 0;
    const p = new CrashPolicy(4, 180_000, () => now);
    const answers = [];
    for (let i = 0; i < 5; i++) {
      answers.push(p.shouldRestart());
      now += 10_000;
    }
    assert.deepEqual(answers, [true, true, true, true, false]);
    now += 180_000;
    assert.equal(p.shouldRestart(), true);
    assert.equal(p.recentCrashes, 1);
  });
});
